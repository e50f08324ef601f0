//! Renaming a stage number or a `C-<N>` ID everywhere the plan format names
//! it, and renumbering every stage 1..n in the order of their sections.
//!
//! A stage number is named by its heading (`Stage 3`, and a section number
//! that ends in it: `4.5.3 Stage 3`), its Stage Map cell, every depends-on
//! entry, the `3.k` step numbers of its own step table, and the `Stage 3`,
//! `Stage 3 step 3.2` and `S3` mentions in 4.5.9 Plan item cells, §5
//! Statement cells and Exit Contract sections. Nothing else: free prose
//! elsewhere and code spans keep their text. Only digits are replaced, so
//! the document's spelling (`Stage 3`, `S3`, `#3`), separators and column
//! order stay as they are.

use std::collections::BTreeMap;

use super::TextEdit;
use crate::plan::model::{Plan, Span, normalize_label};
use crate::syntax;

/// The digits of one mention of a stage number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub stage: u32,
    pub digits: Span,
}

/// Why a rename or renumber cannot be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `text` as a new stage number or `C-<N>` ID: a positive integer, also
/// written `Stage 7`, `S7`, `#7` or `C-7`.
pub fn parse_new_number(text: &str) -> Result<u32, Refused> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let digits = ["stage", "c-", "s", "#"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .unwrap_or(&lower)
        .trim();
    match digits.parse::<u32>() {
        Ok(n) if n > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(Refused(format!(
            "`{t}` is not a positive integer: give the new number, e.g. `7`"
        ))),
    }
}

/// Every mention of every stage number, in text order.
pub fn stage_mentions(src: &str, plan: &Plan) -> Vec<Mention> {
    let mut out = Vec::new();
    fn push(out: &mut Vec<Mention>, stage: u32, digits: Option<Span>) {
        if let Some(digits) = digits {
            out.push(Mention { stage, digits });
        }
    }
    for s in &plan.stages {
        push(&mut out, s.number, Some(s.number_range.clone()));
        push(
            &mut out,
            s.number,
            section_number(src, &s.heading, s.number),
        );
        if let Some(rows) = s.steps.as_ref().and_then(|t| t.table.as_ref())
            && let Some(col) = rows.column(src, "step")
        {
            for cell in rows.column_cells(src, col) {
                push(&mut out, s.number, step_number(src, &cell, s.number));
            }
        }
        if let Some(c) = &s.exit_contract {
            scan_mentions(
                src,
                c.heading.end..c.content_end.max(c.heading.end),
                &mut out,
            );
        }
    }
    for row in plan.map_rows() {
        if let (Some(&n), Some(span)) = (row.stage.value(), row.stage.span()) {
            push(&mut out, n, last_digits(src, &span));
        }
        for d in row.deps() {
            push(&mut out, d.stage, last_digits(src, &d.range));
        }
    }
    if let Some(v) = &plan.verification
        && let Some(table) = &v.table
    {
        let header = line_at(src, table.start);
        let col = syntax::row_cells(src, header)
            .iter()
            .position(|c| {
                src.get(c.clone())
                    .is_some_and(|t| normalize_label(t) == "plan item")
            })
            .unwrap_or(0);
        for row in &v.rows {
            if let Some(cell) = syntax::row_cells(src, row.range.clone()).get(col) {
                scan_mentions(src, cell.clone(), &mut out);
            }
        }
    }
    if let Some(t) = plan.clarifications.as_ref().and_then(|c| c.table.as_ref()) {
        for row in &t.rows {
            if let Some(statement) = &row.statement {
                scan_mentions(src, statement.clone(), &mut out);
            }
        }
    }
    out.sort_by_key(|m| m.digits.start);
    out.dedup_by_key(|m| m.digits.clone());
    out
}

