//! ## What it checks
//!
//! Two §5 Clarification Items rows with the same ID. Reported on the second one's ID,
//! with the first as related information.
//!
//! ## Why it matters in okstra
//!
//! The 4.5.9 references and the §5 IDs must match 1:1; with two `C-1` rows a reference
//! is ambiguous and an answer can land on the wrong question.
//!
//! ## How to fix
//!
//! Give the second row a new ID, and change the 4.5.9 cell that meant it.
//!
//! **Code actions:** None.

use std::collections::HashMap;

use super::{Context, Finding, Reads, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "clarification-duplicate-id",
    severity: Severity::Error,
    summary: "two §5 rows share an ID",
    source: "checker",
    reads: Reads::Review,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let mut first = HashMap::new();
    for row in ctx.clarification_rows() {
        let (Some(&id), Some(span)) = (row.id.value(), row.id.span()) else {
            continue;
        };
        match first.get(&id) {
            None => {
                first.insert(id, span);
            }
            Some(prev) => {
                let mut f = finding(
                    &RULE,
                    span,
                    format!("C-{id} is already used by an earlier row: give this one a new ID"),
                );
                f.related
                    .push(related(prev.clone(), format!("first C-{id}")));
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn second_row_is_flagged() {
        let src = "## Stage Map\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n| C-1 | d | s | e | approval |\n| C-1 | d | t | e | approval |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
    }
}
