//! Code actions (plan-format §4): quick fixes for the findings in the
//! requested range and refactors on a stage heading; the edits come from
//! `fixes`, this file only converts them.

use std::collections::HashMap;

use tower_lsp_server::ls_types::{self as lsp, Uri};

use super::{OpenDoc, Settings, convert};
use crate::check::fixes::{self, Fix, FixContext, FixKind};

pub(super) fn code_actions(
    uri: &Uri,
    open: &OpenDoc,
    s: &Settings,
    params: &lsp::CodeActionParams,
) -> Vec<lsp::CodeActionOrCommand> {
    let doc = &open.doc;
    let rope = doc.rope();
    let start = convert::offset(rope, params.range.start, s.encoding);
    let end = convert::offset(rope, params.range.end, s.encoding);
    let ctx = FixContext::with_graph(doc.text(), doc.plan(), &s.config, &doc.facts().graph);
    let wants = |kind: &lsp::CodeActionKind| {
        params
            .context
            .only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| kind.as_str().starts_with(o.as_str())))
    };
    let mut out = Vec::new();

    if wants(&lsp::CodeActionKind::QUICKFIX) {
        for finding in doc
            .findings()
            .iter()
            .filter(|f| f.range.start <= end && start <= f.range.end)
        {
            let fixes = fixes::fixes_for(&ctx, finding);
            if fixes.is_empty() {
                continue;
            }
            // Attach the client's own diagnostic when it sent it back.
            let ours = convert::diagnostics(rope, uri, std::slice::from_ref(finding), s.encoding);
            let diagnostic = params
                .context
                .diagnostics
                .iter()
                .find(|d| d.range == ours[0].range && d.code == ours[0].code)
                .cloned()
                .unwrap_or_else(|| ours[0].clone());
            for fix in fixes {
                out.push(action(uri, open, s, fix, Some(diagnostic.clone())));
            }
        }
    }
    if wants(&lsp::CodeActionKind::REFACTOR) {
        for fix in fixes::refactors_at(&ctx, start) {
            out.push(action(uri, open, s, fix, None));
        }
    }
    if wants(&RENUMBER_KIND) && doc.plan().is_plan() {
        // Offered when the stages are not 1..n in section order; its edits
        // are worked out by the command, not for every request.
        let mapping = fixes::renumber::renumber_mapping(doc.plan());
        if !mapping.as_ref().is_ok_and(|m| m.is_empty()) {
            out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title: "Renumber stages in order".into(),
                kind: Some(RENUMBER_KIND),
                command: Some(lsp::Command {
                    title: "Renumber stages in order".into(),
                    command: super::commands::RENUMBER.into(),
                    arguments: Some(vec![serde_json::json!({ "uri": uri.as_str() })]),
                }),
                disabled: mapping
                    .err()
                    .map(|e| lsp::CodeActionDisabled { reason: e.0 }),
                ..Default::default()
            }));
        }
    }
    out
}

/// The source action that renumbers the stages 1..n.
pub(super) const RENUMBER_KIND: lsp::CodeActionKind =
    lsp::CodeActionKind::new("source.okstra.renumberStages");

/// `edits` on the document `uri` as a WorkspaceEdit.
pub(super) fn workspace_edit(
    uri: &Uri,
    open: &OpenDoc,
    s: &Settings,
    edits: &[fixes::TextEdit],
) -> lsp::WorkspaceEdit {
    let rope = open.doc.rope();
    let edits = edits
        .iter()
        .map(|e| lsp::TextEdit {
            range: convert::range(rope, &e.range, s.encoding),
            new_text: e.new_text.clone(),
        })
        .collect();
    lsp::WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..Default::default()
    }
}

fn action(
    uri: &Uri,
    open: &OpenDoc,
    s: &Settings,
    fix: Fix,
    diagnostic: Option<lsp::Diagnostic>,
) -> lsp::CodeActionOrCommand {
    let rope = open.doc.rope();
    let edits: Vec<lsp::TextEdit> = fix
        .edits
        .iter()
        .map(|e| lsp::TextEdit {
            range: convert::range(rope, &e.range, s.encoding),
            new_text: e.new_text.clone(),
        })
        .collect();
    let edit = (fix.disabled.is_none()).then(|| lsp::WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..Default::default()
    });
    lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
        title: fix.title,
        kind: Some(match fix.kind {
            FixKind::QuickFix => lsp::CodeActionKind::QUICKFIX,
            FixKind::Refactor => lsp::CodeActionKind::REFACTOR,
        }),
        diagnostics: diagnostic.map(|d| vec![d]),
        edit,
        command: None,
        is_preferred: fix.preferred.then_some(true),
        disabled: fix
            .disabled
            .map(|reason| lsp::CodeActionDisabled { reason }),
        data: None,
    })
}
