//! The outline of a whole document, kept section by section.
//!
//! A plan of 1,000 stages is 630 KB of markdown. As one tree-sitter tree it
//! costs memory (some 60 bytes of tree per byte of text) and, on every
//! keystroke, an incremental reparse that grows with the document
//! (tree-sitter's reuse looks for the last external token down the right edge
//! of every subtree it keeps: 0.9 ms a keystroke at 1,000 stages, 17 µs at
//! 10). So the document is cut into *chunks* at headings, each parsed on its
//! own (on several threads when the document is opened), and an edit parses
//! again only the chunks it touched. What a chunk keeps is its outline
//! blocks; large chunks (a long Stage Map) and the last few edited ones also
//! keep their tree, for an incremental reparse.
//!
//! A boundary is a line that starts with 1–6 `#` and a space or line end (an
//! ATX heading at column 0) right after a blank line, outside any front
//! matter, where the parse of the chunk before leaves nothing open that could
//! take the heading line in. Either the chunk's last (blank) line lies in
//! nothing but sections, the document and lists (`syntax::ends_on_top`; a
//! list cannot go on into a line that is not indented), or, parsed with the
//! heading line that follows, the heading comes out as a heading at the top
//! level (`syntax::heading_on_top`; fences, HTML blocks and tables with an
//! unclosed code span run on over blank lines). Otherwise the chunk grows to
//! the next candidate. Where a boundary holds, the parser of the whole
//! document starts the heading as it would start a document, so each
//! chunk's blocks are the whole document's blocks in that range: property
//! tests compare them, edit after edit, with `syntax::outline` of one tree
//! of the whole text (the reference).
//!
//! Invariant: nothing here knows about plans; block ranges are byte ranges
//! into the current text.

use std::ops::Range;

use tree_sitter::{InputEdit, Point, Tree};

use crate::syntax::shift::{EditShift, Shift};
use crate::syntax::{self, Block, Row};

/// Chunks at least this long keep their tree: an edit inside reparses
/// incrementally instead of from scratch.
const KEEP_TREE_BYTES: usize = 8 * 1024;

/// How many recently parsed small chunks keep their tree (typing goes on
/// where it was; a few small trees cost little memory).
const RECENT_TREES: usize = 2;

/// Documents at least this long are parsed on several threads when opened.
const PARALLEL_BYTES: usize = 128 * 1024;

/// The least chunk size of `Outline::parse_once`.
const COARSE_BYTES: usize = 64 * 1024;

/// The outline of a document, chunk by chunk.
#[derive(Default)]
pub struct Outline {
    /// Where each chunk starts in the current text (apart from the chunks,
    /// so that moving them after an edit touches one small array).
    starts: Vec<usize>,
    chunks: Vec<Chunk>,
    /// Starts of the small chunks that keep their tree, newest last.
    recent: Vec<usize>,
    /// The length of the text the outline is of.
    len: usize,
}

struct Chunk {
    /// Where the chunk started when `blocks` and `reach` were read: they
    /// are `start - base` bytes behind (moved only when read).
    base: usize,
    blocks: Vec<Block>,
    /// Outermost heading/table/list/quote node extents.
    reach: Vec<Range<usize>>,
    /// The tree of the chunk and the heading line after it, for an
    /// incremental reparse (large and recently edited chunks only; valid
    /// while the chunk has not moved).
    tree: Option<Tree>,
}

/// What an edit cost (for `document::Stats` and the benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reparse {
    /// Bytes parsed again.
    pub bytes: usize,
    /// Chunks parsed again.
    pub chunks: usize,
}

/// Which chunks keep their tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    None,
    Large,
    All,
}

/// A parsed chunk, before it joins the outline.
struct Parsed {
    start: usize,
    chunk: Chunk,
}

impl Outline {
    /// Parses a whole document (on several threads when it is large).
    pub fn parse(src: &str) -> Outline {
        let threads = cores();
        let threads = if src.len() >= PARALLEL_BYTES {
            threads.min(src.len() / (PARALLEL_BYTES / 2)).max(1)
        } else {
            1
        };
        Outline::parse_with_threads(src, threads)
    }

