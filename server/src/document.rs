//! An open document: its text, tree-sitter tree and plan model, kept up to
//! date edit by edit (the block tree is reparsed incrementally with the old
//! tree).
//!
//! Invariant: no LSP types here; edits arrive as byte ranges (the LSP layer
//! converts positions with `position`). Any edit is accepted: ranges are
//! clamped to the text and to character boundaries, never a panic.

use std::ops::Range;

use ropey::Rope;
use tree_sitter::{InputEdit, Point, Tree};

use crate::config::Config;
use crate::model::{self, Plan};
use crate::rules::{self, Finding};
use crate::syntax;

pub struct Document {
    text: String,
    rope: Rope,
    tree: Tree,
    plan: Plan,
    findings: Vec<Finding>,
}

impl Document {
    pub fn new(text: String, config: &Config) -> Document {
        let rope = Rope::from_str(&text);
        let tree = syntax::parse_blocks(&text, None);
        let mut doc = Document {
            text,
            rope,
            tree,
            plan: Plan::default(),
            findings: Vec::new(),
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

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Replaces `range` with `new_text` and reparses incrementally. Call
    /// `reanalyze` once after a batch of edits.
    pub fn edit(&mut self, range: Range<usize>, new_text: &str) {
        let start = floor_char_boundary(&self.text, range.start.min(self.text.len()));
        let end = floor_char_boundary(&self.text, range.end.min(self.text.len())).max(start);
        let start_position = self.point(start);
        let old_end_position = self.point(end);

        let start_char = self.rope.byte_to_char(start);
        let end_char = self.rope.byte_to_char(end);
        self.rope.remove(start_char..end_char);
        self.rope.insert(start_char, new_text);
        self.text.replace_range(start..end, new_text);

        let new_end = start + new_text.len();
        let new_end_position = advance(start_position, new_text);
        self.tree.edit(&InputEdit {
            start_byte: start,
            old_end_byte: end,
            new_end_byte: new_end,
            start_position,
            old_end_position,
            new_end_position,
        });
        self.tree = syntax::parse_blocks(&self.text, Some(&self.tree));
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

    /// Rebuilds the model and findings from the current tree.
    pub fn reanalyze(&mut self, config: &Config) {
        if self.text.len() > config.max_document_bytes {
            self.plan = Plan::default();
            self.findings = vec![rules::too_large(self.text.len(), config.max_document_bytes)];
            return;
        }
        self.plan = model::build(&self.text, &self.tree, config);
        self.findings = rules::check(&self.text, &self.plan, config);
    }

    /// tree-sitter's point: rows count `\n`, columns count bytes.
    fn point(&self, byte: usize) -> Point {
        let before = &self.text.as_bytes()[..byte];
        let row = before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Point {
            row,
            column: byte - line_start,
        }
    }
}

fn advance(mut p: Point, text: &str) -> Point {
    match text.rfind('\n') {
        Some(i) => {
            p.row += text.bytes().filter(|&b| b == b'\n').count();
            p.column = text.len() - i - 1;
        }
        None => p.column += text.len(),
    }
    p
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
            doc.tree().root_node().to_sexp(),
            syntax::parse_blocks(&text, None).root_node().to_sexp()
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
