//! Core values to LSP values: byte spans to ranges (through `position`),
//! findings to diagnostics.

use ropey::Rope;
use tower_lsp_server::ls_types as lsp;

use crate::check::rules::{Finding, Severity};
use crate::plan::model::Span;
use crate::syntax::position::{self, Encoding, LineCol};

pub fn position(rope: &Rope, offset: usize, enc: Encoding) -> lsp::Position {
    let lc = position::to_line_col(rope, offset, enc);
    lsp::Position {
        line: lc.line,
        character: lc.col,
    }
}

pub fn range(rope: &Rope, span: &Span, enc: Encoding) -> lsp::Range {
    lsp::Range {
        start: position(rope, span.start, enc),
        end: position(rope, span.end, enc),
    }
}

pub fn offset(rope: &Rope, pos: lsp::Position, enc: Encoding) -> usize {
    position::to_offset(
        rope,
        LineCol {
            line: pos.line,
            col: pos.character,
        },
        enc,
    )
}

pub(crate) fn is_valid(rope: &Rope, pos: lsp::Position, enc: Encoding) -> bool {
    position::is_valid(
        rope,
        LineCol {
            line: pos.line,
            col: pos.character,
        },
        enc,
    )
}

fn severity(s: Severity) -> lsp::DiagnosticSeverity {
    match s {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        Severity::Info => lsp::DiagnosticSeverity::INFORMATION,
    }
}

/// Where a rule's documentation page is: under `OKSTRA_LSP_DOCS_URL` (a base
/// ending in `/`), else `docs/rules/<code>.md` of the source tree the binary
/// was built from when that folder still exists, else nowhere (no link
/// beats a dead one). Worked out once per process.
pub(crate) fn docs_url(code: &str) -> Option<lsp::Uri> {
    static BASE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        if let Ok(base) = std::env::var("OKSTRA_LSP_DOCS_URL") {
            return Some(base);
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/rules")
            .canonicalize()
            .ok()?;
        let uri = lsp::Uri::from_file_path(&dir)?;
        Some(format!("{}/", uri.as_str().trim_end_matches('/')))
    });
    format!("{}{code}.md", base.as_deref()?).parse().ok()
}

pub fn diagnostics(
    rope: &Rope,
    uri: &lsp::Uri,
    findings: &[Finding],
    enc: Encoding,
) -> Vec<lsp::Diagnostic> {
    findings
        .iter()
        .map(|f| {
            let ranges: Vec<lsp::Range> = f.spans().map(|span| range(rope, span, enc)).collect();
            diagnostic(uri, f, &ranges)
        })
        .collect()
}

/// One finding as a diagnostic; `ranges` are its range, then its related
/// ranges, already converted.
pub(crate) fn diagnostic(uri: &lsp::Uri, f: &Finding, ranges: &[lsp::Range]) -> lsp::Diagnostic {
    let at = |i: usize| ranges.get(i).copied().unwrap_or_default();
    lsp::Diagnostic {
        range: at(0),
        severity: Some(severity(f.severity)),
        code: Some(lsp::NumberOrString::String(f.code.to_string())),
        code_description: docs_url(f.code).map(|href| lsp::CodeDescription { href }),
        source: Some("okstra".to_string()),
        message: f.message.to_string(),
        related_information: (!f.related.is_empty()).then(|| {
            f.related
                .iter()
                .enumerate()
                .map(|(i, r)| lsp::DiagnosticRelatedInformation {
                    location: lsp::Location {
                        uri: uri.clone(),
                        range: at(i + 1),
                    },
                    message: r.message.to_string(),
                })
                .collect()
        }),
        tags: None,
        data: f.fix.as_ref().and_then(|h| serde_json::to_value(h).ok()),
    }
}
