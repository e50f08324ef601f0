//! An open document's diagnostics as last converted for the client.
//!
//! LSP publishes a document's whole set on every change, and a plan being
//! written carries hundreds of findings: most are the same as a keystroke
//! ago and sit at the same line and column. Those are sent again as the JSON
//! they were serialized to then; only a finding whose content or position
//! (as the client counts it) changed is converted again. What is sent is
//! always the document's current findings in their order: this caches
//! values, never decisions.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};

use ropey::Rope;
use tower_lsp_server::ls_types::{self as lsp, Uri};

use crate::check::rules::Finding;
use crate::syntax::position::Encoding;

use super::convert;

/// One finding as the client receives it.
struct Entry {
    /// The finding it came from (its byte spans are not compared: they move
    /// with every edit before them, its line/column `ranges` need not).
    finding: Finding,
    /// Its range, then its related ranges, in the client's encoding.
    ranges: Vec<lsp::Range>,
    diagnostic: lsp::Diagnostic,
    json: Box<str>,
}

impl Entry {
    fn same(&self, f: &Finding, ranges: &[lsp::Range]) -> bool {
        let (e, g) = (&self.finding, f);
        self.ranges == ranges
            && e.code == g.code
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
    /// Hash of (content, ranges) → index of the first such entry.
    by_key: HashMap<u64, usize>,
    hasher: RandomState,
    /// Findings converted by `update` since the document was opened
    /// (tests assert unchanged ones are not).
    #[cfg(test)]
    pub(crate) conversions: usize,
}

impl Converted {
    /// Brings the cache to `findings` (the document's, with `rope` its
    /// text), converting only what it does not hold.
    pub(crate) fn update(&mut self, rope: &Rope, uri: &Uri, findings: &[Finding], enc: Encoding) {
        let mut old: Vec<Option<Entry>> = std::mem::take(&mut self.entries)
            .into_iter()
            .map(Some)
            .collect();
        let old_keys = std::mem::take(&mut self.by_key);
        self.entries.reserve(findings.len());
        for f in findings {
            let ranges: Vec<lsp::Range> = std::iter::once(&f.range)
                .chain(f.related.iter().map(|r| &r.range))
                .map(|span| convert::range(rope, span, enc))
                .collect();
            let key = self.key(f, &ranges);
            let kept = old_keys
                .get(&key)
                .and_then(|&i| old.get_mut(i))
                .and_then(|slot| slot.take_if(|e| e.same(f, &ranges)));
            let entry = match kept {
                Some(entry) => entry,
                None => {
                    #[cfg(test)]
                    {
                        self.conversions += 1;
                    }
                    let diagnostic = convert::diagnostic(uri, f, &ranges);
                    // Serializing plain strings and numbers cannot fail.
                    let json = serde_json::to_string(&diagnostic).unwrap_or_default();
                    Entry {
                        finding: f.clone(),
                        ranges,
                        diagnostic,
                        json: json.into(),
                    }
                }
            };
            self.by_key.entry(key).or_insert(self.entries.len());
            self.entries.push(entry);
        }
    }

    fn key(&self, f: &Finding, ranges: &[lsp::Range]) -> u64 {
        let mut h = self.hasher.build_hasher();
        f.code.hash(&mut h);
        f.severity.hash(&mut h);
        f.message.hash(&mut h);
        for r in &f.related {
            r.message.hash(&mut h);
        }
        f.fix.hash(&mut h);
        for r in ranges {
            (r.start.line, r.start.character, r.end.line, r.end.character).hash(&mut h);
        }
        h.finish()
    }

    /// The diagnostics (for a pull answer).
    pub(crate) fn diagnostics(&self) -> Vec<lsp::Diagnostic> {
        self.entries.iter().map(|e| e.diagnostic.clone()).collect()
    }

    /// The body of the `textDocument/publishDiagnostics` notification for
    /// these diagnostics, made of their kept JSON.
    pub(crate) fn publish_body(&self, uri: &Uri, version: Option<i32>) -> Vec<u8> {
        let items: usize = self.entries.iter().map(|e| e.json.len() + 1).sum();
        let mut body = Vec::with_capacity(items + uri.as_str().len() + 128);
        body.extend_from_slice(
            br#"{"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":{"uri":"#,
        );
        // A URI is a plain string to serde_json: this cannot fail.
        let _ = serde_json::to_writer(&mut body, uri.as_str());
        body.extend_from_slice(br#","diagnostics":["#);
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(e.json.as_bytes());
        }
        body.push(b']');
        if let Some(v) = version {
            body.extend_from_slice(format!(r#","version":{v}"#).as_bytes());
        }
        body.extend_from_slice(b"}}");
        body
    }
}

/// The publish body of no diagnostics (a closed document's).
pub(crate) fn publish_nothing(uri: &Uri) -> Vec<u8> {
    Converted::default().publish_body(uri, None)
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
        serde_json::from_slice(&c.publish_body(&uri(), Some(version))).expect("valid JSON")
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

    #[test]
    fn only_changed_or_moved_findings_are_converted_again() {
        let config = Config::default();
        let mut spec = Spec::clean(30);
        spec.cycle = true;
        spec.overlap_every = 4;
        spec.over_cap_every = 5;
        spec.orphan_ref = true;
        let text = generate::plan(&spec);
        let mut doc = Document::new(text.clone(), &config);
        let enc = Encoding::Utf16;
        let mut c = Converted::default();
        c.update(doc.rope(), &uri(), doc.findings(), enc);
        let n = doc.findings().len();
        assert!(n >= 8, "the plan has findings: {n}");
        assert_eq!(c.conversions, n);
        assert_eq!(published(&c, 1), expected(&doc, 1, enc));

        // A paragraph added after the last table: no finding changes or
        // moves, none is converted.
        let end = doc.text().len();
        doc.edit(end..end, "\n\nA closing note.\n");
        doc.reanalyze(&config);
        c.update(doc.rope(), &uri(), doc.findings(), enc);
        assert_eq!(c.conversions, n, "no finding changed or moved");
        assert_eq!(published(&c, 2), expected(&doc, 2, enc));

        // A character typed in a line in the middle: findings on other
        // lines keep their line and column.
        let at = doc.text().find("- post: `cargo test m5`").unwrap_or(0) + "- post".len();
        doc.edit(at..at, "x");
        doc.reanalyze(&config);
        c.update(doc.rope(), &uri(), doc.findings(), enc);
        assert_eq!(c.conversions, n, "nothing on that line");
        assert_eq!(published(&c, 3), expected(&doc, 3, enc));

        // A new line at the top moves every finding down: all converted.
        doc.edit(0..0, "\n");
        doc.reanalyze(&config);
        c.update(doc.rope(), &uri(), doc.findings(), enc);
        assert_eq!(c.conversions, 2 * n);
        assert_eq!(published(&c, 3), expected(&doc, 3, enc));

        // Another encoding counts columns anew.
        c.update(doc.rope(), &uri(), doc.findings(), Encoding::Utf8);
        assert_eq!(published(&c, 4), expected(&doc, 4, Encoding::Utf8));
        assert_eq!(
            c.diagnostics(),
            convert::diagnostics(doc.rope(), &uri(), doc.findings(), Encoding::Utf8)
        );
    }

    #[test]
    fn a_closed_document_publishes_nothing_without_a_version() {
        let v: serde_json::Value =
            serde_json::from_slice(&publish_nothing(&uri())).expect("valid JSON");
        assert_eq!(v["params"]["diagnostics"], serde_json::json!([]));
        assert_eq!(v["params"]["uri"], uri().as_str());
        assert!(v["params"].get("version").is_none());
    }
}