/// Edits that rename the stage numbers in `mapping` at once (old → new).
pub fn stage_edits(src: &str, plan: &Plan, mapping: &BTreeMap<u32, u32>) -> Vec<TextEdit> {
    stage_mentions(src, plan)
        .into_iter()
        .filter_map(|m| {
            let to = *mapping.get(&m.stage)?;
            (to != m.stage).then(|| TextEdit {
                range: m.digits,
                new_text: to.to_string(),
            })
        })
        .collect()
}

/// Every stage number the plan uses: Stage Map rows and sections.
fn used_numbers(plan: &Plan) -> std::collections::BTreeSet<u32> {
    plan.map_rows()
        .iter()
        .filter_map(|r| r.stage.value().copied())
        .chain(plan.stages.iter().map(|s| s.number))
        .collect()
}

/// Renames stage `from` to `to`.
pub fn rename_stage(src: &str, plan: &Plan, from: u32, to: u32) -> Result<Vec<TextEdit>, Refused> {
    if to == from {
        return Ok(Vec::new());
    }
    if used_numbers(plan).contains(&to) {
        return Err(Refused(format!(
            "stage {to} already exists: choose a number no stage uses"
        )));
    }
    Ok(stage_edits(src, plan, &BTreeMap::from([(from, to)])))
}

/// The old → new numbers of renumbering every stage 1..n: sections in
/// document order, then Stage Map rows without a section in table order.
/// Refused when a number is used by two sections (which one is meant is
/// not clear).
pub fn renumber_mapping(plan: &Plan) -> Result<BTreeMap<u32, u32>, Refused> {
    let mut order: Vec<u32> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for s in &plan.stages {
        if !seen.insert(s.number) {
            return Err(Refused(format!(
                "stage {} has two sections: merge or renumber one of them by hand first",
                s.number
            )));
        }
        order.push(s.number);
    }
    for r in plan.map_rows() {
        if let Some(&n) = r.stage.value()
            && seen.insert(n)
        {
            order.push(n);
        }
    }
    Ok(order
        .into_iter()
        .zip(1u32..)
        .filter(|(old, new)| old != new)
        .collect())
}

/// Renumbers every stage 1..n (`renumber_mapping`); no edits when they
/// already are.
pub fn renumber(src: &str, plan: &Plan) -> Result<Vec<TextEdit>, Refused> {
    let mapping = renumber_mapping(plan)?;
    Ok(stage_edits(src, plan, &mapping))
}

/// The digits of every `C-<N>` naming clarification `id`: the 4.5.9
/// Classification references and the §5 ID cells.
pub fn clarification_mentions(src: &str, plan: &Plan, id: u32) -> Vec<Span> {
    let mut out: Vec<Span> = plan
        .verification
        .iter()
        .flat_map(|v| v.rows.iter().flat_map(|r| r.refs.iter()))
        .filter(|r| r.id == id)
        .filter_map(|r| last_digits(src, &r.range))
        .collect();
    if let Some(t) = plan.clarifications.as_ref().and_then(|c| c.table.as_ref()) {
        out.extend(
            t.rows
                .iter()
                .filter(|r| r.id.value() == Some(&id))
                .filter_map(|r| r.id.span())
                .filter_map(|s| last_digits(src, &s)),
        );
    }
    out.sort_by_key(|s| s.start);
    out.dedup();
    out
}

/// Renames `C-<from>` to `C-<to>`.
pub fn rename_clarification(
    src: &str,
    plan: &Plan,
    from: u32,
    to: u32,
) -> Result<Vec<TextEdit>, Refused> {
    if to == from {
        return Ok(Vec::new());
    }
    let taken = plan
        .clarifications
        .iter()
        .flat_map(|c| c.table.iter().flat_map(|t| t.rows.iter()))
        .any(|r| r.id.value() == Some(&to))
        || plan
            .verification
            .iter()
            .flat_map(|v| v.rows.iter().flat_map(|r| r.refs.iter()))
            .any(|r| r.id == to);
    if taken {
        return Err(Refused(format!(
            "C-{to} already exists: choose an ID no clarification uses"
        )));
    }
    Ok(clarification_mentions(src, plan, from)
        .into_iter()
        .map(|range| TextEdit {
            range,
            new_text: to.to_string(),
        })
        .collect())
}

