//! Syntax layer: tree-sitter-md parses, and the flat outline of blocks the plan
//! model reads (headings, pipe tables, lists), each with byte ranges.
//!
//! Invariant: nothing here knows about plans or LSP; every range is a byte range
//! into the source text, and nothing panics on any input.

pub mod outline;
pub mod position;
pub(crate) mod shift;

use std::cell::RefCell;
use std::ops::Range;

use tree_sitter::{Node, Parser, Query, QueryCursor, StreamingIterator, Tree};

/// `i` clamped to `s` and moved back to the start of the character it falls
/// in: the one place a byte offset computed by arithmetic (`end - 1`, an
/// offset from an editor or a fuzzer) is made safe to slice `s` at. A line
/// break is one byte, so the result is on the same line as `i`.
pub(crate) fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The tree-sitter query that selects the outline's blocks.
pub(crate) const OUTLINE_QUERY: &str = include_str!("../../../queries/outline.scm");

thread_local! {
    static BLOCK_PARSER: RefCell<Parser> = RefCell::new(new_parser(&tree_sitter_md::LANGUAGE.into()));
    static INLINE_PARSER: RefCell<Parser> = RefCell::new(new_parser(&tree_sitter_md::INLINE_LANGUAGE.into()));
    static OUTLINE: Query = Query::new(&tree_sitter_md::LANGUAGE.into(), OUTLINE_QUERY)
        .expect("queries/outline.scm is valid for tree-sitter-md (checked by a test)");
}

fn new_parser(language: &tree_sitter::Language) -> Parser {
    let mut parser = Parser::new();
    // The grammar and the tree-sitter runtime are pinned together in Cargo.lock;
    // a mismatch is a build defect that the first test catches.
    parser
        .set_language(language)
        .expect("tree-sitter-md grammar matches the tree-sitter runtime");
    parser
}

/// Parses `text` with the block grammar, reusing `old` (already edited with
/// `Tree::edit`) for an incremental reparse.
pub fn parse_blocks(text: &str, old: Option<&Tree>) -> Tree {
    BLOCK_PARSER.with(|p| {
        let mut p = p.borrow_mut();
        let mut read = |byte: usize, _| chunk(text, byte);
        match p.parse_with_options(&mut read, old, None) {
            Some(tree) => tree,
            // Only possible with a cancellation flag or timeout, which we never
            // set; a fresh parse is the safe answer.
            None => {
                p.reset();
                p.parse_with_options(&mut read, None, None)
                    .unwrap_or_else(|| unreachable_tree(&mut p))
            }
        }
    })
}

/// What the parser reads from `byte` on: the text itself, except that a
/// table row whose cells are all blank is shown with blanks filled in (one
/// space, or every other pipe of a row of bare pipes: `blank_row_fill`).
/// tree-sitter-md's error recovery on such a row swallows the rest of the
/// document into an `ERROR` node (tree-sitter-grammars/tree-sitter-markdown
/// #242); filled, it parses as the row it is. Lengths are kept, so every
/// byte range still points into `text`, where the row is blank. Whether a
/// line is filled depends on all of it, so `chunk` reads the whole line
/// around `byte`, whatever byte the parser asks from.
fn chunk(text: &str, byte: usize) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    let bytes = text.as_bytes();
    if byte >= bytes.len() {
        return Cow::Borrowed(&[]);
    }
    let line_start = bytes[..byte]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let mut start = line_start;
    // Hand out the lines up to the next blank row in one piece.
    loop {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| start + i + 1);
        let fill = blank_row_fill(&bytes[start..end]);
        let tail = trailing_pipes(&bytes[start..end]);
        if fill.is_some() || tail.is_some() {
            if start > byte {
                return Cow::Borrowed(&bytes[byte..start]);
            }
            let mut line = bytes[start..end].to_vec();
            match fill {
                Some(Fill::Blank(i)) => line[i] = b'x',
                // `||||||` → `x|x|x|`: the grammar trips on `||` as well.
                Some(Fill::BarePipes(from)) => {
                    for b in line[from..].iter_mut().step_by(2) {
                        if *b == b'|' {
                            *b = b'x';
                        }
                    }
                }
                None => {}
            }
            // `| 2 | x |||` → `| 2 | x || `: the same cells (a trailing pipe
            // is optional, a trailing blank cell is blank), and no run of
            // pipes at the end, which the grammar trips on too.
            if let Some(i) = tail.filter(|&i| line[i] == b'|') {
                line[i] = b' ';
            }
            return Cow::Owned(line[byte - start..].to_vec());
        }
        if end >= bytes.len() || end - byte >= 1 << 16 {
            return Cow::Borrowed(&bytes[byte..end]);
        }
        start = end;
    }
}

