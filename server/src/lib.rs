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
pub mod fixes;
pub mod generate;
pub mod ide;
pub mod lsp;
pub mod model;
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
        return rules::too_large(src.len(), config);
    }
    let plan = model::parse(src, config);
    rules::check(src, &plan, config)
}
