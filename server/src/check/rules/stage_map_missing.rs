//! ## What it checks
//!
//! The document has stage sections — headings such as `### Stage 1: …` or `### 4.5.1
//! Stage 1 — …` — and at least one of them carries a plan subsection (`Stepwise
//! Execution Order`, `Stage Exit Contract` or `Stage Validation`), but the document has
//! no heading whose text is `Stage Map` (after an optional section number such as
//! `4.5`). It is reported once, on the first stage heading, with the other stage
//! headings as related information.
//!
//! A document without a Stage Map heading is not a plan ([plan-format
//! §1](../plan-format.md#1-which-documents-are-plans)), so this is the only rule that
//! runs on it: the other rules wait until the Stage Map exists. Stage headings alone
//! are not enough: a tutorial or a build document with `## Stage 1: Setup` headings
//! and no plan subsection is ordinary markdown, and nothing is reported on it.
//!
//! Headings match tolerantly: `## 4.5 Stage Map`, `### **Stage map:**`,
//! `## Stage Map (depends-on DAG)`, `## Stage Map — v2` and any configured
//! `labelAliases` for `"Stage Map"` all count.
//!
//! ## Why it matters in okstra
//!
//! okstra reads the order of the stages, their `depends-on` links and their step counts
//! from the Stage Map ([plan-format §2](../plan-format.md#2-structure)), and the run batch walks its rows in order ([§5](../plan-format.md#5-the-run-batch)).
//! Stage sections without a Stage Map cannot be scheduled at all — and a Stage Map
//! table under some other heading (`## Stages`) is not read.
//!
//! ## How to fix
//!
//! Add the Stage Map, or rename the heading that holds it:
//!
//! ```markdown
//! ## 4.5 Stage Map
//!
//! | Stage | Title | depends-on | Steps |
//! |---|---|---|---|
//! | 1 | Dump job | (none) | 1 |
//! ```
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "stage-map-missing",
    severity: Severity::Error,
    summary: "stage sections with plan subsections exist but no Stage Map heading",
    source: "checker",
    reads: Reads::Plan,
    check,
    fix: None,
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
