//! Suppression comments (plan-format §1), as markdownlint's work:
//! `<!-- okstra-lsp-disable-next-line CODE[, CODE] -->` silences those codes
//! on the next line, `<!-- okstra-lsp-disable CODE -->` …
//! `<!-- okstra-lsp-enable CODE -->` a region (to the end of the document
//! without an `enable`); without codes, every code. A comment that silences
//! nothing is reported as `unused-suppression` (warning).
//!
//! A comment counts only on a line of its own (leading whitespace allowed)
//! and outside fenced code, so a plan that shows the syntax in a code span or
//! a fence silences nothing. Between two table rows a comment would end the
//! table (GFM), so table rows are silenced with a region around the table.

use super::{Finding, finding_with};
use crate::plan::model::Span;

use super::UNUSED_SUPPRESSION;

const PREFIX: &str = "okstra-lsp-";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NextLine,
    Disable,
    Enable,
}

#[derive(Debug, Clone)]
struct Directive {
    kind: Kind,
    /// Empty: every code.
    codes: Vec<String>,
    /// The comment, on its line.
    range: Span,
    /// The line the comment ends on (0-based).
    line: usize,
}

impl Directive {
    fn covers(&self, code: &str) -> bool {
        self.codes.is_empty() || self.codes.iter().any(|c| c == code)
    }

    fn spelling(&self) -> &'static str {
        match self.kind {
            Kind::NextLine => "okstra-lsp-disable-next-line",
            Kind::Disable => "okstra-lsp-disable",
            Kind::Enable => "okstra-lsp-enable",
        }
    }
}

