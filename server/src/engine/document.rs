//! An open document: its text, outline and plan model, kept up to date edit
//! by edit.
//!
//! The outline is kept chunk by chunk (`outline::Outline`): an edit parses
//! again only the chunks (sections between headings) it touched. The model is
//! then updated by re-deriving only the part of the plan the edit landed in
//! (one stage section, the Stage Map, 4.5.9 or §5) from the outline's blocks
//! in that part's byte range, and moving every other part across the
//! edit. Whatever could change the plan's structure (a heading touched or
//! created, a fence or HTML block swallowing what follows) falls back to a
//! full rebuild.
//!
//! Invariant: no LSP types here; edits arrive as byte ranges (the LSP layer
//! converts positions with `position`). Any edit is accepted: ranges are
//! clamped to the text and to character boundaries, never a panic.

use std::ops::Range;

use ropey::Rope;

use crate::check::facts::Facts;
use crate::check::rules::{self, Finding, Keep, Kept, suppress};
use crate::plan::config::Config;
use crate::plan::model::{self, Part, Plan, Span, Spliced};
use crate::plan::shift::{EditShift, Shift};
use crate::syntax::outline::{Outline, Reparse};
use crate::syntax::{Block, Row, floor_char_boundary};

/// What the last `reanalyze` re-derived (tests assert the incremental path
/// stays bounded; benchmarks report it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Stage sections built from their blocks.
    pub stages_rederived: usize,
    /// Stage Map rows read again alone (a keystroke inside one).
    pub map_rows_rederived: usize,
    /// The 4.5.9/§5 rules' findings were kept, not found again.
    pub review_kept: bool,
    /// The Stage Map rules' findings were kept, not found again.
    pub map_kept: bool,
    /// The findings are the last analysis's, moved: nothing found changed.
    pub findings_moved: bool,
    /// Whether the whole model was rebuilt.
    pub full_rebuild: bool,
    /// Bytes of text parsed again since the previous analysis.
    pub bytes_reparsed: usize,
    /// Outline chunks parsed again since the previous analysis.
    pub chunks_reparsed: usize,
}

/// Edits since the last analysis.
#[derive(Debug, Clone)]
enum Pending {
    Nothing,
    /// One edit, and whether it touched a heading.
    One {
        edit: EditShift,
        heading: bool,
        /// How many lines it added (negative: removed).
        lines: isize,
        /// The table row it stayed inside, read again (`Outline::edit_row`).
        row: Option<Row>,
    },
    Many,
}

pub struct Document {
    text: String,
    rope: Rope,
    outline: Outline,
    /// What the edits since the last analysis parsed again.
    reparsed: Reparse,
    /// Every heading of the document (plan headings or not), in order: the
    /// skeleton an edit must leave intact for the fast path.
    headings: Vec<Span>,
    plan: Plan,
    /// The depends-on graph and overlaps of `plan`, refreshed only when the
    /// part they come from changed.
    facts: Facts,
    findings: Vec<Finding>,
    /// The `Reads::Map` and `Reads::Review` rules' own findings
    /// (`rules::check_keeping`), kept while edits change nothing they read.
    kept: Kept,
    /// The last update re-derived no part the `Reads::Review` rules read.
    review_unchanged: bool,
    /// The last update re-derived no part the `Reads::Map` rules read.
    map_unchanged: bool,
    pending: Pending,
    analysed_with: Option<Config>,
    stats: Stats,
    /// Analyses so far (`reanalyze` calls).
    generation: u64,
    /// The text change since the analysis before the last one, when it was
    /// one edit (or none: an empty edit).
    followed: Option<TextEdit>,
    /// The outline does not follow the text: the text was over the size
    /// limit, so it was not parsed (plan-format §1); edits then cost only the
    /// text and rope, and the first analysis under the limit parses anew.
    outline_stale: bool,
    /// The size limit of the last analysis.
    max_bytes: usize,
    /// Whether the text names the suppression prefix: None when an edit may
    /// have removed one (searched again at the next analysis).
    directives: Option<bool>,
    /// Whether the last analysis's text named it (its findings went through
    /// the suppression comments, so they cannot simply be moved).
    analysed_directives: bool,
    /// Over the limit: where the text names a Stage Map, kept edit by edit
    /// so a keystroke does not scan 16 MiB (plan-format §1).
    label: Label,
}

