//! An open document's diagnostics as last converted for the client.
//!
//! LSP publishes a document's whole set on every change, and a plan being
//! written carries hundreds of findings: most are the same as a keystroke
//! ago, at the same line and column. Those are sent again as the JSON they
//! were serialized to then; only a finding whose content or position (as
//! the client counts it) changed is converted again. Positions are not
//! recounted either: a finding that lies before the edit is where it was,
//! one that starts on a line after the edit's last line moved by the lines
//! the edit added, and only findings on the edited lines are converted from
//! bytes to lines and columns. What is sent is always the document's current
//! findings in their order: this caches values, never decisions.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tower_lsp_server::ls_types::{self as lsp, Uri};

use crate::check::facts::FxHasher;
use crate::check::rules::Finding;
use crate::engine::document::{Document, TextEdit};
use crate::plan::model::Span;
use crate::syntax::position::Encoding;

use super::convert;
use super::transport::Message;

/// One finding as the client receives it.
struct Entry {
    /// `content_hash` of the finding.
    hash: u64,
    /// The finding it came from (its byte spans are not compared: they move
    /// with every edit before them, its line/column `ranges` need not).
    finding: Finding,
    /// Its range, then its related ranges: in bytes, in the text of the
    /// analysis the cache holds, and in the client's terms.
    spans: Vec<Span>,
    ranges: Vec<lsp::Range>,
    diagnostic: lsp::Diagnostic,
    json: Box<str>,
}

impl Entry {
    fn new(uri: &Uri, f: &Finding, hash: u64, spans: Vec<Span>, ranges: Vec<lsp::Range>) -> Entry {
        let diagnostic = convert::diagnostic(uri, f, &ranges);
        // Serializing plain strings and numbers cannot fail.
        let json = serde_json::to_string(&diagnostic).unwrap_or_default();
        Entry {
            hash,
            finding: f.clone(),
            spans,
            ranges,
            diagnostic,
            json: json.into(),
        }
    }

    fn same(&self, f: &Finding, spans: &[Span]) -> bool {
        self.spans == spans && self.says(f)
    }

    /// Whether `f` says what this entry's finding says (not where).
    fn says(&self, f: &Finding) -> bool {
        let (e, g) = (&self.finding, f);
        e.code == g.code
            && e.severity == g.severity
            && e.message == g.message
            && e.fix == g.fix
            && e.related.len() == g.related.len()
            && e.related
                .iter()
                .zip(&g.related)
                .all(|(x, y)| x.message == y.message)
    }
}

#[derive(Default)]
pub(crate) struct Converted {
    entries: Vec<Entry>,
    /// (content hash, index into `entries`), sorted.
    by_hash: Vec<(u64, usize)>,
    /// The entries' JSON joined by commas: what a publish sends, shared
    /// with it rather than copied.
    joined: Arc<[u8]>,
    /// The analysis (`Document::generation`) and encoding converted for.
    generation: Option<u64>,
    encoding: Encoding,
    /// Findings converted from bytes since the document was opened (tests
    /// assert that unchanged ones are not).
    #[cfg(test)]
    pub(crate) conversions: usize,
    /// Updates that moved the entries without reading the findings.
    #[cfg(test)]
    pub(crate) carried: usize,
}

/// Where a span of the new text was in the old one, and how its line and
/// column moved: the same when it ends before the edit, `lines` further down
/// (same column) when it starts on a line after the edit's last line.
struct Moves {
    edit: TextEdit,
    /// The start of the first line after the edit's last one (new text).
    after: usize,
}

impl Moves {
    fn new(text: &str, edit: TextEdit) -> Moves {
        let bytes = text.as_bytes();
        let from = edit.shift.new_end.min(bytes.len());
        let after = match memchr::memchr2(b'\n', b'\r', &bytes[from..]) {
            Some(i) if bytes[from + i] == b'\r' && bytes.get(from + i + 1) == Some(&b'\n') => {
                from + i + 2
            }
            Some(i) => from + i + 1,
            None => usize::MAX,
        };
        Moves { edit, after }
    }

