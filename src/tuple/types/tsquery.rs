//! tsquery: `size`, then `size` 12-byte `QueryItem`s in prefix order (an operator is followed
//! by its right operand; its left operand is `left` items further on), then the operands'
//! NUL-terminated strings; printed in infix form as `tsqueryout` does.

use std::fmt::Write;

use super::{i32_at, u32_at, utf8, Malformed};

const ITEM_SIZE: usize = 12;

const QI_VAL: u8 = 1;
const QI_OPR: u8 = 2;

const OP_NOT: i8 = 1;
const OP_AND: i8 = 2;
const OP_OR: i8 = 3;
const OP_PHRASE: i8 = 4;

/// `tsearch_op_priority`: NOT binds tightest, then PHRASE, AND, OR.
fn priority(op: i8) -> i32 {
    match op {
        OP_NOT => 4,
        OP_PHRASE => 3,
        OP_AND => 2,
        _ => 1,
    }
}

/// One step of the printing, kept on an explicit stack so that long operator chains (as
/// `phraseto_tsquery` builds) do not recurse once per operator.
enum Step {
    /// The item at this index, under an operator of the given priority; `right_phrase` when
    /// it is the right operand of a phrase operator.
    Item {
        index: usize,
        parent_priority: i32,
        right_phrase: bool,
    },
    Text(&'static str),
    Phrase(i16),
}

pub fn tsquery_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let size = i32_at(v, 0)?;
    let size = usize::try_from(size).map_err(|_| Malformed(format!("negative size {size}")))?;
    if size == 0 {
        return Ok(());
    }
    let operands_at = size
        .checked_mul(ITEM_SIZE)
        .and_then(|n| n.checked_add(4))
        .filter(|&n| n <= v.len())
        .ok_or_else(|| Malformed(format!("{size} items do not fit in {} bytes", v.len())))?;
    let items = &v[4..operands_at];
    let operands = &v[operands_at..];

    let mut visited = 0usize;
    let mut stack = vec![Step::Item {
        index: 0,
        parent_priority: -1,
        right_phrase: false,
    }];
    while let Some(step) = stack.pop() {
        let (index, parent_priority, right_phrase) = match step {
            Step::Text(s) => {
                out.push_str(s);
                continue;
            }
            Step::Phrase(1) => {
                out.push_str(" <-> ");
                continue;
            }
            Step::Phrase(d) => {
                let _ = write!(out, " <{d}> ");
                continue;
            }
            Step::Item {
                index,
                parent_priority,
                right_phrase,
            } => (index, parent_priority, right_phrase),
        };
        visited += 1;
        if visited > size {
            return Err(Malformed(format!(
                "items do not form a tree ({size} items)"
            )));
        }
        let item = &items[ITEM_SIZE * index..ITEM_SIZE * (index + 1)];
        match item[0] {
            QI_VAL => operand(item, operands, out)?,
            QI_OPR => {
                let op = item[1] as i8;
                let child = |offset: usize| {
                    index
                        .checked_add(offset)
                        .filter(|&i| offset > 0 && i < size)
                        .ok_or_else(|| {
                            Malformed(format!(
                                "operator {index} points to item {index}+{offset} of {size}"
                            ))
                        })
                };
                let prio = priority(op);
                match op {
                    OP_NOT => {
                        let paren = prio < parent_priority;
                        if paren {
                            stack.push(Step::Text(" )"));
                        }
                        stack.push(Step::Item {
                            index: child(1)?,
                            parent_priority: prio,
                            right_phrase: false,
                        });
                        stack.push(Step::Text("!"));
                        if paren {
                            stack.push(Step::Text("( "));
                        }
                    }
                    OP_AND | OP_OR | OP_PHRASE => {
                        let right = child(1)?;
                        let left = child(u32_at(item, 4)? as usize)?;
                        let paren = prio < parent_priority || (op == OP_PHRASE && right_phrase);
                        // pushed in reverse: "( " left op right " )"
                        if paren {
                            stack.push(Step::Text(" )"));
                        }
                        stack.push(Step::Item {
                            index: right,
                            parent_priority: prio,
                            right_phrase: op == OP_PHRASE,
                        });
                        stack.push(match op {
                            OP_AND => Step::Text(" & "),
                            OP_OR => Step::Text(" | "),
                            _ => Step::Phrase(i16::from_le_bytes([item[2], item[3]])),
                        });
                        stack.push(Step::Item {
                            index: left,
                            parent_priority: prio,
                            right_phrase: false,
                        });
                        if paren {
                            stack.push(Step::Text("( "));
                        }
                    }
                    other => {
                        return Err(Malformed(format!(
                            "item {index} has unknown operator {other}"
                        )))
                    }
                }
            }
            other => return Err(Malformed(format!("item {index} has type {other}"))),
        }
    }
    if visited != size {
        return Err(Malformed(format!(
            "{visited} of {size} items are reachable from the root"
        )));
    }
    Ok(())
}

/// `'text'` with `'` and `\` doubled, then `:` with `*` for a prefix and the weights `ABCD`.
fn operand(item: &[u8], operands: &[u8], out: &mut String) -> Result<(), Malformed> {
    let weight = item[1];
    let prefix = item[2] != 0;
    let bits = u32_at(item, 8)?;
    // `length:12, distance:20`; the text is read up to its NUL, as `infix` does
    let distance = (bits >> 12) as usize;
    let rest = operands.get(distance..).ok_or_else(|| {
        Malformed(format!(
            "operand at {distance} is past the end ({} bytes)",
            operands.len()
        ))
    })?;
    let nul = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| Malformed(format!("operand at {distance} is not terminated")))?;
    out.push('\'');
    for c in utf8(&rest[..nul])?.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    if weight != 0 || prefix {
        out.push(':');
        if prefix {
            out.push('*');
        }
        for (bit, letter) in [(8, 'A'), (4, 'B'), (2, 'C'), (1, 'D')] {
            if weight & bit != 0 {
                out.push(letter);
            }
        }
    }
    Ok(())
}
