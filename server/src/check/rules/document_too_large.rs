//! ## What it checks
//!
//! The document is larger than `maxDocumentBytes` (16 MiB by default). It is not parsed
//! or checked. Instead a cheap scan looks for the text `Stage Map` in it: when it is
//! there, the document may be a plan, and this one diagnostic, at the start of the
//! document, says it was not analysed. When it is not there, nothing is reported
//! ([plan-format §1](../plan-format.md#1-which-documents-are-plans)): a large markdown
//! file that is not a plan stays silent, like any other.
//!
//! In the editor, analysis resumes as soon as an edit brings the document under the
//! limit. A file read from disk (`okstra-lsp check`, pulled diagnostics of a file
//! that is not open) is not even read whole: only its first `maxDocumentBytes` bytes
//! are read and scanned, and the message gives the file's size.
//!
//! ## Why it matters in okstra
//!
//! A plan is a few kilobytes; a document this large is almost certainly not one (a log,
//! a generated file), and analysing it on every keystroke would stall the editor. Not a
//! plan-format rule: it says why the other rules are silent.
//!
//! ## How to fix
//!
//! Nothing to fix in a file that is not a plan (a log that mentions a Stage Map);
//! `severityOverrides` can turn the code off everywhere (a suppression comment does not
//! help: the document is not read). For a real plan, make it smaller, or raise
//! `maxDocumentBytes` in the settings (for `okstra-lsp check`, in a `--config` file).
//!
//! **Code actions:** None.
//!
//! ## Configuration
//!
//! The limit is the `maxDocumentBytes` setting (section `okstra`, in bytes):
//!
//! ```json
//! { "okstra": { "maxDocumentBytes": 33554432 } }
//! ```
//!
//! `severityOverrides` applies as to any code (`"document-too-large": "off"` silences it).
//! `okstra-lsp check` takes the limit from `--config FILE` (`maxDocumentBytes`), else 16 MiB.

use super::{Finding, Reads, Rule, Severity, apply_overrides};
use crate::plan::config::Config;

pub(crate) const RULE: Rule = Rule {
    code: "document-too-large",
    severity: Severity::Warning,
    summary: "the document is over `maxDocumentBytes`, mentions `Stage Map`, and is not analysed",
    source: "checker",
    reads: Reads::Plan,
    // Not run with the rules: the document is not parsed (`too_large`).
    check: |_, _| {},
    fix: None,
};

/// What a document too large to analyse gets (plan-format §1): one finding
/// when a cheap scan of its text finds a plan label (`Stage Map`), else
/// nothing; none either when `severityOverrides` turns the code off.
pub(crate) fn too_large(src: &str, config: &Config) -> Vec<Finding> {
    too_large_finding(src.len(), looks_like_plan(src), config)
}

/// `too_large` for a text of `len` bytes of which the caller knows whether
/// it names a Stage Map (an open document keeps that edit by edit).
pub(crate) fn too_large_finding(
    len: usize,
    looks_like_plan: bool,
    config: &Config,
) -> Vec<Finding> {
    if !looks_like_plan {
        return Vec::new();
    }
    let limit = config.max_document_bytes;
    let mut out = vec![Finding {
        code: RULE.code,
        severity: RULE.severity,
        range: 0..0,
        message: format!(
            "this document is {len} bytes, over the {limit}-byte limit (maxDocumentBytes): okstra-lsp does not analyse it"
        )
        .into(),
        related: Vec::new(),
        fix: None,
    }];
    apply_overrides(&mut out, config);
    out
}

/// The spellings of the plan label a text too large to parse is scanned
/// for; all `PLAN_LABEL_LEN` bytes long.
const PLAN_LABELS: [&str; 4] = ["Stage Map", "stage map", "Stage map", "STAGE MAP"];

/// The length of every plan label spelling.
pub(crate) const PLAN_LABEL_LEN: usize = 9;

/// Whether a text too large to parse names a Stage Map (a few substring
/// scans, no parse).
pub(crate) fn looks_like_plan(src: &str) -> bool {
    plan_label(src).is_some()
}

/// Where a text names a Stage Map, if it does (the first spelling found).
pub(crate) fn plan_label(src: &str) -> Option<usize> {
    PLAN_LABELS.iter().find_map(|label| src.find(label))
}
