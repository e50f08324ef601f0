//! Requests on an open plan: symbols, definition, references, hover,
//! folding, completion, code actions, lenses, inlay hints, commands.

use super::*;

use commands::refused as request_failed;

impl Backend {
    pub(crate) async fn on_document_symbol(
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

    pub(crate) async fn on_goto_definition(
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

    pub(crate) async fn on_references(
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

    pub(crate) async fn on_hover(&self, params: lsp::HoverParams) -> Result<Option<lsp::Hover>> {
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

    pub(crate) async fn on_folding_range(
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

    pub(crate) async fn on_completion(
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

    pub(crate) async fn on_prepare_rename(
        &self,
        params: lsp::TextDocumentPositionParams,
    ) -> Result<Option<lsp::PrepareRenameResponse>> {
        let uri = params.text_document.uri;
        let r = self.with_doc(&uri, |open, s| {
            let doc = &open.doc;
            let offset = convert::offset(doc.rope(), params.position, s.encoding);
            let (_, digits) = ide::rename_at(doc.text(), doc.plan(), offset)?;
            Some(lsp::PrepareRenameResponse::RangeWithPlaceholder {
                range: convert::range(doc.rope(), &digits, s.encoding),
                placeholder: doc.text().get(digits).unwrap_or_default().to_string(),
            })
        });
        match r.flatten() {
            Some(found) => Ok(Some(found)),
            None => Err(request_failed(
                "not a stage number or C-<N> ID: rename works on a stage heading, a Stage Map or depends-on cell, a `Stage N` in 4.5.9, §5 or an Exit Contract, or a C-<N>",
            )),
        }
    }

    pub(crate) async fn on_rename(
        &self,
        params: lsp::RenameParams,
    ) -> Result<Option<lsp::WorkspaceEdit>> {
        use crate::check::fixes::renumber;
        let uri = params.text_document_position.text_document.uri;
        let pos = params.text_document_position.position;
        let to = renumber::parse_new_number(&params.new_name).map_err(|e| request_failed(&e.0))?;
        let target = self.with_doc(&uri, |open, s| {
            let doc = &open.doc;
            let offset = convert::offset(doc.rope(), pos, s.encoding);
            ide::rename_at(doc.text(), doc.plan(), offset).map(|(t, _)| t)
        });
        let Some(target) = target.flatten() else {
            return Err(request_failed("not a stage number or C-<N> ID"));
        };
        if let ide::Target::Stage(from) = target
            && to != from
        {
            self.refuse_recorded(&uri, [from]).await?;
        }
        let r = self.with_doc(&uri, |open, s| {
            let doc = &open.doc;
            let edits = match target {
                ide::Target::Stage(from) => {
                    renumber::rename_stage(doc.text(), doc.plan(), from, to)
                }
                ide::Target::Clarification(from) => {
                    renumber::rename_clarification(doc.text(), doc.plan(), from, to)
                }
            }?;
            Ok(actions::workspace_edit(&uri, open, s, &edits))
        });
        match r {
            Some(Ok(edit)) => Ok(Some(edit)),
            Some(Err(renumber::Refused(why))) => Err(request_failed(&why)),
            None => Ok(None),
        }
    }

    /// Fails when consumers.jsonl has started or done rows for any of
    /// `stages` (or cannot be read: then nobody can say).
    pub(crate) async fn refuse_recorded(
        &self,
        uri: &Uri,
        stages: impl IntoIterator<Item = u32>,
    ) -> Result<()> {
        match commands::status_for(self, uri).await? {
            Some(Ok(consumers)) => {
                let hit = crate::run::batch::recorded(&consumers.status, stages);
                if hit.is_empty() {
                    Ok(())
                } else {
                    Err(request_failed(&crate::run::batch::recorded_refusal(
                        &hit,
                        "rename it in the plan and in consumers.jsonl together, by hand",
                    )))
                }
            }
            Some(Err(why)) => Err(request_failed(&format!(
                "consumers.jsonl cannot be read ({why}): renumbering could detach its rows"
            ))),
            None => Ok(()),
        }
    }

    pub(crate) async fn on_document_link(
        &self,
        params: lsp::DocumentLinkParams,
    ) -> Result<Option<Vec<lsp::DocumentLink>>> {
        let uri = params.text_document.uri;
        let Some(found) = self.with_doc(&uri, |open, s| {
            let doc = &open.doc;
            ide::predicted_files(doc.text(), doc.plan())
                .into_iter()
                .map(|(range, path)| (convert::range(doc.rope(), &range, s.encoding), path))
                .collect::<Vec<_>>()
        }) else {
            return Ok(None);
        };
        if found.is_empty() {
            return Ok(None);
        }
        let Ok(plan) = file_path(&uri) else {
            return Ok(None);
        };
        let me = self.clone_handles();
        // Only files that exist get a link: stat them off the runtime.
        let links = guard::blocking(move || {
            let Some(root) = project_root(&plan, &me.settings().roots) else {
                return Vec::new();
            };
            found
                .into_iter()
                .filter_map(|(range, path)| {
                    let relative = Path::new(&path);
                    // Inside the project: no absolute paths, no `..`.
                    if !relative
                        .components()
                        .all(|c| matches!(c, std::path::Component::Normal(_)))
                    {
                        return None;
                    }
                    let target = root.join(relative);
                    if !target.is_file() || me.check_allowed(&target).is_err() {
                        return None;
                    }
                    Some(lsp::DocumentLink {
                        range,
                        target: Uri::from_file_path(&target),
                        // Not every client takes one (tooltipSupport).
                        tooltip: None,
                        data: None,
                    })
                })
                .collect::<Vec<_>>()
        })
        .await?;
        Ok((!links.is_empty()).then_some(links))
    }

    pub(crate) async fn on_code_action(
        &self,
        params: lsp::CodeActionParams,
    ) -> Result<Option<lsp::CodeActionResponse>> {
        let uri = params.text_document.uri.clone();
        let r = self.with_doc(&uri, |open, s| {
            actions::code_actions(&uri, open, s, &params)
        });
        Ok(r.filter(|v| !v.is_empty()))
    }

    pub(crate) async fn on_code_lens(
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

    pub(crate) async fn on_inlay_hint(
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

    pub(crate) async fn on_execute_command(
        &self,
        params: lsp::ExecuteCommandParams,
    ) -> Result<Option<lsp::LSPAny>> {
        commands::execute(self, params).await
    }
}

/// Where a plan's predicted paths are relative to: the folder holding its
/// `runs/` (a plan at `<project>/runs/<key>/<dir>/plan.md`), else the
/// workspace folder that holds it.
fn project_root(plan: &Path, roots: &[PathBuf]) -> Option<PathBuf> {
    let from_runs = plan
        .ancestors()
        .skip(1)
        .find(|a| a.file_name().is_some_and(|n| n == "runs"))
        .and_then(Path::parent);
    from_runs
        .map(Path::to_path_buf)
        .or_else(|| roots.iter().find(|r| plan.starts_with(r)).cloned())
}
