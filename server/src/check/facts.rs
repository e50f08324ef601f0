//! Whole-plan facts that several rules, fixes and the batch share: the
//! depends-on graph (petgraph) with its reachability closure, the cycles
//! and the predicted-path overlaps.
//!
//! Every fact is computed in time near-linear in stages + edges + paths
//! (plan-format §3 "bounded output"): the closure is a bitset per strongly
//! connected component, built once per change of the depends-on graph; a
//! cycle is traced for the first `CYCLES_TRACED` edges only; overlaps are
//! sparse (see `overlaps`). A plan of thousands of stages that all share one
//! file costs a few milliseconds, not the millions of pairs it has.
//!
//! Invariant: pure functions of the plan model; no LSP types, no I/O.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use globset::{Glob, GlobBuilder, GlobMatcher};
use petgraph::graphmap::DiGraphMap;

use crate::plan::model::{Field, PathKind, Plan};

/// The depends-on graph: an edge `a -> b` means "stage a depends on stage b".
/// Nodes are the Stage Map's stage numbers; self-edges and edges to unknown
/// stages are left out (their own rules report them).
#[derive(Debug, Clone, Default)]
pub struct DepGraph {
    pub graph: DiGraphMap<u32, ()>,
    /// Which stages each stage reaches; `None` over `MAX_CLOSURE_NODES`.
    closure: Option<Arc<Closure>>,
    /// What the graph was built from: the closure and everything derived
    /// from it are kept while an edit leaves this unchanged.
    shape: Shape,
}

/// The Stage Map as far as the graph and the overlaps read it: each row's
/// number and its depends-on (`None` when the cell cannot be read).
type Shape = Vec<(u32, Option<Vec<u32>>)>;

fn shape(plan: &Plan) -> Shape {
    plan.map_rows()
        .iter()
        .filter_map(|row| {
            let n = *row.stage.value()?;
            let deps = match &row.depends_on {
                Field::Ok(v, _) => Some(v.iter().map(|d| d.stage).collect()),
                _ => None,
            };
            Some((n, deps))
        })
        .collect()
}

/// Above this many stages the closure (stages² bits: 32 MiB here) is not
/// built: `reaches` searches the graph instead, and overlaps between
/// unordered stages (`parallel-file-overlap`) are not looked for.
pub(crate) const MAX_CLOSURE_NODES: usize = 16_384;

thread_local! {
    static CLOSURES_BUILT: Cell<usize> = const { Cell::new(0) };
}

/// How many reachability closures this thread has built (tests assert that
/// an edit outside the depends-on graph builds none).
#[cfg(test)]
pub(crate) fn closures_built() -> usize {
    CLOSURES_BUILT.with(Cell::get)
}

/// Reachability: for each strongly connected component, the bitsets of the
/// stages it reaches through one or more depends-on links and of those that
/// reach it. Bit indexes are Stage Map order.
#[derive(Debug)]
struct Closure {
    /// Stage number → bit index.
    bit: FastMap<u32, usize>,
    /// Bit index → stage number.
    number: Vec<u32>,
    /// Bit index → component.
    component: Vec<usize>,
    /// Component → reached stages, `words` u64s each.
    below: Vec<u64>,
    /// Component → stages that reach it, `words` u64s each.
    above: Vec<u64>,
    words: usize,
}

impl Closure {
    fn new(graph: &DiGraphMap<u32, ()>) -> Closure {
        CLOSURES_BUILT.with(|c| c.set(c.get() + 1));
        let number: Vec<u32> = graph.nodes().collect();
        let bit: FastMap<u32, usize> = number.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let words = bit.len().div_ceil(64);
        // Tarjan gives the components sinks first: every component a
        // component depends on comes before it.
        let components = petgraph::algo::tarjan_scc(graph);
        let mut component = vec![0; bit.len()];
        for (c, members) in components.iter().enumerate() {
            for n in members {
                component[bit[n]] = c;
            }
        }
        let propagate = |order: &mut dyn Iterator<Item = usize>, direction| {
            let mut rows = vec![0u64; components.len() * words];
            let mut merged = Vec::new();
            for c in order {
                let members = &components[c];
                let mut row = vec![0u64; words];
                if members.len() > 1 {
                    for n in members {
                        set(&mut row, bit[n]);
                    }
                }
                merged.clear();
                for &n in members {
                    for next in graph.neighbors_directed(n, direction) {
                        let d = component[bit[&next]];
                        if d != c {
                            set(&mut row, bit[&next]);
                            merged.push(d);
                        }
                    }
                }
                merged.sort_unstable();
                merged.dedup();
                for &d in &merged {
                    for (w, x) in row.iter_mut().zip(&rows[d * words..(d + 1) * words]) {
                        *w |= x;
                    }
                }
                rows[c * words..(c + 1) * words].copy_from_slice(&row);
            }
            rows
        };
        let below = propagate(&mut (0..components.len()), petgraph::Outgoing);
        let above = propagate(&mut (0..components.len()).rev(), petgraph::Incoming);
        Closure {
            bit,
            number,
            component,
            below,
            above,
            words,
        }
    }

    fn reaches(&self, from: u32, to: u32) -> Option<bool> {
        let (&f, &t) = (self.bit.get(&from)?, self.bit.get(&to)?);
        let row = self.component[f] * self.words;
        Some(self.below[row + t / 64] >> (t % 64) & 1 == 1)
    }
}

fn set(row: &mut [u64], i: usize) {
    row[i / 64] |= 1 << (i % 64);
}

impl DepGraph {
    pub fn new(plan: &Plan) -> DepGraph {
        DepGraph::from_shape(shape(plan))
    }

