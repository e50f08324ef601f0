//! The workspace: its folders (the boundary every file access is checked
//! against) and the diagnostics of plans on disk.

use super::*;

impl Backend {
    /// The workspace diagnostics report: every plan under the workspace
    /// folders. Walks folders and reads files: call it through
    /// `guard::blocking`. Documents stay borrowed only to convert their
    /// diagnostics, never while a file is read.
    pub(crate) fn workspace_report(
        &self,
        previous_result_ids: Vec<lsp::PreviousResultId>,
    ) -> lsp::WorkspaceDiagnosticReportResult {
        let s = self.settings();
        // A result id names what a report was computed from: the open
        // version or the file's size and mtime, and the settings. A client
        // that sends it back for an unchanged file gets `unchanged`, and the
        // file is not read (clients pull the workspace every few seconds).
        let settings_key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            format!("{:?}{:?}", s.config, s.encoding).hash(&mut h);
            h.finish()
        };
        let previous: std::collections::HashMap<String, String> = previous_result_ids
            .into_iter()
            .map(|p| (p.uri.as_str().to_string(), p.value))
            .collect();
        let files = crate::io::walk::markdown_within(&s.roots).unwrap_or_default();
        let mut items = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for path in files {
            // Symbolic links may lead out of the workspace, or back into it
            // (the walk follows them: one file, many paths).
            if self.check_allowed(&path).is_err()
                || !seen.insert(path.canonicalize().unwrap_or_else(|_| path.clone()))
            {
                continue;
            }
            items.extend(self.file_report(&s, path, &previous, settings_key));
        }
        lsp::WorkspaceDiagnosticReportResult::Report(lsp::WorkspaceDiagnosticReport { items })
    }

    /// One file's entry in the workspace report: unchanged when the client
    /// has its result id, nothing for a file that is not a plan.
    fn file_report(
        &self,
        s: &Settings,
        path: PathBuf,
        previous: &HashMap<String, String>,
        settings_key: u64,
    ) -> Option<lsp::WorkspaceDocumentDiagnosticReport> {
        let uri = Uri::from_file_path(&path)?;
        let open = self.docs.get(&uri).map(|o| {
            (
                o.version,
                convert::diagnostics(o.doc.rope(), &uri, o.doc.findings(), s.encoding),
                o.doc.plan().is_plan(),
            )
        });
        let key = match &open {
            Some((version, ..)) => format!("v{version}"),
            None => match std::fs::metadata(&path) {
                Ok(m) => {
                    let mtime = m
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos());
                    format!("f{}-{mtime}", m.len())
                }
                Err(e) => {
                    warn!("{}: {e}", path.display());
                    return None;
                }
            },
        };
        let result_id = format!("{key}-{settings_key:x}");
        let version = open.as_ref().map(|(v, ..)| i64::from(*v));
        if open.is_none() && self.not_plans.get(&path).is_some_and(|k| *k == result_id) {
            return None;
        }
        if previous.get(uri.as_str()) == Some(&result_id) {
            return Some(lsp::WorkspaceDocumentDiagnosticReport::Unchanged(
                lsp::WorkspaceUnchangedDocumentDiagnosticReport {
                    uri,
                    version,
                    unchanged_document_diagnostic_report: lsp::UnchangedDocumentDiagnosticReport {
                        result_id,
                    },
                },
            ));
        }
        let (diagnostics, is_plan) = match open {
            Some((_, diagnostics, is_plan)) => (diagnostics, is_plan),
            None => match disk_diagnostics(&uri, &path, s) {
                Ok(report) => report,
                Err(e) => {
                    warn!("{e}");
                    return None;
                }
            },
        };
        if !is_plan && diagnostics.is_empty() {
            if version.is_none() {
                self.not_plans.insert(path, result_id);
            }
            return None;
        }
        self.not_plans.remove(&path);
        Some(lsp::WorkspaceDocumentDiagnosticReport::Full(
            lsp::WorkspaceFullDocumentDiagnosticReport {
                uri,
                version,
                full_document_diagnostic_report: lsp::FullDocumentDiagnosticReport {
                    result_id: Some(result_id),
                    items: diagnostics,
                },
            },
        ))
    }

    /// Files outside the workspace folders are not read (SECURITY.md).
    /// Resolves the path (file system calls): call it off the runtime's
    /// threads.
    pub(crate) fn check_allowed(&self, path: &Path) -> std::result::Result<(), jsonrpc::Error> {
        let Settings {
            roots, restricted, ..
        } = self.settings();
        if !restricted {
            return Ok(());
        }
        if inside_roots(path, &roots).is_ok() {
            Ok(())
        } else {
            Err(invalid_params(format!(
                "{} is outside the workspace folders",
                path.display()
            )))
        }
    }
}

/// The diagnostics of a document on disk (not open) and whether it is a
/// plan. Reads the file (a regular file; beyond `maxDocumentBytes` only its
/// start): call it off the runtime's threads, through `guard::blocking`.
pub(crate) fn disk_diagnostics(
    uri: &Uri,
    path: &Path,
    s: &Settings,
) -> std::result::Result<(Vec<lsp::Diagnostic>, bool), String> {
    Ok(
        match crate::io::files::read_document(path, s.config.max_document_bytes)? {
            // Ordinary markdown is not parsed (as `check` does not).
            crate::io::files::Document::Text(text)
                if !crate::plan::model::may_be_plan(&text, &s.config) =>
            {
                (Vec::new(), false)
            }
            crate::io::files::Document::Text(text) => {
                let doc = Document::new(text, &s.config);
                let items = convert::diagnostics(doc.rope(), uri, doc.findings(), s.encoding);
                (items, doc.plan().is_plan())
            }
            // Not read whole, not analysed: one finding at its start.
            crate::io::files::Document::TooLarge { len, head } => {
                let findings = crate::io::files::too_large_findings(&head, len, &s.config);
                let start = ropey::Rope::new();
                (
                    convert::diagnostics(&start, uri, &findings, s.encoding),
                    false,
                )
            }
        },
    )
}

/// The workspace folders the client named (else its root URI).
pub(crate) fn folder_uris(params: &lsp::InitializeParams) -> Vec<Uri> {
    let mut uris: Vec<Uri> = params
        .workspace_folders
        .iter()
        .flatten()
        .map(|f| f.uri.clone())
        .collect();
    #[allow(deprecated)]
    if uris.is_empty() {
        uris.extend(params.root_uri.iter().cloned());
    }
    uris
}

/// The local workspace folders, resolved (file system calls: off the
/// runtime's threads), and whether the client named any folder.
pub(crate) fn roots(uris: &[Uri]) -> (Vec<PathBuf>, bool) {
    let restricted = !uris.is_empty();
    let roots = uris
        .iter()
        .filter_map(|u| file_path(u).ok())
        .map(|p| canonical(&p))
        .collect();
    (roots, restricted)
}

/// A path with its symbolic links and `..` resolved, as far as it exists.
pub(crate) fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// Whether `path`, resolved, lies inside one of `roots` (resolved already,
/// as `roots` makes them): Ok, or Err with the resolved path. A path that
/// cannot be resolved must not climb out with `..`.
pub(crate) fn inside_roots(path: &Path, roots: &[PathBuf]) -> std::result::Result<(), PathBuf> {
    let resolved = canonical(path);
    let climbs = resolved
        .components()
        .any(|c| c == std::path::Component::ParentDir);
    if !climbs && roots.iter().any(|r| resolved.starts_with(r)) {
        Ok(())
    } else {
        Err(resolved)
    }
}
