//! Every input under `fuzz/seeds/` (the fuzzer's findings, kept as
//! regression seeds, and its starting corpus) replayed in the normal suite:
//! the incremental path must end where a fresh parse does.

use std::path::{Path, PathBuf};

fn seeds(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            seeds(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_fuzz_seed_replays_like_a_fresh_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut files = Vec::new();
    seeds(&root, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no seeds under {}", root.display());
    let mut problems = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("a readable seed");
        if let Err(problem) = okstra_lsp::engine::generate::replay_edits(&data) {
            problems.push(format!("{}: {problem}", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
