//! Tidy test: the folders of `server/src` are the layers of ARCHITECTURE.md,
//! and imports only go down. Reads the source, so a violation fails here
//! with the file and line, not in review.
//!
//! Order, bottom up: `syntax` → `plan` → `check` → `io` → `run` → `engine`
//! | `graph` → `ide` → `cli` | `lsp`. A layer may use the ones below it;
//! `cli` and `lsp` never use each other, nor `engine` and `graph`. Also: tower-lsp only in `lsp/`; no file
//! system, process or network below `io` (nor in `engine`, `graph` and
//! `ide`, which work on text), outside `#[cfg(test)]` code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: &[(&str, usize)] = &[
    ("syntax", 0),
    ("plan", 1),
    ("check", 2),
    ("io", 3),
    ("run", 4),
    ("engine", 5),
    ("graph", 5),
    ("ide", 6),
    ("cli", 7),
    ("lsp", 7),
];

/// Layers that may touch the file system, processes or the network.
const DOES_IO: &[&str] = &["io", "run", "cli", "lsp"];

const IO_APIS: &[&str] = &[
    "std::fs",
    "std::process",
    "std::net",
    "File::open",
    "OpenOptions",
    "tokio::fs",
    "tokio::process",
];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().find(|(l, _)| *l == layer).map(|(_, r)| *r)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable source folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its `#[cfg(test)]` modules and comments.
fn code(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut skipping_from: Option<usize> = None;
    let mut depth = 0i64;
    let mut pending_cfg_test = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(d) = skipping_from {
            depth += line.matches('{').count() as i64 - line.matches('}').count() as i64;
            if depth <= 0 && line.contains('}') && d != i {
                skipping_from = None;
            }
            continue;
        }
        if trimmed.starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
            continue;
        }
        if pending_cfg_test {
            pending_cfg_test = false;
            if trimmed.starts_with("mod ") || trimmed.starts_with("pub(crate) mod ") {
                depth = line.matches('{').count() as i64 - line.matches('}').count() as i64;
                if depth > 0 {
                    skipping_from = Some(i);
                }
                continue;
            }
        }
        if trimmed.starts_with("//") {
            continue;
        }
        let line = match line.find("//") {
            // A `//` inside a string (a URL) is rare in paths we look for.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        out.push((i + 1, line.to_string()));
    }
    out
}

/// The top-level modules a line names: `crate::x`, `use crate::{x, y::z}`,
/// and `super::` climbing out of a layer folder.
fn named_layers(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for part in inner.split(',') {
                let head = part.trim().split("::").next().unwrap_or("").trim();
                if !head.is_empty() && head != "self" {
                    out.push(head.to_string());
                }
            }
        } else {
            let head: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !head.is_empty() {
                out.push(head);
            }
        }
        rest = after;
    }
    out
}

#[test]
fn imports_follow_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut problems = Vec::new();
    // Layer → layers it imports (for the cycle check).
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in &files {
        let rel = path.strip_prefix(&src).expect("under src");
        let first = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("");
        let layer = first.trim_end_matches(".rs");
        if layer == "lib" || layer == "main" {
            continue;
        }
        let Some(mine) = rank(layer) else {
            problems.push(format!(
                "{}: not in a layer folder ({})",
                rel.display(),
                LAYERS.iter().map(|l| l.0).collect::<Vec<_>>().join(", ")
            ));
            continue;
        };
        let text = std::fs::read_to_string(path).expect("readable source");
        for (n, line) in code(&text) {
            for other in named_layers(&line) {
                let Some(theirs) = rank(&other) else {
                    continue;
                };
                if other == layer {
                    continue;
                }
                edges
                    .entry(layer.to_string())
                    .or_default()
                    .insert(other.clone());
                if theirs >= mine {
                    problems.push(format!(
                        "{}:{n}: `{layer}` imports `{other}`, which is not below it: {}",
                        rel.display(),
                        line.trim()
                    ));
                }
            }
            if layer != "lsp" && line.contains("tower_lsp") {
                problems.push(format!(
                    "{}:{n}: tower-lsp outside lsp/: {}",
                    rel.display(),
                    line.trim()
                ));
            }
            if !DOES_IO.contains(&layer) {
                for api in IO_APIS {
                    if line.contains(api) {
                        problems.push(format!(
                            "{}:{n}: `{layer}` does I/O ({api}); only {} may: {}",
                            rel.display(),
                            DOES_IO.join(", "),
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    // No cycles between layers (implied by the order, checked on its own so a
    // change to LAYERS cannot hide one).
    for (from, tos) in &edges {
        for to in tos {
            if edges.get(to).is_some_and(|back| back.contains(from)) {
                problems.push(format!("import cycle: `{from}` ↔ `{to}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check itself catches what it is for.
#[test]
fn the_layer_check_sees_imports() {
    assert_eq!(named_layers("use crate::plan::model::Plan;"), ["plan"]);
    assert_eq!(
        named_layers("use crate::{check::rules, syntax::outline};"),
        ["check", "syntax"]
    );
    assert_eq!(
        named_layers("let x = crate::run::batch::select(a, crate::io::files::size(b));"),
        ["run", "io"]
    );
    let text = "use crate::lsp::x;\n#[cfg(test)]\nmod tests {\n    use crate::cli::y;\n}\nfn f() {} // crate::cli\n";
    let lines: Vec<String> = code(text).into_iter().map(|(_, l)| l).collect();
    assert!(lines.iter().any(|l| l.contains("crate::lsp")));
    assert!(!lines.iter().any(|l| l.contains("crate::cli")), "{lines:?}");
}