/// The one edit between two analyses, as the LSP layer needs it to move
/// what it converted for the previous analysis (`lsp::published`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextEdit {
    pub shift: EditShift,
    /// Lines added (negative: removed): every line after the edit's last
    /// one moved by this much.
    pub lines: isize,
}

/// A plan label (`rules::plan_label`) in an over-size text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    /// Not looked for since the text went over the limit or lost the one
    /// it had.
    Unknown,
    At(usize),
    Absent,
}

impl Document {
    pub fn new(text: String, config: &Config) -> Document {
        let rope = Rope::from_str(&text);
        // A document over the size limit is not parsed at all.
        let oversized = text.len() > config.max_document_bytes;
        let outline = Outline::parse(if oversized { "" } else { &text });
        let reparsed = Reparse {
            bytes: if oversized { 0 } else { text.len() },
            chunks: outline.chunk_count(),
        };
        let mut doc = Document {
            text,
            rope,
            outline,
            reparsed,
            headings: Vec::new(),
            plan: Plan::default(),
            facts: Facts::default(),
            findings: Vec::new(),
            kept: Kept::default(),
            review_unchanged: false,
            map_unchanged: false,
            pending: Pending::Many,
            analysed_with: None,
            stats: Stats::default(),
            generation: 0,
            followed: None,
            outline_stale: oversized,
            max_bytes: config.max_document_bytes,
            label: Label::Unknown,
            directives: None,
            analysed_directives: true,
        };
        doc.reanalyze(config);
        doc
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    /// The outline (blocks and chunks) the model was built from.
    pub fn outline(&self) -> &Outline {
        &self.outline
    }

    /// The depends-on graph and overlaps of `plan`.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The document's headings as the fast paths see them (tests compare
    /// them with a fresh outline's).
    pub fn headings(&self) -> &[Span] {
        &self.headings
    }

    /// How many analyses there have been: findings are those of this one.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The text change between the previous analysis and the last one, when
    /// it was a single edit (an empty one when the text did not change).
    pub fn followed(&self) -> Option<TextEdit> {
        self.followed
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Replaces `range` with `new_text` and parses again the outline chunks
    /// it touched. Call `reanalyze` once after a batch of edits.
    pub fn edit(&mut self, range: Range<usize>, new_text: &str) {
        let start = floor_char_boundary(&self.text, range.start);
        let end = floor_char_boundary(&self.text, range.end).max(start);
        if start == end && new_text.is_empty() {
            return;
        }
        // Did the edit touch a heading (its line, or the line break after
        // it)? A heading in a list item or block quote starts after the
        // container's marker: an edit before it on its line counts too.
        let first = self.headings.partition_point(|h| h.end < start);
        let line_end = memchr::memchr(b'\n', &self.text.as_bytes()[end..])
            .map_or(self.text.len(), |i| end + i);
        let heading = self
            .headings
            .get(first)
            .is_some_and(|h| h.start <= (end + 1).max(line_end));

        let lines_before = self.rope.len_lines() as isize;
        let start_char = self.rope.byte_to_char(start);
        let end_char = self.rope.byte_to_char(end);
        self.rope.remove(start_char..end_char);
        self.rope.insert(start_char, new_text);
        // What a keystroke in a table cell replaced (`Outline::edit_row`).
        let removed = if end - start <= 64 {
            self.text[start..end].to_string()
        } else {
            "\n".to_string()
        };
        self.text.replace_range(start..end, new_text);

        let new_end = start + new_text.len();
        // A text without a suppression comment gains one only around the
        // edit; one with a comment may have lost it.
        self.directives = match self.directives {
            Some(false) => Some(suppress::appeared(&self.text, start, new_end)),
            _ => None,
        };
        let edit = EditShift {
            start,
            old_end: end,
            new_end,
        };
        let lines = self.rope.len_lines() as isize - lines_before;
        if self.outline_stale || self.text.len() > self.max_bytes {
            // Over the limit: no parse, so an edit costs O(edit) (the rope's,
            // the label's and the text's move).
            self.outline_stale = true;
            self.pending = Pending::Many;
            self.label = self.label_after(&edit);
            return;
        }
        self.label = Label::Unknown;
        let row = match heading {
            false => self.outline.edit_row(&self.text, &edit, &removed),
            true => None,
        };
        match &row {
            Some(row) => self.reparsed.bytes += row.range.len(),
            None => {
                let r = self.outline.edit(&self.text, &edit);
                self.reparsed.bytes += r.bytes;
                self.reparsed.chunks += r.chunks;
            }
        }
        // A heading that started inside the replaced text would keep its
        // start (`EditShift::start`) while the ones after it move back: the
        // list would fall out of order. The edit touched it, so the path it
        // takes reads the headings around it again.
        let from = self.headings.partition_point(|h| h.start <= start);
        let to = self.headings.partition_point(|h| h.start < end).max(from);
        self.headings.drain(from..to);
        // Those ending before the edit do not move (`first <= from`: the
        // drain left them where they were).
        for h in &mut self.headings[first..] {
            h.shift(&edit);
        }
        self.pending = match self.pending {
            Pending::Nothing => Pending::One {
                edit,
                heading,
                lines,
                row,
            },
            _ => Pending::Many,
        };
    }

    /// Where the plan label is after `e`, looking only around the edit.
    fn label_after(&self, e: &EditShift) -> Label {
        let len = rules::PLAN_LABEL_LEN;
        match self.label {
            Label::Unknown => Label::Unknown,
            // The edit touched the label: look again at the next analysis.
            Label::At(p) if e.start < p + len && e.old_end > p => Label::Unknown,
            Label::At(p) if p >= e.old_end => Label::At(p - e.old_end + e.new_end),
            Label::At(p) => Label::At(p),
            Label::Absent => {
                // Only a label that overlaps the new text can be new.
                let from = floor_char_boundary(&self.text, e.start.saturating_sub(len));
                let mut to = (e.new_end + len).min(self.text.len());
                while !self.text.is_char_boundary(to) {
                    to += 1;
                }
                match self.text.get(from..to).and_then(rules::plan_label) {
                    Some(i) => Label::At(from + i),
                    None => Label::Absent,
                }
            }
        }
    }

    /// Replaces the whole text by the smallest equivalent edit (common prefix
    /// and suffix kept), so full-text syncs reparse incrementally too.
    pub fn replace_all(&mut self, new_text: &str) {
        let (start, old_end, new_end) = diff_bounds(&self.text, new_text);
        if start == old_end && start == new_end {
            return;
        }
        let replacement = new_text[start..new_end].to_string();
        self.edit(start..old_end, &replacement);
    }

    /// Brings the model and findings up to date: the fast path when one edit
    /// left the document's headings alone, else a full rebuild. The rules
    /// then run on the whole model (with the kept facts).
    pub fn reanalyze(&mut self, config: &Config) {
        let pending = std::mem::replace(&mut self.pending, Pending::Nothing);
        self.generation += 1;
        self.followed = match &pending {
            Pending::One { edit, lines, .. } => Some(TextEdit {
                shift: *edit,
                lines: *lines,
            }),
            Pending::Nothing => {
                let end = self.text.len();
                Some(TextEdit {
                    shift: EditShift {
                        start: end,
                        old_end: end,
                        new_end: end,
                    },
                    lines: 0,
                })
            }
            Pending::Many => None,
        };
        let reparsed = std::mem::take(&mut self.reparsed);
        self.stats = Stats {
            bytes_reparsed: reparsed.bytes,
            chunks_reparsed: reparsed.chunks,
            ..Stats::default()
        };
        self.max_bytes = config.max_document_bytes;
        if self.text.len() > config.max_document_bytes {
            self.plan = Plan::default();
            self.facts = Facts::default();
            self.headings.clear();
            if self.label == Label::Unknown {
                self.label = rules::plan_label(&self.text).map_or(Label::Absent, Label::At);
            }
            self.findings = rules::too_large_finding(
                self.text.len(),
                matches!(self.label, Label::At(_)),
                config,
            );
            self.analysed_with = None;
            return;
        }
        if self.outline_stale {
            self.outline = Outline::parse(&self.text);
            self.outline_stale = false;
            self.stats.bytes_reparsed = self.text.len();
            self.stats.chunks_reparsed = self.outline.chunk_count();
        }
        let same_config = self.analysed_with.as_ref() == Some(config);
        self.review_unchanged = false;
        self.map_unchanged = false;
        let one_edit = match &pending {
            Pending::One { edit, .. } => Some(*edit),
            _ => None,
        };
        let updated = match pending {
            Pending::One {
                edit,
                heading: false,
                row,
                ..
            } if same_config => {
                // A heading the edit made (a `#` typed back) is found by
                // `update_part`, which then leaves it to `update_stages`.
                self.update_row(&edit, row.as_ref())
                    || self.update_part(&edit, config)
                    || self.update_stages(&edit, config)
            }
            Pending::One {
                edit,
                heading: true,
                ..
            } if same_config => self.update_stages(&edit, config),
            Pending::Nothing => same_config,
            _ => false,
        };
        if !updated {
            self.outline.settle();
            let blocks = self.outline.blocks();
            self.headings = blocks
                .clone()
                .filter_map(|b| match b {
                    Block::Heading(h) => Some(h.range.clone()),
                    _ => None,
                })
                .collect();
            self.plan = model::build_from_outline(&self.text, blocks, config);
            self.facts = Facts::new(&self.plan);
            self.stats.full_rebuild = true;
            self.stats.stages_rederived = self.plan.stages.len();
        }
        self.analysed_with = Some(config.clone());
        let directives = *self
            .directives
            .get_or_insert_with(|| suppress::present(&self.text));
        // The map and review rules' findings, moved across the one edit,
        // when it re-derived nothing they read.
        let mut keep = Keep::default();
        if let Some(edit) = one_edit.filter(|_| updated) {
            let moved = |unchanged: bool, found: &mut Vec<Finding>| {
                unchanged.then(|| {
                    let mut kept = std::mem::take(found);
                    kept.shift(&edit);
                    kept
                })
            };
            keep.map = moved(self.map_unchanged, &mut self.kept.map);
            keep.review = moved(self.review_unchanged, &mut self.kept.review);
            if keep.map.is_some() && keep.review.is_some() && !self.analysed_directives {
                let mut last = std::mem::take(&mut self.findings);
                if shift_in_order(&mut last, &edit) {
                    let mut plan = std::mem::take(&mut self.kept.plan);
                    plan.shift(&edit);
                    keep.last = Some((last, plan));
                }
            }
        }
        self.stats.map_kept = keep.map.is_some();
        self.stats.review_kept = keep.review.is_some();
        let checked = rules::check_keeping(
            &self.text,
            &self.plan,
            config,
            &self.facts,
            directives,
            keep,
        );
        (self.findings, self.kept) = (checked.findings, checked.kept);
        self.analysed_directives = directives;
        self.stats.findings_moved = checked.moved;
    }

    /// The fast path for a keystroke inside one Stage Map row (`row`, read
    /// again by the outline): that row is re-derived, and the depends-on
    /// graph only when its number or depends-on changed.
    fn update_row(&mut self, e: &EditShift, row: Option<&Row>) -> bool {
        let Some(row) = row else {
            return false;
        };
        let old = e.start..e.old_end.max(e.start);
        if self.plan.part_at(&old) != Some(Part::Map) {
            return false;
        }
        let Some(Spliced::MapRow { graph_changed }) = self.plan.splice_map_row(e, row, &self.text)
        else {
            return false;
        };
        self.stats.map_rows_rederived = 1;
        if graph_changed {
            self.facts.refresh_graph(&self.plan);
        }
        self.review_unchanged = true;
        true
    }

    /// The fast path for an edit that touched a heading: the stages around
    /// it are re-derived (`Plan::splice_stages`). False when that cannot
    /// stand for a whole build.
    fn update_stages(&mut self, e: &EditShift, config: &Config) -> bool {
        let outline = &self.outline;
        let spliced =
            self.plan
                .splice_stages(e, &self.text, |range| outline.blocks_in(range), config);
        let Some(Spliced::Stages {
            rederived,
            changed,
            run,
        }) = spliced
        else {
            return false;
        };
        self.stats.stages_rederived = rederived;
        if changed {
            self.facts.refresh_overlaps(&self.plan);
        }
        // The run held stage sections only.
        self.review_unchanged = true;
        // The headings inside the run, as the outline now has them.
        let from = self.headings.partition_point(|h| h.start < run.start);
        let to = self.headings.partition_point(|h| h.start < run.end);
        let now: Vec<Span> = self
            .outline
            .blocks_in(run)
            .into_iter()
            .filter_map(|b| match b {
                Block::Heading(h) => Some(h.range),
                _ => None,
            })
            .collect();
        self.headings.splice(from..to, now);
        true
    }

    /// The fast path. False when the edit may have changed the plan's
    /// structure, or does not fit in one part.
    fn update_part(&mut self, e: &EditShift, config: &Config) -> bool {
        // The lines the edit spans, in the new text.
        let line_start = self.text[..e.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[e.new_end..]
            .find('\n')
            .map_or(self.text.len(), |i| e.new_end + i + 1);
        // The next heading must still be where it was, and nothing between
        // the edit and it may have become a heading (an opened or closed
        // code fence or HTML block changes everything after it).
        let next = self.headings.partition_point(|h| h.start < line_end);
        let gap_end = self.headings.get(next).map_or(self.text.len(), |h| h.start);
        let mut region = line_start.min(gap_end)..gap_end.max(line_start);
        if let Some(s) = self.outline.block_start_before(region.start) {
            region.start = region.start.min(s);
        }
        let around = self.outline.blocks_in(region);
        if around.iter().any(|b| matches!(b, Block::Heading(_))) {
            return false;
        }
        if let Some(h) = self.headings.get(next) {
            let at = self.outline.blocks_in(h.start..h.start + 1);
            if !matches!(at.first(), Some(Block::Heading(x)) if x.range == *h) {
                return false;
            }
        }
        let old = e.start..(e.old_end).max(e.start);
        // Which part holds the edit, where it ends and how it is re-derived
        // are the model's to say (`Plan::part_at`, `Plan::splice`).
        let Some(part) = self.plan.part_at(&old) else {
            // Outside every part: only text that holds no block is harmless
            // (a table or list there might be read by an enclosing scope).
            let after_last = self
                .plan
                .stages
                .last()
                .is_some_and(|s| e.start >= s.section.end);
            // A repeated 4.5.9 or §5 heading: what is here may be read by
            // the first one (`Plan::review_repeats`). An edit that removed
            // the end of a part (a stage section ends at its last non-blank
            // byte: a delete from its last item to the end of the text) is
            // in no part but changed one.
            let overlaps = |span: Span| span.start < old.end && old.start < span.end;
            let k = self
                .plan
                .stages
                .partition_point(|s| s.section.end <= old.start);
            let cut_a_part = self
                .plan
                .stages
                .get(k)
                .is_some_and(|s| overlaps(s.section.clone()))
                || [Part::Map, Part::Verification, Part::Clarifications]
                    .into_iter()
                    .filter_map(|p| self.plan.part_scope(p))
                    .any(overlaps);
            if !around.is_empty()
                || after_last
                || cut_a_part
                || !self.plan.review_repeats.is_empty()
            {
                return false;
            }
            self.plan.shift_except(e, None, &self.text);
            self.review_unchanged = true;
            self.map_unchanged = true;
            return true;
        };
        let outline = &self.outline;
        match self.plan.splice(
            part,
            e,
            &self.text,
            |range| outline.blocks_in(range),
            config,
        ) {
            None => false,
            Some(Spliced::Stage { paths_changed, .. }) => {
                self.stats.stages_rederived = 1;
                if paths_changed {
                    self.facts.refresh_overlaps(&self.plan);
                }
                // The stage's number and heading stay: an edit that touched
                // a heading goes to `update_stages`.
                self.review_unchanged = true;
                self.map_unchanged = true;
                true
            }
            Some(Spliced::Map) => {
                self.facts.refresh_graph(&self.plan);
                self.review_unchanged = true;
                true
            }
            // 4.5.9 or §5.
            Some(Spliced::Other) => {
                self.map_unchanged = true;
                true
            }
            // `splice` re-derives one part only.
            Some(Spliced::Stages { .. } | Spliced::MapRow { .. }) => false,
        }
    }
}

/// The byte bounds of the difference between `old` and `new`: the common
/// prefix ends at `start`; `old[start..old_end]` became `new[start..new_end]`.
pub(crate) fn diff_bounds(old: &str, new: &str) -> (usize, usize, usize) {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let mut start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    while start > 0 && !(old.is_char_boundary(start) && new.is_char_boundary(start)) {
        start -= 1;
    }
    let max_suffix = a.len().min(b.len()) - start;
    let mut suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    while suffix > 0
        && !(old.is_char_boundary(a.len() - suffix) && new.is_char_boundary(b.len() - suffix))
    {
        suffix -= 1;
    }
    (start, a.len() - suffix, b.len() - suffix)
}

/// Moves `findings` across `e` unless that could change their order (a
/// range starting or ending inside the replaced text stays where it is
/// while those after it move back over it): false then, `findings` left
/// as they were.
fn shift_in_order(findings: &mut [Finding], e: &EditShift) -> bool {
    let inside = |p: usize| e.start <= p && p < e.old_end;
    if findings
        .iter()
        .any(|f| inside(f.range.start) || inside(f.range.end))
    {
        return false;
    }
    for f in findings.iter_mut() {
        f.shift(e);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_bounds_respects_characters() {
        assert_eq!(diff_bounds("abc", "abc"), (3, 3, 3));
        assert_eq!(diff_bounds("abXc", "abYc"), (2, 3, 3));
        assert_eq!(diff_bounds("aa", "aaa"), (2, 2, 3));
        // "가" (EA B0 80) and "각" (EA B0 81) share two bytes: the edit must
        // still cover the whole character.
        let (s, oe, ne) = diff_bounds("x가y", "x각y");
        assert_eq!((s, oe, ne), (1, 4, 4));
    }

    #[test]
    fn edits_match_a_fresh_parse() {
        let config = Config::default();
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/plans/valid-nested.md"
        ))
        .unwrap_or_else(|_| "## Stage Map\n".to_string());
        let mut doc = Document::new(text.clone(), &config);
        let at = text.find("| 3 |").unwrap_or(0);
        doc.edit(at + 2..at + 3, "4");
        doc.reanalyze(&config);
        assert_eq!(
            doc.findings(),
            crate::analyze(doc.text(), &config).as_slice()
        );
        assert!(
            doc.findings()
                .iter()
                .any(|f| f.code == "step-count-mismatch")
        );
        doc.replace_all(&text);
        doc.reanalyze(&config);
        assert!(doc.findings().is_empty());
        assert_eq!(
            doc.outline().to_vec(),
            crate::syntax::outline(&crate::syntax::parse_blocks(&text, None), &text)
        );
    }

    #[test]
    fn out_of_range_and_mid_character_edits_are_clamped() {
        let config = Config::default();
        let mut doc = Document::new("가나".to_string(), &config);
        doc.edit(1..2, "x");
        assert_eq!(doc.text(), "x가나");
        doc.edit(100..200, "!");
        assert!(doc.text().ends_with('!'));
        assert_eq!(doc.rope().to_string(), doc.text());
    }

    /// The reachability closure is built once per change of the depends-on
    /// graph: not for an edit in a stage, nor for a title or step count in
    /// the Stage Map; once for a depends-on edit; findings stay a fresh
    /// analysis's throughout.
    #[test]
    fn closure_is_rebuilt_only_when_the_graph_changes() {
        use crate::check::facts::closures_built;
        use crate::engine::generate::{self, Spec};
        let config = Config::default();
        let text = generate::plan(&Spec {
            overlap_every: 3,
            ..Spec::clean(30)
        });
        let mut doc = Document::new(text.clone(), &config);
        let edit = |doc: &mut Document, needle: &str, offset: usize, new: &str| {
            let at = doc.text().find(needle).expect("needle") + offset;
            doc.edit(at..at + 1, new);
            let before = closures_built();
            doc.reanalyze(&config);
            let built = closures_built() - before;
            assert_eq!(
                doc.findings(),
                crate::analyze(doc.text(), &config).as_slice(),
                "{needle}"
            );
            built
        };
        // In a stage's predicted files, in a step table, in a Stage Map
        // title: no closure.
        assert_eq!(
            edit(
                &mut doc,
                "- Predicted added/modified files: `src/m7/",
                36,
                "x"
            ),
            0
        );
        assert_eq!(edit(&mut doc, "change part 1 of module 7 ", 0, "x"), 0);
        assert_eq!(edit(&mut doc, "| 9 | Stage title", 6, "Q"), 0);
        assert!(!doc.stats().full_rebuild);
        // A depends-on cell: one.
        let cell = doc
            .text()
            .find("| 19 | Stage title 19 | 18 |")
            .expect("row 19")
            + 23;
        doc.edit(cell..cell + 2, "10");
        let before = closures_built();
        doc.reanalyze(&config);
        assert_eq!(closures_built() - before, 1);
        assert_eq!(
            doc.findings(),
            crate::analyze(doc.text(), &config).as_slice()
        );
    }

    /// A keystroke in a Stage Map cell re-derives that row: no chunk is
    /// parsed, no stage, no other row; the graph only when the row's
    /// depends-on changed. Checked against a fresh build each time.
    #[test]
    fn a_stage_map_keystroke_rederives_that_row() {
        use crate::check::facts::closures_built;
        use crate::engine::generate::{self, Spec};
        let config = Config::default();
        let mut doc = Document::new(generate::plan(&Spec::clean(1000)), &config);
        let type_at =
            |doc: &mut Document, needle: &str, offset: usize, removed: usize, new: &str| {
                let at = doc.text().find(needle).expect("needle") + offset;
                doc.edit(at..at + removed, new);
                let before = closures_built();
                doc.reanalyze(&config);
                let built = closures_built() - before;
                let stats = doc.stats();
                assert_eq!(stats.map_rows_rederived, 1, "{needle}: {stats:?}");
                assert_eq!(stats.stages_rederived, 0, "{needle}: {stats:?}");
                assert!(!stats.full_rebuild, "{needle}: {stats:?}");
                assert_eq!(stats.chunks_reparsed, 0, "{needle}: {stats:?}");
                assert!(stats.bytes_reparsed < 100, "{needle}: {stats:?}");
                assert_eq!(
                    doc.plan(),
                    &crate::plan::model::parse(doc.text(), &config),
                    "{needle}"
                );
                assert_eq!(
                    doc.findings(),
                    crate::analyze(doc.text(), &config).as_slice(),
                    "{needle}"
                );
                built
            };
        // A title: the graph is kept.
        assert_eq!(
            type_at(&mut doc, "| 700 | Stage title 700 |", 10, 0, "y"),
            0
        );
        // Its steps: kept too.
        let steps = "| 701 | Stage title 701 | (none) | ";
        assert_eq!(type_at(&mut doc, steps, steps.len(), 1, "9"), 0);
        // Its depends-on: built again, once.
        let deps = "| 702 | Stage title 702 | ";
        assert_eq!(type_at(&mut doc, deps, deps.len(), 3, "650"), 1);
        // The number itself.
        assert_eq!(
            type_at(&mut doc, "| 703 | Stage title 703 |", 2, 3, "1703"),
            1
        );
        // At the very end of the last row (past its last pipe).
        let last = "| 1000 | Stage title 1000 |";
        let end = doc.text().find(last).expect("last row");
        let line = doc.text()[end..].find('\n').expect("line end");
        assert_eq!(type_at(&mut doc, last, line, 0, " z"), 0);
    }

    /// Found by the second review's stress test over the fixtures: one edit
    /// on a fresh document, then the model, findings and headings of a
    /// fresh parse.
    #[test]
    fn second_review_one_edit_cases() {
        let cases: &[(&str, usize, usize, &str)] = &[
            // A 4.5.9 heading between two stages un-made (`###4.5.9`): the
            // stage run was re-derived, the 4.5.9 part kept.
            (
                "### 4.5.1 Stage 1 — CSV writer\n### 4.5.9 Plan Body Verification\n### 4.5.3 Stage 3 — Admin docs\n",
                36,
                37,
                "",
            ),
            (
                "### 4.5.1 Stage 1 — OIDC client\n## Open Questions\n#\n## Stage 3: again\n",
                51,
                51,
                " 3",
            ),
            // A repeated 4.5.9: its table is the first one's once the first
            // table is broken.
            (
                "### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| a | b | c | d |\n## 5. Clarification Items\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| x | y | z | w |\n",
                86,
                86,
                "C",
            ),
            (
                "## 5. Clarification Items\n# Open Questions\n## 5. Clarification Items\n| ID | Kind | St<atement | Expected1 form | Blocks |\n|---|---|---|---|---|\n",
                136,
                136,
                "C",
            ),
            // A delete from a stage's last item to the end of the text.
            (
                "### 4.5.2 Stage 2 — Flag audit log\n#### Stage Validation\n- post: toggling a flag writes an audit row\n",
                59,
                103,
                "",
            ),
            // A delete from inside a stage's text into a subsection heading.
            (
                "###  4.5.2 Stage 2 — Extra cells\r\n- Predicted added/modified files: `src/b.rs`\r\n\r\n#### Stage Validation\r\n### 4.5.3 Stage 3 — No outer pipes\n",
                59,
                98,
                "",
            ),
            // A heading in a list item un-made by an edit before it.
            (
                "### Stage 12: Step Executio가n Or | expected |\n\n- #### Stage Exit Contract\n",
                49,
                49,
                "#",
            ),
        ];
        let config = Config::default();
        for (i, &(text, start, end, new)) in cases.iter().enumerate() {
            let mut doc = Document::new(text.to_string(), &config);
            doc.edit(start..end, new);
            doc.reanalyze(&config);
            let mut fresh = text.to_string();
            fresh.replace_range(start..end, new);
            assert_eq!(doc.text(), fresh);
            assert_eq!(doc.plan(), &model::parse(&fresh, &config), "case {i}");
            assert_eq!(
                doc.findings(),
                crate::analyze(&fresh, &config).as_slice(),
                "case {i}"
            );
            let headings: Vec<Span> =
                crate::syntax::outline(&crate::syntax::parse_blocks(&fresh, None), &fresh)
                    .into_iter()
                    .filter_map(|b| match b {
                        Block::Heading(h) => Some(h.range),
                        _ => None,
                    })
                    .collect();
            assert_eq!(doc.headings(), headings.as_slice(), "case {i}");
        }
    }

    /// Over the size limit the plan label is followed edit by edit, looking
    /// only around each edit: the finding is always what a scan of the
    /// whole text gives.
    #[test]
    fn over_the_limit_the_label_follows_the_edits() {
        let config = Config {
            max_document_bytes: 200,
            ..Config::default()
        };
        let pieces = [
            "Stage Map",
            "Stage",
            " Map",
            "S",
            "p",
            "stage map",
            "x",
            "\n",
            "가",
            "",
            "STAGE MAP",
        ];
        let mut rng = crate::engine::generate::Rng::new(5);
        for round in 0..300 {
            let mut text = "filler line\n".repeat(20 + rng.below(5));
            if rng.below(2) == 0 {
                let at = rng.below(text.len());
                text.insert_str(at, "Stage Map");
            }
            let mut doc = Document::new(text, &config);
            for step in 0..30 {
                let len = doc.text().len();
                let a = floor_char_boundary(doc.text(), rng.below(len + 1));
                let b = floor_char_boundary(doc.text(), (a + rng.below(12)).min(len));
                doc.edit(a..b, pieces[rng.below(pieces.len())]);
                doc.reanalyze(&config);
                let expected = if doc.text().len() > config.max_document_bytes {
                    rules::too_large(doc.text(), &config)
                } else {
                    crate::analyze(doc.text(), &config)
                };
                assert_eq!(
                    doc.findings(),
                    expected.as_slice(),
                    "round {round} step {step}"
                );
            }
        }
    }
}
