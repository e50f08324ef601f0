//! Pathological documents stay linear: each is timed against a normal plan
//! of the same size, and against itself at four times the size. Only ratios
//! are asserted (these machines are shared and noisy), with room to spare: a
//! quadratic path would be off by an order of magnitude.

use std::time::{Duration, Instant};

use okstra_lsp::engine::document::Document;
use okstra_lsp::engine::generate::{self, Spec};
use okstra_lsp::plan::config::Config;

/// The median of a few runs of a full analysis and of one edit in the middle.
fn cost(text: &str) -> Duration {
    let config = Config::default();
    let mut runs: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let mut doc = Document::new(text.to_string(), &config);
            let _ = doc.findings().len();
            let mid = text.len() / 2;
            let mid = (0..=mid)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            doc.edit(mid..mid, "|");
            doc.reanalyze(&config);
            t.elapsed()
        })
        .collect();
    runs.sort();
    runs[runs.len() / 2]
}

/// A normal plan of at least `bytes` bytes.
fn normal(bytes: usize) -> String {
    let mut n = 4;
    loop {
        let text = generate::plan(&Spec {
            overlap_every: 4,
            ..Spec::clean(n)
        });
        if text.len() >= bytes {
            return text;
        }
        n *= 2;
    }
}

fn repeat_to(unit: &str, bytes: usize) -> String {
    unit.repeat(bytes / unit.len() + 1)
}

fn pathological(bytes: usize) -> Vec<(&'static str, String)> {
    let plan = normal(bytes / 2);
    vec![
        // One line as long as the whole document, inside a Stage Map row.
        (
            "long line",
            format!(
                "## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | {} | (none) | 1 |\n",
                "x".repeat(bytes)
            ),
        ),
        // Lists nested as deep as the text allows.
        ("nested lists", {
            let mut s = String::new();
            let mut depth = 0;
            while s.len() < bytes {
                s.push_str(&"  ".repeat(depth % 400));
                s.push_str("- item `a|b`\n");
                depth += 1;
            }
            s
        }),
        // Block quotes nested hundreds deep.
        (
            "nested quotes",
            repeat_to(&format!("{} | 1 | x |\n", ">".repeat(300)), bytes),
        ),
        // An unclosed fence: everything after it is one node.
        ("unclosed fence", format!("```\n{plan}{plan}")),
        // Headings only, of every level, that all look like stages.
        ("headings", {
            let mut s = String::new();
            let mut i = 0;
            while s.len() < bytes {
                s.push_str(&format!("{} Stage {i}: t\n", "#".repeat(1 + i % 6)));
                i += 1;
            }
            s
        }),
        // Table rows without end, and blank rows among them.
        (
            "endless table",
            format!(
                "## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n{}",
                repeat_to("| 1 | a | 1, 1, 1 | 2 |\n|  |  |  |  |\n", bytes)
            ),
        ),
        // Emphasis and backticks that never close.
        (
            "open inlines",
            repeat_to("| `a | **b | [c | <d | \\| ``e |\n", bytes),
        ),
    ]
}

#[test]
fn pathological_documents_cost_like_normal_ones_and_scale_linearly() {
    // Smaller in debug builds (the normal suite), same ratios.
    let size = if cfg!(debug_assertions) {
        30_000
    } else {
        200_000
    };
    let base = cost(&normal(size)).max(Duration::from_micros(200));
    let mut report = Vec::new();
    for ((name, small), (_, large)) in pathological(size).into_iter().zip(pathological(4 * size)) {
        let small_cost = cost(&small).max(Duration::from_micros(200));
        let large_cost = cost(&large);
        let vs_normal = small_cost.as_secs_f64() / base.as_secs_f64();
        let growth = large_cost.as_secs_f64() / small_cost.as_secs_f64();
        report.push(format!(
            "{name}: {small_cost:?} ({vs_normal:.1}x normal), 4x size: {large_cost:?} ({growth:.1}x)"
        ));
        assert!(
            vs_normal < 25.0,
            "{name} costs {vs_normal:.1}x a normal plan\n{}",
            report.join("\n")
        );
        assert!(
            growth < 12.0,
            "{name} grows {growth:.1}x for 4x the size (quadratic would be ~16x)\n{}",
            report.join("\n")
        );
    }
    eprintln!("{}", report.join("\n"));
}

