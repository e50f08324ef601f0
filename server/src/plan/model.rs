//! The plan model: a typed reading of an okstra implementation plan
//! (`docs/plan-format.md` §1–§2), built from the syntax outline.
//!
//! Invariant: no LSP types, no I/O; every element keeps the byte range of the
//! text it came from, so a finding can point at the exact cell. Building a
//! model never fails: what cannot be read is kept as `Field::Invalid`.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::plan::config::Config;
use crate::plan::paths::collect_paths;
use crate::plan::shift::{EditShift, Shift};
use crate::syntax::{self, Block, Heading, List, ListItem, Row, Table};

pub(crate) type Span = Range<usize>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub stage_map: Option<StageMap>,
    /// Stage sections, in document order (duplicates kept).
    pub stages: Vec<Stage>,
    pub verification: Option<Verification>,
    pub clarifications: Option<Clarifications>,
    /// `Open Questions` headings (okstra wants them in §5 instead).
    pub open_questions: Vec<Span>,
    /// 4.5.9 and §5 headings after the first of their kind. The first one's
    /// scope is re-entered under them (its table may come from there, §5's
    /// content end reaches into them), so no part edit stands for a build
    /// while there are any.
    pub review_repeats: Vec<Span>,
    /// Stage number → index of its first map row / first section.
    index: Index,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Index {
    rows: NumberIndex,
    stages: NumberIndex,
}

/// Stage number → position of its first occurrence: a table for the small
/// numbers plans use (every rule looks stages up, on every keystroke), a map
/// for the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct NumberIndex {
    /// `dense[n]` is the position + 1 (0: none).
    dense: Vec<u32>,
    sparse: BTreeMap<u32, usize>,
}

impl NumberIndex {
    /// From (position, number) pairs in order; `count` bounds the numbers
    /// that go in the table.
    fn new(numbers: impl Iterator<Item = (usize, u32)>, count: usize) -> NumberIndex {
        let limit = count * 4 + 64;
        let mut index = NumberIndex::default();
        for (i, n) in numbers {
            match usize::try_from(n) {
                Ok(d) if d < limit => {
                    if index.dense.len() <= d {
                        index.dense.resize(d + 1, 0);
                    }
                    if index.dense[d] == 0 {
                        index.dense[d] = i as u32 + 1;
                    }
                }
                _ => {
                    index.sparse.entry(n).or_insert(i);
                }
            }
        }
        index
    }

    fn get(&self, n: u32) -> Option<usize> {
        match self.dense.get(n as usize) {
            Some(&0) => None,
            Some(&i) => Some(i as usize - 1),
            None => self.sparse.get(&n).copied(),
        }
    }
}

impl Plan {
    /// Whether the document is an implementation plan (has a Stage Map heading).
    pub fn is_plan(&self) -> bool {
        self.stage_map.is_some()
    }

    /// The Stage Map rows, or none.
    pub(crate) fn map_rows(&self) -> &[StageMapRow] {
        self.stage_map
            .as_ref()
            .and_then(|m| m.table.as_ref())
            .map_or(&[], |t| &t.rows)
    }

    /// The first Stage Map row for stage `n`.
    pub(crate) fn map_row(&self, n: u32) -> Option<&StageMapRow> {
        self.index.rows.get(n).and_then(|i| self.map_rows().get(i))
    }

    /// The first section of stage `n`.
    pub fn stage(&self, n: u32) -> Option<&Stage> {
        self.index.stages.get(n).and_then(|i| self.stages.get(i))
    }

    /// Rebuilds the number → position indexes (after building or editing).
    pub(crate) fn reindex(&mut self) {
        let rows = self.map_rows();
        self.index = Index {
            rows: NumberIndex::new(
                rows.iter()
                    .enumerate()
                    .filter_map(|(i, r)| r.stage.value().map(|&n| (i, n))),
                rows.len(),
            ),
            stages: NumberIndex::new(
                self.stages.iter().enumerate().map(|(i, s)| (i, s.number)),
                self.stages.len(),
            ),
        };
    }
}

/// A part of the plan: the unit an edit inside it re-derives. Its scope runs
/// from its heading to whatever ends it (a stage: `Stage::section`; the
/// others: the next part's heading), as `build_blocks` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Map,
    Stage(usize),
    Verification,
    Clarifications,
}

/// What `Plan::splice` replaced, so that a caller knows which derived facts
/// to refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spliced {
    /// A stage section; whether its predicted paths changed.
    Stage { index: usize, paths_changed: bool },
    /// A run of stage sections re-derived around a heading edit: how many
    /// sections it now holds, and whether the stages' numbers, order or
    /// predicted paths changed (the overlaps must be found again).
    Stages {
        rederived: usize,
        changed: bool,
        /// The run's byte range in the edited text.
        run: Span,
    },
    /// One Stage Map row; whether its stage number or depends-on changed
    /// (the graph may have).
    MapRow { graph_changed: bool },
    /// The Stage Map (the depends-on graph may have changed).
    Map,
    /// 4.5.9 or §5.
    Other,
}

impl Plan {
    /// Sets the scope of the Stage Map, 4.5.9 and §5: to the next part's
    /// heading, else `doc_end`.
    pub(crate) fn set_scopes(&mut self, doc_end: usize) {
        let mut starts: Vec<usize> = self
            .stages
            .iter()
            .map(|s| s.heading.start)
            .chain(self.stage_map.as_ref().map(|m| m.heading.start))
            .chain(self.verification.as_ref().map(|v| v.heading.start))
            .chain(self.clarifications.as_ref().map(|c| c.heading.start))
            .chain(self.open_questions.iter().map(|q| q.start))
            .collect();
        starts.sort_unstable();
        let next = |from: usize| {
            let i = starts.partition_point(|&s| s <= from);
            starts.get(i).copied().unwrap_or(doc_end)
        };
        if let Some(m) = self.stage_map.as_mut() {
            m.scope = m.heading.start..next(m.heading.start);
        }
        if let Some(v) = self.verification.as_mut() {
            v.scope = v.heading.start..next(v.heading.start);
        }
        if let Some(c) = self.clarifications.as_mut() {
            c.scope = c.heading.start..next(c.heading.start);
        }
    }

    /// A part's scope.
    pub(crate) fn part_scope(&self, part: Part) -> Option<Span> {
        match part {
            Part::Stage(i) => self.stages.get(i).map(|s| s.section.clone()),
            Part::Map => self.stage_map.as_ref().map(|m| m.scope.clone()),
            Part::Verification => self.verification.as_ref().map(|v| v.scope.clone()),
            Part::Clarifications => self.clarifications.as_ref().map(|c| c.scope.clone()),
        }
    }

    /// The part whose scope holds the replaced range `old` after its heading.
    pub(crate) fn part_at(&self, old: &Span) -> Option<Part> {
        let inside = |span: Span| span.start < old.start && old.end <= span.end;
        // Sections are in document order and do not overlap: the only one
        // that can hold the edit is the last to start before it.
        let stage = self
            .stages
            .partition_point(|s| s.section.start < old.start)
            .checked_sub(1)
            .map(Part::Stage);
        [
            stage,
            Some(Part::Map),
            Some(Part::Verification),
            Some(Part::Clarifications),
        ]
        .into_iter()
        .flatten()
        .find(|&p| self.part_scope(p).is_some_and(inside))
    }

    /// The byte range, in the edited text `src`, that part `part` (which
    /// holds the edit `e`) is re-derived from: its heading to its end moved
    /// across the edit. A scope that ran to the end of the document still
    /// does (found by cargo fuzz, twice).
    fn part_range_after(&self, part: Part, e: &EditShift, src: &str) -> Option<Span> {
        let scope = self.part_scope(part)?;
        let end = match part {
            Part::Stage(i) if self.stages.get(i).is_some_and(|s| s.to_document_end) => {
                trimmed_end(src)
            }
            Part::Stage(_) => {
                let mut end = scope.end;
                e.end(&mut end);
                // A section never runs past the document's last non-blank byte.
                end.min(trimmed_end(src))
            }
            _ => scope_end_after(scope.end, e, src.len()),
        };
        Some(scope.start..end.max(scope.start))
    }

    /// Re-derives `part` (which holds the edit `e`) from the outline's blocks
    /// in the range it now spans (`blocks_in` gives them), and moves every
    /// other part across the edit. None, with the plan untouched, when the
    /// blocks no longer make exactly that part (the caller rebuilds
    /// everything).
    pub fn splice(
        &mut self,
        part: Part,
        e: &EditShift,
        src: &str,
        blocks_in: impl FnOnce(Span) -> Vec<Block>,
        config: &Config,
    ) -> Option<Spliced> {
        if matches!(part, Part::Verification | Part::Clarifications)
            && !self.review_repeats.is_empty()
        {
            return None;
        }
        let range = self.part_range_after(part, e, src)?;
        let start = match (part, &self.stage_map) {
            (Part::Stage(_), Some(m)) => Start::Region(m.heading_level),
            _ => Start::Document,
        };
        let blocks = blocks_in(range.clone());
        let mut rebuilt = build_blocks(src, &blocks, config, range.end, start);
        let parts = rebuilt.stages.len()
            + usize::from(rebuilt.stage_map.is_some())
            + usize::from(rebuilt.verification.is_some())
            + usize::from(rebuilt.clarifications.is_some())
            + rebuilt.open_questions.len()
            + rebuilt.review_repeats.len();
        if parts != 1 {
            return None;
        }
        let spliced = match part {
            Part::Stage(i) => {
                let mut stage = rebuilt.stages.pop()?;
                let old = self.stages.get(i)?;
                if stage.number != old.number {
                    return None;
                }
                stage.to_document_end = old.to_document_end;
                let (was, now) = (old.predicted(), stage.predicted());
                let paths_changed = was.len() != now.len()
                    || was
                        .iter()
                        .zip(now)
                        .any(|(x, y)| x.path != y.path || x.kind != y.kind);
                self.shift_except(e, Some(part), src);
                self.stages[i] = stage;
                Spliced::Stage {
                    index: i,
                    paths_changed,
                }
            }
            Part::Map => {
                let mut map = rebuilt.stage_map.take()?;
                map.scope = range;
                self.shift_except(e, Some(part), src);
                self.stage_map = Some(map);
                self.reindex();
                Spliced::Map
            }
            Part::Verification => {
                let mut v = rebuilt.verification.take()?;
                v.scope = range;
                self.shift_except(e, Some(part), src);
                self.verification = Some(v);
                Spliced::Other
            }
            Part::Clarifications => {
                let mut c = rebuilt.clarifications.take()?;
                c.scope = range;
                self.shift_except(e, Some(part), src);
                self.clarifications = Some(c);
                Spliced::Other
            }
        };
        Some(spliced)
    }