    /// Parses a whole document on at most `threads` threads.
    pub fn parse_with_threads(src: &str, threads: usize) -> Outline {
        Outline::parse_chunked(src, threads, 0, Keep::Large)
    }

    /// Parses a whole document once, to read it (`okstra-lsp check`): in
    /// chunks of at least `COARSE_BYTES` (a typical plan is one chunk, a
    /// huge one is still parsed on several threads). Editing it afterwards
    /// works but costs more per keystroke than after `parse`.
    pub(crate) fn parse_once(src: &str) -> Outline {
        let threads = cores();
        let threads = threads.min(src.len() / COARSE_BYTES).max(1);
        Outline::parse_chunked(src, threads, COARSE_BYTES, Keep::None)
    }

    /// Parses a whole document on at most `threads` threads, in chunks of
    /// at least `min_bytes` (where the headings allow).
    fn parse_chunked(src: &str, threads: usize, min_bytes: usize, keep: Keep) -> Outline {
        let mut cands = Vec::new();
        candidates(src, 0..src.len(), &mut cands);
        drop_front_matter(src, &mut cands);
        if min_bytes > 0 {
            let mut last = 0;
            cands.retain(|&c| {
                let keep = c - last >= min_bytes && src.len() - c >= min_bytes / 2;
                if keep {
                    last = c;
                }
                keep
            });
        }
        let parsed = if threads <= 1 || cands.len() < 2 {
            parse_region(src, 0..src.len(), &cands, keep).0
        } else {
            // Cut the candidates into `threads` runs of about the same
            // number of bytes; each run is parsed on its own thread, then
            // the seams are checked like any other boundary.
            let mut seams = vec![0usize];
            for t in 1..threads {
                let target = src.len() * t / threads;
                let i = cands.partition_point(|&c| c < target);
                if let Some(&c) = cands.get(i)
                    && c > *seams.last().unwrap_or(&0)
                {
                    seams.push(c);
                }
            }
            seams.push(src.len());
            let region = |range: Range<usize>| {
                let inner = inner(&cands, &range);
                parse_region(src, range, inner, keep)
            };
            let parts: Vec<(Vec<Parsed>, bool)> = std::thread::scope(|scope| {
                let handles: Vec<_> = seams
                    .windows(2)
                    .skip(1)
                    .map(|w| {
                        let range = w[0]..w[1];
                        scope.spawn(move || region(range))
                    })
                    .collect();
                let mut parts = vec![region(seams[0]..seams[1])];
                // A thread that panicked: parse its part here instead.
                for (h, w) in handles.into_iter().zip(seams.windows(2).skip(1)) {
                    parts.push(h.join().unwrap_or_else(|_| region(w[0]..w[1])));
                }
                parts
            });
            // A part that ends inside a fence or HTML block: its last chunk
            // and what follows are parsed again as one region (rare).
            let mut parsed: Vec<Parsed> = Vec::new();
            let mut open = false;
            for ((part, clean), w) in parts.into_iter().zip(seams.windows(2)) {
                if open {
                    let from = parsed.pop().map_or(w[0], |c| c.start);
                    let (again, clean) = region(from..w[1]);
                    parsed.extend(again);
                    open = !clean;
                } else {
                    parsed.extend(part);
                    open = !clean;
                }
            }
            parsed
        };
        let (starts, chunks) = parsed.into_iter().map(|p| (p.start, p.chunk)).unzip();
        Outline {
            starts,
            chunks,
            recent: Vec::new(),
            len: src.len(),
        }
    }

    /// How many chunks the document is cut into.
    pub(crate) fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Where chunk `i` ends.
    fn end(&self, i: usize) -> usize {
        self.starts.get(i + 1).copied().unwrap_or(self.len)
    }

