//! Conflict policies: the defaults (`--on-conflict KIND=POLICY`), per-table policies from a
//! file (`--conflict-config`), and the last-update-wins rule.
//!
//! The file holds one table per line: a psql-style `[schema.]table` pattern (as `--tables`)
//! followed by `KIND=POLICY` items; `#` starts a comment. The first line whose pattern matches
//! a table gives its policies; the kinds it does not name keep the defaults:
//!
//! ```text
//! # table           policies
//! public.accounts   insert_exists=last_update_wins update_origin_differs=last_update_wins
//! audit.*           insert_exists=skip delete_missing=error
//! ```

use std::path::{Path, PathBuf};

use crate::lcr::format::RelationInfo;

use super::filter::{parse, Pattern};

/// What to do with an INSERT whose key exists on the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertExists {
    Error,
    Skip,
    Update,
    /// The later commit wins (needs `track_commit_timestamp = on` on the target).
    LastUpdateWins,
}

/// What to do with an UPDATE whose row is missing on the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateMissing {
    Skip,
    Insert,
    Error,
}

/// What to do with a DELETE whose row is missing on the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteMissing {
    Skip,
    Error,
}

/// What to do with an UPDATE of a row last written by someone else than this origin (on the
/// target itself, or by another origin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateOriginDiffers {
    /// Apply the update, as logical replication does; not checked, not logged.
    Apply,
    /// The later commit wins (needs `track_commit_timestamp = on` on the target).
    LastUpdateWins,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policies {
    pub insert_exists: InsertExists,
    pub update_missing: UpdateMissing,
    pub delete_missing: DeleteMissing,
    pub update_origin_differs: UpdateOriginDiffers,
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            insert_exists: InsertExists::Error,
            update_missing: UpdateMissing::Skip,
            delete_missing: DeleteMissing::Skip,
            update_origin_differs: UpdateOriginDiffers::Apply,
        }
    }
}

/// The kinds and their policies, for messages.
pub const POLICY_HELP: &str = "insert_exists=error|skip|update|last_update_wins, \
    update_missing=skip|insert|error, delete_missing=skip|error, \
    update_origin_differs=apply|last_update_wins";

impl Policies {
    /// Sets the policy of one kind from `KIND=POLICY`.
    pub fn set(&mut self, item: &str) -> Result<(), String> {
        let bad =
            || format!("invalid conflict policy \"{item}\": kinds and policies are {POLICY_HELP}");
        let (kind, policy) = item.split_once('=').ok_or_else(bad)?;
        match (kind, policy) {
            ("insert_exists", "error") => self.insert_exists = InsertExists::Error,
            ("insert_exists", "skip") => self.insert_exists = InsertExists::Skip,
            ("insert_exists", "update") => self.insert_exists = InsertExists::Update,
            ("insert_exists", "last_update_wins") => {
                self.insert_exists = InsertExists::LastUpdateWins
            }
            ("update_missing", "skip") => self.update_missing = UpdateMissing::Skip,
            ("update_missing", "insert") => self.update_missing = UpdateMissing::Insert,
            ("update_missing", "error") => self.update_missing = UpdateMissing::Error,
            ("delete_missing", "skip") => self.delete_missing = DeleteMissing::Skip,
            ("delete_missing", "error") => self.delete_missing = DeleteMissing::Error,
            ("update_origin_differs", "apply") => {
                self.update_origin_differs = UpdateOriginDiffers::Apply
            }
            ("update_origin_differs", "last_update_wins") => {
                self.update_origin_differs = UpdateOriginDiffers::LastUpdateWins
            }
            _ => return Err(bad()),
        }
        Ok(())
    }

    pub fn uses_commit_timestamps(&self) -> bool {
        self.insert_exists == InsertExists::LastUpdateWins
            || self.update_origin_differs == UpdateOriginDiffers::LastUpdateWins
    }
}

/// Per-table policies read from a `--conflict-config` file.
#[derive(Clone, Debug, Default)]
pub struct ConflictConfig {
    /// The lines in file order: a pattern and its `KIND=POLICY` items (checked when read).
    rules: Vec<(Pattern, Vec<String>)>,
    pub file: Option<PathBuf>,
}

