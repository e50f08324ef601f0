//! Which text is a path (plan-format §2 "Which text is a path"): reading the
//! predicted paths of an Exit Contract line, normalising them and deciding
//! their kind.
//!
//! - The inline-code spans of the text are the paths, except spans inside a
//!   parenthesised remark (`` `src/a.ts` (exports `init()`) `` names one
//!   path) and spans that read as code, not a path (whitespace, `(`, `)`,
//!   `=`, `;`, `::`, quotes, `<`, `>`).
//! - Text with no code span outside a remark: the comma/semicolon-separated
//!   words, each with its parenthesised remarks removed and emphasis
//!   stripped, that have no space and contain `/`, end in a `.ext` or are a
//!   known extensionless file name (`Makefile`, `Dockerfile`, `LICENSE`…).
//! - None-markers (`(none)`, `none`, `-`, `—`, `없음`) name no path.
//!
//! Invariant: pure functions of the text; ranges are byte ranges into `src`.

use crate::plan::model::{PathKind, PredictedPath, Span};
use crate::syntax;

/// Extensionless file names that are paths on their own (case-sensitive).
const KNOWN_FILES: &[&str] = &[
    "AUTHORS",
    "BUILD",
    "Brewfile",
    "CHANGELOG",
    "CODEOWNERS",
    "CONTRIBUTORS",
    "COPYING",
    "Caddyfile",
    "Containerfile",
    "Dockerfile",
    "Earthfile",
    "GNUmakefile",
    "Gemfile",
    "Jenkinsfile",
    "Justfile",
    "LICENCE",
    "LICENSE",
    "Makefile",
    "NOTICE",
    "OWNERS",
    "Pipfile",
    "Podfile",
    "Procfile",
    "Rakefile",
    "Tiltfile",
    "VERSION",
    "Vagrantfile",
    "WORKSPACE",
    "justfile",
    "makefile",
];

/// Appends the paths named in `src[range]` (one line of a predicted-files
/// list, or its nested item) to `out`, in text order.
pub(crate) fn collect_paths(src: &str, range: Span, out: &mut Vec<PredictedPath>) {
    if src.get(range.clone()).is_none() {
        return;
    }
    let spans = syntax::code_spans(src, range.clone());
    // The spans outside a parenthesised remark: an unclosed `(` in the text
    // outside code spans before them puts them inside one.
    let mut outside = Vec::new();
    let mut depth = 0usize;
    let mut at = range.start;
    for span in spans {
        if let Some(gap) = src.get(at.min(span.start)..span.start) {
            depth = paren_depth(gap, depth);
        }
        at = at.max(span.end);
        if depth == 0 {
            outside.push(span);
        }
    }
    if outside.is_empty() {
        // No code span, or only spans inside remarks: read the words.
        return words(src, range, out);
    }
    for span in outside {
        let text = &src[span.clone()];
        if reads_as_path(text) {
            push(text, span, out);
        }
    }
}

/// The nesting of parentheses after `text`, starting at `depth`; a `)`
/// without its `(` is ignored.
fn paren_depth(text: &str, mut depth: usize) -> usize {
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// Whether a code span's text can be a path rather than code.
fn reads_as_path(text: &str) -> bool {
    !text.is_empty()
        && !text.chars().any(|c| {
            c.is_whitespace() || matches!(c, '(' | ')' | '=' | ';' | '"' | '\'' | '<' | '>')
        })
        && !text.contains("::")
}

/// The comma/semicolon-separated words of a range without code spans.
fn words(src: &str, range: Span, out: &mut Vec<PredictedPath>) {
    let text = &src[range.clone()];
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' | ';' | '，' | '；' if depth == 0 => {
                word(src, range.start + start..range.start + i, out);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    word(src, range.start + start..range.end, out);
}

/// One word: its remarks removed, trimmed, emphasis stripped; a path when it
/// looks like one.
fn word(src: &str, range: Span, out: &mut Vec<PredictedPath>) {
    let text = &src[range.clone()];
    // The text outside parentheses, and where each of its bytes comes from.
    let mut kept = String::new();
    let mut from: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => {
                kept.push(c);
                from.extend((0..c.len_utf8()).map(|k| range.start + i + k));
            }
            _ => {}
        }
    }
    let mut s = kept.as_str();
    let mut lo = 0;
    loop {
        let trimmed = s.trim();
        lo += s.len() - s.trim_start().len();
        s = trimmed;
        let stripped = ["**", "*"]
            .into_iter()
            .find(|d| s.len() > 2 * d.len() && s.starts_with(d) && s.ends_with(d));
        match stripped {
            Some(d) => {
                lo += d.len();
                s = &s[d.len()..s.len() - d.len()];
            }
            None => break,
        }
    }
    if s.is_empty() || crate::plan::model::is_none_marker(s) || s.chars().any(char::is_whitespace) {
        return;
    }
    let path = normalize_path(s);
    let looks_like_a_path = path.contains('/') || has_extension(&path) || KNOWN_FILES.contains(&s);
    if !looks_like_a_path {
        return;
    }
    let span = from[lo]..from[lo + s.len() - 1] + 1;
    push_normalised(path, span, out);
}