    fn from_shape(shape: Shape) -> DepGraph {
        let mut graph = DiGraphMap::new();
        for (n, _) in &shape {
            graph.add_node(*n);
        }
        for (n, deps) in &shape {
            for &dep in deps.iter().flatten() {
                if dep != *n && graph.contains_node(dep) {
                    graph.add_edge(*n, dep, ());
                }
            }
        }
        let closure =
            (graph.node_count() <= MAX_CLOSURE_NODES).then(|| Arc::new(Closure::new(&graph)));
        DepGraph {
            graph,
            closure,
            shape,
        }
    }

    /// Whether `from` depends on `to`, directly or through other stages.
    pub fn reaches(&self, from: u32, to: u32) -> bool {
        if from == to {
            return true;
        }
        match &self.closure {
            Some(c) => c.reaches(from, to).unwrap_or(false),
            None => self.path(from, to).is_some(),
        }
    }

    /// A shortest depends-on path from `from` to `to` (both included).
    pub fn path(&self, from: u32, to: u32) -> Option<Vec<u32>> {
        if !self.graph.contains_node(from) || !self.graph.contains_node(to) {
            return None;
        }
        let mut prev: HashMap<u32, u32> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(n) = queue.pop_front() {
            for next in self.graph.neighbors(n) {
                if next == to {
                    let mut path = vec![to, n];
                    let mut cur = n;
                    while cur != from {
                        cur = prev[&cur];
                        path.push(cur);
                    }
                    path.reverse();
                    return Some(path);
                }
                if next != from && !prev.contains_key(&next) {
                    prev.insert(next, n);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// Every edge that lies on a cycle, in document order (of its
    /// depends-on entry); the first `CYCLES_TRACED` carry a shortest whole
    /// cycle through them.
    pub(crate) fn cycle_edges(&self, plan: &Plan) -> Vec<CycleEdge> {
        let mut out = Vec::new();
        for scc in petgraph::algo::tarjan_scc(&self.graph) {
            if scc.len() < 2 {
                continue;
            }
            let members: BTreeSet<u32> = scc.iter().copied().collect();
            for &a in &members {
                for b in self.graph.neighbors(a).filter(|b| members.contains(b)) {
                    out.push(CycleEdge {
                        from: a,
                        to: b,
                        cycle: Vec::new(),
                        len: 0,
                        component: members.len(),
                    });
                }
            }
        }
        let at = |e: &CycleEdge| {
            plan.map_row(e.from)
                .and_then(|r| r.deps().iter().find(|d| d.stage == e.to))
                .map_or(usize::MAX, |d| d.range.start)
        };
        out.sort_by_key(|e| (at(e), e.from, e.to));
        for e in out.iter_mut().take(CYCLES_TRACED) {
            if let Some(back) = self.path(e.to, e.from) {
                e.len = back.len() + 1;
                e.cycle = std::iter::once(e.from)
                    .chain(back)
                    .take(CYCLE_PREFIX)
                    .collect();
            }
        }
        out
    }

    /// Whether adding `from depends on to` would close a cycle.
    pub(crate) fn would_cycle(&self, from: u32, to: u32) -> bool {
        from == to || self.reaches(to, from)
    }
}

/// How many cycle edges get a traced cycle (one graph search each): more
/// than a rule reports (`rules::MAX_PER_RULE`), so every shown finding has
/// one unless suppression comments hide dozens of them.
pub(crate) const CYCLES_TRACED: usize = 256;

/// How much of a traced cycle is kept: more than a message names.
const CYCLE_PREFIX: usize = 40;

/// An edge of the depends-on graph that lies on a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleEdge {
    pub from: u32,
    pub to: u32,
    /// The start of a shortest whole cycle through the edge,
    /// `[from, to, …, from]`, at most `CYCLE_PREFIX` stages; empty when the
    /// edge was not traced.
    pub cycle: Vec<u32>,
    /// The length of that whole list (0 when not traced).
    pub len: usize,
    /// How many stages depend on each other around this edge (its strongly
    /// connected component).
    pub component: usize,
}

/// Two stages whose predicted files overlap, with the paths that do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// `a` comes first in the document.
    pub a: u32,
    pub b: u32,
    /// The overlapping paths, in (a's path, b's path) order.
    pub paths: Vec<PathPair>,
}

impl Overlap {
    /// Whether some pair is an identical normalised string: okstra's S9
    /// comparison, not only an overlap through a folder or a glob.
    pub(crate) fn is_exact(&self) -> bool {
        self.paths.iter().any(|p| p.exact)
    }
}

/// Two overlapping predicted paths: indexes into `plan.stage(a).predicted()`
/// and `plan.stage(b).predicted()` (indexes, not copies: the facts outlive
/// edits that only move text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathPair {
    pub a: usize,
    pub b: usize,
    /// The two normalised strings are identical, whatever their kind
    /// (plan-format §2 "Overlap"); else they overlap through a folder (one
    /// lies under the other, or `src` and `src/`) or a glob.
    pub exact: bool,
}

/// The whole-plan facts, computed once per model and kept by an open
/// document for as long as the parts they depend on do not change.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub graph: DepGraph,
    /// Every edge on a cycle (see `DepGraph::cycle_edges`).
    pub cycles: Vec<CycleEdge>,
    pub overlaps: Vec<Overlap>,
}

impl Facts {
    pub fn new(plan: &Plan) -> Facts {
        let graph = DepGraph::new(plan);
        let cycles = graph.cycle_edges(plan);
        let overlaps = overlaps(plan, &graph);
        Facts {
            graph,
            cycles,
            overlaps,
        }
    }

