//! ## What it checks
//!
//! A Stage Map row whose stage has no section: no heading `Stage <N>` in the stage
//! region (at any level, with an optional number prefix such as `4.5.3`, optionally
//! bold, and then the end of the heading or a separator among `:` `—` `–` `-` `.` `)`
//! before the title). `### Stage 2 rollback`, with a bare space after the number, is
//! not a stage heading, and neither is a `Stage 2: …` heading after the stage region
//! has ended ([plan-format §2.3](../plan-format.md#23-stage-headings),
//! [§2.4](../plan-format.md#24-the-stage-region)). Reported on the row's stage
//! cell.
//!
//! ## Why it matters in okstra
//!
//! The implementation run executes a stage from its section: the Stepwise Execution
//! Order, the Stage Exit Contract and the Stage Validation ([plan-format §2](../plan-format.md#2-structure)). The batch
//! ([§5](../plan-format.md#5-the-run-batch)) still picks the row when it is ready, so a run would start a stage with nothing
//! to do.
//!
//! ## How to fix
//!
//! Add `### Stage 2: API` with its three subsections, or remove the row (and the
//! depends-on entries that name it).
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "stage-missing-section",
    severity: Severity::Error,
    summary: "a Stage Map row has no stage section",
    source: "checker",
    reads: Reads::Map,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for row in ctx.plan.map_rows() {
        let (Some(&n), Some(span)) = (row.stage.value(), row.stage.span()) else {
            continue;
        };
        if ctx.plan.stage(n).is_none() {
            out.push(finding(
                &RULE,
                span,
                format!("stage {n} is in the Stage Map but has no `Stage {n}` section: add one, or remove this row"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn row_without_section() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | - | 1 |\n| 2 | b | - | 1 |\n### Stage 1: a\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "2");
    }
}
