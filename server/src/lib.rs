//! okstra-lsp: a checker and language server for okstra implementation plans.
//!
//! Layers, each knowing only the ones below it (ARCHITECTURE.md; the tidy
//! test `layers` enforces the order):
//! `syntax` → `plan` → `check` → `io` → `run` → `engine` | `graph` → `ide`
//! → `cli` | `lsp` (the two outputs never import each other, nor do
//! `engine` and `graph`).

pub mod check;
pub mod cli;
pub mod engine;
pub mod graph;
pub mod ide;
pub mod io;
pub mod lsp;
pub mod plan;
pub mod run;
pub mod syntax;

use check::rules::{self, Finding};
use plan::config::Config;
use plan::model;
use syntax::outline;

/// Parses, models and checks one document: what `okstra-lsp check` reports
/// for it, and what the server must end up publishing for the same text.
pub fn analyze(src: &str, config: &Config) -> Vec<Finding> {
    if src.len() > config.max_document_bytes {
        return rules::too_large(src, config);
    }
    if !model::may_be_plan(src, config) {
        // Ordinary markdown: nothing to report, nothing to parse.
        return Vec::new();
    }
    // The outline as an open document has it, in large chunks (one for a
    // typical plan; `model::parse` is the one-tree reference the tests
    // compare with).
    let outline = outline::Outline::parse_once(src);
    let plan = model::build_from_outline(src, outline.blocks(), config);
    rules::check(src, &plan, config)
}