/// For a line that looks like a table row (`|` after at most three spaces)
/// and ends in three or more pipes (`| 2 | x |||`), the index of its last
/// pipe.
fn trailing_pipes(line: &[u8]) -> Option<usize> {
    let indent = line.iter().take(4).take_while(|&&b| b == b' ').count();
    if indent > 3 || line.get(indent) != Some(&b'|') {
        return None;
    }
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let run = body.iter().rev().take_while(|&&b| b == b'|').count();
    (run >= 3 && body.len() > indent + run - 1).then(|| body.len() - 1)
}

/// How a row of blank cells is shown to the parser.
enum Fill {
    /// A space or tab inside a cell, at this index, becomes `x`.
    Blank(usize),
    /// A row of bare pipes (`||||`, no blank to fill) from this index: every
    /// other pipe becomes `x` (`x|x|`); the model reads such a line as
    /// blank whatever its cells are.
    BarePipes(usize),
}

/// For a line that is a pipe-table row of blank cells (`|  |  |`, `| |`,
/// `||||`), what to fill.
fn blank_row_fill(line: &[u8]) -> Option<Fill> {
    let indent = line.iter().take(4).take_while(|&&b| b == b' ').count();
    if indent > 3 || line.get(indent) != Some(&b'|') {
        return None;
    }
    let mut pipes = 0;
    let mut fill = None;
    for (i, &b) in line.iter().enumerate().skip(indent) {
        match b {
            b'|' => pipes += 1,
            b' ' | b'\t' => {
                if fill.is_none() && pipes > 0 {
                    fill = Some(i);
                }
            }
            b'\r' | b'\n' => {}
            _ => return None,
        }
    }
    // The fill must sit between two pipes, inside a cell.
    match fill.filter(|&f| line[f..].contains(&b'|')) {
        Some(f) if pipes >= 2 => Some(Fill::Blank(f)),
        None if pipes >= 3 => Some(Fill::BarePipes(indent)),
        _ => None,
    }
}

fn unreachable_tree(p: &mut Parser) -> Tree {
    p.reset();
    p.parse("", None)
        .expect("parsing the empty string always succeeds")
}

/// One block of the outline, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(Heading),
    Table(Table),
    List(List),
    /// A top-level paragraph (not in a list item, quote or heading): a
    /// predicted-files line may be written as one.
    Paragraph(Range<usize>),
}

