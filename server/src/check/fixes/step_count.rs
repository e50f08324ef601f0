//! Set the Stage Map steps cell of a stage to its counted effective steps
//! (fixes `step-count-mismatch`; safe: one right answer).

use super::{Applicability, Fix, FixContext, FixKind};

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