/// The line holding `at`, without its line break.
fn line_at(src: &str, at: usize) -> Span {
    let start = src[..at.min(src.len())].rfind('\n').map_or(0, |i| i + 1);
    let end = src[start..].find('\n').map_or(src.len(), |i| start + i);
    let end = if src[start..end].ends_with('\r') {
        end - 1
    } else {
        end
    };
    start..end
}

/// The last run of ASCII digits inside `span` (the number of `Stage 3`,
/// `S3`, `C-3`).
pub(crate) fn last_digits(src: &str, span: &Span) -> Option<Span> {
    let bytes = src.as_bytes().get(span.clone())?;
    let end = bytes.iter().rposition(u8::is_ascii_digit)? + 1;
    let start = bytes[..end]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    Some(span.start + start..span.start + end)
}

/// `4.5.3` before `Stage 3` in a heading: the `3`.
fn section_number(src: &str, heading: &Span, number: u32) -> Option<Span> {
    let line = src.get(heading.clone())?;
    let start = line
        .bytes()
        .position(|b| b != b'#' && b != b' ' && b != b'\t' && b != b'*')?;
    let len = line[start..]
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let prefix = line[start..start + len].trim_end_matches('.');
    let (_, last) = prefix.rsplit_once('.')?;
    if last.parse::<u32>().ok()? != number || last.is_empty() {
        return None;
    }
    let at = heading.start + start + prefix.len() - last.len();
    Some(at..at + last.len())
}

/// `3.2` (optionally bold or in backticks) in stage 3's step cell: the `3`.
fn step_number(src: &str, cell: &Span, number: u32) -> Option<Span> {
    let text = src.get(cell.clone())?;
    let lead = text.len() - text.trim_start_matches(['*', '`', '_']).len();
    let inner = text[lead..].trim_end_matches(['*', '`', '_']);
    let (stage, step) = inner.split_once('.')?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !numeric(stage) || !numeric(step) || stage.parse::<u32>().ok()? != number {
        return None;
    }
    let at = cell.start + lead;
    Some(at..at + stage.len())
}

