//! Findings as the CLI prints them: 1-based lines, columns in Unicode scalar
//! values (rustc and ruff count the same way).

use std::path::Path;

use ropey::Rope;
use serde::Serialize;

use crate::check::fixes::{Applicability, Fix};
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

/// A diagnostic as `check` reports it: the JSON contract, then its `fix`
/// (`check --format json` prints these), and where its related places end
/// (for SARIF's regions; not in the JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reported {
    #[serde(flatten)]
    pub diagnostic: JsonDiagnostic,
    /// The fix to apply without asking (`safe`: `okstra-lsp fix` applies
    /// it) or the preferred of several (`unsafe`); `null` when there is none
    /// (or when fixes were not worked out).
    pub fix: Option<JsonFix>,
    /// The end (line, column) of each of `diagnostic.related`.
    #[serde(skip)]
    pub related_ends: Vec<(u32, u32)>,
}

/// A fix as ruff's JSON has it: edits in 1-based rows and columns, counted
/// as the diagnostic's are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonFix {
    pub message: String,
    /// `safe` or `unsafe`.
    pub applicability: String,
    /// Non-overlapping, in text order; each replaces its range with `content`.
    pub edits: Vec<JsonEdit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonEdit {
    pub location: JsonLocation,
    pub end_location: JsonLocation,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JsonLocation {
    pub row: u32,
    pub column: u32,
}

/// Converts findings of one file.
pub fn to_json(file: &Path, src: &str, findings: &[Finding]) -> Vec<JsonDiagnostic> {
    to_reported(file, src, findings, &[])
        .into_iter()
        .map(|r| r.diagnostic)
        .collect()
}

/// Converts findings of one file; `fixes[i]` is the fix of `findings[i]`
/// (`check::fixes::best_fix`), missing ones are `null`.
pub fn to_reported(
    file: &Path,
    src: &str,
    findings: &[Finding],
    fixes: &[Option<Fix>],
) -> Vec<Reported> {
    let rope = Rope::from_str(src);
    let name = file.display().to_string();
    let pos = |offset: usize| {
        let lc = to_line_col(&rope, offset, Encoding::Utf32);
        (lc.line + 1, lc.col + 1)
    };
    let location = |offset: usize| {
        let (row, column) = pos(offset);
        JsonLocation { row, column }
    };
    findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (line, column) = pos(f.range.start);
            let (end_line, end_column) = pos(f.range.end);
            let diagnostic = JsonDiagnostic {
                file: name.clone(),
                code: f.code.to_string(),
                severity: f.severity.as_str().to_string(),
                line,
                column,
                end_line,
                end_column,
                message: f.message.to_string(),
                related: f
                    .related
                    .iter()
                    .map(|r| {
                        let (line, column) = pos(r.range.start);
                        JsonRelated {
                            file: name.clone(),
                            line,
                            column,
                            message: r.message.to_string(),
                        }
                    })
                    .collect(),
            };
            Reported {
                diagnostic,
                related_ends: f.related.iter().map(|r| pos(r.range.end)).collect(),
                fix: fixes.get(i).and_then(Option::as_ref).map(|fix| JsonFix {
                    message: fix.title.clone(),
                    applicability: match fix.applicability {
                        Applicability::Safe => "safe",
                        Applicability::Unsafe => "unsafe",
                    }
                    .to_string(),
                    edits: fix
                        .edits
                        .iter()
                        .map(|e| JsonEdit {
                            location: location(e.range.start),
                            end_location: location(e.range.end),
                            content: e.new_text.clone(),
                        })
                        .collect(),
                }),
            }
        })
        .collect()
}

/// A GitHub Actions workflow command: an annotation on the file, with the
/// code as its title (`::error file=…,line=…,col=…,endLine=…,endColumn=…,
/// title=…::message`); info findings are notices. Values are escaped as the
/// Actions toolkit does (`%`, CR and LF everywhere; `:` and `,` in
/// properties too), so a message cannot end the command early. A leading
/// `./` is dropped from the file (`check .` finds `./runs/a/plan.md`), since
/// GitHub places an annotation by the path from the repository's root.
pub(crate) fn to_github(d: &JsonDiagnostic) -> String {
    let level = match d.severity.as_str() {
        "error" => "error",
        "warning" => "warning",
        _ => "notice",
    };
    let data = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let property = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    format!(
        "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        property(without_dot_slash(&d.file)),
        d.line,
        d.column,
        d.end_line,
        d.end_column,
        property(&d.code),
        data(&d.message)
    )
}

/// `path` without its leading `./` (or `.\`) components.
fn without_dot_slash(mut path: &str) -> &str {
    while let Some(rest) = path.strip_prefix("./").or_else(|| path.strip_prefix(".\\")) {
        path = rest.trim_start_matches(['/', '\\']);
    }
    path
}

/// `file:line:col: severity[code] message`.
pub(crate) fn to_text(d: &JsonDiagnostic) -> String {
    format!(
        "{}:{}:{}: {}[{}] {}",
        d.file, d.line, d.column, d.severity, d.code, d.message
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An `s9-file-overlap` at 3:5–3:9 (junit's tests use it too).
    pub(crate) fn diagnostic(file: &str, severity: &str, message: &str) -> JsonDiagnostic {
        JsonDiagnostic {
            file: file.into(),
            code: "s9-file-overlap".into(),
            severity: severity.into(),
            line: 3,
            column: 5,
            end_line: 3,
            end_column: 9,
            message: message.into(),
            related: Vec::new(),
        }
    }

    #[test]
    fn github_commands_escape_what_would_end_them() {
        assert_eq!(
            to_github(&diagnostic(
                "runs/a,b:c/plan.md",
                "error",
                "100% sure\r\nnext: line, too"
            )),
            "::error file=runs/a%2Cb%3Ac/plan.md,line=3,col=5,endLine=3,endColumn=9,\
             title=s9-file-overlap::100%25 sure%0D%0Anext: line, too"
        );
        assert!(to_github(&diagnostic("p.md", "warning", "m")).starts_with("::warning file=p.md,"));
        assert!(to_github(&diagnostic("p.md", "info", "m")).starts_with("::notice file=p.md,"));
    }

    #[test]
    fn github_files_are_from_the_repository_root() {
        for (file, shown) in [
            ("./runs/a/plan.md", "runs/a/plan.md"),
            ("././/runs/plan.md", "runs/plan.md"),
            (".\\runs\\plan.md", "runs\\plan.md"),
            ("../other/plan.md", "../other/plan.md"),
            (".hidden/plan.md", ".hidden/plan.md"),
            ("/abs/plan.md", "/abs/plan.md"),
        ] {
            let line = to_github(&diagnostic(file, "error", "m"));
            assert!(
                line.starts_with(&format!("::error file={shown},line=")),
                "{file}: {line}"
            );
        }
    }
}
