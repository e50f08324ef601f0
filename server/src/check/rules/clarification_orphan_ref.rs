//! ## What it checks
//!
//! A `C-<N>` named in the Classification column of the `4.5.9 Plan Body Verification`
//! table has no row in `§5 Clarification Items`. Reported on the `C-<N>`, with the §5
//! heading as related information.
//!
//! ## Why it matters in okstra
//!
//! okstra's approval gate asks the questions in §5 and nowhere else. Its
//! implementation-planning profile (plan-body verification reconciliation, BLOCKING)
//! makes §5 their single home and requires the 4.5.9 references and the §5 IDs to match
//! 1:1 — "an orphan on either side is a contract violation". A reference without a row
//! is a disagreement nobody will be asked about.
//!
//! ## How to fix
//!
//! Add the `C-<N>` row to §5, with the question, `Evidence checked:`, a recommended
//! answer and Blocks = `approval`.
//!
//! **Code actions:** **Add C-N to §5 Clarification Items** (preferred): a row in the
//! table's own column order with `Evidence checked: none — TODO`, `Recommended: TODO —
//! TODO` and Blocks = `approval`; creates the §5 section and table when they are
//! absent. It has one right answer, so `okstra-lsp fix` applies it too — then fill in
//! the TODOs.

use std::collections::HashSet;

use super::{Context, Finding, FixHint, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "clarification-orphan-ref",
    severity: Severity::Error,
    summary: "a `C-<N>` in the 4.5.9 Classification column has no row in §5 Clarification Items",
    source: "okstra",
    check,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(v) = &ctx.plan.verification else {
        return;
    };
    let ids: HashSet<u32> = ctx
        .plan
        .clarifications
        .iter()
        .flat_map(|c| {
            c.table
                .iter()
                .flat_map(|t| t.rows.iter().filter_map(|r| r.id.value().copied()))
        })
        .collect();
    for row in &v.rows {
        for r in &row.refs {
            if ids.contains(&r.id) {
                continue;
            }
            let mut f = finding(
                &RULE,
                r.range.clone(),
                format!(
                    "C-{} has no row in §5 Clarification Items: add `| C-{} | … |` there",
                    r.id, r.id
                ),
            );
            if let Some(c) = &ctx.plan.clarifications {
                f.related
                    .push(related(c.heading.clone(), "§5 Clarification Items"));
            }
            f.fix = Some(FixHint::OrphanRef { id: r.id });
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn ref_without_row() {
        let src = "## Stage Map\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| x | AGREE | DISAGREE | majority-disagree → C-1 |\n| y | AGREE | DISAGREE | majority-disagree → C-2 |\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n| C-1 | d | s | e | approval |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "C-2");
    }
}
