//! Criterion benchmarks of the core on generated plans of 10, 200 and 1,000
//! stages (`generate::Spec::clean`, 6 KB to 631 KB):
//!
//!     cargo bench -p okstra-lsp --bench core
//!     cargo bench -p okstra-lsp --bench core -- keystroke   # one group
//!
//! Groups: `parse` (the whole text: one tree-sitter tree, the reference and
//! floor; the chunked outline an open document keeps, on one thread and on
//! every core), `reparse` (one character typed and deleted: the outline's
//! chunks, and one whole-document tree for comparison), `model` (the plan
//! rebuilt from the outline), `rules` (every rule, facts kept as an open
//! document keeps them), `keystroke` (edit + analysis, what the server does
//! per didChange), `batch` (stages + selection, the preview command) and
//! `fixes` (the code actions at an S9 and at a step-count diagnostic).
//! docs/PERFORMANCE.md has the figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use okstra_lsp::check::facts::Facts;
use okstra_lsp::check::fixes::{self, FixContext};
use okstra_lsp::engine::document::Document;
use okstra_lsp::engine::generate::{self, Spec};
use okstra_lsp::plan::config::Config;
use okstra_lsp::run::batch::{self, Options, Requested, Status};
use okstra_lsp::syntax::outline::Outline;
use okstra_lsp::{check::rules, plan::model, syntax};
use tree_sitter::{InputEdit, Point};

const SIZES: [usize; 3] = [10, 200, 1000];

fn plan(stages: usize) -> String {
    generate::plan(&Spec::clean(stages))
}

