//! The server's state: open documents, negotiated settings, the publisher
//! task that sends diagnostics in version order.

use super::published::Converted;
use super::transport::{Frames, Message};
use super::*;

/// An open document and the version the client gave it.
pub(crate) struct OpenDoc {
    pub doc: Document,
    pub version: i32,
    /// Its diagnostics as last converted for the client.
    pub converted: Converted,
}

impl OpenDoc {
    pub(crate) fn new(doc: Document, version: i32) -> OpenDoc {
        OpenDoc {
            doc,
            version,
            converted: Converted::default(),
        }
    }

    /// Its diagnostics in the client's terms, converted where they changed.
    pub(crate) fn diagnostics(&mut self, uri: &Uri, enc: Encoding) -> Vec<lsp::Diagnostic> {
        self.converted.update(&self.doc, uri, enc);
        self.converted.diagnostics()
    }
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
    pub(crate) fn negotiate(
        requested: Option<&serde_json::Value>,
        client_pulls: bool,
    ) -> DiagnosticMode {
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

    pub(crate) fn pushes(self) -> bool {
        self != DiagnosticMode::Pull
    }

    pub(crate) fn pulls(self) -> bool {
        self != DiagnosticMode::Push
    }
}

pub(crate) struct Publish {
    pub(crate) uri: Uri,
    /// The whole `textDocument/publishDiagnostics` message.
    pub(crate) message: Message,
}

pub(crate) struct Backend {
    pub(crate) client: Client,
    pub(crate) docs: Arc<DashMap<Uri, OpenDoc>>,
    pub(crate) settings: Arc<RwLock<Settings>>,
    pub(crate) publisher: mpsc::UnboundedSender<Publish>,
    /// Workspace files found not to be plans, by the key (size and mtime)
    /// they had then: a client that pulls workspace diagnostics every few
    /// seconds does not make the server read them again.
    pub(crate) not_plans: Arc<DashMap<PathBuf, String>>,
    /// Parsed `consumers.jsonl` files (readiness, previews).
    pub(crate) consumers: Arc<crate::run::consumers::Cache>,
}

impl Backend {
    pub(crate) fn new(client: Client, frames: Frames) -> Backend {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(publisher(frames, rx));
        Backend {
            client,
            docs: Arc::new(DashMap::new()),
            settings: Arc::new(RwLock::new(Settings::default())),
            publisher: tx,
            not_plans: Arc::new(DashMap::new()),
            consumers: Arc::new(crate::run::consumers::Cache::default()),
        }
    }

    pub(crate) fn settings(&self) -> Settings {
        self.settings.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Converts and queues a document's diagnostics (call with the document
    /// still borrowed, so the queue order is the version order).
    pub(crate) fn queue(&self, uri: &Uri, open: &mut OpenDoc, enc: Encoding) {
        if !self.settings().diagnostics.pushes() {
            return;
        }
        open.converted.update(&open.doc, uri, enc);
        let _ = self.publisher.send(Publish {
            uri: uri.clone(),
            message: open.converted.publish(uri, Some(open.version)),
        });
    }

    pub(crate) fn reanalyze_all(&self) {
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
    pub(crate) fn fetch_configuration(&self) {
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

    pub(crate) fn clone_handles(&self) -> Backend {
        Backend {
            client: self.client.clone(),
            docs: self.docs.clone(),
            settings: self.settings.clone(),
            publisher: self.publisher.clone(),
            not_plans: self.not_plans.clone(),
            consumers: self.consumers.clone(),
        }
    }

    /// Runs `f` on an open document's state (`None`: it is not open). The
    /// document stays borrowed while `f` runs: `f` must not read files.
    pub(crate) fn with_doc<T>(
        &self,
        uri: &Uri,
        f: impl FnOnce(&OpenDoc, &Settings) -> T,
    ) -> Option<T> {
        let settings = self.settings();
        let open = self.docs.get(uri)?;
        Some(f(&open, &settings))
    }
}

/// The configuration from the `initializationOptions` settings with a
/// `workspace/configuration` answer (or pushed settings) laid over them key by
/// key: a null or empty answer keeps what initialization said.
pub(crate) fn config_over(
    init: &serde_json::Value,
    answer: &serde_json::Value,
) -> (Config, Vec<String>) {
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
pub(crate) async fn publisher(frames: Frames, mut rx: mpsc::UnboundedReceiver<Publish>) {
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
            if newest.get(&p.uri) == Some(&i) && !frames.send(p.message).await {
                return;
            }
        }
    }
}

pub(crate) fn negotiate_encoding(params: &lsp::InitializeParams) -> Encoding {
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

pub(crate) fn encoding_kind(enc: Encoding) -> lsp::PositionEncodingKind {
    match enc {
        Encoding::Utf8 => lsp::PositionEncodingKind::UTF8,
        Encoding::Utf16 => lsp::PositionEncodingKind::UTF16,
        Encoding::Utf32 => lsp::PositionEncodingKind::UTF32,
    }
}