    /// Follows an edit of the text (`src` is the new text): the chunks it
    /// touched are parsed again, the later ones move.
    pub fn edit(&mut self, src: &str, e: &EditShift) -> Reparse {
        debug_assert_eq!(
            self.len as isize + e.delta(),
            src.len() as isize,
            "the edit takes the outline's text to `src`"
        );
        if self.chunks.is_empty() {
            *self = Outline::parse_with_threads(src, 1);
            return Reparse {
                bytes: src.len(),
                chunks: self.chunks.len(),
            };
        }
        let delta = e.delta();
        let moved = |x: usize| (x as isize + delta) as usize;
        let (first, next) = self.touched(src, e);
        let from = self.starts[first];

        // Inside one chunk that kept its tree: an incremental reparse.
        if next == first + 1
            && let Some(r) = self.edit_kept(src, first, e)
        {
            return r;
        }

        let mut to_old = next;
        if from == 0 {
            // Front matter may now run further than the edited chunks.
            match front_matter(src) {
                None => {}
                Some(Some(close)) => {
                    while to_old < self.chunks.len() && moved(self.starts[to_old]) < close {
                        to_old += 1;
                    }
                }
                Some(None) => to_old = self.chunks.len(),
            }
        }
        let (parsed, to) = loop {
            let to = self.starts.get(to_old).map_or(src.len(), |&c| moved(c));
            let mut cands = Vec::new();
            candidates(src, from..to, &mut cands);
            if from == 0 {
                drop_front_matter(src, &mut cands);
            }
            let (parsed, clean) = parse_region(src, from..to, &cands, Keep::All);
            if !clean && to_old < self.chunks.len() {
                // A fence or HTML block opened: what follows is affected
                // too. Take more chunks along (twice as many each time).
                to_old = (to_old + (to_old - first).max(1)).min(self.chunks.len());
                continue;
            }
            break (parsed, to);
        };
        let count = parsed.len();
        self.replace(first..to_old, parsed, to, delta);
        Reparse {
            bytes: to - from,
            chunks: count,
        }
    }

    /// The chunks an edit touched, `first..next` (old indexes): the one it
    /// starts in (or the one before, when it touches the first line, the
    /// heading that makes the boundary) up to the first chunk it left alone.
    fn touched(&self, src: &str, e: &EditShift) -> (usize, usize) {
        let moved = |x: usize| (x as isize + e.delta()) as usize;
        let mut first = self.starts.partition_point(|&c| c <= e.start).max(1) - 1;
        if first > 0 && !src[self.starts[first]..e.start].contains('\n') {
            first -= 1;
        }
        // The first chunk left alone: it starts after the edit, and neither
        // its heading line nor the blank line before it were touched.
        let mut next = self.starts.partition_point(|&c| c <= e.old_end);
        while let Some(&c) = self.starts.get(next) {
            let start = moved(c);
            let blank_line = src[..start.saturating_sub(1)]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            if e.new_end < blank_line {
                break;
            }
            next += 1;
        }
        (first, next)
    }

    /// Puts the chunks parsed from the new text (up to `to`) in place of the
    /// old chunks `replaced`; the later ones move by `delta`.
    fn replace(&mut self, replaced: Range<usize>, parsed: Vec<Parsed>, to: usize, delta: isize) {
        let moved = |x: usize| (x as isize + delta) as usize;
        let (first, to_old) = (replaced.start, replaced.end);
        let from = self.starts[first];
        let count = parsed.len();
        // Small chunks that kept their tree: the replaced ones are gone, the
        // later ones moved, and the new ones (when few) join.
        let old_to = self.starts.get(to_old).copied().unwrap_or(usize::MAX);
        self.recent.retain(|&r| r < from || r >= old_to);
        for r in &mut self.recent {
            if *r >= old_to {
                *r = moved(*r);
            }
        }
        for c in &mut self.starts[to_old..] {
            *c = moved(*c);
        }
        let few = parsed.len() <= RECENT_TREES;
        let starts: Vec<usize> = parsed.iter().map(|p| p.start).collect();
        let mut chunks = Vec::with_capacity(count);
        for (k, p) in parsed.into_iter().enumerate() {
            let len = starts.get(k + 1).copied().unwrap_or(to) - p.start;
            let mut chunk = p.chunk;
            if few {
                self.recent.push(p.start);
            } else if len < KEEP_TREE_BYTES {
                chunk.tree = None;
            }
            chunks.push(chunk);
        }
        self.starts.splice(first..to_old, starts);
        self.chunks.splice(first..to_old, chunks);
        self.len = (self.len as isize + delta) as usize;
        self.forget_old_trees();
    }