impl ConflictConfig {
    pub fn read(path: &Path) -> Result<ConflictConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("could not read conflict config \"{}\": {e}", path.display()))?;
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let Some(pattern) = words.next() else {
                continue;
            };
            let items: Vec<String> = words.map(str::to_string).collect();
            let at = || format!("conflict config \"{}\", line {}", path.display(), n + 1);
            if items.is_empty() {
                return Err(format!(
                    "{}: \"{pattern}\" names no KIND=POLICY ({POLICY_HELP})",
                    at()
                ));
            }
            let mut check = Policies::default();
            for item in &items {
                check.set(item).map_err(|e| format!("{}: {e}", at()))?;
            }
            rules.push((parse(pattern), items));
        }
        Ok(ConflictConfig {
            rules,
            file: Some(path.to_path_buf()),
        })
    }

    /// The policies of `rel`: the defaults, overridden by the first line matching it.
    pub fn policies_for(&self, defaults: Policies, rel: &RelationInfo) -> Policies {
        let mut p = defaults;
        if let Some((_, items)) = self.rules.iter().find(|(pat, _)| pat.matches(rel)) {
            for item in items {
                p.set(item).expect("checked when read");
            }
        }
        p
    }

    /// Whether any table may use commit timestamps.
    pub fn uses_commit_timestamps(&self, defaults: Policies) -> bool {
        defaults.uses_commit_timestamps()
            || self.rules.iter().any(|(_, items)| {
                let mut p = Policies::default();
                items
                    .iter()
                    .for_each(|i| p.set(i).expect("checked when read"));
                p.uses_commit_timestamps()
            })
    }
}

/// Last update wins: whether the remote change replaces the local row. The later commit wins;
/// at the same commit time, the change from the node whose name sorts last (as BDR breaks ties
/// by node), so that two sites resolving the same pair of changes agree. A local row without a
/// commit time (written before `track_commit_timestamp` was on, or frozen) counts as older.
pub fn remote_wins(
    local_time: Option<i64>,
    local_node: &str,
    remote_time: i64,
    remote_node: &str,
) -> bool {
    match local_time {
        None => true,
        Some(t) if t != remote_time => remote_time > t,
        Some(_) => remote_node > local_node,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_later_commit_wins_and_ties_go_to_the_greater_node() {
        assert!(remote_wins(Some(10), "a", 11, "b"));
        assert!(!remote_wins(Some(12), "a", 11, "b"));
        assert!(remote_wins(None, "a", 11, "b"));
        // A tie, seen from both sites: the same change wins on each.
        assert!(remote_wins(Some(11), "site_a", 11, "site_b"));
        assert!(!remote_wins(Some(11), "site_b", 11, "site_a"));
    }

    #[test]
    fn the_first_matching_line_overrides_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conflicts.conf");
        std::fs::write(
            &path,
            "# per table\npublic.kv insert_exists=skip  # kv only\n\n*.k* delete_missing=error\n",
        )
        .unwrap();
        let config = ConflictConfig::read(&path).unwrap();
        let rel = |name: &str| RelationInfo {
            oid: 1,
            namespace: "public".into(),
            name: name.into(),
            replica_identity: b'd',
            columns: Vec::new(),
        };
        let mut defaults = Policies::default();
        defaults.set("update_missing=error").unwrap();
        let kv = config.policies_for(defaults, &rel("kv"));
        assert_eq!(kv.insert_exists, InsertExists::Skip);
        assert_eq!(kv.delete_missing, DeleteMissing::Skip);
        assert_eq!(kv.update_missing, UpdateMissing::Error);
        let keys = config.policies_for(defaults, &rel("keys"));
        assert_eq!(keys.delete_missing, DeleteMissing::Error);
        assert_eq!(keys.insert_exists, InsertExists::Error);

        std::fs::write(&path, "public.kv\n").unwrap();
        let err = ConflictConfig::read(&path).unwrap_err();
        assert!(
            err.contains("line 1") && err.contains("names no KIND=POLICY"),
            "{err}"
        );
        std::fs::write(&path, "kv insert_exists=skip\nkv insert_exists=never\n").unwrap();
        let err = ConflictConfig::read(&path).unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("insert_exists=never"),
            "{err}"
        );
    }
}