    /// A span of the old text in the new one (as `EditShift` moves it) and
    /// the lines it moved by; None when it touches the edited lines.
    fn forward(&self, old: &Span) -> Option<(Span, isize)> {
        let e = &self.edit.shift;
        if old.end < e.start {
            return Some((old.clone(), 0));
        }
        let delta = e.delta();
        let old_after = (self.after as isize).saturating_sub(delta);
        let moved = |x: usize| (x as isize + delta) as usize;
        (self.after != usize::MAX && old.start as isize >= old_after)
            .then(|| (moved(old.start)..moved(old.end), self.edit.lines))
    }

    /// The span in the old text and the lines it moved by; None when it
    /// touches the edited lines.
    fn old(&self, span: &Span) -> Option<(Span, isize)> {
        let e = &self.edit.shift;
        if span.end < e.start {
            Some((span.clone(), 0))
        } else if span.start >= self.after {
            let back = |x: usize| (x as isize - e.delta()) as usize;
            Some((back(span.start)..back(span.end), self.edit.lines))
        } else {
            None
        }
    }
}

impl Converted {
    /// Brings the cache to the document's last analysis, converting only
    /// what it does not hold.
    pub(crate) fn update(&mut self, doc: &Document, uri: &Uri, enc: Encoding) {
        if self.generation == Some(doc.generation()) && self.encoding == enc {
            return;
        }
        let moves = match doc.followed() {
            Some(edit)
                if self.generation.map(|g| g + 1) == Some(doc.generation())
                    && self.encoding == enc =>
            {
                Some(Moves::new(doc.text(), edit))
            }
            _ => None,
        };
        self.generation = Some(doc.generation());
        self.encoding = enc;
        if let Some(m) = &moves
            && ((doc.stats().findings_moved && self.carry(uri, doc.findings(), m))
                || self.follow(uri, doc.findings(), m))
        {
            return;
        }
        self.rebuild(doc, uri, enc, moves);
        self.joined = join(&self.entries);
    }

    /// The document's findings are those held, moved by the edit
    /// (`Stats::findings_moved`): each entry's spans are moved without
    /// reading the findings again, unless one touches the edited lines.
    /// False, with nothing changed, otherwise.
    fn carry(&mut self, uri: &Uri, findings: &[Finding], m: &Moves) -> bool {
        if findings.len() != self.entries.len()
            || !self
                .entries
                .iter()
                .all(|e| e.spans.iter().all(|s| m.forward(s).is_some()))
        {
            return false;
        }
        #[cfg(test)]
        {
            self.carried += 1;
        }
        self.move_entries(uri, findings, m);
        true
    }

    /// The common keystroke: the document's findings are those held, in
    /// the same order, and none touches the edited lines. False, with
    /// nothing changed, otherwise.
    fn follow(&mut self, uri: &Uri, findings: &[Finding], m: &Moves) -> bool {
        let held = |e: &Entry, f: &Finding| {
            e.spans.len() == f.spans().count()
                && f.spans()
                    .zip(&e.spans)
                    .all(|(now, was)| m.old(now).is_some_and(|(old, _)| old == *was))
                && e.says(f)
        };
        if findings.len() != self.entries.len()
            || !self.entries.iter().zip(findings).all(|(e, f)| held(e, f))
        {
            return false;
        }
        self.move_entries(uri, findings, m);
        true
    }

    /// Moves each entry's spans across the edit (none touches the edited
    /// lines: `m.forward` gives where its finding's spans now are); an
    /// entry whose lines moved is serialized again.
    fn move_entries(&mut self, uri: &Uri, findings: &[Finding], m: &Moves) {
        let mut moved_any = false;
        for (e, f) in self.entries.iter_mut().zip(findings) {
            let mut moved = false;
            for (span, range) in e.spans.iter_mut().zip(&mut e.ranges) {
                if let Some((now, lines)) = m.forward(span) {
                    *span = now;
                    if lines != 0 {
                        *range = down(*range, lines);
                        moved = true;
                    }
                }
            }
            if moved {
                let spans = std::mem::take(&mut e.spans);
                let ranges = std::mem::take(&mut e.ranges);
                *e = Entry::new(uri, f, e.hash, spans, ranges);
                moved_any = true;
            }
        }
        if moved_any {
            self.joined = join(&self.entries);
        }
    }

