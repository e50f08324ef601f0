//! ## What it checks
//!
//! Two stages that can be ready at the same moment — neither reaches the other through
//! depends-on — and that are not both roots predict overlapping paths: the same
//! normalised path, or paths that overlap through a folder or a glob (`src/` and
//! `src/api.rs`, `src/*.rs` and `src/api.rs`; [plan-format
//! §2.12](../plan-format.md#212-when-two-predicted-paths-overlap)). For example stages
//! 2 and 3 that both depend only on stage 1 become ready together when stage 1 is
//! done. Each stage is reported against the nearest stage before it in the Stage Map
//! that it can be ready with, per shared path — n stages that can all run together
//! and share a file give n − 1 findings, not n(n − 1)/2 — on the later stage's first
//! shared path, naming both stages and every shared path. A plan of more than
//! 16,384 stages in its Stage Map is not checked for this warning (the
//! reachability it needs would take more than 32 MiB); the other rules still run.
//!
//! Two roots (`depends-on (none)` stages) are never reported here: an identical path
//! between them is [`s9-file-overlap`](s9-file-overlap.md), an overlap through a folder
//! or a glob is [`s9-possible-overlap`](s9-possible-overlap.md).
//!
//! ## Why it matters in okstra
//!
//! It is the hazard okstra's S9 guards against — two parallel implementation runs
//! editing the same files — in the cases S9 does not look at, because S9 only compares
//! `depends-on (none)` stages ([plan-format §3](../plan-format.md#3-rules-and-their-diagnostic-codes)). It is a warning because okstra itself
//! accepts such plans.
//!
//! ## How to fix
//!
//! Merge the two stages, or make one depend on the other.
//!
//! **Code actions:** Offered on the finding ([plan-format §4](../plan-format.md#4-code-actions)); all involve a choice, so
//! `okstra-lsp fix` applies none of them:
//!
//! - **Merge stage B into stage A**: one step table with B's steps renumbered after
//!   A's, the union of predicted files and validation items, the union of depends-on,
//!   B's section and Stage Map row removed, every depends-on that named B now naming
//!   A. Preferred when the merged stage fits the cap; offered disabled, with the
//!   reason, when it would exceed the cap or close a cycle.
//! - **Make stage B depend on stage A** and **Make stage A depend on stage B**, each
//!   only when it keeps the graph acyclic; edits the Stage Map cell (`(none)` becomes
//!   `A`, otherwise `, A` is appended).

use super::{Context, Finding, FixHint, Reads, Rule, Severity, finding, related};
use crate::check::facts::{DepGraph, Overlap};
use crate::plan::model::{Plan, PredictedPath};

pub(crate) const RULE: Rule = Rule {
    code: "parallel-file-overlap",
    severity: Severity::Warning,
    summary: "two stages that can be ready at the same moment, not both roots, predict overlapping paths",
    source: "checker",
    reads: Reads::Plan,
    check,
    fix: Some(crate::check::fixes::overlap_repairs),
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for overlap in ctx.overlaps() {
        if overlap_code(ctx.plan, ctx.graph(), overlap) != Some(RULE.code) {
            continue;
        }
        let (a, b) = (overlap.a, overlap.b);
        out.push(report(ctx, &RULE, overlap, false, |shared| {
            format!(
                "stages {a} and {b} are not ordered by depends-on, so they can be ready at the same time, but both predict {shared}: merge them, or make one depend on the other"
            )
        }));
    }
}

/// The code of the overlap rule that reports `overlap`: `s9-file-overlap`
/// (two roots, an identical path), `s9-possible-overlap` (two roots,
/// through a folder or glob only), `parallel-file-overlap` (not both roots,
/// both in the Stage Map, neither reaching the other), or none. The one
/// place these conditions are written: the three rules and the stage graph
/// read it.
pub fn overlap_code(plan: &Plan, graph: &DepGraph, overlap: &Overlap) -> Option<&'static str> {
    let (a, b) = (overlap.a, overlap.b);
    if super::is_root(plan, a) && super::is_root(plan, b) {
        return Some(if overlap.is_exact() {
            super::s9_file_overlap::RULE.code
        } else {
            super::s9_possible_overlap::RULE.code
        });
    }
    if plan.map_row(a).is_none() || plan.map_row(b).is_none() {
        return None;
    }
    if graph.reaches(a, b) || graph.reaches(b, a) {
        return None;
    }
    Some(RULE.code)
}

