//! ## What it checks
//!
//! The Stage Map's steps cell differs from the number of effective rows in the stage's
//! step table (data rows that are not entirely blank; [plan-format §2](../plan-format.md#2-structure)). Reported on the
//! steps cell, with the step table as related information.
//!
//! ## Why it matters in okstra
//!
//! okstra's validator requires the two to agree (its step-count cell check), and the
//! run batch fills its budget of 8 steps ([plan-format §5](../plan-format.md#5-the-run-batch)) from the stages' step counts:
//! a wrong cell makes a run take too much or too little.
//!
//! ## How to fix
//!
//! Set the cell to the counted value (or add the missing rows).
//!
//! **Code actions:** **Set stage N's step count to M** (preferred). It has one right
//! answer, so `okstra-lsp fix` applies it too.

use super::{Context, Finding, FixHint, Reads, Rule, Severity, finding, related};
use crate::check::fixes::{Applicability, Fix, FixContext, FixKind};

pub(crate) const RULE: Rule = Rule {
    code: "step-count-mismatch",
    severity: Severity::Error,
    summary: "the Stage Map steps cell differs from the counted effective rows",
    source: "okstra",
    reads: Reads::Plan,
    check,
    fix: Some(fix),
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for row in ctx.plan.map_rows() {
        let (Some(&n), Some(&claimed)) = (row.stage.value(), row.steps.value()) else {
            continue;
        };
        let Some(stage) = ctx.plan.stage(n) else {
            continue;
        };
        let Some(table) = stage.steps.as_ref().and_then(|s| s.table.as_ref()) else {
            continue;
        };
        let counted = table.effective_rows.len();
        if counted == claimed {
            continue;
        }
        let Some(cell) = row.steps.span() else {
            continue;
        };
        let mut f = finding(
            &RULE,
            cell,
            format!(
                "the Stage Map says stage {n} has {claimed} step(s), its step table has {counted}: set this cell to {counted}"
            ),
        );
        f.related.push(related(
            table.range.clone(),
            format!("stage {n}'s step table ({counted} effective rows)"),
        ));
        f.fix = Some(FixHint::StepCount { stage: n, counted });
        out.push(f);
    }
}

/// The quick fix: the cell takes the counted value (safe: one right answer).
fn fix(ctx: &FixContext, hint: &FixHint) -> Vec<Fix> {
    match hint {
        FixHint::StepCount { stage, counted } => {
            set_step_count(ctx, *stage, *counted).into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// Sets the Stage Map steps cell of a stage to its counted effective steps.
pub fn set_step_count(ctx: &FixContext, stage: u32, counted: usize) -> Option<Fix> {
    let table = ctx.plan.stage_map.as_ref()?.table.as_ref()?;
    let col = table.columns.steps?;
    let row = ctx.plan.map_row(stage)?;
    let edit = ctx.set_cell(&row.range, &row.cells, col, &counted.to_string())?;
    Some(Fix::new(
        format!("Set stage {stage}'s step count to {counted}"),
        FixKind::QuickFix,
        Applicability::Safe,
        vec![edit],
    ))
}

#[cfg(test)]
mod tests {
    use crate::check::fixes::test_support::{apply_and_check, ctx_fixes};
    use crate::check::rules::test_support::run;

    #[test]
    fn cell_differs_from_count() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | - | 3 |\n### Stage 1: a\n#### Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n| 1 | a | f | c | e |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "3");
        assert!(run(&super::RULE, &src.replace("| 3 |", "| 1 |")).is_empty());
    }

    #[test]
    fn lf_and_crlf() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | 한국어 😀 | (none) | 3 |\n### Stage 1: a\n#### Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n| 1 | a | f | c | e |\n#### Stage Exit Contract\n- Predicted files: `a`\n#### Stage Validation\n- ok\n";
        for text in [src.to_string(), src.replace('\n', "\r\n")] {
            let fixes = ctx_fixes(&text, "step-count-mismatch");
            assert_eq!(fixes.len(), 1);
            let (out, codes) = apply_and_check(&text, &fixes[0]);
            assert!(codes.is_empty(), "{codes:?}");
            assert!(out.contains("| (none) | 1 |"));
        }
    }
}
