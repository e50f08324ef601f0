//! Add a depends-on link (offered on overlaps, in each direction that keeps
//! the graph acyclic) and the edit that removes one (the `depends-on-cycle`
//! fix, and `merge`). Both edit the Stage Map's depends-on cell in the
//! document's own spelling.

use super::{Applicability, Fix, FixContext, FixKind, TextEdit};
use crate::plan::model::Field;

/// "Stage `from` depends on stage `to`".
pub fn add_dependency(ctx: &FixContext, from: u32, to: u32) -> Option<Fix> {
    let title = format!("Make stage {from} depend on stage {to}");
    if ctx.graph.would_cycle(from, to) {
        return None; // only directions that keep the graph acyclic are offered
    }
    let edit = add_dep_edit(ctx, from, to)?;
    Some(Fix::new(
        title,
        FixKind::QuickFix,
        Applicability::Unsafe,
        vec![edit],
    ))
}

pub(super) fn add_dep_edit(ctx: &FixContext, from: u32, to: u32) -> Option<TextEdit> {
    let table = ctx.plan.stage_map.as_ref()?.table.as_ref()?;
    let col = table.columns.depends_on?;
    let row = ctx.plan.map_row(from)?;
    let spelled = ctx.dep_spelling(to);
    match &row.depends_on {
        Field::Ok(deps, _) if deps.iter().any(|d| d.stage == to) => None,
        Field::Ok(deps, _) if !deps.is_empty() => {
            let last = deps.last()?.range.end;
            Some(TextEdit {
                range: last..last,
                new_text: format!(", {spelled}"),
            })
        }
        Field::Ok(_, _) => ctx.set_cell(&row.range, &row.cells, col, &spelled),
        _ => None,
    }
}

/// The edit that removes `from`'s dependency on `to` (the cycle rule's fix
/// and `merge` use it).
pub(crate) fn remove_dep_edit(ctx: &FixContext, from: u32, to: u32) -> Option<TextEdit> {
    let table = ctx.plan.stage_map.as_ref()?.table.as_ref()?;
    let col = table.columns.depends_on?;
    let row = ctx.plan.map_row(from)?;
    let deps = row.deps();
    let i = deps.iter().position(|d| d.stage == to)?;
    if deps.len() == 1 {
        return ctx.set_cell(&row.range, &row.cells, col, &ctx.none_spelling());
    }
    // Take the separator with it: the one before, or for the first, the one after.
    let range = if i > 0 {
        deps[i - 1].range.end..deps[i].range.end
    } else {
        deps[0].range.start..deps[1].range.start
    };
    Some(TextEdit {
        range,
        new_text: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use crate::check::fixes::test_support::{apply_and_check, ctx_fixes, three_stages};

    #[test]
    fn both_directions_offered_for_roots_and_each_fixes_s9() {
        let src = three_stages("(none)", "(none)", "Stage 1, Stage 2");
        let fixes = ctx_fixes(&src, "s9-file-overlap");
        let titles: Vec<&str> = fixes.iter().map(|f| f.title.as_str()).collect();
        assert!(
            titles.contains(&"Make stage 2 depend on stage 1"),
            "{titles:?}"
        );
        assert!(
            titles.contains(&"Make stage 1 depend on stage 2"),
            "{titles:?}"
        );
        for f in fixes.iter().filter(|f| f.title.starts_with("Make")) {
            let (out, codes) = apply_and_check(&src, f);
            assert!(
                !codes.contains(&"s9-file-overlap") && !codes.contains(&"depends-on-cycle"),
                "{codes:?}\n{out}"
            );
            assert!(
                out.contains("| Stage 1 |") || out.contains("| Stage 2 |"),
                "spelling kept:\n{out}"
            );
        }
    }
}
