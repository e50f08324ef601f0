//! The stage graph: the Stage Map's depends-on graph in waves (stages that
//! can run together), each stage with its status and the next run batch,
//! with the cycles and the overlaps the rules report, drawn as SVG, mermaid
//! or Graphviz DOT.
//!
//! [`StageGraph::build`] reads the plan model, its facts and the stages'
//! status (`consumers.jsonl`, read by the caller); [`layout`] puts the
//! stages in waves (longest-path ranks over depends-on, cycles broken
//! where a depth-first search finds them) and orders each wave by
//! barycenter sweeps; `svg`, `mermaid` and `dot` render it.
//!
//! Invariant: pure (no I/O), deterministic (the same plan and status give
//! the same bytes), never panics on input, and every text taken from the
//! plan is escaped for the format it goes into. Time near-linear in stages
//! + edges: it runs on every (debounced) edit of an open plan.

mod dot;
pub mod layout;
mod mermaid;
mod svg;

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use crate::check::facts::Facts;
use crate::check::rules::overlap_code;
use crate::plan::config::{Config, SeverityOverride};
use crate::plan::model::Plan;
use crate::run::batch::{self, Options, Readiness, Requested, Status};

/// How the waves run: left to right (each wave a column) or top to bottom
/// (each wave a row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Direction {
    #[default]
    LeftToRight,
    TopToBottom,
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A self-contained SVG document (no fonts, scripts or links outside it).
    Svg,
    /// A mermaid flowchart (collapsed to one node per wave past mermaid's
    /// default limits).
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphOptions {
    /// Steps one run may take (the next batch's budget).
    pub budget: usize,
    /// Stages another run started may be taken again (okstra's own
    /// behaviour), as for `batch preview`.
    pub include_started: bool,
    pub direction: Direction,
    /// Overlap rule codes not drawn (those the settings turn `off`).
    pub hidden_overlaps: BTreeSet<String>,
}

impl Default for GraphOptions {
    fn default() -> GraphOptions {
        GraphOptions::from_config(&Config::default())
    }
}

impl GraphOptions {
    /// The budget, `includeStarted` and the overlap codes turned off of a
    /// configuration; left to right.
    pub fn from_config(config: &Config) -> GraphOptions {
        GraphOptions {
            budget: config.run_budget,
            include_started: config.include_started,
            direction: Direction::LeftToRight,
            hidden_overlaps: config
                .severity_overrides
                .iter()
                .filter(|(_, s)| **s == SeverityOverride::Off)
                .map(|(code, _)| code.clone())
                .collect(),
        }
    }
}

/// What `consumers.jsonl` says of a stage (as `batch preview` sorts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeStatus {
    Done,
    /// Started by another run and not done.
    Started,
    /// Every depends-on done.
    Ready,
    /// Waiting on a depends-on that is not done.
    Blocked,
}

impl NodeStatus {
    pub fn name(self) -> &'static str {
        match self {
            NodeStatus::Done => "done",
            NodeStatus::Started => "started",
            NodeStatus::Ready => "ready",
            NodeStatus::Blocked => "blocked",
        }
    }
}

/// One stage of the Stage Map (its first row, as the batch reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub stage: u32,
    /// The Stage Map's title cell, trimmed (may be empty).
    pub title: String,
    /// The step count the batch reads.
    pub steps: usize,
    pub status: NodeStatus,
    /// In the next run batch.
    pub in_batch: bool,
    /// 0-based wave (longest depends-on path from a stage without one).
    pub wave: usize,
    /// Where the editor reveals the stage: its section's heading, else its
    /// Stage Map row (byte range).
    pub anchor: Range<usize>,
}

impl Node {
    /// `3 steps · ready`, or `… · next batch`: the line under a stage's
    /// title in every format.
    pub(crate) fn detail(&self) -> String {
        let state = if self.in_batch {
            "next batch"
        } else {
            self.status.name()
        };
        format!("{} step{} · {state}", self.steps, plural(self.steps))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeKind {
    /// `to` depends on `from`.
    DependsOn,
    /// A depends-on link on a cycle (`to` depends on `from`); drawn red.
    Cycle,
    /// The two stages predict overlapping paths and may run together;
    /// `code` is the rule that reports it (`s9-file-overlap`,
    /// `s9-possible-overlap` or `parallel-file-overlap`), `paths` the shared
    /// paths (`p`, or `pa / pb` when they meet through a folder or glob).
    Overlap {
        code: &'static str,
        paths: Vec<String>,
    },
}

/// An edge between two nodes (indexes into [`StageGraph::nodes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
}

/// The next run batch, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextBatch {
    Selected {
        stages: Vec<u32>,
        total_steps: usize,
        budget: usize,
    },
    /// Nothing selectable, in okstra's words.
    None { reason: String },
}

