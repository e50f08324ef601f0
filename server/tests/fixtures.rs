//! The fixtures under `fixtures/` through the checker `okstra-lsp check` uses
//! (`okstra_lsp::analyze` + the JSON report), one insta snapshot per fixture
//! (`server/tests/snapshots/fixtures__<path>.snap`), and the assertions that
//! give the snapshots their meaning:
//!
//! - every `fixtures/rules/<code>/trigger.md` reports `<code>` and nothing else,
//!   every `near-miss.md` reports nothing;
//! - documents that are not plans get nothing;
//! - tidy: the folders under `fixtures/rules/` and the files of
//!   `server/src/check/rules/` are exactly the codes, each code has
//!   `docs/rules/<code>.md` and a line in `docs/rules/README.md`;
//! - the rule pages and tables are what the rule files generate (`rule_docs`;
//!   `UPDATE_DOCS=1 cargo test --test fixtures rule_docs` rewrites them);
//! - garbage, 20,000-character lines and a generated 5 MB plan never panic, in
//!   the library and in the real binary (`check --format json`).
//!
//! A fixture is checked with the default configuration, or with the settings
//! (camelCase JSON, as `workspace/configuration` sends them) of
//! `<name>.config.json` beside it, or else of `config.json` in its folder.
//!
//! Update snapshots with `INSTA_UPDATE=always cargo test --test fixtures`, then
//! read every changed `.snap`: it must say what plan-format §3 says.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use okstra_lsp::check::rules::DOCUMENT_TOO_LARGE;
use okstra_lsp::cli::report::{self, JsonDiagnostic};
use okstra_lsp::plan::config::Config;

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ has a parent")
        .to_path_buf()
}

/// Every code the checker can report.
fn all_codes() -> BTreeSet<&'static str> {
    okstra_lsp::check::rules::codes().collect()
}

/// Every `*.md` under `fixtures/`, relative to the root, sorted.
fn fixture_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("readable folder entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let root = root();
    let mut out = Vec::new();
    walk(&root.join("fixtures"), &mut out);
    out.into_iter()
        .map(|p| p.strip_prefix(&root).expect("under the root").to_path_buf())
        .collect()
}

/// Reads like the CLI does: invalid UTF-8 becomes U+FFFD. The annotation
/// lines of a fixture under `fixtures/rules/` are taken out (`annotated`).
fn read(rel: &Path) -> String {
    let bytes =
        std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if rel.starts_with("fixtures/rules") {
        annotated::parse(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", rel.display()))
            .text
    } else {
        text
    }
}

/// The fixture's configuration (see the module comment).
fn config_for(rel: &Path) -> Config {
    let abs = root().join(rel);
    let beside = abs.with_extension("config.json");
    let folder = abs.with_file_name("config.json");
    let Some(path) = [beside, folder].into_iter().find(|p| p.is_file()) else {
        return Config::default();
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (config, problems) = Config::from_json(&value);
    assert!(problems.is_empty(), "{}: {problems:?}", path.display());
    config
}

/// What `okstra-lsp check --format json` reports for a fixture.
fn check(rel: &Path) -> Vec<JsonDiagnostic> {
    check_text(rel, &read(rel), &config_for(rel))
}

fn check_text(rel: &Path, src: &str, config: &Config) -> Vec<JsonDiagnostic> {
    let findings = okstra_lsp::analyze(src, config);
    report::to_json(rel, src, &findings)
}

fn codes(diags: &[JsonDiagnostic]) -> Vec<&str> {
    diags.iter().map(|d| d.code.as_str()).collect()
}

/// `fixtures/rules/s9-file-overlap/trigger.md` → `rules__s9-file-overlap__trigger`.
fn snapshot_name(rel: &Path) -> String {
    let inner = rel
        .strip_prefix("fixtures")
        .unwrap_or(rel)
        .with_extension("");
    inner
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("__")
}

/// The fixture's leading `<!-- … -->` comment, on one line: what it expects.
fn intent(src: &str) -> Option<String> {
    let rest = src.trim_start_matches('\u{feff}').strip_prefix("<!--")?;
    let end = rest.find("-->")?;
    Some(rest[..end].split_whitespace().collect::<Vec<_>>().join(" "))
}

#[test]
fn snapshots() {
    let files = fixture_files();
    assert!(files.len() > 50, "fixtures not found: {files:?}");
    for rel in files {
        let src = read(&rel);
        let diags = check_text(&rel, &src, &config_for(&rel));
        let mut settings = insta::Settings::clone_current();
        settings.set_input_file(root().join(&rel));
        settings.set_omit_expression(true);
        if let Some(intent) = intent(&src) {
            settings.set_description(intent);
        }
        settings.bind(|| insta::assert_json_snapshot!(snapshot_name(&rel), diags));
    }
}

/// The expectations written by hand beside a corpus fixture
/// (`<name>.expect`: one `<line> <code>` per finding; `#` comments).
fn expectations(rel: &Path) -> Option<Vec<(u32, String)>> {
    let text = std::fs::read_to_string(root().join(rel.with_extension("expect"))).ok()?;
    let mut out: Vec<(u32, String)> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (line, code) = l
                .split_once(char::is_whitespace)
                .unwrap_or_else(|| panic!("{}: bad line {l:?}", rel.display()));
            let line = line
                .parse()
                .unwrap_or_else(|_| panic!("{}: bad line number in {l:?}", rel.display()));
            (line, code.trim().to_string())
        })
        .collect();
    out.sort();
    Some(out)
}

