//! `check --output-format sarif`: one SARIF 2.1.0 log with one run. Every
//! rule okstra-lsp has is in the driver's `rules` (the list does not depend
//! on what was found), with its summary and the help of its docs page;
//! results point at them by `ruleId` and `ruleIndex`. Regions are 1-based
//! and count Unicode scalar values, as the JSON output does (the run's
//! `columnKind` says so).

use serde_json::{Value, json};

use super::report::Reported;
use crate::check::rules::{self, Severity};

/// The schema a SARIF 2.1.0 log names.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Each rule's page of `docs/rules/` (generated from its rule file), for
/// its help text. A unit test checks that every code has one.
const PAGES: &[(&str, &str)] = &[
    (
        "clarification-duplicate-id",
        include_str!("../../../docs/rules/clarification-duplicate-id.md"),
    ),
    (
        "clarification-no-evidence",
        include_str!("../../../docs/rules/clarification-no-evidence.md"),
    ),
    (
        "clarification-no-recommendation",
        include_str!("../../../docs/rules/clarification-no-recommendation.md"),
    ),
    (
        "clarification-not-blocking",
        include_str!("../../../docs/rules/clarification-not-blocking.md"),
    ),
    (
        "clarification-orphan-ref",
        include_str!("../../../docs/rules/clarification-orphan-ref.md"),
    ),
    (
        "clarification-orphan-row",
        include_str!("../../../docs/rules/clarification-orphan-row.md"),
    ),
    (
        "depends-on-cycle",
        include_str!("../../../docs/rules/depends-on-cycle.md"),
    ),
    (
        "depends-on-self",
        include_str!("../../../docs/rules/depends-on-self.md"),
    ),
    (
        "depends-on-unknown",
        include_str!("../../../docs/rules/depends-on-unknown.md"),
    ),
    (
        "document-too-large",
        include_str!("../../../docs/rules/document-too-large.md"),
    ),
    (
        "exit-contract-no-files",
        include_str!("../../../docs/rules/exit-contract-no-files.md"),
    ),
    (
        "majority-disagree-no-ref",
        include_str!("../../../docs/rules/majority-disagree-no-ref.md"),
    ),
    (
        "open-questions-block",
        include_str!("../../../docs/rules/open-questions-block.md"),
    ),
    (
        "parallel-file-overlap",
        include_str!("../../../docs/rules/parallel-file-overlap.md"),
    ),
    (
        "s9-file-overlap",
        include_str!("../../../docs/rules/s9-file-overlap.md"),
    ),
    (
        "s9-possible-overlap",
        include_str!("../../../docs/rules/s9-possible-overlap.md"),
    ),
    (
        "stage-duplicate",
        include_str!("../../../docs/rules/stage-duplicate.md"),
    ),
    (
        "stage-map-missing",
        include_str!("../../../docs/rules/stage-map-missing.md"),
    ),
    (
        "stage-map-row-invalid",
        include_str!("../../../docs/rules/stage-map-row-invalid.md"),
    ),
    (
        "stage-missing-map-row",
        include_str!("../../../docs/rules/stage-missing-map-row.md"),
    ),
    (
        "stage-missing-section",
        include_str!("../../../docs/rules/stage-missing-section.md"),
    ),
    (
        "stage-missing-subsection",
        include_str!("../../../docs/rules/stage-missing-subsection.md"),
    ),
    (
        "step-count-mismatch",
        include_str!("../../../docs/rules/step-count-mismatch.md"),
    ),
    (
        "step-table-columns",
        include_str!("../../../docs/rules/step-table-columns.md"),
    ),
    (
        "steps-over-cap",
        include_str!("../../../docs/rules/steps-over-cap.md"),
    ),
    (
        "unused-suppression",
        include_str!("../../../docs/rules/unused-suppression.md"),
    ),
];

/// The SARIF log of `diagnostics`; `failures` are the files that could not
/// be checked (`PATH: message`, as on stderr), reported as the invocation's
/// error notifications; `docs_url` is the base of the rules' `helpUri`
/// (`<base><code>.md`, as the server's `OKSTRA_LSP_DOCS_URL`).
pub(crate) fn to_sarif(
    diagnostics: &[&Reported],
    failures: &[String],
    docs_url: Option<&str>,
) -> Value {
    let all: Vec<&rules::Rule> = rules::all().collect();
    let rules: Vec<Value> = all.iter().map(|r| rule(r, docs_url)).collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|r| {
            let d = &r.diagnostic;
            let mut result = json!({
                "ruleId": d.code,
                "level": level(&d.severity),
                "message": { "text": d.message },
                "locations": [location(&d.file, d.line, d.column, d.end_line, d.end_column)],
            });
            if let Some(i) = all.iter().position(|r| r.code == d.code) {
                result["ruleIndex"] = json!(i);
            }
            if !d.related.is_empty() {
                result["relatedLocations"] = d
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, rel)| {
                        // A missing end (never) is an empty region at the start.
                        let (end_line, end_column) = r
                            .related_ends
                            .get(i)
                            .copied()
                            .unwrap_or((rel.line, rel.column));
                        let mut at =
                            location(&rel.file, rel.line, rel.column, end_line, end_column);
                        at["id"] = json!(i);
                        at["message"] = json!({ "text": rel.message });
                        at
                    })
                    .collect();
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = failures
        .iter()
        .map(|f| json!({ "level": "error", "message": { "text": f } }))
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "okstra-lsp",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "invocations": [{
                "executionSuccessful": failures.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn rule(r: &rules::Rule, docs_url: Option<&str>) -> Value {
    let mut out = json!({
        "id": r.code,
        "shortDescription": { "text": r.summary },
        "defaultConfiguration": { "level": level(r.severity.as_str()) },
        "properties": { "source": r.source },
    });
    if let Some(help) = page(r.code).map(help_text).filter(|h| !h.is_empty()) {
        out["help"] = json!({ "text": help });
    }
    if let Some(base) = docs_url {
        out["helpUri"] = json!(format!("{base}{}.md", r.code));
    }
    out
}

fn page(code: &str) -> Option<&'static str> {
    PAGES.iter().find(|(c, _)| *c == code).map(|(_, p)| *p)
}

fn level(severity: &str) -> &'static str {
    match severity {
        s if s == Severity::Error.as_str() => "error",
        s if s == Severity::Warning.as_str() => "warning",
        _ => "note",
    }
}

fn location(file: &str, line: u32, column: u32, end_line: u32, end_column: u32) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": artifact_uri(file) },
            "region": {
                "startLine": line,
                "startColumn": column,
                "endLine": end_line,
                "endColumn": end_column,
            },
        }
    })
}