impl Block {
    pub fn range(&self) -> Range<usize> {
        match self {
            Block::Heading(h) => h.range.clone(),
            Block::Table(t) => t.range.clone(),
            Block::List(l) => l.range.clone(),
            Block::Paragraph(r) => r.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: u8,
    /// The whole heading line(s), without the final line break.
    pub range: Range<usize>,
    /// The heading's text, trimmed (no `#` markers, no closing `#`s).
    pub text: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub range: Range<usize>,
    pub header: Row,
    /// The `|---|---|` row.
    pub delimiter: Option<Range<usize>>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row's line, without its line break.
    pub range: Range<usize>,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The cell's content with surrounding whitespace trimmed (may be empty,
    /// then positioned where the content would start).
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    pub range: Range<usize>,
    pub items: Vec<ListItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    pub range: Range<usize>,
    /// The item's first paragraph (its inline text), trimmed; empty when the
    /// item has no paragraph.
    pub text: Range<usize>,
    pub children: Vec<ListItem>,
}

/// The outline of the whole tree.
pub fn outline(tree: &Tree, src: &str) -> Vec<Block> {
    outline_in(tree, src, 0..src.len())
}

/// The outline of the blocks that start inside `range` (lets a caller
/// re-derive one section without walking the whole document).
pub(crate) fn outline_in(tree: &Tree, src: &str, range: Range<usize>) -> Vec<Block> {
    OUTLINE.with(|query| {
        let mut cursor = QueryCursor::new();
        cursor.set_byte_range(range.clone());
        let names = query.capture_names();
        let mut blocks: Vec<Block> = Vec::new();
        // Captures come in document order, so "inside" is a range check
        // against the last quote and the last top-level list (Node::parent
        // walks down from the root: too slow per block).
        let mut quote_end = 0usize;
        let mut list_end = 0usize;
        let mut heading_end = 0usize;
        let mut captures = cursor.captures(query, tree.root_node(), src.as_bytes());
        while let Some((m, index)) = captures.next() {
            let capture = m.captures()[*index];
            let node = capture.node;
            let start = node.start_byte();
            if start < range.start || start >= range.end.max(range.start + 1) {
                continue;
            }
            let name = names[capture.index as usize];
            if name == "quote" {
                quote_end = quote_end.max(node.end_byte());
                continue;
            }
            if start < quote_end {
                continue;
            }
            match name {
                "heading" => {
                    heading_end = node.end_byte();
                    blocks.push(Block::Heading(heading(node, src)))
                }
                "paragraph" if start >= list_end && start >= heading_end => {
                    blocks.push(Block::Paragraph(trim_line_end(src, node.byte_range())));
                }
                "table" => blocks.push(Block::Table(table(node, src))),
                "orphan_row" => {
                    // Attach to the table just before it, when nothing else
                    // came in between; otherwise it is not plan content.
                    if let Some(Block::Table(t)) = blocks.last_mut() {
                        let row = row(node, src);
                        if row.range.start >= t.range.end
                            || t.rows.iter().all(|r| r.range != row.range)
                        {
                            t.range.end = t.range.end.max(row.range.end);
                            t.rows.push(row);
                        }
                    }
                }
                "list" if start >= list_end => {
                    list_end = node.end_byte();
                    blocks.push(Block::List(list(node, src)));
                }
                _ => {}
            }
        }
        blocks
    })
}

fn heading(node: Node, src: &str) -> Heading {
    let mut level = 1u8;
    let mut text = None;
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "atx_h1_marker" => level = 1,
            "atx_h2_marker" => level = 2,
            "atx_h3_marker" => level = 3,
            "atx_h4_marker" => level = 4,
            "atx_h5_marker" => level = 5,
            "atx_h6_marker" => level = 6,
            "setext_h1_underline" => level = 1,
            "setext_h2_underline" => level = 2,
            "inline" | "paragraph" => text = Some(child.byte_range()),
            _ => {}
        }
    }
    let range = trim_line_end(src, node.byte_range());
    let text = match text {
        Some(r) => trim(src, r),
        None => range.end..range.end,
    };
    Heading { level, range, text }
}

fn table(node: Node, src: &str) -> Table {
    let mut header = None;
    let mut delimiter = None;
    let mut rows = Vec::new();
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "pipe_table_header" => header = Some(row(child, src)),
            "pipe_table_delimiter_row" => delimiter = Some(trim_line_end(src, child.byte_range())),
            "pipe_table_row" => rows.push(row(child, src)),
            "ERROR" => collect_rows(child, src, &mut rows),
            _ => {}
        }
    }
    let range = trim_line_end(src, node.byte_range());
    let header = header.unwrap_or(Row {
        range: range.start..range.start,
        cells: Vec::new(),
    });
    Table {
        range,
        header,
        delimiter,
        rows,
    }
}

fn collect_rows(node: Node, src: &str, rows: &mut Vec<Row>) {
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.kind() == "pipe_table_row" {
            rows.push(row(child, src));
        } else if child.kind() == "ERROR" {
            collect_rows(child, src, rows);
        }
    }
}

/// A row's cells. The grammar's cells are used when the row parsed cleanly;
/// a row with error recovery inside (empty `||` cells do that) is split on its
/// unescaped pipes instead, so no row is ever lost. Either way, cells that a
/// `|` inside a code span split apart are joined back.
fn row(node: Node, src: &str) -> Row {
    let range = trim_line_end(src, node.byte_range());
    let mut has_error = false;
    let mut cells = Vec::new();
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "pipe_table_cell" => cells.push(child.byte_range()),
            "ERROR" => has_error = true,
            _ => {}
        }
    }
    let raw = if has_error || node.has_error() {
        split_row(src, range.clone())
    } else {
        cells
    };
    let cells = join_code_spans(src, raw)
        .into_iter()
        .map(|r| Cell {
            range: trim(src, r),
        })
        .collect();
    Row { range, cells }
}