/// The realistic corpus (`fixtures/corpus/`): every document reports exactly
/// the findings its `.expect` file lists, by line and code.
#[test]
fn corpus_reports_its_hand_written_expectations() {
    let corpus: Vec<PathBuf> = fixture_files()
        .into_iter()
        .filter(|p| p.starts_with("fixtures/corpus"))
        .collect();
    assert!(
        corpus.len() >= 40,
        "the corpus has {} documents",
        corpus.len()
    );
    let mut problems = Vec::new();
    for rel in corpus {
        let Some(want) = expectations(&rel) else {
            problems.push(format!("{}: no .expect file", rel.display()));
            continue;
        };
        let mut got: Vec<(u32, String)> = check(&rel)
            .iter()
            .map(|d| (d.line, d.code.clone()))
            .collect();
        got.sort();
        if got != want {
            problems.push(format!(
                "{}:\n  expected {want:?}\n  reported {got:?}",
                rel.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_stale_snapshots() {
    let expected: BTreeSet<String> = fixture_files()
        .iter()
        .map(|rel| format!("fixtures__{}.snap", snapshot_name(rel)))
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let stale: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("fixtures__") && n.ends_with(".snap"))
                .filter(|n| !expected.contains(n))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        stale.is_empty(),
        "snapshots without a fixture (delete them): {stale:?}"
    );
}

#[test]
fn every_trigger_reports_its_code_and_only_it() {
    for code in all_codes() {
        let rel = Path::new("fixtures/rules").join(code).join("trigger.md");
        let diags = check(&rel);
        let found = codes(&diags);
        assert!(
            found.contains(&code),
            "{}: {code} not reported: {found:?}",
            rel.display()
        );
        assert!(
            found.iter().all(|c| *c == code),
            "{}: reports more than {code}: {found:?}",
            rel.display()
        );
    }
}

#[test]
fn no_near_miss_reports_anything() {
    for code in all_codes() {
        let rel = Path::new("fixtures/rules").join(code).join("near-miss.md");
        let diags = check(&rel);
        assert!(
            !codes(&diags).contains(&code),
            "{}: the near miss reports {code}",
            rel.display()
        );
        // Each near miss is a whole, clean plan: nothing else either.
        assert!(diags.is_empty(), "{}: {:?}", rel.display(), codes(&diags));
    }
}

#[test]
fn documents_that_are_not_plans_get_nothing() {
    let mut docs = vec![PathBuf::from("fixtures/plans/not-a-plan.md")];
    // The rule pages show plans in fenced code: they must stay silent too.
    let dir = root().join("docs/rules");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            p.strip_prefix(root())
                .expect("under the root")
                .to_path_buf()
        })
        .collect();
    pages.sort();
    docs.extend(pages);
    for rel in docs {
        let diags = check(&rel);
        assert!(diags.is_empty(), "{}: {:?}", rel.display(), codes(&diags));
    }
}

#[test]
fn tidy_every_code_has_fixtures_docs_and_an_index_line() {
    let root = root();
    let dirs: BTreeSet<String> = std::fs::read_dir(root.join("fixtures/rules"))
        .expect("fixtures/rules")
        .map(|e| e.expect("entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let codes: BTreeSet<String> = all_codes().into_iter().map(String::from).collect();
    assert_eq!(
        dirs, codes,
        "fixtures/rules/ must hold exactly one folder per code"
    );
    let index =
        std::fs::read_to_string(root.join("docs/rules/README.md")).expect("docs/rules/README.md");
    let mut problems = Vec::new();
    for code in &codes {
        for kind in ["trigger.md", "near-miss.md"] {
            if !root.join("fixtures/rules").join(code).join(kind).is_file() {
                problems.push(format!("fixtures/rules/{code}/{kind} is missing"));
            }
        }
        let page = root.join("docs/rules").join(format!("{code}.md"));
        match std::fs::read_to_string(&page) {
            Err(_) => problems.push(format!("docs/rules/{code}.md is missing")),
            Ok(text) => {
                if text.lines().next() != Some(&format!("# `{code}`")) {
                    problems.push(format!(
                        "docs/rules/{code}.md must start with \"# `{code}`\""
                    ));
                }
                let severity =
                    okstra_lsp::check::rules::rule(code).map_or("warning", |r| r.severity.as_str());
                if !text.contains(&format!("**Severity:** {severity}")) {
                    problems.push(format!(
                        "docs/rules/{code}.md must say \"**Severity:** {severity}\""
                    ));
                }
            }
        }
        if !index.contains(&format!("[`{code}`]({code}.md)")) {
            problems.push(format!("docs/rules/README.md has no line for {code}"));
        }
    }
    let pages: BTreeSet<String> = std::fs::read_dir(root.join("docs/rules"))
        .expect("docs/rules")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".md").map(String::from))
        .filter(|n| n != "README")
        .collect();
    for extra in pages.difference(&codes) {
        problems.push(format!("docs/rules/{extra}.md documents no code"));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_docs_example_reports_its_code() {
    for code in all_codes().into_iter().filter(|c| *c != DOCUMENT_TOO_LARGE) {
        let rel = PathBuf::from(format!("docs/rules/{code}.md"));
        let page = read(&rel);
        let Some(example) = page
            .split("```markdown\n")
            .nth(1)
            .and_then(|rest| rest.split("\n```").next())
        else {
            panic!("{}: no ```markdown example", rel.display());
        };
        let diags = check_text(Path::new("plan.md"), example, &Config::default());
        assert!(
            codes(&diags).contains(&code),
            "{}: the example does not report {code}: {:?}",
            rel.display(),
            codes(&diags)
        );
    }
}

#[test]
fn crlf_positions_equal_lf_positions() {
    let rel = Path::new("fixtures/plans/crlf.md");
    let crlf = read(rel);
    assert!(
        crlf.matches("\r\n").count() == crlf.matches('\n').count(),
        "crlf.md lost its CRLF line endings (fixtures/.gitattributes keeps them)"
    );
    let lf = crlf.replace("\r\n", "\n");
    let config = Config::default();
    let a = check_text(rel, &crlf, &config);
    let b = check_text(rel, &lf, &config);
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn label_aliases_make_a_korean_plan() {
    let rel = Path::new("fixtures/plans/korean-aliases.md");
    assert!(
        check_text(rel, &read(rel), &Config::default()).is_empty(),
        "without the aliases it is not a plan"
    );
    assert_eq!(codes(&check(rel)), ["open-questions-block"]);
}

/// Inputs that must never make the checker panic, built in memory.
fn hostile_inputs() -> Vec<(String, String)> {
    const N: usize = 20_000;
    let plan = okstra_lsp::engine::generate::plan(&okstra_lsp::engine::generate::Spec::clean(3));
    let mut out: Vec<(String, String)> = [
        ("pipes", "|".repeat(N)),
        ("escaped pipes", "\\|".repeat(N / 2)),
        ("backticks", "`".repeat(N)),
        ("hashes", "#".repeat(N)),
        ("list markers", "- ".repeat(N / 2)),
        ("clarification refs", "C-1 ".repeat(N / 4)),
        ("table row", format!("| {} |", "a | ".repeat(N / 4))),
        ("nul bytes", "\0".repeat(N)),
        ("lone carriage returns", "| 1 |\r".repeat(N / 6)),
        ("combining marks", "e\u{301}".repeat(N / 2)),
        ("emoji", "👩‍💻".repeat(N / 3)),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    // The same 20,000-character lines in every place of a plan the model reads.
    let long = "x`|\\".repeat(N / 4);
    for (i, line) in plan.lines().enumerate().filter(|(i, _)| i % 7 == 0) {
        let mut text = String::with_capacity(plan.len() + N);
        for (j, l) in plan.lines().enumerate() {
            text.push_str(l);
            if i == j {
                text.push_str(&long);
            }
            text.push('\n');
        }
        out.push((
            format!("plan line {i} ({line:?}) + 20,000 characters"),
            text,
        ));
    }
    out
}

#[test]
fn hostile_input_never_panics() {
    let mut panicked = Vec::new();
    let garbage = fixture_files()
        .into_iter()
        .filter(|p| p.starts_with("fixtures/garbage"))
        .map(|p| (p.display().to_string(), read(&p)));
    for (name, text) in garbage.chain(hostile_inputs()) {
        let result = std::panic::catch_unwind(|| {
            let findings = okstra_lsp::analyze(&text, &Config::default());
            report::to_json(Path::new("x.md"), &text, &findings)
        });
        if result.is_err() {
            panicked.push(name);
        }
    }
    assert!(panicked.is_empty(), "panicked on: {panicked:#?}");
}

/// A generated plan of at least 5 MB with planted problems.
fn five_megabytes() -> String {
    let spec = okstra_lsp::engine::generate::Spec {
        overlap_every: 997,
        cycle: true,
        over_cap_every: 1009,
        orphan_ref: true,
        ..okstra_lsp::engine::generate::Spec::clean(6_000)
    };
    let mut text = okstra_lsp::engine::generate::plan(&spec);
    while text.len() < 5 * 1024 * 1024 {
        text.push_str("Padding paragraph: not plan content. | 9 | x | 8 | 1 |\n");
    }
    text
}

#[test]
fn five_megabyte_plan_is_checked() {
    let text = five_megabytes();
    let findings = okstra_lsp::analyze(&text, &Config::default());
    let found: BTreeSet<&str> = findings.iter().map(|f| f.code).collect();
    for code in ["s9-file-overlap", "depends-on-cycle", "steps-over-cap"] {
        assert!(found.contains(code), "{code} missing from {found:?}");
    }
}

/// Runs the real binary; returns its exit code and parsed stdout.
fn run_check(paths: &[&Path]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_okstra-lsp"))
        .arg("check")
        .args(["--format", "json"])
        .args(paths)
        .current_dir(root())
        .output()
        .expect("the okstra-lsp binary runs");
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); exit {code}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, json)
}

#[test]
fn binary_checks_garbage_and_five_megabytes() {
    let (code, json) = run_check(&[Path::new("fixtures/garbage")]);
    assert!(code == 0 || code == 1, "exit {code}");
    let list = json.as_array().expect("a JSON array");
    assert!(list.iter().all(|d| {
        d["file"]
            .as_str()
            .is_some_and(|f| f.starts_with("fixtures/garbage/"))
    }));

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("okstra-fixtures");
    std::fs::create_dir_all(&dir).expect("temp folder");
    let big = dir.join(format!("five-megabytes-{}.md", std::process::id()));
    std::fs::write(&big, five_megabytes()).expect("write the 5 MB plan");
    let result = std::panic::catch_unwind(|| run_check(&[&big]));
    let _ = std::fs::remove_file(&big);
    let (code, json) = result.expect("the binary ran");
    assert_eq!(code, 1, "the generated plan has errors");
    assert!(!json.as_array().expect("a JSON array").is_empty());
}

/// Grammar bugs worked around in `syntax::chunk`, kept as the assertions
/// plan-format asks for.
mod grammar_workarounds {
    use super::*;

    const STAGE: &str = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | (none) | 2 |\n\n### Stage 1: a\n\n#### Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n| 1 | a | `a` | c | e |\n| 2 | b | `a` | c | e |\n|  |  |  |  |  |\n\n#### Stage Exit Contract\n- Predicted files: `a`\n\n#### Stage Validation\n- post: ok\n";

    /// plan-format §2: rows whose cells are all blank are not effective steps.
    /// tree-sitter-md's error recovery on an all-blank row swallows the rest of
    /// the document into the table (tree-sitter-grammars/tree-sitter-markdown#242);
    /// `syntax::chunk` shows the parser such a row with one blank filled.
    #[test]
    fn blank_step_rows_are_not_steps() {
        let diags = check_text(Path::new("x.md"), STAGE, &Config::default());
        assert!(diags.is_empty(), "{:?}", codes(&diags));
        let crlf = STAGE.replace('\n', "\r\n");
        let diags = check_text(Path::new("x.md"), &crlf, &Config::default());
        assert!(diags.is_empty(), "{:?}", codes(&diags));
    }

    /// A row of bare pipes (`||||||`) has no blank to fill without changing
    /// what its cells read, and still trips the grammar.
    #[test]
    fn bare_pipe_rows_are_not_steps() {
        for bare in ["||||||", "|||", "  ||||||  ", "| |||||"] {
            let src = STAGE.replace("|  |  |  |  |  |", bare);
            let diags = check_text(Path::new("x.md"), &src, &Config::default());
            assert!(diags.is_empty(), "{bare}: {:?}", codes(&diags));
            let crlf = src.replace('\n', "\r\n");
            let diags = check_text(Path::new("x.md"), &crlf, &Config::default());
            assert!(diags.is_empty(), "{bare} (CRLF): {:?}", codes(&diags));
        }
    }

    /// A row whose last cells are empty without a space (`| 2 | x |||`) is
    /// the row it reads as, and the headings after the table stay headings.
    #[test]
    fn rows_ending_in_empty_cells_keep_the_headings_after_them() {
        for row in ["| 2 | b |||", "| 2 |||||", "|2|b||||", "| 2 | b | `a` |||"] {
            let src = STAGE.replace("| 2 | b | `a` | c | e |\n|  |  |  |  |  |", row);
            for text in [src.clone(), src.replace('\n', "\r\n")] {
                let diags = check_text(Path::new("x.md"), &text, &Config::default());
                assert!(diags.is_empty(), "{row}: {:?}", codes(&diags));
            }
        }
    }

    /// A code span opened by a run of two backticks holds a lone backtick;
    /// syntax::join_code_spans matches runs by length, as CommonMark does.
    #[test]
    fn double_backtick_code_span_keeps_its_pipe() {
        let src = STAGE.replace("|  |  |  |  |  |\n", "").replace(
            "| 1 | a | (none) | 2 |",
            "| 1 | Run ``x `|` y`` | (none) | 2 |",
        );
        let diags = check_text(Path::new("x.md"), &src, &Config::default());
        assert!(diags.is_empty(), "{:?}", codes(&diags));
    }
}

/// The rule docs, generated from the rule files (one source per rule): each
/// page `docs/rules/<code>.md` from `server/src/check/rules/<code>.rs` (its
/// `RULE` and doc comment), keeping the page's hand-written Example between
/// the example markers (a new page takes `trigger.md` and what it reports);
/// the rule tables of `docs/rules/README.md` and `docs/plan-format.md`
/// between their table markers. Fails with a diff when a file is out of
/// date; `UPDATE_DOCS=1 cargo test --test fixtures rule_docs` rewrites them.
mod rule_docs {
    use super::*;
    use okstra_lsp::check::rules::{self, Rule};

    const REGENERATE: &str = "UPDATE_DOCS=1 cargo test --test fixtures rule_docs";
    const EXAMPLE_BEGIN: &str = "<!-- example: written by hand -->";
    const EXAMPLE_END: &str = "<!-- /example -->";
    const TABLE_BEGIN: &str = "<!-- rules table:";
    const TABLE_END: &str = "<!-- /rules table -->";

    /// `server/src/check/rules/<code>.rs`, relative to the root.
    fn rule_file(code: &str) -> PathBuf {
        PathBuf::from(format!(
            "server/src/check/rules/{}.rs",
            code.replace('-', "_")
        ))
    }

    /// The leading `//!` comment of a file, as markdown.
    fn doc_comment(text: &str) -> String {
        let mut out = String::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("//!") else {
                break;
            };
            out.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            out.push('\n');
        }
        out.trim_end().to_string()
    }

    fn capitalised(s: &str) -> String {
        let mut chars = s.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    }

    /// The Configuration section of a rule whose doc comment has none.
    fn configuration(rule: &Rule) -> String {
        let example = if rule.severity.as_str() == "error" {
            "warning"
        } else {
            "error"
        };
        format!(
            "## Configuration

Change its severity, or turn it off, with the `severityOverrides` setting (section
`okstra`, through `workspace/configuration` or `initializationOptions`):

```json
{{ \"okstra\": {{ \"severityOverrides\": {{ \"{}\": \"{example}\" }} }} }}
```

Values: `\"error\"`, `\"warning\"`, `\"info\"` (`\"hint\"` is shown as info) or `\"off\"`.
`okstra-lsp check` always reports the default severities, and exits 1 only for
errors.",
            rule.code
        )
    }

    /// The Example section of an existing page (between the markers), or
    /// for a new page its trigger fixture and what it reports.
    fn example(code: &str, page: Option<&str>) -> Result<String, String> {
        if let Some(page) = page {
            let start = page
                .find(EXAMPLE_BEGIN)
                .ok_or_else(|| format!("docs/rules/{code}.md: no `{EXAMPLE_BEGIN}` line"))?;
            let end = page[start..]
                .find(EXAMPLE_END)
                .map(|i| start + i + EXAMPLE_END.len())
                .ok_or_else(|| format!("docs/rules/{code}.md: no `{EXAMPLE_END}` line"))?;
            return Ok(page[start..end].to_string());
        }
        let rel = Path::new("fixtures/rules").join(code).join("trigger.md");
        let src = read(&rel);
        let diags = check_text(Path::new("plan.md"), &src, &config_for(&rel));
        let reports: Vec<String> = diags
            .iter()
            .map(|d| {
                format!(
                    "plan.md:{}:{}: {}[{}] {}",
                    d.line, d.column, d.severity, d.code, d.message
                )
            })
            .collect();
        Ok(format!(
            "{EXAMPLE_BEGIN}\n## Example\n\n```markdown\n{}\n```\n\n`okstra-lsp check plan.md` reports:\n\n```text\n{}\n```\n{EXAMPLE_END}",
            src.trim_end(),
            reports.join("\n")
        ))
    }

    /// The page of `rule`: its doc comment with the example before
    /// "## How to fix".
    fn page(rule: &Rule, doc: &str, example: &str) -> Result<String, String> {
        let code = rule.code;
        let file = rule_file(code);
        let fix = doc.find("## How to fix").ok_or_else(|| {
            format!(
                "{}: the doc comment has no \"## How to fix\" section",
                file.display()
            )
        })?;
        let (before, after) = doc.split_at(fix);
        let config = if after.contains("## Configuration") {
            String::new()
        } else {
            format!("\n\n{}", configuration(rule))
        };
        Ok(format!(
            "# `{code}`

<!-- Generated from {file} (its `RULE` and doc comment) by `{REGENERATE}`: edit the rule file. Only the Example section is written here. -->

**Severity:** {severity} · **Fixtures:** [`fixtures/rules/{code}/`](../../fixtures/rules/{code}/) · [All rules](README.md)

{summary}.

{before}{example}

{after}{config}
",
            file = file.display(),
            severity = rule.severity.as_str(),
            summary = capitalised(rule.summary),
            before = if before.trim().is_empty() {
                String::new()
            } else {
                format!("{}\n\n", before.trim_end())
            },
            after = after.trim_end(),
        ))
    }

    /// `text` with the lines between the table markers replaced by `table`.
    fn with_table(rel: &str, text: &str, table: &str) -> Result<String, String> {
        let begin = text
            .find(TABLE_BEGIN)
            .ok_or_else(|| format!("{rel}: no `{TABLE_BEGIN} …-->` line"))?;
        let body = begin
            + text[begin..]
                .find('\n')
                .ok_or_else(|| format!("{rel}: nothing after `{TABLE_BEGIN}`"))?
            + 1;
        let end = body
            + text[body..]
                .find(TABLE_END)
                .ok_or_else(|| format!("{rel}: no `{TABLE_END}` line"))?;
        Ok(format!("{}{table}{}", &text[..body], &text[end..]))
    }

    fn index_table() -> String {
        let mut out = String::from("| Code | Severity | Summary |\n|---|---|---|\n");
        for r in rules::all() {
            out.push_str(&format!(
                "| [`{0}`]({0}.md) | {1} | {2} |\n",
                r.code,
                r.severity.as_str(),
                capitalised(r.summary)
            ));
        }
        out
    }

    fn plan_format_table() -> String {
        let mut out = String::from("| Code | Severity | Source | Rule |\n|---|---|---|---|\n");
        for r in rules::all() {
            out.push_str(&format!(
                "| [`{0}`](rules/{0}.md) | {1} | {2} | {3} |\n",
                r.code,
                r.severity.as_str(),
                r.source,
                r.summary
            ));
        }
        out
    }

    /// Every generated file: (path relative to the root, what it must hold).
    fn generated() -> Result<Vec<(PathBuf, String)>, String> {
        let root = root();
        let mut out = Vec::new();
        for rule in rules::all() {
            let file = rule_file(rule.code);
            let source = std::fs::read_to_string(root.join(&file))
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let rel = PathBuf::from(format!("docs/rules/{}.md", rule.code));
            let old = std::fs::read_to_string(root.join(&rel)).ok();
            let example = example(rule.code, old.as_deref())?;
            out.push((rel, page(rule, &doc_comment(&source), &example)?));
        }
        for (rel, table) in [
            ("docs/rules/README.md", index_table()),
            ("docs/plan-format.md", plan_format_table()),
        ] {
            let old = std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
            out.push((PathBuf::from(rel), with_table(rel, &old, &table)?));
        }
        let rel = "server/src/check/rules/mod.rs";
        let old = std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
        out.push((PathBuf::from(rel), registry(&old, &rule_files()?)?));
        Ok(out)
    }

    /// The rule files of `server/src/check/rules/` by module name (not the
    /// registry itself nor the suppression machinery), sorted.
    fn rule_files() -> Result<Vec<String>, String> {
        let dir = root().join("server/src/check/rules");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".rs").map(str::to_string)
            })
            .filter(|n| n != "mod" && n != "suppress")
            .collect();
        names.sort();
        Ok(names)
    }

    /// Codes reported apart from `RULES` (not rules of the model).
    const NOT_IN_RULES: [&str; 2] = ["document_too_large", "unused_suppression"];

    /// `rules/mod.rs` with its registry written from the rule files: a
    /// `mod` line each, and `RULES` in its present order with rules that no
    /// longer have a file left out and new files' rules at the end.
    fn registry(old: &str, files: &[String]) -> Result<String, String> {
        let between = |text: &str, begin: &str, end: &str| -> Result<(usize, usize), String> {
            let a = text
                .find(begin)
                .ok_or(format!("rules/mod.rs: no `{begin}` marker"))?;
            let a = a + text[a..].find('\n').unwrap_or(0) + 1;
            let b = a + text[a..]
                .find(end)
                .ok_or(format!("rules/mod.rs: no `{end}` marker"))?;
            let b = text[..b].rfind('\n').map_or(b, |i| i + 1);
            Ok((a, b))
        };
        let (ma, mb) = between(old, "// registry: modules", "// /registry: modules")?;
        let mods: String = files.iter().map(|f| format!("mod {f};\n")).collect();
        let text = format!("{}{mods}{}", &old[..ma], &old[mb..]);
        let (ra, rb) = between(&text, "// registry: rules", "// /registry: rules")?;
        let mut order: Vec<String> = text[ra..rb]
            .lines()
            .filter_map(|l| {
                let l = l.trim().strip_prefix('&')?;
                l.strip_suffix("::RULE,").map(str::to_string)
            })
            .filter(|m| files.contains(m))
            .collect();
        for f in files {
            if !order.contains(f) && !NOT_IN_RULES.contains(&f.as_str()) {
                order.push(f.clone());
            }
        }
        let rules: String = order.iter().map(|m| format!("    &{m}::RULE,\n")).collect();
        Ok(format!("{}{rules}{}", &text[..ra], &text[rb..]))
    }

    #[test]
    fn the_registry_follows_the_folder() {
        let old = "a\n// registry: modules\nmod x;\n// /registry: modules\nb\nconst RULES = &[\n    // registry: rules\n    &x::RULE,\n    &gone::RULE,\n    // /registry: rules\n];\n";
        let files = [
            "document_too_large".to_string(),
            "new_rule".into(),
            "x".into(),
        ];
        let new = registry(old, &files).expect("markers");
        assert_eq!(
            new,
            "a\n// registry: modules\nmod document_too_large;\nmod new_rule;\nmod x;\n// /registry: modules\nb\nconst RULES = &[\n    // registry: rules\n    &x::RULE,\n    &new_rule::RULE,\n    // /registry: rules\n];\n"
        );
        assert!(registry("no markers", &files).is_err());
    }

    #[test]
    fn rule_docs_are_generated_from_the_rule_files() {
        let root = root();
        let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1");
        let files = generated().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(files.len(), all_codes().len() + 3);
        let mut stale = Vec::new();
        for (rel, want) in files {
            let have = std::fs::read_to_string(root.join(&rel)).unwrap_or_default();
            if have == want {
                continue;
            }
            if update {
                std::fs::write(root.join(&rel), &want)
                    .unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
                continue;
            }
            let name = rel.display().to_string();
            let diff = similar::TextDiff::from_lines(&have, &want)
                .unified_diff()
                .context_radius(2)
                .header(&name, &format!("{name} (generated)"))
                .to_string();
            stale.push(diff);
        }
        assert!(
            stale.is_empty(),
            "{} generated doc(s) differ from the rule files; run `{REGENERATE}` (edit the rule file's doc comment or `RULE`, not the page):\n{}",
            stale.len(),
            stale.join("\n")
        );
    }

    #[test]
    fn a_page_keeps_its_example_and_takes_the_rest_from_the_rule() {
        let rule = rules::rule("depends-on-self").expect("a rule");
        let doc = "## What it checks\n\nW.\n\n## How to fix\n\nF.";
        let example = format!("{EXAMPLE_BEGIN}\n## Example\n\nE.\n{EXAMPLE_END}");
        let page = page(rule, doc, &example).expect("a page");
        let what = page.find("## What it checks").expect("what");
        let ex = page.find("E.\n").expect("example");
        let fix = page.find("## How to fix").expect("fix");
        let config = page.find("## Configuration").expect("configuration");
        assert!(what < ex && ex < fix && fix < config, "{page}");
        assert!(page.starts_with("# `depends-on-self`\n"), "{page}");
        assert!(page.contains("\nA stage depends on itself.\n"), "{page}");
        assert!(page.contains("\"depends-on-self\": \"warning\""), "{page}");
        assert!(check_text(Path::new("x.md"), &page, &Config::default()).is_empty());
        assert!(
            self::page(rule, "## What it checks\n\nW.", &example).is_err(),
            "a doc comment without How to fix is refused"
        );
    }

    #[test]
    fn a_table_is_replaced_between_its_markers_only() {
        let text = format!("a\n{TABLE_BEGIN} x -->\nold\n{TABLE_END}\nb\n");
        assert_eq!(
            with_table("t.md", &text, "new\n").expect("markers"),
            format!("a\n{TABLE_BEGIN} x -->\nnew\n{TABLE_END}\nb\n")
        );
        assert!(with_table("t.md", "no markers", "new\n").is_err());
    }

    /// Every file in `server/src/check/rules/` (but the registry and the
    /// suppression machinery) is a code's: one the registry knows.
    #[test]
    fn tidy_rule_files_are_the_codes() {
        let dir = root().join("server/src/check/rules");
        let files: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter_map(|n| n.strip_suffix(".rs").map(|s| s.replace('_', "-")))
            .filter(|n| n != "mod" && n != "suppress")
            .collect();
        let codes: BTreeSet<String> = all_codes().into_iter().map(String::from).collect();
        assert_eq!(
            files, codes,
            "the rule files and the registry differ: run `{REGENERATE}` (it writes the `mod` lines and `RULES` in server/src/check/rules/mod.rs; a new rule's page is written by the run after that)"
        );
    }
}