/// Ends in a dot and one or more alphanumerics (`README.md`, `.env`).
fn has_extension(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| !ext.is_empty() && ext.chars().all(char::is_alphanumeric))
}

fn push(raw: &str, range: Span, out: &mut Vec<PredictedPath>) {
    if !crate::plan::model::is_none_marker(raw) {
        push_normalised(normalize_path(raw), range, out);
    }
}

fn push_normalised(path: String, range: Span, out: &mut Vec<PredictedPath>) {
    if !path.is_empty() {
        let kind = path_kind(&path);
        out.push(PredictedPath { path, range, kind });
    }
}

/// plan-format §2: leading `./` removed, `\` -> `/`, doubled `/` collapsed.
pub(crate) fn normalize_path(raw: &str) -> String {
    let mut p = raw.trim().replace('\\', "/");
    while p.contains("//") {
        p = p.replace("//", "/");
    }
    while let Some(rest) = p.strip_prefix("./") {
        p = rest.to_string();
    }
    p
}

/// The kind of a normalised path: a glob when it has `*`, `?`, `[` or brace
/// alternatives (`{a,b}`), else a folder when it ends in `/`, else a file.
pub(crate) fn path_kind(path: &str) -> PathKind {
    if path.contains(['*', '?', '[']) || has_alternatives(path) {
        PathKind::Glob
    } else if path.ends_with('/') {
        PathKind::Dir
    } else {
        PathKind::File
    }
}

/// Whether the pattern has a `{…,…}` group.
fn has_alternatives(pattern: &str) -> bool {
    brace_group(pattern).is_some()
}

/// The first `{…}` group that has a comma at its own level: the byte
/// offsets of its `{`, of those commas and of its `}`.
fn brace_group(pattern: &str) -> Option<(usize, Vec<usize>, usize)> {
    let bytes = pattern.as_bytes();
    for (open, _) in pattern.match_indices('{') {
        let mut depth = 0usize;
        let mut commas = Vec::new();
        for (k, &b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        if !commas.is_empty() {
                            return Some((open, commas, k));
                        }
                        break;
                    }
                }
                b',' if depth == 1 => commas.push(k),
                _ => {}
            }
        }
    }
    None
}