    /// Re-derives the stages around an edit `e` that touched a heading: from
    /// the heading of the stage before the one the edit is in to the heading
    /// of the stage after it. At both ends a stage heading resets whatever
    /// the blocks before it left open, so those sections are exactly what a
    /// whole build makes of them, as long as the run stays stage sections
    /// only, its first heading is still that stage heading and the stage
    /// region is still open after it. None, with the plan untouched,
    /// otherwise (the caller rebuilds everything). `blocks_in` gives the
    /// outline's blocks in a range of the edited text `src`.
    pub fn splice_stages(
        &mut self,
        e: &EditShift,
        src: &str,
        blocks_in: impl Fn(Span) -> Vec<Block>,
        config: &Config,
    ) -> Option<Spliced> {
        // The stage the edit is in (or whose heading line it joins).
        let k = self
            .stages
            .partition_point(|s| s.heading.start <= e.old_end + 1)
            .checked_sub(1)?;
        let (a, b) = (k.saturating_sub(1), k + 1);
        let first = self.stages.get(a)?;
        let next = self.stages.get(b)?;
        if e.start < first.heading.start || e.old_end + 1 >= next.heading.start {
            return None;
        }
        let start = first.heading.start;
        // The run held stage sections only: a 4.5.9, §5, Open Questions or
        // Stage Map heading between them would stay in the plan when the
        // edit un-made it (the rebuilt run only says what is there now).
        let old_run = start..next.heading.start;
        let other_part = self
            .stage_map
            .iter()
            .map(|m| m.heading.start)
            .chain(self.verification.iter().map(|v| v.heading.start))
            .chain(self.clarifications.iter().map(|c| c.heading.start))
            .chain(self.open_questions.iter().map(|q| q.start))
            .chain(self.review_repeats.iter().map(|q| q.start))
            .any(|h| old_run.contains(&h));
        if other_part {
            return None;
        }
        let end = (next.heading.start as isize + e.delta()) as usize;
        // The next stage's heading is still that heading, where it moved to.
        let next_len = next.heading.end - next.heading.start;
        match blocks_in(end..end + 1).first() {
            Some(Block::Heading(h)) if h.range == (end..end + next_len) => {}
            _ => return None,
        }
        let blocks = blocks_in(start..end);
        let begin = match &self.stage_map {
            Some(m) => Start::Region(m.heading_level),
            None => Start::Document,
        };
        let (mut rebuilt, open) = build_run(src, &blocks, config, end, begin);
        let only_stages = rebuilt.stage_map.is_none()
            && rebuilt.verification.is_none()
            && rebuilt.clarifications.is_none()
            && rebuilt.open_questions.is_empty()
            && rebuilt.review_repeats.is_empty();
        if !open || !only_stages || rebuilt.stages.first().map(|s| s.heading.start) != Some(start) {
            return None;
        }
        // The stage heading after the run closes its last section, not the
        // end of the document.
        for s in &mut rebuilt.stages {
            s.to_document_end = false;
        }
        let old = &self.stages[a..b];
        let changed = old.len() != rebuilt.stages.len()
            || old.iter().zip(&rebuilt.stages).any(|(x, y)| {
                let (was, now) = (x.predicted(), y.predicted());
                x.number != y.number
                    || was.len() != now.len()
                    || was
                        .iter()
                        .zip(now)
                        .any(|(p, q)| p.path != q.path || p.kind != q.kind)
            });
        let rederived = rebuilt.stages.len();
        self.shift_parts(e, None, a..b, src);
        self.stages.splice(a..b, rebuilt.stages);
        if changed {
            self.reindex();
        }
        Some(Spliced::Stages {
            rederived,
            changed,
            run: start..end,
        })
    }

    /// Re-derives one Stage Map row after an edit `e` that stayed inside it
    /// (`row`: the row as the outline read it again, in the edited text
    /// `src`); the other rows and parts move. None, with the plan
    /// untouched, when `row` is not a row of the map's table or its
    /// blankness changed (a blank row is no map row).
    pub fn splice_map_row(&mut self, e: &EditShift, row: &Row, src: &str) -> Option<Spliced> {
        let map = self.stage_map.as_ref()?;
        let table = map.table.as_ref()?;
        let j = table
            .rows
            .partition_point(|r| r.range.start < row.range.start);
        let old = table.rows.get(j)?;
        if old.range.start != row.range.start || row_is_blank(src, row) {
            return None;
        }
        let new = map_row(src, row, &table.columns);
        let graph_changed = old.stage != new.stage
            || match (&old.depends_on, &new.depends_on) {
                (Field::Ok(a, _), Field::Ok(b, _)) => {
                    a.len() != b.len() || a.iter().zip(b).any(|(x, y)| x.stage != y.stage)
                }
                (a, b) => std::mem::discriminant(a) != std::mem::discriminant(b),
            };
        let renumbered = old.stage.value() != new.stage.value();
        self.shift_parts(e, None, 0..0, src);
        if let Some(t) = self.stage_map.as_mut().and_then(|m| m.table.as_mut())
            && let Some(slot) = t.rows.get_mut(j)
        {
            // A table that ended with the row ends with it still (an
            // insertion at its very end did not move it).
            t.range.end = t.range.end.max(new.range.end);
            *slot = new;
        }
        if renumbered {
            self.reindex();
        }
        Some(Spliced::MapRow { graph_changed })
    }

    /// Moves every part but `except` across the edit (`src` is the edited
    /// text).
    pub(crate) fn shift_except(&mut self, e: &EditShift, except: Option<Part>, src: &str) {
        let stages = match except {
            Some(Part::Stage(i)) => i..i + 1,
            _ => 0..0,
        };
        let other = except.filter(|p| !matches!(p, Part::Stage(_)));
        self.shift_parts(e, other, stages, src);
    }

    /// Moves every part but the stages in `stages` and the part `except`
    /// across the edit.
    fn shift_parts(
        &mut self,
        e: &EditShift,
        except: Option<Part>,
        stages: std::ops::Range<usize>,
        src: &str,
    ) {
        let new_len = src.len();
        // A Stage Map that ends before the edit does not move (its 1,000
        // rows need not be looked at).
        if except != Some(Part::Map)
            && let Some(m) = self.stage_map.as_mut().filter(|m| m.scope.end >= e.start)
        {
            let end = scope_end_after(m.scope.end, e, new_len);
            m.shift(e);
            m.scope.end = end;
        }
        for (i, s) in self.stages.iter_mut().enumerate() {
            if !stages.contains(&i) && s.section.end >= e.start {
                s.shift(e);
            }
        }
        // A section that ran to the end of the document ends at its last
        // non-blank byte, as a fresh build ends it.
        if let Some(last) = self.stages.last_mut().filter(|s| s.to_document_end) {
            last.section.end = trimmed_end(src).max(last.section.start);
        }
        if except != Some(Part::Verification)
            && let Some(v) = self.verification.as_mut()
        {
            let end = scope_end_after(v.scope.end, e, new_len);
            v.shift(e);
            v.scope.end = end;
        }
        if except != Some(Part::Clarifications)
            && let Some(c) = self.clarifications.as_mut()
        {
            let end = scope_end_after(c.scope.end, e, new_len);
            c.shift(e);
            c.scope.end = end;
        }
        self.open_questions.shift(e);
        self.review_repeats.shift(e);
    }
}

/// Where a scope that ended at `end` ends after the edit `e` (`new_len`: the
/// edited text's length): one that ran to the end of the document still
/// does, also when the edit appended to it.
fn scope_end_after(end: usize, e: &EditShift, new_len: usize) -> usize {
    let old_len = (new_len as isize - e.delta()).max(0) as usize;
    if end >= old_len {
        return new_len;
    }
    let mut end = end;
    e.end(&mut end);
    end
}

/// A cell value: absent (no such column), unreadable, or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<T> {
    Missing,
    Invalid(Span),
    Ok(T, Span),
}

