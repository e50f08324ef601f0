//! okstra-lsp: a checker and language server for okstra implementation plans.
//!
//! Layers, each knowing only the one below (see ARCHITECTURE.md):
//! `syntax` → `model` → `analysis`, `rules` → outputs (`cli`, `lsp`).

pub mod analysis;
pub mod batch;
pub mod cli;
pub mod config;
pub mod consumers;
pub mod document;
pub mod files;
pub mod fixes;
pub mod generate;
pub mod ide;
pub mod lsp;
pub mod model;
pub mod outline;
pub mod paths;
pub mod position;
pub mod report;
pub mod rules;
pub mod shift;
pub mod syntax;

use config::Config;
use rules::Finding;

/// Parses, models and checks one document: what `okstra-lsp check` reports
/// for it, and what the server must end up publishing for the same text.
pub fn analyze(src: &str, config: &Config) -> Vec<Finding> {
    if src.len() > config.max_document_bytes {
        return rules::too_large(src, config);
    }
    // The outline as an open document has it, in large chunks (one for a
    // typical plan; `model::parse` is the one-tree reference the tests
    // compare with).
    let outline = outline::Outline::parse_once(src);
    let plan = model::build_from_outline(src, outline.blocks(), config);
    rules::check(src, &plan, config)
}
