//! The command line through the real binary: settings files, flags laid
//! over them, and the outputs other tools read.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_okstra-lsp");

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("okstra-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("runs/demo/planning")).unwrap();
        Dir(d)
    }
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// Stage 1 has 4 steps; its heading is "단계 지도" (a label alias of Stage Map).
const KOREAN_MAP: &str = "# 계획\n\n## 단계 지도\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | 파서 | (none) | 4 |\n| 2 | 문서 | 1 | 1 |\n\n### 4.5.1 Stage 1 — 파서\n\n#### Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n| 1 | a | `src/a.rs` | `t` | ok |\n| 2 | b | `src/a.rs` | `t` | ok |\n| 3 | c | `src/a.rs` | `t` | ok |\n| 4 | d | `src/a.rs` | `t` | ok |\n\n#### Stage Exit Contract\n- Predicted added/modified files: `src/a.rs`\n\n#### Stage Validation\n- post: ok\n\n### 4.5.2 Stage 2 — 문서\n\n#### Stepwise Execution Order\n| step | action | files | command | expected |\n|---|---|---|---|---|\n| 1 | a | `docs/` | `t` | ok |\n\n#### Stage Exit Contract\n- Predicted added/modified files: `docs/`\n\n#### Stage Validation\n- post: ok\n\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n|---|---|---|---|\n| Scope | AGREE | AGREE | full-consensus |\n\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n";

