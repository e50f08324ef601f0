//! Criterion benchmarks of the stage graph (issue #17) on plans of 100 and
//! 1,000 stages shaped like `bench/gen_plan.py`'s: each stage depends on
//! one or two earlier stages anywhere before it (long links across many
//! waves), and every tenth stage shares a predicted file with an earlier
//! one (overlaps). The plan and its facts are made once, as an open
//! document keeps them; what is timed is what a refresh of the graph costs:
//!
//!     cargo bench -p okstra-lsp --bench graph
//!
//! Groups: `build` (graph, status, next batch, layout), `svg`, `mermaid`
//! and `dot` (build + render). docs/PERFORMANCE.md has the figures; the
//! goal is that 1,000 stages cost at most about 15× what 100 do.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use okstra_lsp::check::facts::Facts;
use okstra_lsp::graph::{GraphOptions, StageGraph};
use okstra_lsp::plan::config::Config;
use okstra_lsp::plan::model::{self, Plan};
use okstra_lsp::run::batch::Status;

const SIZES: [usize; 2] = [100, 1000];

/// A plan of `n` stages in `bench/gen_plan.py`'s shape.
fn plan_text(n: usize) -> String {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |below: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % below.max(1) as u64) as usize
    };
    let mut map = String::from(
        "# Plan\n\n## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n",
    );
    let mut sections = String::new();
    for k in 1..=n {
        let deps = if k == 1 {
            "(none)".to_string()
        } else {
            let a = 1 + next(k - 1);
            let b = 1 + next(k - 1);
            if a == b || next(2) == 0 {
                a.to_string()
            } else {
                format!("{}, {}", a.min(b), a.max(b))
            }
        };
        map.push_str(&format!(
            "| {k} | Refactor stage parser {k} | {deps} | {} |\n",
            3 + next(4)
        ));
        let shared = if k % 10 == 0 {
            format!(", `src/mod_{}/a.rs`", 1 + next(k - 1))
        } else {
            String::new()
        };
        sections.push_str(&format!(
            "\n### Stage {k}: Refactor stage parser {k}\n\n#### Stage Exit Contract\n- Predicted files: `src/mod_{k}/a.rs`, `src/mod_{k}/b.rs`{shared}\n"
        ));
    }
    map + &sections
}

fn fixture(n: usize) -> (String, Plan, Facts) {
    let src = plan_text(n);
    let plan = model::parse(&src, &Config::default());
    let facts = Facts::new(&plan);
    (src, plan, facts)
}

fn benches(c: &mut Criterion) {
    let status = Status::default();
    let options = GraphOptions::default();
    for (name, render) in [
        ("build", None),
        ("svg", Some(StageGraph::svg as fn(&StageGraph) -> String)),
        (
            "mermaid",
            Some(StageGraph::mermaid as fn(&StageGraph) -> String),
        ),
        ("dot", Some(StageGraph::dot as fn(&StageGraph) -> String)),
    ] {
        let mut g = c.benchmark_group(name);
        g.sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        for n in SIZES {
            let (src, plan, facts) = fixture(n);
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| {
                    let graph = StageGraph::build(
                        black_box(&src),
                        black_box(&plan),
                        &facts,
                        &status,
                        &options,
                    );
                    match render {
                        Some(f) => f(&graph).len(),
                        None => graph.nodes.len(),
                    }
                })
            });
        }
        g.finish();
    }
}

criterion_group!(graph, benches);
criterion_main!(graph);
