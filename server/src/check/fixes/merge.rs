//! Merge stage B into stage A (plan-format §4): one step table with B's rows
//! renumbered after A's, the union of predicted files and validation items,
//! the union of depends-on minus A and B, B's section and Stage Map row gone,
//! every depends-on that named B now naming A, A's step count updated.
//! Offered disabled, with the reason, when the result would exceed the cap
//! or close a cycle.

use std::collections::BTreeSet;

use super::{Applicability, Fix, FixContext, FixKind, TextEdit, render_row};
use crate::plan::model::{MapTable, Stage, StageMapRow, StepRows, normalize_label};

pub fn merge(ctx: &FixContext, a: u32, b: u32, kind: FixKind) -> Option<Fix> {
    let title = format!("Merge stage {b} into stage {a}");
    if a == b {
        return None;
    }
    let (sa, sb) = (ctx.plan.stage(a)?, ctx.plan.stage(b)?);
    let (ra, rb) = (ctx.plan.map_row(a)?, ctx.plan.map_row(b)?);
    let table = ctx.plan.stage_map.as_ref()?.table.as_ref()?;
    let steps = sa.effective_steps() + sb.effective_steps();
    if steps > ctx.config.cap {
        return Some(Fix::disabled(
            title,
            kind,
            format!(
                "the merged stage would have {steps} steps, over the cap of {}",
                ctx.config.cap
            ),
        ));
    }
    let deps: BTreeSet<u32> = ra
        .deps()
        .iter()
        .chain(rb.deps())
        .map(|d| d.stage)
        .filter(|d| *d != a && *d != b)
        .collect();
    if let Some(d) = deps
        .iter()
        .find(|d| ctx.graph.reaches(**d, a) || ctx.graph.reaches(**d, b))
    {
        return Some(Fix::disabled(
            title,
            kind,
            format!(
                "stage {d} lies between them in the depends-on graph: merging would close a cycle"
            ),
        ));
    }
    let (Some(ta), Some(tb)) = (
        sa.steps.as_ref().and_then(|s| s.table.as_ref()),
        sb.steps.as_ref().and_then(|s| s.table.as_ref()),
    ) else {
        return Some(Fix::disabled(
            title,
            kind,
            "both stages need a step table to be merged".into(),
        ));
    };
    if sb.section.start <= sa.section.start && sa.section.start < sb.section.end {
        return Some(Fix::disabled(
            title,
            kind,
            "the stages' sections overlap".into(),
        ));
    }
    let mut edits = vec![moved_rows(ctx, ta, tb)];
    edits.extend(moved_files(ctx, sa, sb));
    edits.extend(moved_validation(ctx, sa, sb));
    edits.extend(row_of_a(ctx, table, ra, &deps, steps));
    // B's Stage Map row and section go.
    edits.push(TextEdit {
        range: ctx.full_lines(&rb.range),
        new_text: String::new(),
    });
    edits.push(TextEdit {
        range: sb.section.clone(),
        new_text: String::new(),
    });
    edits.extend(renamed_dependencies(ctx, a, b));
    Some(Fix::new(title, kind, Applicability::Unsafe, edits))
}

/// B's effective rows after A's, in A's column order, renumbered.
fn moved_rows(ctx: &FixContext, ta: &StepRows, tb: &StepRows) -> TextEdit {
    let eol = ctx.eol;
    let names_a: Vec<String> = ta
        .header_cells(ctx.src)
        .iter()
        .map(|h| normalize_label(ctx.text(h)))
        .collect();
    let names_b: Vec<String> = tb
        .header_cells(ctx.src)
        .iter()
        .map(|h| normalize_label(ctx.text(h)))
        .collect();
    let mut rows = String::new();
    for (i, row) in tb.effective_rows.iter().enumerate() {
        let row_cells = crate::syntax::row_cells(ctx.src, row.clone());
        let cells: Vec<String> = names_a
            .iter()
            .map(|name| {
                if name == "step" {
                    return (ta.effective_rows.len() + i + 1).to_string();
                }
                names_b
                    .iter()
                    .position(|n| n == name)
                    .and_then(|j| row_cells.get(j))
                    .map_or(String::new(), |c| ctx.text(c).to_string())
            })
            .collect();
        rows.push_str(&render_row(&cells));
        rows.push_str(eol);
    }
    let last_a = ta.last_row.as_ref().map_or(ta.range.end, |r| r.end);
    let at = ctx.past_lines(&(ta.range.start..last_a));
    let lead = if at == ctx.src.len() && !ctx.src.ends_with('\n') {
        eol
    } else {
        ""
    };
    TextEdit {
        range: at..at,
        new_text: format!("{lead}{rows}"),
    }
}

