//! `exit-contract-no-files` (warning): a Stage Exit Contract has no
//! predicted-files line (`Predicted added/modified files: …`).
//!
//! Why: without predicted files, S9 and the parallel-overlap check cannot
//! protect this stage from a concurrent run.
//! Fix: add `- Predicted added/modified files: `path`, …` (or `(none)`).

use super::{Context, Finding, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "exit-contract-no-files",
    severity: Severity::Warning,
    summary: "an Exit Contract has no predicted-files line, so S9 cannot be checked for that stage",
    check,
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