/// The cells of the table row at `range` (its line, without the line
/// break) read from the text alone: split on unescaped pipes, code spans
/// joined, trimmed. The same cells as the tree's for every row of the
/// fixtures (a test checks it); for a model that keeps row ranges only.
pub(crate) fn row_cells(src: &str, range: Range<usize>) -> Vec<Range<usize>> {
    join_code_spans(src, split_row(src, range))
        .into_iter()
        .map(|r| trim(src, r))
        .collect()
}

/// Splits a table row on unescaped `|`, dropping the outer pipes.
pub(crate) fn split_row(src: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let bytes = src.as_bytes();
    let mut cuts = Vec::new();
    let mut i = range.start;
    while i < range.end {
        match bytes[i] {
            b'\\' => i += 1,
            b'|' => cuts.push(i),
            _ => {}
        }
        i += 1;
    }
    let text = &src[range.clone()];
    let lead = text.len() - text.trim_start().len();
    let trail = text.len() - text.trim_end().len();
    let starts_with_pipe = cuts.first() == Some(&(range.start + lead));
    let ends_with_pipe =
        cuts.len() > usize::from(starts_with_pipe) && cuts.last() == Some(&(range.end - trail - 1));
    let mut cells = Vec::new();
    let mut start = if starts_with_pipe {
        cuts[0] + 1
    } else {
        range.start
    };
    let inner = if starts_with_pipe {
        &cuts[1..]
    } else {
        &cuts[..]
    };
    for (k, &cut) in inner.iter().enumerate() {
        cells.push(start..cut);
        start = cut + 1;
        let _ = k;
    }
    if !ends_with_pipe {
        cells.push(start..range.end);
    }
    cells
}

/// GFM splits a cell at a `|` even inside a code span, but plan authors mean
/// `` `a|b` `` as one cell: join neighbours while a cell has an open span.
fn join_code_spans(src: &str, cells: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::with_capacity(cells.len());
    // The length of the backtick run of the code span still open.
    let mut open: Option<usize> = None;
    for cell in cells {
        let was_open = open.is_some();
        open = code_span_state(&src[cell.clone()], open);
        match out.last_mut() {
            Some(last) if was_open => last.end = cell.end,
            _ => out.push(cell),
        }
    }
    if open.is_some() {
        // An unbalanced backtick that never closes: GFM's split was right.
        return split_again(src, out);
    }
    out
}

fn split_again(src: &str, joined: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for r in joined {
        let bytes = src.as_bytes();
        let mut start = r.start;
        let mut i = r.start;
        while i < r.end {
            match bytes[i] {
                b'\\' => i += 1,
                b'|' => {
                    out.push(start..i);
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        out.push(start..r.end);
    }
    out
}

/// Reads `text` for code spans (CommonMark: a run of N backticks is closed
/// by the next run of exactly N), starting with the span `open` (its run
/// length) if one is open, and returns the span still open at the end.
fn code_span_state(text: &str, mut open: Option<usize>) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // Backslash escapes work outside code spans only.
            b'\\' if open.is_none() => i += 1,
            b'`' => {
                let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
                open = match open {
                    None => Some(run),
                    Some(n) if n == run => None,
                    other => other,
                };
                i += run - 1;
            }
            _ => {}
        }
        i += 1;
    }
    open
}

fn list(node: Node, src: &str) -> List {
    List {
        range: trim_line_end(src, node.byte_range()),
        items: list_items(node, src),
    }
}

fn list_items(list: Node, src: &str) -> Vec<ListItem> {
    let mut items = Vec::new();
    let mut cursor = list.walk();
    for item in list.children(&mut cursor) {
        if item.kind() != "list_item" {
            continue;
        }
        let mut text = None;
        let mut children = Vec::new();
        let mut c2 = item.walk();
        for child in item.children(&mut c2) {
            match child.kind() {
                "paragraph" if text.is_none() => {
                    let mut c3 = child.walk();
                    let inline = child.children(&mut c3).find(|n| n.kind() == "inline");
                    text = Some(inline.map_or_else(|| child.byte_range(), |n| n.byte_range()));
                }
                "list" => children.extend(list_items(child, src)),
                _ => {}
            }
        }
        let range = trim_line_end(src, item.byte_range());
        let text = text.map_or(range.end..range.end, |r| trim(src, r));
        items.push(ListItem {
            range,
            text,
            children,
        });
    }
    items
}

