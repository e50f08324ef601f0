//! Helpers shared by the property tests.

#![allow(dead_code, unused_imports)]

use proptest::test_runner::{Config as PropConfig, RngAlgorithm, TestRng, TestRunner};

/// A runner with a fixed seed and `cases` cases, so a failure reproduces.
pub fn runner(cases: u32) -> TestRunner {
    let config = PropConfig {
        cases,
        failure_persistence: None,
        ..PropConfig::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

/// `i` clamped to `s` and moved back to a character boundary.
pub fn boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Pieces an edit inserts (the fuzz target's, so both explore the same edits).
pub use okstra_lsp::engine::generate::PIECES;
