//! Fixes: plan model → minimal text edits (plan-format §4). A rule's own
//! repair sits in its rule file and is registered on its `Rule` (`fix`);
//! here are the shared pieces (`Fix`, `FixContext`, the depends-on edits),
//! the refactors several rules and the stage headings offer (`merge`,
//! `split`), the suppression comment, and the entry points (`fixes_for`,
//! `repairs_for`, `refactors_at`, `fix_all`). Each keeps the document's style (line endings, column order, depends-on
//! spelling, heading levels and numbering).
//!
//! Invariant: no LSP types, no I/O; a fix never produces overlapping edits
//! (`Fix::new` refuses them) and never panics on any plan. Every offset a
//! fix computes by arithmetic goes through `FixContext::line_start`,
//! `next_line` or `past_lines`, which move it to a character boundary
//! first, so edits start and end on character boundaries.

mod depends_on;
mod merge;
pub mod renumber;
mod split;
mod suppress;

use std::ops::Range;

use crate::check::facts::DepGraph;
use crate::check::rules::{Finding, FixHint};
use crate::plan::config::Config;
use crate::plan::model::{self, Plan, Span};
use crate::syntax::{self, floor_char_boundary};

pub use crate::check::rules::{add_clarification_row, remove_dependency, set_step_count};
pub use depends_on::add_dependency;
pub(crate) use depends_on::remove_dep_edit;
pub use merge::merge;
pub use split::split;
pub use suppress::suppress;

/// Replace `range` with `new_text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    pub range: Span,
    pub new_text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixKind {
    QuickFix,
    Refactor,
}

/// Whether a fix can be applied without a person looking (ruff's notion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applicability {
    /// One right answer: `okstra-lsp fix` applies it.
    Safe,
    /// A choice between repairs: offered in the editor only.
    Unsafe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub kind: FixKind,
    pub applicability: Applicability,
    pub preferred: bool,
    /// Why the fix is offered but cannot be applied.
    pub disabled: Option<String>,
    pub edits: Vec<TextEdit>,
}

impl Fix {
    pub(crate) fn new(
        title: String,
        kind: FixKind,
        applicability: Applicability,
        mut edits: Vec<TextEdit>,
    ) -> Fix {
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        let overlapping = edits.windows(2).any(|w| w[0].range.end > w[1].range.start);
        let disabled = overlapping.then(|| "internal: the edits of this fix overlap".to_string());
        Fix {
            title,
            kind,
            applicability,
            preferred: false,
            disabled,
            edits,
        }
    }

    fn disabled(title: String, kind: FixKind, reason: String) -> Fix {
        Fix {
            title,
            kind,
            applicability: Applicability::Unsafe,
            preferred: false,
            disabled: Some(reason),
            edits: Vec::new(),
        }
    }
}

/// Applies non-overlapping edits (an edit past the end or inside a
/// character is moved back to a character boundary rather than panic).
pub fn apply(src: &str, edits: &[TextEdit]) -> String {
    let mut sorted: Vec<&TextEdit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    for e in sorted {
        let start = floor_char_boundary(src, e.range.start).max(at);
        let end = floor_char_boundary(src, e.range.end).max(start);
        out.push_str(&src[at..start]);
        out.push_str(&e.new_text);
        at = end;
    }
    out.push_str(&src[at..]);
    out
}

/// What a fix needs: the text, its plan and derived facts.
pub struct FixContext<'a> {
    pub src: &'a str,
    pub plan: &'a Plan,
    pub config: &'a Config,
    /// The depends-on graph: an open document's own (`with_graph`), else
    /// built for the fix.
    pub graph: std::borrow::Cow<'a, DepGraph>,
    /// `\r\n` when the document uses it.
    pub eol: &'static str,
}

impl<'a> FixContext<'a> {
    pub fn new(src: &'a str, plan: &'a Plan, config: &'a Config) -> FixContext<'a> {
        FixContext::with(
            src,
            plan,
            config,
            std::borrow::Cow::Owned(DepGraph::new(plan)),
        )
    }

    /// With the graph already built for `plan` (an open document keeps one:
    /// a code action request at a 1,000-stage plan builds none).
    pub fn with_graph(
        src: &'a str,
        plan: &'a Plan,
        config: &'a Config,
        graph: &'a DepGraph,
    ) -> FixContext<'a> {
        FixContext::with(src, plan, config, std::borrow::Cow::Borrowed(graph))
    }