/// The code spans of an inline text, as byte ranges of their content
/// (delimiters excluded, one leading/trailing space stripped as CommonMark says).
pub(crate) fn code_spans(src: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let Some(text) = src.get(range.clone()) else {
        return Vec::new();
    };
    if !text.contains('`') {
        return Vec::new();
    }
    if let Some(spans) = plain_code_spans(text) {
        return spans
            .into_iter()
            .map(|r| trim(src, (r.start + range.start)..(r.end + range.start)))
            .collect();
    }
    code_spans_parsed(src, range)
}

/// Code spans found by pairing single backticks, for the common case of
/// predicted-file lists (`` `a.rs`, `b/` ``) without an inline parse per
/// stage: only text whose backticks all stand alone (no runs, which the
/// inline grammar matches in its own way) and where nothing can take
/// precedence over a code span or hide a backtick: no `<` (HTML,
/// autolinks), no `[` (link labels), no `\\` (escapes), no `$` (math), no
/// blank line. None otherwise. A test compares it with the inline grammar on
/// random texts.
fn plain_code_spans(text: &str) -> Option<Vec<Range<usize>>> {
    if text.contains(['<', '\\', '$', '['])
        || text.contains("``")
        // A blank line ends the paragraph (and any span).
        || text.split(['\n', '\r']).skip(1).any(|l| l.trim().is_empty())
    {
        return None;
    }
    let ticks: Vec<usize> = text.match_indices('`').map(|(i, _)| i).collect();
    Some(ticks.chunks_exact(2).map(|p| p[0] + 1..p[1]).collect())
}

/// `code_spans` by the inline grammar.
fn code_spans_parsed(src: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let Some(text) = src.get(range.clone()) else {
        return Vec::new();
    };
    INLINE_PARSER.with(|p| {
        let mut p = p.borrow_mut();
        let Some(tree) = p.parse(text, None) else {
            return Vec::new();
        };
        let mut spans = Vec::new();
        collect_code_spans(tree.root_node(), &mut spans);
        spans
            .into_iter()
            .map(|r| {
                let r = (r.start + range.start)..(r.end + range.start);
                trim(src, r)
            })
            .collect()
    })
}

fn collect_code_spans(node: Node, out: &mut Vec<Range<usize>>) {
    if node.kind() == "code_span" {
        let mut cursor = node.walk();
        let delims: Vec<Range<usize>> = node
            .children(&mut cursor)
            .filter(|c| c.kind() == "code_span_delimiter")
            .map(|c| c.byte_range())
            .collect();
        if let [open, close] = delims.as_slice() {
            out.push(open.end..close.start);
        }
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        collect_code_spans(child, out);
    }
}

/// `range` without surrounding whitespace (including `\r`).
pub fn trim(src: &str, range: Range<usize>) -> Range<usize> {
    let Some(text) = src.get(range.clone()) else {
        return range.start..range.start;
    };
    let start = range.start + (text.len() - text.trim_start().len());
    let end = (range.end - (text.len() - text.trim_end().len())).max(start);
    start..end
}

fn trim_line_end(src: &str, range: Range<usize>) -> Range<usize> {
    let bytes = src.as_bytes();
    let mut end = range.end.min(bytes.len());
    while end > range.start && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    range.start..end
}

// ---------------------------------------------------------------------------
// Section by section: what `outline::Outline` builds on. A range of the text
// is parsed on its own (node offsets stay those of the whole text), and its
// outline is read with a cursor walk that visits only the nodes that can hold
// outline blocks, instead of running the query over every node.

thread_local! {
    /// A parser of its own: its included ranges change with every range.
    static RANGE_PARSER: RefCell<Parser> = RefCell::new(new_parser(&tree_sitter_md::LANGUAGE.into()));
}

