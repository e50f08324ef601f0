//! ## What it checks
//!
//! A stage section (`### Stage <N>: …`) whose number has no Stage Map row. Reported on
//! the stage heading, with the Stage Map heading as related information. Not reported
//! when the Stage Map has no table at all (`stage-map-row-invalid` says that instead).
//!
//! ## Why it matters in okstra
//!
//! okstra only runs the stages of the Stage Map: the run batch ([plan-format §5](../plan-format.md#5-the-run-batch)) walks
//! its rows, and nothing else. A section without a row is silently never executed.
//!
//! ## How to fix
//!
//! Add `| 2 | API | 1 | 1 |` (its depends-on and its step count) to the Stage Map, or
//! delete the section.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "stage-missing-map-row",
    severity: Severity::Error,
    summary: "a stage section has no Stage Map row",
    source: "checker",
    reads: Reads::Map,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(map) = &ctx.plan.stage_map else {
        return;
    };
    if map.table.is_none() {
        return; // stage-map-row-invalid already says the table is missing
    }
    for stage in &ctx.plan.stages {
        if ctx.plan.map_row(stage.number).is_none() {
            let mut f = finding(
                &RULE,
                stage.heading.clone(),
                format!(
                    "stage {} has a section but no Stage Map row: add one so okstra can run it",
                    stage.number
                ),
            );
            f.related
                .push(related(map.heading.clone(), "the Stage Map"));
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn section_without_row() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | - | 1 |\n### Stage 1: a\n### Stage 2: b\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "### Stage 2: b");
    }
}
