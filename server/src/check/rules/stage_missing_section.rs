//! `stage-missing-section` (error): a Stage Map row has no stage section.
//!
//! Why: the implementation run reads the stage's steps, exit contract and
//! validation from its section; a row alone gives it nothing to execute.
//! Fix: add `### Stage <N>: <title>` with its three subsections, or drop the row.

use super::{Context, Finding, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "stage-missing-section",
    severity: Severity::Error,
    summary: "a Stage Map row has no stage section",
    check,
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
