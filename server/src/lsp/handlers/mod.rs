//! The handlers behind `impl LanguageServer for Backend` (`lsp/mod.rs`),
//! grouped by what they serve; each runs under `guard`.

use super::*;

mod diagnostics;
mod documents;
mod features;
mod lifecycle;
