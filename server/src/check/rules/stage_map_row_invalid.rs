//! ## What it checks
//!
//! A Stage Map row whose stage number, `depends-on` or steps cell cannot be read. Also
//! reported when the Stage Map heading has no table under it, or when the table has no
//! stage, depends-on or steps column. The range is the exact token that could not be
//! read (in `1, after 2` it is `after`), the end of a row that stops before the cell,
//! or the table header.
//!
//! What can be read ([plan-format §2.6](../plan-format.md#26-the-stage-map-table)),
//! names matched case-insensitively, ignoring `**`, backticks and a trailing `:`, with
//! `-`, `_` and spaces read as the same, and a parenthesised remark allowed
//! (`Steps (effective)`):
//!
//! - columns: stage (`Stage`, `#`, `No`), title (`Title`, `Name`), depends-on
//!   (`depends-on`, `depends_on`, `depends on`, `deps`, `Dependencies`), steps
//!   (`Steps`, `Step count`, `step_count`, `Effective steps`, `Effective step
//!   count`); any order, other columns ignored;
//! - stage cell: `3`, `Stage 3`, `S3`, `#3`, optionally in backticks or bold;
//! - depends-on cell: `(none)`, `none`, `-`, `—` or empty for no dependency, also
//!   after a leading `depends-on` word (`depends-on (none)`, `depends-on 1, 2`);
//!   otherwise stage numbers separated by commas, spaces or `/`, each optionally
//!   written `Stage 3`, `S3` or `#3`, optionally in backticks;
//! - steps cell: a number, optionally in backticks or bold.
//!
//! ## Why it matters in okstra
//!
//! okstra orders stages, decides which are ready and fills the run's step budget from
//! these cells ([plan-format §2](../plan-format.md#2-structure), [§5](../plan-format.md#5-the-run-batch)). A row it cannot read is a stage it cannot
//! schedule. The other rules skip cells they cannot read, so fixing this one can reveal
//! more findings.
//!
//! ## How to fix
//!
//! Write the stage as a number, depends-on as `(none)` or stage numbers (`1, 3`), and
//! the steps as a number: `| 2 | API | 1 | 2 |`.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding};
use crate::plan::model::{Field, MapTable, StageMapRow};

pub(crate) const RULE: Rule = Rule {
    code: "stage-map-row-invalid",
    severity: Severity::Error,
    summary: "a Stage Map row's stage number, depends-on or steps cell cannot be read",
    source: "okstra, spellings: checker",
    reads: Reads::Map,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(map) = &ctx.plan.stage_map else {
        return;
    };
    let Some(table) = &map.table else {
        out.push(finding(
            &RULE,
            map.heading.clone(),
            "the Stage Map has no table: add `| Stage | Title | depends-on | Steps |` with one row per stage".into(),
        ));
        return;
    };
    missing_columns(table, out);
    for row in &table.rows {
        unreadable_cells(ctx, table, row, out);
    }
}

/// The table lacks the Stage, depends-on or Steps column.
fn missing_columns(table: &MapTable, out: &mut Vec<Finding>) {
    let mut missing = Vec::new();
    if table.columns.stage.is_none() {
        missing.push("Stage");
    }
    if table.columns.depends_on.is_none() {
        missing.push("depends-on");
    }
    if table.columns.steps.is_none() {
        missing.push("Steps");
    }
    if !missing.is_empty() {
        out.push(finding(
            &RULE,
            table.header.clone(),
            format!(
                "the Stage Map table has no {} column: expected `Stage`, `Title`, `depends-on` and `Steps` (any order)",
                missing.join(", ")
            ),
        ));
    }
}

/// A row's stage number, depends-on or steps cell cannot be read.
fn unreadable_cells(ctx: &Context, table: &MapTable, row: &StageMapRow, out: &mut Vec<Finding>) {
    if let Field::Invalid(span) = &row.stage {
        out.push(finding(
            &RULE,
            span.clone(),
            if span.is_empty() {
                "this row has no stage number: write a number such as `3`".into()
            } else {
                format!(
                    "cannot read the stage number `{}`: write a number such as `3`",
                    ctx.text(span)
                )
            },
        ));
    }
    if let Field::Invalid(span) = &row.depends_on {
        out.push(finding(
            &RULE,
            span.clone(),
            if span.is_empty() {
                // Only a row that stops before the column: an empty cell reads as `(none)`.
                "this row has no depends-on cell: write `(none)` or stage numbers separated by commas, e.g. `1, 3`".into()
            } else {
                let cell = table
                    .columns
                    .depends_on
                    .and_then(|i| row.cells.get(i))
                    .map_or("", |c| ctx.text(c));
                format!(
                    "cannot read depends-on `{}` (in `{cell}`): write `(none)` or stage numbers separated by commas, e.g. `1, 3`",
                    ctx.text(span)
                )
            },
        ));
    }
    if let Field::Invalid(span) = &row.steps {
        out.push(finding(
            &RULE,
            span.clone(),
            if span.is_empty() {
                "this row has no step count: write the number of effective steps".into()
            } else {
                format!(
                    "cannot read the step count `{}`: write the number of effective steps",
                    ctx.text(span)
                )
            },
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn points_at_the_bad_cell() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| one | a | (none) | 3 |\n| 2 | b | 1, later | x |\n";
        let hits: Vec<String> = run(&super::RULE, src).into_iter().map(|h| h.0).collect();
        assert_eq!(hits, ["one", "later", "x"]);
    }

    #[test]
    fn missing_columns_and_table() {
        let src = "## Stage Map\n| Stage | Title |\n|---|---|\n| 1 | a |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].1.contains("depends-on, Steps"), "{}", hits[0].1);
        assert_eq!(run(&super::RULE, "## Stage Map\n\ntext\n").len(), 1);
    }

    #[test]
    fn empty_or_absent_cells_are_named_not_quoted() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n|  | a | (none) | 1 |\n| 2 | b | 1\n| 3 | c |\n";
        let hits = run(&super::RULE, src);
        let messages: Vec<&str> = hits.iter().map(|h| h.1.as_str()).collect();
        assert_eq!(hits.len(), 4, "{messages:?}");
        assert!(messages[0].starts_with("this row has no stage number"));
        assert!(messages[1].starts_with("this row has no step count"));
        assert!(messages[2].starts_with("this row has no depends-on cell"));
        assert!(messages[3].starts_with("this row has no step count"));
        assert!(messages.iter().all(|m| !m.contains("``")), "{messages:?}");
    }
}
