//! `stage-map-missing` (error): the document has stage sections but no
//! `Stage Map` heading.
//!
//! Why: okstra reads the stage order, depends-on and step counts from the
//! Stage Map; without it no run can be batched.
//! Fix: add a `## 4.5 Stage Map` table with one row per stage.

use super::{Context, Finding, Rule, Severity, finding, related};

pub const RULE: Rule = Rule {
    code: "stage-map-missing",
    severity: Severity::Error,
    summary: "stage sections exist but no Stage Map heading",
    check,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    if ctx.plan.stage_map.is_some() {
        return;
    }
    let Some(first) = ctx.plan.stages.first() else {
        return;
    };
    let mut f = finding(
        &RULE,
        first.heading.clone(),
        format!(
            "this plan has {} stage section(s) but no `Stage Map` heading: add `## 4.5 Stage Map` with a `| Stage | Title | depends-on | Steps |` table",
            ctx.plan.stages.len()
        ),
    );
    f.related = ctx
        .plan
        .stages
        .iter()
        .skip(1)
        .take(20)
        .map(|s| related(s.heading.clone(), format!("Stage {}", s.number)))
        .collect();
    out.push(f);
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::run;

    #[test]
    fn fires_only_without_a_map() {
        let hits = run(&super::RULE, "# P\n### Stage 1: a\n### Stage 2: b\n");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "### Stage 1: a");
        assert!(run(&super::RULE, "## Stage Map\n### Stage 1: a\n").is_empty());
        assert!(run(&super::RULE, "# Just notes\nStage 1 is fine.\n").is_empty());
    }
}