    fn with(
        src: &'a str,
        plan: &'a Plan,
        config: &'a Config,
        graph: std::borrow::Cow<'a, DepGraph>,
    ) -> FixContext<'a> {
        let crlf = memchr::memmem::find(src.as_bytes(), b"\r\n").is_some();
        FixContext {
            src,
            plan,
            config,
            graph,
            eol: if crlf { "\r\n" } else { "\n" },
        }
    }

    pub(crate) fn text(&self, span: &Span) -> &'a str {
        self.src.get(span.clone()).unwrap_or("")
    }

    /// The start of the line holding `offset` (any byte offset: one inside
    /// a character counts as that character's).
    pub(crate) fn line_start(&self, offset: usize) -> usize {
        let offset = floor_char_boundary(self.src, offset);
        self.src[..offset].rfind('\n').map_or(0, |i| i + 1)
    }

    /// Just past the line break of the line holding `offset` (any byte
    /// offset, as for `line_start`).
    pub(crate) fn next_line(&self, offset: usize) -> usize {
        let offset = floor_char_boundary(self.src, offset);
        self.src[offset..]
            .find('\n')
            .map_or(self.src.len(), |i| offset + i + 1)
    }

    /// Just past the line break of the line holding the last character of
    /// `span` (its start when it is empty): where a line after a table row,
    /// a list item or a table goes. The last character may be several
    /// bytes long, so `span.end - 1` is not sliced at.
    pub(crate) fn past_lines(&self, span: &Span) -> usize {
        let last = floor_char_boundary(self.src, span.end.saturating_sub(1));
        self.next_line(last.max(span.start))
    }

    /// The whole line(s) of `span`, line break included.
    fn full_lines(&self, span: &Span) -> Span {
        self.line_start(span.start)..self.past_lines(span)
    }

    /// How this document writes a stage in depends-on: `3`, `Stage 3`, `S3`, `#3`.
    fn dep_spelling(&self, n: u32) -> String {
        for row in self.plan.map_rows() {
            if let Some(d) = row.deps().first() {
                let t = self.text(&d.range);
                let digits = d.stage.to_string();
                if let Some(prefix) = t.strip_suffix(digits.as_str()) {
                    return format!("{prefix}{n}");
                }
            }
        }
        n.to_string()
    }

    /// How this document writes "no dependency".
    fn none_spelling(&self) -> String {
        let col = self
            .plan
            .stage_map
            .as_ref()
            .and_then(|m| m.table.as_ref())
            .and_then(|t| t.columns.depends_on);
        for row in self.plan.map_rows() {
            if let (Some(model::Field::Ok(v, span)), true) = (Some(&row.depends_on), col.is_some())
                && v.is_empty()
                && !self.text(span).trim().is_empty()
            {
                return self.text(span).trim().to_string();
            }
        }
        "(none)".to_string()
    }

    /// Replaces the content of cell `col` of a table row (trimmed span when
    /// there is text, the raw cell padded with spaces when it is empty).
    pub(crate) fn set_cell(
        &self,
        row: &Span,
        cells: &[Span],
        col: usize,
        content: &str,
    ) -> Option<TextEdit> {
        let cell = cells.get(col)?;
        if cell.start < cell.end {
            return Some(TextEdit {
                range: cell.clone(),
                new_text: content.to_string(),
            });
        }
        let raw = syntax::split_row(self.src, row.clone());
        let target = raw
            .iter()
            .find(|r| r.start <= cell.start && cell.start <= r.end)?;
        Some(TextEdit {
            range: target.clone(),
            new_text: format!(" {content} "),
        })
    }
}

/// Renders a table row: `| a | b |`.
pub(crate) fn render_row(cells: &[String]) -> String {
    let mut s = String::from("|");
    for c in cells {
        s.push(' ');
        s.push_str(&c.replace('|', "\\|").replace("\\\\|", "\\|"));
        s.push_str(" |");
    }
    s
}

/// The fixes for one finding (quick fixes), best first; the last silences
/// it with a suppression comment.
pub fn fixes_for(ctx: &FixContext, finding: &Finding) -> Vec<Fix> {
    let mut out = repairs_for(ctx, finding);
    out.extend(suppress(ctx, finding));
    out
}

/// The fixes that repair a finding (no suppression): its rule's `fix`
/// for the finding's hint; a lone enabled one is preferred.
pub fn repairs_for(ctx: &FixContext, finding: &Finding) -> Vec<Fix> {
    let Some(hint) = &finding.fix else {
        return Vec::new();
    };
    let Some(repair) = crate::check::rules::rule(finding.code).and_then(|r| r.fix) else {
        return Vec::new();
    };
    let mut out = repair(ctx, hint);
    if out.len() == 1 && out[0].disabled.is_none() {
        out[0].preferred = true;
    }
    out
}