impl NextBatch {
    /// `next batch: 1, 2 (5/8 steps)`, or `no next batch: <reason>`.
    pub fn caption(&self) -> String {
        match self {
            NextBatch::Selected {
                stages,
                total_steps,
                budget,
            } => {
                let list: Vec<String> = stages.iter().map(u32::to_string).collect();
                format!(
                    "next batch: {} ({total_steps}/{budget} steps)",
                    list.join(", ")
                )
            }
            NextBatch::None { reason } => format!("no next batch: {reason}"),
        }
    }
}

/// The graph of a plan, laid out in waves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageGraph {
    /// In Stage Map row order.
    pub nodes: Vec<Node>,
    /// Depends-on and cycle edges in node order (then depends-on order),
    /// then the overlaps in the order the facts list them.
    pub edges: Vec<Edge>,
    /// The nodes of each wave, in drawing order (top to bottom in a column,
    /// or left to right in a row).
    pub waves: Vec<Vec<usize>>,
    pub batch: NextBatch,
    pub direction: Direction,
}

impl StageGraph {
    /// The graph of `plan` (whose text is `src`, whose facts are `facts`)
    /// with the stages' `status`. A plan without a Stage Map, or with an
    /// empty one, gives an empty graph.
    pub fn build(
        src: &str,
        plan: &Plan,
        facts: &Facts,
        status: &Status,
        options: &GraphOptions,
    ) -> StageGraph {
        let stages = batch::stages(plan);
        let index: HashMap<u32, usize> = stages
            .iter()
            .enumerate()
            .map(|(i, s)| (s.number, i))
            .collect();
        let cycle: BTreeSet<(u32, u32)> = facts.cycles.iter().map(|e| (e.from, e.to)).collect();

        // Depends-on edges (a stage depending on itself is a cycle of one).
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); stages.len()];
        let mut edges = Vec::new();
        for (i, s) in stages.iter().enumerate() {
            let mut seen = BTreeSet::new();
            for d in &s.depends_on {
                let Some(&j) = index.get(d) else {
                    continue; // depends-on-unknown: no node to link
                };
                if !seen.insert(j) {
                    continue;
                }
                let on_cycle = j == i || cycle.contains(&(s.number, *d));
                edges.push(Edge {
                    from: j,
                    to: i,
                    kind: if on_cycle {
                        EdgeKind::Cycle
                    } else {
                        EdgeKind::DependsOn
                    },
                });
                if j != i {
                    deps[i].push(j);
                }
            }
        }
        for overlap in &facts.overlaps {
            let Some(code) = overlap_code(plan, &facts.graph, overlap) else {
                continue;
            };
            if options.hidden_overlaps.contains(code) {
                continue;
            }
            let (Some(&a), Some(&b)) = (index.get(&overlap.a), index.get(&overlap.b)) else {
                continue;
            };
            edges.push(Edge {
                from: a,
                to: b,
                kind: EdgeKind::Overlap {
                    code,
                    paths: shared_paths(plan, overlap, code),
                },
            });
        }

        let layers = layout::layers(&deps);

        let batch_options = Options {
            requested: Requested::Auto,
            budget: options.budget,
            include_started: options.include_started,
        };
        let (batch, selected) = match batch::select(&stages, status, &batch_options) {
            Ok(b) => {
                let selected: BTreeSet<u32> = b.stages.iter().copied().collect();
                (
                    NextBatch::Selected {
                        stages: b.stages,
                        total_steps: b.total_steps,
                        budget: b.budget,
                    },
                    selected,
                )
            }
            Err(e) => (
                NextBatch::None {
                    reason: e.message.clone(),
                },
                BTreeSet::new(),
            ),
        };
        let readiness: HashMap<u32, Readiness> =
            batch::readiness(&stages, status).into_iter().collect();

        let nodes = stages
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let row = plan.map_row(s.number);
                let title = row
                    .and_then(|r| r.title.clone())
                    .and_then(|t| src.get(t))
                    .map_or(String::new(), |t| t.trim().replace("\\|", "|"));
                let anchor = plan
                    .stage(s.number)
                    .map(|st| st.heading.clone())
                    .or_else(|| row.map(|r| r.range.clone()))
                    .unwrap_or(0..0);
                let status = match readiness.get(&s.number) {
                    Some(Readiness::Done) => NodeStatus::Done,
                    Some(Readiness::Started { .. }) => NodeStatus::Started,
                    Some(Readiness::Ready) => NodeStatus::Ready,
                    Some(Readiness::Blocked { .. }) | None => NodeStatus::Blocked,
                };
                Node {
                    stage: s.number,
                    title,
                    steps: s.steps,
                    status,
                    in_batch: selected.contains(&s.number),
                    wave: layers.wave[i],
                    anchor,
                }
            })
            .collect();
        StageGraph {
            nodes,
            edges,
            waves: layers.waves,
            batch,
            direction: options.direction,
        }
    }

    /// The graph in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Svg => self.svg(),
            Format::Mermaid => self.mermaid(),
            Format::Dot => self.dot(),
        }
    }

    /// A self-contained SVG document; each stage is a `<g data-stage="N">`.
    pub fn svg(&self) -> String {
        svg::render(self)
    }

    /// A mermaid flowchart.
    pub fn mermaid(&self) -> String {
        mermaid::render(self)
    }

    /// Graphviz DOT.
    pub fn dot(&self) -> String {
        dot::render(self)
    }

    /// Each stage and the byte range the editor reveals for it (its
    /// heading, else its Stage Map row), in Stage Map order.
    pub fn anchors(&self) -> impl Iterator<Item = (u32, Range<usize>)> + '_ {
        self.nodes.iter().map(|n| (n.stage, n.anchor.clone()))
    }

    /// The summary line every format shows: stages, waves, the next batch.
    pub(crate) fn caption(&self) -> String {
        format!(
            "{} stage{} in {} wave{}; {}",
            self.nodes.len(),
            plural(self.nodes.len()),
            self.waves.len(),
            plural(self.waves.len()),
            self.batch.caption()
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The paths two overlapping stages share, each once: `p` for an identical
/// pair, `pa / pb` for one through a folder or glob (S9 itself: only the
/// identical ones).
fn shared_paths(plan: &Plan, overlap: &crate::check::facts::Overlap, code: &str) -> Vec<String> {
    let exact_only = code == "s9-file-overlap";
    let (pas, pbs) = (
        plan.stage(overlap.a).map_or(&[][..], |s| s.predicted()),
        plan.stage(overlap.b).map_or(&[][..], |s| s.predicted()),
    );
    let mut out: Vec<String> = Vec::new();
    for pair in &overlap.paths {
        if exact_only && !pair.exact {
            continue;
        }
        let (Some(pa), Some(pb)) = (pas.get(pair.a), pbs.get(pair.b)) else {
            continue;
        };
        let s = if pa.path == pb.path {
            pa.path.clone()
        } else {
            format!("{} / {}", pa.path, pb.path)
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// `text` without the characters no format can carry (control characters
/// other than tab; XML 1.0 forbids them), with tabs as spaces.
pub(crate) fn printable(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .filter(|c| !matches!(*c, '\u{FFFE}' | '\u{FFFF}'))
        .map(|c| if c == '\t' { ' ' } else { c })
}

/// At most `max` columns of `text` (a wide character counts two), with `…`
/// when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    let total: usize = printable(text).map(width).sum();
    if total <= max {
        return printable(text).collect();
    }
    for c in printable(text) {
        let w = width(c);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// The columns a character takes in a proportional font, roughly: two for
/// East Asian wide characters, else one.
pub(crate) fn width(c: char) -> usize {
    let c = c as u32;
    let wide = (0x1100..=0x115F).contains(&c)
        || (0x2E80..=0xA4CF).contains(&c)
        || (0xAC00..=0xD7A3).contains(&c)
        || (0xF900..=0xFAFF).contains(&c)
        || (0xFE30..=0xFE4F).contains(&c)
        || (0xFF00..=0xFF60).contains(&c)
        || (0xFFE0..=0xFFE6).contains(&c)
        || (0x1F300..=0x1FAFF).contains(&c)
        || (0x20000..=0x3FFFD).contains(&c);
    if wide { 2 } else { 1 }
}

/// The shared paths of an overlap as one label: the first `max` and how
/// many more.
pub(crate) fn paths_label(paths: &[String], max: usize) -> String {
    let mut label = paths
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > max {
        label.push_str(&format!(" +{} more", paths.len() - max));
    }
    label
}

/// The colours of each status (fill, stroke) and of the edges, shared by
/// the formats so a legend means the same everywhere.
pub(crate) mod colour {
    use super::{Node, NodeStatus};

    pub const DONE: (&str, &str) = ("#d9f2dc", "#2e7d32");
    pub const STARTED: (&str, &str) = ("#ffe9b8", "#b26a00");
    pub const READY: (&str, &str) = ("#dbe9ff", "#3566c8");
    pub const NEXT: (&str, &str) = ("#9ec5ff", "#0b3d91");
    pub const BLOCKED: (&str, &str) = ("#eeeeee", "#8a8a8a");
    pub const EDGE: &str = "#666666";
    pub const RED: &str = "#d32f2f";
    pub const TEXT: &str = "#1b1b1b";

    /// A node's (fill, stroke): the next batch's colour for a stage in it,
    /// else its status's.
    pub fn of(node: &Node) -> (&'static str, &'static str) {
        if node.in_batch {
            return NEXT;
        }
        match node.status {
            NodeStatus::Done => DONE,
            NodeStatus::Started => STARTED,
            NodeStatus::Ready => READY,
            NodeStatus::Blocked => BLOCKED,
        }
    }

    /// The legend: (label, (fill, stroke)), in the order shown.
    pub const LEGEND: [(&str, (&str, &str)); 5] = [
        ("done", DONE),
        ("started", STARTED),
        ("ready", READY),
        ("next batch", NEXT),
        ("blocked", BLOCKED),
    ];
}

/// The node's class name in the formats: its status, or `next`.
pub(crate) fn class_of(node: &Node) -> &'static str {
    if node.in_batch {
        "next"
    } else {
        node.status.name()
    }
}

#[cfg(test)]
mod tests;
