//! ## What it checks
//!
//! A stage whose step table has more effective steps than the cap: 6 by default
//! (okstra's `step ≤6 cap`), or the `cap` setting (`--cap` on the command line).
//! Effective steps are the data rows that are not entirely blank ([plan-format §2](../plan-format.md#2-structure)). The
//! range covers the rows beyond the cap; the stage heading is related.
//!
//! ## Why it matters in okstra
//!
//! okstra's validator (`validate-implementation-plan-stages.py`) rejects a stage with
//! more than 6 effective steps, and its implementation-planning profile tells the
//! planner to split a stage only when it would exceed that cap. The cap is an okstra
//! constant that configuration may change, never silently ([plan-format §3](../plan-format.md#3-rules-and-their-diagnostic-codes)).
//!
//! ## How to fix
//!
//! Split the stage — the steps past the cap move to a new stage that depends on this
//! one — or fold steps together.
//!
//! **Code actions:** **Split stage N: move K step(s) to a new stage M that depends on
//! it** ([plan-format §4](../plan-format.md#4-code-actions)): the rows past the cap move to a new stage with the next free
//! number, its own Stage Map row right after the original's, and empty Exit Contract
//! and Validation subsections to fill in; stages that depended on the original now
//! depend on the new one. The same split is offered as a refactor on an over-cap
//! stage's heading. It involves a choice, so `okstra-lsp fix` does not apply it.
//!
//! ## Configuration
//!
//! Change its severity, or turn it off, with the `severityOverrides` setting (section
//! `okstra`, through `workspace/configuration` or `initializationOptions`):
//!
//! ```json
//! { "okstra": { "severityOverrides": { "steps-over-cap": "warning" } } }
//! ```
//!
//! Values: `"error"`, `"warning"`, `"info"` (`"hint"` is shown as info) or `"off"`.
//! `okstra-lsp check` always reports the default severities, and exits 1 only for
//! errors.
//!
//! The cap itself is the `cap` setting (`--cap N` for `okstra-lsp check` and `fix`).

use super::{Context, Finding, FixHint, Reads, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "steps-over-cap",
    severity: Severity::Error,
    summary: "a stage has more than 6 effective steps (the cap)",
    source: "okstra",
    reads: Reads::Plan,
    check,
    fix: Some(crate::check::fixes::split_over_cap),
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let cap = ctx.config.cap;
    for stage in &ctx.plan.stages {
        let Some(t) = stage.steps.as_ref().and_then(|s| s.table.as_ref()) else {
            continue;
        };
        let n = t.effective_rows.len();
        if n <= cap {
            continue;
        }
        let (Some(first), Some(last)) = (t.effective_rows.get(cap), t.effective_rows.last()) else {
            continue;
        };
        let range = first.start..last.end;
        let mut f = finding(
            &RULE,
            range,
            format!(
                "stage {} has {n} effective steps, over the cap of {cap}: split the last {} step(s) into a new stage that depends on it",
                stage.number,
                n - cap
            ),
        );
        f.related.push(related(
            stage.heading.clone(),
            format!("stage {}", stage.number),
        ));
        f.fix = Some(FixHint::OverCap {
            stage: stage.number,
        });
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    fn plan(rows: usize) -> String {
        let mut s = String::from(
            "## Stage Map\n### Stage 1: a\n#### Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n",
        );
        for i in 1..=rows {
            s.push_str(&format!("| {i} | a | f | c | e |\n"));
        }
        s.push_str("|  |  |  |  |  |\n");
        s
    }

    #[test]
    fn seven_is_over_six_is_not() {
        let hits = run(&super::RULE, &plan(7));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "| 7 | a | f | c | e |");
        assert!(
            run(&super::RULE, &plan(6)).is_empty(),
            "blank rows do not count"
        );
    }
}
