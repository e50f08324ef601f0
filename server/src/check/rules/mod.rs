//! Rules: pure functions from the plan model to findings, one rule per file
//! (plan-format §3). `<code>.rs` is the one source of its rule: `RULE`
//! (code, severity, summary, source, check), a doc comment that is its
//! page `docs/rules/<code>.md` (What it checks, Why it matters in okstra,
//! How to fix; the page's Example is written there by hand), its fix when
//! it has one, and unit tests. Its fixtures are under `fixtures/rules/<code>/`.
//! The pages and the rule tables of `docs/rules/README.md` and
//! `docs/plan-format.md` are generated from them:
//! `UPDATE_DOCS=1 cargo test --test fixtures rule_docs`.
//!
//! Invariant: rules speak byte ranges; only the outputs (CLI, LSP) turn them
//! into lines and columns. No rule panics on any plan.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::check::facts::{CycleEdge, DepGraph, Facts, Overlap};
use crate::check::fixes::{Fix, FixContext};
use crate::plan::config::Config;
use crate::plan::model::{Plan, Span};

// The registry is generated from the files of this folder by
// `UPDATE_DOCS=1 cargo test --test fixtures rule_docs` (a new file's rule
// goes at the end of `RULES`); the tidy test `tidy_rule_files_are_the_codes`
// fails until it is run. Do not edit between the markers.
// registry: modules
mod clarification_duplicate_id;
mod clarification_no_evidence;
mod clarification_no_recommendation;
mod clarification_not_blocking;
mod clarification_orphan_ref;
mod clarification_orphan_row;
mod depends_on_cycle;
mod depends_on_self;
mod depends_on_unknown;
mod document_too_large;
mod exit_contract_no_files;
mod majority_disagree_no_ref;
mod open_questions_block;
mod parallel_file_overlap;
mod s9_file_overlap;
mod s9_possible_overlap;
mod stage_duplicate;
mod stage_map_missing;
mod stage_map_row_invalid;
mod stage_missing_map_row;
mod stage_missing_section;
mod stage_missing_subsection;
mod step_count_mismatch;
mod step_table_columns;
mod steps_over_cap;
mod unused_suppression;
// /registry: modules
pub mod suppress;

/// Severities are settings too (`severityOverrides`), so they live with
/// the settings, below the rules.
pub use crate::plan::config::Severity;

/// One rule of plan-format §3.
pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    /// One line for the docs: the rule tables and the start of its page.
    pub summary: &'static str,
    /// Who requires it (plan-format §3's Source column): `okstra` (its
    /// validator or implementation-planning profile), `checker` (okstra-lsp
    /// adds it), or a mix with what the checker adds.
    pub source: &'static str,
    pub check: fn(&Context, &mut Vec<Finding>),
    /// What its findings depend on (an open document keeps them across an
    /// edit that changed none of it).
    pub reads: Reads,
    /// The repairs of a finding that carries a `FixHint`, best first (the
    /// rule's quick fixes; `fixes::repairs_for` calls it, and adds nothing
    /// but the preferred mark when there is one).
    pub fix: Option<Repair>,
}

/// What a rule reads besides the config and the text under what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// Any of the plan and its facts.
    Plan,
    /// Only the Stage Map, the depends-on graph and the stages' numbers and
    /// headings: a keystroke inside a stage's body, 4.5.9 or §5 leaves its
    /// findings as they were, moved.
    Map,
    /// Only 4.5.9, §5 and the Open Questions headings: a keystroke in a
    /// stage or the Stage Map leaves its findings as they were, moved.
    Review,
}

/// The findings of the rules an open document may keep across an edit
/// (`check_keeping`), by what they read, as the rules gave them (before
/// suppression, severities and bounds).
#[derive(Debug, Clone, Default)]
pub struct Kept {
    /// The `Reads::Plan` rules' findings (found on every analysis; kept to
    /// tell whether they changed).
    pub plan: Vec<Finding>,
    /// The `Reads::Map` rules' findings.
    pub map: Vec<Finding>,
    /// The `Reads::Review` rules' findings.
    pub review: Vec<Finding>,
}

