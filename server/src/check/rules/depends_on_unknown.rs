//! ## What it checks
//!
//! A depends-on cell names a stage that has neither a Stage Map row nor a section.
//! Reported on that entry (`Stage 9` in `1, Stage 9`).
//!
//! ## Why it matters in okstra
//!
//! A stage is ready when every stage it depends on is done ([plan-format §5](../plan-format.md#5-the-run-batch)). A stage
//! that does not exist is never done, so the dependent stage — and everything after it
//! — never runs.
//!
//! ## How to fix
//!
//! Correct the number, or remove it from the cell.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "depends-on-unknown",
    severity: Severity::Error,
    summary: "depends-on names a stage that does not exist",
    source: "checker",
    reads: Reads::Map,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for row in ctx.plan.map_rows() {
        let Some(&n) = row.stage.value() else {
            continue;
        };
        for dep in row.deps() {
            if ctx.plan.map_row(dep.stage).is_none() && ctx.plan.stage(dep.stage).is_none() {
                out.push(finding(
                    &RULE,
                    dep.range.clone(),
                    format!("stage {n} depends on stage {}, which does not exist: fix the number or remove it", dep.stage),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn unknown_stage() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | - | 1 |\n| 2 | b | 1, Stage 9 | 1 |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "Stage 9");
    }
}