    /// Drops the trees of the small chunks beyond the `RECENT_TREES` newest.
    fn forget_old_trees(&mut self) {
        while self.recent.len() > RECENT_TREES {
            let start = self.recent.remove(0);
            if let Ok(i) = self.starts.binary_search(&start)
                && self.end(i) - start < KEEP_TREE_BYTES
            {
                self.chunks[i].tree = None;
            }
        }
    }

    /// An edit inside chunk `i`, when it kept its tree: edits the tree and
    /// reparses the chunk incrementally. None when it must be parsed from
    /// scratch after all (no tree, it moved since, or its end is no longer
    /// a boundary).
    fn edit_kept(&mut self, src: &str, i: usize, e: &EditShift) -> Option<Reparse> {
        let delta = e.delta();
        let start = self.starts[i];
        let c = &self.chunks[i];
        if c.base != start || e.start < start {
            return None;
        }
        let mut tree = c.tree.clone()?;
        let end = self
            .starts
            .get(i + 1)
            .map_or(src.len(), |&n| (n as isize + delta) as usize);
        // The reader fills blank table rows, so the edit covers whole lines
        // (as `syntax::parse_blocks` needs too). Rows count from the
        // chunk's start, where its parse began.
        let bytes = src.as_bytes();
        let line_start = src[..e.start].rfind('\n').map_or(0, |x| x + 1).max(start);
        let new_line_end = src[e.new_end..]
            .find('\n')
            .map_or(src.len(), |x| e.new_end + x + 1);
        let old_line_end = (new_line_end as isize - delta) as usize;
        let rows = |a: usize, b: usize| bytes[a..b].iter().filter(|&&x| x == b'\n').count();
        let start_row = rows(start, line_start);
        let point = |r: usize| Point { row: r, column: 0 };
        let end_row = point(start_row + rows(line_start, new_line_end));
        tree.edit(&InputEdit {
            start_byte: line_start,
            old_end_byte: old_line_end,
            new_end_byte: new_line_end,
            start_position: point(start_row),
            // The old rows are gone with the old text; tree-sitter reuses
            // by byte offsets, rows only label nodes (nobody reads them).
            old_end_position: end_row,
            new_end_position: end_row,
        });
        let range = start..end;
        let (tree, clean) = parse_chunk(src, range.clone(), Some(&tree));
        if !clean {
            return None;
        }
        let mut blocks = Vec::new();
        let mut reach = Vec::new();
        syntax::walk_outline(&tree, src, range.clone(), &mut blocks, &mut reach);
        self.chunks[i] = Chunk {
            base: start,
            blocks,
            reach,
            tree: Some(tree),
        };
        for c in &mut self.starts[i + 1..] {
            *c = (*c as isize + delta) as usize;
        }
        for r in &mut self.recent {
            if *r > start {
                *r = (*r as isize + delta) as usize;
            }
        }
        if let Some(k) = self.recent.iter().position(|&r| r == start) {
            // The newest again.
            self.recent.remove(k);
            self.recent.push(start);
        }
        self.len = src.len();
        Some(Reparse {
            bytes: range.len(),
            chunks: 1,
        })
    }