/// What an open document keeps for `check_keeping`: each set already moved
/// across the edit, or None to find it again.
#[derive(Debug, Default)]
pub struct Keep {
    pub map: Option<Vec<Finding>>,
    pub review: Option<Vec<Finding>>,
    /// The last analysis's findings and its `Reads::Plan` rules' own, both
    /// moved across the edit, which left their order as it was: when those
    /// rules find what they found and the map and review findings are kept,
    /// these are the findings (no copy, sort or bound of hundreds again).
    pub last: Option<(Vec<Finding>, Vec<Finding>)>,
}

/// A rule's repairs for one of its findings' hints.
pub type Repair = fn(&FixContext, &FixHint) -> Vec<Fix>;

/// Every rule, in the order of plan-format §3.
pub(crate) const RULES: &[&Rule] = &[
    // registry: rules
    &stage_map_missing::RULE,
    &stage_map_row_invalid::RULE,
    &stage_duplicate::RULE,
    &stage_missing_section::RULE,
    &stage_missing_map_row::RULE,
    &stage_missing_subsection::RULE,
    &step_table_columns::RULE,
    &steps_over_cap::RULE,
    &step_count_mismatch::RULE,
    &depends_on_unknown::RULE,
    &depends_on_self::RULE,
    &depends_on_cycle::RULE,
    &s9_file_overlap::RULE,
    &s9_possible_overlap::RULE,
    &parallel_file_overlap::RULE,
    &exit_contract_no_files::RULE,
    &clarification_orphan_ref::RULE,
    &clarification_orphan_row::RULE,
    &majority_disagree_no_ref::RULE,
    &clarification_not_blocking::RULE,
    &clarification_duplicate_id::RULE,
    &clarification_no_evidence::RULE,
    &clarification_no_recommendation::RULE,
    &open_questions_block::RULE,
    // /registry: rules
];

pub use clarification_orphan_ref::add_clarification_row;
pub use depends_on_cycle::remove_dependency;
pub use parallel_file_overlap::overlap_code;
pub use step_count_mismatch::set_step_count;

/// Reported instead of analysis for documents over `Config::max_document_bytes`.
pub const DOCUMENT_TOO_LARGE: &str = document_too_large::RULE.code;

/// Reported by `suppress::apply` for a comment that silences nothing.
pub(crate) const UNUSED_SUPPRESSION: &str = unused_suppression::RULE.code;

pub(crate) use document_too_large::{
    PLAN_LABEL_LEN, looks_like_plan, plan_label, too_large, too_large_finding,
};

/// How many findings one rule reports per plan before the rest are counted
/// in one last finding (plan-format §3).
pub(crate) const MAX_PER_RULE: usize = 200;

/// How many related places one finding carries at most.
pub(crate) const MAX_RELATED: usize = 20;

/// Every rule okstra-lsp can report: `RULES`, then the two that are not
/// rules of the model (suppression comments and the size limit). Their
/// order is the order of the docs' tables.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    RULES
        .iter()
        .copied()
        .chain([&unused_suppression::RULE, &document_too_large::RULE])
}

pub fn rule(code: &str) -> Option<&'static Rule> {
    all().find(|r| r.code == code)
}

/// Every code okstra-lsp can report, in the order of `all`.
pub fn codes() -> impl Iterator<Item = &'static str> {
    all().map(|r| r.code)
}

pub(crate) fn is_code(code: &str) -> bool {
    codes().any(|c| c == code)
}

/// A problem found in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub range: Span,
    /// Shared: an open document keeps most findings across a keystroke
    /// (`check_keeping`), and a clone should not copy every message.
    pub message: Arc<str>,
    pub related: Vec<Related>,
    /// What a fix needs to know (travels in `Diagnostic.data`).
    pub fix: Option<FixHint>,
}

