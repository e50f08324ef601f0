//! `clarification-orphan-row` (error): a §5 row `C-<N>` is not referenced by
//! any 4.5.9 Classification cell.
//!
//! Why: every clarification must come from a verification disagreement, so
//! reviewers can trace why it is asked.
//! Fix: reference it from the 4.5.9 row it came from, or remove the row.

use std::collections::HashSet;

use super::{Context, Finding, Rule, Severity, finding, related};

pub const RULE: Rule = Rule {
    code: "clarification-orphan-row",
    severity: Severity::Error,
    summary: "a §5 row `C-<N>` is not referenced by any 4.5.9 Classification cell",
    check,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(c) = &ctx.plan.clarifications else {
        return;
    };
    let Some(t) = &c.table else { return };
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
                    "C-{id} is not referenced by any 4.5.9 Classification cell: name it in the row it came from, or remove it"
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
    use crate::rules::test_support::run;

    #[test]
    fn row_without_ref() {
        let src = "## Stage Map\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| x | AGREE | DISAGREE | majority-disagree → C-1 |\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n| C-1 | d | s | e | approval |\n| C-2 | d | s | e | approval |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "C-2");
    }
}
