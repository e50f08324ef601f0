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
mod handlers;
mod published;
mod session;
mod transport;
mod workspace;

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

pub(crate) use session::*;
pub(crate) use workspace::*;

/// Serves LSP over stdin/stdout until `exit` or EOF. Input and output go
/// through `transport`: a malformed message cannot end the session, and it is
/// answered as JSON-RPC says.
pub(crate) async fn run_stdio() {
    let stdio = transport::stdio();
    let frames = stdio.frames.clone();
    let (service, socket) = LspService::new(move |client| Backend::new(client, frames));
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

    async fn prepare_rename(
        &self,
        params: lsp::TextDocumentPositionParams,
    ) -> Result<Option<lsp::PrepareRenameResponse>> {
        guard::request("textDocument/prepareRename", self.on_prepare_rename(params)).await
    }

    async fn rename(&self, params: lsp::RenameParams) -> Result<Option<lsp::WorkspaceEdit>> {
        guard::request("textDocument/rename", self.on_rename(params)).await
    }

    async fn document_link(
        &self,
        params: lsp::DocumentLinkParams,
    ) -> Result<Option<Vec<lsp::DocumentLink>>> {
        guard::request("textDocument/documentLink", self.on_document_link(params)).await
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
