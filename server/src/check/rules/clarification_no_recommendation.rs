//! `clarification-no-recommendation` (warning): a §5 Expected form cell has no
//! recommended answer (`Recommended: …`).
//!
//! Why: okstra's approvers answer faster when the planner proposes an answer
//! with its reason.
//! Fix: add `Recommended: <answer> — <reason>` to the cell.

use super::{Context, Finding, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "clarification-no-recommendation",
    severity: Severity::Warning,
    summary: "a §5 Expected form cell has no recommended answer",
    check,
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
    let Some(t) = ctx
        .plan
        .clarifications
        .as_ref()
        .and_then(|c| c.table.as_ref())
    else {
        return;
    };
    for row in &t.rows {
        let range = row.expected.clone().unwrap_or(row.range.clone());
        if !has_recommendation(ctx.text(&range)) {
            let id = row
                .id
                .value()
                .map_or("this row".to_string(), |n| format!("C-{n}"));
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