/// `Stage N`, `Stage N step N.k` and `SN` in `range`, outside code spans.
fn scan_mentions(src: &str, range: Span, out: &mut Vec<Mention>) {
    let Some(text) = src.get(range.clone()) else {
        return;
    };
    let code = syntax::code_spans(src, range.clone());
    let bytes = text.as_bytes();
    let word = |i: usize| {
        bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    let digits_at = |i: usize| {
        bytes[i.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let spaces_at = |i: usize| {
        bytes[i.min(bytes.len())..]
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count()
    };
    let mut i = 0;
    while i < bytes.len() {
        if i > 0 && word(i - 1) {
            i += 1;
            continue;
        }
        let mut found: Option<(usize, usize)> = None;
        // Bytes, not `str` slices: `i` walks every byte, inside multi-byte
        // characters too.
        if bytes
            .get(i..i + 5)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"stage"))
        {
            let sp = spaces_at(i + 5);
            let d = digits_at(i + 5 + sp);
            if sp > 0 && d > 0 && !word(i + 5 + sp + d) {
                found = Some((i + 5 + sp, d));
            }
        } else if bytes[i] == b'S' {
            let d = digits_at(i + 1);
            if d > 0 && !word(i + 1 + d) {
                found = Some((i + 1, d));
            }
        }
        let Some((at, len)) = found else {
            i += 1;
            continue;
        };
        let abs = range.start + at;
        let in_code = |p: usize| code.iter().any(|c| c.start <= p && p < c.end);
        let Ok(stage) = text[at..at + len].parse::<u32>() else {
            i = at + len;
            continue;
        };
        if !in_code(abs) {
            out.push(Mention {
                stage,
                digits: abs..abs + len,
            });
            // `Stage N step N.k`: the step's `N` too.
            let mut j = at + len;
            let sp = spaces_at(j);
            if sp > 0
                && bytes
                    .get(j + sp..j + sp + 4)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"step"))
            {
                j += sp + 4;
                let sp = spaces_at(j);
                let d = digits_at(j + sp);
                if sp > 0
                    && d > 0
                    && bytes.get(j + sp + d) == Some(&b'.')
                    && text[j + sp..j + sp + d].parse::<u32>().ok() == Some(stage)
                {
                    let s = range.start + j + sp;
                    out.push(Mention {
                        stage,
                        digits: s..s + d,
                    });
                }
            }
        }
        i = at + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::config::Config;
    use crate::plan::model;

    const PLAN: &str = "## 4.5 Stage Map
| Stage | Title | depends-on | Steps |
|---|---|---|---|
| 1 | a | (none) | 2 |
| S2 | b | Stage 1 | 1 |
| 3 | c | 1, 2 | 1 |

### 4.5.1 Stage 1: a
#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1.1 | x | `a` | `t` | ok |
| **1.2** | y | `b` | `t` | ok |
#### Stage Exit Contract
- Predicted files: `src/a.rs`
- Feeds Stage 2 and S3, not `Stage 1` in code
#### Stage Validation
- post: Stage 1 done

### 4.5.2 Stage 2 — b
#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 2.1 | x | `a` | `t` | ok |
#### Stage Exit Contract
- Predicted files: `src/b.rs`

### Stage 3: c
#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1 | x | `a` | `t` | ok |

### 4.5.9 Plan Body Verification
| Plan item | claude | codex | Classification |
|---|---|---|---|
| Stage 1 step 1.2 ordering | AGREE | DISAGREE | majority-disagree → C-1 |
| Stages and S1 scope; Stage 12 | AGREE | AGREE | full-consensus |

## 5. Clarification Items
| ID | Kind | Statement | Expected form | Blocks |
|---|---|---|---|---|
| C-1 | decision | Order of Stage 1 and S2? | Recommended: keep | approval |

Free prose about Stage 1 stays.
";

    fn apply(src: &str, mut edits: Vec<TextEdit>) -> String {
        edits.sort_by_key(|e| std::cmp::Reverse(e.range.start));
        let mut out = src.to_string();
        for e in edits {
            out.replace_range(e.range, &e.new_text);
        }
        out
    }

    fn plan(src: &str) -> Plan {
        model::parse(src, &Config::default())
    }

    #[test]
    fn rename_rewrites_every_place_the_format_names_and_nothing_else() {
        let p = plan(PLAN);
        let edits = rename_stage(PLAN, &p, 1, 7).unwrap();
        let out = apply(PLAN, edits);
        let expected = PLAN
            .replace("| 1 | a | (none)", "| 7 | a | (none)")
            .replace("| S2 | b | Stage 1 |", "| S2 | b | Stage 7 |")
            .replace("| 3 | c | 1, 2 |", "| 3 | c | 7, 2 |")
            .replace("### 4.5.1 Stage 1: a", "### 4.5.7 Stage 7: a")
            .replace("| 1.1 |", "| 7.1 |")
            .replace("| **1.2** |", "| **7.2** |")
            .replace("| Stage 1 step 1.2 ordering", "| Stage 7 step 7.2 ordering")
            .replace("| Stages and S1 scope", "| Stages and S7 scope")
            .replace("Order of Stage 1 and S2?", "Order of Stage 7 and S2?");
        assert_eq!(out, expected);
        // Validation, free prose and code spans keep their text.
        assert!(out.contains("- post: Stage 1 done"));
        assert!(out.contains("Free prose about Stage 1 stays."));
        assert!(out.contains("not `Stage 1` in code"));
        // And back again.
        let back = rename_stage(&out, &plan(&out), 7, 1).unwrap();
        assert_eq!(apply(&out, back), PLAN);
    }

    #[test]
    fn exit_contract_mentions_are_renamed() {
        let p = plan(PLAN);
        let out = apply(PLAN, rename_stage(PLAN, &p, 2, 5).unwrap());
        assert!(
            out.contains("- Feeds Stage 5 and S3, not `Stage 1` in code"),
            "{out}"
        );
        assert!(out.contains("| S5 | b | Stage 1 |"));
        assert!(out.contains("### 4.5.5 Stage 5 — b"));
        assert!(out.contains("| 5.1 |"));
        assert!(out.contains("Order of Stage 1 and S5?"));
    }

    #[test]
    fn a_taken_number_is_refused() {
        let p = plan(PLAN);
        let e = rename_stage(PLAN, &p, 1, 3).unwrap_err();
        assert!(e.0.contains("stage 3 already exists"), "{e}");
        assert!(parse_new_number("0").is_err());
        assert!(parse_new_number("-2").is_err());
        assert!(parse_new_number("x").is_err());
        assert_eq!(parse_new_number(" Stage 7 "), Ok(7));
        assert_eq!(parse_new_number("S7"), Ok(7));
        assert_eq!(parse_new_number("C-4"), Ok(4));
    }

    #[test]
    fn renumber_follows_the_sections_and_is_idempotent() {
        let p = plan(PLAN);
        assert!(renumber(PLAN, &p).unwrap().is_empty(), "already 1..n");
        let src = apply(PLAN, rename_stage(PLAN, &p, 1, 10).unwrap());
        assert!(src.contains("### 4.5.10 Stage 10: a"));
        let p = plan(&src);
        assert_eq!(renumber_mapping(&p).unwrap(), BTreeMap::from([(10, 1)]));
        let once = apply(&src, renumber(&src, &p).unwrap());
        assert_eq!(once, PLAN);
        // Sections out of order: 2, 1, 3 becomes 1, 2, 3 with every
        // reference following its stage.
        let swapped = apply(
            PLAN,
            stage_edits(PLAN, &plan(PLAN), &BTreeMap::from([(1, 2), (2, 1)])),
        );
        assert!(swapped.contains("### 4.5.2 Stage 2: a"));
        assert!(
            swapped.contains("| 3 | c | 2, 1 |"),
            "depends-on order kept"
        );
        let back = apply(&swapped, renumber(&swapped, &plan(&swapped)).unwrap());
        assert_eq!(back, PLAN);
    }

    /// Every fixture (Korean, emoji, CRLF, garbage): no panic, and a
    /// renumber leaves a text whose mentions are 1..n-renumbered again to
    /// nothing (idempotent).
    #[test]
    fn every_fixture_renumbers_without_panicking_and_idempotently() {
        let mut texts = crate::io::walk::fixture_texts();
        assert!(texts.len() > 100);
        texts.push(
            "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 2 | 가 | (none) | 0 |\n\n### Stage 2: 가\n#### Stage Exit Contract\n- 가Stage 2 😀stage 2 S2 Ｓ2 é Stage 2 step 2.1\n"
                .to_string(),
        );
        let mut renumbered = 0;
        for text in &texts {
            let p = plan(text);
            let _ = stage_mentions(text, &p);
            let Ok(edits) = renumber(text, &p) else {
                continue;
            };
            renumbered += usize::from(!edits.is_empty());
            let once = apply(text, edits);
            let again = renumber(&once, &plan(&once)).unwrap_or_default();
            assert!(again.is_empty(), "not idempotent: {again:?}");
        }
        assert!(renumbered > 0, "some fixture has stages out of order");
    }

    #[test]
    fn clarification_ids_are_renamed_in_both_places() {
        let p = plan(PLAN);
        let out = apply(PLAN, rename_clarification(PLAN, &p, 1, 4).unwrap());
        assert!(out.contains("majority-disagree → C-4"));
        assert!(out.contains("| C-4 | decision |"));
        let taken = PLAN.replace("full-consensus", "agree → C-2");
        let e = rename_clarification(&taken, &plan(&taken), 1, 2).unwrap_err();
        assert!(e.0.contains("C-2 already exists"), "{e}");
    }
}