impl Finding {
    /// Its range, then its related ranges (what a diagnostic positions).
    pub(crate) fn spans(&self) -> impl Iterator<Item = &Span> {
        std::iter::once(&self.range).chain(self.related.iter().map(|r| &r.range))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    pub range: Span,
    pub message: Arc<str>,
}

impl crate::syntax::shift::Shift for Finding {
    fn shift(&mut self, e: &crate::syntax::shift::EditShift) {
        let Finding {
            code: _,
            severity: _,
            range,
            message: _,
            related,
            fix: _,
        } = self;
        range.shift(e);
        for r in related {
            r.range.shift(e);
        }
    }
}

/// The subject of a finding, for the code actions that repair it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FixHint {
    Overlap { a: u32, b: u32 },
    CycleEdge { from: u32, to: u32 },
    StepCount { stage: u32, counted: usize },
    OrphanRef { id: u32 },
    OverCap { stage: u32 },
}

/// What every rule may read: the plan and the facts derived from it once.
pub struct Context<'a> {
    pub src: &'a str,
    pub plan: &'a Plan,
    pub config: &'a Config,
    facts: Cow<'a, Facts>,
}

impl<'a> Context<'a> {
    pub fn new(src: &'a str, plan: &'a Plan, config: &'a Config) -> Context<'a> {
        Context {
            src,
            plan,
            config,
            facts: Cow::Owned(Facts::new(plan)),
        }
    }

    /// With facts an open document kept from earlier analyses.
    pub(crate) fn with_facts(
        src: &'a str,
        plan: &'a Plan,
        config: &'a Config,
        facts: &'a Facts,
    ) -> Context<'a> {
        Context {
            src,
            plan,
            config,
            facts: Cow::Borrowed(facts),
        }
    }

    pub fn graph(&self) -> &DepGraph {
        &self.facts.graph
    }

    pub fn cycles(&self) -> &[CycleEdge] {
        &self.facts.cycles
    }

    pub fn text(&self, span: &Span) -> &'a str {
        self.src.get(span.clone()).unwrap_or("")
    }

    pub fn overlaps(&self) -> &[Overlap] {
        &self.facts.overlaps
    }

    /// The rows of the §5 table (none without one).
    pub(crate) fn clarification_rows(&self) -> &'a [crate::plan::model::Clarification] {
        self.plan
            .clarifications
            .as_ref()
            .and_then(|c| c.table.as_ref())
            .map_or(&[], |t| &t.rows)
    }

    /// Where a stage is best pointed at: its heading, else its map row.
    pub(crate) fn stage_anchor(&self, n: u32) -> Option<Span> {
        self.plan
            .stage(n)
            .map(|s| s.heading.clone())
            .or_else(|| self.plan.map_row(n).map(|r| r.range.clone()))
    }
}

/// Stage `n`'s depends-on is readable and empty (`(none)`).
pub(crate) fn is_root(plan: &Plan, n: u32) -> bool {
    plan.map_row(n).is_some_and(
        |r| matches!(&r.depends_on, crate::plan::model::Field::Ok(v, _) if v.is_empty()),
    )
}

/// Runs every rule. Non-plans get nothing (plan-format §1) except
/// `stage-map-missing`; configured severities apply; findings come sorted.
pub fn check(src: &str, plan: &Plan, config: &Config) -> Vec<Finding> {
    if !plan.is_plan() {
        return check_with(src, plan, config, &Facts::default());
    }
    check_with(src, plan, config, &Facts::new(plan))
}

/// `check` with precomputed facts (they must be those of `plan`).
pub fn check_with(src: &str, plan: &Plan, config: &Config, facts: &Facts) -> Vec<Finding> {
    check_in(src, plan, config, facts, suppress::present(src))
}

/// `check_with` for a caller that knows whether the text holds a
/// suppression comment (`suppress::present`): an open document follows that
/// edit by edit instead of searching its whole text on every keystroke.
pub fn check_in(
    src: &str,
    plan: &Plan,
    config: &Config,
    facts: &Facts,
    directives: bool,
) -> Vec<Finding> {
    check_keeping(src, plan, config, facts, directives, Keep::default()).findings
}