impl<T> Field<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Field::Ok(v, _) => Some(v),
            _ => None,
        }
    }
    pub fn span(&self) -> Option<Span> {
        match self {
            Field::Ok(_, s) | Field::Invalid(s) => Some(s.clone()),
            Field::Missing => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMap {
    pub heading: Span,
    pub heading_level: u8,
    pub table: Option<MapTable>,
    /// From the heading to the next plan part (`Plan::set_scopes`).
    pub scope: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapTable {
    pub range: Span,
    pub header: Span,
    pub delimiter: Option<Span>,
    pub columns: MapColumns,
    pub rows: Vec<StageMapRow>,
}

/// Column indexes of the Stage Map table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapColumns {
    pub count: usize,
    pub stage: Option<usize>,
    pub title: Option<usize>,
    pub depends_on: Option<usize>,
    pub steps: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMapRow {
    pub range: Span,
    pub cells: Vec<Span>,
    pub stage: Field<u32>,
    pub title: Option<Span>,
    pub depends_on: Field<Vec<DepRef>>,
    pub steps: Field<usize>,
}

impl StageMapRow {
    /// The stages this row depends on (empty when unreadable).
    pub fn deps(&self) -> &[DepRef] {
        self.depends_on.value().map_or(&[], |v| v.as_slice())
    }
}

/// One stage number named in a depends-on cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepRef {
    pub stage: u32,
    pub range: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub number: u32,
    /// The digits of the number in the heading.
    pub number_range: Span,
    pub title: Span,
    pub heading: Span,
    pub heading_level: u8,
    /// From the heading to the start of whatever ends the stage.
    pub section: Span,
    pub steps: Option<StepTable>,
    pub exit_contract: Option<ExitContract>,
    pub validation: Option<Validation>,
    /// No heading ends the section: it runs to the document's last
    /// non-blank byte.
    pub to_document_end: bool,
}

impl Stage {
    /// Effective steps (0 without a step table).
    pub fn effective_steps(&self) -> usize {
        self.steps
            .as_ref()
            .and_then(|s| s.table.as_ref())
            .map_or(0, |t| t.effective_rows.len())
    }

    /// The predicted files (empty when the Exit Contract has none).
    pub fn predicted(&self) -> &[PredictedPath] {
        self.exit_contract
            .as_ref()
            .and_then(|c| c.predicted.as_ref())
            .map_or(&[], |p| p.files.as_slice())
    }
}

/// Byte ranges kept relative to the first one's start, so that moving them
/// all across an edit before them is one addition: a keystroke moves every
/// stage after it, and reaching each range of each was most of that cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spans {
    /// The smallest start.
    base: usize,
    /// Each range less `base`.
    rel: Vec<Span>,
}

impl Spans {
    pub fn len(&self) -> usize {
        self.rel.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rel.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Span> {
        self.rel
            .get(i)
            .map(|r| self.base + r.start..self.base + r.end)
    }

    pub fn last(&self) -> Option<Span> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Span> + ExactSizeIterator + '_ {
        self.rel
            .iter()
            .map(|r| self.base + r.start..self.base + r.end)
    }

    /// Moves every range across `e`: one addition when they all lie after
    /// it, as they do for every stage after a keystroke.
    pub(crate) fn shift_by(&mut self, e: &EditShift) {
        if self.rel.is_empty() {
            return;
        }
        if self.base >= e.old_end && self.base > e.start {
            // Every start and end lies at or after the replaced text, after
            // its start: each moves by the same amount (`EditShift::span`).
            e.start(&mut self.base);
        } else {
            let mut all: Vec<Span> = self.iter().collect();
            all.shift(e);
            *self = all.into_iter().collect();
        }
    }
}

impl Extend<Span> for Spans {
    fn extend<I: IntoIterator<Item = Span>>(&mut self, spans: I) {
        for s in spans {
            if s.start < self.base || self.rel.is_empty() {
                // A new smallest start: the others are kept against it.
                let base = if self.rel.is_empty() {
                    s.start
                } else {
                    s.start.min(self.base)
                };
                let old = self.base;
                for r in &mut self.rel {
                    *r = r.start + old - base..r.end + old - base;
                }
                self.base = base;
            }
            self.rel
                .push(s.start - self.base..s.end.max(s.start) - self.base);
        }
    }
}

impl FromIterator<Span> for Spans {
    fn from_iter<I: IntoIterator<Item = Span>>(spans: I) -> Spans {
        let mut all = Spans::default();
        all.extend(spans);
        all
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTable {
    pub heading: Span,
    pub heading_level: u8,
    pub table: Option<StepRows>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRows {
    pub range: Span,
    /// The header row's line (its cells: [`StepRows::header_cells`]).
    pub header: Span,
    /// Required columns the header lacks.
    pub missing_columns: Vec<&'static str>,
    /// The lines of the data rows with at least one non-blank cell (their
    /// cells: `syntax::row_cells`). Ranges only: a keystroke moves every
    /// stage after it, and a row's cells were six more ranges to move.
    pub effective_rows: Spans,
    /// The last data row's line, blank or not (where a fix that moves rows
    /// out ends). Not every row: a keystroke moves every stage after it.
    pub last_row: Option<Span>,
}

impl StepRows {
    /// The header's cells, read from the text (`syntax::row_cells`): kept
    /// as one range, since a keystroke moves every stage after it.
    pub fn header_cells(&self, src: &str) -> Vec<Span> {
        crate::syntax::row_cells(src, self.header.clone())
    }

    /// The index of the column named `name` (a [`STEP_COLUMNS`] name; the
    /// header matched with `normalize_label`).
    pub fn column(&self, src: &str, name: &str) -> Option<usize> {
        self.header_cells(src).iter().position(|h| {
            src.get(h.clone())
                .is_some_and(|t| normalize_label(t) == name)
        })
    }

    /// Column `col`'s cell of each effective row that has one.
    pub fn column_cells<'a>(&'a self, src: &'a str, col: usize) -> impl Iterator<Item = Span> + 'a {
        self.effective_rows
            .iter()
            .filter_map(move |r| crate::syntax::row_cells(src, r).get(col).cloned())
    }
}

pub(crate) const STEP_COLUMNS: [&str; 5] = ["step", "action", "files", "command", "expected"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitContract {
    pub heading: Span,
    pub heading_level: u8,
    pub predicted: Option<PredictedFiles>,
    /// End of the subsection's last block (where new items go).
    pub content_end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictedFiles {
    /// The whole list item, nested items included.
    pub item: Span,
    /// Its first line's text.
    pub text: Span,
    pub files: Vec<PredictedPath>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictedPath {
    /// Normalised: no leading `./`, `/` separators, no doubled `/`.
    pub path: String,
    pub range: Span,
    pub kind: PathKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    File,
    /// Ends in `/`: overlaps everything under it.
    Dir,
    /// Contains `*`, `?`, `[` or brace alternatives (`{a,b}`).
    Glob,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub heading: Span,
    pub heading_level: u8,
    pub items: Spans,
    pub content_end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub heading: Span,
    pub heading_level: u8,
    /// The section's table, when it has one (okstra can run without
    /// plan-body verification; then §5 rows reference nothing).
    pub table: Option<Span>,
    pub rows: Vec<VerificationRow>,
    /// From the heading to the next plan part.
    pub scope: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRow {
    pub range: Span,
    pub classification: Option<Span>,
    pub majority_disagree: bool,
    pub refs: Vec<ClarificationRef>,
}

/// A `C-<N>` named in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClarificationRef {
    pub id: u32,
    pub range: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clarifications {
    pub heading: Span,
    pub heading_level: u8,
    pub table: Option<ClarificationTable>,
    pub content_end: usize,
    /// From the heading to the next plan part.
    pub scope: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClarificationTable {
    pub range: Span,
    pub header_cells: Vec<Span>,
    pub rows: Vec<Clarification>,
}

/// One §5 Clarification Items row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clarification {
    pub range: Span,
    pub id: Field<u32>,
    pub statement: Option<Span>,
    pub expected: Option<Span>,
    pub blocks: Option<Span>,
}

impl Clarification {
    /// How a message names the row: `C-3`, or `this row` when its ID
    /// cannot be read.
    pub(crate) fn name(&self) -> String {
        self.id
            .value()
            .map_or("this row".to_string(), |n| format!("C-{n}"))
    }
}

/// What a heading is, for the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadingKind {
    StageMap,
    Stage {
        number: u32,
        number_range: Span,
        title: Span,
    },
    Stepwise,
    ExitContract,
    Validation,
    Verification,
    Clarifications,
    OpenQuestions,
    Other,
}

/// Whether `src` could be a plan or a `stage-map-missing` document: some
/// text in it, folded the way labels are (case, emphasis, backticks, `-`,
/// `_`, spaces), names the Stage Map or a stage subsection, or a configured
/// alias of one. A plan always passes (its headings hold those labels);
/// ordinary markdown almost never does, and is then not parsed at all. One
/// pass over the text, no parse (plan-format §1 is what decides).
pub fn may_be_plan(src: &str, config: &Config) -> bool {
    const LABELS: [&str; 4] = [
        "Stage Map",
        "Stepwise Execution Order",
        "Stage Exit Contract",
        "Stage Validation",
    ];
    if mentions_a_label(src.as_bytes()) {
        return true;
    }
    // Configured aliases (any script): the slower fold of the whole text.
    let aliases: Vec<String> = LABELS
        .iter()
        .flat_map(|label| config.aliases(label))
        .filter(|a| !a.trim().is_empty())
        .collect();
    if aliases.is_empty() {
        return false;
    }
    fn fold(text: &str) -> String {
        text.chars()
            .filter(|c| !matches!(c, '*' | '_' | '`' | '-') && !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    }
    let folded = fold(src);
    aliases.iter().any(|alias| folded.contains(&fold(alias)))
}

/// Whether `text` names one of the labels `may_be_plan` looks for: at an
/// `s`, any case, the letters of `stage` then `map`, `exitcontract` or
/// `validation`, or of `stepwiseexecutionorder`, with only separators between
/// them (`*`, `_`, `` ` ``, `-`, whitespace; any non-ASCII byte too, which
/// covers Unicode spaces and errs towards parsing). One pass.
fn mentions_a_label(text: &[u8]) -> bool {
    let separator =
        |b: u8| matches!(b, b'*' | b'_' | b'`' | b'-') || b.is_ascii_whitespace() || b >= 0x80;
    // Where the letters of `word` end when they start at `i`.
    let spelled = |mut i: usize, word: &[u8]| -> Option<usize> {
        let mut k = 0;
        while k < word.len() {
            let b = *text.get(i)?;
            if b.to_ascii_lowercase() == word[k] {
                k += 1;
            } else if !(k > 0 && separator(b)) {
                return None;
            }
            i += 1;
        }
        Some(i)
    };
    let skip = |mut i: usize| {
        while text.get(i).is_some_and(|&b| separator(b)) {
            i += 1;
        }
        i
    };
    for at in memchr::memchr2_iter(b's', b'S', text) {
        if let Some(after) = spelled(at, b"stage") {
            let after = skip(after);
            if [&b"map"[..], b"exitcontract", b"validation"]
                .iter()
                .any(|w| spelled(after, w).is_some())
            {
                return true;
            }
        } else if spelled(at, b"stepwiseexecutionorder").is_some() {
            return true;
        }
    }
    false
}

/// The key a label is matched by (plan-format §2): lower-cased, without
/// surrounding whitespace, `**`, `__`, backticks, a trailing `:` or `：`, or a
/// trailing parenthesised remark (`Steps (effective)`); `-`, `_` and runs of
/// whitespace read as one space, and no space around `/`.
pub(crate) fn normalize_label(s: &str) -> String {
    let mut s = s.replace("**", "").replace("__", "").replace('`', "");
    loop {
        let t = s.trim().trim_end_matches([':', '：']).trim_end();
        let t = match t
            .strip_suffix(')')
            .and_then(|x| x.rfind('(').map(|i| &x[..i]))
        {
            // Only a remark after a name: `(예측)` alone is the name.
            Some(head) if !head.trim().is_empty() => head,
            _ => t,
        };
        if t.len() == s.len() {
            break;
        }
        s = t.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        let c = if c == '-' || c == '_' || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && (out.ends_with(' ') || out.ends_with('/') || out.is_empty()) {
            continue;
        }
        if c == '/' && out.ends_with(' ') {
            out.pop();
        }
        out.extend(c.to_lowercase());
    }
    out.trim_end().to_string()
}

/// Skips a section-number prefix such as `4.5.1 `, `§5 `, `5. `; returns the
/// byte offset (within `text`) where the label starts.
fn skip_number_prefix(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        i
    };
    i = skip_ws(i);
    while text[i..].starts_with("**") {
        i += 2;
    }
    let mark = i;
    if text[i..].starts_with('§') {
        i += '§'.len_utf8();
    }
    let digits_start = i;
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
        i += 1;
    }
    let has_digits = text[digits_start..i].bytes().any(|b| b.is_ascii_digit());
    if has_digits && i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
        skip_ws(i)
    } else if has_digits && i == bytes.len() {
        i
    } else {
        mark
    }
}

/// Whether `label` (a `normalize_label` key) is one of `canonical` (written
/// as keys: this runs for every heading) or a configured alias.
fn label_is(label: &str, canonical: &[&str], config: &Config, key: &str) -> bool {
    canonical.contains(&label) || config.aliases(key).iter().any(|a| a == label)
}

/// The separators that may follow a heading's name and start a note
/// (`Stage Map — v2`, `Stage Map: overview`).
const NOTE_SEPARATORS: [&str; 5] = [" — ", " – ", " - ", ": ", "："];

/// Classifies a heading's text.
pub(crate) fn classify_heading(src: &str, text: Span, config: &Config) -> HeadingKind {
    let Some(raw) = src.get(text.clone()) else {
        return HeadingKind::Other;
    };
    let start = skip_number_prefix(raw);
    let rest = &raw[start..];
    if let Some(kind) = stage_heading(text.start + start, rest, config) {
        // `Stage 1 — Stage Exit Contract` is stage 1's subsection.
        if let HeadingKind::Stage { title, .. } = &kind {
            let sub = src.get(title.clone()).map(|t| plan_label(t, config));
            if let Some(
                sub @ (HeadingKind::Stepwise | HeadingKind::ExitContract | HeadingKind::Validation),
            ) = sub
            {
                return sub;
            }
        }
        return kind;
    }
    let kind = plan_label(rest, config);
    if kind != HeadingKind::Other {
        return kind;
    }
    // A name followed by a note: `Stage Map — v2`.
    for sep in NOTE_SEPARATORS {
        if let Some(at) = rest.find(sep) {
            let kind = plan_label(&rest[..at], config);
            if kind != HeadingKind::Other {
                return kind;
            }
        }
    }
    HeadingKind::Other
}

/// The plan heading a label names (not a stage heading), or `Other`.
fn plan_label(text: &str, config: &Config) -> HeadingKind {
    let label = normalize_label(text);
    let label = label.as_str();
    if label_is(label, &["stage map"], config, "Stage Map") {
        HeadingKind::StageMap
    } else if label_is(
        label,
        &["stepwise execution order"],
        config,
        "Stepwise Execution Order",
    ) {
        HeadingKind::Stepwise
    } else if label_is(
        label,
        &["stage exit contract"],
        config,
        "Stage Exit Contract",
    ) {
        HeadingKind::ExitContract
    } else if label_is(label, &["stage validation"], config, "Stage Validation") {
        HeadingKind::Validation
    } else if label_is(
        label,
        &["plan body verification"],
        config,
        "Plan Body Verification",
    ) {
        HeadingKind::Verification
    } else if label_is(
        label,
        &["clarification items"],
        config,
        "Clarification Items",
    ) {
        HeadingKind::Clarifications
    } else if label_is(label, &["open questions"], config, "Open Questions") {
        HeadingKind::OpenQuestions
    } else {
        HeadingKind::Other
    }
}

/// `Stage <N>` (optionally bold) followed by the end of the heading or by a
/// separator among `: — – - . )` and a title. A bare space after the number
/// (`Stage 1 rollback`) makes an ordinary heading (plan-format §2).
fn stage_heading(offset: usize, rest: &str, config: &Config) -> Option<HeadingKind> {
    let mut keywords = vec!["stage".to_string()];
    keywords.extend(config.aliases("Stage"));
    let lower = rest.to_lowercase();
    // Lower-casing may change byte lengths outside ASCII; only trust it when it did not.
    if lower.len() != rest.len() {
        return None;
    }
    let kw = keywords
        .iter()
        .find(|k| !k.is_empty() && lower.starts_with(k.as_str()))?;
    let bytes = rest.as_bytes();
    let mut i = kw.len();
    while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
        i += 1;
    }
    let digits = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i == digits {
        return None;
    }
    let number: u32 = rest[digits..i].parse().ok()?;
    let number_range = (offset + digits)..(offset + i);
    // Closing emphasis or code after the number: `**Stage 2**: Title`.
    let mut j = i;
    while j < bytes.len() && matches!(bytes[j], b'*' | b'_' | b'`') {
        j += 1;
    }
    let after = &rest[j..];
    let trimmed = after.trim_start();
    let title_rel = if trimmed.is_empty() {
        rest.len()
    } else if let Some(c) = trimmed.chars().next().filter(|c| ":—–-.)".contains(*c)) {
        let skip = after.len() - trimmed.len() + c.len_utf8();
        let t = &after[skip..];
        let t_start = skip + (t.len() - t.trim_start().len());
        // `**Stage 2:** Title`: the emphasis closes after the separator.
        let t = &after[t_start..];
        let close = t.len() - t.trim_start_matches(['*', '_']).len();
        let t2 = &t[close..];
        j + t_start + close + (t2.len() - t2.trim_start().len())
    } else {
        return None;
    };
    let title_end = (offset
        + rest
            .trim_end()
            .trim_end_matches(['*', '_'])
            .trim_end()
            .len())
    .max(offset + title_rel);
    Some(HeadingKind::Stage {
        number,
        number_range,
        title: (offset + title_rel)..title_end,
    })
}

/// Builds the model from a parsed document.
pub(crate) fn build(src: &str, tree: &tree_sitter::Tree, config: &Config) -> Plan {
    build_from_outline(src, &syntax::outline(tree, src), config)
}

/// Parses and builds in one go (tests, the CLI).
pub fn parse(src: &str, config: &Config) -> Plan {
    build(src, &syntax::parse_blocks(src, None), config)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sub {
    Stepwise,
    Exit,
    Validation,
    Unknown,
}

#[derive(Clone, Copy)]
enum Scope {
    None,
    StageMap(u8),
    Stage { sub: Option<(Sub, u8)> },
    Verification(u8),
    Clarifications(u8),
}

/// Where a run of blocks starts, so one part of the plan can be re-derived
/// from its own blocks in the state the whole document is in there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// The start of a document: no Stage Map heading seen yet.
    Document,
    /// Inside the stage region of a Stage Map heading of this level.
    Region(u8),
}

pub fn build_from_outline<'b>(
    src: &str,
    blocks: impl IntoIterator<Item = &'b Block>,
    config: &Config,
) -> Plan {
    let mut plan = build_blocks(src, blocks, config, trimmed_end(src), Start::Document);
    plan.set_scopes(src.len());
    plan
}

/// The stage region and the builder's place in it (plan-format §2).
#[derive(Clone, Copy)]
struct Region {
    /// A Stage Map heading has been seen.
    seen_map: bool,
    /// Stage headings count as stages here.
    open: bool,
    map_level: u8,
}

impl Region {
    fn new(start: Start) -> Region {
        match start {
            Start::Document => Region {
                seen_map: false,
                open: true,
                map_level: 0,
            },
            Start::Region(level) => Region {
                seen_map: true,
                open: true,
                map_level: level,
            },
        }
    }
}

/// Builds from a run of blocks; the last open stage ends at `end` (lets the
/// document re-derive one part of the plan from its own blocks).
///
/// Scoping, in one place (plan-format §2): stage headings count from the
/// Stage Map heading on (anywhere when there is none, so that
/// `stage-map-missing` can see them) up to the end of the stage region; a
/// stage runs to the next stage heading, a plan part's heading, the end of
/// the region, or a heading shallower than its own; other headings inside it
/// stay inside it.
pub(crate) fn build_blocks<'b>(
    src: &str,
    blocks: impl IntoIterator<Item = &'b Block>,
    config: &Config,
    end: usize,
    start: Start,
) -> Plan {
    build_run(src, blocks, config, end, start).0
}

/// `build_blocks`, and whether the stage region is still open after the
/// blocks (stage headings after them still count).
fn build_run<'b>(
    src: &str,
    blocks: impl IntoIterator<Item = &'b Block>,
    config: &Config,
    end: usize,
    start: Start,
) -> (Plan, bool) {
    let mut b = Builder {
        src,
        config,
        plan: Plan::default(),
        scope: Scope::None,
        region: Region::new(start),
        open_stage: None,
        paths_follow: None,
    };
    for block in blocks {
        let follows = b.paths_follow.take();
        match block {
            Block::Heading(h) => b.heading(h),
            Block::Table(t) => b.table(t),
            Block::List(l) => b.list(l, follows.is_some()),
            Block::Paragraph(p) => b.paragraph(p.clone()),
        }
    }
    let open = b.region.open;
    (b.finish(end), open)
}

/// `build_blocks`'s state as it walks the blocks in order.
struct Builder<'s> {
    src: &'s str,
    config: &'s Config,
    plan: Plan,
    scope: Scope,
    region: Region,
    /// Index into `plan.stages` of the open stage.
    open_stage: Option<usize>,
    /// The stage whose predicted-files line ended at its label: its paths
    /// are the list right after it.
    paths_follow: Option<usize>,
}