    /// An edit inside one data row of a table that adds and removes no
    /// pipe, backslash, backtick, `<` or line break (`removed` is the text
    /// it replaced): only that row is read again, its line parsed on its own
    /// under the table's header and delimiter rows, and the rest of its
    /// chunk moves. A Stage Map of 1,000 rows is one chunk; a keystroke in
    /// one of its cells then costs that row, not the table. Such an edit
    /// cannot change what any other line is (cells split at pipes; only an
    /// unclosed code span, a new line or a line start could reach further,
    /// and those are excluded). The chunk's kept tree is edited, not parsed:
    /// the next incremental parse takes the edit into account. None, with
    /// nothing changed, when the edit is not such an edit (then `edit`).
    pub fn edit_row(&mut self, src: &str, e: &EditShift, removed: &str) -> Option<Row> {
        let plain = |t: &str| {
            !t.bytes()
                .any(|b| matches!(b, b'|' | b'\\' | b'`' | b'<' | b'\n' | b'\r'))
        };
        if !plain(removed) || !plain(&src[e.start..e.new_end]) || self.chunks.is_empty() {
            return None;
        }
        let i = self
            .starts
            .partition_point(|&c| c <= e.start)
            .checked_sub(1)?;
        let start = self.starts[i];
        let chunk = &self.chunks[i];
        if chunk.base != start {
            return None;
        }
        let b = chunk
            .blocks
            .partition_point(|b| b.range().start <= e.start)
            .checked_sub(1)?;
        let Some(Block::Table(table)) = chunk.blocks.get(b) else {
            return None;
        };
        let r = table
            .rows
            .partition_point(|r| r.range.start <= e.start)
            .checked_sub(1)?;
        let row = table.rows[r].clone();
        // The old line: after its first pipe, before its end.
        let first_pipe = row.cells.first().map(|c| c.range.start)?;
        if e.start < first_pipe || e.old_end > row.range.end || e.start <= row.range.start {
            return None;
        }
        let line = row.range.start..(row.range.end as isize + e.delta()) as usize;
        let text = src.get(line.clone())?;
        let lead = &src[line.start..e.start];
        if !lead.contains('|')
            || text.contains("||")
            || text.bytes().all(|b| matches!(b, b'|' | b' ' | b'\t'))
            // A line a delimiter row could be: with the row above it as a
            // header it may start a table of its own, which the row read
            // alone under its table's header cannot show.
            || text
                .bytes()
                .all(|b| matches!(b, b'|' | b'-' | b':' | b' ' | b'\t' | b'\r' | b'\n'))
        {
            return None;
        }
        // The row under the table's own header and delimiter rows.
        let header = src.get(table.header.range.clone())?;
        let delimiter = src.get(table.delimiter.clone()?)?;
        let mini = format!("{header}\n{delimiter}\n{text}\n");
        let at = header.len() + delimiter.len() + 2;
        let tree = syntax::parse_blocks(&mini, None);
        let mut blocks = syntax::outline(&tree, &mini);
        let mut read = match blocks.pop() {
            Some(Block::Table(t)) if blocks.is_empty() && t.rows.len() == 1 => {
                t.rows.into_iter().next()?
            }
            _ => return None,
        };
        if read.range != (at..at + text.len()) {
            return None;
        }
        read.shift(&uniform(line.start as isize - at as isize));

        // In place: the row, then whatever follows it in the chunk moves.
        let delta = e.delta();
        let Some(Block::Table(table)) = self.chunks[i].blocks.get_mut(b) else {
            return None;
        };
        table.rows[r] = read.clone();
        for later in &mut table.rows[r + 1..] {
            later.shift(e);
        }
        // A range that ended with the row's line ends with it still (an
        // insertion at its very end would not move it).
        let grow = |range: &mut Range<usize>| {
            if range.end == row.range.end {
                range.end = line.end;
            } else {
                range.shift(e);
            }
        };
        grow(&mut table.range);
        let chunk = &mut self.chunks[i];
        for later in &mut chunk.blocks[b + 1..] {
            later.shift(e);
        }
        for reach in &mut chunk.reach {
            grow(reach);
        }
        if let Some(tree) = chunk.tree.as_mut() {
            let bytes = src.as_bytes();
            let row_at = bytes[start..line.start]
                .iter()
                .filter(|&&x| x == b'\n')
                .count();
            // The whole line, as `edit_kept` edits (the reader may show a
            // row's line differently from the text; never this one's).
            let point = |col: usize| Point {
                row: row_at,
                column: col,
            };
            tree.edit(&InputEdit {
                start_byte: line.start,
                old_end_byte: row.range.end,
                new_end_byte: line.end,
                start_position: point(0),
                old_end_position: point(row.range.end - line.start),
                new_end_position: point(line.end - line.start),
            });
        }
        for c in &mut self.starts[i + 1..] {
            *c = (*c as isize + delta) as usize;
        }
        for c in &mut self.recent {
            if *c > start {
                *c = (*c as isize + delta) as usize;
            }
        }
        self.len = src.len();
        Some(read)
    }

    /// Brings every chunk's blocks to the current offsets (after which
    /// `blocks` borrows them as they are).
    pub fn settle(&mut self) {
        for (c, &start) in self.chunks.iter_mut().zip(&self.starts) {
            c.settle(start);
        }
    }