#[test]
fn check_reads_label_aliases_and_cap_from_a_settings_file_and_flags_win() {
    let d = Dir::new("config");
    let plan = d.write("runs/demo/planning/plan.md", KOREAN_MAP);
    let plan = plan.to_str().unwrap();
    // Without the alias the Stage Map is not found.
    let out = run(&["check", "--format", "json", "--cap", "3", plan]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&json(&out)), ["stage-map-missing"]);

    let cfg = d.write(
        "okstra.json",
        r#"{"okstra": {"cap": 3, "labelAliases": {"Stage Map": ["단계 지도"]}}}"#,
    );
    let cfg = cfg.to_str().unwrap();
    let out = run(&["check", "--format", "json", "--config", cfg, plan]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(codes(&json(&out)), ["steps-over-cap"]);
    // --cap overrides the file.
    let out = run(&[
        "check", "--format", "json", "--config", cfg, "--cap", "4", plan,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(codes(&json(&out)).is_empty());
    // The same settings reach `batch`: the plan is a plan there too.
    let out = run(&[
        "batch", "preview", "--format", "json", "--config", cfg, plan,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["stages"], serde_json::json!([1]));
}

#[test]
fn severity_overrides_from_the_settings_file_apply() {
    let d = Dir::new("severity");
    let plan = d.write(
        "plan.md",
        &KOREAN_MAP.replace("## 단계 지도", "## 4.5 Stage Map"),
    );
    let cfg = d.write(
        "s.json",
        r#"{"cap": 3, "severityOverrides": {"steps-over-cap": "warning"}}"#,
    );
    let out = run(&[
        "check",
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
        plan.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning does not fail the check"
    );
    let v = json(&out);
    assert_eq!(codes(&v), ["steps-over-cap"]);
    assert_eq!(v[0]["severity"], "warning");
}

#[test]
fn a_bad_settings_file_is_a_usage_error() {
    let d = Dir::new("bad");
    let plan = d.write("plan.md", KOREAN_MAP);
    for (name, text, says) in [
        ("notjson.json", "{cap: 3", "not JSON"),
        ("badvalue.json", r#"{"cap": "six"}"#, "okstra.cap"),
        ("misspelt.json", r#"{"Cap": 2}"#, "unknown setting \"Cap\""),
    ] {
        let cfg = d.write(name, text);
        let out = run(&[
            "check",
            "--config",
            cfg.to_str().unwrap(),
            plan.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says) && stderr.contains(name), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let out = run(&[
        "check",
        "--config",
        "/nonexistent/okstra.json",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn batch_budget_comes_from_the_settings_file_unless_given() {
    let d = Dir::new("budget");
    let plan = d.write(
        "runs/demo/planning/plan.md",
        &KOREAN_MAP
            .replace("## 단계 지도", "## 4.5 Stage Map")
            .replace("| 2 | 문서 | 1 | 1 |", "| 2 | 문서 | (none) | 1 |"),
    );
    let plan = plan.to_str().unwrap();
    let cfg = d.write("b.json", r#"{"runBudget": 4}"#);
    let cfg = cfg.to_str().unwrap();
    let preview = |extra: &[&str]| {
        let mut args = vec!["batch", "preview", "--format", "json", "--config", cfg];
        args.extend_from_slice(extra);
        args.push(plan);
        json(&run(&args))
    };
    // 4 + 1 steps exceed a budget of 4: the walk stops after stage 1.
    let v = preview(&[]);
    assert_eq!(v["stages"], serde_json::json!([1]));
    assert_eq!(v["budget"], 4);
    let v = preview(&["--budget", "5"]);
    assert_eq!(v["stages"], serde_json::json!([1, 2]));
}

#[test]
fn batch_preview_json_reports_invalid_lines_like_the_server() {
    let d = Dir::new("invalid");
    let plan = d.write(
        "runs/demo/planning/plan.md",
        &KOREAN_MAP.replace("## 단계 지도", "## 4.5 Stage Map"),
    );
    d.write("runs/demo/consumers.jsonl", "not json\n");
    let out = run(&[
        "batch",
        "preview",
        "--format",
        "json",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["invalidLines"][0]["line"], 1, "{v}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(":1: skipped"));
}

#[test]
fn fix_dry_run_prints_a_diff_with_clean_headers_and_writes_nothing() {
    let d = Dir::new("fix");
    let text = KOREAN_MAP
        .replace("## 단계 지도", "## 4.5 Stage Map")
        .replace("| 1 | 파서 | (none) | 4 |", "| 1 | 파서 | (none) | 2 |");
    let plan = d.write("plan.md", &text);
    let out = run(&["fix", "--dry-run", plan.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(!diff.contains("a//") && !diff.contains("b//"), "{diff}");
    assert!(diff.contains("-| 1 | 파서 | (none) | 2 |"), "{diff}");
    assert!(diff.contains("+| 1 | 파서 | (none) | 4 |"), "{diff}");
    assert_eq!(fs::read_to_string(&plan).unwrap(), text);
}

#[test]
fn check_walks_each_real_folder_once_through_symlink_loops() {
    let d = Dir::new("loops");
    let plan = KOREAN_MAP
        .replace("## 단계 지도", "## 4.5 Stage Map")
        .replace("| 1 | 파서 | (none) | 4 |", "| 1 | 파서 | (none) | 2 |");
    d.write("runs/demo/planning/plan.md", &plan);
    let planning = d.0.join("runs/demo/planning");
    // A link back up (a loop) and a second way into the same folder.
    std::os::unix::fs::symlink(&d.0, planning.join("up")).unwrap();
    std::os::unix::fs::symlink(&planning, d.0.join("again")).unwrap();
    std::os::unix::fs::symlink(d.0.join("nowhere"), d.0.join("dangling.md")).unwrap();
    let out = run(&["check", "--format", "json", d.0.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(codes(&v), ["step-count-mismatch"], "the plan once: {v}");
}

#[test]
fn the_size_limit_comes_from_the_settings_file_and_its_code_can_be_silenced() {
    let d = Dir::new("size");
    let plan = d.write(
        "plan.md",
        &KOREAN_MAP.replace("## 단계 지도", "## 4.5 Stage Map"),
    );
    let plan = plan.to_str().unwrap();
    let small = d.write("small.json", r#"{"maxDocumentBytes": 100}"#);
    let out = run(&[
        "check",
        "--format",
        "json",
        "--config",
        small.to_str().unwrap(),
        plan,
    ]);
    assert_eq!(out.status.code(), Some(0), "a warning");
    assert_eq!(codes(&json(&out)), ["document-too-large"]);
    let off = d.write(
        "off.json",
        r#"{"maxDocumentBytes": 100, "severityOverrides": {"document-too-large": "off"}}"#,
    );
    let out = run(&[
        "check",
        "--format",
        "json",
        "--config",
        off.to_str().unwrap(),
        plan,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(codes(&json(&out)).is_empty());
}

#[test]
fn a_file_named_twice_or_inside_a_named_folder_is_checked_once() {
    let d = Dir::new("twice");
    let text = KOREAN_MAP
        .replace("## 단계 지도", "## 4.5 Stage Map")
        .replace("| 1 | 파서 | (none) | 4 |", "| 1 | 파서 | (none) | 2 |");
    let plan = d.write("runs/demo/planning/plan.md", &text);
    let plan = plan.to_str().unwrap();
    let out = run(&[
        "check",
        "--format",
        "json",
        plan,
        plan,
        d.0.to_str().unwrap(),
    ]);
    assert_eq!(codes(&json(&out)), ["step-count-mismatch"]);
}

/// A file that cannot be read even by root: reading a process's `mem` from
/// offset 0 fails with EIO.
#[cfg(target_os = "linux")]
const UNREADABLE: &str = "/proc/self/mem";

/// `KOREAN_MAP` as a plan whose stage 1 steps cell says 2 (its table has 4):
/// one safe fix.
fn fixable() -> String {
    KOREAN_MAP
        .replace("## 단계 지도", "## 4.5 Stage Map")
        .replace("| 1 | 파서 | (none) | 4 |", "| 1 | 파서 | (none) | 2 |")
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
#[cfg(target_os = "linux")]
fn fix_reports_each_bad_file_and_still_fixes_the_others() {
    let d = Dir::new("fixbad");
    let text = fixable();
    // Sorted first: a file whose rewrite fails (a folder is in the way of
    // the temporary file written beside it).
    let unwritable = d.write("a-unwritable.md", &text);
    fs::create_dir(d.0.join(".a-unwritable.md.okstra-fix.tmp")).unwrap();
    // A file that is not UTF-8 (one Latin-1 byte in a title).
    let mut latin1 = text.clone().into_bytes();
    let at = text.find("파서").unwrap();
    latin1.splice(at..at + "파서".len(), [b'p', 0xE9, b'r']);
    let not_utf8 = d.0.join("b-latin1.md");
    fs::write(&not_utf8, &latin1).unwrap();
    let good = d.write("c-good.md", &text);
    let folder = d.0.to_str().unwrap();

    let out = run(&["fix", UNREADABLE, folder]);
    let lines = stderr_lines(&out);
    assert_eq!(out.status.code(), Some(2), "{lines:#?}");
    let says = |path: &std::path::Path, what: &str| {
        let prefix = format!("okstra-lsp: {}: ", path.display());
        lines
            .iter()
            .any(|l| l.starts_with(&prefix) && l.contains(what))
    };
    assert!(
        says(std::path::Path::new(UNREADABLE), "os error"),
        "{lines:#?}"
    );
    assert!(says(&unwritable, "os error"), "{lines:#?}");
    assert!(says(&not_utf8, "not UTF-8"), "{lines:#?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Fixed 1 issue(s) in 4 file(s) checked; 3 file(s) failed."),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains("panicked")), "{lines:#?}");
    // The good file is fixed; the bad ones are as they were, byte for byte.
    assert!(
        fs::read_to_string(&good)
            .unwrap()
            .contains("| 1 | 파서 | (none) | 4 |")
    );
    assert_eq!(fs::read_to_string(&unwritable).unwrap(), text);
    assert_eq!(fs::read(&not_utf8).unwrap(), latin1);

    // A dry run writes nothing, so only the unreadable and the non-UTF-8
    // files fail; both fixable files get their diff.
    fs::write(&good, &text).unwrap();
    let out = run(&["fix", "--dry-run", folder, UNREADABLE]);
    let lines = stderr_lines(&out);
    assert_eq!(out.status.code(), Some(2), "{lines:#?}");
    let diff = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        diff.matches("+| 1 | 파서 | (none) | 4 |").count(),
        2,
        "{diff}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Would fix 2 issue(s) in 4 file(s) checked; 2 file(s) failed."),
        "{lines:#?}"
    );
}

#[test]
fn fix_exits_0_when_every_file_is_fine() {
    let d = Dir::new("fixok");
    let plan = d.write("plan.md", &fixable());
    let out = run(&["fix", plan.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stderr_lines(&out),
        ["Fixed 1 issue(s) in 1 file(s) checked."]
    );
    let out = run(&["check", plan.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "fixed: {out:?}");
}

#[test]
#[cfg(target_os = "linux")]
fn check_reports_a_file_it_cannot_read_and_checks_the_others() {
    let d = Dir::new("checkbad");
    let a = d.write("a.md", &fixable());
    let b = d.write("b.md", &fixable());
    let out = run(&[
        "check",
        "--format",
        "json",
        a.to_str().unwrap(),
        UNREADABLE,
        b.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(codes(&v), ["step-count-mismatch", "step-count-mismatch"]);
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with(&format!("okstra-lsp: {UNREADABLE}: ")),
        "{lines:#?}"
    );
    // Text: the summary counts it.
    let out = run(&["check", a.to_str().unwrap(), UNREADABLE]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_lines(&out).last().map(String::as_str),
        Some(
            "Found 1 error(s) and 0 warning(s) in 2 file(s) checked; 1 file(s) could not be checked."
        )
    );
}

#[test]
fn fix_adds_a_row_after_a_last_line_ending_in_hangul() {
    let d = Dir::new("fixhangul");
    // The §5 table's last row ends in Hangul, without a closing pipe or a
    // final line break; C-1 has no row, so the safe fix adds one after it.
    let text = KOREAN_MAP.replace("## 단계 지도", "## 4.5 Stage Map").replace(
        "| Scope | AGREE | AGREE | full-consensus |\n\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n|---|---|---|---|---|\n",
        "| 범위 | AGREE | DISAGREE | majority-disagree → C-1 |\n| 순서 | AGREE | DISAGREE | majority-disagree → C-2 |\n\n## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks | 비고\n|---|---|---|---|---|---\n| C-2 | decision | 왜? Evidence checked: `src/a.rs:1` | Recommended: 예 — 이유 | approval | 단계",
    );
    let plan = d.write("plan.md", &text);
    let plan = plan.to_str().unwrap();
    let out = run(&["check", "--format", "json", "--cap", "4", plan]);
    assert_eq!(codes(&json(&out)), ["clarification-orphan-ref"]);
    let out = run(&["fix", "--cap", "4", plan]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fixed = fs::read_to_string(plan).unwrap();
    assert!(
        fixed.starts_with(&text) && fixed[text.len()..].starts_with("\n| C-1 |"),
        "{fixed}"
    );
    let out = run(&["check", "--format", "json", "--cap", "4", plan]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// With the test hook, the work on one file panics (as a bug would): that
/// file gets one line on stderr, the others are done, the status is 2, not
/// a panic's 101; the same for `check` (files on several threads) and `batch`.
#[test]
fn a_panic_in_one_files_work_is_that_files_error() {
    let d = Dir::new("panic");
    let text = fixable();
    let a = d.write("a.md", &text);
    let boom = d.write("boom.md", &text);
    let c = d.write("c.md", &text);
    let hooked = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("OKSTRA_LSP_TEST_HOOKS", "1")
            .env("OKSTRA_LSP_TEST_PANIC_FILE", "boom.md")
            .output()
            .unwrap()
    };
    let folder = d.0.to_str().unwrap();
    let expected = format!(
        "okstra-lsp: {}: internal error: test hook: panicking on {}",
        boom.display(),
        boom.display()
    );

    let out = hooked(&["check", "--format", "json", folder]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        codes(&json(&out)),
        ["step-count-mismatch", "step-count-mismatch"]
    );
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with(&expected), "{lines:#?}");
    assert!(
        lines[0].ends_with("(a bug: please report it)"),
        "{lines:#?}"
    );

    let out = hooked(&["fix", folder]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert!(lines[0].starts_with(&expected), "{lines:#?}");
    assert_eq!(
        lines[1..],
        ["Fixed 2 issue(s) in 3 file(s) checked; 1 file(s) failed."]
    );
    for p in [&a, &c] {
        assert!(
            fs::read_to_string(p)
                .unwrap()
                .contains("| 1 | 파서 | (none) | 4 |")
        );
    }
    assert_eq!(fs::read_to_string(&boom).unwrap(), text);

    let out = hooked(&["batch", "preview", boom.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with(&expected), "{lines:#?}");
    // Without the hooks switched on, the variable does nothing.
    let out = Command::new(BIN)
        .args(["fix", "--dry-run", boom.to_str().unwrap()])
        .env("OKSTRA_LSP_TEST_PANIC_FILE", "boom.md")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// `okstra-lsp batch preview … | head -1`: a reader that stops reading ends
/// the command quietly, with no "internal error" (Rust ignores SIGPIPE, so
/// the print failed and was reported as a bug before).
#[cfg(unix)]
#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = Dir::new("closed-pipe");
    // A preview far longer than a pipe holds: a thousand blocked stages.
    let text = okstra_lsp::engine::generate::plan(&okstra_lsp::engine::generate::Spec::clean(1000));
    let plan = dir.write("runs/demo/planning/plan.md", &text);
    let mut child = Command::new(BIN)
        .args(["batch", "preview", "--format", "json"])
        .arg(&plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start okstra-lsp");
    let mut first = [0u8; 16];
    let mut stdout = child.stdout.take().expect("piped stdout");
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("okstra-lsp ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert!(!stderr.contains("please report"), "{stderr}");
}

/// `check --output-format github` prints one workflow command per finding,
/// as the committed golden file says; `--format` is the same option; the
/// exit status is that of every other format (1: errors found).
#[test]
fn github_output_matches_its_golden_file() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = [
        "fixtures/rules/s9-file-overlap/trigger.md",
        "fixtures/rules/clarification-no-evidence/trigger.md",
    ];
    let golden =
        fs::read_to_string(root.join("fixtures/output/check.github.txt")).expect("the golden file");
    for option in ["--output-format", "--format"] {
        let out = Command::new(BIN)
            .current_dir(&root)
            .args(["check", option, "github"])
            .args(files)
            .output()
            .expect("run okstra-lsp");
        assert_eq!(String::from_utf8_lossy(&out.stdout), golden, "{option}");
        assert_eq!(out.status.code(), Some(1), "{option}");
    }
}

/// `check --output-format junit` writes one test case per file checked (a
/// plan with findings, one with warnings only, a clean plan, markdown that
/// is not a plan), as the committed golden file says; same exit status.
#[test]
fn junit_output_matches_its_golden_file() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let golden =
        fs::read_to_string(root.join("fixtures/output/check.junit.xml")).expect("the golden file");
    let out = Command::new(BIN)
        .current_dir(&root)
        .args(["check", "--output-format", "junit"])
        .args([
            "fixtures/rules/s9-file-overlap/trigger.md",
            "fixtures/rules/clarification-no-evidence/trigger.md",
            "fixtures/plans/flat.md",
            "README.md",
        ])
        .output()
        .expect("run okstra-lsp");
    assert_eq!(String::from_utf8_lossy(&out.stdout), golden);
    assert_eq!(out.status.code(), Some(1));
}

/// `--docs-url` must be an absolute URL: anything else is a usage error.
#[test]
fn a_relative_docs_url_is_a_usage_error() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(BIN)
        .current_dir(&root)
        .args([
            "check",
            "--output-format",
            "sarif",
            "--docs-url",
            "docs/rules/",
        ])
        .arg("fixtures/plans/flat.md")
        .output()
        .expect("run okstra-lsp");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--docs-url") && stderr.contains("not an absolute URL"),
        "{stderr}"
    );
}

/// Stages 2 and 1 in that section order, with references to both.
const OUT_OF_ORDER: &str = "## 4.5 Stage Map
| Stage | Title | depends-on | Steps |
|---|---|---|---|
| 2 | first | (none) | 1 |
| 1 | second | 2 | 1 |

### Stage 2: first
#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 2.1 | a | `src/a.rs` | `t` | ok |
#### Stage Exit Contract
- Predicted files: `src/a.rs`

### Stage 1: second
#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1.1 | b | `src/b.rs` | `t` | ok |
#### Stage Exit Contract
- Predicted files: `src/b.rs`, feeds nothing after Stage 2
";

#[test]
fn fix_renumber_renumbers_in_section_order_unless_a_run_recorded_them() {
    let d = Dir::new("renumber");
    let plan = d.write("runs/demo/planning/plan.md", OUT_OF_ORDER);
    let path = plan.to_str().unwrap();
    // A started row for stage 2: refused, the file left as it is.
    let consumers = d.write(
        "runs/demo/consumers.jsonl",
        "{\"impl_task_key\":\"i\",\"stage\":2,\"status\":\"started\"}\n",
    );
    let out = run(&["fix", "--renumber", path]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not renumbered: stage 2 has started or done rows in consumers.jsonl")
            && err.contains("pass --force"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&plan).unwrap(), OUT_OF_ORDER);
    // --force, or no rows for those stages: renumbered.
    let expected = OUT_OF_ORDER
        .replace("| 2 | first | (none)", "| 1 | first | (none)")
        .replace("| 1 | second | 2 |", "| 2 | second | 1 |")
        .replace("### Stage 2: first", "### Stage 1: first")
        .replace("### Stage 1: second", "### Stage 2: second")
        .replace("| 2.1 |", "| 1.1 |")
        .replace("| 1.1 | b |", "| 2.1 | b |")
        .replace("after Stage 2", "after Stage 1");
    let out = run(&["fix", "--renumber", "--force", path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read_to_string(&plan).unwrap(), expected);
    // Idempotent.
    fs::remove_file(&consumers).unwrap();
    let out = run(&["fix", "--renumber", path]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fs::read_to_string(&plan).unwrap(), expected);
    // Without --renumber the numbers stay.
    fs::write(&plan, OUT_OF_ORDER).unwrap();
    let out = run(&["fix", path]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fs::read_to_string(&plan).unwrap(), OUT_OF_ORDER);
}
