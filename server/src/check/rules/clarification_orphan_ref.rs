//! ## What it checks
//!
//! A `C-<N>` named in the Classification column of the `4.5.9 Plan Body Verification`
//! table has no row in `§5 Clarification Items`. Reported on the `C-<N>`, with the §5
//! heading as related information.
//!
//! ## Why it matters in okstra
//!
//! okstra's approval gate asks the questions in §5 and nowhere else. Its
//! implementation-planning profile (plan-body verification reconciliation, BLOCKING)
//! makes §5 their single home and requires the 4.5.9 references and the §5 IDs to match
//! 1:1 — "an orphan on either side is a contract violation". A reference without a row
//! is a disagreement nobody will be asked about.
//!
//! ## How to fix
//!
//! Add the `C-<N>` row to §5, with the question, `Evidence checked:`, a recommended
//! answer and Blocks = `approval`.
//!
//! **Code actions:** **Add C-N to §5 Clarification Items** (preferred): a row in the
//! table's own column order with `Evidence checked: none — TODO`, `Recommended: TODO —
//! TODO` and Blocks = `approval`; creates the §5 section and table when they are
//! absent. It has one right answer, so `okstra-lsp fix` applies it too — then fill in
//! the TODOs.

use crate::check::fixes::{Applicability, Fix, FixContext, FixKind, TextEdit, render_row};
use crate::plan::model::normalize_label;
use std::collections::HashSet;

use super::{Context, Finding, FixHint, Reads, Rule, Severity, finding, related};

pub(crate) const RULE: Rule = Rule {
    code: "clarification-orphan-ref",
    severity: Severity::Error,
    summary: "a `C-<N>` in the 4.5.9 Classification column has no row in §5 Clarification Items",
    source: "okstra",
    reads: Reads::Review,
    check,
    fix: Some(fix),
};

fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let Some(v) = &ctx.plan.verification else {
        return;
    };
    let ids: HashSet<u32> = ctx
        .plan
        .clarifications
        .iter()
        .flat_map(|c| {
            c.table
                .iter()
                .flat_map(|t| t.rows.iter().filter_map(|r| r.id.value().copied()))
        })
        .collect();
    for row in &v.rows {
        for r in &row.refs {
            if ids.contains(&r.id) {
                continue;
            }
            let mut f = finding(
                &RULE,
                r.range.clone(),
                format!(
                    "C-{} has no row in §5 Clarification Items: add `| C-{} | … |` there",
                    r.id, r.id
                ),
            );
            if let Some(c) = &ctx.plan.clarifications {
                f.related
                    .push(related(c.heading.clone(), "§5 Clarification Items"));
            }
            f.fix = Some(FixHint::OrphanRef { id: r.id });
            out.push(f);
        }
    }
}

