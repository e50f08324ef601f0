//! `stage-missing-subsection` (error): a stage lacks its Stepwise Execution
//! Order, Stage Exit Contract or Stage Validation subsection.
//!
//! Why: the implementation run executes the steps, checks the exit contract
//! and runs the validation; each is part of okstra's stage contract.
//! Fix: add the missing `#### …` subsection under the stage heading.

use super::{Context, Finding, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "stage-missing-subsection",
    severity: Severity::Error,
    summary: "a stage lacks Stepwise Execution Order, Stage Exit Contract or Stage Validation",
    check,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for stage in &ctx.plan.stages {
        let mut missing = Vec::new();
        if stage.steps.is_none() {
            missing.push("`Stepwise Execution Order`");
        }
        if stage.exit_contract.is_none() {
            missing.push("`Stage Exit Contract`");
        }
        if stage.validation.is_none() {
            missing.push("`Stage Validation`");
        }
        if !missing.is_empty() {
            out.push(finding(
                &RULE,
                stage.heading.clone(),
                format!(
                    "stage {} has no {} subsection: add it under the stage heading",
                    stage.number,
                    missing.join(", ")
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn names_what_is_missing() {
        let src = "## Stage Map\n### Stage 1: a\n#### Stepwise Execution Order\n### Stage 2: b\n#### Stepwise Execution Order\n#### Stage Exit Contract\n#### Stage Validation\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert!(
            hits[0]
                .1
                .contains("`Stage Exit Contract`, `Stage Validation`"),
            "{}",
            hits[0].1
        );
    }
}
