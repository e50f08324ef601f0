//! Whole-plan facts that several rules, fixes and the batch share: the
//! depends-on graph (petgraph) and the predicted-path overlap index.
//!
//! Invariant: pure functions of the plan model; no LSP types, no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use globset::{Glob, GlobBuilder, GlobMatcher};
use petgraph::graphmap::DiGraphMap;

use crate::model::{PathKind, Plan, PredictedPath, Span};

/// The depends-on graph: an edge `a -> b` means "stage a depends on stage b".
/// Nodes are the Stage Map's stage numbers; self-edges and edges to unknown
/// stages are left out (their own rules report them).
#[derive(Debug, Clone, Default)]
pub struct DepGraph {
    pub graph: DiGraphMap<u32, ()>,
}

impl DepGraph {
    pub fn new(plan: &Plan) -> DepGraph {
        let mut graph = DiGraphMap::new();
        for row in plan.map_rows() {
            if let Some(&n) = row.stage.value() {
                graph.add_node(n);
            }
        }
        for row in plan.map_rows() {
            let Some(&n) = row.stage.value() else {
                continue;
            };
            for dep in row.deps() {
                if dep.stage != n && graph.contains_node(dep.stage) {
                    graph.add_edge(n, dep.stage, ());
                }
            }
        }
        DepGraph { graph }
    }