    /// Every finding again, each kept when it can be, converted otherwise.
    fn rebuild(&mut self, doc: &Document, uri: &Uri, enc: Encoding, moves: Option<Moves>) {
        let mut old: Vec<Option<Entry>> = std::mem::take(&mut self.entries)
            .into_iter()
            .map(Some)
            .collect();
        let by_hash = std::mem::take(&mut self.by_hash);
        let findings = doc.findings();
        self.entries.reserve(findings.len());
        let mut was: Vec<Span> = Vec::new();
        let mut moved_by: Vec<isize> = Vec::new();
        // Most keystrokes leave the findings as they were, in the same
        // order: then each is its old entry at its own index, found without
        // hashing, and the index by hash stays as it is.
        let mut in_order = old.len() == findings.len();
        for (index, f) in findings.iter().enumerate() {
            let spans: Vec<Span> = f.spans().cloned().collect();
            // The entry for the same finding before the edit, if it lay
            // outside the edited lines.
            was.clear();
            moved_by.clear();
            let mapped = moves.as_ref().is_some_and(|m| {
                spans.iter().all(|span| match m.old(span) {
                    Some((old_span, lines)) => {
                        was.push(old_span);
                        moved_by.push(lines);
                        true
                    }
                    None => false,
                })
            });
            let mut kept = None;
            if mapped {
                kept = old
                    .get_mut(index)
                    .and_then(|slot| slot.take_if(|e| e.same(f, &was)));
            }
            let hash = match &kept {
                Some(entry) => entry.hash,
                None => {
                    in_order = false;
                    content_hash(f)
                }
            };
            if mapped && kept.is_none() {
                let first = by_hash.partition_point(|&(h, _)| h < hash);
                kept = by_hash[first..]
                    .iter()
                    .take_while(|&&(h, _)| h == hash)
                    .find_map(|&(_, i)| old.get_mut(i)?.take_if(|e| e.same(f, &was)));
            }
            let entry = match kept {
                Some(mut entry) if moved_by.iter().all(|&l| l == 0) => {
                    entry.spans = spans;
                    entry
                }
                Some(entry) => {
                    let ranges: Vec<lsp::Range> = entry
                        .ranges
                        .iter()
                        .zip(&moved_by)
                        .map(|(&r, &l)| down(r, l))
                        .collect();
                    Entry::new(uri, f, hash, spans, ranges)
                }
                None => {
                    #[cfg(test)]
                    {
                        self.conversions += 1;
                    }
                    let ranges = spans
                        .iter()
                        .map(|span| convert::range(doc.rope(), span, enc))
                        .collect();
                    Entry::new(uri, f, hash, spans, ranges)
                }
            };
            self.entries.push(entry);
        }
        if in_order {
            self.by_hash = by_hash;
            return;
        }
        self.by_hash = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.hash, i))
            .collect();
        self.by_hash.sort_unstable();
    }

    /// The diagnostics (for a pull answer).
    pub(crate) fn diagnostics(&self) -> Vec<lsp::Diagnostic> {
        self.entries.iter().map(|e| e.diagnostic.clone()).collect()
    }

    /// The `textDocument/publishDiagnostics` notification of these
    /// diagnostics, made of their kept JSON (shared, not copied).
    pub(crate) fn publish(&self, uri: &Uri, version: Option<i32>) -> Message {
        let mut message = Message::with_capacity(uri.as_str().len() + 128);
        let body = message.body();
        body.extend_from_slice(
            br#"{"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":{"uri":"#,
        );
        // A URI is a plain string to serde_json: this cannot fail.
        let _ = serde_json::to_writer(&mut *body, uri.as_str());
        body.extend_from_slice(br#","diagnostics":["#);
        message.share(self.joined.clone());
        let body = message.body();
        body.push(b']');
        if let Some(v) = version {
            body.extend_from_slice(format!(r#","version":{v}"#).as_bytes());
        }
        body.extend_from_slice(b"}}");
        message
    }
}

/// The entries' JSON, joined by commas.
fn join(entries: &[Entry]) -> Arc<[u8]> {
    let mut all = Vec::with_capacity(entries.iter().map(|e| e.json.len() + 1).sum());
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            all.push(b',');
        }
        all.extend_from_slice(e.json.as_bytes());
    }
    all.into()
}