/// The one fix to name for a finding when no person chooses (`okstra-lsp
/// fix`, the CLI's JSON): its first safe, enabled repair, which `fix_all`
/// applies; else the preferred enabled repair, else the first enabled one
/// (those are `Unsafe`). The suppression comment is no repair: `None` when
/// the finding has none.
pub fn best_fix(ctx: &FixContext, finding: &Finding) -> Option<Fix> {
    let mut repairs: Vec<Fix> = repairs_for(ctx, finding)
        .into_iter()
        .filter(|f| f.disabled.is_none())
        .collect();
    let at = repairs
        .iter()
        .position(|f| f.applicability == Applicability::Safe)
        .or_else(|| repairs.iter().position(|f| f.preferred))
        .unwrap_or(0);
    (at < repairs.len()).then(|| repairs.swap_remove(at))
}

/// The repairs of an overlap (`s9-file-overlap`, `s9-possible-overlap`,
/// `parallel-file-overlap`): merge the two stages, then each depends-on link
/// that keeps the graph acyclic.
pub(crate) fn overlap_repairs(ctx: &FixContext, hint: &FixHint) -> Vec<Fix> {
    let FixHint::Overlap { a, b } = hint else {
        return Vec::new();
    };
    let mut merge_fix = merge(ctx, *a, *b, FixKind::QuickFix);
    let mut deps: Vec<Fix> = [add_dependency(ctx, *b, *a), add_dependency(ctx, *a, *b)]
        .into_iter()
        .flatten()
        .collect();
    // A careful planner merges when the cap allows (okstra's
    // cost-aware design: fewer stages, fewer fixed costs), else orders.
    match merge_fix.as_mut() {
        Some(m) if m.disabled.is_none() => m.preferred = true,
        _ => {
            if let Some(d) = deps.first_mut() {
                d.preferred = true;
            }
        }
    }
    let mut out: Vec<Fix> = merge_fix.into_iter().collect();
    out.append(&mut deps);
    out
}

/// The repair of `steps-over-cap`: split the stage.
pub(crate) fn split_over_cap(ctx: &FixContext, hint: &FixHint) -> Vec<Fix> {
    let FixHint::OverCap { stage } = hint else {
        return Vec::new();
    };
    split(ctx, *stage, FixKind::QuickFix).into_iter().collect()
}

/// Refactors offered on a stage heading: merge into the previous stage of the
/// Stage Map, merge the next one into it, split it when over the cap.
pub fn refactors_at(ctx: &FixContext, offset: usize) -> Vec<Fix> {
    let Some(stage) = ctx
        .plan
        .stages
        .iter()
        .find(|s| s.heading.start <= offset && offset <= s.heading.end)
    else {
        return Vec::new();
    };
    // Stage Map row order, first row of each number (the batch's order too).
    let mut seen = std::collections::BTreeSet::new();
    let order: Vec<u32> = ctx
        .plan
        .map_rows()
        .iter()
        .filter_map(|r| r.stage.value().copied())
        .filter(|n| seen.insert(*n))
        .collect();
    let mut out = Vec::new();
    if let Some(i) = order.iter().position(|n| *n == stage.number) {
        if i > 0 {
            out.extend(merge(ctx, order[i - 1], stage.number, FixKind::Refactor));
        }
        if let Some(next) = order.get(i + 1) {
            out.extend(merge(ctx, stage.number, *next, FixKind::Refactor));
        }
    }
    if stage.effective_steps() > ctx.config.cap {
        out.extend(split(ctx, stage.number, FixKind::Refactor));
    }
    out
}

/// What `fix_all` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixAll {
    pub text: String,
    /// Fixes applied, over all rounds.
    pub applied: usize,
    /// No safe fix was left at the end. False when the rounds ran out
    /// first: the text is still valid (every round applies whole fixes), but
    /// a fix kept making work for another (a bug to report).
    pub settled: bool,
}

