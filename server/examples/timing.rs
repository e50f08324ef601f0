//! Quick timing of the core on generated plans (the criterion benches are the
//! reference; this is for a glance): `cargo run --release --example timing`.
use std::time::Instant;

use okstra_lsp::config::Config;
use okstra_lsp::document::Document;
use okstra_lsp::generate::{self, Spec};

fn main() {
    let config = Config::default();
    for n in [10usize, 200, 1000] {
        let text = generate::plan(&Spec::clean(n));
        let t = Instant::now();
        let mut doc = Document::new(text.clone(), &config);
        let open = t.elapsed();
        let needle = format!("| 1 | change part 1 of module {} |", n / 2 + 1);
        let at = text.find(&needle).map_or(text.len() / 2, |i| i + 8);
        let (mut edits, mut analyses) = (Vec::new(), Vec::new());
        for i in 0..200 {
            let t = Instant::now();
            if i % 2 == 0 {
                doc.edit(at..at, "x")
            } else {
                doc.edit(at..at + 1, "")
            }
            edits.push(t.elapsed());
            let t = Instant::now();
            doc.reanalyze(&config);
            analyses.push(t.elapsed());
        }
        edits.sort();
        analyses.sort();
        println!(
            "{n} stages, {} KB: open {:?}, edit+reparse p50 {:?}, analyse p50 {:?} p99 {:?} ({:?})",
            text.len() / 1024,
            open,
            edits[100],
            analyses[100],
            analyses[198],
            doc.stats()
        );
        let t = Instant::now();
        let findings = okstra_lsp::rules::check(doc.text(), doc.plan(), &config);
        println!(
            "   rules alone (facts recomputed): {:?}, {} findings",
            t.elapsed(),
            findings.len()
        );
    }
}
