//! ## What it checks
//!
//! A stage lists its own number in its depends-on cell. Reported on that entry.
//!
//! ## Why it matters in okstra
//!
//! A stage is ready only when all its dependencies are done ([plan-format §5](../plan-format.md#5-the-run-batch)); one that
//! waits for itself never is. okstra's implementation-planning profile has the planner
//! confirm that the depends-on graph has "no cycle, no self-reference".
//!
//! ## How to fix
//!
//! Remove the stage's own number from the cell.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "depends-on-self",
    severity: Severity::Error,
    summary: "a stage depends on itself",
    source: "okstra",
    reads: Reads::Map,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for row in ctx.plan.map_rows() {
        let Some(&n) = row.stage.value() else {
            continue;
        };
        for dep in row.deps().iter().filter(|d| d.stage == n) {
            out.push(finding(
                &RULE,
                dep.range.clone(),
                format!(
                    "stage {n} depends on itself, so it can never become ready: remove `{}`",
                    ctx.text(&dep.range)
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn self_reference() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | - | 1 |\n| 2 | b | 1, S2 | 1 |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "S2");
    }
}