    /// After a Stage Map change. The graph, its closure, the cycles and the
    /// overlaps are redone only when a row's number or depends-on changed;
    /// a title or step-count edit keeps them all.
    pub(crate) fn refresh_graph(&mut self, plan: &Plan) {
        let now = shape(plan);
        if now == self.graph.shape {
            // Same graph, but the depends-on entries may have moved within
            // the table: the cycles keep their ranges through the plan.
            return;
        }
        self.graph = DepGraph::from_shape(now);
        self.cycles = self.graph.cycle_edges(plan);
        self.overlaps = overlaps(plan, &self.graph);
    }

    /// After a predicted-files change: the overlaps again (the graph and its
    /// closure are kept).
    pub(crate) fn refresh_overlaps(&mut self, plan: &Plan) {
        self.overlaps = overlaps(plan, &self.graph);
    }
}

/// One predicted path: (stage order in `plan.stages`, index in its
/// predicted paths).
type Entry = (usize, usize);

/// What the overlap search knows of a stage.
#[derive(Clone, Copy, Default)]
struct Standing {
    number: u32,
    /// Its depends-on is readable and `(none)`.
    root: bool,
    /// The first section of its number (duplicates are reported apart and
    /// their paths not compared).
    first: bool,
}

/// The predicted paths by place.
struct PathIndex<'p> {
    plan: &'p Plan,
    /// File path → its holders, in stage order.
    files: FastMap<&'p str, Vec<Entry>>,
    /// Folder path without its final `/` → its holders, in stage order.
    dirs: FastMap<&'p str, Vec<Entry>>,
    /// Every file and folder key, sorted, for "everything under a folder".
    sorted: Vec<&'p str>,
    globs: Vec<(Entry, GlobPattern)>,
    /// Per file key, per folder key and per glob: the globs that overlap it.
    glob_files: FastMap<&'p str, Vec<Entry>>,
    glob_dirs: FastMap<&'p str, Vec<Entry>>,
    /// Per glob, the other globs: the identical strings and those that only
    /// meet it apart, because every list must be all exact or all not (the
    /// nearest root of a mixed list could hide an S9 pair behind a warning).
    glob_same: Vec<Vec<Entry>>,
    glob_globs: Vec<Vec<Entry>>,
}

impl<'p> PathIndex<'p> {
    fn new(plan: &'p Plan, standing: &[Standing]) -> PathIndex<'p> {
        let mut index = PathIndex {
            plan,
            files: FastMap::default(),
            dirs: FastMap::default(),
            sorted: Vec::new(),
            globs: Vec::new(),
            glob_files: FastMap::default(),
            glob_dirs: FastMap::default(),
            glob_same: Vec::new(),
            glob_globs: Vec::new(),
        };
        for (order, s) in plan.stages.iter().enumerate() {
            if !standing[order].first {
                continue;
            }
            for (k, p) in s.predicted().iter().enumerate() {
                match p.kind {
                    PathKind::File => index.files.entry(&p.path).or_default().push((order, k)),
                    PathKind::Dir => index
                        .dirs
                        .entry(p.path.trim_end_matches('/'))
                        .or_default()
                        .push((order, k)),
                    PathKind::Glob => index.globs.push(((order, k), GlobPattern::new(&p.path))),
                }
            }
        }
        index.sorted = index
            .files
            .keys()
            .chain(index.dirs.keys())
            .copied()
            .collect();
        index.sorted.sort_unstable();
        index.sorted.dedup();
        // Globs are rare: each is compared with every key and other glob.
        index.glob_globs = vec![Vec::new(); index.globs.len()];
        index.glob_same = vec![Vec::new(); index.globs.len()];
        for (gi, (g, pattern)) in index.globs.iter().enumerate() {
            for key in index.files.keys() {
                if pattern.matches(key) {
                    index.glob_files.entry(key).or_default().push(*g);
                }
            }
            for key in index.dirs.keys() {
                if pattern.meets_folder(key) {
                    index.glob_dirs.entry(key).or_default().push(*g);
                }
            }
            for (hi, (h, other)) in index.globs.iter().enumerate().skip(gi + 1) {
                if index.path(*g) == index.path(*h) {
                    index.glob_same[gi].push(*h);
                    index.glob_same[hi].push(*g);
                } else if pattern.meets(other) {
                    index.glob_globs[gi].push(*h);
                    index.glob_globs[hi].push(*g);
                }
            }
        }
        for list in index
            .glob_files
            .values_mut()
            .chain(index.glob_dirs.values_mut())
        {
            list.sort_unstable();
        }
        for list in index.glob_globs.iter_mut().chain(&mut index.glob_same) {
            list.sort_unstable();
        }
        index
    }

    fn path(&self, (order, k): Entry) -> &'p str {
        &self.plan.stages[order].predicted()[k].path
    }