/// Where a keystroke goes: inside the first step row of the middle stage.
fn typing_spot(text: &str, stages: usize) -> usize {
    let k = stages / 2 + 1;
    text.find(&format!("| 1 | change part 1 of module {k} |"))
        .expect("generated text")
        + "| 1 | change".len()
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

fn parse(c: &mut Criterion) {
    let mut g = group(c, "parse");
    g.sample_size(10);
    for n in SIZES {
        let text = plan(n);
        g.bench_with_input(
            BenchmarkId::new("one tree-sitter tree", n),
            &text,
            |b, t| b.iter(|| syntax::parse_blocks(black_box(t), None)),
        );
        g.bench_with_input(BenchmarkId::new("outline, 1 thread", n), &text, |b, t| {
            b.iter(|| Outline::parse_with_threads(black_box(t), 1))
        });
        g.bench_with_input(BenchmarkId::new("outline, all cores", n), &text, |b, t| {
            b.iter(|| Outline::parse(black_box(t)))
        });
    }
    g.finish();
}

fn reparse(c: &mut Criterion) {
    let mut g = group(c, "reparse");
    let config = Config::default();
    for n in SIZES {
        let text = plan(n);
        let at = typing_spot(&text, n);
        let mut doc = Document::new(text.clone(), &config);
        g.bench_function(BenchmarkId::new("outline chunks, type + delete", n), |b| {
            b.iter(|| {
                doc.edit(at..at, "x");
                doc.edit(at..at + 1, "");
            })
        });
        // The same two edits on one tree of the whole document.
        let mut shadow = text.clone();
        let mut tree = syntax::parse_blocks(&shadow, None);
        let origin = Point { row: 0, column: 0 };
        g.bench_function(BenchmarkId::new("one tree, type + delete", n), |b| {
            b.iter(|| {
                for (old_end, new_end) in [(at, at + 1), (at + 1, at)] {
                    if new_end > old_end {
                        shadow.insert(at, 'x');
                    } else {
                        shadow.remove(at);
                    }
                    tree.edit(&InputEdit {
                        start_byte: at,
                        old_end_byte: old_end,
                        new_end_byte: new_end,
                        start_position: origin,
                        old_end_position: origin,
                        new_end_position: origin,
                    });
                    tree = syntax::parse_blocks(&shadow, Some(&tree));
                }
            })
        });
    }
    g.finish();
}

fn model_rebuild(c: &mut Criterion) {
    let mut g = group(c, "model");
    let config = Config::default();
    for n in SIZES {
        let text = plan(n);
        let outline = Outline::parse(&text);
        g.bench_function(BenchmarkId::new("rebuild from outline", n), |b| {
            b.iter(|| model::build_from_outline(&text, outline.blocks(), &config))
        });
        let built = model::build_from_outline(&text, outline.blocks(), &config);
        g.bench_function(
            BenchmarkId::new("facts (graph, cycles, overlaps)", n),
            |b| b.iter(|| Facts::new(black_box(&built))),
        );
    }
    g.finish();
}

fn all_rules(c: &mut Criterion) {
    let mut g = group(c, "rules");
    let config = Config::default();
    for n in SIZES {
        for (label, spec) in [
            ("all rules, clean plan", Spec::clean(n)),
            (
                "all rules, with findings",
                Spec {
                    overlap_every: 7,
                    cycle: true,
                    over_cap_every: 9,
                    orphan_ref: true,
                    ..Spec::clean(n)
                },
            ),
        ] {
            let text = generate::plan(&spec);
            let built = model::parse(&text, &config);
            let facts = Facts::new(&built);
            g.bench_function(BenchmarkId::new(label, n), |b| {
                b.iter(|| rules::check_with(&text, &built, &config, &facts))
            });
        }
    }
    g.finish();
}

fn keystroke(c: &mut Criterion) {
    let mut g = group(c, "keystroke");
    let config = Config::default();
    for n in SIZES {
        let text = plan(n);
        let at = typing_spot(&text, n);
        let mut doc = Document::new(text.clone(), &config);
        g.bench_function(BenchmarkId::new("type + delete, each analysed", n), |b| {
            b.iter(|| {
                doc.edit(at..at, "x");
                doc.reanalyze(&config);
                doc.edit(at..at + 1, "");
                doc.reanalyze(&config);
            })
        });
        assert!(!doc.stats().full_rebuild, "{:?}", doc.stats());
    }
    g.finish();
}

fn batch_selection(c: &mut Criterion) {
    let mut g = group(c, "batch");
    let config = Config::default();
    let status = Status::default();
    let options = Options {
        requested: Requested::Auto,
        budget: config.run_budget,
        include_started: false,
    };
    for n in SIZES {
        let text = plan(n);
        let built = model::parse(&text, &config);
        g.bench_function(BenchmarkId::new("stages + select (preview)", n), |b| {
            b.iter(|| {
                let stages = batch::stages(&built);
                batch::select(&stages, &status, &options)
            })
        });
    }
    g.finish();
}

fn code_actions(c: &mut Criterion) {
    let mut g = group(c, "fixes");
    let config = Config::default();
    for n in SIZES {
        let text = generate::plan(&Spec {
            overlap_every: 5,
            ..Spec::clean(n)
        });
        // A step count off by one in the middle stage's map row.
        let k = n / 2 + 1;
        let row = text
            .find(&format!("\n| {k} | Stage title {k} |"))
            .expect("map row");
        let cell = text[..text[row + 1..]
            .find('\n')
            .map_or(text.len(), |i| row + 1 + i)]
            .rfind("| ")
            .expect("steps cell")
            + 2;
        let mut text = text;
        text.replace_range(cell..cell + 1, "9");
        let built = model::parse(&text, &config);
        let findings = rules::check(&text, &built, &config);
        for code in ["s9-file-overlap", "step-count-mismatch"] {
            let finding = findings
                .iter()
                .find(|f| f.code == code)
                .unwrap_or_else(|| panic!("{code} planted"))
                .clone();
            g.bench_function(BenchmarkId::new(format!("fixes at {code}"), n), |b| {
                b.iter(|| {
                    let ctx = FixContext::new(&text, &built, &config);
                    fixes::fixes_for(&ctx, black_box(&finding))
                })
            });
        }
    }
    g.finish();
}

criterion_group!(
    benches,
    parse,
    reparse,
    model_rebuild,
    all_rules,
    keystroke,
    batch_selection,
    code_actions
);
criterion_main!(benches);