/// The quick fix: a §5 row for the orphan `C-<N>` (creating §5 when
/// absent), with `Evidence checked:`, a `Recommended:` placeholder and
/// Blocks = `approval`.
fn fix(ctx: &FixContext, hint: &FixHint) -> Vec<Fix> {
    match hint {
        FixHint::OrphanRef { id } => add_clarification_row(ctx, *id).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// Adds a §5 row for `C-<id>`, creating §5 when absent.
pub fn add_clarification_row(ctx: &FixContext, id: u32) -> Option<Fix> {
    let eol = ctx.eol;
    // The 4.5.9 row that names it, for the statement's context.
    let item = ctx.plan.verification.as_ref().and_then(|v| {
        v.rows
            .iter()
            .find(|r| r.refs.iter().any(|x| x.id == id))
            .map(|r| {
                let first = crate::syntax::split_row(ctx.src, r.range.clone())
                    .into_iter()
                    .next()
                    .unwrap_or(0..0);
                ctx.text(&first).trim().to_string()
            })
    });
    let statement = match &item {
        Some(i) if !i.is_empty() => {
            format!("TODO: the question behind \"{i}\". Evidence checked: none — TODO")
        }
        _ => "TODO: the question. Evidence checked: none — TODO".to_string(),
    };
    let values = |name: &str| -> String {
        match name {
            "id" | "#" => format!("C-{id}"),
            "kind" => "decision".into(),
            "statement" | "question" => statement.clone(),
            "expected form" | "expected" | "expected answer" => "Recommended: TODO — TODO".into(),
            "blocks" | "blocking" => "approval".into(),
            _ => String::new(),
        }
    };
    let title = format!("Add C-{id} to §5 Clarification Items");
    let edit = match &ctx.plan.clarifications {
        Some(c) => match &c.table {
            Some(t) => {
                let names: Vec<String> = t
                    .header_cells
                    .iter()
                    .map(|h| normalize_label(ctx.text(h)))
                    .collect();
                let row = render_row(&names.iter().map(|n| values(n)).collect::<Vec<_>>());
                let last = t.rows.last().map_or(t.range.end, |r| r.range.end);
                let at = ctx.past_lines(&(t.range.start..last));
                let prefix = if at == ctx.src.len() && !ctx.src.ends_with('\n') {
                    eol
                } else {
                    ""
                };
                TextEdit {
                    range: at..at,
                    new_text: format!("{prefix}{row}{eol}"),
                }
            }
            None => {
                let at = ctx.next_line(c.heading.end);
                TextEdit {
                    range: at..at,
                    new_text: format!("{eol}{}{eol}{eol}", table(&values, eol)),
                }
            }
        },
        None => new_section(ctx, &values),
    };
    Some(Fix::new(
        title,
        FixKind::QuickFix,
        Applicability::Safe,
        vec![edit],
    ))
}

/// §5 with its table and the row, at the end of the document, at the Stage
/// Map's heading level.
fn new_section(ctx: &FixContext, values: &dyn Fn(&str) -> String) -> TextEdit {
    let eol = ctx.eol;
    let level = ctx
        .plan
        .stage_map
        .as_ref()
        .map_or(2, |m| m.heading_level)
        .max(1) as usize;
    let at = ctx.src.len();
    let lead = if ctx.src.is_empty() || ctx.src.ends_with(&format!("{eol}{eol}")) {
        ""
    } else if ctx.src.ends_with('\n') {
        eol
    } else {
        "\n\n"
    };
    let lead = if lead == "\n\n" {
        if eol == "\r\n" { "\r\n\r\n" } else { "\n\n" }
    } else {
        lead
    };
    TextEdit {
        range: at..at,
        new_text: format!(
            "{lead}{} 5. Clarification Items{eol}{eol}{}{eol}",
            "#".repeat(level),
            table(values, eol)
        ),
    }
}

fn table(values: &dyn Fn(&str) -> String, eol: &str) -> String {
    let names = ["id", "kind", "statement", "expected form", "blocks"];
    format!(
        "| ID | Kind | Statement | Expected form | Blocks |{eol}|---|---|---|---|---|{eol}{}",
        render_row(&names.iter().map(|n| values(n)).collect::<Vec<_>>())
    )
}

#[cfg(test)]
mod tests {
    use crate::check::fixes::test_support::{apply_and_check, ctx_fixes};
    use crate::check::rules::test_support::run;

    #[test]
    fn ref_without_row() {
        let src = "## Stage Map\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| x | AGREE | DISAGREE | majority-disagree → C-1 |\n| y | AGREE | DISAGREE | majority-disagree → C-2 |\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n| C-1 | d | s | e | approval |\n";
        let hits = run(&super::RULE, src);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "C-2");
    }

    const VERIFY: &str = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| 순서 | AGREE | DISAGREE | majority-disagree → C-1 |\n| y | AGREE | DISAGREE | majority-disagree → C-2 |\n";

    #[test]
    fn appends_a_row_in_the_tables_column_order() {
        let src = format!(
            "{VERIFY}## 5. Clarification Items\n| ID | Blocks | Statement | Expected form | Kind |\n|---|---|---|---|---|\n| C-1 | approval | Why? Evidence checked: `a.rs:1` | Recommended: x | decision |\n"
        );
        let fixes = ctx_fixes(&src, "clarification-orphan-ref");
        let (out, codes) = apply_and_check(&src, &fixes[0]);
        assert!(codes.is_empty(), "{codes:?}\n{out}");
        assert!(out.contains("| C-2 | approval | TODO"), "{out}");
    }

    #[test]
    fn creates_the_section_lf_and_crlf() {
        for src in [VERIFY.to_string(), VERIFY.replace('\n', "\r\n")] {
            let fixes = ctx_fixes(&src, "clarification-orphan-ref");
            assert_eq!(fixes.len(), 2);
            let (once, _) = apply_and_check(&src, &fixes[0]);
            let again = ctx_fixes(&once, "clarification-orphan-ref");
            let (out, codes) = apply_and_check(&once, &again[0]);
            assert!(codes.is_empty(), "{codes:?}\n{out}");
            assert_eq!(out.matches("Clarification Items").count(), 1);
            if src.contains("\r\n") {
                assert!(
                    !out.replace("\r\n", "").contains('\n'),
                    "mixed line endings:\n{out:?}"
                );
            }
        }
    }
}
