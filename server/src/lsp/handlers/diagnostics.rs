//! Pulled diagnostics: `textDocument/diagnostic` and `workspace/diagnostic`.

use super::*;

impl Backend {
    pub(crate) async fn on_diagnostic(
        &self,
        params: lsp::DocumentDiagnosticParams,
    ) -> Result<lsp::DocumentDiagnosticReportResult> {
        let uri = params.text_document.uri;
        let enc = self.settings().encoding;
        // An open document was analysed when it changed: answer from that.
        let open = self
            .docs
            .get_mut(&uri)
            .map(|mut open| (open.diagnostics(&uri, enc), open.version));
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

    pub(crate) async fn on_workspace_diagnostic(
        &self,
        params: lsp::WorkspaceDiagnosticParams,
    ) -> Result<lsp::WorkspaceDiagnosticReportResult> {
        // The walk and the reads are file I/O: off the runtime's threads.
        let me = self.clone_handles();
        guard::blocking(move || me.workspace_report(params.previous_result_ids)).await
    }
}