    /// Every block of the document in order. Call `settle` first (a debug
    /// assertion checks).
    pub fn blocks(&self) -> impl Iterator<Item = &Block> + Clone {
        debug_assert!(
            self.chunks
                .iter()
                .zip(&self.starts)
                .all(|(c, &s)| c.base == s)
        );
        self.chunks.iter().flat_map(|c| c.blocks.iter())
    }

    /// Copies of the blocks that start inside `range` (as
    /// `syntax::outline_in` of the whole document's tree).
    pub(crate) fn blocks_in(&self, range: Range<usize>) -> Vec<Block> {
        let end = range.end.max(range.start + 1);
        let mut out = Vec::new();
        let first = self.starts.partition_point(|&c| c <= range.start).max(1) - 1;
        for (c, &start) in self.chunks[first..].iter().zip(&self.starts[first..]) {
            if start >= end {
                break;
            }
            let moved = start as isize - c.base as isize;
            for b in &c.blocks {
                let at = (b.range().start as isize + moved) as usize;
                if at >= range.start && at < end {
                    let mut b = b.clone();
                    if moved != 0 {
                        b.shift(&uniform(moved));
                    }
                    out.push(b);
                }
            }
        }
        out
    }

    /// The smallest start of a heading, table, list or block quote that
    /// begins before `pos` and reaches past it: an edit there may have grown
    /// it.
    pub(crate) fn block_start_before(&self, pos: usize) -> Option<usize> {
        let i = self.starts.partition_point(|&c| c < pos).checked_sub(1)?;
        let c = &self.chunks[i];
        let moved = self.starts[i] as isize - c.base as isize;
        let at = |x: usize| (x as isize + moved) as usize;
        let j = c.reach.partition_point(|r| at(r.start) < pos);
        let r = c.reach.get(j.checked_sub(1)?)?;
        (at(r.end) > pos).then(|| at(r.start))
    }

    /// All blocks, at current offsets (tests, tools).
    pub fn to_vec(&self) -> Vec<Block> {
        self.blocks_in(0..usize::MAX)
    }

    /// The chunks' byte ranges (tests, tools).
    pub fn chunk_ranges(&self) -> Vec<Range<usize>> {
        (0..self.chunks.len())
            .map(|i| self.starts[i]..self.end(i))
            .collect()
    }
}

impl Chunk {
    fn settle(&mut self, start: usize) {
        let moved = start as isize - self.base as isize;
        if moved != 0 {
            let e = uniform(moved);
            self.blocks.shift(&e);
            for r in &mut self.reach {
                r.start = (r.start as isize + moved) as usize;
                r.end = (r.end as isize + moved) as usize;
            }
            self.base = start;
            // The tree's offsets are those of `base`: drop it rather than
            // edit it (the next edit inside parses the chunk from scratch).
            self.tree = None;
        }
    }
}

/// The cores this process may use (asked once: it reads cgroup files).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// An edit that moves everything by `moved` bytes.
fn uniform(moved: isize) -> EditShift {
    if moved >= 0 {
        EditShift {
            start: 0,
            old_end: 0,
            new_end: moved as usize,
        }
    } else {
        EditShift {
            start: 0,
            old_end: moved.unsigned_abs(),
            new_end: 0,
        }
    }
}

/// The candidates strictly inside `range`.
fn inner<'a>(cands: &'a [usize], range: &Range<usize>) -> &'a [usize] {
    let a = cands.partition_point(|&c| c <= range.start);
    let b = cands.partition_point(|&c| c < range.end);
    &cands[a..b.max(a)]
}

