//! `open-questions-block` (warning): a `4.5.x Open Questions` heading exists.
//!
//! Why: okstra makes §5 Clarification Items the single home of open
//! questions; questions elsewhere are not gated.
//! Fix: move each question to a §5 row and delete the heading.

use super::{Context, Finding, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "open-questions-block",
    severity: Severity::Warning,
    summary: "an `Open Questions` heading exists; §5 is the single home for open questions",
    check,
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
