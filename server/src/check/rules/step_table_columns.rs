//! ## What it checks
//!
//! A stage's `Stepwise Execution Order` has no pipe table, or the table's header lacks
//! one of the columns `step`, `action`, `files`, `command`, `expected` (matched
//! case-insensitively, ignoring `**` and a trailing `:`; extra columns are allowed).
//! Reported on the header row, or on the subsection heading when there is no table.
//!
//! ## Why it matters in okstra
//!
//! The executor follows the step table column by column: what to do, which files, which
//! command, what to expect ([plan-format §2](../plan-format.md#2-structure)). The effective step count — the cap (6) and
//! the run budget (8) — is counted from its rows.
//!
//! ## How to fix
//!
//! Rename or add the column (in the header and the delimiter row): `| step | action |
//! files | command | expected |`.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding};

pub(crate) const RULE: Rule = Rule {
    code: "step-table-columns",
    severity: Severity::Error,
    summary: "the step table lacks one of step/action/files/command/expected",
    source: "okstra",
    reads: Reads::Plan,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for stage in &ctx.plan.stages {
        let Some(steps) = &stage.steps else { continue };
        match &steps.table {
            None => out.push(finding(
                &RULE,
                steps.heading.clone(),
                format!(
                    "stage {}'s Stepwise Execution Order has no table: add `| step | action | files | command | expected |`",
                    stage.number
                ),
            )),
            Some(t) if !t.missing_columns.is_empty() => out.push(finding(
                &RULE,
                t.header.clone(),
                format!(
                    "stage {}'s step table has no {} column: the columns are `step | action | files | command | expected`",
                    stage.number,
                    t.missing_columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                ),
            )),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn missing_column_and_missing_table() {
        let src = "## Stage Map\n### Stage 1: a\n#### Stepwise Execution Order\n| Step | Action | Files | Command |\n|---|---|---|---|\n| 1 | a | b | c |\n### Stage 2: b\n#### Stepwise Execution Order\nnone yet\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 2);
        assert!(hits[0].1.contains("`expected`"));
        assert_eq!(hits[1].0, "#### Stepwise Execution Order");
    }
}
