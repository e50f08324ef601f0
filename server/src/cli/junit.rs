//! `check --output-format junit`: one JUnit XML report, one `<testcase>`
//! per file checked (plans, and markdown that is not a plan, which passes).
//! A file with findings of severity error has one `<failure>` listing them;
//! its warnings and infos go to `<system-out>` (they do not fail it, as they
//! do not fail `check`); a file that could not be checked has an `<error>`.

use std::fmt::Write;

use super::report::{JsonDiagnostic, Reported};
use crate::check::rules::Severity;

/// One file's outcome: its diagnostics, or why it could not be checked.
pub(crate) struct Case<'a> {
    pub name: String,
    pub outcome: Result<&'a [Reported], String>,
}

pub(crate) fn to_junit(cases: &[Case]) -> String {
    let is_error = |d: &&JsonDiagnostic| d.severity == Severity::Error.as_str();
    let failures = cases
        .iter()
        .filter(|c| matches!(c.outcome, Ok(ds) if ds.iter().any(|d| is_error(&&d.diagnostic))))
        .count();
    let errors = cases.iter().filter(|c| c.outcome.is_err()).count();
    let counts = format!(
        "tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\"",
        cases.len()
    );
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<testsuites name=\"okstra-lsp check\" {counts}>");
    let _ = writeln!(
        out,
        "  <testsuite name=\"okstra-lsp check\" {counts} skipped=\"0\">"
    );
    for case in cases {
        let name = attr(&case.name);
        let _ = write!(out, "    <testcase classname=\"{name}\" name=\"{name}\"");
        let (failed, other): (Vec<&JsonDiagnostic>, Vec<&JsonDiagnostic>) = match &case.outcome {
            Ok(ds) => ds.iter().map(|d| &d.diagnostic).partition(is_error),
            Err(_) => (Vec::new(), Vec::new()),
        };
        if case.outcome.is_ok() && failed.is_empty() && other.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if let Err(e) = &case.outcome {
            let _ = writeln!(
                out,
                "      <error message=\"{}\" type=\"okstra-lsp\"/>",
                attr(e)
            );
        }
        if !failed.is_empty() {
            let _ = writeln!(
                out,
                "      <failure message=\"{} error(s)\" type=\"okstra-lsp\">{}</failure>",
                failed.len(),
                text(&lines(&failed))
            );
        }
        if !other.is_empty() {
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                text(&lines(&other))
            );
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// `line:col severity[code] message`, one a line.
fn lines(ds: &[&JsonDiagnostic]) -> String {
    ds.iter()
        .map(|d| {
            format!(
                "{}:{} {}[{}] {}",
                d.line, d.column, d.severity, d.code, d.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Character data: `&`, `<`, `>` escaped; characters XML 1.0 cannot hold
/// (most C0 controls, U+FFFE, U+FFFF) become U+FFFD.
fn text(s: &str) -> String {
    escape(s, false)
}

/// An attribute value in double quotes: also `"` and `'`, and tab, CR and
/// LF as character references (a parser would turn them into spaces).
fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(severity: &str, message: &str) -> Reported {
        Reported {
            fix: None,
            related_ends: Vec::new(),
            diagnostic: crate::cli::report::tests::diagnostic("p.md", severity, message),
        }
    }

    #[test]
    fn escapes_what_xml_cannot_hold_as_it_is() {
        assert_eq!(
            text("a<b>&\"c'\n\r\u{1}\u{FFFF}"),
            "a&lt;b&gt;&amp;\"c'\n&#13;\u{FFFD}\u{FFFD}"
        );
        assert_eq!(attr("x\"y'\tz\n"), "x&quot;y&apos;&#9;z&#10;");
    }

    #[test]
    fn errors_fail_a_file_and_warnings_do_not() {
        let bad = [diagnostic("error", "a <b>"), diagnostic("warning", "w")];
        let warned = [diagnostic("info", "i")];
        let xml = to_junit(&[
            Case {
                name: "bad.md".into(),
                outcome: Ok(&bad),
            },
            Case {
                name: "warned.md".into(),
                outcome: Ok(&warned),
            },
            Case {
                name: "clean & new.md".into(),
                outcome: Ok(&[]),
            },
            Case {
                name: "gone.md".into(),
                outcome: Err("gone.md: no such file".into()),
            },
        ]);
        assert!(
            xml.contains("tests=\"4\" failures=\"1\" errors=\"1\""),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"1 error(s)\" type=\"okstra-lsp\">3:5 error[s9-file-overlap] a &lt;b&gt;</failure>\n      <system-out>3:5 warning[s9-file-overlap] w</system-out>"), "{xml}");
        assert!(
            xml.contains(
                "<testcase classname=\"warned.md\" name=\"warned.md\">\n      <system-out>3:5 info"
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testcase classname=\"clean &amp; new.md\" name=\"clean &amp; new.md\"/>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("<error message=\"gone.md: no such file\" type=\"okstra-lsp\"/>"),
            "{xml}"
        );
    }
}