/// A path as a URI reference: relative paths stay relative (forward
/// slashes), absolute ones become `file://` URIs; every byte other than an
/// unreserved character or `/` is percent-encoded (so a `:` in the first
/// segment cannot read as a scheme).
pub(crate) fn artifact_uri(path: &str) -> String {
    let path = if cfg!(windows) {
        path.replace('\\', "/")
    } else {
        path.to_string()
    };
    // `C:/x` (Windows) keeps its drive's colon.
    let drive = path.len() >= 3
        && path.as_bytes()[0].is_ascii_alphabetic()
        && path[1..].starts_with(":/")
        && cfg!(windows);
    let mut out = String::with_capacity(path.len() + 8);
    let body = if drive {
        out.push_str("file:///");
        out.push_str(&path[..2]);
        &path[2..]
    } else {
        if path.starts_with('/') {
            out.push_str("file://");
        }
        &path[..]
    };
    for b in body.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A rule's help as plain text: the What it checks, Why it matters and How
/// to fix sections of its page (without the example, the HTML comments
/// and the configuration boilerplate), links reduced to their labels.
fn help_text(page: &str) -> String {
    let mut kept = String::new();
    let (mut started, mut in_example) = (false, false);
    for line in page.lines() {
        if line.starts_with("<!-- /example") {
            in_example = false;
            continue;
        }
        if line.starts_with("<!-- example") {
            in_example = true;
            continue;
        }
        if in_example || line.starts_with("<!--") {
            continue;
        }
        // The example's place leaves no second blank line.
        if line.is_empty() && kept.ends_with("\n\n") {
            continue;
        }
        if line.starts_with("## Configuration") {
            break;
        }
        started |= line.starts_with("## ");
        if started {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    strip_links(kept.trim()).replace("**", "")
}

/// `[label](target)` → `label` (a label may span lines).
fn strip_links(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut rest = md;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let link = after.find("](").and_then(|close| {
            let label = &after[..close];
            let target = &after[close + 2..];
            let end = target.find(')')?;
            (!label.contains('[') && !target[..end].contains(char::is_whitespace))
                .then(|| (label, &target[end + 1..]))
        });
        match link {
            Some((label, tail)) => {
                out.push_str(&rest[..open]);
                out.push_str(label);
                rest = tail;
            }
            None => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `--docs-url`: an absolute URI (`scheme:…`), given a trailing `/` when it
/// has none.
pub(crate) fn docs_base(s: &str) -> Result<String, String> {
    let scheme = s.split_once(':').map(|(scheme, _)| scheme).unwrap_or("");
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let rest = &s[scheme.len()..];
    if !valid_scheme || rest.len() < 2 {
        return Err(format!(
            "not an absolute URL (such as https://example.com/docs/rules/): {s:?}"
        ));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("a URL has no spaces or control characters: {s:?}"));
    }
    Ok(if s.ends_with('/') {
        s.to_string()
    } else {
        format!("{s}/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_its_page_and_help() {
        let codes: Vec<&str> = rules::codes().collect();
        let paged: Vec<&str> = PAGES.iter().map(|(c, _)| *c).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(
            paged, sorted,
            "PAGES lists docs/rules/<code>.md of every code, sorted"
        );
        for code in codes {
            let help = help_text(page(code).unwrap_or_default());
            assert!(help.starts_with("## What it checks"), "{code}: {help}");
            assert!(help.contains("## How to fix"), "{code}");
            assert!(
                !help.contains("<!-- Generated")
                    && !help.contains("<!-- example")
                    && !help.contains("## Example"),
                "{code}"
            );
            assert!(
                !help.contains("](") && !help.contains("**"),
                "{code}: {help}"
            );
        }
    }

    #[test]
    fn links_become_their_labels() {
        assert_eq!(
            strip_links("see [plan-format\n§2](../p.md#2), `app/[id]/x` and [a](b) [c]"),
            "see plan-format\n§2, `app/[id]/x` and a [c]"
        );
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(artifact_uri("runs/a b/plan.md"), "runs/a%20b/plan.md");
        assert_eq!(artifact_uri("c:d/계획.md"), "c%3Ad/%EA%B3%84%ED%9A%8D.md");
        assert_eq!(artifact_uri("/tmp/p.md"), "file:///tmp/p.md");
    }

    #[test]
    fn docs_base_must_be_absolute() {
        assert_eq!(
            docs_base("https://example.com/rules").unwrap(),
            "https://example.com/rules/"
        );
        assert_eq!(docs_base("file:///d/").unwrap(), "file:///d/");
        for bad in [
            "docs/rules/",
            "/abs/path/",
            "://x",
            "1http://x/",
            "https:",
            "https://a b/",
        ] {
            assert!(docs_base(bad).is_err(), "{bad}");
        }
    }
}
