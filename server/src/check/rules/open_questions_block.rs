//! ## What it checks
//!
//! A heading whose text is `Open Questions` (after an optional section number, as in
//! `### 4.5.8 Open Questions`; more spellings through `labelAliases`). Reported on the
//! heading, with §5 as related information when it exists. A heading that merely
//! mentions open questions (`Resolved open questions`) is not one.
//!
//! ## Why it matters in okstra
//!
//! okstra's implementation-planning profile: "Do NOT create a parallel `### 4.5.x Open
//! Questions` block — the unified table is the single home" ([plan-format §3](../plan-format.md#3-rules-and-their-diagnostic-codes)). Questions
//! outside §5 Clarification Items are not gated by approval and are easily lost.
//!
//! ## How to fix
//!
//! Move each question to a `C-<N>` row of §5 (with evidence, a recommendation and
//! Blocks) and delete the section.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "open-questions-block",
    severity: Severity::Warning,
    summary: "an `Open Questions` heading exists; §5 is the single home for open questions",
    source: "okstra",
    reads: Reads::Review,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for heading in &ctx.plan.open_questions {
        let mut f = finding(
            &RULE,
            heading.clone(),
            "open questions belong in §5 Clarification Items: move each one to a `C-<N>` row there and remove this section".into(),
        );
        if let Some(c) = &ctx.plan.clarifications {
            f.related
                .push(related(c.heading.clone(), "§5 Clarification Items"));
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn heading_is_flagged() {
        let hits = run(
            &super::RULE,
            "## 4.5 Stage Map\n### 4.5.8 Open Questions\n- why?\n",
        );
        assert_eq!(hits.len(), 1);
        assert!(run(&super::RULE, "## 4.5 Stage Map\n### Questions answered\n").is_empty());
    }
}
