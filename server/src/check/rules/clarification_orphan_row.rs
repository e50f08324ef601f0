//! ## What it checks
//!
//! A §5 Clarification Items row `C-<N>` that no Classification cell of the 4.5.9 table
//! names. Reported on the row's ID, with the 4.5.9 heading as related information.
//!
//! Only when the plan has a 4.5.9 Plan Body Verification table: okstra can run the
//! planning phase without plan-body verification, and then §5 rows reference nothing
//! by design, so nothing is reported.
//!
//! ## Why it matters in okstra
//!
//! okstra's implementation-planning profile (plan-body verification reconciliation,
//! BLOCKING) requires the 4.5.9 references and the §5 IDs to match 1:1, so reviewers
//! can trace every question to the disagreement it came from; dissent that is not
//! promoted lives in the 4.5.9 Dissent log instead.
//!
//! It is a warning, not an error, because the same profile's ambiguity check moves
//! any requirement that could be read two ways to §5 as a `Blocks=approval` row of its
//! own. Such a row legitimately has no 4.5.9 reference, and the checker cannot tell it
//! from an orphan; the message says so.
//!
//! ## How to fix
//!
//! Name the row in the Classification cell it came from (`majority-disagree → C-2`), or
//! delete it.
//!
//! When the row came from okstra's ambiguity check, keep it and silence the warning
//! with a suppression comment ([plan-format
//! §3.2](../plan-format.md#32-suppression-comments)). A comment line between two table
//! rows would end the table, so put a `disable` … `enable` pair around the §5 table:
//!
//! ```markdown
//! <!-- okstra-lsp-disable clarification-orphan-row -->
//! ## 5. Clarification Items
//! | ID | Kind | Statement | Expected form | Blocks |
//! |---|---|---|---|---|
//! | C-1 | decision | Keep stage 1 first? Evidence checked: `src/api.rs:40` | yes/no. Recommended: yes — the API needs the parser | approval |
//! | C-2 | decision | Name the CLI flag? Evidence checked: `src/api.rs:40` | yes/no. Recommended: yes — the API needs the parser | approval |
//! <!-- okstra-lsp-enable clarification-orphan-row -->
//! ```
//!
//! This silences the warning for every row of the table, so check the table by hand
//! when you add rows to it.
//!
//! **Code actions:** None.
//!
//! ## Configuration
//!
//! Change its severity, or turn it off, with the `severityOverrides` setting (section
//! `okstra`, through `workspace/configuration` or `initializationOptions`):
//!
//! ```json
//! { "okstra": { "severityOverrides": { "clarification-orphan-row": "off" } } }
//! ```
//!
//! Values: `"error"`, `"warning"`, `"info"` (`"hint"` is shown as info) or `"off"`.
//! `okstra-lsp check` always reports the default severities, and exits 1 only for
//! errors.

use std::collections::HashSet;

use super::{Context, Finding, Reads, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "clarification-orphan-row",
    severity: Severity::Warning,
    summary: "a §5 row `C-<N>` is not referenced by any 4.5.9 Classification cell (only when the plan has a 4.5.9 table)",
    source: "okstra, severity: checker",
    reads: Reads::Review,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(c) = &ctx.plan.clarifications else {
        return;
    };
    let Some(t) = &c.table else { return };
    if ctx
        .plan
        .verification
        .as_ref()
        .is_none_or(|v| v.table.is_none())
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