/// Predicted files: B's paths A lacks.
fn moved_files(ctx: &FixContext, sa: &Stage, sb: &Stage) -> Option<TextEdit> {
    let have: BTreeSet<&str> = sa.predicted().iter().map(|p| p.path.as_str()).collect();
    let missing: Vec<String> = sb
        .predicted()
        .iter()
        .filter(|p| !have.contains(p.path.as_str()))
        .map(|p| format!("`{}`", p.path))
        .collect();
    if missing.is_empty() {
        return None;
    }
    add_files(ctx, sa, &missing)
}

/// Validation items: B's items A lacks, copied verbatim.
fn moved_validation(ctx: &FixContext, sa: &Stage, sb: &Stage) -> Option<TextEdit> {
    let eol = ctx.eol;
    let (va, vb) = (sa.validation.as_ref()?, sb.validation.as_ref()?);
    let have: BTreeSet<String> = va
        .items
        .iter()
        .map(|i| ctx.text(&i).trim().to_string())
        .collect();
    let mut add = String::new();
    for item in vb.items.iter() {
        let t = ctx.text(&item).trim_end();
        if !have.contains(t.trim()) {
            add.push_str(t);
            add.push_str(eol);
        }
    }
    if add.is_empty() {
        return None;
    }
    let at = ctx.past_lines(&(va.heading.end..va.content_end));
    let lead = if at == ctx.src.len() && !ctx.src.ends_with('\n') {
        eol
    } else {
        ""
    };
    Some(TextEdit {
        range: at..at,
        new_text: format!("{lead}{add}"),
    })
}

