//! The language server: a thin adapter from LSP (tower-lsp-server) to the
//! core. It owns the open documents and the negotiated settings; everything
//! it answers comes from `document`, `ide`, `batch` and `consumers`.
//!
//! Invariants:
//! - A notification mutates a document synchronously, before any `.await`
//!   (tower-lsp-server polls up to four handlers concurrently), and hands its
//!   diagnostics to one publisher task while still holding the document, so
//!   publications leave in version order and the last one is the newest.
//! - No lock is held across an `.await`; notification handlers never await a
//!   client request (those run in spawned tasks).
//! - Every handler's body runs under `guard`: a panic in a request is an
//!   internal error for that request, in a notification a log line, and the
//!   server keeps serving.
//! - No file I/O on the runtime's threads: whatever touches the file system
//!   runs in `guard::blocking`, and never while a document is borrowed.

mod actions;
mod commands;
pub(crate) mod convert;
mod guard;
mod transport;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{self, Result};
use tower_lsp_server::ls_types::{self as lsp, Uri};
use tower_lsp_server::{Client, LanguageServer, LspService, Server};
use tracing::{debug, error, info, warn};

use crate::engine::document::Document;
use crate::ide;
use crate::plan::config::Config;
use crate::syntax::position::Encoding;

/// An open document and the version the client gave it.
pub(crate) struct OpenDoc {
    pub doc: Document,
    pub version: i32,
}

/// What initialize and configuration negotiated.
#[derive(Clone, Default)]
pub(crate) struct Settings {
    pub encoding: Encoding,
    pub config: Config,
    pub roots: Vec<PathBuf>,
    /// The client named workspace folders (or a root): files outside `roots`
    /// are refused, even when no folder was a local `file:` URI.
    pub restricted: bool,
    pub watch_dynamic: bool,
    pub config_pull: bool,
    pub diagnostics: DiagnosticMode,
    /// The client takes `workspace/diagnostic/refresh`.
    pub diagnostic_refresh: bool,
    /// The `okstra` settings of `initializationOptions`: what configuration
    /// answers and pushes are laid over (a null answer keeps them).
    pub init_options: serde_json::Value,
}

/// How diagnostics reach the client. A client that both receives pushed
/// diagnostics and pulls them shows every one twice (VS Code and Neovim
/// ≥ 0.10 keep the two in separate collections), so by default (`auto`) a
/// client that can pull gets pull only, like ruff's server does, and any
/// other client gets pushes. `diagnosticMode` in `initializationOptions`
/// (`auto`, `push`, `pull`, `both`) overrides it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum DiagnosticMode {
    #[default]
    Push,
    Pull,
    Both,
}

impl DiagnosticMode {
    fn negotiate(requested: Option<&serde_json::Value>, client_pulls: bool) -> DiagnosticMode {
        let auto = if client_pulls {
            DiagnosticMode::Pull
        } else {
            DiagnosticMode::Push
        };
        match requested.and_then(|v| v.as_str()) {
            None | Some("auto") => {
                if let Some(v) = requested.filter(|v| !v.is_null() && v.as_str().is_none()) {
                    warn!(
                        "initializationOptions: diagnosticMode must be a string, got {v}; using auto"
                    );
                }
                auto
            }
            Some("push") => DiagnosticMode::Push,
            Some("pull") => DiagnosticMode::Pull,
            Some("both") => DiagnosticMode::Both,
            Some(other) => {
                warn!(
                    "initializationOptions: diagnosticMode {other:?} is not one of auto, push, pull, both; using auto"
                );
                auto
            }
        }
    }

    fn pushes(self) -> bool {
        self != DiagnosticMode::Pull
    }

    fn pulls(self) -> bool {
        self != DiagnosticMode::Push
    }
}

struct Publish {
    uri: Uri,
    version: Option<i32>,
    diagnostics: Vec<lsp::Diagnostic>,
}

pub(crate) struct Backend {
    client: Client,
    docs: Arc<DashMap<Uri, OpenDoc>>,
    settings: Arc<RwLock<Settings>>,
    publisher: mpsc::UnboundedSender<Publish>,
    /// Workspace files found not to be plans, by the key (size and mtime)
    /// they had then: a client that pulls workspace diagnostics every few
    /// seconds does not make the server read them again.
    not_plans: Arc<DashMap<PathBuf, String>>,
    /// Parsed `consumers.jsonl` files (readiness, previews).
    consumers: Arc<crate::run::consumers::Cache>,
}

/// Serves LSP over stdin/stdout until `exit` or EOF. Input and output go
/// through `transport`: a malformed message cannot end the session, and it is
/// answered as JSON-RPC says.
pub(crate) async fn run_stdio() {
    let (service, socket) = LspService::new(Backend::new);
    let stdio = transport::stdio();
    Server::new(stdio.input, stdio.output, socket)
        .serve(service)
        .await;
    // tower-lsp-server's output ended with it: write what is left.
    let _ = stdio.writer.await;
}

