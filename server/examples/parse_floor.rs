//! The floor for `okstra-lsp check` on a folder: read every `*.md` file and
//! parse it with tree-sitter-md's block grammar, nothing else, on the same
//! threads `check` uses (one chunk of files per available core).
//!
//! `cargo run --release --example parse_floor -- DIR` prints the wall time.
use std::path::PathBuf;
use std::time::Instant;

use okstra_lsp::{cli, syntax};

fn main() {
    let dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let t = Instant::now();
    let files = cli::collect_markdown(&dirs).expect("readable folders");
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let nodes: usize = cli::on_all_cores(&files, |path| {
        let src = cli::read_text(path).expect("readable file");
        let tree = syntax::parse_blocks(&src, None);
        tree.root_node().child_count() as usize
    })
    .expect("no panic")
    .iter()
    .sum();
    println!(
        "parsed {} files on {threads} thread(s) in {:.1} ms ({nodes} top-level nodes)",
        files.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
}
