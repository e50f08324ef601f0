//! ## What it checks
//!
//! A Stage Exit Contract without a predicted-files line: a line labelled
//! `Predicted added/modified files`, `Added/modified files (predicted)`, `Predicted
//! files` or `추가/변경된 파일 (예측)` (any case, `added / modified` or `(예측)` without the
//! space too, bold allowed; more spellings through `labelAliases` for `"Predicted
//! files"`). The line may be a list item or a paragraph, and the label ends at `:`,
//! `：`, ` — `, ` – ` or ` - `; a two-column table row whose first cell is the label
//! counts too ([plan-format §2.9](../plan-format.md#29-predicted-files)). Reported on
//! the Exit Contract heading. `- Predicted files: (none)` is a predicted-files line: it
//! says the stage touches no file.
//!
//! ## Why it matters in okstra
//!
//! S9 and `parallel-file-overlap` compare predicted files ([plan-format §3](../plan-format.md#3-rules-and-their-diagnostic-codes)). A stage
//! that predicts nothing cannot be checked, so a concurrent run could edit the same
//! files unnoticed. okstra's validator reads exactly this line.
//!
//! ## How to fix
//!
//! Add `- Predicted added/modified files: `path`, …` (paths in backticks, or a list
//! under the line), or `(none)`.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "exit-contract-no-files",
    severity: Severity::Warning,
    summary: "an Exit Contract has no predicted-files line, so S9 cannot be checked for that stage",
    source: "checker",
    reads: Reads::Plan,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for stage in &ctx.plan.stages {
        let Some(contract) = &stage.exit_contract else {
            continue;
        };
        if contract.predicted.is_none() {
            out.push(finding(
                &RULE,
                contract.heading.clone(),
                format!(
                    "stage {}'s Exit Contract has no `Predicted added/modified files:` item, so S9 cannot check it: list the files it will touch",
                    stage.number
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn missing_line() {
        let src = "## Stage Map\n### Stage 1: a\n#### Stage Exit Contract\n- Newly exposed identifiers: `x`\n### Stage 2: b\n#### Stage Exit Contract\n- **추가/변경된 파일 (예측)**: `a.rs`\n### Stage 3: c\n#### Stage Exit Contract\n- Predicted files: (none)\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].1.starts_with("stage 1"));
    }
}