/// The finding for an overlap: on stage b's first shared path (b is the
/// later stage in the document), related to the stage a path it shares,
/// then the other shared pairs and stage a's heading. `exact_only` keeps
/// only the pairs with identical strings (S9's comparison); `message` gets
/// the shared paths, named once each (`` `p` `` for an identical pair,
/// `` `pa` / `pb` `` for an overlap through a folder or glob).
pub(super) fn report(
    ctx: &Context,
    rule: &Rule,
    overlap: &Overlap,
    exact_only: bool,
    message: impl FnOnce(&str) -> String,
) -> Finding {
    let (a, b) = (overlap.a, overlap.b);
    let (pas, pbs) = (
        ctx.plan.stage(a).map_or(&[][..], |s| s.predicted()),
        ctx.plan.stage(b).map_or(&[][..], |s| s.predicted()),
    );
    let mut pairs: Vec<(&PredictedPath, &PredictedPath)> = overlap
        .paths
        .iter()
        .filter(|p| p.exact || !exact_only)
        .filter_map(|p| Some((pas.get(p.a)?, pbs.get(p.b)?)))
        .collect();
    let mut shared: Vec<String> = Vec::new();
    for (pa, pb) in &pairs {
        let s = if pa.path == pb.path {
            format!("`{}`", pa.path)
        } else {
            format!("`{}` / `{}`", pa.path, pb.path)
        };
        if !shared.contains(&s) {
            shared.push(s);
        }
    }
    // Stage b's first shared path leads.
    if let Some(lead) = (0..pairs.len()).min_by_key(|&i| (pairs[i].1.range.start, i)) {
        let first = pairs.remove(lead);
        pairs.insert(0, first);
    }
    let Some(&(first_a, first_b)) = pairs.first() else {
        // Facts out of step with the model would be a bug; say so plainly.
        return finding(
            rule,
            ctx.stage_anchor(b).unwrap_or(0..0),
            format!("stages {a} and {b} predict overlapping files"),
        );
    };
    let mut f = finding(rule, first_b.range.clone(), message(&shared.join(", ")));
    f.related.push(related(
        first_a.range.clone(),
        format!("stage {a} predicts `{}`", first_a.path),
    ));
    for (pa, pb) in pairs.iter().skip(1).take(10) {
        f.related.push(related(
            pb.range.clone(),
            format!("stage {b} predicts `{}`", pb.path),
        ));
        f.related.push(related(
            pa.range.clone(),
            format!("stage {a} predicts `{}`", pa.path),
        ));
    }
    if let Some(h) = ctx.stage_anchor(a) {
        f.related.push(related(h, format!("stage {a}")));
    }
    f.fix = Some(FixHint::Overlap { a, b });
    f
}

#[cfg(test)]
mod tests {
    use crate::check::rules::test_support::run;

    fn plan(dep2: &str, dep3: &str) -> String {
        format!(
            "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | (none) | 0 |\n| 2 | b | {dep2} | 0 |\n| 3 | c | {dep3} | 0 |\n\
             ### Stage 1: a\n#### Stage Exit Contract\n- Predicted files: `x.rs`\n\
             ### Stage 2: b\n#### Stage Exit Contract\n- Predicted files: `src/api.rs`\n\
             ### Stage 3: c\n#### Stage Exit Contract\n- Predicted files: `src/api.rs`\n"
        )
    }

    #[test]
    fn siblings_after_a_common_parent() {
        let hits = run(&super::RULE, &plan("1", "1"));
        assert_eq!(hits.len(), 1);
        assert!(hits[0].1.contains("stages 2 and 3"));
    }

    #[test]
    fn ordered_or_both_roots_do_not_fire() {
        assert!(run(&super::RULE, &plan("1", "2")).is_empty());
        assert!(
            run(&super::RULE, &plan("(none)", "(none)")).is_empty(),
            "that is S9"
        );
    }
}
