//! `--tables` / `--exclude-tables`: which relations apply touches, by psql-style patterns.

use crate::lcr::format::{Frame, RelationInfo};
use rustc_hash::FxHashMap;

use super::stream::SourceTxn;

/// A `[schema.]table` pattern as psql reads one: `*` any text, `?` one character, unquoted
/// letters folded to lower case, double quotes keeping text as it is. Without a schema, it
/// matches the table in any schema.
#[derive(Clone, Debug)]
pub(super) struct Pattern {
    schema: Option<Vec<Piece>>,
    table: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Char(char),
    Any,
    One,
}

pub(super) fn parse(pattern: &str) -> Pattern {
    let mut parts: Vec<Vec<Piece>> = vec![Vec::new()];
    let mut quoted = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let part = parts.last_mut().expect("one part at least");
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                part.push(Piece::Char('"'));
            }
            '"' => quoted = !quoted,
            c if quoted => part.push(Piece::Char(c)),
            '.' => parts.push(Vec::new()),
            '*' => part.push(Piece::Any),
            '?' => part.push(Piece::One),
            c => part.extend(c.to_lowercase().map(Piece::Char)),
        }
    }
    let table = parts.pop().expect("one part at least");
    Pattern {
        schema: parts.pop(),
        table,
    }
}

fn matches(pieces: &[Piece], text: &[char]) -> bool {
    match pieces.split_first() {
        None => text.is_empty(),
        Some((Piece::Any, rest)) => (0..=text.len()).any(|i| matches(rest, &text[i..])),
        Some((Piece::One, rest)) => !text.is_empty() && matches(rest, &text[1..]),
        Some((Piece::Char(c), rest)) => text.first() == Some(c) && matches(rest, &text[1..]),
    }
}

impl Pattern {
    pub(super) fn matches(&self, rel: &RelationInfo) -> bool {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        self.schema
            .as_ref()
            .is_none_or(|s| matches(s, &chars(&rel.namespace)))
            && matches(&self.table, &chars(&rel.name))
    }
}

/// The relations to apply: those any `--tables` pattern matches (all when none is given),
/// less those an `--exclude-tables` pattern matches.
#[derive(Clone, Debug, Default)]
pub struct TableFilter {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

impl TableFilter {
    pub fn new(include: &[String], exclude: &[String]) -> TableFilter {
        TableFilter {
            include: include.iter().map(|p| parse(p)).collect(),
            exclude: exclude.iter().map(|p| parse(p)).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    fn wants(&self, rel: Option<&RelationInfo>) -> bool {
        // A relation not described is kept: applying it reports the problem.
        let Some(rel) = rel else { return true };
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(rel)))
            && !self.exclude.iter().any(|p| p.matches(rel))
    }

    /// Drops the changes of relations left out; a TRUNCATE keeps the relations wanted.
    pub(super) fn retain(&self, txn: &mut SourceTxn, relations: &FxHashMap<u32, RelationInfo>) {
        if self.is_empty() {
            return;
        }
        txn.changes.retain_mut(|change| match change {
            Frame::Insert { rel, .. } | Frame::Update { rel, .. } | Frame::Delete { rel, .. } => {
                self.wants(relations.get(rel))
            }
            Frame::Truncate { rels, .. } => {
                rels.retain(|oid| self.wants(relations.get(oid)));
                !rels.is_empty()
            }
            _ => true,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(namespace: &str, name: &str) -> RelationInfo {
        RelationInfo {
            oid: 1,
            namespace: namespace.into(),
            name: name.into(),
            replica_identity: b'd',
            columns: Vec::new(),
        }
    }

    #[test]
    fn patterns_read_as_psql_reads_them() {
        let p = |s: &str| parse(s);
        assert!(p("public.acc*").matches(&rel("public", "accounts")));
        assert!(!p("public.acc*").matches(&rel("other", "accounts")));
        assert!(p("ACCOUNTS").matches(&rel("any", "accounts")));
        assert!(!p("\"ACCOUNTS\"").matches(&rel("any", "accounts")));
        assert!(p("\"Mixed.Case\"").matches(&rel("s", "Mixed.Case")));
        assert!(p("*.t?").matches(&rel("s", "t1")));
        assert!(!p("*.t?").matches(&rel("s", "t12")));
    }
}