    /// Calls `visit` with every list of holders (each in stage order) whose
    /// paths overlap path `x`: the same place, the folders it lies in,
    /// what lies under it (a folder), and the globs that overlap it or, for
    /// a glob, what it overlaps.
    fn lists(&self, x: Entry, mut visit: impl FnMut(&[Entry])) {
        let p = &self.plan.stages[x.0].predicted()[x.1];
        let key = match p.kind {
            PathKind::File => p.path.as_str(),
            PathKind::Dir => p.path.trim_end_matches('/'),
            PathKind::Glob => {
                let Some(gi) = self.globs.iter().position(|(g, _)| *g == x) else {
                    return;
                };
                let pattern = &self.globs[gi].1;
                for (key, holders) in &self.files {
                    if pattern.matches(key) {
                        visit(holders);
                    }
                }
                for (key, holders) in &self.dirs {
                    if pattern.meets_folder(key) {
                        visit(holders);
                    }
                }
                visit(&self.glob_same[gi]);
                visit(&self.glob_globs[gi]);
                return;
            }
        };
        // `src` predicted as a file and `src/` as a folder are one place.
        let globs = if p.kind == PathKind::File {
            &self.glob_files
        } else {
            &self.glob_dirs
        };
        for map in [&self.files, &self.dirs, globs] {
            if let Some(holders) = map.get(key) {
                visit(holders);
            }
        }
        for parent in parents(key) {
            if let Some(holders) = self.dirs.get(parent) {
                visit(holders);
            }
        }
        if p.kind == PathKind::Dir && !key.is_empty() {
            // Every key that starts with `key/` (`0` follows `/`).
            let (lo, hi) = (format!("{key}/"), format!("{key}0"));
            let from = self.sorted.partition_point(|k| *k < lo.as_str());
            let to = self.sorted.partition_point(|k| *k < hi.as_str());
            for under in &self.sorted[from..to] {
                for map in [&self.files, &self.dirs] {
                    if let Some(holders) = map.get(under) {
                        visit(holders);
                    }
                }
            }
        }
    }
}

/// The overlaps that matter to the rules, found sparsely: each predicted
/// path is paired, in each list of paths that overlap it, with
/// - the nearest earlier `depends-on (none)` stage in the document, when its
///   own stage is one (S9 and its possible-overlap warning compare roots),
/// - the nearest earlier stage in Stage Map order that can be ready at the
///   same moment (neither reaches the other; not both roots), found with
///   the closure's bitsets, word by word.
///
/// So a stage that shares a path with others is always reported against
/// one of them (the nearest), and n stages that all predict `src/lib.rs`
/// give n − 1 pairs, not n(n − 1)/2. Each pair then lists every path the
/// two stages share. Ordered stages are never paired: no rule reports them.
pub fn overlaps(plan: &Plan, graph: &DepGraph) -> Vec<Overlap> {
    let mut seen = BTreeSet::new();
    let standing: Vec<Standing> = plan
        .stages
        .iter()
        .map(|s| {
            let row = plan.map_row(s.number);
            Standing {
                number: s.number,
                root: row.is_some_and(|r| matches!(&r.depends_on, Field::Ok(v, _) if v.is_empty())),
                first: seen.insert(s.number),
            }
        })
        .collect();
    let index = PathIndex::new(plan, &standing);
    let parallel = graph
        .closure
        .as_deref()
        .map(|c| Parallel::new(c, &standing));

    // Stage order of the later stage in the document → the earlier ones it
    // is paired with.
    let mut partners: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    let mut pair = |x: usize, y: usize| {
        partners.entry(x.max(y)).or_default().insert(x.min(y));
    };
    let mut list_bits: FastMap<usize, Vec<u64>> = FastMap::default();
    for (order, s) in plan.stages.iter().enumerate() {
        let me = standing[order];
        if !me.first {
            continue;
        }
        for k in 0..s.predicted().len() {
            index.lists((order, k), |holders| {
                if me.root {
                    let before = &holders[..holders.partition_point(|h| h.0 < order)];
                    if let Some(a) = before.iter().rev().find(|h| standing[h.0].root) {
                        pair(a.0, order);
                    }
                }
                if let Some(p) = &parallel
                    && let Some(a) = p.nearest(order, holders, &mut list_bits)
                {
                    pair(a, order);
                }
            });
        }
    }

    path_pairs(plan, &index, &standing, &partners)
}

/// Every path pair of each pair of stages `overlaps` found (later stage in
/// the document → the earlier ones), in document order.
fn path_pairs(
    plan: &Plan,
    index: &PathIndex,
    standing: &[Standing],
    partners: &BTreeMap<usize, BTreeSet<usize>>,
) -> Vec<Overlap> {
    let mut out = Vec::new();
    for (b, with) in partners {
        let mut pairs: BTreeMap<usize, BTreeSet<PathPair>> = BTreeMap::new();
        for k in 0..plan.stages[*b].predicted().len() {
            let mine = index.path((*b, k));
            index.lists((*b, k), |holders| {
                for &a in with {
                    let from = holders.partition_point(|h| h.0 < a);
                    for h in holders[from..].iter().take_while(|h| h.0 == a) {
                        pairs.entry(a).or_default().insert(PathPair {
                            a: h.1,
                            b: k,
                            exact: index.path(*h) == mine,
                        });
                    }
                }
            });
        }
        for (a, paths) in pairs {
            out.push((
                a,
                *b,
                Overlap {
                    a: standing[a].number,
                    b: standing[*b].number,
                    paths: paths.into_iter().collect(),
                },
            ));
        }
    }
    out.sort_by_key(|(a, b, _)| (*a, *b));
    out.into_iter().map(|(_, _, o)| o).collect()
}

/// The search for the nearest stage that can be ready together with a
/// given one, over the closure's bitsets.
struct Parallel<'c> {
    closure: &'c Closure,
    /// Stage order → its bit (first sections of Stage Map stages only).
    bit: Vec<Option<usize>>,
    /// Bit → stage order of its first section.
    order: Vec<usize>,
    roots: Vec<u64>,
    standing: &'c [Standing],
}

/// Lists up to this long are searched one by one; longer ones as bitsets.
const SCAN: usize = 32;

