//! Writes generated plans (for the benchmark scripts in `bench/`):
//!
//! - `cargo run --release --example gen -- 1000` prints a clean plan of 1,000
//!   stages to stdout (`generate::Spec::clean`);
//! - `cargo run --release --example gen -- --corpus DIR 1000` writes 1,000
//!   typical plans (14–20 stages, about 300 lines, a few planted problems)
//!   into DIR as `plan-0000.md`, ….
use std::io::Write;
use std::path::PathBuf;

use okstra_lsp::engine::generate::{self, Spec};

/// The `i`-th plan of the typical corpus: about 300 lines; one in ten has
/// an S9 overlap, one in seven a stage over the cap, one in thirteen an
/// orphan reference, one in twenty-five a cycle.
pub fn typical(i: usize) -> Spec {
    Spec {
        stages: 14 + i % 7,
        seed: i as u64 + 1,
        overlap_every: if i.is_multiple_of(10) { 5 } else { 0 },
        cycle: i.is_multiple_of(25),
        over_cap_every: if i.is_multiple_of(7) { 6 } else { 0 },
        orphan_ref: i.is_multiple_of(13),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, dir, count] if flag == "--corpus" => {
            let dir = PathBuf::from(dir);
            let count: usize = count.parse().expect("COUNT is a number");
            std::fs::create_dir_all(&dir).expect("create the corpus folder");
            let (mut bytes, mut lines) = (0usize, 0usize);
            for i in 0..count {
                let text = generate::plan(&typical(i));
                bytes += text.len();
                lines += text.lines().count();
                std::fs::write(dir.join(format!("plan-{i:04}.md")), text).expect("write a plan");
            }
            eprintln!(
                "{count} plans in {}: {} KB, {} lines on average",
                dir.display(),
                bytes / 1024,
                lines / count.max(1)
            );
        }
        [n] => {
            let n: usize = n.parse().expect("STAGES is a number");
            let text = generate::plan(&Spec::clean(n));
            std::io::stdout()
                .write_all(text.as_bytes())
                .expect("write to stdout");
        }
        _ => {
            eprintln!("usage: gen STAGES | gen --corpus DIR COUNT");
            std::process::exit(2);
        }
    }
}
