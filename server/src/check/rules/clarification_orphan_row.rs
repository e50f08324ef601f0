//! `clarification-orphan-row` (warning): a §5 row `C-<N>` is not referenced
//! by any 4.5.9 Classification cell. Only when the plan has a 4.5.9 table:
//! okstra can run without plan-body verification.
//!
//! Why: a clarification usually comes from a verification disagreement, so
//! reviewers can trace why it is asked. A warning, not an error: okstra's
//! ambiguity check adds `Blocks=approval` rows of its own, which no 4.5.9
//! row names.
//! Fix: reference it from the 4.5.9 row it came from, remove it, or (for an
//! ambiguity-check row) suppress this warning on it.

use std::collections::HashSet;

use super::{Context, Finding, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "clarification-orphan-row",
    severity: Severity::Warning,
    summary: "a §5 row `C-<N>` is not referenced by any 4.5.9 Classification cell",
    check,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(c) = &ctx.plan.clarifications else {
        return;
    };
    let Some(t) = &c.table else { return };
    if !ctx
        .plan
        .verification
        .as_ref()
        .is_some_and(|v| v.table.is_some())
    {
        return;
    }
    let referenced: HashSet<u32> = ctx
        .plan
        .verification
        .iter()
        .flat_map(|v| v.rows.iter().flat_map(|r| r.refs.iter().map(|x| x.id)))
        .collect();
    for row in &t.rows {
        let (Some(&id), Some(span)) = (row.id.value(), row.id.span()) else {
            continue;
        };
        if !referenced.contains(&id) {
            let mut f = finding(
                &RULE,
                span,
                format!(
                    "C-{id} is not referenced by any 4.5.9 Classification cell: name it in the row it came from or remove it; a row the ambiguity check added (Blocks=approval) is allowed: suppress this warning on it"
                ),
            );
            if let Some(v) = &ctx.plan.verification {
                f.related
                    .push(related(v.heading.clone(), "4.5.9 Plan Body Verification"));
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn row_without_ref() {
        let src = "## Stage Map\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| x | AGREE | DISAGREE | majority-disagree → C-1 |\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n| C-1 | d | s | e | approval |\n| C-2 | d | s | e | approval |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "C-2");
    }

    #[test]
    fn silent_without_a_verification_table() {
        let src = "## Stage Map\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n| C-1 | d | s | e | approval |\n";
        assert!(run(&super::RULE, src).is_empty());
        let heading_only =
            src.replace("## 5.", "### 4.5.9 Plan Body Verification\nNot run.\n## 5.");
        assert!(run(&super::RULE, &heading_only).is_empty());
    }
}
