//! The keystrokes of `bench/stdio_latency.py`, in process: where a keystroke's
//! time goes without the protocol, by place (edit = text, rope and outline;
//! analyse = model update and rules).
//!
//!     cargo run --release --example keystrokes -- 1000
//!
//! `COLD=1` writes 16 MB between keystrokes (caches as cold as a server's
//! that waits for the next message while other processes run); `KIND=...`
//! keeps one place (step-cell, validation, predicted-path, map-title).
use std::time::{Duration, Instant};

use okstra_lsp::engine::document::Document;
use okstra_lsp::engine::generate::{self, Spec};
use okstra_lsp::plan::config::Config;

fn places(text: &str, stages: usize, count: usize) -> Vec<(&'static str, usize)> {
    let kinds = ["step-cell", "validation", "predicted-path", "map-title"];
    (0..count)
        .map(|j| {
            let k = 1 + (j * 7919) % stages;
            let kind = kinds[j % kinds.len()];
            let (needle, skip) = match kind {
                "step-cell" => (
                    format!("| 1 | change part 1 of module {k} |"),
                    "| 1 | change".len(),
                ),
                "validation" => (format!("- post: `cargo test m{k}` passes"), "- post".len()),
                "predicted-path" => (
                    format!("- Predicted added/modified files: `src/m{k}/`"),
                    "- Predicted added/modified files: `src/m".len(),
                ),
                _ => (
                    format!("\n| {k} | Stage title {k} |"),
                    format!("\n| {k} | Stage").len(),
                ),
            };
            (kind, text.find(&needle).expect("generated text") + skip)
        })
        .collect()
}

fn p(v: &mut [Duration], q: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let config = Config::default();
    let text = generate::plan(&Spec::clean(n));
    let mut doc = Document::new(text.clone(), &config);
    let mut by_kind: Vec<(&str, Vec<Duration>, Vec<Duration>)> = Vec::new();
    // With COLD=1, 16 MB are written between keystrokes: caches as cold as
    // in a server that waits for the next message while others run.
    let cold = std::env::var_os("COLD").is_some();
    let mut junk = vec![0u8; 16 << 20];
    let only = std::env::var("KIND").ok();
    for (kind, at) in places(&text, n, 400) {
        if only.as_deref().is_some_and(|k| k != kind) {
            continue;
        }
        for (range, new) in [(at..at, "x"), (at..at + 1, "")] {
            if cold {
                for (i, b) in junk.iter_mut().enumerate().step_by(64) {
                    *b = b.wrapping_add(i as u8);
                }
                std::hint::black_box(&junk);
            }
            let t = Instant::now();
            doc.edit(range, new);
            let edit = t.elapsed();
            let t = Instant::now();
            doc.reanalyze(&config);
            let analyse = t.elapsed();
            match by_kind.iter_mut().find(|(k, _, _)| *k == kind) {
                Some((_, e, a)) => {
                    e.push(edit);
                    a.push(analyse);
                }
                None => by_kind.push((kind, vec![edit], vec![analyse])),
            }
        }
    }
    let (mut all_e, mut all_a): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    for (kind, e, a) in &mut by_kind {
        all_e.extend(e.iter());
        all_a.extend(a.iter());
        println!(
            "{n} stages, {kind}: edit p50 {:?}, analyse p50 {:?} p99 {:?}",
            p(e, 0.5),
            p(a, 0.5),
            p(a, 0.99)
        );
    }
    println!(
        "{n} stages, all: edit p50 {:?} p99 {:?}, analyse p50 {:?} p99 {:?}",
        p(&mut all_e, 0.5),
        p(&mut all_e, 0.99),
        p(&mut all_a, 0.5),
        p(&mut all_a, 0.99)
    );
}