/// Annotated fixtures (docs/TESTING.md): a line of a fixture under
/// `fixtures/rules/` that is only carets and a code, as an HTML comment
/// (`<!-- ^^^ code -->`, `<!-- ^^^ code: part of the message -->`) or bare
/// (`^^^ code`, for ranges that start in the first five columns), marks a
/// finding on the nearest line above that is not an annotation: the carets
/// stand under its columns (from its start to its end, or to the end of
/// that line when it goes on). Annotation lines are taken out before the
/// fixture is checked; a fixture with annotations must report exactly them.
mod annotated {
    use super::*;

    /// One expected finding: 1-based line (of the text without the
    /// annotations), 1-based columns in characters, code, message part.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Expected {
        pub line: u32,
        pub column: u32,
        pub end_column: u32,
        pub code: String,
        pub message: Option<String>,
    }

    pub struct Annotated {
        /// The text without its annotation lines.
        pub text: String,
        pub expected: Vec<Expected>,
    }

    /// The carets and what follows them, when `line` is an annotation.
    fn annotation(line: &str) -> Option<(usize, usize, &str)> {
        let body = line.trim_end_matches('\r');
        let trimmed = body.trim();
        let inner = match trimmed.strip_prefix("<!--") {
            Some(rest) => rest.strip_suffix("-->")?,
            None => trimmed,
        };
        let after = inner.trim_start().strip_prefix('^')?;
        let carets = 1 + after.len() - after.trim_start_matches('^').len();
        let start = body.chars().take_while(|c| *c != '^').count();
        let rest = after.trim_start_matches('^').trim();
        Some((start, start + carets, rest))
    }

    pub fn parse(src: &str) -> Result<Annotated, String> {
        let mut text = String::with_capacity(src.len());
        let mut expected = Vec::new();
        // The last line kept, and its number in the text without annotations.
        let mut previous: Option<(u32, &str)> = None;
        for (i, line) in src.split_inclusive('\n').enumerate() {
            let Some((start, end, rest)) = annotation(line) else {
                text.push_str(line);
                previous = Some((previous.map_or(1, |(n, _)| n + 1), line));
                continue;
            };
            let Some((kept, above)) = previous else {
                return Err(format!("line {}: an annotation under no line", i + 1));
            };
            let (code, message) = match rest.split_once(':') {
                Some((code, message)) => (code.trim(), Some(message.trim().to_string())),
                None => (rest, None),
            };
            if !all_codes().contains(code) {
                return Err(format!("line {}: `{code}` is not a code", i + 1));
            }
            let width = above.trim_end_matches(['\n', '\r']).chars().count();
            if end > width {
                return Err(format!(
                    "line {}: the carets go past the end of the line above",
                    i + 1
                ));
            }
            expected.push(Expected {
                line: kept,
                column: start as u32 + 1,
                end_column: end as u32 + 1,
                code: code.to_string(),
                message,
            });
        }
        Ok(Annotated { text, expected })
    }

    /// What was reported, in the annotations' terms.
    fn found(text: &str, diags: &[JsonDiagnostic]) -> Vec<(Expected, String)> {
        let lines: Vec<&str> = text.split('\n').collect();
        diags
            .iter()
            .map(|d| {
                let end_column = if d.end_line == d.line {
                    d.end_column
                } else {
                    let first = lines.get(d.line as usize - 1).copied().unwrap_or("");
                    first.trim_end_matches('\r').chars().count() as u32 + 1
                };
                let e = Expected {
                    line: d.line,
                    column: d.column,
                    end_column,
                    code: d.code.clone(),
                    message: None,
                };
                (e, d.message.clone())
            })
            .collect()
    }

    fn show(e: &Expected) -> String {
        format!("{}:{}-{} {}", e.line, e.column, e.end_column, e.code)
    }

    /// The differences between the annotations and the findings, if any.
    pub fn mismatches(annotated: &Annotated, diags: &[JsonDiagnostic]) -> Vec<String> {
        let mut left = found(&annotated.text, diags);
        let mut out = Vec::new();
        for want in &annotated.expected {
            let hit = left.iter().position(|(got, message)| {
                (got.line, got.column, got.end_column, &got.code)
                    == (want.line, want.column, want.end_column, &want.code)
                    && want.message.as_ref().is_none_or(|m| message.contains(m))
            });
            match hit {
                Some(i) => {
                    left.remove(i);
                }
                None => out.push(format!(
                    "annotated, not reported: {}{}",
                    show(want),
                    want.message
                        .as_ref()
                        .map_or(String::new(), |m| format!(": {m}"))
                )),
            }
        }
        for (got, message) in left {
            out.push(format!(
                "reported, not annotated: {}: {message}",
                show(&got)
            ));
        }
        out
    }

    #[test]
    fn annotated_fixtures_report_exactly_their_annotations() {
        let mut seen = 0;
        let mut problems = Vec::new();
        for rel in fixture_files()
            .into_iter()
            .filter(|p| p.starts_with("fixtures/rules"))
        {
            let raw = String::from_utf8_lossy(
                &std::fs::read(root().join(&rel)).expect("a readable fixture"),
            )
            .into_owned();
            let annotated = parse(&raw).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
            if annotated.expected.is_empty() {
                continue;
            }
            seen += 1;
            let diags = check_text(&rel, &annotated.text, &config_for(&rel));
            for m in mismatches(&annotated, &diags) {
                problems.push(format!("{}: {m}", rel.display()));
            }
        }
        assert!(seen >= 4, "only {seen} annotated fixtures");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    const PLAN: &str = "## Stage Map\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | a | (none) | 1 |\n| 2 | b | 1, S2 | 1 |\n";

    fn run(src: &str) -> Vec<String> {
        let annotated = parse(src).expect("annotations");
        let diags = check_text(Path::new("x.md"), &annotated.text, &Config::default());
        let diags: Vec<JsonDiagnostic> = diags
            .into_iter()
            .filter(|d| d.code == "depends-on-self")
            .collect();
        mismatches(&annotated, &diags)
    }

    #[test]
    fn the_harness_checks_code_line_columns_and_message() {
        let row = "| 2 | b | 1, S2 | 1 |\n";
        let at = |annotation: &str| PLAN.replace(row, &format!("{row}{annotation}\n"));
        assert_eq!(
            run(&at("<!--         ^^ depends-on-self: itself -->")),
            Vec::<String>::new()
        );
        assert_eq!(
            run(&at("             ^^ depends-on-self")),
            Vec::<String>::new(),
            "the bare form"
        );
        let wrong_columns = run(&at("<!--        ^^ depends-on-self -->"));
        assert_eq!(
            wrong_columns,
            [
                "annotated, not reported: 5:13-15 depends-on-self",
                "reported, not annotated: 5:14-16 depends-on-self: stage 2 depends on itself, so it can never become ready: remove `S2`"
            ]
        );
        assert_eq!(
            run(&at("<!--         ^^ depends-on-self: cycle -->")).len(),
            2
        );
        assert_eq!(run(PLAN).len(), 1, "a finding without an annotation");
        assert!(parse(&at("<!--         ^^ no-such-code -->")).is_err());
        assert!(
            parse("<!-- ^ depends-on-self -->\n").is_err(),
            "under no line"
        );
    }

    #[test]
    fn annotation_lines_are_taken_out_of_the_text() {
        let src = "abcdefgh\n<!-- ^ depends-on-self -->\r\nb\n";
        let parsed = parse(src).expect("annotations");
        assert_eq!(parsed.text, "abcdefgh\nb\n");
        assert_eq!(parsed.expected.len(), 1);
        assert_eq!((parsed.expected[0].line, parsed.expected[0].column), (1, 6));
        assert!(
            parse("<!-- a comment -->\n")
                .expect("no annotation")
                .expected
                .is_empty()
        );
    }
}

