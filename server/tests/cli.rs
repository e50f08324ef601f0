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