/// The brace alternatives of a pattern expanded (`src/{a,b}.rs` →
/// `src/a.rs`, `src/b.rs`; nested groups too), or None when there would be
/// more than `cap` of them. A pattern without groups is its own expansion.
pub(crate) fn expand_alternatives(pattern: &str, cap: usize) -> Option<Vec<String>> {
    fn go(p: &str, cap: usize, out: &mut Vec<String>) -> bool {
        let Some((open, commas, close)) = brace_group(p) else {
            if out.len() >= cap {
                return false;
            }
            out.push(p.to_string());
            return true;
        };
        let (pre, post) = (&p[..open], &p[close + 1..]);
        let mut start = open + 1;
        for end in commas.into_iter().chain([close]) {
            if !go(&format!("{pre}{}{post}", &p[start..end]), cap, out) {
                return false;
            }
            start = end + 1;
        }
        true
    }
    let mut out = Vec::new();
    go(pattern, cap, &mut out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paths of `text` (the part of a predicted-files line after its
    /// label), with their kinds and the text each range covers.
    fn read(text: &str) -> Vec<(String, PathKind, String)> {
        let mut out = Vec::new();
        collect_paths(text, 0..text.len(), &mut out);
        out.into_iter()
            .map(|p| (p.path, p.kind, text[p.range].to_string()))
            .collect()
    }

    fn paths(text: &str) -> Vec<String> {
        read(text).into_iter().map(|p| p.0).collect()
    }

    #[test]
    fn code_spans_are_the_paths() {
        assert_eq!(
            paths(" `src/p.rs`, `tests/p.rs`"),
            ["src/p.rs", "tests/p.rs"]
        );
        assert_eq!(
            paths(" `Makefile`, `Dockerfile`"),
            ["Makefile", "Dockerfile"]
        );
        assert_eq!(
            read(" `src/{a,b}.rs`"),
            [("src/{a,b}.rs".into(), PathKind::Glob, "src/{a,b}.rs".into())]
        );
    }

    #[test]
    fn a_remark_after_a_path_names_no_path() {
        assert_eq!(paths(" `src/a.ts` (exports `init()`)"), ["src/a.ts"]);
        assert_eq!(
            paths(" `src/a.ts` (see `docs/a.md`), `src/b.ts`"),
            ["src/a.ts", "src/b.ts"]
        );
        // A `(` inside a code span opens no remark.
        assert_eq!(paths(" `f(`, `src/b.ts`"), ["src/b.ts"]);
        // Closed remarks end.
        assert_eq!(paths(" `a.rs` (new (really)) `b.rs` (x"), ["a.rs", "b.rs"]);
    }

    #[test]
    fn spans_that_read_as_code_are_not_paths() {
        for code in [
            "`init()`",
            "`cargo test p`",
            "`x = 1`",
            "`a;b`",
            "`crate::plan::paths`",
            "`\"a.rs\"`",
            "`'a.rs'`",
            "`Vec<u8>`",
            "`a>b`",
        ] {
            assert_eq!(
                paths(&format!(" {code}, `src/a.rs`")),
                ["src/a.rs"],
                "{code}"
            );
        }
    }

    #[test]
    fn none_markers_name_nothing() {
        for none in [
            "(none)", "none", "-", "—", "없음", "`(none)`", "`-`", "**none**",
        ] {
            assert!(paths(&format!(" {none}")).is_empty(), "{none}");
        }
    }

    #[test]
    fn words_without_code_spans() {
        assert_eq!(
            paths(" src/a.rs, tests/b.rs; README.md"),
            ["src/a.rs", "tests/b.rs", "README.md"]
        );
        assert_eq!(
            paths(" Makefile, Dockerfile, LICENSE, Justfile, CODEOWNERS"),
            [
                "Makefile",
                "Dockerfile",
                "LICENSE",
                "Justfile",
                "CODEOWNERS"
            ]
        );
        // Remarks go, commas inside them split nothing.
        assert_eq!(
            paths(" src/a.rs (new, with tests), docs/ (the guide)"),
            ["src/a.rs", "docs/"]
        );
        // Emphasis is stripped; globs are kept.
        assert_eq!(
            read(" **src/a.rs**, *b.md*, src/*.rs, **/*.md"),
            [
                ("src/a.rs".into(), PathKind::File, "src/a.rs".into()),
                ("b.md".into(), PathKind::File, "b.md".into()),
                ("src/*.rs".into(), PathKind::Glob, "src/*.rs".into()),
                ("**/*.md".into(), PathKind::Glob, "**/*.md".into()),
            ]
        );
        // Sentences, bare words and full stops are not paths.
        assert!(paths(" see the parser module.").is_empty());
        assert!(paths(" parser, tests, TBD, etc.").is_empty());
        assert!(paths(" a new module under src/parser").is_empty());
        // The known names are case-sensitive.
        assert!(paths(" license, DOCKERFILE").is_empty());
        // The range covers the path, not the remark.
        assert_eq!(
            read(" ./src//a.rs (new)"),
            [("src/a.rs".into(), PathKind::File, "./src//a.rs".into())]
        );
    }

    #[test]
    fn only_remarks_have_code_spans_then_words_are_read() {
        assert_eq!(paths(" src/a.ts (exports `init()`)"), ["src/a.ts"]);
        assert!(paths(" (none yet; see `docs/x.md`)").is_empty());
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalize_path("./src//a\\b.rs"), "src/a/b.rs");
        assert_eq!(normalize_path(" ././x/ "), "x/");
        assert_eq!(paths(" `.\\src\\\\a.rs`"), ["src/a.rs"]);
    }

    #[test]
    fn kinds() {
        assert_eq!(path_kind("src/a.rs"), PathKind::File);
        assert_eq!(path_kind("Makefile"), PathKind::File);
        assert_eq!(path_kind("src/"), PathKind::Dir);
        assert_eq!(path_kind("src/*.rs"), PathKind::Glob);
        assert_eq!(path_kind("src/a?.rs"), PathKind::Glob);
        assert_eq!(path_kind("app/[id]/page.tsx"), PathKind::Glob);
        assert_eq!(path_kind("src/*/"), PathKind::Glob);
        assert_eq!(path_kind("src/{a,b}.rs"), PathKind::Glob);
        assert_eq!(path_kind("src/{a}.rs"), PathKind::File);
        assert_eq!(path_kind("src/{a,b"), PathKind::File);
    }

    #[test]
    fn alternatives_expand() {
        assert_eq!(
            expand_alternatives("src/{a,b}.rs", 64).unwrap(),
            ["src/a.rs", "src/b.rs"]
        );
        assert_eq!(
            expand_alternatives("{x,y/{a,b}}/c", 64).unwrap(),
            ["x/c", "y/a/c", "y/b/c"]
        );
        assert_eq!(expand_alternatives("a{b", 64).unwrap(), ["a{b"]);
        assert_eq!(expand_alternatives("{a}", 64).unwrap(), ["{a}"]);
        assert!(expand_alternatives("{a,b}{c,d}{e,f}", 7).is_none());
        assert_eq!(expand_alternatives("{a,b}{c,d}{e,f}", 8).unwrap().len(), 8);
    }
}