/// The start offsets of every line.
fn line_starts(src: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(src.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn line_of(starts: &[usize], offset: usize) -> usize {
    starts.partition_point(|&s| s <= offset).saturating_sub(1)
}

/// Reads one directive from a line's trimmed text (`<!-- … -->`).
fn parse(text: &str) -> Option<(Kind, Vec<String>)> {
    let body = text.strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    let rest = body.strip_prefix(PREFIX)?;
    let (kind, rest) = if let Some(r) = rest.strip_prefix("disable-next-line") {
        (Kind::NextLine, r)
    } else if let Some(r) = rest.strip_prefix("disable") {
        (Kind::Disable, r)
    } else if let Some(r) = rest.strip_prefix("enable") {
        (Kind::Enable, r)
    } else {
        return None;
    };
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let codes = rest
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    Some((kind, codes))
}

/// Every directive of the document, outside fenced code.
fn directives(src: &str, starts: &[usize]) -> Vec<Directive> {
    let mut out = Vec::new();
    // The fence that is open: its character and length.
    let mut fence: Option<(u8, usize)> = None;
    for (line, &start) in starts.iter().enumerate() {
        let end = starts.get(line + 1).map_or(src.len(), |&n| n);
        let raw = &src[start..end];
        let text = raw.trim_end_matches(['\n', '\r']);
        let indent = text.len() - text.trim_start().len();
        let trimmed = text.trim();
        let marker = trimmed.as_bytes().first().copied();
        if let Some(m @ (b'`' | b'~')) = marker {
            let run = trimmed.bytes().take_while(|&b| b == m).count();
            if run >= 3 {
                match fence {
                    None => fence = Some((m, run)),
                    Some((f, n)) if f == m && run >= n && trimmed.len() == run => fence = None,
                    _ => {}
                }
                continue;
            }
        }
        if fence.is_some() || !trimmed.starts_with("<!--") || !trimmed.contains(PREFIX) {
            continue;
        }
        if let Some((kind, codes)) = parse(trimmed) {
            out.push(Directive {
                kind,
                codes,
                range: start + indent..start + indent + trimmed.len(),
                line,
            });
        }
    }
    out
}

/// The lines each directive silences: (first line, last line, directive
/// index).
fn regions(directives: &[Directive]) -> Vec<(usize, usize, usize)> {
    let mut regions: Vec<(usize, usize, usize)> = Vec::new();
    for (i, d) in directives.iter().enumerate() {
        match d.kind {
            Kind::NextLine => regions.push((d.line + 1, d.line + 1, i)),
            Kind::Disable => {
                // Ends at the first later `enable` that covers all its codes
                // (an `enable` without codes ends every region).
                let end = directives[i + 1..]
                    .iter()
                    .find(|e| {
                        e.kind == Kind::Enable
                            && (e.codes.is_empty()
                                || (!d.codes.is_empty() && d.codes.iter().all(|c| e.covers(c))))
                    })
                    .map_or(usize::MAX, |e| e.line);
                regions.push((d.line + 1, end, i));
            }
            Kind::Enable => {}
        }
    }
    regions
}

/// What `unused-suppression` says about a `disable` or `disable-next-line`
/// comment, given which of its codes (or, without codes, whether it)
/// silenced something; `None` when it all did.
fn unused_message(d: &Directive, used: &[bool]) -> Option<String> {
    let where_ = if d.kind == Kind::NextLine {
        "on the next line"
    } else {
        "in its region"
    };
    let message = if d.codes.is_empty() {
        if used[0] {
            return None;
        }
        format!(
            "`{}` silences nothing: no finding {where_}; remove the comment",
            d.spelling()
        )
    } else {
        let unused: Vec<String> = d
            .codes
            .iter()
            .zip(used)
            .filter(|(_, u)| !**u)
            .map(|(c, _)| format!("`{c}`"))
            .collect();
        if unused.is_empty() {
            return None;
        }
        let unknown: Vec<&String> = d.codes.iter().filter(|c| !super::is_code(c)).collect();
        let note = if unknown.is_empty() {
            String::new()
        } else {
            format!(
                " ({} {} no okstra-lsp code)",
                unknown
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if unknown.len() == 1 { "is" } else { "are" }
            )
        };
        format!(
            "`{}` silences nothing for {}: no such finding {where_}{note}; remove {}",
            d.spelling(),
            unused.join(", "),
            if unused.len() == d.codes.len() {
                "the comment"
            } else {
                "those codes"
            }
        )
    };
    Some(message)
}

/// Whether `src` may hold a suppression comment (it names the prefix).
pub fn present(src: &str) -> bool {
    memchr::memmem::find(src.as_bytes(), PREFIX.as_bytes()).is_some()
}

/// Where, in a text that held no suppression comment before an edit, one
/// can only have appeared: the prefix overlaps the text the edit put in
/// `start..new_end`.
pub fn appeared(src: &str, start: usize, new_end: usize) -> bool {
    let from = start.saturating_sub(PREFIX.len() - 1);
    let to = (new_end + PREFIX.len() - 1).min(src.len());
    src.as_bytes()
        .get(from..to)
        .is_some_and(|w| memchr::memmem::find(w, PREFIX.as_bytes()).is_some())
}

/// Drops the findings that a suppression comment silences and reports each
/// comment (or code in it) that silenced nothing. `report_unused` is false
/// for documents that are not plans (they get no plan diagnostics).
pub fn apply(src: &str, findings: &mut Vec<Finding>, report_unused: bool) {
    // Cheap test first: most plans have no directive at all.
    if !present(src) {
        return;
    }
    let starts = line_starts(src);
    let directives = directives(src, &starts);
    if directives.is_empty() {
        return;
    }
    let regions = regions(&directives);
    // Per directive, which of its codes (or, without codes, whether it) silenced something.
    let mut used: Vec<Vec<bool>> = directives
        .iter()
        .map(|d| vec![false; d.codes.len().max(1)])
        .collect();
    findings.retain(|f| {
        let line = line_of(&starts, f.range.start);
        let mut silenced = false;
        for &(first, last, i) in &regions {
            if line < first || line > last {
                continue;
            }
            let d = &directives[i];
            if d.codes.is_empty() {
                used[i][0] = true;
                silenced = true;
            } else if let Some(k) = d.codes.iter().position(|c| c == f.code) {
                used[i][k] = true;
                silenced = true;
            }
        }
        !silenced
    });
    if !report_unused {
        return;
    }
    for (i, d) in directives.iter().enumerate() {
        if d.kind == Kind::Enable {
            continue;
        }
        let Some(message) = unused_message(d, &used[i]) else {
            continue;
        };
        findings.push(finding_with(
            UNUSED_SUPPRESSION,
            super::unused_suppression::RULE.severity,
            d.range.clone(),
            message,
        ));
    }
}

/// The comment that silences `code` on the line holding `offset`: its text
/// and where it goes (the start of that line, with the line's indentation).
pub(crate) fn next_line_comment(
    src: &str,
    offset: usize,
    code: &str,
    eol: &str,
) -> (usize, String) {
    let offset = crate::syntax::floor_char_boundary(src, offset);
    let start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &src[start..];
    let indent: String = line
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    (
        start,
        format!("{indent}<!-- okstra-lsp-disable-next-line {code} -->{eol}"),
    )
}

#[cfg(test)]
mod tests {
    /// A comment completed by the edit is found around it, wherever the
    /// edit falls in the prefix; an edit elsewhere finds none.
    #[test]
    fn a_comment_appears_only_around_the_edit() {
        let src = "text\n<!-- okstra-lsp-disable -->\nmore text\n";
        let at = src.find(PREFIX).unwrap_or(0);
        for k in 0..PREFIX.len() {
            assert!(
                appeared(src, at + k, at + k + 1),
                "typed the prefix's byte {k}"
            );
        }
        assert!(!appeared(src, 0, 2));
        assert!(!appeared(src, src.len() - 4, src.len()));
    }

    use super::*;
    use crate::check::rules::Severity;

    fn f(code: &'static str, src: &str, needle: &str) -> Finding {
        let at = src.find(needle).expect("needle");
        finding_with(code, Severity::Error, at..at + needle.len(), String::new())
    }

    fn run(src: &str, findings: Vec<Finding>) -> Vec<(&'static str, String)> {
        let mut findings = findings;
        apply(src, &mut findings, true);
        findings
            .into_iter()
            .map(|x| (x.code, src[x.range].to_string()))
            .collect()
    }

    #[test]
    fn next_line_silences_only_its_codes_on_the_next_line() {
        let src = "<!-- okstra-lsp-disable-next-line a, b -->\nX1\nX2\n";
        let out = run(
            src,
            vec![f("a", src, "X1"), f("c", src, "X1"), f("a", src, "X2")],
        );
        assert_eq!(
            out,
            [
                ("c", "X1".to_string()),
                ("a", "X2".to_string()),
                (
                    UNUSED_SUPPRESSION,
                    "<!-- okstra-lsp-disable-next-line a, b -->".to_string()
                ),
            ]
        );
    }

    #[test]
    fn regions_run_to_their_enable_or_the_end() {
        let src = "<!-- okstra-lsp-disable a -->\nX1\n<!-- okstra-lsp-enable a -->\nX2\n  <!-- okstra-lsp-disable -->\nX3\n";
        let out = run(
            src,
            vec![f("a", src, "X1"), f("a", src, "X2"), f("z", src, "X3")],
        );
        assert_eq!(out, [("a", "X2".to_string())]);
    }

    #[test]
    fn unused_and_unknown_codes_are_reported() {
        let src = "<!-- okstra-lsp-disable-next-line no-such-code -->\nX\n";
        let mut findings = vec![];
        apply(src, &mut findings, true);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].message.contains("no okstra-lsp code"),
            "{}",
            findings[0].message
        );
        let mut quiet = vec![];
        apply(src, &mut quiet, false);
        assert!(quiet.is_empty());
    }

    #[test]
    fn code_spans_and_fences_are_not_directives() {
        let src = "Use `<!-- okstra-lsp-disable-next-line a -->`.\n```\n<!-- okstra-lsp-disable a -->\n```\nX\n";
        let out = run(src, vec![f("a", src, "X")]);
        assert_eq!(out, [("a", "X".to_string())]);
    }

    #[test]
    fn the_comment_for_a_line_keeps_its_indentation() {
        let src = "a\n  - item\n";
        let (at, text) = next_line_comment(src, 6, "x", "\r\n");
        assert_eq!(at, 2);
        assert_eq!(text, "  <!-- okstra-lsp-disable-next-line x -->\r\n");
    }
}