/// Parses `text[range]` as if it were the whole document (the parser reads
/// nothing outside it), reusing `old` (already edited) when given. Reads
/// through the same filter as `parse_blocks`.
pub(crate) fn parse_range(text: &str, range: Range<usize>, old: Option<&Tree>) -> Tree {
    RANGE_PARSER.with(|p| {
        let mut p = p.borrow_mut();
        let origin = tree_sitter::Point { row: 0, column: 0 };
        let included = tree_sitter::Range {
            start_byte: range.start,
            end_byte: range.end,
            start_point: origin,
            end_point: origin,
        };
        // Ranges in order and non-empty: never refused.
        let _ = p.set_included_ranges(&[included]);
        // The reader hands out text up to the end of the range only (it
        // would look ahead for blank rows otherwise); ranges end at a line end.
        let text = text.get(..range.end).unwrap_or(text);
        let mut read = |byte: usize, _| chunk(text, byte);
        match p.parse_with_options(&mut read, old, None) {
            Some(tree) => tree,
            None => {
                p.reset();
                let _ = p.set_included_ranges(&[included]);
                p.parse_with_options(&mut read, None, None)
                    .unwrap_or_else(|| unreachable_tree(&mut p))
            }
        }
    })
}

/// Node kinds the walk tells apart, by id (comparing ids, not names).
struct Kinds {
    atx_heading: u16,
    setext_heading: u16,
    pipe_table: u16,
    pipe_table_row: u16,
    list: u16,
    list_item: u16,
    block_quote: u16,
    paragraph: u16,
    section: u16,
    document: u16,
}

fn kinds() -> &'static Kinds {
    static KINDS: std::sync::OnceLock<Kinds> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| {
        let language: tree_sitter::Language = tree_sitter_md::LANGUAGE.into();
        let id = |name: &str| language.id_for_node_kind(name, true);
        Kinds {
            atx_heading: id("atx_heading"),
            setext_heading: id("setext_heading"),
            pipe_table: id("pipe_table"),
            pipe_table_row: id("pipe_table_row"),
            list: id("list"),
            list_item: id("list_item"),
            block_quote: id("block_quote"),
            paragraph: id("paragraph"),
            section: id("section"),
            document: id("document"),
        }
    })
}

/// The outline blocks that start inside `range`, appended to `blocks`: the
/// same blocks, in the same order, as `outline_in(tree, src, range)` for a
/// tree of `range` alone (tests compare them on every fixture and on random
/// edits, through `outline::Outline`). Also appends
/// to `reach` the extent (start, end of the node) of every outermost
/// heading, table, list and block quote, which `Outline::block_start_before`
/// needs.
///
/// Only the nodes that can contain outline blocks are entered (document,
/// section, list, list item; anything with an error inside, for the rows
/// error recovery set loose); block quotes are skipped whole.
///
/// Long on purpose: one loop over one tree cursor, the hot path of every
/// parse, whose branches per node kind read best side by side.
pub(crate) fn walk_outline(
    tree: &Tree,
    src: &str,
    range: Range<usize>,
    blocks: &mut Vec<Block>,
    reach: &mut Vec<Range<usize>>,
) {
    let k = kinds();
    let end = range.end.max(range.start + 1);
    let first_block = blocks.len();
    let mut list_end = 0usize;
    let mut cursor = tree.walk();
    // Per level below the root: (inside a heading/table/list/quote node,
    // the parent is an ERROR node).
    let mut levels: Vec<(bool, bool)> = Vec::new();
    let (mut inside, mut parent_error) = (false, false);
    loop {
        let node = cursor.node();
        let kind = node.kind_id();
        let start = node.start_byte();
        let in_range = start >= range.start && start < end;
        let is_reach = kind == k.atx_heading
            || kind == k.setext_heading
            || kind == k.pipe_table
            || kind == k.list
            || kind == k.block_quote;
        if is_reach && !inside && in_range {
            reach.push(start..node.end_byte());
        }
        let descend = if kind == k.block_quote {
            false
        } else if kind == k.paragraph {
            if in_range && !inside {
                blocks.push(Block::Paragraph(trim_line_end(src, node.byte_range())));
            }
            false
        } else if kind == k.atx_heading || kind == k.setext_heading {
            if in_range {
                blocks.push(Block::Heading(heading(node, src)));
            }
            node.has_error()
        } else if kind == k.pipe_table {
            if in_range {
                blocks.push(Block::Table(table(node, src)));
            }
            node.has_error()
        } else if kind == k.list {
            if in_range && start >= list_end {
                list_end = node.end_byte();
                blocks.push(Block::List(list(node, src)));
            }
            true
        } else if kind == k.pipe_table_row && parent_error {
            if in_range && blocks.len() > first_block {
                // As `outline_in`: attach to the table just before it.
                if let Some(Block::Table(t)) = blocks.last_mut() {
                    let row = row(node, src);
                    if row.range.start >= t.range.end || t.rows.iter().all(|r| r.range != row.range)
                    {
                        t.range.end = t.range.end.max(row.range.end);
                        t.rows.push(row);
                    }
                }
            }
            node.has_error()
        } else {
            kind == k.document
                || kind == k.section
                || kind == k.list_item
                || node.is_error()
                || node.has_error()
        };
        // Outside the range there is nothing to take.
        let descend = descend && node.end_byte() >= range.start && start < end;
        if descend && cursor.goto_first_child() {
            levels.push((inside, parent_error));
            inside = inside || is_reach;
            parent_error = node.is_error();
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
            (inside, parent_error) = levels.pop().unwrap_or((false, false));
        }
    }
}

