//! ## What it checks
//!
//! The depends-on graph has a cycle. One diagnostic per edge of each cycle, on that
//! edge's depends-on entry; each message lists a whole cycle through the edge in order
//! (`Stage 1 → Stage 2 → Stage 1`), and the other edges are related information.
//! Self-references are `depends-on-self`'s.
//!
//! Output stays bounded on large plans ([plan-format
//! §3.1](../plan-format.md#31-bounded-output)): a long cycle is abbreviated in the
//! message, its first stages then `… and N more`; a finding carries at most 20 related
//! entries; and after 200 findings the rule reports one more that says how many were
//! left out. The cycle is traced (one graph search) for the first 256 edges in
//! document order; an edge beyond them, shown only when suppression comments hide
//! earlier ones, names the number of stages that depend on each other around it
//! instead.
//!
//! ## Why it matters in okstra
//!
//! No stage of a cycle can ever become ready ([plan-format §5](../plan-format.md#5-the-run-batch)): each waits for another.
//! okstra's validator requires the depends-on graph to be a DAG, and its
//! implementation-planning profile has the planner check it.
//!
//! ## How to fix
//!
//! Remove one link of the cycle — the one that does not encode a real data or contract
//! dependency.
//!
//! **Code actions:** **Remove stage A's dependency on stage B**, offered on each edge
//! ([plan-format §4](../plan-format.md#4-code-actions)). When it was the only entry, the cell becomes the document's own
//! spelling of "no dependency" (`(none)`). A choice, so `okstra-lsp fix` does not apply
//! it.

use super::{Context, Finding, FixHint, Reads, Rule, Severity, finding, related};
use crate::check::fixes::{Applicability, Fix, FixContext, FixKind, remove_dep_edit};

pub(crate) const RULE: Rule = Rule {
    code: "depends-on-cycle",
    severity: Severity::Error,
    summary: "the depends-on graph has a cycle",
    source: "okstra",
    reads: Reads::Map,
    check,
    fix: Some(fix),
};

/// How many stages of a cycle a message names.
const NAMED: usize = 30;

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for edge in ctx.cycles() {
        let (from, to) = (edge.from, edge.to);
        let Some(row) = ctx.plan.map_row(from) else {
            continue;
        };
        let Some(dep) = row.deps().iter().find(|d| d.stage == to) else {
            continue;
        };
        let mut f = if edge.cycle.is_empty() {
            // Beyond the traced edges (never shown unless suppression
            // comments hide the first ones): the component, not a cycle.
            finding(
                &RULE,
                dep.range.clone(),
                format!(
                    "depends-on cycle: stage {from} depends on stage {to}, and both are among {} stages that depend on each other; none of them can ever run: remove one of these links",
                    edge.component
                ),
            )
        } else {
            // A long cycle is abbreviated (plan-format §3: bounded output).
            let mut names: Vec<String> = edge
                .cycle
                .iter()
                .take(NAMED)
                .map(|n| format!("Stage {n}"))
                .collect();
            if edge.len > NAMED {
                names.push(format!("… and {} more", edge.len - NAMED));
            }
            finding(
                &RULE,
                dep.range.clone(),
                format!(
                    "depends-on cycle: {} (each depends on the next); no stage in it can ever run: remove one of these links",
                    names.join(" → ")
                ),
            )
        };
        for pair in edge.cycle.windows(2).take(super::MAX_RELATED + 1) {
            let (a, b) = (pair[0], pair[1]);
            if (a, b) == (from, to) {
                continue;
            }
            if let Some(d) = ctx
                .plan
                .map_row(a)
                .and_then(|r| r.deps().iter().find(|d| d.stage == b))
            {
                f.related.push(related(
                    d.range.clone(),
                    format!("stage {a} depends on stage {b}"),
                ));
            }
        }
        f.fix = Some(FixHint::CycleEdge { from, to });
        out.push(f);
    }
}

/// The quick fixes: remove this edge (one per edge of a cycle).
fn fix(ctx: &FixContext, hint: &FixHint) -> Vec<Fix> {
    match hint {
        FixHint::CycleEdge { from, to } => remove_dependency(ctx, *from, *to).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// Removes `from`'s dependency on `to` (fixes one edge of a cycle).
pub fn remove_dependency(ctx: &FixContext, from: u32, to: u32) -> Option<Fix> {
    let edit = remove_dep_edit(ctx, from, to)?;
    Some(Fix::new(
        format!("Remove stage {from}'s dependency on stage {to}"),
        FixKind::QuickFix,
        Applicability::Unsafe,
        vec![edit],
    ))
}

#[cfg(test)]
mod tests {
    use crate::check::fixes::test_support::{apply_and_check, ctx_fixes, three_stages};
    use crate::check::rules::test_support::run;

    #[test]
    fn one_per_edge_naming_the_cycle() {
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | 3 | 1 |\n| 2 | b | 1 | 1 |\n| 3 | c | 2 | 1 |\n| 4 | d | 1 | 1 |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 3);
        assert!(
            hits[0].1.contains("Stage 1 → Stage 3 → Stage 2 → Stage 1"),
            "{}",
            hits[0].1
        );
        assert!(run(&super::RULE, &src.replace("| 1 | a | 3 |", "| 1 | a | - |")).is_empty());
    }

    #[test]
    fn remove_cycle_edge() {
        let src = three_stages("3", "1", "2");
        let fixes = ctx_fixes(&src, "depends-on-cycle");
        assert!(!fixes.is_empty());
        for f in &fixes {
            let (out, codes) = apply_and_check(&src, f);
            assert!(
                !codes.contains(&"depends-on-cycle"),
                "{}: {codes:?}\n{out}",
                f.title
            );
        }
    }
}