impl<'c> Parallel<'c> {
    fn new(closure: &'c Closure, standing: &'c [Standing]) -> Parallel<'c> {
        let bit: Vec<Option<usize>> = standing
            .iter()
            .map(|s| {
                s.first
                    .then(|| closure.bit.get(&s.number).copied())
                    .flatten()
            })
            .collect();
        let mut order = vec![usize::MAX; closure.number.len()];
        let mut roots = vec![0u64; closure.words];
        for (o, b) in bit.iter().enumerate() {
            if let Some(b) = *b {
                order[b] = o;
                if standing[o].root {
                    set(&mut roots, b);
                }
            }
        }
        Parallel {
            closure,
            bit,
            order,
            roots,
            standing,
        }
    }

    /// The stage (order) among `holders` nearest before stage `me` in the
    /// Stage Map that neither reaches nor is reached by it, not both roots.
    fn nearest(
        &self,
        me: usize,
        holders: &[Entry],
        cache: &mut FastMap<usize, Vec<u64>>,
    ) -> Option<usize> {
        let mine = self.bit[me]?;
        let root = self.standing[me].root;
        let c = self.closure;
        let row = c.component[mine] * c.words;
        let ordered = |w: usize| c.below[row + w] | c.above[row + w];
        if holders.len() <= SCAN {
            return holders
                .iter()
                .filter_map(|h| {
                    let b = self.bit[h.0]?;
                    let free = ordered(b / 64) >> (b % 64) & 1 == 0;
                    (b < mine && free && !(root && self.standing[h.0].root)).then_some(b)
                })
                .max()
                .map(|b| self.order[b]);
        }
        let bits = cache.entry(holders.as_ptr() as usize).or_insert_with(|| {
            let mut v = vec![0u64; c.words];
            for h in holders {
                if let Some(b) = self.bit[h.0] {
                    set(&mut v, b);
                }
            }
            v
        });
        for w in (0..=mine / 64).rev() {
            let mut m = bits[w] & !ordered(w);
            if root {
                m &= !self.roots[w];
            }
            if w == mine / 64 {
                m &= (1u64 << (mine % 64)) - 1;
            }
            if m != 0 {
                return Some(self.order[w * 64 + 63 - m.leading_zeros() as usize]);
            }
        }
        None
    }
}

/// The most brace alternatives a glob is expanded to; a glob with more is
/// left unsettled (it overlaps only identical strings).
const MAX_ALTERNATIVES: usize = 64;

/// A predicted glob, ready to be compared: its brace alternatives expanded,
/// each as a matcher (for files) and as `/`-separated segments (for
/// folders and other globs). A glob ending in `/` is a folder pattern: it
/// stands for everything under the folders it matches (`src/*/` is
/// `src/*/**`).
struct GlobPattern {
    matchers: Vec<GlobMatcher>,
    alternatives: Vec<Vec<String>>,
}

impl GlobPattern {
    fn new(pattern: &str) -> GlobPattern {
        let alternatives =
            crate::plan::paths::expand_alternatives(pattern, MAX_ALTERNATIVES).unwrap_or_default();
        let matchers = alternatives
            .iter()
            .filter_map(|alt| {
                if alt.ends_with('/') {
                    glob(&format!("{alt}**"))
                } else {
                    glob(alt)
                }
            })
            .collect();
        let alternatives = alternatives
            .iter()
            .map(|alt| segments(alt).map(str::to_string).collect())
            .collect();
        GlobPattern {
            matchers,
            alternatives,
        }
    }

    /// Whether the file `path` matches.
    fn matches(&self, path: &str) -> bool {
        self.matchers.iter().any(|m| m.is_match(path))
    }

    /// Whether it could match something under the folder `dir` (without its
    /// final `/`): the folder taken as `dir/**`.
    fn meets_folder(&self, dir: &str) -> bool {
        let folder: Vec<&str> = segments(dir).chain(["**"]).collect();
        self.alternatives
            .iter()
            .any(|alt| segments_meet(alt, &folder))
    }

    /// Whether some path could match both globs.
    fn meets(&self, other: &GlobPattern) -> bool {
        self.alternatives
            .iter()
            .any(|x| other.alternatives.iter().any(|y| segments_meet(x, y)))
    }
}

/// The segments of a path or glob: split on `/`, empty ones dropped, and a
/// final `/` read as `/**` (everything under the folder).
fn segments(path: &str) -> impl Iterator<Item = &str> {
    let under = path.ends_with('/').then_some("**");
    path.split('/').filter(|s| !s.is_empty()).chain(under)
}

/// Whether some path matches both segment patterns (plan-format §2): `**`
/// matches any run of segments, two single segments must be able to match
/// a common name (`segment_meets`). A search over (position in x, position
/// in y), so at most `(x.len() + 1) * (y.len() + 1)` states.
fn segments_meet(x: &[impl AsRef<str>], y: &[impl AsRef<str>]) -> bool {
    let width = y.len() + 1;
    let mut seen = vec![false; (x.len() + 1) * width];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        if std::mem::replace(&mut seen[i * width + j], true) {
            continue;
        }
        if i == x.len() && j == y.len() {
            return true;
        }
        let (a, b) = (x.get(i).map(AsRef::as_ref), y.get(j).map(AsRef::as_ref));
        // `**` matching nothing.
        if a == Some("**") {
            stack.push((i + 1, j));
        }
        if b == Some("**") {
            stack.push((i, j + 1));
        }
        // One more segment of the common path.
        if let (Some(a), Some(b)) = (a, b) {
            match (a == "**", b == "**") {
                (true, true) => {}
                (true, false) => stack.push((i, j + 1)),
                (false, true) => stack.push((i + 1, j)),
                (false, false) => {
                    if segment_meets(a, b) {
                        stack.push((i + 1, j + 1));
                    }
                }
            }
        }
    }
    false
}

