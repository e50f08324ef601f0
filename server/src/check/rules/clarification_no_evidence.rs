//! ## What it checks
//!
//! A §5 row whose Statement cell lacks `Evidence checked: <path:line>` (a path and a
//! line or line range, `src/api.rs:40` or `src/api.rs:40-52`, in backticks or not) or
//! `Evidence checked: none — <reason>` (`—`, `–`, `-` or `:` before the reason).
//! Reported on the Statement cell.
//!
//! ## Why it matters in okstra
//!
//! okstra's phase profiles make the evidence note mandatory ("Evidence note required
//! inside `Statement`"): a question the codebase or the logs can answer must be
//! answered there, with file:line evidence; `none` is allowed only with the reason only
//! a person can answer it. A row without it is "a defect of this phase".
//!
//! ## How to fix
//!
//! Append what you checked to the Statement: `Evidence checked: src/api.rs:40`, or
//! `Evidence checked: none — only the product owner knows`.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "clarification-no-evidence",
    severity: Severity::Warning,
    summary: "a §5 Statement lacks `Evidence checked: <path:line>` or `Evidence checked: none — <reason>`",
    source: "okstra",
    reads: Reads::Review,
    check,
    fix: None,
};

/// Whether `text` carries a usable evidence line.
pub(crate) fn has_evidence(text: &str) -> bool {
    let lower = text.to_lowercase();
    let Some(at) = lower.find("evidence checked:") else {
        return false;
    };
    let rest = text[at + "evidence checked:".len()..]
        .trim()
        .trim_start_matches('`');
    let rest_lower = rest.to_lowercase();
    if let Some(after) = rest_lower.strip_prefix("none") {
        let reason = after
            .trim_start()
            .trim_start_matches(['—', '–', '-', ':'])
            .trim();
        return !reason.is_empty() && after.trim_start().starts_with(['—', '–', '-', ':']);
    }
    // `path:line`: some token with a colon followed by digits.
    rest.split(|c: char| c.is_whitespace() || c == ',' || c == '`')
        .any(|tok| {
            tok.rsplit_once(':').is_some_and(|(path, line)| {
                !path.is_empty()
                    && !line.is_empty()
                    && line
                        .trim_end_matches(|c: char| !c.is_ascii_digit())
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '-')
                    && line.starts_with(|c: char| c.is_ascii_digit())
            })
        })
}

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for row in ctx.clarification_rows() {
        let range = row.statement.clone().unwrap_or(row.range.clone());
        if !has_evidence(ctx.text(&range)) {
            let id = row.name();
            out.push(finding(
                &RULE,
                range,
                format!("{id}'s Statement has no `Evidence checked: <path:line>` (or `Evidence checked: none — <reason>`): say what you looked at"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::has_evidence;

    #[test]
    fn evidence_forms() {
        assert!(has_evidence("Order? Evidence checked: `src/api.rs:40`"));
        assert!(has_evidence("x. Evidence checked: src/a.rs:1-9"));
        assert!(has_evidence("x. evidence checked: none — greenfield"));
        assert!(!has_evidence("x. Evidence checked: none"));
        assert!(!has_evidence("x. Evidence checked: src/api.rs"));
        assert!(!has_evidence("Order of stages?"));
    }
}