/// `r` moved `lines` lines down (up when negative), columns kept.
fn down(r: lsp::Range, lines: isize) -> lsp::Range {
    let line = |p: lsp::Position| lsp::Position {
        line: (p.line as isize + lines).max(0) as u32,
        character: p.character,
    };
    lsp::Range {
        start: line(r.start),
        end: line(r.end),
    }
}

/// What a finding says (not where): entries are looked up by it.
fn content_hash(f: &Finding) -> u64 {
    let mut h = FxHasher::default();
    f.code.hash(&mut h);
    f.severity.hash(&mut h);
    f.message.hash(&mut h);
    for r in &f.related {
        r.message.hash(&mut h);
    }
    f.fix.hash(&mut h);
    h.finish()
}

/// The publish of no diagnostics (a closed document's).
pub(crate) fn publish_nothing(uri: &Uri) -> Message {
    Converted::default().publish(uri, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::document::Document;
    use crate::engine::generate::{self, Spec};
    use crate::plan::config::Config;

    fn uri() -> Uri {
        "file:///w/runs/k/d/plan.md".parse().expect("a valid URI")
    }

    fn published(c: &Converted, version: i32) -> serde_json::Value {
        serde_json::from_slice(&c.publish(&uri(), Some(version)).body_bytes()).expect("valid JSON")
    }

    /// What tower-lsp-server would have sent for the same diagnostics.
    fn expected(doc: &Document, version: i32, enc: Encoding) -> serde_json::Value {
        let params = lsp::PublishDiagnosticsParams {
            uri: uri(),
            diagnostics: convert::diagnostics(doc.rope(), &uri(), doc.findings(), enc),
            version: Some(version),
        };
        serde_json::json!({
            "jsonrpc": "2.0",
            "method": "textDocument/publishDiagnostics",
            "params": params,
        })
    }

    /// A generated plan with a cycle, overlaps, over-cap stages and an
    /// orphan reference: findings of several kinds, with related places.
    fn plan_with_findings(stages: usize) -> String {
        generate::plan(&Spec {
            cycle: true,
            overlap_every: 3,
            over_cap_every: 4,
            orphan_ref: true,
            ..Spec::clean(stages)
        })
    }

    #[test]
    fn only_changed_or_moved_findings_are_converted_again() {
        let config = Config::default();
        let mut doc = Document::new(plan_with_findings(30), &config);
        let enc = Encoding::Utf16;
        let mut c = Converted::default();
        c.update(&doc, &uri(), enc);
        let n = doc.findings().len();
        assert!(n >= 8, "the plan has findings: {n}");
        assert_eq!(c.conversions, n);
        assert_eq!(published(&c, 1), expected(&doc, 1, enc));

        // A paragraph added after the last table: no finding changes or
        // moves, none is converted.
        let end = doc.text().len();
        doc.edit(end..end, "\n\nA closing note.\n");
        doc.reanalyze(&config);
        c.update(&doc, &uri(), enc);
        assert_eq!(c.conversions, n, "no finding changed or moved");
        assert_eq!(published(&c, 2), expected(&doc, 2, enc));

        // A character typed in a line in the middle: findings on other
        // lines keep their line and column, and the publish shares the
        // joined JSON it sent before instead of copying it.
        let before = c.joined.clone();
        let carried = c.carried;
        let at = doc.text().find("- post: `cargo test m5`").unwrap_or(0) + "- post".len();
        doc.edit(at..at, "x");
        doc.reanalyze(&config);
        c.update(&doc, &uri(), enc);
        assert_eq!(c.conversions, n, "nothing on that line");
        assert!(
            Arc::ptr_eq(&before, &c.joined),
            "the same JSON, not joined again"
        );
        // The document says its findings only moved: they are not read.
        assert!(doc.stats().findings_moved);
        assert_eq!(c.carried, carried + 1);
        assert_eq!(published(&c, 3), expected(&doc, 3, enc));

        // A new line at the top moves every finding down a line: none is
        // converted from bytes again (their ranges move).
        doc.edit(0..0, "\n");
        doc.reanalyze(&config);
        c.update(&doc, &uri(), enc);
        assert_eq!(c.conversions, n);
        assert_eq!(published(&c, 4), expected(&doc, 4, enc));

        // A character typed on a line that holds a finding converts that one.
        let first = doc.findings()[0].range.start;
        let on_its_line = doc
            .findings()
            .iter()
            .filter(|f| {
                f.spans().any(|s| {
                    doc.rope().byte_to_line(s.start) == doc.rope().byte_to_line(first)
                        || doc.rope().byte_to_line(s.end) == doc.rope().byte_to_line(first)
                })
            })
            .count();
        let line_start = doc.text()[..first].rfind('\n').map_or(0, |i| i + 1);
        doc.edit(line_start..line_start, " ");
        doc.reanalyze(&config);
        c.update(&doc, &uri(), enc);
        assert!(
            c.conversions > n && c.conversions <= n + on_its_line + 2,
            "{} of {n}",
            c.conversions
        );
        assert_eq!(published(&c, 5), expected(&doc, 5, enc));

        // Asked again for the same analysis: nothing to do.
        let before = c.conversions;
        c.update(&doc, &uri(), enc);
        assert_eq!(c.conversions, before);

        // Another encoding counts columns anew.
        c.update(&doc, &uri(), Encoding::Utf8);
        assert_eq!(published(&c, 6), expected(&doc, 6, Encoding::Utf8));
        assert_eq!(
            c.diagnostics(),
            convert::diagnostics(doc.rope(), &uri(), doc.findings(), Encoding::Utf8)
        );
    }

    #[test]
    fn a_closed_document_publishes_nothing_without_a_version() {
        let v: serde_json::Value =
            serde_json::from_slice(&publish_nothing(&uri()).body_bytes()).expect("valid JSON");
        assert_eq!(v["params"]["diagnostics"], serde_json::json!([]));
        assert_eq!(v["params"]["uri"], uri().as_str());
        assert!(v["params"].get("version").is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Edit after edit (line breaks of every kind, wide characters,
        /// edits on and between the findings' lines), what the cache sends
        /// is what converting every finding afresh gives.
        #[test]
        fn the_cache_sends_what_a_fresh_conversion_gives(
            edits in proptest::collection::vec(
                (
                    proptest::prelude::any::<usize>(),
                    0usize..4,
                    proptest::sample::select(vec!["x", "\n", "\r\n", "\r", "가", "😀", "| 3 |", "\n\n### Stage 9: t\n", "S1, ", ""]),
                ),
                1..12,
            ),
            utf8 in proptest::prelude::any::<bool>(),
        ) {
            let config = Config::default();
            let mut doc = Document::new(plan_with_findings(6), &config);
            let enc = if utf8 { Encoding::Utf8 } else { Encoding::Utf16 };
            let mut c = Converted::default();
            c.update(&doc, &uri(), enc);
            for (i, (at, len, text)) in edits.into_iter().enumerate() {
                let at = crate::syntax::floor_char_boundary(doc.text(), at % (doc.text().len() + 1));
                let end = crate::syntax::floor_char_boundary(doc.text(), at + len);
                doc.edit(at..end.max(at), text);
                doc.reanalyze(&config);
                c.update(&doc, &uri(), enc);
                let v = i as i32 + 2;
                proptest::prop_assert_eq!(published(&c, v), expected(&doc, v, enc));
            }
        }
    }
}