/// The same through the real binary: `okstra-lsp check` on each
/// pathological file takes a small multiple of a normal plan's time, exits 0
/// or 1 and prints JSON.
#[test]
fn check_binary_stays_linear_on_pathological_files() {
    let size = if cfg!(debug_assertions) {
        120_000
    } else {
        800_000
    };
    let dir = std::env::temp_dir().join(format!("okstra-limits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let time_check = |name: &str, text: &str| {
        let path = dir.join(format!("{}.md", name.replace(' ', "-")));
        std::fs::write(&path, text).unwrap();
        let mut runs: Vec<Duration> = (0..3)
            .map(|_| {
                let t = Instant::now();
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_okstra-lsp"))
                    .args(["check", "--format", "json"])
                    .arg(&path)
                    .output()
                    .unwrap();
                let took = t.elapsed();
                assert!(matches!(out.status.code(), Some(0 | 1)), "{name}: {out:?}");
                let _: serde_json::Value = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
                took
            })
            .collect();
        runs.sort();
        runs[1]
    };
    let base = time_check("normal", &normal(size));
    for (name, text) in pathological(size) {
        let took = time_check(name, &text);
        let ratio = took.as_secs_f64() / base.as_secs_f64();
        assert!(
            ratio < 25.0,
            "{name}: {took:?} is {ratio:.1}x a normal plan ({base:?})"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Plans whose naive analysis is quadratic or cubic in the stages
/// (issue #13): a ring of depends-on, `n` roots that all predict one file,
/// a chain whose stages all predict one file (what plan-format asks for a
/// shared file). `n` stages, as (name, text).
fn graph_shapes(n: usize) -> Vec<(&'static str, String)> {
    use std::fmt::Write;
    let map = |deps: &dyn Fn(usize) -> String| {
        let mut s = String::from(
            "## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n",
        );
        for i in 1..=n {
            let _ = writeln!(s, "| {i} | stage {i} | {} | 1 |", deps(i));
        }
        s
    };
    let sections = |s: &mut String| {
        for i in 1..=n {
            let _ = write!(
                s,
                "\n### Stage {i}: stage {i}\n\n#### Stage Exit Contract\n- Predicted added/modified files: `src/lib.rs`\n"
            );
        }
    };
    let ring = map(&|i| (i % n + 1).to_string());
    let mut same_file = map(&|_| "(none)".to_string());
    sections(&mut same_file);
    let mut chain = map(&|i| {
        if i == 1 {
            "(none)".to_string()
        } else {
            (i - 1).to_string()
        }
    });
    sections(&mut chain);
    vec![
        ("ring", ring),
        ("same file", same_file),
        ("chain, same file", chain),
    ]
}

/// Ring, same-file and chain plans at 10x the stages cost at most 30x
/// (quadratic would be 100x, cubic 1,000x) and their findings stay small.
#[test]
fn graph_shapes_scale_near_linearly_with_bounded_output() {
    let config = Config::default();
    let (small, large) = if cfg!(debug_assertions) {
        (500, 5_000)
    } else {
        (1_000, 10_000)
    };
    let measure = |text: &str| {
        let mut runs: Vec<(Duration, usize)> = (0..3)
            .map(|_| {
                let t = Instant::now();
                let findings = okstra_lsp::analyze(text, &config);
                let took = t.elapsed();
                let bytes = serde_json::to_vec(&findings).map_or(0, |v| v.len());
                (took, bytes)
            })
            .collect();
        runs.sort();
        runs[1]
    };
    let mut report = Vec::new();
    for ((name, s), (_, l)) in graph_shapes(small).into_iter().zip(graph_shapes(large)) {
        let (small_cost, _) = measure(&s);
        let (large_cost, bytes) = measure(&l);
        let growth =
            large_cost.as_secs_f64() / small_cost.max(Duration::from_micros(200)).as_secs_f64();
        report.push(format!(
            "{name}: {small} stages {small_cost:?}, {large} stages {large_cost:?} ({growth:.1}x), {bytes} bytes of findings"
        ));
        assert!(
            growth <= 30.0,
            "{name} grows {growth:.1}x for 10x the stages\n{}",
            report.join("\n")
        );
        assert!(
            bytes <= 5 << 20,
            "{name}: {bytes} bytes of findings\n{}",
            report.join("\n")
        );
    }
    eprintln!("{}", report.join("\n"));
}

/// A 17 MiB plan (over the 16 MiB limit) is not parsed: it gets
/// `document-too-large`, and a keystroke in it, anywhere, costs about what
/// a keystroke in a small plan costs (no scan, no parse of the text).
#[test]
fn keystrokes_over_the_size_limit_cost_like_small_ones() {
    let config = Config::default();
    let small = generate::plan(&Spec::clean(3));
    let mut big = small.clone();
    while big.len() <= 17 << 20 {
        big.push_str("Filler paragraph, not a plan label.\n");
    }
    let mut big_doc = Document::new(big, &config);
    let codes: Vec<&str> = big_doc.findings().iter().map(|f| f.code).collect();
    assert_eq!(codes, ["document-too-large"]);
    assert!(big_doc.plan().stages.is_empty(), "not parsed");
    let mut small_doc = Document::new(small, &config);
    // Median of many keystrokes, spread over the document.
    let keystrokes = |doc: &mut Document| {
        let mut runs: Vec<Duration> = (0..60)
            .map(|i| {
                let len = doc.text().len();
                let at = (len / 60) * i;
                let at = (0..=at)
                    .rev()
                    .find(|&b| doc.text().is_char_boundary(b))
                    .unwrap_or(0);
                let t = Instant::now();
                doc.edit(at..at, "x");
                doc.reanalyze(&config);
                let _ = doc.findings().len();
                t.elapsed()
            })
            .collect();
        runs.sort();
        runs[runs.len() / 2]
    };
    let small_cost = keystrokes(&mut small_doc).max(Duration::from_micros(50));
    let big_cost = keystrokes(&mut big_doc);
    let ratio = big_cost.as_secs_f64() / small_cost.as_secs_f64();
    eprintln!("keystroke: small plan {small_cost:?}, 17 MiB {big_cost:?} ({ratio:.1}x)");
    assert_eq!(big_doc.findings().len(), 1);
    assert!(
        ratio < 10.0,
        "a keystroke in a 17 MiB document costs {ratio:.1}x one in a small plan ({big_cost:?} vs {small_cost:?})"
    );
}