/// Parses `range` chunk by chunk, cutting at `cands` (boundary candidates
/// strictly inside the range, in order) where the text before leaves the
/// parser as it starts a document. Returns the chunks and whether the
/// range's end is such a place (always so at the end of the text).
fn parse_region(
    src: &str,
    range: Range<usize>,
    cands: &[usize],
    keep: Keep,
) -> (Vec<Parsed>, bool) {
    let mut out = Vec::new();
    let mut start = range.start;
    let mut k = 0; // cands[k..] lie after `start`
    loop {
        // Grow the chunk past candidates until it ends at a boundary: one
        // more candidate, then two, four… (a long unclosed fence stays
        // linear).
        let mut take = 1;
        let (end, tree, clean) = loop {
            let end = cands.get(k + take - 1).copied().unwrap_or(range.end);
            let (tree, clean) = parse_chunk(src, start..end, None);
            if clean || end == range.end {
                k = (k + take).min(cands.len());
                break (end, tree, clean);
            }
            take *= 2;
        };
        let mut blocks = Vec::new();
        let mut reach = Vec::new();
        syntax::walk_outline(&tree, src, start..end, &mut blocks, &mut reach);
        out.push(Parsed {
            start,
            chunk: Chunk {
                base: start,
                blocks,
                reach,
                tree: match keep {
                    Keep::All => Some(tree),
                    Keep::Large => (end - start >= KEEP_TREE_BYTES).then_some(tree),
                    Keep::None => None,
                },
            },
        });
        if end >= range.end {
            return (out, clean);
        }
        start = end;
    }
}

/// Parses the chunk `range` (reusing `old`), and whether its end is a
/// boundary: the heading there starts as it would in a fresh document.
/// When the chunk's last line lies in a block that might go on
/// (`syntax::ends_on_top` cannot tell), the chunk is parsed again with the
/// heading line that follows, to see the heading on top
/// (`syntax::heading_on_top`).
fn parse_chunk(src: &str, range: Range<usize>, old: Option<&Tree>) -> (Tree, bool) {
    let tree = syntax::parse_range(src, range.clone(), old);
    if range.end >= src.len() || syntax::ends_on_top(&tree, range.end) {
        return (tree, true);
    }
    let line_end = src[range.end..]
        .find('\n')
        .map_or(src.len(), |i| range.end + i + 1);
    let tree = syntax::parse_range(src, range.start..line_end, Some(&tree));
    let clean = syntax::heading_on_top(&tree, range.end);
    (tree, clean)
}

/// Appends to `out` the chunk boundary candidates strictly inside `range`:
/// line starts with 1–6 `#` then a space, tab or line end, right after a
/// line of nothing but spaces and tabs, on a line that ends with `\n`.
fn candidates(src: &str, range: Range<usize>, out: &mut Vec<usize>) {
    let bytes = src.as_bytes();
    let mut line = range.start;
    let mut prev_blank = false;
    while line < range.end {
        let end = src[line..range.end]
            .find('\n')
            .map_or(range.end, |i| line + i + 1);
        let text = &bytes[line..end];
        // A heading line at the very end without its line break parses
        // differently alone (tree-sitter-md drops it) than after the text
        // before it (found by cargo fuzz): it stays in the chunk before.
        if prev_blank && line > range.start && text.last() == Some(&b'\n') && is_atx_start(text) {
            out.push(line);
        }
        prev_blank = text
            .iter()
            .all(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            && end <= range.end
            && text.last() == Some(&b'\n');
        line = end;
    }
}

fn is_atx_start(line: &[u8]) -> bool {
    let hashes = line.iter().take_while(|&&b| b == b'#').count();
    (1..=6).contains(&hashes)
        && line
            .get(hashes)
            .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// A document that starts with a `---` or `+++` line may open with front
/// matter, which runs to the next line of exactly that marker. None: no such
/// first line; Some(None): it never closes; Some(Some(end)): it may run to
/// `end`, and no boundary may come before.
fn front_matter(src: &str) -> Option<Option<usize>> {
    let first = src.lines().next().unwrap_or("");
    let marker = first.trim_start_matches(' ');
    let marker = if marker.starts_with("---") {
        "---"
    } else if marker.starts_with("+++") {
        "+++"
    } else {
        return None;
    };
    let mut offset = src.find('\n').map_or(src.len(), |i| i + 1);
    while offset < src.len() {
        let end = src[offset..]
            .find('\n')
            .map_or(src.len(), |i| offset + i + 1);
        if src[offset..end].trim_end_matches(['\n', '\r', ' ', '\t']) == marker {
            return Some(Some(end));
        }
        offset = end;
    }
    Some(None)
}

/// Drops the candidates that front matter may cover.
fn drop_front_matter(src: &str, cands: &mut Vec<usize>) {
    match front_matter(src) {
        None => {}
        Some(Some(close)) => cands.retain(|&c| c >= close),
        Some(None) => cands.clear(),
    }
}