/// What `check_keeping` found, and what to keep for the next edit.
#[derive(Debug)]
pub struct Checked {
    pub findings: Vec<Finding>,
    pub kept: Kept,
    /// `findings` are `Keep::last`: nothing found changed.
    pub moved: bool,
}

/// `check_in` for an open document: the findings of the `Reads::Map` and
/// `Reads::Review` rules are kept (already moved across the edit) when the
/// edit changed nothing they read, else found again. Returns the findings
/// and those rules' own findings, for the next edit.
pub fn check_keeping(
    src: &str,
    plan: &Plan,
    config: &Config,
    facts: &Facts,
    directives: bool,
    keep: Keep,
) -> Checked {
    let ctx = Context::with_facts(src, plan, config, facts);
    let mut out = Vec::new();
    let mut kept = Kept::default();
    if !plan.is_plan() {
        (stage_map_missing::RULE.check)(&ctx, &mut out);
    } else {
        for rule in RULES.iter().filter(|r| r.reads == Reads::Plan) {
            (rule.check)(&ctx, &mut kept.plan);
        }
        // Suppression comments apply by position: with one in the text,
        // the findings go through `finish` again.
        let all_kept = keep.map.is_some() && keep.review.is_some() && !directives;
        let found = |reads: Reads, keep: Option<Vec<Finding>>| {
            keep.unwrap_or_else(|| {
                let mut found = Vec::new();
                for rule in RULES.iter().filter(|r| r.reads == reads) {
                    (rule.check)(&ctx, &mut found);
                }
                found
            })
        };
        kept.map = found(Reads::Map, keep.map);
        kept.review = found(Reads::Review, keep.review);
        if let Some((last, plan)) = keep.last
            && all_kept
            && plan == kept.plan
        {
            return Checked {
                findings: last,
                kept,
                moved: true,
            };
        }
        out.extend(
            kept.plan
                .iter()
                .chain(&kept.map)
                .chain(&kept.review)
                .cloned(),
        );
    }
    Checked {
        findings: finish(src, plan, config, directives, out),
        kept,
        moved: false,
    }
}

/// Suppression comments, configured severities, order and bounds.
fn finish(
    src: &str,
    plan: &Plan,
    config: &Config,
    directives: bool,
    mut out: Vec<Finding>,
) -> Vec<Finding> {
    if directives {
        suppress::apply(src, &mut out, plan.is_plan());
    }
    apply_overrides(&mut out, config);
    out.sort_by(|a, b| {
        (a.range.start, a.range.end, a.code).cmp(&(b.range.start, b.range.end, b.code))
    });
    bound(&mut out);
    out
}

/// Bounded output (plan-format §3): at most `MAX_PER_RULE` findings per code,
/// then one more on the first left out that says how many were; at most
/// `MAX_RELATED` related places each. `out` is sorted and stays sorted.
fn bound(out: &mut Vec<Finding>) {
    for f in out.iter_mut() {
        f.related.truncate(MAX_RELATED);
    }
    if out.len() <= MAX_PER_RULE {
        return;
    }
    let mut totals = Counts::default();
    let mut over = false;
    for f in out.iter() {
        over |= totals.add(f.code) > MAX_PER_RULE;
    }
    if !over {
        return;
    }
    let mut seen = Counts::default();
    out.retain_mut(|f| {
        let n = seen.add(f.code);
        if n <= MAX_PER_RULE {
            return true;
        }
        if n > MAX_PER_RULE + 1 {
            return false;
        }
        let left_out = totals.get(f.code) - MAX_PER_RULE;
        f.message = Arc::from(format!(
            "{left_out} more `{}` finding(s) from here on are not shown: okstra-lsp reports at most {MAX_PER_RULE} per rule; fix the ones above first",
            f.code
        ));
        f.related.clear();
        f.fix = None;
        true
    });
}

