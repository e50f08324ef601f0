//! Split an over-cap stage: the rows beyond the cap move to a new stage (the
//! next free number) that depends on the original, with its own Stage Map row
//! (right after the original's) and empty Exit Contract and Validation
//! subsections. Stages that depended on the original now depend on the new
//! one, which still comes after the original.

use super::{Applicability, Fix, FixContext, FixKind, TextEdit, render_row};
use crate::plan::model::Span;
use crate::plan::model::{MapTable, Stage, StageMapRow, StepRows, StepTable};

pub fn split(ctx: &FixContext, n: u32, kind: FixKind) -> Option<Fix> {
    let cap = ctx.config.cap;
    let stage = ctx.plan.stage(n)?;
    let steps = stage.steps.as_ref()?;
    let table = steps.table.as_ref()?;
    if table.effective_rows.len() <= cap {
        return None;
    }
    let row = ctx.plan.map_row(n)?;
    let map = ctx.plan.stage_map.as_ref()?.table.as_ref()?;
    let next = ctx
        .plan
        .map_rows()
        .iter()
        .filter_map(|r| r.stage.value().copied())
        .chain(ctx.plan.stages.iter().map(|s| s.number))
        .max()
        .unwrap_or(n)
        + 1;
    let moved: Vec<Span> = table.effective_rows.iter().skip(cap).collect();
    let title_text = ctx.text(&stage.title).trim();
    let new_title = if title_text.is_empty() {
        "part 2".to_string()
    } else {
        format!("{title_text} (part 2)")
    };
    let mut edits = Vec::new();

    // The original keeps its first `cap` rows.
    let from = ctx.line_start(moved[0].start);
    let last_row = table
        .last_row
        .as_ref()
        .map_or(moved[moved.len() - 1].end, |r| r.end);
    edits.push(TextEdit {
        range: from..ctx.past_lines(&(moved[0].start..last_row)),
        new_text: String::new(),
    });

    edits.push(new_section(
        ctx, stage, steps, table, &moved, next, &new_title,
    ));
    if let Some(col) = map.columns.steps {
        edits.extend(ctx.set_cell(&row.range, &row.cells, col, &cap.to_string()));
    }
    edits.push(new_map_row(ctx, map, row, n, next, &new_title, moved.len()));
    edits.extend(repointed_dependents(ctx, n, next));
    Some(Fix::new(
        format!(
            "Split stage {n}: move {} step(s) to a new stage {next} that depends on it",
            moved.len()
        ),
        kind,
        Applicability::Unsafe,
        edits,
    ))
}

/// The new stage's section after the original's, in its heading style: the
/// moved rows renumbered from 1, empty Exit Contract and Validation.
fn new_section(
    ctx: &FixContext,
    stage: &Stage,
    steps: &StepTable,
    table: &StepRows,
    moved: &[Span],
    next: u32,
    new_title: &str,
) -> TextEdit {
    let eol = ctx.eol;
    let n = stage.number;
    let heading = ctx.text(&stage.heading);
    let rel = |x: usize| x.saturating_sub(stage.heading.start);
    let before_number = heading.get(..rel(stage.number_range.start)).unwrap_or("");
    let prefix = renumber_prefix(before_number, n, next);
    let between = heading
        .get(rel(stage.number_range.end)..rel(stage.title.start).max(rel(stage.number_range.end)))
        .unwrap_or("");
    let between = if between.is_empty() { ": " } else { between };
    let sub = "#".repeat(steps.heading_level as usize);
    let step_col = table.column(ctx.src, "step");
    let header = ctx.text(&table.header);
    let delimiter = {
        let after = ctx.next_line(table.header.end);
        ctx.src[after..ctx.next_line(after)].trim_end().to_string()
    };
    let mut section = format!(
        "{prefix}{next}{between}{new_title}{eol}{eol}{sub} Stepwise Execution Order{eol}{header}{eol}{delimiter}{eol}"
    );
    for (i, r) in moved.iter().enumerate() {
        let cells: Vec<String> = crate::syntax::row_cells(ctx.src, r.clone())
            .iter()
            .enumerate()
            .map(|(j, c)| {
                if Some(j) == step_col {
                    (i + 1).to_string()
                } else {
                    ctx.text(c).to_string()
                }
            })
            .collect();
        section.push_str(&render_row(&cells));
        section.push_str(eol);
    }
    section.push_str(&format!(
        "{eol}{sub} Stage Exit Contract{eol}{eol}{sub} Stage Validation{eol}{eol}"
    ));
    let at = stage.section.end;
    let lead = if at == ctx.src.len() && !ctx.src.ends_with('\n') {
        format!("{eol}{eol}")
    } else if at == ctx.src.len() && !ctx.src.ends_with(&format!("{eol}{eol}")) {
        eol.to_string()
    } else {
        String::new()
    };
    TextEdit {
        range: at..at,
        new_text: format!("{lead}{section}"),
    }
}