/// Applies the safe fixes (one right answer) until none is left, at most
/// `rounds` times (each round takes every fix that does not touch another).
pub fn fix_all(src: &str, config: &Config, rounds: usize) -> FixAll {
    let mut text = src.to_string();
    let mut applied = 0;
    // `rounds` rounds of fixing, then one more look for what is left.
    for round in 0..=rounds {
        let plan = model::parse(&text, config);
        let findings = crate::check::rules::check(&text, &plan, config);
        let ctx = FixContext::new(&text, &plan, config);
        let mut edits: Vec<TextEdit> = Vec::new();
        let mut taken = 0;
        for f in &findings {
            let Some(fix) = best_fix(&ctx, f).filter(|x| x.applicability == Applicability::Safe)
            else {
                continue;
            };
            // Take a fix only when it touches nothing already taken.
            let clash = fix
                .edits
                .iter()
                .any(|e| edits.iter().any(|x| overlaps(&x.range, &e.range)));
            if !clash {
                edits.extend(fix.edits);
                taken += 1;
            }
        }
        if edits.is_empty() {
            return FixAll {
                text,
                applied,
                settled: true,
            };
        }
        if round == rounds {
            break;
        }
        text = apply(&text, &edits);
        applied += taken;
    }
    FixAll {
        text,
        applied,
        settled: false,
    }
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end || a.start == b.start
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Three stages that all predict `same.rs`, with these depends-on cells.
    pub fn three_stages(dep1: &str, dep2: &str, dep3: &str) -> String {
        let mut s = format!(
            "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | {dep1} | 0 |\n| 2 | b | {dep2} | 0 |\n| 3 | c | {dep3} | 0 |\n"
        );
        for n in 1..=3 {
            s.push_str(&format!(
                "### Stage {n}: x\n#### Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n#### Stage Exit Contract\n- Predicted files: `same.rs`\n#### Stage Validation\n- ok\n"
            ));
        }
        s
    }

    /// Applies `fix` to `src`, re-checks, and returns the new text and codes.
    pub(crate) fn apply_and_check(src: &str, fix: &Fix) -> (String, Vec<&'static str>) {
        assert!(
            fix.disabled.is_none(),
            "{}: disabled: {:?}",
            fix.title,
            fix.disabled
        );
        let out = apply(src, &fix.edits);
        let findings = crate::analyze(&out, &Config::default());
        (out, findings.iter().map(|f| f.code).collect())
    }

    pub(crate) fn ctx_fixes(src: &str, code: &str) -> Vec<Fix> {
        let config = Config::default();
        let plan = model::parse(src, &config);
        let findings = crate::check::rules::check(src, &plan, &config);
        let ctx = FixContext::new(src, &plan, &config);
        findings
            .iter()
            .filter(|f| f.code == code)
            .flat_map(|f| repairs_for(&ctx, f))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_sorts_and_keeps_the_rest() {
        let edits = vec![
            TextEdit {
                range: 4..5,
                new_text: "E".into(),
            },
            TextEdit {
                range: 0..1,
                new_text: "A".into(),
            },
            TextEdit {
                range: 2..2,
                new_text: "+".into(),
            },
        ];
        assert_eq!(apply("abcdef", &edits), "Ab+cdEf");
    }

    fn best(src: &str, code: &str) -> Option<Fix> {
        let config = Config::default();
        let plan = model::parse(src, &config);
        let findings = crate::check::rules::check(src, &plan, &config);
        let ctx = FixContext::new(src, &plan, &config);
        let finding = findings.iter().find(|f| f.code == code)?;
        best_fix(&ctx, finding)
    }

    #[test]
    fn best_fix_is_the_safe_one_else_the_preferred_repair_never_a_suppression() {
        // Three roots on one file: merging is preferred (unsafe, a choice).
        let src = test_support::three_stages("(none)", "(none)", "(none)");
        let fix = best(&src, "s9-file-overlap").expect("an overlap has repairs");
        assert_eq!(fix.applicability, Applicability::Unsafe);
        assert!(
            fix.preferred && fix.title.starts_with("Merge"),
            "{}",
            fix.title
        );
        // A wrong step count has one right answer.
        let src = src.replacen("| 1 | a | (none) | 0 |", "| 1 | a | (none) | 3 |", 1);
        let fix = best(&src, "step-count-mismatch").expect("a step count fix");
        assert_eq!(fix.applicability, Applicability::Safe);
        // No repair: no fix (the suppression comment is not one).
        let src = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | (none) | 0 |\n";
        assert!(best(src, "stage-missing-section").is_none());
    }

    #[test]
    fn overlapping_edits_disable_the_fix() {
        let fix = Fix::new(
            "x".into(),
            FixKind::QuickFix,
            Applicability::Safe,
            vec![
                TextEdit {
                    range: 0..3,
                    new_text: String::new(),
                },
                TextEdit {
                    range: 2..4,
                    new_text: String::new(),
                },
            ],
        );
        assert!(fix.disabled.is_some());
    }
}
