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

use crate::analysis::Facts;
use crate::config::Config;
use crate::model::{self, Plan, Span};
use crate::outline::{Outline, Reparse};
use crate::rules::{self, Finding};
use crate::shift::{EditShift, Shift};
use crate::syntax::Block;

/// What the last `reanalyze` re-derived (tests assert the incremental path
/// stays bounded; benchmarks report it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Stage sections built from their blocks.
    pub stages_rederived: usize,
    /// Whether the whole model was rebuilt.
    pub full_rebuild: bool,
    /// Bytes of text parsed again since the previous analysis.
    pub bytes_reparsed: usize,
    /// Outline chunks parsed again since the previous analysis.
    pub chunks_reparsed: usize,
}

/// Edits since the last analysis.
#[derive(Debug, Clone, Copy)]
enum Pending {
    Nothing,
    /// One edit, and whether it touched a heading.
    One {
        edit: EditShift,
        heading: bool,
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
    pending: Pending,
    analysed_with: Option<Config>,
    stats: Stats,
}

impl Document {
    pub fn new(text: String, config: &Config) -> Document {
        let rope = Rope::from_str(&text);
        let outline = Outline::parse(&text);
        let reparsed = Reparse {
            bytes: text.len(),
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
            pending: Pending::Many,
            analysed_with: None,
            stats: Stats::default(),
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

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Replaces `range` with `new_text` and parses again the outline chunks
    /// it touched. Call `reanalyze` once after a batch of edits.
    pub fn edit(&mut self, range: Range<usize>, new_text: &str) {
        let start = floor_char_boundary(&self.text, range.start.min(self.text.len()));
        let end = floor_char_boundary(&self.text, range.end.min(self.text.len())).max(start);
        if start == end && new_text.is_empty() {
            return;
        }
        // Did the edit touch a heading (its line, or the line break after it)?
        let first = self.headings.partition_point(|h| h.end < start);
        let heading = self.headings.get(first).is_some_and(|h| h.start <= end + 1);

        let start_char = self.rope.byte_to_char(start);
        let end_char = self.rope.byte_to_char(end);
        self.rope.remove(start_char..end_char);
        self.rope.insert(start_char, new_text);
        self.text.replace_range(start..end, new_text);

        let new_end = start + new_text.len();
        let edit = EditShift {
            start,
            old_end: end,
            new_end,
        };
        let r = self.outline.edit(&self.text, &edit);
        self.reparsed.bytes += r.bytes;
        self.reparsed.chunks += r.chunks;
        self.headings.shift(&edit);
        self.pending = match self.pending {
            Pending::Nothing => Pending::One { edit, heading },
            _ => Pending::Many,
        };
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
        let reparsed = std::mem::take(&mut self.reparsed);
        self.stats = Stats {
            bytes_reparsed: reparsed.bytes,
            chunks_reparsed: reparsed.chunks,
            ..Stats::default()
        };
        if self.text.len() > config.max_document_bytes {
            self.plan = Plan::default();
            self.facts = Facts::default();
            self.headings.clear();
            self.findings = rules::too_large(self.text.len(), config);
            self.analysed_with = None;
            return;
        }
        let same_config = self.analysed_with.as_ref() == Some(config);
        let updated = match pending {
            Pending::One {
                edit,
                heading: false,
            } if same_config => self.update_part(&edit, config),
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
        self.findings = rules::check_with(&self.text, &self.plan, config, &self.facts);
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
        let inside = |span: &Span| span.start < old.start && old.end <= span.end;
        // A part's scope runs to the next part's heading: headings that are
        // not plan headings (notes, a damaged stage heading) stay inside it,
        // as they do for `model::build_blocks`. Old coordinates.
        let scope_end = |start: usize| self.next_part_start(start).unwrap_or(self.text.len());
        let old_span =
            |start: usize| start..(scope_end(start) as isize - e.delta()).max(0) as usize;
        // Sections are in document order and do not overlap: the only one
        // that can hold the edit is the last to start before it.
        let part = self
            .plan
            .stages
            .partition_point(|s| s.section.start < old.start)
            .checked_sub(1)
            .filter(|&i| inside(&self.plan.stages[i].section))
            .map(Part::Stage);
        let part = part.or_else(|| {
            let m = self.plan.stage_map.as_ref()?;
            inside(&old_span(m.heading.start)).then_some(Part::Map)
        });
        let part = part.or_else(|| {
            let v = self.plan.verification.as_ref()?;
            inside(&old_span(v.heading.start)).then_some(Part::Verification)
        });
        let part = part.or_else(|| {
            let c = self.plan.clarifications.as_ref()?;
            inside(&old_span(c.heading.start)).then_some(Part::Clarifications)
        });
        let Some(part) = part else {
            // Outside every part: only text that holds no block is harmless
            // (a table or list there might be read by an enclosing scope).
            if !around.is_empty()
                || e.start
                    >= self
                        .plan
                        .stages
                        .last()
                        .map_or(usize::MAX, |s| s.section.end)
            {
                return false;
            }
            self.shift_plan(e, None);
            return true;
        };
        // The part's byte range in the new text: from its heading to the
        // next heading.
        let heading_start = match part {
            Part::Stage(i) => self.plan.stages[i].heading.start,
            Part::Map => self.plan.stage_map.as_ref().map_or(0, |m| m.heading.start),
            Part::Verification => self
                .plan
                .verification
                .as_ref()
                .map_or(0, |v| v.heading.start),
            Part::Clarifications => self
                .plan
                .clarifications
                .as_ref()
                .map_or(0, |c| c.heading.start),
        };
        let end = match part {
            Part::Stage(i) => {
                let mut end = self.plan.stages[i].section.end;
                e.end(&mut end);
                // A section never runs past the document's last non-blank
                // byte (as `model::parse` ends it); an edit at the end can
                // leave blanks there (found by cargo fuzz).
                end.min(model::trimmed_end(&self.text))
            }
            // The edit lies inside the part, so the next part's heading moved
            // by the edit's delta.
            _ => self
                .next_part_start(heading_start)
                .map_or(self.text.len(), |s| {
                    (s as isize + e.delta()).max(0) as usize
                }),
        };
        let blocks = self.outline.blocks_in(heading_start..end);
        let rebuilt = model::build_blocks(&self.text, &blocks, config, end);
        let only = |plan: &Plan| {
            plan.stages.len()
                + usize::from(plan.stage_map.is_some())
                + usize::from(plan.verification.is_some())
                + usize::from(plan.clarifications.is_some())
                + plan.open_questions.len()
                == 1
        };
        if !only(&rebuilt) {
            return false;
        }
        match part {
            Part::Stage(i) => {
                let Some(stage) = rebuilt.stages.into_iter().next() else {
                    return false;
                };
                if stage.number != self.plan.stages[i].number {
                    return false;
                }
                self.shift_plan(e, Some(part));
                let same_paths = {
                    let (old, new) = (self.plan.stages[i].predicted(), stage.predicted());
                    old.len() == new.len()
                        && old
                            .iter()
                            .zip(new)
                            .all(|(x, y)| x.path == y.path && x.kind == y.kind)
                };
                self.plan.stages[i] = stage;
                self.stats.stages_rederived = 1;
                if !same_paths {
                    self.facts.refresh_stage(&self.plan, i);
                }
            }
            Part::Map => {
                let Some(map) = rebuilt.stage_map else {
                    return false;
                };
                self.shift_plan(e, Some(part));
                self.plan.stage_map = Some(map);
                self.plan.reindex();
                self.facts.refresh_graph(&self.plan);
            }
            Part::Verification => {
                let Some(v) = rebuilt.verification else {
                    return false;
                };
                self.shift_plan(e, Some(part));
                self.plan.verification = Some(v);
            }
            Part::Clarifications => {
                let Some(c) = rebuilt.clarifications else {
                    return false;
                };
                self.shift_plan(e, Some(part));
                self.plan.clarifications = Some(c);
            }
        }
        true
    }

    /// Where the first plan part (a stage, the Stage Map, 4.5.9, §5, Open
    /// Questions) after `pos` begins, in the coordinates of the current
    /// model (not yet moved across a pending edit).
    fn next_part_start(&self, pos: usize) -> Option<usize> {
        let plan = &self.plan;
        let i = plan.stages.partition_point(|s| s.heading.start <= pos);
        let stage = plan.stages.get(i).map(|s| s.heading.start);
        [
            stage,
            plan.stage_map.as_ref().map(|m| m.heading.start),
            plan.verification.as_ref().map(|v| v.heading.start),
            plan.clarifications.as_ref().map(|c| c.heading.start),
        ]
        .into_iter()
        .flatten()
        .chain(plan.open_questions.iter().map(|q| q.start))
        .filter(|&s| s > pos)
        .min()
    }

    /// Moves every part of the plan but `except` across the edit.
    fn shift_plan(&mut self, e: &EditShift, except: Option<Part>) {
        let plan = &mut self.plan;
        // A Stage Map that ends before the edit does not move (its 1,000
        // rows need not be looked at).
        let map_end = plan.stage_map.as_ref().map_or(0, |m| {
            m.table
                .as_ref()
                .map_or(m.heading.end, |t| t.range.end.max(m.heading.end))
        });
        if except != Some(Part::Map) && map_end >= e.start {
            plan.stage_map.shift(e);
        }
        for (i, s) in plan.stages.iter_mut().enumerate() {
            if except != Some(Part::Stage(i)) && s.section.end >= e.start {
                s.shift(e);
            }
        }
        // A section that ran to the end of the document ends at its last
        // non-blank byte, as `model::parse` ends it, also when the edit cut
        // the end away (found by cargo fuzz).
        if let Some(last) = plan.stages.last_mut() {
            let end = model::trimmed_end(&self.text).max(last.section.start);
            last.section.end = last.section.end.min(end);
        }
        if except != Some(Part::Verification) {
            plan.verification.shift(e);
        }
        if except != Some(Part::Clarifications) {
            plan.clarifications.shift(e);
        }
        plan.open_questions.shift(e);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Map,
    Stage(usize),
    Verification,
    Clarifications,
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The byte bounds of the difference between `old` and `new`: the common
/// prefix ends at `start`; `old[start..old_end]` became `new[start..new_end]`.
pub fn diff_bounds(old: &str, new: &str) -> (usize, usize, usize) {
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
}