/// The new stage's Stage Map row, right after the original's.
fn new_map_row(
    ctx: &FixContext,
    map: &MapTable,
    row: &StageMapRow,
    original: u32,
    next: u32,
    new_title: &str,
    moved: usize,
) -> TextEdit {
    let eol = ctx.eol;
    let cells: Vec<String> = (0..map.columns.count)
        .map(|i| {
            if Some(i) == map.columns.stage {
                next.to_string()
            } else if Some(i) == map.columns.title {
                new_title.to_string()
            } else if Some(i) == map.columns.depends_on {
                ctx.dep_spelling(original)
            } else if Some(i) == map.columns.steps {
                moved.to_string()
            } else {
                String::new()
            }
        })
        .collect();
    let row_end = ctx.past_lines(&row.range);
    let lead = if row_end == ctx.src.len() && !ctx.src.ends_with('\n') {
        eol
    } else {
        ""
    };
    TextEdit {
        range: row_end..row_end,
        new_text: format!("{lead}{}{eol}", render_row(&cells)),
    }
}

/// Dependents of the original need all of its work: they now depend on
/// the new stage.
fn repointed_dependents(ctx: &FixContext, n: u32, next: u32) -> Vec<TextEdit> {
    let mut edits = Vec::new();
    for other in ctx.plan.map_rows() {
        let Some(&m) = other.stage.value() else {
            continue;
        };
        if m == n {
            continue;
        }
        if let Some(d) = other.deps().iter().find(|d| d.stage == n) {
            let t = ctx.text(&d.range);
            let digits = n.to_string();
            if let Some(p) = t.rfind(digits.as_str()) {
                let s = d.range.start + p;
                edits.push(TextEdit {
                    range: s..s + digits.len(),
                    new_text: next.to_string(),
                });
            }
        }
    }
    edits
}

/// `### 4.5.3 Stage ` for stage 3 becomes `### 4.5.7 Stage ` for stage 7; a
/// prefix that does not end in the stage's own number is kept as is.
fn renumber_prefix(prefix: &str, old: u32, new: u32) -> String {
    let old_s = old.to_string();
    let trimmed = prefix.trim_end_matches(|c: char| c.is_alphabetic() || c.is_whitespace());
    let rest = &prefix[trimmed.len()..];
    if let Some(head) = trimmed.strip_suffix(old_s.as_str())
        && head.ends_with('.')
    {
        return format!("{head}{new}{rest}");
    }
    prefix.to_string()
}

#[cfg(test)]
mod tests {
    use super::renumber_prefix;
    use crate::check::fixes::test_support::{apply_and_check, ctx_fixes};

    #[test]
    fn prefixes() {
        assert_eq!(
            renumber_prefix("### 4.5.3 Stage ", 3, 7),
            "### 4.5.7 Stage "
        );
        assert_eq!(renumber_prefix("### Stage ", 3, 7), "### Stage ");
    }

    fn plan(flat: bool) -> String {
        let (h, sub) = if flat { ("##", "##") } else { ("###", "####") };
        let mut s = format!(
            "## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | 큰 단계 😀 | (none) | 8 |\n| 2 | next | 1 | 1 |\n\n{h} 4.5.1 Stage 1 — 큰 단계 😀\n\n{sub} Stepwise Execution Order\n| step | action | files | command | expected |\n|:---|---|---|---|---:|\n"
        );
        for i in 1..=8 {
            s.push_str(&format!("| {i} | a{i} | `f` | `c` | e |\n"));
        }
        s.push_str(&format!("\n{sub} Stage Exit Contract\n- Predicted files: `f`\n\n{sub} Stage Validation\n- ok\n\n{h} 4.5.2 Stage 2 — next\n\n{sub} Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n| 1 | a | `g` | `c` | e |\n\n{sub} Stage Exit Contract\n- Predicted files: `g`\n\n{sub} Stage Validation\n- ok\n"));
        s
    }

    #[test]
    fn split_removes_the_over_cap_error_in_every_layout() {
        for flat in [false, true] {
            for crlf in [false, true] {
                let mut src = plan(flat);
                if crlf {
                    src = src.replace('\n', "\r\n");
                }
                let fixes = ctx_fixes(&src, "steps-over-cap");
                assert_eq!(fixes.len(), 1);
                let (out, codes) = apply_and_check(&src, &fixes[0]);
                let errors: Vec<_> = crate::analyze(&out, &Default::default())
                    .into_iter()
                    .filter(|f| f.severity == crate::check::rules::Severity::Error)
                    .map(|f| f.code)
                    .collect();
                assert!(
                    errors.is_empty(),
                    "flat={flat} crlf={crlf}: {codes:?}\n{out}"
                );
                assert!(out.contains("4.5.3 Stage 3 — 큰 단계 😀 (part 2)"), "{out}");
                assert!(out.contains("| 3 | 큰 단계 😀 (part 2) | 1 | 2 |"), "{out}");
                assert!(out.contains("| 2 | next | 3 | 1 |"), "{out}");
                assert!(
                    out.contains("|:---|---|---|---|---:|"),
                    "alignment row copied:\n{out}"
                );
            }
        }
    }
}