/// Findings counted by code. Codes are few (one per rule) and each is its
/// rule's one static string: a short list searched by address first beats
/// hashing every code's bytes, which this did on every keystroke.
#[derive(Default)]
struct Counts(Vec<(&'static str, usize)>);

impl Counts {
    /// Counts one more `code`; returns its count.
    fn add(&mut self, code: &'static str) -> usize {
        let at = match self.0.iter().position(|(c, _)| same_code(c, code)) {
            Some(at) => at,
            None => {
                self.0.push((code, 0));
                self.0.len() - 1
            }
        };
        self.0[at].1 += 1;
        self.0[at].1
    }

    fn get(&self, code: &str) -> usize {
        self.0
            .iter()
            .find(|(c, _)| same_code(c, code))
            .map_or(0, |(_, n)| *n)
    }
}

fn same_code(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

fn apply_overrides(out: &mut Vec<Finding>, config: &Config) {
    if config.severity_overrides.is_empty() {
        return;
    }
    out.retain_mut(|f| match config.severity_overrides.get(f.code) {
        None => true,
        Some(o) => match o.severity() {
            Some(s) => {
                f.severity = s;
                true
            }
            None => false,
        },
    });
}

/// A finding with the rule's default severity and no related places.
pub(crate) fn finding(rule: &Rule, range: Span, message: String) -> Finding {
    finding_with(rule.code, rule.severity, range, message)
}

pub(crate) fn finding_with(
    code: &'static str,
    severity: Severity,
    range: Span,
    message: String,
) -> Finding {
    Finding {
        code,
        severity,
        range,
        message: message.into(),
        related: Vec::new(),
        fix: None,
    }
}

pub(crate) fn related(range: Span, message: impl Into<String>) -> Related {
    Related {
        range,
        message: message.into().into(),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Runs one rule on `src`; returns (code, text at range, message).
    pub fn run(rule: &Rule, src: &str) -> Vec<(String, String)> {
        let config = Config::default();
        let plan = crate::plan::model::parse(src, &config);
        let ctx = Context::new(src, &plan, &config);
        let mut out = Vec::new();
        (rule.check)(&ctx, &mut out);
        out.into_iter()
            .map(|f| (src[f.range.clone()].to_string(), f.message.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::generate::{self, Spec};

    /// Over `MAX_PER_RULE` findings of one code: the first ones in document
    /// order are shown, then one that counts the rest; other codes keep all
    /// of theirs.
    #[test]
    fn output_is_bounded_per_rule() {
        let config = Config::default();
        let over = MAX_PER_RULE + 30;
        let src = generate::plan(&Spec {
            over_cap_every: 1,
            ..Spec::clean(over)
        });
        let plan = crate::plan::model::parse(&src, &config);
        let ctx = Context::new(&src, &plan, &config);
        let mut unbounded = Vec::new();
        (steps_over_cap::RULE.check)(&ctx, &mut unbounded);
        assert_eq!(unbounded.len(), over);
        let shown = check(&src, &plan, &config);
        let capped: Vec<&Finding> = shown
            .iter()
            .filter(|f| f.code == steps_over_cap::RULE.code)
            .collect();
        assert_eq!(capped.len(), MAX_PER_RULE + 1);
        for (f, g) in capped.iter().zip(&unbounded).take(MAX_PER_RULE) {
            assert_eq!((&f.range, &f.message), (&g.range, &g.message));
        }
        let last = capped[MAX_PER_RULE];
        assert_eq!(last.range, unbounded[MAX_PER_RULE].range);
        assert!(
            last.message
                .starts_with("30 more `steps-over-cap` finding(s)"),
            "{}",
            last.message
        );
        assert!(last.related.is_empty() && last.fix.is_none());
        // Another code under the bound is whole.
        let mut counts = Counts::default();
        for f in &shown {
            counts.add(f.code);
        }
        let mut mismatch = Vec::new();
        (step_count_mismatch::RULE.check)(&ctx, &mut mismatch);
        assert!(mismatch.len() <= MAX_PER_RULE);
        assert_eq!(counts.get(step_count_mismatch::RULE.code), mismatch.len());
    }
}
