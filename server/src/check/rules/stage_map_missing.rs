//! `stage-map-missing` (error): the document has stage sections that carry
//! a plan subsection (`Stepwise Execution Order`, `Stage Exit Contract` or
//! `Stage Validation`) but no `Stage Map` heading. A tutorial with
//! `## Stage 1: Setup` headings and no plan subsection is ordinary markdown
//! (plan-format §1).
//!
//! Why: okstra reads the stage order, depends-on and step counts from the
//! Stage Map; without it no run can be batched.
//! Fix: add a `## 4.5 Stage Map` table with one row per stage.

use super::{Context, Finding, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "stage-map-missing",
    severity: Severity::Error,
    summary: "stage sections with plan subsections exist but no Stage Map heading",
    check,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    if ctx.plan.stage_map.is_some() {
        return;
    }
    let planned: Vec<&crate::plan::model::Stage> = ctx
        .plan
        .stages
        .iter()
        .filter(|s| s.steps.is_some() || s.exit_contract.is_some() || s.validation.is_some())
        .collect();
    let Some(first) = planned.first() else {
        return;
    };
    let mut f = finding(
        &RULE,
        first.heading.clone(),
        format!(
            "this plan has {} stage section(s) but no `Stage Map` heading: add `## 4.5 Stage Map` with a `| Stage | Title | depends-on | Steps |` table",
            planned.len()
        ),
    );
    f.related = planned
        .iter()
        .skip(1)
        .take(20)
        .map(|s| related(s.heading.clone(), format!("Stage {}", s.number)))
        .collect();
    out.push(f);
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn fires_only_without_a_map() {
        let hits = run(
            &super::RULE,
            "# P\n### Stage 1: a\n#### Stage Validation\n### Stage 2: b\n",
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "### Stage 1: a");
        assert!(hits[0].1.contains("1 stage section(s)"), "{}", hits[0].1);
        // A tutorial's stages carry no plan subsection.
        assert!(
            run(
                &super::RULE,
                "# Docker\n## Stage 1: Setup\n## Stage 2: Build\n"
            )
            .is_empty()
        );
        assert!(run(&super::RULE, "## Stage Map\n### Stage 1: a\n").is_empty());
        assert!(run(&super::RULE, "# Just notes\nStage 1 is fine.\n").is_empty());
    }
}
