//! Differential fuzzing of the incremental path: a random sequence of edits
//! applied to a `Document` must end with the same tree, plan model and
//! findings as a fresh parse of the final text, and nothing may panic.
//!
//! Input bytes: byte 0 picks the base plan, then each edit takes 4 bytes
//! (kind, position hi/lo, piece or length).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = okstra_lsp::engine::generate::replay_edits(data) {
        panic!("{problem}");
    }
});