/// Whether two single segments can match a common name: two literal names
/// are equal; a literal fits a pattern's literal prefix and suffix; two
/// patterns have compatible literal prefixes (one a prefix of the other)
/// and compatible literal suffixes (one a suffix of the other).
fn segment_meets(a: &str, b: &str) -> bool {
    let wild = |s: &str| s.contains(['*', '?', '[']);
    match (wild(a), wild(b)) {
        (false, false) => a == b,
        (true, false) => literal_fits(a, b),
        (false, true) => literal_fits(b, a),
        (true, true) => {
            let (pa, sa) = (literal_prefix(a), literal_suffix(a));
            let (pb, sb) = (literal_prefix(b), literal_suffix(b));
            (pa.starts_with(pb) || pb.starts_with(pa)) && (sa.ends_with(sb) || sb.ends_with(sa))
        }
    }
}

/// Whether the name can match the segment pattern as far as its literal
/// prefix and suffix tell.
fn literal_fits(pattern: &str, name: &str) -> bool {
    let (p, s) = (literal_prefix(pattern), literal_suffix(pattern));
    name.len() >= p.len() + s.len() && name.starts_with(p) && name.ends_with(s)
}

/// A hash map with a fast, non-cryptographic hash (FxHash's): the overlap
/// index is rebuilt whenever a predicted path changes, keystroke by
/// keystroke, and its keys come from the document being edited anyway.
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Also keys the LSP layer's converted diagnostics (`lsp::published`).
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.write(&[b]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn glob(pattern: &str) -> Option<GlobMatcher> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .or_else(|_| Glob::new(&globset::escape(pattern)))
        .ok()
        .map(|g| g.compile_matcher())
}

/// The part of a glob before its first wildcard.
fn literal_prefix(pattern: &str) -> &str {
    let end = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    &pattern[..end]
}

/// The part of a glob segment after its last wildcard (or character class).
fn literal_suffix(pattern: &str) -> &str {
    let start = pattern.rfind(['*', '?', '[', ']']).map_or(0, |i| i + 1);
    &pattern[start..]
}

