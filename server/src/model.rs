//! The plan model: a typed reading of an okstra implementation plan
//! (`../shared/plan-format.md` §1–§2), built from the syntax outline.
//!
//! Invariant: no LSP types, no I/O; every element keeps the byte range of the
//! text it came from, so a finding can point at the exact cell. Building a
//! model never fails: what cannot be read is kept as `Field::Invalid`.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::config::Config;
use crate::syntax::{self, Block, Heading, ListItem, Row, Table};

pub type Span = Range<usize>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub stage_map: Option<StageMap>,
    /// Stage sections, in document order (duplicates kept).
    pub stages: Vec<Stage>,
    pub verification: Option<Verification>,
    pub clarifications: Option<Clarifications>,
    /// `Open Questions` headings (okstra wants them in §5 instead).
    pub open_questions: Vec<Span>,
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
    pub fn map_rows(&self) -> &[StageMapRow] {
        self.stage_map
            .as_ref()
            .and_then(|m| m.table.as_ref())
            .map_or(&[], |t| &t.rows)
    }

    /// The first Stage Map row for stage `n`.
    pub fn map_row(&self, n: u32) -> Option<&StageMapRow> {
        self.index.rows.get(n).and_then(|i| self.map_rows().get(i))
    }

    /// The position in `stages` of the first section of stage `n`.
    pub fn stage_position(&self, n: u32) -> Option<usize> {
        self.index.stages.get(n)
    }

    /// The first section of stage `n`.
    pub fn stage(&self, n: u32) -> Option<&Stage> {
        self.index.stages.get(n).and_then(|i| self.stages.get(i))
    }

    /// Rebuilds the number → position indexes (after building or editing).
    pub fn reindex(&mut self) {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTable {
    pub heading: Span,
    pub heading_level: u8,
    pub table: Option<StepRows>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRows {
    pub range: Span,
    pub header: Span,
    pub header_cells: Vec<Span>,
    /// Required columns the header lacks.
    pub missing_columns: Vec<&'static str>,
    /// Data rows with at least one non-blank cell.
    pub effective_rows: Vec<Row>,
    /// Every data row, blank ones included.
    pub all_rows: Vec<Row>,
}

pub const STEP_COLUMNS: [&str; 5] = ["step", "action", "files", "command", "expected"];

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
    pub items: Vec<Span>,
    pub content_end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub heading: Span,
    pub heading_level: u8,
    pub rows: Vec<VerificationRow>,
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

/// What a heading is, for the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadingKind {
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

/// Lower-cases a label and drops what plan-format §2 says to ignore:
/// surrounding whitespace, `**`, a trailing `:`.
pub fn normalize_label(s: &str) -> String {
    let s = s.replace("**", "").replace("__", "");
    let s = s.trim().trim_end_matches(':').trim();
    s.to_lowercase()
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

fn label_is(label: &str, canonical: &[&str], config: &Config, key: &str) -> bool {
    canonical.contains(&label) || config.aliases(key).iter().any(|a| a == label)
}

/// Classifies a heading's text.
pub fn classify_heading(src: &str, text: Span, config: &Config) -> HeadingKind {
    let Some(raw) = src.get(text.clone()) else {
        return HeadingKind::Other;
    };
    let start = skip_number_prefix(raw);
    let rest = &raw[start..];
    if let Some(kind) = stage_heading(text.start + start, rest, config) {
        return kind;
    }
    let label = normalize_label(rest);
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

/// `Stage <N>` followed by the end, whitespace or a separator (`: — – - . )`).
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
    let after = &rest[i..];
    let trimmed = after.trim_start();
    let title_rel = if trimmed.is_empty() {
        rest.len()
    } else if let Some(c) = trimmed.chars().next().filter(|c| ":—–-.)".contains(*c)) {
        let skip = after.len() - trimmed.len() + c.len_utf8();
        let t = &after[skip..];
        i + skip + (t.len() - t.trim_start().len())
    } else if after.starts_with([' ', '\t']) {
        i + (after.len() - trimmed.len())
    } else {
        return None;
    };
    let title = (offset + title_rel)..(offset + rest.trim_end().len()).max(offset + title_rel);
    Some(HeadingKind::Stage {
        number,
        number_range,
        title,
    })
}

/// Builds the model from a parsed document.
pub fn build(src: &str, tree: &tree_sitter::Tree, config: &Config) -> Plan {
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

enum Scope {
    None,
    StageMap(u8),
    Stage { sub: Option<(Sub, u8)> },
    Verification(u8),
    Clarifications(u8),
}

pub fn build_from_outline<'b>(
    src: &str,
    blocks: impl IntoIterator<Item = &'b Block>,
    config: &Config,
) -> Plan {
    build_blocks(src, blocks, config, trimmed_end(src))
}

/// Builds from a run of blocks; the last open stage ends at `end` (lets the
/// document re-derive one part of the plan from its own blocks).
pub fn build_blocks<'b>(
    src: &str,
    blocks: impl IntoIterator<Item = &'b Block>,
    config: &Config,
    end: usize,
) -> Plan {
    let mut plan = Plan::default();
    let mut scope = Scope::None;
    // Index into plan.stages of the open stage.
    let mut open_stage: Option<usize> = None;

    let close_stage = |plan: &mut Plan, open: &mut Option<usize>, at: usize| {
        if let Some(i) = open.take() {
            if let Some(s) = plan.stages.get_mut(i) {
                s.section.end = at.max(s.section.start);
            }
        }
    };

    for block in blocks {
        match block {
            Block::Heading(h) => {
                let kind = classify_heading(src, h.text.clone(), config);
                match kind {
                    HeadingKind::Stage {
                        number,
                        number_range,
                        title,
                    } => {
                        close_stage(&mut plan, &mut open_stage, h.range.start);
                        plan.stages.push(Stage {
                            number,
                            number_range,
                            title,
                            heading: h.range.clone(),
                            heading_level: h.level,
                            section: h.range.start..src.len(),
                            steps: None,
                            exit_contract: None,
                            validation: None,
                        });
                        open_stage = Some(plan.stages.len() - 1);
                        scope = Scope::Stage { sub: None };
                    }
                    HeadingKind::Stepwise | HeadingKind::ExitContract | HeadingKind::Validation
                        if open_stage.is_some() =>
                    {
                        let stage = open_stage.and_then(|i| plan.stages.get_mut(i));
                        let Some(stage) = stage else { continue };
                        let sub = open_subsection(stage, &kind, h);
                        scope = Scope::Stage {
                            sub: Some((sub, h.level)),
                        };
                    }
                    HeadingKind::StageMap => {
                        close_stage(&mut plan, &mut open_stage, h.range.start);
                        if plan.stage_map.is_none() {
                            plan.stage_map = Some(StageMap {
                                heading: h.range.clone(),
                                heading_level: h.level,
                                table: None,
                            });
                            scope = Scope::StageMap(h.level);
                        } else {
                            scope = Scope::None;
                        }
                    }
                    HeadingKind::Verification => {
                        close_stage(&mut plan, &mut open_stage, h.range.start);
                        if plan.verification.is_none() {
                            plan.verification = Some(Verification {
                                heading: h.range.clone(),
                                heading_level: h.level,
                                rows: Vec::new(),
                            });
                        }
                        scope = Scope::Verification(h.level);
                    }
                    HeadingKind::Clarifications => {
                        close_stage(&mut plan, &mut open_stage, h.range.start);
                        if plan.clarifications.is_none() {
                            plan.clarifications = Some(Clarifications {
                                heading: h.range.clone(),
                                heading_level: h.level,
                                table: None,
                                content_end: h.range.end,
                            });
                        }
                        scope = Scope::Clarifications(h.level);
                    }
                    HeadingKind::OpenQuestions => {
                        close_stage(&mut plan, &mut open_stage, h.range.start);
                        plan.open_questions.push(h.range.clone());
                        scope = Scope::None;
                    }
                    _ => {
                        scope = match scope {
                            Scope::Stage { sub } => {
                                let stage_level = open_stage
                                    .and_then(|i| plan.stages.get(i))
                                    .map_or(0, |s| s.heading_level);
                                if h.level <= stage_level {
                                    close_stage(&mut plan, &mut open_stage, h.range.start);
                                    Scope::None
                                } else {
                                    match sub {
                                        Some((_, l)) if h.level <= l => Scope::Stage {
                                            sub: Some((Sub::Unknown, h.level)),
                                        },
                                        other => Scope::Stage { sub: other },
                                    }
                                }
                            }
                            Scope::StageMap(l)
                            | Scope::Verification(l)
                            | Scope::Clarifications(l)
                                if h.level <= l =>
                            {
                                Scope::None
                            }
                            other => other,
                        };
                    }
                }
            }
            Block::Table(t) => match &scope {
                Scope::StageMap(_) => {
                    if let Some(map) = plan.stage_map.as_mut().filter(|m| m.table.is_none()) {
                        map.table = Some(map_table(src, t));
                    }
                }
                Scope::Stage {
                    sub: Some((Sub::Stepwise, _)),
                } => {
                    if let Some(steps) = open_stage
                        .and_then(|i| plan.stages.get_mut(i))
                        .and_then(|s| s.steps.as_mut())
                        .filter(|s| s.table.is_none())
                    {
                        steps.table = Some(step_rows(src, t));
                    }
                }
                Scope::Verification(_) => {
                    if let Some(v) = plan.verification.as_mut().filter(|v| v.rows.is_empty()) {
                        v.rows = verification_rows(src, t);
                    }
                }
                Scope::Clarifications(_) => {
                    if let Some(c) = plan.clarifications.as_mut() {
                        if c.table.is_none() {
                            c.table = Some(clarification_table(src, t));
                        }
                        c.content_end = c.content_end.max(t.range.end);
                    }
                }
                _ => {}
            },
            Block::List(l) => {
                if let Scope::Stage {
                    sub: Some((sub, _)),
                } = scope
                {
                    let Some(stage) = open_stage.and_then(|i| plan.stages.get_mut(i)) else {
                        continue;
                    };
                    match sub {
                        Sub::Exit => {
                            if let Some(c) = stage.exit_contract.as_mut() {
                                c.content_end = c.content_end.max(l.range.end);
                                if c.predicted.is_none() {
                                    c.predicted = l
                                        .items
                                        .iter()
                                        .find_map(|it| predicted_files(src, it, config));
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
                if let Scope::Clarifications(_) = scope {
                    if let Some(c) = plan.clarifications.as_mut() {
                        c.content_end = c.content_end.max(l.range.end);
                    }
                }
            }
        }
    }
    close_stage(&mut plan, &mut open_stage, end);
    plan.reindex();
    plan
}

pub fn trimmed_end(src: &str) -> usize {
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
                    items: Vec::new(),
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

fn find_column(names: &[String], accepted: &[&str]) -> Option<usize> {
    names.iter().position(|n| accepted.contains(&n.as_str()))
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
            ],
        ),
        title: find_column(&names, &["title", "name"]),
        depends_on: find_column(
            &names,
            &[
                "depends-on",
                "depends on",
                "deps",
                "dependencies",
                "depends",
            ],
        ),
        steps: find_column(&names, &["steps", "step count", "effective steps", "step"]),
    };
    let rows = t
        .rows
        .iter()
        .filter(|r| !row_is_blank(src, r))
        .map(|r| {
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
        })
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
    r.cells
        .iter()
        .all(|c| src[c.range.clone()].trim().is_empty())
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
pub fn parse_stage_number(s: &str) -> Option<u32> {
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

fn parse_count(s: &str) -> Option<usize> {
    let s = undecorate(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The spellings of "no dependency".
pub fn is_none_marker(s: &str) -> bool {
    let s = undecorate(s).to_lowercase();
    matches!(
        s.as_str(),
        "" | "(none)" | "none" | "-" | "—" | "–" | "n/a" | "(없음)" | "없음"
    )
}

/// Reads a depends-on cell starting at byte `base`. Err carries the first
/// token that is not a stage reference.
pub fn parse_depends_on(s: &str, base: usize) -> Result<Vec<DepRef>, Span> {
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
    let all_rows: Vec<Row> = t.rows.clone();
    let effective_rows = all_rows
        .iter()
        .filter(|r| !row_is_blank(src, r))
        .cloned()
        .collect();
    StepRows {
        range: t.range.clone(),
        header: t.header.range.clone(),
        header_cells: cell_spans(&t.header),
        missing_columns,
        effective_rows,
        all_rows,
    }
}

const PREDICTED_LABELS: [&str; 4] = [
    "predicted added/modified files",
    "added/modified files (predicted)",
    "predicted files",
    "추가/변경된 파일 (예측)",
];

fn predicted_files(src: &str, item: &ListItem, config: &Config) -> Option<PredictedFiles> {
    let text = src.get(item.text.clone())?;
    let colon = text.find(':')?;
    let mut label = normalize_label(&text[..colon]);
    // `**Predicted files:**` leaves `**` after the colon.
    if label.is_empty() {
        return None;
    }
    label = label.trim_end_matches(':').trim().to_string();
    if !label_is(&label, &PREDICTED_LABELS, config, "Predicted files") {
        return None;
    }
    let mut after = item.text.start + colon + 1;
    if src[after..item.text.end].starts_with("**") {
        after += 2;
    }
    let mut files = Vec::new();
    crate::paths::collect_paths(src, after..item.text.end, &mut files);
    fn walk(src: &str, items: &[ListItem], files: &mut Vec<PredictedPath>) {
        for child in items {
            crate::paths::collect_paths(src, child.text.clone(), files);
            walk(src, &child.children, files);
        }
    }
    walk(src, &item.children, &mut files);
    Some(PredictedFiles {
        item: item.range.clone(),
        text: item.text.clone(),
        files,
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
pub fn clarification_refs(text: &str, base: usize) -> Vec<ClarificationRef> {
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
}
