//! okstra-lsp: a checker and language server for okstra implementation plans.
//!
//! Layers, each knowing only the one below (see ARCHITECTURE.md):
//! `syntax` → `model` → `analysis`, `rules` → outputs (`cli`, `lsp`).

pub mod analysis;
pub mod config;
pub mod model;
pub mod rules;
pub mod syntax;