/// Whether the session ended with `exit` but no `shutdown` before it (LSP:
/// exit status 1).
pub(crate) fn exited_without_shutdown() -> bool {
    transport::exit_status_is_error()
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(publisher(client.clone(), rx));
        Backend {
            client,
            docs: Arc::new(DashMap::new()),
            settings: Arc::new(RwLock::new(Settings::default())),
            publisher: tx,
            not_plans: Arc::new(DashMap::new()),
            consumers: Arc::new(crate::run::consumers::Cache::default()),
        }
    }

    fn settings(&self) -> Settings {
        self.settings.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Converts and queues a document's diagnostics (call with the document
    /// still borrowed, so the queue order is the version order).
    fn queue(&self, uri: &Uri, open: &OpenDoc, enc: Encoding) {
        if !self.settings().diagnostics.pushes() {
            return;
        }
        let diagnostics = convert::diagnostics(open.doc.rope(), uri, open.doc.findings(), enc);
        let _ = self.publisher.send(Publish {
            uri: uri.clone(),
            version: Some(open.version),
            diagnostics,
        });
    }

    fn reanalyze_all(&self) {
        let s = self.settings();
        for mut entry in self.docs.iter_mut() {
            let uri = entry.key().clone();
            let open = entry.value_mut();
            if let Err(what) = guard::catch(|| open.doc.reanalyze(&s.config)) {
                error!(
                    uri = uri.as_str(),
                    "internal error while re-checking ({what}); keeping the previous diagnostics"
                );
                continue;
            }
            self.queue(&uri, open, s.encoding);
        }
        if s.diagnostics.pulls() && s.diagnostic_refresh {
            let client = self.client.clone();
            tokio::spawn(async move {
                let _ = client.workspace_diagnostic_refresh().await;
            });
        }
    }

    /// Asks the client for the `okstra` settings, then re-checks (in a task:
    /// never awaited from a notification handler).
    fn fetch_configuration(&self) {
        let client = self.client.clone();
        let settings = self.settings.clone();
        let me = self.clone_handles();
        tokio::spawn(async move {
            let item = lsp::ConfigurationItem {
                scope_uri: None,
                section: Some("okstra".into()),
            };
            match client.configuration(vec![item]).await {
                Ok(values) => {
                    let value = values.into_iter().next().unwrap_or(serde_json::Value::Null);
                    let init = me.settings().init_options;
                    let (config, problems) = config_over(&init, &value);
                    for p in &problems {
                        warn!("{p}");
                        client
                            .show_message(lsp::MessageType::WARNING, format!("okstra-lsp: {p}"))
                            .await;
                    }
                    if let Ok(mut s) = settings.write() {
                        s.config = config;
                    }
                    me.reanalyze_all();
                }
                Err(e) => debug!("workspace/configuration failed: {e}"),
            }
        });
    }

    fn clone_handles(&self) -> Backend {
        Backend {
            client: self.client.clone(),
            docs: self.docs.clone(),
            settings: self.settings.clone(),
            publisher: self.publisher.clone(),
            not_plans: self.not_plans.clone(),
            consumers: self.consumers.clone(),
        }
    }

    /// The workspace diagnostics report: every plan under the workspace
    /// folders. Walks folders and reads files: call it through
    /// `guard::blocking`. Documents stay borrowed only to convert their
    /// diagnostics, never while a file is read.
    fn workspace_report(
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
            let Some(uri) = Uri::from_file_path(&path) else {
                continue;
            };
            // Symbolic links may lead out of the workspace, or back into it
            // (the walk follows them: one file, many paths).
            if self.check_allowed(&path).is_err()
                || !seen.insert(path.canonicalize().unwrap_or_else(|_| path.clone()))
            {
                continue;
            }
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
                        continue;
                    }
                },
            };
            let result_id = format!("{key}-{settings_key:x}");
            let version = open.as_ref().map(|(v, ..)| i64::from(*v));
            if open.is_none() && self.not_plans.get(&path).is_some_and(|k| *k == result_id) {
                continue;
            }
            if previous.get(uri.as_str()) == Some(&result_id) {
                items.push(lsp::WorkspaceDocumentDiagnosticReport::Unchanged(
                    lsp::WorkspaceUnchangedDocumentDiagnosticReport {
                        uri,
                        version,
                        unchanged_document_diagnostic_report:
                            lsp::UnchangedDocumentDiagnosticReport { result_id },
                    },
                ));
                continue;
            }
            let (diagnostics, is_plan) = match open {
                Some((_, diagnostics, is_plan)) => (diagnostics, is_plan),
                None => match disk_diagnostics(&uri, &path, &s) {
                    Ok(report) => report,
                    Err(e) => {
                        warn!("{e}");
                        continue;
                    }
                },
            };
            if !is_plan && diagnostics.is_empty() {
                if version.is_none() {
                    self.not_plans.insert(path, result_id);
                }
                continue;
            }
            self.not_plans.remove(&path);
            items.push(lsp::WorkspaceDocumentDiagnosticReport::Full(
                lsp::WorkspaceFullDocumentDiagnosticReport {
                    uri,
                    version,
                    full_document_diagnostic_report: lsp::FullDocumentDiagnosticReport {
                        result_id: Some(result_id),
                        items: diagnostics,
                    },
                },
            ));
        }
        lsp::WorkspaceDiagnosticReportResult::Report(lsp::WorkspaceDiagnosticReport { items })
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

    /// Runs `f` on an open document's state (`None`: it is not open). The
    /// document stays borrowed while `f` runs: `f` must not read files.
    fn with_doc<T>(&self, uri: &Uri, f: impl FnOnce(&OpenDoc, &Settings) -> T) -> Option<T> {
        let settings = self.settings();
        let open = self.docs.get(uri)?;
        Some(f(&open, &settings))
    }
}

