//! `clarification-orphan-ref` (error): a `C-<N>` in the 4.5.9 Classification
//! column has no row in §5 Clarification Items.
//!
//! Why: okstra's approval gate reads open questions from §5 only; a dangling
//! reference is a question nobody will be asked.
//! Fix: add the `C-<N>` row to §5 (a quick fix adds a stub).

use std::collections::HashSet;

use super::{Context, Finding, FixHint, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "clarification-orphan-ref",
    severity: Severity::Error,
    summary: "a `C-<N>` in the 4.5.9 Classification column has no row in §5 Clarification Items",
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
