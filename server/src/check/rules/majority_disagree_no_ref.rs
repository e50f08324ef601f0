//! ## What it checks
//!
//! A 4.5.9 Plan Body Verification row classified `majority-disagree` that names no
//! `C-<N>`. The Classification column is the one headed `Classification`, `Class` or
//! `분류`, or else the last column. Reported on the Classification cell.
//!
//! ## Why it matters in okstra
//!
//! okstra's convergence protocol turns every majority disagreement into a blocking
//! clarification: the implementation-planning profile requires, for every row
//! classified `majority-disagree → C-<N>`, the `C-<N>` row in §5. Without the reference
//! the disagreement is never asked about.
//!
//! ## How to fix
//!
//! Write `majority-disagree → C-<N>` and add the `C-<N>` row to §5.
//!
//! **Code actions:** None (once the reference exists, `clarification-orphan-ref` offers
//! to add the §5 row).

use super::{Context, Finding, Reads, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "majority-disagree-no-ref",
    severity: Severity::Error,
    summary: "a 4.5.9 row classified `majority-disagree` names no `C-<N>`",
    source: "okstra",
    reads: Reads::Review,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(v) = &ctx.plan.verification else {
        return;
    };
    for row in &v.rows {
        if row.majority_disagree && row.refs.is_empty() {
            let range = row.classification.clone().unwrap_or(row.range.clone());
            out.push(finding(
                &RULE,
                range,
                "this row is `majority-disagree` but names no clarification: write `majority-disagree → C-<N>` and add that row to §5".into(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn needs_a_reference() {
        let src = "## Stage Map\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| x | AGREE | DISAGREE | majority-disagree |\n| y | AGREE | DISAGREE | majority-disagree → C-1 |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "majority-disagree");
    }
}