/// The diagnostics of a document on disk (not open) and whether it is a
/// plan. Reads the file (a regular file; beyond `maxDocumentBytes` only its
/// start): call it off the runtime's threads, through `guard::blocking`.
fn disk_diagnostics(
    uri: &Uri,
    path: &Path,
    s: &Settings,
) -> std::result::Result<(Vec<lsp::Diagnostic>, bool), String> {
    Ok(
        match crate::io::files::read_document(path, s.config.max_document_bytes)? {
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

/// The configuration from the `initializationOptions` settings with a
/// `workspace/configuration` answer (or pushed settings) laid over them key by
/// key: a null or empty answer keeps what initialization said.
fn config_over(init: &serde_json::Value, answer: &serde_json::Value) -> (Config, Vec<String>) {
    let mut merged = init.as_object().cloned().unwrap_or_default();
    let mut problems = Vec::new();
    match answer {
        serde_json::Value::Object(o) => merged.extend(o.clone()),
        serde_json::Value::Null => {}
        other => problems.push(format!("okstra settings must be an object, got {other}")),
    }
    let (config, more) = Config::from_json(&serde_json::Value::Object(merged));
    problems.extend(more);
    (config, problems)
}

pub(crate) fn invalid_params(message: impl Into<String>) -> jsonrpc::Error {
    jsonrpc::Error::invalid_params(message.into())
}

/// The local path of a `file:` URI. `Uri::to_file_path` ignores the scheme
/// and the host (`untitled:x` would be the relative path `x`, `https://h/etc/x`
/// the path `/etc/x`), so both are checked here.
pub(crate) fn file_path(uri: &Uri) -> std::result::Result<PathBuf, jsonrpc::Error> {
    let local_file = uri.scheme().as_str().eq_ignore_ascii_case("file")
        && uri
            .authority()
            .is_none_or(|a| a.host().is_empty() || a.host().eq_ignore_ascii_case("localhost"));
    uri.to_file_path()
        .filter(|p| local_file && p.is_absolute())
        .map(|p| p.into_owned())
        .ok_or_else(|| invalid_params(format!("{} is not a local file: URI", uri.as_str())))
}

/// Sends queued diagnostics in order; when several are waiting for one
/// document, only the newest goes out.
async fn publisher(client: Client, mut rx: mpsc::UnboundedReceiver<Publish>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(next) = rx.try_recv() {
            batch.push(next);
        }
        let mut newest: HashMap<Uri, usize> = HashMap::new();
        for (i, p) in batch.iter().enumerate() {
            newest.insert(p.uri.clone(), i);
        }
        for (i, p) in batch.into_iter().enumerate() {
            if newest.get(&p.uri) == Some(&i) {
                client
                    .publish_diagnostics(p.uri, p.diagnostics, p.version)
                    .await;
            }
        }
    }
}

fn negotiate_encoding(params: &lsp::InitializeParams) -> Encoding {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(list) if list.contains(&lsp::PositionEncodingKind::UTF8) => Encoding::Utf8,
        _ => Encoding::Utf16,
    }
}

fn encoding_kind(enc: Encoding) -> lsp::PositionEncodingKind {
    match enc {
        Encoding::Utf8 => lsp::PositionEncodingKind::UTF8,
        Encoding::Utf16 => lsp::PositionEncodingKind::UTF16,
        Encoding::Utf32 => lsp::PositionEncodingKind::UTF32,
    }
}

/// The workspace folders the client named (else its root URI).
fn folder_uris(params: &lsp::InitializeParams) -> Vec<Uri> {
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
fn roots(uris: &[Uri]) -> (Vec<PathBuf>, bool) {
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

/// The handlers, each run by the `LanguageServer` impl below under
/// `guard::request` (requests) or `guard::notification` (notifications).
impl Backend {
    async fn on_initialize(&self, params: lsp::InitializeParams) -> Result<lsp::InitializeResult> {
        let encoding = negotiate_encoding(&params);
        let uris = folder_uris(&params);
        let (roots, restricted) = guard::blocking(move || {
            // Where the rules' pages are is worked out once, from the file
            // system too.
            let _ = convert::docs_url("");
            roots(&uris)
        })
        .await?;
        let mut config = Config::default();
        let mut init_options = serde_json::Value::Null;
        if let Some(opts) = &params.initialization_options {
            let value = opts.get("okstra").unwrap_or(opts);
            let (c, problems) = Config::from_json(value);
            for p in problems {
                warn!("initializationOptions: {p}");
            }
            config = c;
            init_options = value.clone();
        }
        let ws = params.capabilities.workspace.as_ref();
        let watch_dynamic = ws
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        let config_pull = ws.and_then(|w| w.configuration).unwrap_or(false);
        let client_pulls = params
            .capabilities
            .text_document
            .as_ref()
            .is_some_and(|t| t.diagnostic.is_some());
        let diagnostics = DiagnosticMode::negotiate(
            init_options.get("diagnosticMode").or_else(|| {
                params
                    .initialization_options
                    .as_ref()?
                    .get("diagnosticMode")
            }),
            client_pulls,
        );
        let diagnostic_refresh = ws
            .and_then(|w| w.diagnostics.as_ref())
            .and_then(|d| d.refresh_support)
            .unwrap_or(false);
        if let Ok(mut s) = self.settings.write() {
            *s = Settings {
                encoding,
                config,
                roots,
                restricted,
                watch_dynamic,
                config_pull,
                diagnostics,
                diagnostic_refresh,
                init_options,
            };
        }
        info!(?encoding, ?diagnostics, "initialize");
        Ok(lsp::InitializeResult {
            server_info: Some(lsp::ServerInfo {
                name: "okstra-lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            capabilities: lsp::ServerCapabilities {
                position_encoding: Some(encoding_kind(encoding)),
                text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
                    lsp::TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                        save: Some(lsp::TextDocumentSyncSaveOptions::Supported(false)),
                        ..Default::default()
                    },
                )),
                diagnostic_provider: diagnostics.pulls().then(|| {
                    lsp::DiagnosticServerCapabilities::Options(lsp::DiagnosticOptions {
                        identifier: Some("okstra".into()),
                        inter_file_dependencies: false,
                        workspace_diagnostics: true,
                        work_done_progress_options: Default::default(),
                    })
                }),
                document_symbol_provider: Some(lsp::OneOf::Left(true)),
                definition_provider: Some(lsp::OneOf::Left(true)),
                references_provider: Some(lsp::OneOf::Left(true)),
                hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
                folding_range_provider: Some(lsp::FoldingRangeProviderCapability::Simple(true)),
                completion_provider: Some(lsp::CompletionOptions {
                    trigger_characters: Some(vec![",".into(), " ".into(), "-".into(), "|".into()]),
                    ..Default::default()
                }),
                code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
                    lsp::CodeActionOptions {
                        code_action_kinds: Some(vec![
                            lsp::CodeActionKind::QUICKFIX,
                            lsp::CodeActionKind::REFACTOR,
                        ]),
                        resolve_provider: Some(false),
                        ..Default::default()
                    },
                )),
                code_lens_provider: Some(lsp::CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                inlay_hint_provider: Some(lsp::OneOf::Left(true)),
                execute_command_provider: Some(lsp::ExecuteCommandOptions {
                    commands: commands::COMMANDS.iter().map(|c| c.to_string()).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            offset_encoding: None,
        })
    }

    async fn on_initialized(&self, _: lsp::InitializedParams) {
        let s = self.settings();
        if s.config_pull {
            self.fetch_configuration();
        }
        if s.watch_dynamic {
            let client = self.client.clone();
            tokio::spawn(async move {
                let options = lsp::DidChangeWatchedFilesRegistrationOptions {
                    watchers: vec![lsp::FileSystemWatcher {
                        glob_pattern: lsp::GlobPattern::String("**/consumers.jsonl".into()),
                        kind: None,
                    }],
                };
                let registration = lsp::Registration {
                    id: "okstra-consumers".into(),
                    method: "workspace/didChangeWatchedFiles".into(),
                    register_options: serde_json::to_value(options).ok(),
                };
                if let Err(e) = client.register_capability(vec![registration]).await {
                    debug!("could not register the consumers.jsonl watcher: {e}");
                }
            });
        }
    }

    async fn on_shutdown(&self) -> Result<()> {
        info!("shutdown");
        Ok(())
    }

    async fn on_did_open(&self, params: lsp::DidOpenTextDocumentParams) {
        let s = self.settings();
        let uri = params.text_document.uri;
        let version = params.text_document.version;
        let text = params.text_document.text;
        let built = guard::catch(|| Document::new(text, &s.config));
        let doc = match built {
            Ok(doc) => doc,
            Err(what) => {
                error!(
                    uri = uri.as_str(),
                    "internal error while opening ({what}); the document is not checked"
                );
                return;
            }
        };
        if self.docs.contains_key(&uri) {
            warn!(
                uri = uri.as_str(),
                "didOpen for a document already open: replacing it"
            );
        }
        let open = OpenDoc { doc, version };
        self.queue(&uri, &open, s.encoding);
        self.docs.insert(uri, open);
    }

    async fn on_did_change(&self, params: lsp::DidChangeTextDocumentParams) {
        let s = self.settings();
        let uri = params.text_document.uri;
        let version = params.text_document.version;
        let Some(mut entry) = self.docs.get_mut(&uri) else {
            // Without the document, only a full-text change can be used.
            match params
                .content_changes
                .into_iter()
                .rev()
                .find(|c| c.range.is_none())
            {
                Some(full) => {
                    warn!(
                        uri = uri.as_str(),
                        "didChange before didOpen: using its full text"
                    );
                    let doc = Document::new(full.text, &s.config);
                    let open = OpenDoc { doc, version };
                    self.queue(&uri, &open, s.encoding);
                    self.docs.insert(uri, open);
                }
                None => warn!(
                    uri = uri.as_str(),
                    "didChange for a document that is not open: ignored"
                ),
            }
            return;
        };
        let open = entry.value_mut();
        if version <= open.version {
            warn!(
                uri = uri.as_str(),
                have = open.version,
                got = version,
                "didChange version does not increase"
            );
        }
        let applied = guard::catch(|| {
            for change in params.content_changes {
                match change.range {
                    Some(range) => {
                        let rope = open.doc.rope();
                        if !convert::is_valid(rope, range.start, s.encoding)
                            || !convert::is_valid(rope, range.end, s.encoding)
                        {
                            warn!(
                                uri = uri.as_str(),
                                ?range,
                                "change range outside the document: clamped (client and server may be out of sync)"
                            );
                        }
                        let mut start = convert::offset(rope, range.start, s.encoding);
                        let mut end = convert::offset(rope, range.end, s.encoding);
                        if end < start {
                            std::mem::swap(&mut start, &mut end);
                        }
                        open.doc.edit(start..end, &change.text);
                    }
                    None => open.doc.replace_all(&change.text),
                }
            }
            open.doc.reanalyze(&s.config);
        });
        open.version = version;
        if let Err(what) = applied {
            error!(
                uri = uri.as_str(),
                "internal error while applying a change: {what}"
            );
            return;
        }
        self.queue(&uri, open, s.encoding);
    }

    async fn on_did_close(&self, params: lsp::DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        if self.docs.remove(&uri).is_none() {
            warn!(
                uri = uri.as_str(),
                "didClose for a document that is not open"
            );
        }
        if !self.settings().diagnostics.pushes() {
            return;
        }
        let _ = self.publisher.send(Publish {
            uri,
            version: None,
            diagnostics: Vec::new(),
        });
    }

    async fn on_did_change_configuration(&self, params: lsp::DidChangeConfigurationParams) {
        let value = params
            .settings
            .get("okstra")
            .cloned()
            .unwrap_or(params.settings);
        let is_settings = value.as_object().is_some_and(|o| !o.is_empty());
        if is_settings {
            let (config, problems) = config_over(&self.settings().init_options, &value);
            for p in problems {
                warn!("{p}");
            }
            if let Ok(mut s) = self.settings.write() {
                s.config = config;
            }
            self.reanalyze_all();
        } else if self.settings().config_pull {
            self.fetch_configuration();
        }
    }

    async fn on_did_change_watched_files(&self, _: lsp::DidChangeWatchedFilesParams) {
        let client = self.client.clone();
        tokio::spawn(async move {
            let _ = client.code_lens_refresh().await;
            let _ = client.inlay_hint_refresh().await;
        });
    }

    async fn on_diagnostic(
        &self,
        params: lsp::DocumentDiagnosticParams,
    ) -> Result<lsp::DocumentDiagnosticReportResult> {
        let uri = params.text_document.uri;
        let enc = self.settings().encoding;
        // An open document was analysed when it changed: answer from that.
        let open = self.with_doc(&uri, |open, _| {
            (
                convert::diagnostics(open.doc.rope(), &uri, open.doc.findings(), enc),
                open.version,
            )
        });
        let (items, version) = match open {
            Some((items, version)) => (items, Some(version)),
            None => {
                let me = self.clone_handles();
                let uri = uri.clone();
                let items = guard::blocking(move || {
                    let path = file_path(&uri)?;
                    me.check_allowed(&path)?;
                    disk_diagnostics(&uri, &path, &me.settings())
                        .map(|(items, _)| items)
                        .map_err(invalid_params)
                })
                .await??;
                (items, None)
            }
        };
        Ok(lsp::DocumentDiagnosticReportResult::Report(
            lsp::DocumentDiagnosticReport::Full(lsp::RelatedFullDocumentDiagnosticReport {
                related_documents: None,
                full_document_diagnostic_report: lsp::FullDocumentDiagnosticReport {
                    result_id: version.map(|v| v.to_string()),
                    items,
                },
            }),
        ))
    }

    async fn on_workspace_diagnostic(
        &self,
        params: lsp::WorkspaceDiagnosticParams,
    ) -> Result<lsp::WorkspaceDiagnosticReportResult> {
        // The walk and the reads are file I/O: off the runtime's threads.
        let me = self.clone_handles();
        guard::blocking(move || me.workspace_report(params.previous_result_ids)).await
    }

    async fn on_document_symbol(
        &self,
        params: lsp::DocumentSymbolParams,
    ) -> Result<Option<lsp::DocumentSymbolResponse>> {
        let r = self.with_doc(&params.text_document.uri, |open, s| {
            let doc = &open.doc;
            fn conv(sym: ide::Symbol, doc: &Document, enc: Encoding) -> lsp::DocumentSymbol {
                #[allow(deprecated)]
                lsp::DocumentSymbol {
                    name: if sym.name.is_empty() {
                        "(untitled)".into()
                    } else {
                        sym.name
                    },
                    detail: sym.detail,
                    kind: match sym.kind {
                        ide::SymbolKind::Section => lsp::SymbolKind::NAMESPACE,
                        ide::SymbolKind::Stage => lsp::SymbolKind::MODULE,
                        ide::SymbolKind::Subsection => lsp::SymbolKind::STRUCT,
                        ide::SymbolKind::Table => lsp::SymbolKind::ARRAY,
                    },
                    tags: None,
                    deprecated: None,
                    range: convert::range(doc.rope(), &sym.range, enc),
                    selection_range: convert::range(doc.rope(), &sym.selection, enc),
                    children: Some(
                        sym.children
                            .into_iter()
                            .map(|c| conv(c, doc, enc))
                            .collect(),
                    ),
                }
            }
            let symbols = ide::symbols(doc.text(), doc.plan());
            lsp::DocumentSymbolResponse::Nested(
                symbols
                    .into_iter()
                    .map(|s2| conv(s2, doc, s.encoding))
                    .collect(),
            )
        });
        Ok(r)
    }

    async fn on_goto_definition(
        &self,
        params: lsp::GotoDefinitionParams,
    ) -> Result<Option<lsp::GotoDefinitionResponse>> {
        let uri = params.text_document_position_params.text_document.uri;
        let pos = params.text_document_position_params.position;
        let r = self.with_doc(&uri, |open, s| {
            let doc = &open.doc;
            let offset = convert::offset(doc.rope(), pos, s.encoding);
            let targets = ide::definition(doc.plan(), offset);
            let locations: Vec<lsp::Location> = targets
                .iter()
                .map(|t| lsp::Location {
                    uri: uri.clone(),
                    range: convert::range(doc.rope(), t, s.encoding),
                })
                .collect();
            (!locations.is_empty()).then_some(lsp::GotoDefinitionResponse::Array(locations))
        });
        Ok(r.flatten())
    }

    async fn on_references(
        &self,
        params: lsp::ReferenceParams,
    ) -> Result<Option<Vec<lsp::Location>>> {
        let uri = params.text_document_position.text_document.uri;
        let pos = params.text_document_position.position;
        let include = params.context.include_declaration;
        let r = self.with_doc(&uri, |open, s| {
            let doc = &open.doc;
            let offset = convert::offset(doc.rope(), pos, s.encoding);
            ide::references(doc.plan(), offset, include)
                .iter()
                .map(|t| lsp::Location {
                    uri: uri.clone(),
                    range: convert::range(doc.rope(), t, s.encoding),
                })
                .collect::<Vec<_>>()
        });
        Ok(r.filter(|v| !v.is_empty()))
    }

    async fn on_hover(&self, params: lsp::HoverParams) -> Result<Option<lsp::Hover>> {
        let uri = params.text_document_position_params.text_document.uri;
        let pos = params.text_document_position_params.position;
        // consumers.jsonl is read only for a hover on a stage.
        let on_stage = self.with_doc(&uri, |open, s| {
            let offset = convert::offset(open.doc.rope(), pos, s.encoding);
            ide::at(open.doc.plan(), offset)
                .is_some_and(|h| matches!(h.target, ide::Target::Stage(_)))
        });
        let status = match on_stage {
            Some(true) => commands::status_for(self, &uri).await?,
            _ => None,
        };
        let r = self.with_doc(&uri, |open, s| {
            let doc = &open.doc;
            let offset = convert::offset(doc.rope(), pos, s.encoding);
            let hit = ide::at(doc.plan(), offset)?;
            let ide::Target::Stage(n) = hit.target else {
                return None;
            };
            // No status line when consumers.jsonl cannot be read.
            let extra = match &status {
                Some(Ok(recorded)) => commands::readiness_line(doc.plan(), &recorded.status, n)
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            };
            let text = ide::stage_hover(doc.text(), doc.plan(), n, &s.config, &extra)?;
            Some(lsp::Hover {
                contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                    kind: lsp::MarkupKind::Markdown,
                    value: text,
                }),
                range: Some(convert::range(doc.rope(), &hit.range, s.encoding)),
            })
        });
        Ok(r.flatten())
    }

    async fn on_folding_range(
        &self,
        params: lsp::FoldingRangeParams,
    ) -> Result<Option<Vec<lsp::FoldingRange>>> {
        let r = self.with_doc(&params.text_document.uri, |open, s| {
            let doc = &open.doc;
            ide::folding(doc.text(), doc.plan())
                .iter()
                .filter_map(|span| {
                    let r = convert::range(doc.rope(), span, s.encoding);
                    (r.end.line > r.start.line).then_some(lsp::FoldingRange {
                        start_line: r.start.line,
                        start_character: None,
                        end_line: r.end.line,
                        end_character: None,
                        kind: Some(lsp::FoldingRangeKind::Region),
                        collapsed_text: None,
                    })
                })
                .collect::<Vec<_>>()
        });
        Ok(r)
    }

    async fn on_completion(
        &self,
        params: lsp::CompletionParams,
    ) -> Result<Option<lsp::CompletionResponse>> {
        let uri = params.text_document_position.text_document.uri;
        let pos = params.text_document_position.position;
        let r = self.with_doc(&uri, |open, s| {
            let doc = &open.doc;
            let offset = convert::offset(doc.rope(), pos, s.encoding);
            let items: Vec<lsp::CompletionItem> = ide::completions(doc.text(), doc.plan(), offset)
                .into_iter()
                .map(|c| lsp::CompletionItem {
                    label: c.label,
                    detail: Some(c.detail),
                    kind: Some(lsp::CompletionItemKind::REFERENCE),
                    ..Default::default()
                })
                .collect();
            (!items.is_empty()).then_some(lsp::CompletionResponse::Array(items))
        });
        Ok(r.flatten())
    }

    async fn on_code_action(
        &self,
        params: lsp::CodeActionParams,
    ) -> Result<Option<lsp::CodeActionResponse>> {
        let uri = params.text_document.uri.clone();
        let r = self.with_doc(&uri, |open, s| {
            actions::code_actions(&uri, open, s, &params)
        });
        Ok(r.filter(|v| !v.is_empty()))
    }

    async fn on_code_lens(
        &self,
        params: lsp::CodeLensParams,
    ) -> Result<Option<Vec<lsp::CodeLens>>> {
        let uri = params.text_document.uri;
        let Some(status) = commands::status_for(self, &uri).await? else {
            return Ok(None);
        };
        let r = self.with_doc(&uri, |open, s| {
            commands::code_lenses(&uri, open, s, status.as_deref().map_err(String::as_str))
        });
        Ok(r.filter(|v| !v.is_empty()))
    }

    async fn on_inlay_hint(
        &self,
        params: lsp::InlayHintParams,
    ) -> Result<Option<Vec<lsp::InlayHint>>> {
        let uri = params.text_document.uri;
        // No hints when consumers.jsonl cannot be read.
        let Some(Ok(recorded)) = commands::status_for(self, &uri).await? else {
            return Ok(None);
        };
        let r = self.with_doc(&uri, |open, s| {
            commands::inlay_hints(open, s, &recorded.status, params.range)
        });
        Ok(r.filter(|v| !v.is_empty()))
    }

    async fn on_execute_command(
        &self,
        params: lsp::ExecuteCommandParams,
    ) -> Result<Option<lsp::LSPAny>> {
        commands::execute(self, params).await
    }
}

/// Every handler's whole body runs under the one guard: `guard::request` for
/// requests (a panic is an internal error for that request only),
/// `guard::notification` for notifications (a panic is a log line).
impl LanguageServer for Backend {
    async fn initialize(&self, params: lsp::InitializeParams) -> Result<lsp::InitializeResult> {
        guard::request("initialize", self.on_initialize(params)).await
    }

    async fn initialized(&self, params: lsp::InitializedParams) {
        guard::notification("initialized", self.on_initialized(params)).await
    }

    async fn shutdown(&self) -> Result<()> {
        guard::request("shutdown", self.on_shutdown()).await
    }

    async fn did_open(&self, params: lsp::DidOpenTextDocumentParams) {
        guard::notification("textDocument/didOpen", self.on_did_open(params)).await
    }

    async fn did_change(&self, params: lsp::DidChangeTextDocumentParams) {
        guard::notification("textDocument/didChange", self.on_did_change(params)).await
    }

    async fn did_close(&self, params: lsp::DidCloseTextDocumentParams) {
        guard::notification("textDocument/didClose", self.on_did_close(params)).await
    }

    async fn did_change_configuration(&self, params: lsp::DidChangeConfigurationParams) {
        guard::notification(
            "workspace/didChangeConfiguration",
            self.on_did_change_configuration(params),
        )
        .await
    }

    async fn did_change_watched_files(&self, params: lsp::DidChangeWatchedFilesParams) {
        guard::notification(
            "workspace/didChangeWatchedFiles",
            self.on_did_change_watched_files(params),
        )
        .await
    }

    async fn diagnostic(
        &self,
        params: lsp::DocumentDiagnosticParams,
    ) -> Result<lsp::DocumentDiagnosticReportResult> {
        guard::request("textDocument/diagnostic", self.on_diagnostic(params)).await
    }

    async fn workspace_diagnostic(
        &self,
        params: lsp::WorkspaceDiagnosticParams,
    ) -> Result<lsp::WorkspaceDiagnosticReportResult> {
        guard::request("workspace/diagnostic", self.on_workspace_diagnostic(params)).await
    }

    async fn document_symbol(
        &self,
        params: lsp::DocumentSymbolParams,
    ) -> Result<Option<lsp::DocumentSymbolResponse>> {
        guard::request(
            "textDocument/documentSymbol",
            self.on_document_symbol(params),
        )
        .await
    }

    async fn goto_definition(
        &self,
        params: lsp::GotoDefinitionParams,
    ) -> Result<Option<lsp::GotoDefinitionResponse>> {
        guard::request("textDocument/definition", self.on_goto_definition(params)).await
    }

    async fn references(&self, params: lsp::ReferenceParams) -> Result<Option<Vec<lsp::Location>>> {
        guard::request("textDocument/references", self.on_references(params)).await
    }

    async fn hover(&self, params: lsp::HoverParams) -> Result<Option<lsp::Hover>> {
        guard::request("textDocument/hover", self.on_hover(params)).await
    }

    async fn folding_range(
        &self,
        params: lsp::FoldingRangeParams,
    ) -> Result<Option<Vec<lsp::FoldingRange>>> {
        guard::request("textDocument/foldingRange", self.on_folding_range(params)).await
    }

    async fn completion(
        &self,
        params: lsp::CompletionParams,
    ) -> Result<Option<lsp::CompletionResponse>> {
        guard::request("textDocument/completion", self.on_completion(params)).await
    }

    async fn code_action(
        &self,
        params: lsp::CodeActionParams,
    ) -> Result<Option<lsp::CodeActionResponse>> {
        guard::request("textDocument/codeAction", self.on_code_action(params)).await
    }

    async fn code_lens(&self, params: lsp::CodeLensParams) -> Result<Option<Vec<lsp::CodeLens>>> {
        guard::request("textDocument/codeLens", self.on_code_lens(params)).await
    }

    async fn inlay_hint(
        &self,
        params: lsp::InlayHintParams,
    ) -> Result<Option<Vec<lsp::InlayHint>>> {
        guard::request("textDocument/inlayHint", self.on_inlay_hint(params)).await
    }

    async fn execute_command(
        &self,
        params: lsp::ExecuteCommandParams,
    ) -> Result<Option<lsp::LSPAny>> {
        guard::request("workspace/executeCommand", self.on_execute_command(params)).await
    }
}

/// `--stdio`: logs go to stderr (stdout belongs to the protocol) and, with
/// `--log-file`, to that file too.
pub fn serve(
    log_level: Option<&str>,
    log_file: Option<&std::path::Path>,
) -> std::process::ExitCode {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::writer::MakeWriterExt;

    let level = log_level
        .map(str::to_string)
        .or_else(|| std::env::var("OKSTRA_LSP_LOG").ok())
        .unwrap_or_else(|| "info".to_string());
    let filter = match EnvFilter::try_new(&level) {
        Ok(f) => f,
        Err(e) => return failed(format!("invalid log level {level:?}: {e}")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    let installed = match log_file {
        Some(path) => {
            let file = match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(f) => f,
                Err(e) => return failed(format!("{}: {e}", path.display())),
            };
            builder
                .with_writer(std::io::stderr.and(std::sync::Mutex::new(file)))
                .try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    let _ = installed;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return failed(format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(run_stdio());
    if exited_without_shutdown() {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// A startup failure: one line on stderr, status 2 (as the CLI's).
fn failed(message: String) -> std::process::ExitCode {
    eprintln!("okstra-lsp: {message}");
    std::process::ExitCode::from(2)
}
