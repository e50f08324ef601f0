//! ## What it checks
//!
//! A stage without one of its three subsections: `Stepwise Execution Order`, `Stage
//! Exit Contract`, `Stage Validation`. Reported once per stage, on its heading, naming
//! every missing one.
//!
//! A subsection belongs to the nearest stage heading before it, whether it is one level
//! deeper or at the stage's own level, and also when its heading repeats the stage
//! (`#### Stage 1 — Stage Exit Contract`). A stage runs to the next stage heading, the
//! end of the stage region, or a heading shallower than the stage heading; other
//! headings inside it (a `### Notes` between two subsections of a flat stage) stay
//! inside it ([plan-format §2.5](../plan-format.md#25-a-stage-and-its-subsections)).
//! Names match case-insensitively, ignoring surrounding whitespace, `**`, backticks and
//! a trailing `:`, with `-`, `_` and spaces read as the same.
//!
//! ## Why it matters in okstra
//!
//! Each subsection is part of okstra's stage contract ([plan-format §2](../plan-format.md#2-structure)): the executor
//! follows the steps, checks the Exit Contract (whose predicted files feed S9) and runs
//! the pre/mid/post validation. A stage without one of them cannot be executed or
//! verified as planned.
//!
//! ## How to fix
//!
//! Add the missing subsection under the stage heading, e.g.
//!
//! ```markdown
//! #### Stage Validation
//! - pre: `cargo test` green
//! - post: `cargo test parse` passes
//! ```
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "stage-missing-subsection",
    severity: Severity::Error,
    summary: "a stage lacks Stepwise Execution Order, Stage Exit Contract or Stage Validation",
    source: "okstra",
    reads: Reads::Plan,
    check,
    fix: None,
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
