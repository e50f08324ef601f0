//! ## What it checks
//!
//! A §5 row whose Expected form cell has no recommended answer: no `Recommended:`,
//! `**Recommended**:` or `Recommended answer:`, in any case (`recommended:`,
//! `RECOMMENDED ANSWER:`), followed by text. Anywhere in the cell counts, so
//! `yes/no. Recommended: yes — the API needs the parser` has one. A label with nothing
//! after it (`Recommended:` alone) is not an answer. Reported on the Expected form
//! cell.
//!
//! ## Why it matters in okstra
//!
//! okstra's phase profiles require every clarification row to carry "a recommended
//! answer + one-line rationale inside the `Expected form` cell"; rows without one "are
//! rejected as half-formed". Approvers answer faster when they can accept a proposal.
//!
//! ## How to fix
//!
//! Add `Recommended: <answer> — <reason>` to the Expected form cell, e.g.
//! `yes/no. Recommended: yes — the API needs the parser`.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "clarification-no-recommendation",
    severity: Severity::Warning,
    summary: "a §5 Expected form cell has no recommended answer",
    source: "okstra, spellings: checker",
    reads: Reads::Review,
    check,
    fix: None,
};

/// `Recommended:`, `**Recommended**:`, `Recommended answer:` (any case, and
/// `Recommendation:` / `권장:`) followed by an answer.
fn has_recommendation(text: &str) -> bool {
    let lower = text.to_lowercase().replace("**", "").replace("__", "");
    ["recommended", "recommendation", "권장"]
        .iter()
        .any(|label| {
            lower.match_indices(label).any(|(at, _)| {
                let rest = lower[at + label.len()..].trim_start();
                let rest = rest.strip_prefix("answer").map_or(rest, str::trim_start);
                rest.strip_prefix(':')
                    .or_else(|| rest.strip_prefix('：'))
                    .is_some_and(|answer| !answer.trim().is_empty())
            })
        })
}

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for row in ctx.clarification_rows() {
        let range = row.expected.clone().unwrap_or(row.range.clone());
        if !has_recommendation(ctx.text(&range)) {
            let id = row.name();
            out.push(finding(
                &RULE,
                range,
                format!("{id}'s Expected form has no recommended answer: add `Recommended: <answer> — <reason>`"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::has_recommendation;

    #[test]
    fn forms() {
        assert!(has_recommendation(
            "yes/no. Recommended: keep 1→2 — API needs it"
        ));
        assert!(has_recommendation("권장: 유지"));
        assert!(!has_recommendation("Recommended:"));
        assert!(!has_recommendation("yes/no"));
    }

    #[test]
    fn recommended_spellings() {
        for ok in [
            "Recommended: keep — reason",
            "**Recommended**: keep",
            "Recommended answer: keep",
            "recommended answer：keep",
            "**Recommended:** keep",
        ] {
            assert!(super::has_recommendation(ok), "{ok}");
        }
        for bad in [
            "Recommended:",
            "no recommendation here",
            "Recommended answer:  ",
        ] {
            assert!(!super::has_recommendation(bad), "{bad}");
        }
    }
}
