//! The parse floor: what tree-sitter-md's block grammar alone costs, nothing
//! else, on the cores this process may use.
//!
//! `cargo run --release --example parse_floor -- DIR` (the floor of
//! `okstra-lsp check` on a folder): read every `*.md` file and parse it, one
//! chunk of files per core. Prints the wall time.
//!
//! `cargo run --release --example parse_floor -- FILE [RUNS]` (the floor of
//! opening one document, for `didOpen`): the text parsed as one tree on one
//! thread, and cut at heading lines into one piece per core, the pieces
//! parsed at once; the median of RUNS (default 9) of each, in ms.
use std::path::PathBuf;
use std::time::Instant;

use okstra_lsp::{cli, syntax};

fn main() {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if let [file, rest @ ..] = args.as_slice()
        && file.is_file()
    {
        let runs = rest
            .first()
            .and_then(|r| r.to_str()?.parse().ok())
            .unwrap_or(9);
        return one_document(file, runs);
    }
    let t = Instant::now();
    let files = cli::collect_markdown(&args).expect("readable folders");
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

fn one_document(file: &std::path::Path, runs: usize) {
    let src = std::fs::read_to_string(file).expect("a readable UTF-8 file");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // One piece per core, each starting at a heading line.
    let mut cuts = vec![0];
    for k in 1..cores {
        let target = src.len() * k / cores;
        if let Some(i) = src[target..].find("\n#") {
            cuts.push(target + i + 1);
        }
    }
    cuts.push(src.len());
    let pieces: Vec<&str> = cuts.windows(2).map(|w| &src[w[0]..w[1]]).collect();
    let median = |f: &dyn Fn()| {
        let mut times: Vec<f64> = (0..runs.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let one = median(&|| {
        std::hint::black_box(syntax::parse_blocks(&src, None));
    });
    let split = median(&|| {
        std::thread::scope(|s| {
            for piece in &pieces {
                s.spawn(move || std::hint::black_box(syntax::parse_blocks(piece, None)));
            }
        });
    });
    println!(
        "{}: {} bytes; one tree on one thread {one:.1} ms; {} pieces on {cores} core(s) {split:.1} ms",
        file.display(),
        src.len(),
        pieces.len()
    );
}