/// Whether the last byte before `end` (a blank line before a heading at
/// column 0) lies in nothing but sections, the document and lists: no fence,
/// HTML block, table, quote or paragraph is open across it that could take
/// the heading line in (a list cannot: the heading is not indented). False
/// says nothing either way (`heading_on_top` decides then).
pub(crate) fn ends_on_top(tree: &Tree, end: usize) -> bool {
    let k = kinds();
    if end == 0 {
        return false;
    }
    let mut node = tree.root_node().descendant_for_byte_range(end - 1, end);
    while let Some(n) = node {
        let kind = n.kind_id();
        if kind != k.section && kind != k.document && kind != k.list && kind != k.list_item {
            return false;
        }
        node = n.parent();
    }
    true
}

/// Whether the line at `at` is an ATX heading at the top level of `tree`
/// (its ancestors are sections and the document only): whatever came before
/// it in the tree's range is closed there, and the parser is back where it
/// starts a document. (A blank line is not enough: a table row with an
/// unclosed code span runs on over it, and fences and HTML blocks do.)
pub(crate) fn heading_on_top(tree: &Tree, at: usize) -> bool {
    let k = kinds();
    let mut node = tree.root_node().descendant_for_byte_range(at, at + 1);
    let mut found = false;
    while let Some(n) = node {
        let kind = n.kind_id();
        if !found {
            if kind == k.atx_heading {
                if n.start_byte() != at {
                    return false;
                }
                found = true;
            }
        } else if kind != k.section && kind != k.document {
            return false;
        }
        node = n.parent();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_char_boundary_moves_back_to_the_character_start() {
        let s = "a단\u{1F680}e\u{301}\n";
        assert_eq!(floor_char_boundary(s, 0), 0);
        assert_eq!(floor_char_boundary(s, 1), 1);
        assert_eq!(floor_char_boundary(s, 2), 1);
        assert_eq!(floor_char_boundary(s, 3), 1);
        assert_eq!(floor_char_boundary(s, 4), 4);
        assert_eq!(floor_char_boundary(s, 7), 4);
        assert_eq!(floor_char_boundary(s, 8), 8);
        // The combining mark is a character of its own.
        assert_eq!(floor_char_boundary(s, 10), 9);
        assert_eq!(floor_char_boundary(s, s.len()), s.len());
        assert_eq!(floor_char_boundary(s, usize::MAX), s.len());
        assert_eq!(floor_char_boundary("", 3), 0);
    }

    fn blocks(src: &str) -> Vec<Block> {
        outline(&parse_blocks(src, None), src)
    }

    fn cell_texts<'a>(src: &'a str, row: &Row) -> Vec<&'a str> {
        row.cells.iter().map(|c| &src[c.range.clone()]).collect()
    }

    #[test]
    fn query_compiles() {
        OUTLINE.with(|q| assert!(q.capture_names().contains(&"heading")));
    }

    #[test]
    fn code_blocks_html_and_quotes_are_not_content() {
        let src = "# A\n\n```\n| 9 | x |\n## B\n```\n\n<!--\n## C\n-->\n\n> ## D\n\n## E\n";
        let headings: Vec<&str> = blocks(src)
            .iter()
            .filter_map(|b| match b {
                Block::Heading(h) => Some(&src[h.text.clone()]),
                _ => None,
            })
            .collect();
        assert_eq!(headings, ["A", "E"]);
    }

    #[test]
    fn rows_with_empty_cells_are_kept() {
        let src = "| a | b | c |\n|---|---|---|\n| 1 ||| \n| 2 | | x |\n";
        let b = blocks(src);
        let Block::Table(t) = &b[0] else {
            panic!("{b:?}")
        };
        assert_eq!(t.rows.len(), 2, "{t:?}");
        assert_eq!(cell_texts(src, &t.rows[1]), ["2", "", "x"]);
        assert_eq!(&src[t.rows[0].cells[0].range.clone()], "1");
    }

    #[test]
    fn code_span_pipes_and_escaped_pipes_stay_in_their_cell() {
        let src = "| a | b | c |\n|---|---|---|\n| `x|y` | p \\| q | z |\n";
        let b = blocks(src);
        let Block::Table(t) = &b[0] else { panic!() };
        assert_eq!(cell_texts(src, &t.rows[0]), ["`x|y`", "p \\| q", "z"]);
    }

    #[test]
    fn nested_list_items_and_code_spans() {
        let src = "- Files: `a.rs`, ``b`c.rs``\n  - `d/`\n- other\n";
        let b = blocks(src);
        let Block::List(l) = &b[0] else { panic!() };
        assert_eq!(l.items.len(), 2);
        assert_eq!(l.items[0].children.len(), 1);
        let spans: Vec<&str> = code_spans(src, l.items[0].text.clone())
            .into_iter()
            .map(|r| &src[r])
            .collect();
        assert_eq!(spans, ["a.rs", "b`c.rs"]);
    }

    /// Matching backtick runs finds the code spans the inline grammar finds,
    /// on random texts of backticks, spaces, paths, emphasis and line breaks.
    #[test]
    fn plain_code_spans_agree_with_the_inline_grammar() {
        let pieces = [
            "`", "``", "```", "a", " ", "_", "*", "**", "/", ".", ",", "\n", "-", ":", "[", "]",
            "(", ")", "src/m1/", "가", "|", "~", "!", "#", "&amp;",
        ];
        let mut rng = crate::engine::generate::Rng::new(42);
        let cases = if cfg!(debug_assertions) {
            5_000
        } else {
            30_000
        };
        for case in 0..cases {
            let len = 1 + rng.below(24);
            let text: String = (0..len).map(|_| pieces[rng.below(pieces.len())]).collect();
            if !text.contains('`') {
                continue;
            }
            let fast = code_spans(&text, 0..text.len());
            let parsed = code_spans_parsed(&text, 0..text.len());
            assert_eq!(fast, parsed, "case {case}: {text:?}");
        }
    }

    /// `row_cells` (text only) gives the tree's cells for every data row of
    /// every table in the fixtures and a generated plan: the model keeps
    /// step rows as ranges and its fixes read their cells this way.
    #[test]
    fn row_cells_are_the_trees_cells_on_every_fixture() {
        let mut texts = crate::io::walk::fixture_texts();
        assert!(texts.len() > 100, "fixtures found");
        texts.push(crate::engine::generate::plan(
            &crate::engine::generate::Spec::clean(50),
        ));
        let mut rows = 0;
        for text in &texts {
            for block in outline(&parse_blocks(text, None), text) {
                let Block::Table(t) = block else { continue };
                for row in t.rows.iter().chain([&t.header]) {
                    let tree: Vec<Range<usize>> =
                        row.cells.iter().map(|c| c.range.clone()).collect();
                    assert_eq!(
                        row_cells(text, row.range.clone()),
                        tree,
                        "{:?}",
                        &text[row.range.clone()]
                    );
                    rows += 1;
                }
            }
        }
        assert!(rows > 1000, "{rows} rows");
    }

    #[test]
    fn split_row_handles_missing_outer_pipes() {
        let src = "a | b";
        assert_eq!(split_row(src, 0..src.len()), vec![0..2, 3..5]);
        let src = "| a | b |";
        assert_eq!(split_row(src, 0..src.len()), vec![1..4, 5..8]);
    }
}