/// `a/b/c` -> `a/b`, `a`.
fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.char_indices()
        .rev()
        .filter(|(_, c)| *c == '/')
        .map(move |(i, _)| &path[..i])
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::Field;

    fn plan_with(deps: &[(u32, &[u32])]) -> Plan {
        let rows = deps
            .iter()
            .map(|(n, ds)| crate::plan::model::StageMapRow {
                range: 0..0,
                cells: vec![],
                stage: Field::Ok(*n, 0..0),
                title: None,
                depends_on: Field::Ok(
                    ds.iter()
                        .map(|d| crate::plan::model::DepRef {
                            stage: *d,
                            range: 0..0,
                        })
                        .collect(),
                    0..0,
                ),
                steps: Field::Missing,
            })
            .collect();
        let mut plan = Plan::default();
        plan.stage_map = Some(crate::plan::model::StageMap {
            heading: 0..0,
            heading_level: 2,
            table: Some(crate::plan::model::MapTable {
                range: 0..0,
                header: 0..0,
                delimiter: None,
                columns: Default::default(),
                rows,
            }),
            scope: 0..0,
        });
        plan.reindex();
        plan
    }

    #[test]
    fn cycles_name_every_edge_once() {
        let plan = plan_with(&[(1, &[3]), (2, &[1]), (3, &[2]), (4, &[1])]);
        let g = DepGraph::new(&plan);
        let cycles = g.cycle_edges(&plan);
        let mut edges: Vec<(u32, u32)> = cycles.iter().map(|e| (e.from, e.to)).collect();
        edges.sort_unstable();
        assert_eq!(edges, [(1, 3), (2, 1), (3, 2)]);
        let first = cycles.iter().find(|e| e.from == 1).unwrap();
        assert_eq!(first.cycle, [1, 3, 2, 1]);
        assert_eq!((first.len, first.component), (4, 3));
        assert!(g.reaches(4, 3));
        assert!(!g.reaches(1, 4));
        assert!(g.would_cycle(1, 4));
    }

    /// The sparse overlaps against every pair, on random plans: each
    /// reported pair is a real conflict; every stage in conflict with an
    /// earlier one (roots sharing a path; unordered stages, not both roots)
    /// is reported against the nearest such stage; each pair lists every
    /// path pair the two stages share.
    // Long: one randomized round (build a plan, brute-force every path
    // pair from the index, compare with `overlaps` both ways) read top to
    // bottom; its parts share the round's plan, text and tables.
    #[test]
    fn sparse_overlaps_cover_every_conflict() {
        use std::fmt::Write;
        let pool = [
            "src/a.rs",
            "src/",
            "src",
            "src/b/",
            "src/b/c.rs",
            "src/*.rs",
            "docs/x.md",
            "**/*.md",
            "src/a.rs/",
            "lib.rs",
            "src/a*.rs",
            "app/[id]/x.tsx",
            "app/[slug]/x.tsx",
        ];
        let mut rng = crate::engine::generate::Rng::new(11);
        for round in 0..320 {
            // Long lists (over `SCAN`) take the bitset search.
            let n = if round < 300 {
                2 + rng.below(9)
            } else {
                40 + rng.below(60)
            };
            let mut text = String::from(
                "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n",
            );
            for i in 1..=n {
                let deps: Vec<String> = (1..=n)
                    .filter(|&d| d != i && rng.below(if d < i { 4 } else { 12 } * n / 8) == 0)
                    .map(|d| d.to_string())
                    .collect();
                let deps = if deps.is_empty() {
                    "(none)".to_string()
                } else {
                    deps.join(", ")
                };
                if rng.below(10) > 0 {
                    let _ = writeln!(text, "| {i} | s | {deps} | 0 |");
                }
            }
            for i in 1..=n {
                let kinds = if n > 30 { 3 } else { pool.len() };
                let files: Vec<String> = (0..1 + rng.below(3))
                    .map(|_| format!("`{}`", pool[rng.below(kinds)]))
                    .collect();
                let _ = write!(
                    text,
                    "### Stage {i}: s\n#### Stage Exit Contract\n- Predicted files: {}\n",
                    files.join(", ")
                );
            }
            let plan = crate::plan::model::parse(&text, &crate::plan::config::Config::default());
            let graph = DepGraph::new(&plan);
            let found = overlaps(&plan, &graph);
            let standing = |n: u32| {
                let row = plan.map_row(n);
                (
                    row.is_some_and(|r| matches!(&r.depends_on, Field::Ok(v, _) if v.is_empty())),
                    row.is_some(),
                )
            };
            let root_pair = |a: u32, b: u32| standing(a).0 && standing(b).0;
            let parallel = |a: u32, b: u32| {
                standing(a).1
                    && standing(b).1
                    && !root_pair(a, b)
                    && !graph.reaches(a, b)
                    && !graph.reaches(b, a)
            };
            // Every path pair, from the index's lists for each path.
            let stages: Vec<u32> = plan.stages.iter().map(|s| s.number).collect();
            let index = PathIndex::new(
                &plan,
                &stages
                    .iter()
                    .map(|&number| Standing {
                        number,
                        first: true,
                        ..Standing::default()
                    })
                    .collect::<Vec<_>>(),
            );
            let mut all: BTreeMap<(usize, usize), BTreeSet<(usize, usize)>> = BTreeMap::new();
            for (b, s) in plan.stages.iter().enumerate() {
                for k in 0..s.predicted().len() {
                    index.lists((b, k), |holders| {
                        for h in holders.iter().filter(|h| h.0 < b) {
                            all.entry((h.0, b)).or_default().insert((h.1, k));
                        }
                    });
                }
            }
            let reported: BTreeSet<(u32, u32)> = found.iter().map(|o| (o.a, o.b)).collect();
            for o in &found {
                assert!(
                    root_pair(o.a, o.b) || parallel(o.a, o.b),
                    "round {round}: {}-{} is no conflict\n{text}",
                    o.a,
                    o.b
                );
                let (x, y) = (o.a as usize - 1, o.b as usize - 1);
                let listed: BTreeSet<(usize, usize)> = o.paths.iter().map(|p| (p.a, p.b)).collect();
                assert_eq!(Some(&listed), all.get(&(x, y)), "round {round}\n{text}");
            }
            // Roots sharing an identical path (S9's error, which must not hide
            // behind a nearer root that only overlaps through a glob).
            let same_path = |x: usize, y: usize| {
                all.get(&(x, y)).is_some_and(|pairs| {
                    pairs.iter().any(|&(h, k)| {
                        plan.stages[x].predicted()[h].path == plan.stages[y].predicted()[k].path
                    })
                })
            };
            let position = |n: u32| stages.iter().position(|&s| s == n).unwrap();
            let exact_roots =
                |a: u32, b: u32| root_pair(a, b) && same_path(position(a), position(b));
            for &(x, y) in all.keys() {
                let (a, b) = (stages[x], stages[y]);
                for (class, holds) in [
                    ("roots", &root_pair as &dyn Fn(u32, u32) -> bool),
                    ("roots, same path", &exact_roots),
                    ("parallel", &parallel),
                ] {
                    if !holds(a, b) {
                        continue;
                    }
                    // The nearest earlier stage of that class is reported.
                    let nearest = all
                        .keys()
                        .filter(|&&(p, q)| q == y && holds(stages[p], b))
                        .map(|&(p, _)| stages[p])
                        .max()
                        .unwrap();
                    assert!(
                        reported.contains(&(nearest, b)),
                        "round {round}: {class} {a}-{b}, nearest {nearest} not reported\n{text}"
                    );
                }
            }
        }
    }

    /// (a's path, b's path, exact).
    type Shared = (String, String, bool);

    /// The overlaps of a plan whose stages predict `files` (one line each),
    /// as (a, b, the shared pairs).
    fn overlaps_of(files: &[&str]) -> Vec<(u32, u32, Vec<Shared>)> {
        use std::fmt::Write;
        let mut text = String::from(
            "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n",
        );
        for i in 1..=files.len() {
            let _ = writeln!(text, "| {i} | s | (none) | 0 |");
        }
        for (i, f) in files.iter().enumerate() {
            let _ = write!(
                text,
                "### Stage {}: s\n#### Stage Exit Contract\n- Predicted files: {f}\n",
                i + 1
            );
        }
        let plan = crate::plan::model::parse(&text, &crate::plan::config::Config::default());
        let predicted = |n: u32| plan.stage(n).unwrap().predicted();
        overlaps(&plan, &DepGraph::new(&plan))
            .into_iter()
            .map(|o| {
                let pairs = o
                    .paths
                    .iter()
                    .map(|p| {
                        (
                            predicted(o.a)[p.a].path.clone(),
                            predicted(o.b)[p.b].path.clone(),
                            p.exact,
                        )
                    })
                    .collect();
                (o.a, o.b, pairs)
            })
            .collect()
    }

    /// Whether two single paths overlap, and exactly.
    fn pair(x: &str, y: &str) -> Option<bool> {
        let found = overlaps_of(&[&format!("`{x}`"), &format!("`{y}`")]);
        let reverse = overlaps_of(&[&format!("`{y}`"), &format!("`{x}`")]);
        assert_eq!(found.len(), reverse.len(), "{x} {y}: not symmetric");
        let o = found.first()?;
        assert_eq!(o.2.len(), 1);
        Some(o.2[0].2)
    }

    #[test]
    fn identical_strings_overlap_exactly_whatever_their_kind() {
        for p in [
            "src/a.rs",
            "src/",
            "app/[id]/page.tsx",
            "src/*.rs",
            "src/{a,b}.rs",
            "Makefile",
        ] {
            assert_eq!(pair(p, p), Some(true), "{p}");
        }
        // Normalised first.
        assert_eq!(
            overlaps_of(&["`./src//a.rs`", "`src\\a.rs`"])[0].2,
            [("src/a.rs".to_string(), "src/a.rs".to_string(), true)]
        );
    }

    #[test]
    fn folders_overlap_what_lies_under_them() {
        assert_eq!(pair("src/", "src/a.rs"), Some(false));
        assert_eq!(pair("src/", "src/x/y/z.rs"), Some(false));
        assert_eq!(pair("src/", "src/x/"), Some(false));
        assert_eq!(pair("src", "src/"), Some(false));
        assert_eq!(pair("src/", "srcs/a.rs"), None);
        assert_eq!(pair("docs/admin/", "docs/administration.md"), None);
        assert_eq!(pair("src/a.rs", "src/a.rs/"), Some(false));
    }

    #[test]
    fn globs_overlap_the_files_they_match() {
        assert_eq!(pair("src/*.rs", "src/a.rs"), Some(false));
        assert_eq!(pair("src/*.rs", "src/x/a.rs"), None);
        assert_eq!(pair("src/**/*.rs", "src/x/a.rs"), Some(false));
        assert_eq!(pair("src/**/*.rs", "src/a.rs"), Some(false));
        assert_eq!(pair("src/{a,b}.rs", "src/a.rs"), Some(false));
        assert_eq!(pair("src/{a,b}.rs", "src/c.rs"), None);
        assert_eq!(pair("src/{a,x/{b,c}}.rs", "src/x/c.rs"), Some(false));
        assert_eq!(pair("src/a?.rs", "src/ab.rs"), Some(false));
        assert_eq!(pair("app/[id]/page.tsx", "app/i/page.tsx"), Some(false));
        assert_eq!(pair("src/*/", "src/x/a.rs"), Some(false));
    }

    #[test]
    fn globs_and_folders() {
        assert_eq!(pair("src/*.rs", "src/"), Some(false));
        assert_eq!(pair("src/**", "src/x/"), Some(false));
        assert_eq!(pair("**/*.md", "docs/admin/"), Some(false));
        assert_eq!(pair("src/x/*.rs", "src/"), Some(false));
        assert_eq!(pair("src/{a,b}.rs", "src/"), Some(false));
        assert_eq!(pair("docs/*.md", "docs/admin/"), None);
        assert_eq!(pair("docs/*.md", "src/"), None);
        assert_eq!(pair("src/*/", "src/x/"), Some(false));
        assert_eq!(pair("lib/*.rs", "src/"), None);
    }

    #[test]
    fn globs_and_globs() {
        assert_eq!(pair("src/*.ts", "src/*.sql"), None);
        assert_eq!(pair("a*", "*b"), Some(false));
        assert_eq!(pair("src/*.rs", "src/**"), Some(false));
        assert_eq!(pair("src/*.rs", "**/*.rs"), Some(false));
        assert_eq!(pair("src/*.rs", "lib/*.rs"), None);
        assert_eq!(pair("src/*.rs", "src/*/*.rs"), None);
        assert_eq!(pair("src/**/x/*.rs", "src/*/x/*.rs"), Some(false));
        assert_eq!(pair("src/{a,b}/*.rs", "src/b/*"), Some(false));
        assert_eq!(pair("src/{a,b}/*.rs", "src/c/*"), None);
        assert_eq!(pair("te?t/*", "test/x*"), Some(false));
        assert_eq!(pair("app/[id]/page.tsx", "app/*/page.tsx"), Some(false));
    }

    #[test]
    fn segment_procedure() {
        let meet = |x: &str, y: &str| {
            let x: Vec<&str> = segments(x).collect();
            let y: Vec<&str> = segments(y).collect();
            segments_meet(&x, &y)
        };
        assert!(meet("**", "a/b/c"));
        assert!(meet("**", ""));
        assert!(meet("a/**/z", "a/b/c/z"));
        assert!(meet("a/**/z", "a/z"));
        assert!(!meet("a/**/z", "a/b/c"));
        assert!(meet("**/b/**", "a/**/c"));
        assert!(!meet("a/b", "a/b/c"));
        assert!(meet("a/", "a/b/c"));
        assert!(segment_meets("*.rs", "lib.rs"));
        assert!(!segment_meets("ab*", "a"));
        assert!(!segment_meets("*.ts", "*.sql"));
        assert!(segment_meets("a*", "*b"));
        assert!(segment_meets("ab*", "a*"));
        assert!(segment_meets("x[ab]", "x?"));
        assert!(!segment_meets("x", "y"));
    }

    #[test]
    fn one_pair_per_stage_pair_with_every_path_pair() {
        let found = overlaps_of(&["`src/`, `docs/a.md`", "`src/x.rs`, `docs/a.md`", "`lib/`"]);
        assert_eq!(found.len(), 1);
        let (a, b, pairs) = &found[0];
        assert_eq!((*a, *b), (1, 2));
        assert_eq!(
            pairs,
            &[
                ("src/".to_string(), "src/x.rs".to_string(), false),
                ("docs/a.md".to_string(), "docs/a.md".to_string(), true),
            ]
        );
    }

    #[test]
    fn parents_walk_up() {
        assert_eq!(parents("a/b/c.rs").collect::<Vec<_>>(), ["a/b", "a"]);
    }
}
