//! `depends-on-self` (error): a stage lists itself in its depends-on cell.
//!
//! Why: the stage could never become ready.
//! Fix: remove the stage's own number from the cell.

use super::{Context, Finding, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "depends-on-self",
    severity: Severity::Error,
    summary: "a stage depends on itself",
    check,
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
