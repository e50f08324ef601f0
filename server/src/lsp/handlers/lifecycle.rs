//! `initialize` (capabilities, settings, encoding, workspace folders), `initialized` and `shutdown`.

use super::*;

impl Backend {
    pub(crate) async fn on_initialize(
        &self,
        params: lsp::InitializeParams,
    ) -> Result<lsp::InitializeResult> {
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
            capabilities: capabilities(encoding, diagnostics),
            offset_encoding: None,
        })
    }

    pub(crate) async fn on_initialized(&self, _: lsp::InitializedParams) {
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

    pub(crate) async fn on_shutdown(&self) -> Result<()> {
        info!("shutdown");
        Ok(())
    }
}

/// What the server offers, given the negotiated encoding and diagnostic mode.
fn capabilities(encoding: Encoding, diagnostics: DiagnosticMode) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
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
        document_link_provider: Some(lsp::DocumentLinkOptions {
            resolve_provider: Some(false),
            work_done_progress_options: Default::default(),
        }),
        rename_provider: Some(lsp::OneOf::Right(lsp::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
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
                    super::actions::RENUMBER_KIND,
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
    }
}