impl Builder<'_> {
    fn finish(mut self, end: usize) -> Plan {
        if let Some(s) = self.open_stage.and_then(|i| self.plan.stages.get_mut(i)) {
            s.to_document_end = true;
        }
        self.close_stage(end);
        self.plan.reindex();
        self.plan
    }

    fn close_stage(&mut self, at: usize) {
        if let Some(i) = self.open_stage.take()
            && let Some(s) = self.plan.stages.get_mut(i)
        {
            s.section.end = at.max(s.section.start);
        }
    }

    fn stage_mut(&mut self) -> Option<&mut Stage> {
        self.open_stage.and_then(|i| self.plan.stages.get_mut(i))
    }

    fn heading(&mut self, h: &Heading) {
        let mut kind = classify_heading(self.src, h.text.clone(), self.config);
        let is_sub = matches!(
            kind,
            HeadingKind::Stepwise | HeadingKind::ExitContract | HeadingKind::Validation
        );
        if matches!(kind, HeadingKind::Stage { .. }) && !self.region.open {
            // `### Stage 1: rollback` under `## 7. Rollback`.
            kind = HeadingKind::Other;
        }
        let region = self.region;
        if region.seen_map
            && region.open
            && h.level <= region.map_level
            && matches!(kind, HeadingKind::Other)
        {
            // The end of the stage region.
            self.region.open = false;
            self.close_stage(h.range.start);
            self.scope = Scope::None;
            return;
        }
        match kind {
            HeadingKind::Stage {
                number,
                number_range,
                title,
            } => {
                self.close_stage(h.range.start);
                self.plan.stages.push(Stage {
                    number,
                    number_range,
                    title,
                    heading: h.range.clone(),
                    heading_level: h.level,
                    section: h.range.start..self.src.len(),
                    steps: None,
                    exit_contract: None,
                    validation: None,
                    to_document_end: false,
                });
                self.open_stage = Some(self.plan.stages.len() - 1);
                self.scope = Scope::Stage { sub: None };
            }
            _ if is_sub && self.open_stage.is_some() => {
                let Some(stage) = self.stage_mut() else {
                    return;
                };
                let sub = open_subsection(stage, &kind, h);
                self.scope = Scope::Stage {
                    sub: Some((sub, h.level)),
                };
            }
            HeadingKind::StageMap => self.stage_map_heading(h),
            HeadingKind::Verification | HeadingKind::Clarifications => {
                self.close_stage(h.range.start);
                // 4.5.9 and §5 end the stage region.
                self.region.open = !self.region.seen_map && self.region.open;
                self.review_heading(h, &kind);
            }
            HeadingKind::OpenQuestions => {
                self.close_stage(h.range.start);
                self.plan.open_questions.push(h.range.clone());
                self.scope = Scope::None;
            }
            _ => self.other_heading(h),
        }
    }

    /// 4.5.9 or §5 (the first of each kind is the one read).
    fn review_heading(&mut self, h: &Heading, kind: &HeadingKind) {
        let scope = h.range.start..h.range.end;
        let first = match kind {
            HeadingKind::Verification => self.plan.verification.is_none(),
            _ => self.plan.clarifications.is_none(),
        };
        if !first {
            self.plan.review_repeats.push(h.range.clone());
        }
        if let HeadingKind::Verification = kind {
            self.plan.verification.get_or_insert_with(|| Verification {
                heading: h.range.clone(),
                heading_level: h.level,
                table: None,
                rows: Vec::new(),
                scope,
            });
            self.scope = Scope::Verification(h.level);
        } else {
            self.plan
                .clarifications
                .get_or_insert_with(|| Clarifications {
                    heading: h.range.clone(),
                    heading_level: h.level,
                    table: None,
                    content_end: h.range.end,
                    scope,
                });
            self.scope = Scope::Clarifications(h.level);
        }
    }

    fn stage_map_heading(&mut self, h: &Heading) {
        self.close_stage(h.range.start);
        if self.plan.stage_map.is_some() {
            self.scope = Scope::None;
            return;
        }
        if !self.region.seen_map {
            // Stage headings before the Stage Map are not stages.
            self.plan.stages.clear();
        }
        self.plan.stage_map = Some(StageMap {
            heading: h.range.clone(),
            heading_level: h.level,
            table: None,
            scope: h.range.start..h.range.end,
        });
        self.region = Region {
            seen_map: true,
            open: true,
            map_level: h.level,
        };
        self.scope = Scope::StageMap(h.level);
    }

    /// A heading that is no plan part: it may end the open part.
    fn other_heading(&mut self, h: &Heading) {
        self.scope = match self.scope {
            Scope::Stage { sub } => {
                let stage_level = self
                    .open_stage
                    .and_then(|i| self.plan.stages.get(i))
                    .map_or(0, |s| s.heading_level);
                if h.level < stage_level {
                    self.close_stage(h.range.start);
                    Scope::None
                } else {
                    // Another heading inside the stage (`### Rollback`
                    // between two subsections) ends the subsection it
                    // interrupts, not the stage.
                    match sub {
                        Some((_, l)) if h.level <= l => Scope::Stage {
                            sub: Some((Sub::Unknown, h.level)),
                        },
                        other => Scope::Stage { sub: other },
                    }
                }
            }
            Scope::StageMap(l) | Scope::Verification(l) | Scope::Clarifications(l)
                if h.level <= l =>
            {
                Scope::None
            }
            other => other,
        };
    }

    fn table(&mut self, t: &Table) {
        let (src, config) = (self.src, self.config);
        match self.scope {
            Scope::StageMap(_) => {
                if let Some(map) = self.plan.stage_map.as_mut().filter(|m| m.table.is_none()) {
                    map.table = Some(map_table(src, t));
                }
            }
            Scope::Stage {
                sub: Some((sub, _)),
            } => {
                let Some(stage) = self.stage_mut() else {
                    return;
                };
                match sub {
                    Sub::Stepwise => {
                        if let Some(steps) = stage.steps.as_mut().filter(|s| s.table.is_none()) {
                            steps.table = Some(step_rows(src, t));
                        }
                    }
                    Sub::Exit => {
                        if let Some(c) = stage.exit_contract.as_mut() {
                            c.content_end = c.content_end.max(t.range.end);
                            if c.predicted.is_none() {
                                c.predicted = predicted_in_table(src, t, config);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Scope::Verification(_) => {
                if let Some(v) = self
                    .plan
                    .verification
                    .as_mut()
                    .filter(|v| v.table.is_none())
                {
                    v.table = Some(t.range.clone());
                    v.rows = verification_rows(src, t);
                }
            }
            Scope::Clarifications(_) => {
                if let Some(c) = self.plan.clarifications.as_mut() {
                    if c.table.is_none() {
                        c.table = Some(clarification_table(src, t));
                    }
                    c.content_end = c.content_end.max(t.range.end);
                }
            }
            _ => {}
        }
    }

    /// `follows`: the list comes right after a predicted-files label that
    /// ended its line.
    fn list(&mut self, l: &List, follows: bool) {
        let (src, config) = (self.src, self.config);
        if let Scope::Clarifications(_) = self.scope
            && let Some(c) = self.plan.clarifications.as_mut()
        {
            c.content_end = c.content_end.max(l.range.end);
        }
        let Scope::Stage {
            sub: Some((sub, _)),
        } = self.scope
        else {
            return;
        };
        let Some(stage) = self.stage_mut() else {
            return;
        };
        match sub {
            Sub::Exit => {
                let Some(c) = stage.exit_contract.as_mut() else {
                    return;
                };
                c.content_end = c.content_end.max(l.range.end);
                match c.predicted.as_mut() {
                    Some(p) if follows => {
                        // The paths listed under a label that ends its line.
                        p.item.end = p.item.end.max(l.range.end);
                        walk_items(src, &l.items, &mut p.files);
                    }
                    Some(_) => {}
                    None => {
                        c.predicted = l
                            .items
                            .iter()
                            .find_map(|it| predicted_in_item(src, it, config));
                    }
                }
            }
            Sub::Validation => {
                if let Some(v) = stage.validation.as_mut() {
                    v.content_end = v.content_end.max(l.range.end);
                    v.items.extend(l.items.iter().map(|it| it.range.clone()));
                }
            }
            _ => {}
        }
    }

    fn paragraph(&mut self, p: Span) {
        let Scope::Stage {
            sub: Some((Sub::Exit, _)),
        } = self.scope
        else {
            return;
        };
        let (src, config) = (self.src, self.config);
        let Some(i) = self.open_stage else { return };
        let Some(c) = self
            .plan
            .stages
            .get_mut(i)
            .and_then(|s| s.exit_contract.as_mut())
        else {
            return;
        };
        c.content_end = c.content_end.max(p.end);
        if c.predicted.is_none()
            && let Some((found, at_label)) = predicted_in_paragraph(src, p, config)
        {
            c.predicted = Some(found);
            if at_label {
                self.paths_follow = Some(i);
            }
        }
    }
}

pub(crate) fn trimmed_end(src: &str) -> usize {
    src.trim_end().len()
}

fn open_subsection(stage: &mut Stage, kind: &HeadingKind, h: &Heading) -> Sub {
    match kind {
        HeadingKind::Stepwise => {
            if stage.steps.is_none() {
                stage.steps = Some(StepTable {
                    heading: h.range.clone(),
                    heading_level: h.level,
                    table: None,
                });
                Sub::Stepwise
            } else {
                Sub::Unknown
            }
        }
        HeadingKind::ExitContract => {
            if stage.exit_contract.is_none() {
                stage.exit_contract = Some(ExitContract {
                    heading: h.range.clone(),
                    heading_level: h.level,
                    predicted: None,
                    content_end: h.range.end,
                });
                Sub::Exit
            } else {
                Sub::Unknown
            }
        }
        _ => {
            if stage.validation.is_none() {
                stage.validation = Some(Validation {
                    heading: h.range.clone(),
                    heading_level: h.level,
                    items: Spans::default(),
                    content_end: h.range.end,
                });
                Sub::Validation
            } else {
                Sub::Unknown
            }
        }
    }
}

fn header_names(src: &str, row: &Row) -> Vec<String> {
    row.cells
        .iter()
        .map(|c| normalize_label(src.get(c.range.clone()).unwrap_or("")))
        .collect()
}

/// The first column whose name (already a `normalize_label` key) is one of
/// `accepted` (spelled any way `normalize_label` folds together).
fn find_column(names: &[String], accepted: &[&str]) -> Option<usize> {
    let keys: Vec<String> = accepted.iter().map(|a| normalize_label(a)).collect();
    names.iter().position(|n| keys.contains(n))
}

fn cell_spans(row: &Row) -> Vec<Span> {
    row.cells.iter().map(|c| c.range.clone()).collect()
}

fn map_table(src: &str, t: &Table) -> MapTable {
    let names = header_names(src, &t.header);
    let columns = MapColumns {
        count: names.len(),
        stage: find_column(
            &names,
            &[
                "stage",
                "#",
                "no",
                "no.",
                "stage #",
                "stage no",
                "stage no.",
                "stage number",
            ],
        ),
        title: find_column(&names, &["title", "name", "stage title", "stage name"]),
        depends_on: find_column(
            &names,
            &[
                "depends-on",
                "deps",
                "dependencies",
                "depends",
                "dependency",
            ],
        ),
        steps: find_column(
            &names,
            &[
                "steps",
                "step count",
                "effective steps",
                "effective step count",
                "step",
                "steps count",
                "number of steps",
            ],
        ),
    };
    let rows = t
        .rows
        .iter()
        .filter(|r| !row_is_blank(src, r))
        .map(|r| map_row(src, r, &columns))
        .collect();
    MapTable {
        range: t.range.clone(),
        header: t.header.range.clone(),
        delimiter: t.delimiter.clone(),
        columns,
        rows,
    }
}

/// Reads column `col` of a row: `Missing` without such a column, `Invalid`
/// when the row is short or `parse` refuses the text.
/// One Stage Map row.
fn map_row(src: &str, r: &Row, columns: &MapColumns) -> StageMapRow {
    let cell = |i: Option<usize>| i.and_then(|i| r.cells.get(i)).map(|c| c.range.clone());
    StageMapRow {
        range: r.range.clone(),
        cells: cell_spans(r),
        stage: read_cell(src, r, columns.stage, |s, _| parse_stage_number(s)),
        title: cell(columns.title),
        depends_on: match read_cell(src, r, columns.depends_on, |s, start| {
            Some(parse_depends_on(s, start))
        }) {
            // Point at the token that could not be read, not the whole cell.
            Field::Ok(Err(bad), _) => Field::Invalid(bad),
            Field::Ok(Ok(v), span) => Field::Ok(v, span),
            Field::Invalid(span) => Field::Invalid(span),
            Field::Missing => Field::Missing,
        },
        steps: read_cell(src, r, columns.steps, |s, _| parse_count(s)),
    }
}

fn read_cell<T>(
    src: &str,
    r: &Row,
    col: Option<usize>,
    parse: impl Fn(&str, usize) -> Option<T>,
) -> Field<T> {
    let Some(col) = col else {
        return Field::Missing;
    };
    let Some(cell) = r.cells.get(col) else {
        return Field::Invalid(r.range.end..r.range.end);
    };
    let span = cell.range.clone();
    match parse(&src[span.clone()], span.start) {
        Some(v) => Field::Ok(v, span),
        None => Field::Invalid(span),
    }
}

fn row_is_blank(src: &str, r: &Row) -> bool {
    // A row of bare pipes (`||||||`) is blank too: the parser was shown it
    // with its first pipe filled in (`syntax::chunk`), so its first cell
    // covers that pipe.
    let bare = src
        .get(r.range.clone())
        .is_some_and(|line| line.trim().chars().all(|c| c == '|'));
    bare || r
        .cells
        .iter()
        .all(|c| src.get(c.range.clone()).unwrap_or("").trim().is_empty())
}

/// Strips decorations that do not change a value: backticks, `**`, `_`.
fn undecorate(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        let before = s;
        for d in ["**", "__", "`", "*", "_"] {
            if s.len() >= 2 * d.len() && s.starts_with(d) && s.ends_with(d) {
                s = s[d.len()..s.len() - d.len()].trim();
            }
        }
        if s == before {
            return s;
        }
    }
}

/// `1`, `Stage 1`, `S1`, `#1`, optionally decorated.
pub(crate) fn parse_stage_number(s: &str) -> Option<u32> {
    let s = undecorate(s);
    let lower = s.to_ascii_lowercase();
    let digits = if let Some(rest) = lower.strip_prefix("stage") {
        rest.trim_start()
    } else if let Some(rest) = lower.strip_prefix('s').or_else(|| lower.strip_prefix('#')) {
        rest.trim_start()
    } else {
        lower.as_str()
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Digits only; a number too large for `usize` reads as `usize::MAX` (over
/// any budget or cap, never unreadable).
fn parse_count(s: &str) -> Option<usize> {
    let s = undecorate(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(usize::MAX))
}

/// The spellings of "no dependency".
pub(crate) fn is_none_marker(s: &str) -> bool {
    let s = undecorate(s).to_lowercase();
    matches!(
        s.as_str(),
        "" | "(none)" | "none" | "-" | "—" | "–" | "n/a" | "(없음)" | "없음"
    )
}

/// Reads a depends-on cell starting at byte `base`. Err carries the first
/// token that is not a stage reference.
pub(crate) fn parse_depends_on(s: &str, base: usize) -> Result<Vec<DepRef>, Span> {
    // A leading `depends-on` word: `depends-on (none)`, `depends-on 1, 2`.
    let (s, base) = match strip_depends_word(s) {
        Some(rest) => (rest, base + (s.len() - rest.len())),
        None => (s, base),
    };
    if is_none_marker(s) {
        return Ok(Vec::new());
    }
    let mut refs = Vec::new();
    let tokens = tokenize(s);
    let mut i = 0;
    while i < tokens.len() {
        let (start, tok) = tokens[i];
        let lower = tok.to_ascii_lowercase();
        let number_text;
        let mut end = start + tok.len();
        if lower == "stage" || lower == "stages" {
            // `Stage 3`: the number is the next token.
            let Some(&(s2, t2)) = tokens.get(i + 1) else {
                return Err(base + start..base + end);
            };
            number_text = t2.to_string();
            end = s2 + t2.len();
            i += 1;
        } else if let Some(rest) = lower.strip_prefix("stage") {
            number_text = rest.to_string();
        } else if let Some(rest) = lower.strip_prefix('s').or_else(|| lower.strip_prefix('#')) {
            number_text = rest.to_string();
        } else if matches!(lower.as_str(), "and" | "&" | "+") {
            i += 1;
            continue;
        } else {
            number_text = lower.clone();
        }
        match number_text.parse::<u32>() {
            Ok(n) if number_text.bytes().all(|b| b.is_ascii_digit()) => {
                refs.push(DepRef {
                    stage: n,
                    range: base + start..base + end,
                });
            }
            _ => return Err(base + start..base + end),
        }
        i += 1;
    }
    Ok(refs)
}

/// `s` after a leading `depends-on` / `depends on` / `depends_on` word (and a
/// `:`), when it has one.
fn strip_depends_word(s: &str) -> Option<&str> {
    let t = s.trim_start().trim_start_matches(['`', '*']);
    let lower = t.get(..10.min(t.len()))?.to_ascii_lowercase();
    if !lower.starts_with("depends") || lower.len() < 10 {
        return None;
    }
    let sep = lower.as_bytes()[7];
    if !matches!(sep, b'-' | b'_' | b' ') || &lower[8..10] != "on" {
        return None;
    }
    let rest = t[10..].trim_start_matches(['`', '*']);
    if rest.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(rest.trim_start_matches([':', ' ', '\t']))
}

fn tokenize(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        let sep = c == ',' || c == '/' || c == '`' || c == '*' || c == ';' || c.is_whitespace();
        match (sep, start) {
            (true, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

fn step_rows(src: &str, t: &Table) -> StepRows {
    let names = header_names(src, &t.header);
    let missing_columns = STEP_COLUMNS
        .iter()
        .copied()
        .filter(|c| !names.iter().any(|n| n == c))
        .collect();
    let effective_rows = t
        .rows
        .iter()
        .filter(|r| !row_is_blank(src, r))
        .map(|r| r.range.clone())
        .collect();
    StepRows {
        range: t.range.clone(),
        header: t.header.range.clone(),
        missing_columns,
        effective_rows,
        last_row: t.rows.last().map(|r| r.range.clone()),
    }
}

/// The predicted-files labels of plan-format §2 as `normalize_label` keys
/// (`Added/modified files (predicted)` and `추가/변경된 파일 (예측)` lose their
/// remark).
const PREDICTED_LABELS: [&str; 4] = [
    "predicted added/modified files",
    "added/modified files",
    "predicted files",
    "추가/변경된 파일",
];

/// Where the paths start in a predicted-files line: after its label and the
/// `:`, `：`, ` — ` or ` - ` that ends it (plan-format §2). None when the line
/// is not the predicted-files line.
fn predicted_label_end(text: &str, config: &Config) -> Option<usize> {
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for sep in [":", "：", " — ", " – ", " - "] {
        let mut from = 0;
        while let Some(i) = text[from..].find(sep) {
            cuts.push((from + i, sep.len()));
            from += i + sep.len();
        }
    }
    cuts.sort_unstable();
    cuts.into_iter().find_map(|(at, len)| {
        let label = normalize_label(text[..at].trim_start_matches(['-', '*', '+', ' ']));
        if label.is_empty() || !label_is(&label, &PREDICTED_LABELS, config, "Predicted files") {
            return None;
        }
        let rest = &text[at + len..];
        // `**Predicted files:**` closes its emphasis after the colon.
        let close = rest.len() - rest.trim_start_matches(['*', '_']).len();
        Some(at + len + close)
    })
}

fn walk_items(src: &str, items: &[ListItem], files: &mut Vec<PredictedPath>) {
    for child in items {
        collect_paths(src, child.text.clone(), files);
        walk_items(src, &child.children, files);
    }
}

/// A list item that is the predicted-files line, with the paths on it and in
/// its nested list.
fn predicted_in_item(src: &str, item: &ListItem, config: &Config) -> Option<PredictedFiles> {
    let text = src.get(item.text.clone())?;
    // The label is on the item's first line.
    let first = text.find(['\n', '\r']).unwrap_or(text.len());
    let after = predicted_label_end(&text[..first], config)?;
    let mut files = Vec::new();
    collect_paths(src, item.text.start + after..item.text.end, &mut files);
    walk_items(src, &item.children, &mut files);
    Some(PredictedFiles {
        item: item.range.clone(),
        text: item.text.clone(),
        files,
    })
}

/// A paragraph line that is the predicted-files line; true when the line
/// ends at its label and is the paragraph's last (its paths are the list
/// that follows).
fn predicted_in_paragraph(
    src: &str,
    para: Span,
    config: &Config,
) -> Option<(PredictedFiles, bool)> {
    let text = src.get(para.clone())?;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let line_range = para.start + start..para.start + start + body.len();
        start += line.len();
        let Some(after) = predicted_label_end(body, config) else {
            continue;
        };
        let mut files = Vec::new();
        let rest = line_range.start + after..line_range.end;
        collect_paths(src, rest.clone(), &mut files);
        let at_label = src[rest].trim().is_empty() && line_range.end == para.end;
        let text = syntax::trim(src, line_range.clone());
        return Some((
            PredictedFiles {
                item: line_range,
                text,
                files,
            },
            at_label,
        ));
    }
    None
}

/// A two-column table row whose first cell is the predicted-files label.
fn predicted_in_table(src: &str, t: &Table, config: &Config) -> Option<PredictedFiles> {
    std::iter::once(&t.header).chain(&t.rows).find_map(|row| {
        let [label, paths] = row.cells.as_slice() else {
            return None;
        };
        let text = src.get(label.range.clone())?;
        let name = normalize_label(text);
        let with_colon = format!("{text}:");
        if !label_is(&name, &PREDICTED_LABELS, config, "Predicted files")
            && predicted_label_end(&with_colon, config).is_none()
        {
            return None;
        }
        let mut files = Vec::new();
        collect_paths(src, paths.range.clone(), &mut files);
        Some(PredictedFiles {
            item: row.range.clone(),
            text: row.range.clone(),
            files,
        })
    })
}

fn verification_rows(src: &str, t: &Table) -> Vec<VerificationRow> {
    let names = header_names(src, &t.header);
    let class_col = find_column(&names, &["classification", "class", "분류"])
        .or_else(|| names.len().checked_sub(1));
    t.rows
        .iter()
        .filter(|r| !row_is_blank(src, r))
        .map(|r| {
            let classification = class_col
                .and_then(|i| r.cells.get(i))
                .map(|c| c.range.clone());
            let (majority_disagree, refs) = match &classification {
                Some(span) => {
                    let text = &src[span.clone()];
                    (
                        text.to_ascii_lowercase().contains("majority-disagree"),
                        clarification_refs(text, span.start),
                    )
                }
                None => (false, Vec::new()),
            };
            VerificationRow {
                range: r.range.clone(),
                classification,
                majority_disagree,
                refs,
            }
        })
        .collect()
}

/// Every `C-<N>` in `text` (not preceded by a letter or digit).
pub(crate) fn clarification_refs(text: &str, base: usize) -> Vec<ClarificationRef> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < bytes.len() {
        if bytes[i] == b'C'
            && bytes[i + 1] == b'-'
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
        {
            let mut j = i + 2;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 2 && (j == bytes.len() || !bytes[j].is_ascii_alphanumeric()) {
                if let Ok(id) = text[i + 2..j].parse() {
                    out.push(ClarificationRef {
                        id,
                        range: base + i..base + j,
                    });
                }
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn clarification_table(src: &str, t: &Table) -> ClarificationTable {
    let names = header_names(src, &t.header);
    let id_col = find_column(&names, &["id", "#"]).unwrap_or(0);
    let statement_col = find_column(&names, &["statement", "question"]);
    let expected_col = find_column(&names, &["expected form", "expected", "expected answer"]);
    let blocks_col = find_column(&names, &["blocks", "blocking"]);
    let rows = t
        .rows
        .iter()
        .filter(|r| !row_is_blank(src, r))
        .map(|r| {
            let cell = |i: Option<usize>| i.and_then(|i| r.cells.get(i)).map(|c| c.range.clone());
            let id = match cell(Some(id_col)) {
                None => Field::Invalid(r.range.clone()),
                Some(span) => {
                    let text = undecorate(&src[span.clone()]);
                    match text.strip_prefix("C-").and_then(|n| n.parse::<u32>().ok()) {
                        Some(n) => Field::Ok(n, span),
                        None => Field::Invalid(span),
                    }
                }
            };
            Clarification {
                range: r.range.clone(),
                id,
                statement: cell(statement_col),
                expected: cell(expected_col),
                blocks: cell(blocks_col),
            }
        })
        .collect();
    ClarificationTable {
        range: t.range.clone(),
        header_cells: cell_spans(&t.header),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> HeadingKind {
        classify_heading(text, 0..text.len(), &Config::default())
    }

    #[test]
    fn headings_are_classified_tolerantly() {
        assert_eq!(kind("4.5 Stage Map"), HeadingKind::StageMap);
        assert_eq!(kind("**Stage Map:**"), HeadingKind::StageMap);
        assert_eq!(kind("5. Clarification Items"), HeadingKind::Clarifications);
        assert_eq!(kind("§5 Clarification Items"), HeadingKind::Clarifications);
        assert_eq!(
            kind("4.5.9 Plan Body Verification"),
            HeadingKind::Verification
        );
        assert_eq!(kind("4.5.3 Open Questions"), HeadingKind::OpenQuestions);
        let HeadingKind::Stage { number, title, .. } = kind("4.5.1 Stage 12 — Fix parser") else {
            panic!()
        };
        assert_eq!(number, 12);
        assert_eq!(&"4.5.1 Stage 12 — Fix parser"[title], "Fix parser");
        assert!(matches!(
            kind("Stage 3"),
            HeadingKind::Stage { number: 3, .. }
        ));
        assert!(matches!(
            kind("stage 3) x"),
            HeadingKind::Stage { number: 3, .. }
        ));
        assert_eq!(kind("Stage 3x"), HeadingKind::Other);
        assert_eq!(kind("Stage Exit Contract"), HeadingKind::ExitContract);
        assert_eq!(kind("Stages overview"), HeadingKind::Other);
    }

    #[test]
    fn depends_on_spellings() {
        let nums =
            |s: &str| parse_depends_on(s, 0).map(|v| v.iter().map(|d| d.stage).collect::<Vec<_>>());
        assert_eq!(nums("(none)"), Ok(vec![]));
        assert_eq!(nums("—"), Ok(vec![]));
        assert_eq!(nums(""), Ok(vec![]));
        assert_eq!(nums("1, 2"), Ok(vec![1, 2]));
        assert_eq!(nums("Stage 3 / S4 #5 `6`"), Ok(vec![3, 4, 5, 6]));
        assert_eq!(nums("1 and 2"), Ok(vec![1, 2]));
        assert_eq!(nums("1, soon"), Err(3..7));
        let r = parse_depends_on("Stage 3, 4", 10).unwrap();
        assert_eq!(r[0].range, 10..17);
        assert_eq!(r[1].range, 19..20);
    }

    #[test]
    fn clarification_refs_need_word_boundaries() {
        let refs: Vec<u32> = clarification_refs("majority-disagree → C-1, C-12; ABC-3 C-x", 0)
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(refs, [1, 12]);
    }

    #[test]
    fn stage_numbers() {
        assert_eq!(parse_stage_number("`3`"), Some(3));
        assert_eq!(parse_stage_number("Stage 3"), Some(3));
        assert_eq!(parse_stage_number("**S3**"), Some(3));
        assert_eq!(parse_stage_number("three"), None);
        assert_eq!(parse_stage_number(""), None);
    }

    fn stages(src: &str) -> Vec<(u32, bool, bool, bool)> {
        parse(src, &Config::default())
            .stages
            .iter()
            .map(|s| {
                (
                    s.number,
                    s.steps.is_some(),
                    s.exit_contract.is_some(),
                    s.validation.is_some(),
                )
            })
            .collect()
    }

    #[test]
    fn stage_headings_need_a_separator() {
        assert_eq!(kind("Stage 1 rollback"), HeadingKind::Other);
        assert_eq!(kind("Stage 1 of the rollout"), HeadingKind::Other);
        for h in [
            "Stage 1: a",
            "Stage 1 — a",
            "Stage 1 – a",
            "Stage 1 - a",
            "Stage 1. a",
            "Stage 1) a",
            "Stage 1",
            "**Stage 1:** a",
            "**Stage 1**: a",
            "4.5.1 Stage 1 — a",
        ] {
            assert!(
                matches!(kind(h), HeadingKind::Stage { number: 1, .. }),
                "{h}: {:?}",
                kind(h)
            );
        }
        let src = "**Stage 2:** Wire API";
        let HeadingKind::Stage { title, .. } = kind(src) else {
            panic!()
        };
        assert_eq!(&src[title], "Wire API");
    }

    #[test]
    fn heading_names_with_notes_and_repeated_stages() {
        assert_eq!(
            kind("4.5 Stage Map (depends-on DAG)"),
            HeadingKind::StageMap
        );
        assert_eq!(kind("Stage Map — v2"), HeadingKind::StageMap);
        assert_eq!(
            kind("Stage 1 — Stage Exit Contract"),
            HeadingKind::ExitContract
        );
        assert_eq!(kind("`Stage-Validation`"), HeadingKind::Validation);
        assert_eq!(normalize_label("  **Steps (effective)**: "), "steps");
        assert_eq!(normalize_label("step_count"), "step count");
        assert_eq!(normalize_label("added / modified"), "added/modified");
    }

    #[test]
    fn the_stage_region_ends_at_a_shallower_heading() {
        let src = "## 4.5 Stage Map\n### Stage 1: a\n#### Stage Validation\n## 7. Rollback\n### Stage 1: rollback\n#### Stage Validation\n";
        assert_eq!(stages(src), [(1, false, false, true)]);
        // Stage headings before the Stage Map are not stages.
        let before = "# Intro\n## Stage 9: x\n## Stage Map\n## Stage 1: a\n";
        assert_eq!(stages(before), [(1, false, false, false)]);
        // Without a Stage Map every stage heading counts (for stage-map-missing).
        assert_eq!(stages("## Stage 1: a\n## Stage 2: b\n").len(), 2);
    }

    #[test]
    fn flat_stages_keep_their_subsections_across_other_headings() {
        let src = "## Stage Map\n### Stage 1: a\n### Stepwise Execution Order\n### Rollback\ntext\n### Stage 1 — Stage Exit Contract\n### Stage Validation\n### Stage 2: b\n";
        assert_eq!(
            stages(src),
            [(1, true, true, true), (2, false, false, false)]
        );
    }

    #[test]
    fn map_columns_and_depends_on_spellings() {
        let src = "## Stage Map\n| `#` | Name | depends_on | Steps (effective) |\n|---|---|---|---|\n| S1 | a | depends-on (none) | 2 |\n| **2** | b | depends-on 1 | 3 |\n";
        let plan = parse(src, &Config::default());
        let rows = plan.map_rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].stage.value(), Some(&1));
        assert_eq!(rows[0].deps().len(), 0);
        assert!(rows[0].depends_on.value().is_some());
        assert_eq!(
            rows[1].deps().iter().map(|d| d.stage).collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(&src[rows[1].deps()[0].range.clone()], "1");
        assert_eq!(rows[1].steps.value(), Some(&3));
        let alt = src
            .replace("depends_on", "`depends-on`")
            .replace("Steps (effective)", "step_count");
        let plan = parse(&alt, &Config::default());
        assert_eq!(plan.map_rows()[1].steps.value(), Some(&3));
        assert_eq!(plan.map_rows()[1].deps().len(), 1);
    }

    fn predicted(contract: &str) -> Vec<String> {
        let src = format!(
            "## Stage Map\n### Stage 1: a\n#### Stage Exit Contract\n{contract}\n#### Stage Validation\n- ok\n"
        );
        let plan = parse(&src, &Config::default());
        plan.stages[0]
            .predicted()
            .iter()
            .map(|p| p.path.clone())
            .collect()
    }

    #[test]
    fn canonical_labels_are_written_as_keys() {
        for label in PREDICTED_LABELS {
            assert_eq!(normalize_label(label), label);
        }
    }

    #[test]
    fn predicted_files_lines_in_every_form() {
        let want = ["src/a.rs", "src/b.rs"];
        for contract in [
            "- Predicted added/modified files: `src/a.rs`, `src/b.rs`",
            "- Added/modified files (predicted): `src/a.rs`, `src/b.rs`",
            "- 추가/변경된 파일 (예측): `src/a.rs`, `src/b.rs`",
            "Predicted added/modified files: `src/a.rs`, `src/b.rs`",
            "**Predicted added/modified files**: `src/a.rs`, `src/b.rs`",
            "- **Predicted files:** `src/a.rs`, `src/b.rs`",
            "- Predicted files： `src/a.rs`, `src/b.rs`",
            "- Predicted added / modified files — `src/a.rs`, `src/b.rs`",
            "- 추가/변경된 파일(예측): `src/a.rs`, `src/b.rs`",
            "- Predicted files:\n  - `src/a.rs`\n  - `src/b.rs`",
            "Predicted files:\n\n- `src/a.rs`\n- `src/b.rs`",
            "Predicted files:\n- `src/a.rs`\n- `src/b.rs`",
            "- Newly exposed: `x`\n- Predicted files: `src/a.rs`, `src/b.rs`",
            "| Item | Value |\n|---|---|\n| Predicted files | `src/a.rs`, `src/b.rs` |",
        ] {
            assert_eq!(predicted(contract), want, "{contract}");
        }
    }

    proptest::proptest! {
        /// `Spans` (kept relative to their smallest start) hold and move
        /// what a plain list of ranges would, whatever the order they come
        /// in and wherever the edit falls (before them, at their start,
        /// among them, after them); equal lists make equal `Spans`.
        #[test]
        fn spans_move_as_a_list_of_ranges_does(
            raw in proptest::collection::vec((0usize..400, 0usize..40), 0..8),
            at in 0usize..500,
            removed in 0usize..30,
            inserted in 0usize..30,
        ) {
            let list: Vec<Span> = raw.iter().map(|&(s, l)| s..s + l).collect();
            let mut spans: Spans = list.iter().cloned().collect();
            proptest::prop_assert_eq!(spans.iter().collect::<Vec<_>>(), list.clone());
            let e = EditShift { start: at, old_end: at + removed, new_end: at + inserted };
            let mut moved = list.clone();
            moved.shift(&e);
            spans.shift(&e);
            proptest::prop_assert_eq!(spans.iter().collect::<Vec<_>>(), moved.clone());
            proptest::prop_assert_eq!(spans.len(), moved.len());
            proptest::prop_assert_eq!(spans.last(), moved.last().cloned());
            proptest::prop_assert_eq!(&spans, &moved.into_iter().collect::<Spans>());
        }
    }
}
