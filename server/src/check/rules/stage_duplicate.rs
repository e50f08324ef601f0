//! ## What it checks
//!
//! A stage number that appears in two Stage Map rows, or two stage sections with the
//! same number. Each repetition is reported (on the second row's stage cell, or the
//! second section's heading) with the first one as related information. Every other
//! rule uses the first row and the first section of a number.
//!
//! ## Why it matters in okstra
//!
//! okstra keys everything by stage number: `depends-on` cells, the run batch
//! ([plan-format §5](../plan-format.md#5-the-run-batch)) and the `"stage": N` rows of `consumers.jsonl` ([§6](../plan-format.md#6-consumersjsonl)) that record
//! which stages were started and done. With two stages 2, a run could take one and mark
//! "stage 2" done for both.
//!
//! ## How to fix
//!
//! Give the second stage a free number — in its row, its section heading, and every
//! depends-on cell that meant it — or merge the two sections into one stage.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "stage-duplicate",
    severity: Severity::Error,
    summary: "a stage number appears twice in the Stage Map, or two stage sections share a number",
    source: "checker",
    reads: Reads::Map,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    // The plan's index points at the first row and the first section of each
    // number: any other is a duplicate.
    for row in ctx.plan.map_rows() {
        let (Some(&n), Some(span)) = (row.stage.value(), row.stage.span()) else {
            continue;
        };
        let Some(first) = ctx.plan.map_row(n).filter(|f| !std::ptr::eq(*f, row)) else {
            continue;
        };
        let mut f = finding(
            &RULE,
            span,
            format!("stage {n} appears twice in the Stage Map: give this row its own number"),
        );
        if let Some(first) = first.stage.span() {
            f.related
                .push(related(first, format!("first row of stage {n}")));
        }
        out.push(f);
    }
    for stage in &ctx.plan.stages {
        let Some(first) = ctx
            .plan
            .stage(stage.number)
            .filter(|f| !std::ptr::eq(*f, stage))
        else {
            continue;
        };
        let mut f = finding(
            &RULE,
            stage.heading.clone(),
            format!(
                "a second section for stage {}: renumber it or merge it into the first",
                stage.number
            ),
        );
        f.related.push(related(
            first.heading.clone(),
            format!("first section of stage {}", stage.number),
        ));
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn rows_and_sections() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | - | 1 |\n| 1 | b | - | 1 |\n### Stage 1: a\n### Stage 1: b\n### Stage 2: c\n";
        let hits: Vec<String> = run(&super::RULE, src).into_iter().map(|h| h.0).collect();
        assert_eq!(hits, ["1", "### Stage 1: b"]);
    }
}
