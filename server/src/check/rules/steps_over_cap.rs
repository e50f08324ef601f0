//! `steps-over-cap` (error): a stage has more effective steps than the cap
//! (okstra's `step ≤6 cap`; configurable as `cap`).
//!
//! Why: okstra's executor and verifiers are sized for at most 6 steps per
//! stage; the validator rejects larger ones.
//! Fix: split the stage (the steps past the cap move to a new stage that
//! depends on this one), or fold steps together.

use super::{Context, Finding, FixHint, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "steps-over-cap",
    severity: Severity::Error,
    summary: "a stage has more than 6 effective steps (the cap)",
    check,
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
        let over = &t.effective_rows[cap..];
        let range = over[0].range.start..over[over.len() - 1].range.end;
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
