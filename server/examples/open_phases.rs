//! Where opening a plan goes, phase by phase (medians of a few runs), and
//! the memory it keeps: `cargo run --release --example open_phases -- 1000`.
//!
//! The reference is one tree-sitter tree of the whole text (tree-sitter
//! alone, and what `model::parse` does); an open document parses chunk by
//! chunk instead (`outline::Outline`), on every core for a large text.
use std::time::{Duration, Instant};

use okstra_lsp::check::facts::Facts;
use okstra_lsp::engine::document::Document;
use okstra_lsp::engine::generate::{self, Spec};
use okstra_lsp::plan::config::Config;
use okstra_lsp::syntax::outline::Outline;
use okstra_lsp::{check::rules, plan::model, syntax};

fn median(mut f: impl FnMut() -> Duration, runs: usize) -> Duration {
    let mut v: Vec<Duration> = (0..runs).map(|_| f()).collect();
    v.sort();
    v[v.len() / 2]
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed(), out)
}

fn rss_kb() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let get = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((get("VmRSS:")?, get("VmHWM:")?))
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let runs = 7;
    let config = Config::default();
    let text = generate::plan(&Spec::clean(n));
    println!("{n} stages, {} KB", text.len() / 1024);
    let before = rss_kb();
    let doc = Document::new(text.clone(), &config);
    if let (Some((rss0, _)), Some((rss1, hwm))) = (before, rss_kb()) {
        println!(
            "memory: an open document adds {} KB (peak RSS of this process {} KB)",
            rss1.saturating_sub(rss0),
            hwm
        );
    }
    drop(doc);

    let row = |name: &str, d: Duration| println!("  {name:<44} {:>9.2} ms", d.as_secs_f64() * 1e3);
    row(
        "one tree-sitter tree (reference, floor)",
        median(|| time(|| syntax::parse_blocks(&text, None)).0, runs),
    );
    row(
        "  + outline by query (model::parse's way)",
        median(
            || {
                let tree = syntax::parse_blocks(&text, None);
                time(|| syntax::outline(&tree, &text)).0
            },
            runs,
        ),
    );
    row(
        "outline by chunks, 1 thread",
        median(|| time(|| Outline::parse_with_threads(&text, 1)).0, runs),
    );
    row(
        "outline by chunks, all cores (what open does)",
        median(|| time(|| Outline::parse(&text)).0, runs),
    );
    let outline = Outline::parse(&text);
    row(
        "model from the outline",
        median(
            || time(|| model::build_from_outline(&text, outline.blocks(), &config)).0,
            runs,
        ),
    );
    let plan = model::build_from_outline(&text, outline.blocks(), &config);
    row(
        "facts (graph, cycles, overlaps)",
        median(|| time(|| Facts::new(&plan)).0, runs),
    );
    let facts = Facts::new(&plan);
    row(
        "all rules",
        median(
            || time(|| rules::check_with(&text, &plan, &config, &facts)).0,
            runs,
        ),
    );
    row(
        "rope",
        median(|| time(|| ropey::Rope::from_str(&text)).0, runs),
    );
    row(
        "Document::new (all of the above that open does)",
        median(|| time(|| Document::new(text.clone(), &config)).0, runs),
    );
}
