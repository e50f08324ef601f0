//! Document and settings notifications: each mutates a document before any
//! `.await` and queues its diagnostics (the invariants in `lsp/mod.rs`).

use super::*;

impl Backend {
    pub(crate) async fn on_did_open(&self, params: lsp::DidOpenTextDocumentParams) {
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
        let mut open = OpenDoc::new(doc, version);
        self.queue(&uri, &mut open, s.encoding);
        self.docs.insert(uri.clone(), open);
        // Settings pulled while the document was being built were applied
        // by `reanalyze_all` to the documents already open, not to this one:
        // check it again with them. (Read after the insert, so a change
        // that comes later finds the document in the map.)
        let now = self.settings();
        if now.config != s.config
            && let Some(mut open) = self.docs.get_mut(&uri)
            && guard::catch(|| open.doc.reanalyze(&now.config)).is_ok()
        {
            self.queue(&uri, &mut open, now.encoding);
        }
    }

    pub(crate) async fn on_did_change(&self, params: lsp::DidChangeTextDocumentParams) {
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
                    let mut open = OpenDoc::new(doc, version);
                    self.queue(&uri, &mut open, s.encoding);
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
        let started = std::time::Instant::now();
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
            let t = std::time::Instant::now();
            open.doc.reanalyze(&s.config);
            t.elapsed()
        });
        open.version = version;
        let analysed = match applied {
            Ok(took) => took,
            Err(what) => {
                error!(
                    uri = uri.as_str(),
                    "internal error while applying a change: {what}"
                );
                return;
            }
        };
        let queued = std::time::Instant::now();
        self.queue(&uri, open, s.encoding);
        debug!(
            uri = uri.as_str(),
            version,
            micros = started.elapsed().as_micros() as u64,
            analyse = analysed.as_micros() as u64,
            queue = queued.elapsed().as_micros() as u64,
            stats = ?open.doc.stats(),
            "analysed and queued"
        );
    }

    pub(crate) async fn on_did_close(&self, params: lsp::DidCloseTextDocumentParams) {
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
        let message = published::publish_nothing(&uri);
        let _ = self.publisher.send(Publish { uri, message });
    }

    pub(crate) async fn on_did_change_configuration(
        &self,
        params: lsp::DidChangeConfigurationParams,
    ) {
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

    pub(crate) async fn on_did_change_watched_files(&self, _: lsp::DidChangeWatchedFilesParams) {
        let client = self.client.clone();
        tokio::spawn(async move {
            let _ = client.code_lens_refresh().await;
            let _ = client.inlay_hint_refresh().await;
        });
    }
}