/// The label test that lets `check` skip ordinary markdown never skips a
/// document the full analysis reports anything on: every fixture, every
/// document of the corpus, generated plans and ordinary markdown, with and
/// without label aliases.
#[test]
fn the_cheap_plan_test_never_skips_a_finding() {
    use okstra_lsp::check::rules;
    use okstra_lsp::plan::model;
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut files = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in ["fixtures", "docs", "editors", "README.md"] {
        let p = root.join(dir);
        if p.is_file() {
            files.push(p);
        } else {
            walk(&p, &mut files);
        }
    }
    for f in files {
        if let Ok(text) = std::fs::read_to_string(&f) {
            texts.push((f.display().to_string(), text));
        }
    }
    let mut skipped = 0;
    let aliased = Config {
        label_aliases: [("Stage Map".to_string(), vec!["단계 지도".to_string()])].into(),
        ..Config::default()
    };
    for config in [Config::default(), aliased] {
        for (name, text) in &texts {
            for text in [text.clone(), text.replace("Stage Map", "단계 지도")] {
                let plan = model::parse(&text, &config);
                let full = rules::check(&text, &plan, &config);
                if !model::may_be_plan(&text, &config) {
                    skipped += 1;
                    assert!(
                        full.is_empty(),
                        "{name}: skipped, but reports {:?}",
                        full.iter().map(|f| f.code).collect::<Vec<_>>()
                    );
                    assert!(okstra_lsp::analyze(&text, &config).is_empty());
                } else {
                    assert_eq!(okstra_lsp::analyze(&text, &config), full, "{name}");
                }
            }
        }
    }
    assert!(skipped > 20, "ordinary markdown is skipped ({skipped})");
}
