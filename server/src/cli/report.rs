//! Findings as the CLI prints them: 1-based lines, columns in Unicode scalar
//! values (rustc and ruff count the same way).

use std::path::Path;

use ropey::Rope;
use serde::Serialize;

use crate::check::rules::Finding;
use crate::syntax::position::{Encoding, to_line_col};

/// The JSON contract of `okstra-lsp check --format json` (one array of these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonDiagnostic {
    pub file: String,
    pub code: String,
    pub severity: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
    pub related: Vec<JsonRelated>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonRelated {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Converts findings of one file.
pub fn to_json(file: &Path, src: &str, findings: &[Finding]) -> Vec<JsonDiagnostic> {
    let rope = Rope::from_str(src);
    let name = file.display().to_string();
    let pos = |offset: usize| {
        let lc = to_line_col(&rope, offset, Encoding::Utf32);
        (lc.line + 1, lc.col + 1)
    };
    findings
        .iter()
        .map(|f| {
            let (line, column) = pos(f.range.start);
            let (end_line, end_column) = pos(f.range.end);
            JsonDiagnostic {
                file: name.clone(),
                code: f.code.to_string(),
                severity: f.severity.as_str().to_string(),
                line,
                column,
                end_line,
                end_column,
                message: f.message.clone(),
                related: f
                    .related
                    .iter()
                    .map(|r| {
                        let (line, column) = pos(r.range.start);
                        JsonRelated {
                            file: name.clone(),
                            line,
                            column,
                            message: r.message.clone(),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// `file:line:col: severity[code] message`.
pub(crate) fn to_text(d: &JsonDiagnostic) -> String {
    format!(
        "{}:{}:{}: {}[{}] {}",
        d.file, d.line, d.column, d.severity, d.code, d.message
    )
}
