//! "Suppress <code> on this line": a `disable-next-line` comment above the
//! finding's line (plan-format §1). A comment between two table rows would
//! end the table, so a finding on a table row gets a `disable` … `enable`
//! pair around its table instead.

use super::{Applicability, Fix, FixContext, FixKind, TextEdit};
use crate::check::rules::{self, Finding};

pub fn suppress(ctx: &FixContext, finding: &Finding) -> Option<Fix> {
    if matches!(
        finding.code,
        rules::UNUSED_SUPPRESSION | rules::DOCUMENT_TOO_LARGE
    ) {
        return None;
    }
    let code = finding.code;
    let at = finding.range.start.min(ctx.src.len());
    if let Some(table) = table_at(ctx, at) {
        let start = ctx.line_start(table.start);
        let end = ctx.past_lines(&table);
        let eol = ctx.eol;
        // The table's last line may end the document without a line break.
        let before_end = if end == ctx.src.len() && !ctx.src.ends_with('\n') {
            eol
        } else {
            ""
        };
        return Some(Fix::new(
            format!("Suppress {code} in this table"),
            FixKind::QuickFix,
            Applicability::Unsafe,
            vec![
                TextEdit {
                    range: start..start,
                    new_text: format!("<!-- okstra-lsp-disable {code} -->{eol}"),
                },
                TextEdit {
                    range: end..end,
                    new_text: format!("{before_end}<!-- okstra-lsp-enable {code} -->{eol}"),
                },
            ],
        ));
    }
    let (line, text) = rules::suppress::next_line_comment(ctx.src, at, code, ctx.eol);
    Some(Fix::new(
        format!("Suppress {code} on this line"),
        FixKind::QuickFix,
        Applicability::Unsafe,
        vec![TextEdit {
            range: line..line,
            new_text: text,
        }],
    ))
}

/// The range of the plan table holding `offset`, if any.
fn table_at(ctx: &FixContext, offset: usize) -> Option<std::ops::Range<usize>> {
    let plan = ctx.plan;
    let map = plan
        .stage_map
        .as_ref()
        .and_then(|m| m.table.as_ref())
        .map(|t| t.range.clone());
    let verification = plan.verification.as_ref().and_then(|v| v.table.clone());
    let clarifications = plan
        .clarifications
        .as_ref()
        .and_then(|c| c.table.as_ref())
        .map(|t| t.range.clone());
    let steps = plan.stages.iter().filter_map(|s| {
        s.steps
            .as_ref()
            .and_then(|t| t.table.as_ref())
            .map(|t| t.range.clone())
    });
    [map, verification, clarifications]
        .into_iter()
        .flatten()
        .chain(steps)
        .find(|r| r.start <= offset && offset <= r.end)
}

#[cfg(test)]
mod tests {
    use crate::check::fixes::{FixContext, apply};
    use crate::plan::config::Config;

    fn fixed(src: &str, code: &str) -> (String, Vec<&'static str>) {
        let config = Config::default();
        let plan = crate::plan::model::parse(src, &config);
        let ctx = FixContext::new(src, &plan, &config);
        let findings = crate::check::rules::check(src, &plan, &config);
        let f = findings
            .iter()
            .find(|f| f.code == code)
            .expect("the finding to suppress");
        let fix = super::suppress(&ctx, f).expect("a suppress fix");
        let out = apply(src, &fix.edits);
        let after = crate::analyze(&out, &config);
        (out.clone(), after.iter().map(|f| f.code).collect())
    }

    const PLAN: &str = "## Stage Map\r\n| Stage | Title | depends-on | Steps |\r\n|---|---|---|---|\r\n| 1 | a | (none) | 1 |\r\n| 2 | b | 7 | 1 |\r\n\r\n### Stage 1: a\r\n#### Stepwise Execution Order\r\n| step | action | files | command | expected |\r\n|---|---|---|---|---|\r\n| 1 | x | y | z | w |\r\n#### Stage Exit Contract\r\n- Predicted files: `a.rs`\r\n#### Stage Validation\r\n- post: ok\r\n### Stage 2: b\r\n#### Stepwise Execution Order\r\n| step | action | files | command | expected |\r\n|---|---|---|---|---|\r\n| 1 | x | y | z | w |\r\n#### Stage Exit Contract\r\n- nothing predicted\r\n#### Stage Validation\r\n- post: ok\r\n";

    #[test]
    fn a_line_gets_a_comment_above_it() {
        let (out, after) = fixed(PLAN, "exit-contract-no-files");
        assert!(
            out.contains("<!-- okstra-lsp-disable-next-line exit-contract-no-files -->\r\n#### Stage Exit Contract\r\n- nothing"),
            "{out}"
        );
        assert_eq!(after, ["depends-on-unknown"]);
    }

    #[test]
    fn a_table_row_gets_a_region_around_its_table() {
        let (out, after) = fixed(PLAN, "depends-on-unknown");
        assert!(
            out.starts_with(
                "## Stage Map\r\n<!-- okstra-lsp-disable depends-on-unknown -->\r\n| Stage |"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "| 2 | b | 7 | 1 |\r\n<!-- okstra-lsp-enable depends-on-unknown -->\r\n\r\n"
            ),
            "{out}"
        );
        assert_eq!(after, ["exit-contract-no-files"]);
    }
}