/// A's depends-on (the union, minus A and B) and step count.
fn row_of_a(
    ctx: &FixContext,
    table: &MapTable,
    ra: &StageMapRow,
    deps: &BTreeSet<u32>,
    steps: usize,
) -> Vec<TextEdit> {
    let mut edits = Vec::new();
    if let Some(col) = table.columns.depends_on {
        let text = if deps.is_empty() {
            ctx.none_spelling()
        } else {
            deps.iter()
                .map(|d| ctx.dep_spelling(*d))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if ctx.text(ra.depends_on.span().as_ref().unwrap_or(&(0..0))) != text {
            edits.extend(ctx.set_cell(&ra.range, &ra.cells, col, &text));
        }
    }
    if let Some(col) = table.columns.steps {
        edits.extend(ctx.set_cell(&ra.range, &ra.cells, col, &steps.to_string()));
    }
    edits
}

/// Every other depends-on that named B now names A (or drops B when it
/// names A already).
fn renamed_dependencies(ctx: &FixContext, a: u32, b: u32) -> Vec<TextEdit> {
    let mut edits = Vec::new();
    for row in ctx.plan.map_rows() {
        let Some(&n) = row.stage.value() else {
            continue;
        };
        if n == a || n == b {
            continue;
        }
        if !row.deps().iter().any(|d| d.stage == b) {
            continue;
        }
        if row.deps().iter().any(|d| d.stage == a) {
            edits.extend(super::remove_dep_edit(ctx, n, b));
        } else if let Some(d) = row.deps().iter().find(|d| d.stage == b) {
            let t = ctx.text(&d.range);
            let digits = b.to_string();
            if let Some(prefix_len) = t.rfind(digits.as_str()) {
                let s = d.range.start + prefix_len;
                edits.push(TextEdit {
                    range: s..s + digits.len(),
                    new_text: a.to_string(),
                });
            }
        }
    }
    edits
}

/// Appends paths to A's predicted-files line, or adds the line.
fn add_files(ctx: &FixContext, sa: &Stage, missing: &[String]) -> Option<TextEdit> {
    let contract = sa.exit_contract.as_ref()?;
    match &contract.predicted {
        Some(p) => {
            let has_any = !sa.predicted().is_empty();
            let sep = if has_any { ", " } else { " " };
            // Nested items: add one more nested item in the same style.
            let first_line_end = ctx
                .text(&p.text)
                .find('\n')
                .map_or(p.text.end, |i| p.text.start + i);
            let first_line = ctx.text(&(p.text.start..first_line_end));
            if has_any && first_line.trim_end().ends_with(':') {
                let indent = "  ";
                let at = ctx.past_lines(&p.item);
                let items: String = missing
                    .iter()
                    .map(|m| format!("{indent}- {m}{}", ctx.eol))
                    .collect();
                return Some(TextEdit {
                    range: at..at,
                    new_text: items,
                });
            }
            // A table row (`| Predicted files | … |`): inside its last cell.
            let at = match first_line.trim_end().strip_suffix('|') {
                Some(inner) => p.text.start + inner.trim_end().len(),
                None => first_line_end,
            };
            Some(TextEdit {
                range: at..at,
                new_text: format!("{sep}{}", missing.join(", ")),
            })
        }
        None => {
            let at = ctx.next_line(contract.heading.end);
            Some(TextEdit {
                range: at..at,
                new_text: format!(
                    "- Predicted added/modified files: {}{}",
                    missing.join(", "),
                    ctx.eol
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::fixes::test_support::{apply_and_check, ctx_fixes};

    fn stage(n: u32, level: &str, files: &str, rows: usize) -> String {
        let mut s = format!(
            "{level} 4.5.{n} Stage {n} — 단계 {n}\n\n{level}# Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n"
        );
        for i in 1..=rows {
            s.push_str(&format!("| {i} | act {n}.{i} | `f{n}` | `c` | ok |\n"));
        }
        s.push_str(&format!("\n{level}# Stage Exit Contract\n- Predicted added/modified files: {files}\n\n{level}# Stage Validation\n- post: check {n}\n\n"));
        s
    }

    fn plan(rows: (usize, usize), flat: bool) -> String {
        let sub = if flat { "##" } else { "###" };
        let mut s = format!(
            "## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | 단계 1 | (none) | {} |\n| 2 | 단계 2 | (none) | {} |\n| 3 | 단계 3 | Stage 2 | 1 |\n\n",
            rows.0, rows.1
        );
        let level = if flat { "##" } else { "###" };
        let _ = sub;
        s.push_str(
            &stage(1, level, "`src/a.rs`, `src/b.rs`", rows.0)
                .replace(&format!("{level}# "), if flat { "## " } else { "#### " }),
        );
        s.push_str(
            &stage(2, level, "`src/a.rs`, `src/c.rs`", rows.1)
                .replace(&format!("{level}# "), if flat { "## " } else { "#### " }),
        );
        s.push_str(
            &stage(3, level, "`docs/`", 1)
                .replace(&format!("{level}# "), if flat { "## " } else { "#### " }),
        );
        s
    }

    #[test]
    fn merge_fixes_s9_in_nested_flat_lf_crlf() {
        for flat in [false, true] {
            for crlf in [false, true] {
                let mut src = plan((2, 3), flat);
                if crlf {
                    src = src.replace('\n', "\r\n");
                }
                assert!(
                    crate::analyze(&src, &Default::default())
                        .iter()
                        .all(|f| f.code == "s9-file-overlap"),
                    "{src}"
                );
                let fixes = ctx_fixes(&src, "s9-file-overlap");
                let merge = fixes
                    .iter()
                    .find(|f| f.title == "Merge stage 2 into stage 1")
                    .expect("merge offered");
                assert!(merge.preferred);
                let (out, codes) = apply_and_check(&src, merge);
                assert!(
                    codes.is_empty(),
                    "flat={flat} crlf={crlf}: {codes:?}\n{out}"
                );
                assert!(out.contains("| 5 | act 2.3 |"), "{out}");
                assert!(out.contains("`src/a.rs`, `src/b.rs`, `src/c.rs`"), "{out}");
                assert!(out.contains("| 3 | 단계 3 | Stage 1 | 1 |"), "{out}");
                assert!(out.contains("| 1 | 단계 1 | (none) | 5 |"), "{out}");
                assert!(!out.contains("Stage 2 —"), "{out}");
                assert!(out.contains("- post: check 2"), "{out}");
                if crlf {
                    assert!(!out.replace("\r\n", "").contains('\n'), "mixed endings");
                }
            }
        }
    }

    #[test]
    fn merge_over_cap_is_disabled_with_reason() {
        let src = plan((4, 3), false);
        let fixes = ctx_fixes(&src, "s9-file-overlap");
        let merge = fixes.iter().find(|f| f.title.starts_with("Merge")).unwrap();
        assert!(
            merge
                .disabled
                .as_deref()
                .unwrap_or("")
                .contains("7 steps, over the cap of 6")
        );
        let preferred: Vec<&str> = fixes
            .iter()
            .filter(|f| f.preferred)
            .map(|f| f.title.as_str())
            .collect();
        assert_eq!(preferred, ["Make stage 2 depend on stage 1"]);
    }

    #[test]
    fn merging_into_a_table_row_of_predicted_files_stays_in_the_row() {
        let stage = |n: u32, files: &str| {
            format!(
                "### Stage {n}: s{n}\n#### Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n| 1 | a | b | c | d |\n#### Stage Exit Contract\n| Item | Value |\n|---|---|\n| Predicted files | {files} |\n\n#### Stage Validation\n- post: ok\n"
            )
        };
        let src = format!(
            "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | s1 | (none) | 1 |\n| 2 | s2 | (none) | 1 |\n\n{}{}",
            stage(1, "`src/a.rs`"),
            stage(2, "`src/a.rs`, `src/b.rs`")
        );
        let merge = ctx_fixes(&src, "s9-file-overlap")
            .into_iter()
            .find(|f| f.title.starts_with("Merge"))
            .expect("a merge fix");
        let (out, codes) = apply_and_check(&src, &merge);
        assert!(
            out.contains("| Predicted files | `src/a.rs`, `src/b.rs` |"),
            "{out}"
        );
        assert!(codes.is_empty(), "{codes:?}\n{out}");
    }
}
