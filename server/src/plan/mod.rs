//! The plan model: typed stages, Stage Map, 4.5.9 and §5 with their byte
//! ranges, built from the syntax layer's outline; the settings that shape
//! it; moving its ranges across edits. No LSP types, no I/O.

pub mod config;
pub mod model;
pub mod paths;
pub(crate) mod shift;
