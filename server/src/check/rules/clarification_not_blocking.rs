//! ## What it checks
//!
//! A §5 row referenced by a `majority-disagree` row of the 4.5.9 table whose Blocks
//! cell is not `approval` (case-insensitive, backticks allowed). Reported on the Blocks
//! cell, with the majority-disagree row as related information. Rows named only by
//! other classifications may block something else.
//!
//! ## Why it matters in okstra
//!
//! okstra's implementation-planning profile requires the `C-<N>` row of every majority
//! disagreement to have `Blocks=approval`: the plan is not approved until a person
//! answers it.
//!
//! ## How to fix
//!
//! Set the row's Blocks cell to `approval`.
//!
//! **Code actions:** None.

use super::{Context, Finding, Reads, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "clarification-not-blocking",
    severity: Severity::Error,
    summary: "a §5 row referenced by a majority-disagree row does not have Blocks = `approval`",
    source: "okstra",
    reads: Reads::Review,
    check,
    fix: None,
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let (Some(v), Some(c)) = (&ctx.plan.verification, &ctx.plan.clarifications) else {
        return;
    };
    let Some(t) = &c.table else { return };
    for row in &t.rows {
        let Some(&id) = row.id.value() else { continue };
        let Some(source) = v
            .rows
            .iter()
            .find(|r| r.majority_disagree && r.refs.iter().any(|x| x.id == id))
        else {
            continue;
        };
        let blocks = row.blocks.as_ref().map_or("", |b| ctx.text(b));
        if blocks
            .trim()
            .trim_matches('`')
            .eq_ignore_ascii_case("approval")
        {
            continue;
        }
        let range = row.blocks.clone().unwrap_or(row.range.clone());
        let mut f = finding(
            &RULE,
            range,
            format!(
                "C-{id} comes from a majority-disagree row, so it must block approval: set Blocks to `approval`"
            ),
        );
        f.related
            .push(related(source.range.clone(), "the majority-disagree row"));
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    #[test]
    fn must_block_approval() {
        let src = "## Stage Map\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| x | AGREE | DISAGREE | majority-disagree → C-1 |\n| y | AGREE | AGREE | full-consensus, see C-2 |\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n| C-1 | d | s | e | implementation |\n| C-2 | d | s | e | none |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "implementation");
    }
}