    /// Whether `from` depends on `to`, directly or through other stages.
    pub fn reaches(&self, from: u32, to: u32) -> bool {
        if from == to {
            return true;
        }
        self.path(from, to).is_some()
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

    /// Every edge that lies on a cycle, with one whole cycle through it
    /// (`[a, b, …, a]`, each stage depending on the next).
    pub fn cycle_edges(&self) -> Vec<(u32, u32, Vec<u32>)> {
        let mut out = Vec::new();
        for scc in petgraph::algo::tarjan_scc(&self.graph) {
            if scc.len() < 2 {
                continue;
            }
            let members: BTreeSet<u32> = scc.iter().copied().collect();
            for &a in &members {
                let mut targets: Vec<u32> = self
                    .graph
                    .neighbors(a)
                    .filter(|b| members.contains(b))
                    .collect();
                targets.sort_unstable();
                for b in targets {
                    if let Some(back) = self.path(b, a) {
                        let mut cycle = vec![a];
                        cycle.extend(back);
                        out.push((a, b, cycle));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Whether adding `from depends on to` would close a cycle.
    pub fn would_cycle(&self, from: u32, to: u32) -> bool {
        from == to || self.reaches(to, from)
    }
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
    pub fn is_exact(&self) -> bool {
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
    /// Every edge on a cycle, with a whole cycle through it.
    pub cycles: Vec<(u32, u32, Vec<u32>)>,
    pub overlaps: Vec<Overlap>,
    /// The predicted paths by place, built at the first change of one
    /// stage's paths and kept up to date after it (see `refresh_stage`).
    paths: Option<PathIndex>,
}

impl Facts {
    pub fn new(plan: &Plan) -> Facts {
        let graph = DepGraph::new(plan);
        let cycles = graph.cycle_edges();
        Facts {
            graph,
            cycles,
            overlaps: overlaps(plan),
            paths: None,
        }
    }

    /// After a Stage Map change: the graph and cycles again, overlaps kept.
    pub fn refresh_graph(&mut self, plan: &Plan) {
        self.graph = DepGraph::new(plan);
        self.cycles = self.graph.cycle_edges();
    }

    /// After a predicted-files change: the overlaps again.
    pub fn refresh_overlaps(&mut self, plan: &Plan) {
        self.overlaps = overlaps(plan);
        self.paths = None;
    }

    /// After the predicted files of `plan.stages[i]` alone changed (nothing
    /// else did: same stages, same numbers): the overlaps again, redoing
    /// only that stage's pairs. The same result as `refresh_overlaps` (a
    /// test compares them); globs anywhere take the long way.
    pub fn refresh_stage(&mut self, plan: &Plan, i: usize) {
        let Some(stage) = plan.stages.get(i) else {
            return self.refresh_overlaps(plan);
        };
        if !plan
            .stage(stage.number)
            .is_some_and(|s| std::ptr::eq(s, stage))
        {
            // A second section of its number: its paths are not compared.
            return;
        }
        if stage.predicted().iter().any(|p| p.kind == PathKind::Glob) {
            return self.refresh_overlaps(plan);
        }
        let index = self.paths.get_or_insert_with(|| PathIndex::new(plan));
        if index.globs || index.keys.len() != plan.stages.len() {
            return self.refresh_overlaps(plan);
        }
        index.set(i, stage.predicted());
        let number = stage.number;
        self.overlaps.retain(|o| o.a != number && o.b != number);
        self.overlaps.extend(index.pairs_of(plan, i));
        let position = |n: u32| plan.stage_position(n).unwrap_or(usize::MAX);
        self.overlaps
            .sort_by_key(|o| (position(o.a), position(o.b)));
    }
}

/// Predicted paths (globs apart) by place, for finding the overlaps of one
/// stage without going through all of them.
#[derive(Debug, Clone, Default)]
struct PathIndex {
    /// File path → (stage position, path index).
    files: BTreeMap<String, Vec<(usize, usize)>>,
    /// Folder path without its final `/` → (stage position, path index).
    dirs: BTreeMap<String, Vec<(usize, usize)>>,
    /// The keys each stage put in (whether a folder, the key).
    keys: Vec<Vec<(bool, String)>>,
    /// Some stage predicts a glob (then this index is not used).
    globs: bool,
}

impl PathIndex {
    fn new(plan: &Plan) -> PathIndex {
        let mut index = PathIndex {
            keys: vec![Vec::new(); plan.stages.len()],
            ..PathIndex::default()
        };
        for (i, s) in plan.stages.iter().enumerate() {
            if plan.stage(s.number).is_some_and(|f| std::ptr::eq(f, s)) {
                index.set(i, s.predicted());
            }
        }
        index
    }

    /// Replaces stage `i`'s paths.
    fn set(&mut self, i: usize, paths: &[PredictedPath]) {
        for (dir, key) in std::mem::take(&mut self.keys[i]) {
            let map = if dir { &mut self.dirs } else { &mut self.files };
            if let Some(holders) = map.get_mut(&key) {
                holders.retain(|h| h.0 != i);
                if holders.is_empty() {
                    map.remove(&key);
                }
            }
        }
        for (k, p) in paths.iter().enumerate() {
            let (dir, key) = match p.kind {
                PathKind::File => (false, p.path.as_str()),
                PathKind::Dir => (true, p.path.trim_end_matches('/')),
                PathKind::Glob => {
                    self.globs = true;
                    continue;
                }
            };
            let map = if dir { &mut self.dirs } else { &mut self.files };
            let holders = map.entry(key.to_string()).or_default();
            // Kept in (stage, path) order, as a fresh build has them.
            let at = holders.partition_point(|h| *h < (i, k));
            holders.insert(at, (i, k));
            self.keys[i].push((dir, key.to_string()));
        }
    }

    /// The overlaps between stage `i` and the others, as `overlaps` finds
    /// them (same pairs, same path pairs, in order).
    fn pairs_of(&self, plan: &Plan, i: usize) -> Vec<Overlap> {
        let mut pairs = Pairs::new(plan);
        fn holders<'m>(
            map: &'m BTreeMap<String, Vec<(usize, usize)>>,
            key: &str,
        ) -> &'m [(usize, usize)] {
            map.get(key).map_or(&[][..], |v| v.as_slice())
        }
        for (k, p) in plan.stages[i].predicted().iter().enumerate() {
            let x = (i, k);
            let key = match p.kind {
                PathKind::File => p.path.as_str(),
                PathKind::Dir => p.path.trim_end_matches('/'),
                PathKind::Glob => continue,
            };
            // The same place (`src` as a file and `src/` as a folder are
            // one), and the folders it lies in.
            for &h in holders(&self.files, key)
                .iter()
                .chain(holders(&self.dirs, key))
            {
                pairs.add(x, h);
            }
            for parent in parents(key) {
                for &h in holders(&self.dirs, parent) {
                    pairs.add(x, h);
                }
            }
            if p.kind == PathKind::Dir && !key.is_empty() {
                // Everything under the folder: keys that start with `key/`
                // (`0` is the character after `/`).
                let (lo, hi) = (format!("{key}/"), format!("{key}0"));
                for map in [&self.files, &self.dirs] {
                    for (_, hs) in map.range(lo.clone()..hi.clone()) {
                        for &h in hs {
                            pairs.add(x, h);
                        }
                    }
                }
            }
        }
        pairs.finish()
    }
}

/// Finds every pair of stages whose predicted paths overlap, through an index
/// from path (and each of its parent folders) to the stages that predict it,
/// so the cost follows the number of shared paths, not stages². Globs are
/// rare: each is compared with every other path.
pub fn overlaps(plan: &Plan) -> Vec<Overlap> {
    // First section of each stage number only: duplicates are reported apart.
    let mut seen = BTreeSet::new();
    let stages: Vec<(usize, u32, &[PredictedPath])> = plan
        .stages
        .iter()
        .enumerate()
        .filter(|(_, s)| seen.insert(s.number))
        .map(|(i, s)| (i, s.number, s.predicted()))
        .collect();

    // Entries are (stage order, path index, path).
    type Entry<'p> = (usize, usize, &'p PredictedPath);
    let mut files: FastMap<&str, Vec<Entry>> = FastMap::default();
    let mut dirs: FastMap<&str, Vec<Entry>> = FastMap::default();
    let mut globs: Vec<(Entry, GlobPattern)> = Vec::new();
    for &(order, _, paths) in &stages {
        for (k, p) in paths.iter().enumerate() {
            match p.kind {
                PathKind::File => files
                    .entry(p.path.as_str())
                    .or_default()
                    .push((order, k, p)),
                PathKind::Dir => dirs
                    .entry(p.path.trim_end_matches('/'))
                    .or_default()
                    .push((order, k, p)),
                PathKind::Glob => globs.push(((order, k, p), GlobPattern::new(&p.path))),
            }
        }
    }

    let mut pairs = Pairs::new(plan);
    let mut add = |x: Entry, y: Entry| pairs.add((x.0, x.1), (y.0, y.1));

    // Same file, and a file or folder under a predicted folder.
    for (path, holders) in &files {
        for (i, x) in holders.iter().enumerate() {
            for y in &holders[i + 1..] {
                add(*x, *y);
            }
        }
        for parent in parents(path) {
            if let Some(ds) = dirs.get(parent) {
                for d in ds {
                    for x in holders {
                        add(*x, *d);
                    }
                }
            }
        }
        // `src` predicted as a file and `src/` as a folder are the same place.
        if let Some(ds) = dirs.get(path) {
            for d in ds {
                for x in holders {
                    add(*x, *d);
                }
            }
        }
    }
    for (path, holders) in &dirs {
        for (i, x) in holders.iter().enumerate() {
            for y in &holders[i + 1..] {
                add(*x, *y);
            }
        }
        for parent in parents(path) {
            if let Some(ds) = dirs.get(parent) {
                for d in ds {
                    for x in holders {
                        add(*x, *d);
                    }
                }
            }
        }
    }
    // A glob and the files it matches, the folders it could match something
    // under, and the globs that could match a path it matches.
    for (gi, (g, pattern)) in globs.iter().enumerate() {
        for holders in files.values() {
            for x in holders {
                if pattern.matches(&x.2.path) {
                    add(*x, *g);
                }
            }
        }
        for (dir, holders) in &dirs {
            if pattern.meets_folder(dir) {
                for d in holders {
                    add(*d, *g);
                }
            }
        }
        for (other, other_pattern) in &globs[gi + 1..] {
            if g.2.path == other.2.path || pattern.meets(other_pattern) {
                add(*g, *other);
            }
        }
    }

    pairs.finish()
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
            crate::paths::expand_alternatives(pattern, MAX_ALTERNATIVES).unwrap_or_default();
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

/// Overlapping (stage position, path index) pairs, collected per pair of
/// stages; the full build and the one-stage refresh both go through it, so
/// they give the same overlaps in the same order.
struct Pairs<'p> {
    plan: &'p Plan,
    pairs: BTreeMap<(usize, usize), Vec<PathPair>>,
}

impl<'p> Pairs<'p> {
    fn new(plan: &'p Plan) -> Pairs<'p> {
        Pairs {
            plan,
            pairs: BTreeMap::new(),
        }
    }

    /// Records that path `x.1` of stage `x.0` overlaps path `y.1` of stage
    /// `y.0` (nothing within one stage number).
    fn add(&mut self, x: (usize, usize), y: (usize, usize)) {
        let number = |order: usize| self.plan.stages[order].number;
        if number(x.0) == number(y.0) {
            return;
        }
        let (first, second) = if x.0 < y.0 { (x, y) } else { (y, x) };
        let list = self.pairs.entry((first.0, second.0)).or_default();
        if !list.iter().any(|p| (p.a, p.b) == (first.1, second.1)) {
            let path = |(order, k): (usize, usize)| &self.plan.stages[order].predicted()[k].path;
            list.push(PathPair {
                a: first.1,
                b: second.1,
                exact: path(first) == path(second),
            });
        }
    }

    /// The overlaps, stages in order and paths in path order: the maps'
    /// order is arbitrary, and what a finding names first must not depend
    /// on hashing.
    fn finish(self) -> Vec<Overlap> {
        let plan = self.plan;
        self.pairs
            .into_iter()
            .map(|((x, y), mut paths)| {
                paths.sort_unstable();
                Overlap {
                    a: plan.stages[x].number,
                    b: plan.stages[y].number,
                    paths,
                }
            })
            .collect()
    }
}

/// A hash map with a fast, non-cryptographic hash (FxHash's): the overlap
/// index is rebuilt whenever a predicted path changes, keystroke by
/// keystroke, and its keys come from the document being edited anyway.
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[derive(Default)]
struct FxHasher(u64);

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

/// Text of a span, for messages.
pub fn text(src: &str, span: &Span) -> String {
    src.get(span.clone()).unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;

    fn plan_with(deps: &[(u32, &[u32])]) -> Plan {
        let rows = deps
            .iter()
            .map(|(n, ds)| crate::model::StageMapRow {
                range: 0..0,
                cells: vec![],
                stage: Field::Ok(*n, 0..0),
                title: None,
                depends_on: Field::Ok(
                    ds.iter()
                        .map(|d| crate::model::DepRef {
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
        plan.stage_map = Some(crate::model::StageMap {
            heading: 0..0,
            heading_level: 2,
            table: Some(crate::model::MapTable {
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
        let g = DepGraph::new(&plan_with(&[(1, &[3]), (2, &[1]), (3, &[2]), (4, &[1])]));
        let edges: Vec<(u32, u32)> = g.cycle_edges().iter().map(|(a, b, _)| (*a, *b)).collect();
        assert_eq!(edges, [(1, 3), (2, 1), (3, 2)]);
        assert_eq!(g.cycle_edges()[0].2, [1, 3, 2, 1]);
        assert!(g.reaches(4, 3));
        assert!(!g.reaches(1, 4));
        assert!(g.would_cycle(1, 4));
    }

    /// Changing one stage's predicted files and redoing only its pairs
    /// gives the overlaps of a fresh build, whatever the paths become.
    #[test]
    fn one_stage_refresh_equals_a_fresh_build() {
        use crate::config::Config;
        use crate::generate::{self, Spec};
        let config = Config::default();
        let base = generate::plan(&Spec {
            overlap_every: 3,
            ..Spec::clean(12)
        });
        let replacements = [
            "`src/m1/`",
            "`src/m1/f1.rs`",
            "`src/`",
            "`src`",
            "`tests/m4.rs`, `src/m4/f2.rs`",
            "`src/shared2.rs`, `src/m2/`",
            "`docs/`",
            "`a/b/c.rs`, `a/`, `a/b/`",
            "(none)",
        ];
        let mut rng = crate::generate::Rng::new(7);
        for round in 0..200 {
            let plan = crate::model::parse(&base, &config);
            let mut facts = Facts::new(&plan);
            let mut text = base.clone();
            for _ in 0..4 {
                let stage = 1 + rng.below(12);
                let needle = format!("- Predicted added/modified files: `src/m{stage}/`");
                let Some(at) = text.find(&needle) else {
                    continue;
                };
                let from = at + "- Predicted added/modified files: ".len();
                let to = text[from..].find('\n').map_or(text.len(), |i| from + i);
                let new = replacements[rng.below(replacements.len())];
                text.replace_range(from..to, &format!("{new}, `src/m{stage}/`"));
                let plan = crate::model::parse(&text, &config);
                let i = plan
                    .stages
                    .iter()
                    .position(|s| s.number == stage as u32)
                    .unwrap();
                facts.refresh_stage(&plan, i);
                assert_eq!(
                    facts.overlaps,
                    overlaps(&plan),
                    "round {round}: {new} in stage {stage}"
                );
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
        let plan = crate::model::parse(&text, &crate::config::Config::default());
        let predicted = |n: u32| plan.stage(n).unwrap().predicted();
        overlaps(&plan)
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
