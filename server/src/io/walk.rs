//! The markdown files under folders, as `check` and the server's workspace
//! diagnostics walk them.

use std::path::PathBuf;

/// Every `*.md` under the given paths, sorted, folders walked recursively
/// (hidden folders, `target` and `node_modules` skipped).
pub fn markdown(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    collect(paths, false)
}

/// `markdown` that never leaves `roots`: symbolic links leading out
/// of them are not followed (the server's workspace walk, SECURITY.md).
pub(crate) fn markdown_within(roots: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    collect(roots, true)
}

/// The text of every `fixtures/**/*.md` (invalid UTF-8 replaced), walked
/// as `check` walks folders: for the unit tests that run over all of them.
#[cfg(test)]
pub(crate) fn fixture_texts() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    markdown(&[dir])
        .unwrap_or_default()
        .iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned())
        .collect()
}

fn collect(paths: &[PathBuf], confine: bool) -> Result<Vec<PathBuf>, String> {
    let mut walk_state = Walk {
        seen: std::collections::HashSet::new(),
        roots: Vec::new(),
        confine,
        out: Vec::new(),
    };
    if confine {
        walk_state.roots = paths.iter().filter_map(|p| p.canonicalize().ok()).collect();
    }
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let real = p.canonicalize().ok();
        if meta.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
            if let Some(real) = real {
                walk_state.seen.insert(real);
            }
            walk_state.walk(entries);
        } else if real.is_none_or(|r| walk_state.seen.insert(r)) {
            // A file named twice (or also inside a named folder) counts once.
            walk_state.out.push(p.clone());
        }
    }
    Ok(walk_state.out)
}

struct Walk {
    /// Real paths already taken: folders walked and files listed.
    seen: std::collections::HashSet<PathBuf>,
    roots: Vec<PathBuf>,
    confine: bool,
    out: Vec<PathBuf>,
}

impl Walk {
    /// Walks a folder for markdown. Each real folder and file is visited
    /// once, so symbolic links that loop or lead to a place already walked
    /// add nothing; a subfolder that cannot be read is reported and skipped.
    fn walk(&mut self, entries: std::fs::ReadDir) {
        let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let is_dir = path.is_dir();
            let wanted = if is_dir {
                !name.starts_with('.') && name != "target" && name != "node_modules"
            } else {
                name.ends_with(".md") || name.ends_with(".markdown")
            };
            if !wanted {
                continue;
            }
            // A FIFO, socket or device named like a plan is not read (it
            // could block the reader forever); reading checks again, on the
            // opened file.
            if !is_dir && path.metadata().is_ok_and(|m| !m.is_file()) {
                eprintln!(
                    "okstra-lsp: {}: skipped: not a regular file",
                    path.display()
                );
                continue;
            }
            let real = match path.canonicalize() {
                Ok(real) => real,
                Err(e) => {
                    // A dangling link, or a file gone since the listing.
                    eprintln!("okstra-lsp: {}: skipped: {e}", path.display());
                    continue;
                }
            };
            if self.confine && !self.roots.iter().any(|r| real.starts_with(r)) {
                continue;
            }
            if !self.seen.insert(real) {
                continue;
            }
            if is_dir {
                match std::fs::read_dir(&path) {
                    Ok(sub) => self.walk(sub),
                    Err(e) => eprintln!("okstra-lsp: {}: skipped: {e}", path.display()),
                }
            } else {
                self.out.push(path);
            }
        }
    }
}
