//! `okstra-lsp batch reserve` as separate processes: racing reservations,
//! processes killed mid-reservation, and file-system faults. Each test drives
//! the real binary and reads `consumers.jsonl` back byte for byte.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_okstra-lsp");

/// A run layout `<root>/runs/demo/planning/plan.md` in a fresh folder.
struct Run {
    base: PathBuf,
    plan: PathBuf,
    consumers: PathBuf,
}

impl Run {
    fn new(name: &str, plan_text: &str) -> Run {
        let base =
            std::env::temp_dir().join(format!("okstra-reserve-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let planning = base.join("runs/demo/planning");
        fs::create_dir_all(&planning).unwrap();
        let plan = planning.join("plan.md");
        fs::write(&plan, plan_text).unwrap();
        let consumers = base.join("runs/demo/consumers.jsonl");
        Run {
            base,
            plan,
            consumers,
        }
    }

    fn reserve_cmd(&self, key: &str) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(["batch", "reserve"])
            .arg(&self.plan)
            .args(["--impl-key", key, "--format", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn reserve(&self, key: &str) -> Output {
        self.reserve_cmd(key).output().unwrap()
    }

    fn bytes(&self) -> Vec<u8> {
        fs::read(&self.consumers).unwrap_or_default()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

/// `n` independent stages of 5 steps each: with the default budget of 8,
/// every reservation takes exactly one stage (okstra's walk stops at the
/// first stage that would exceed the budget).
fn independent_plan(n: u32) -> String {
    let mut s = String::from(
        "# Plan\n\n## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n",
    );
    for i in 1..=n {
        s.push_str(&format!("| {i} | Stage {i} | (none) | 5 |\n"));
    }
    for i in 1..=n {
        s.push_str(&format!(
            "\n### 4.5.{i} Stage {i} — Stage {i}\n\n#### Stepwise Execution Order\n\
             | step | action | files | command | expected |\n|---|---|---|---|---|\n"
        ));
        for step in 1..=5 {
            s.push_str(&format!(
                "| {step} | work | `src/s{i}.rs` | `cargo test` | passes |\n"
            ));
        }
        s.push_str(&format!(
            "\n#### Stage Exit Contract\n- Predicted added/modified files: `src/s{i}.rs`\n\n\
             #### Stage Validation\n- post: `cargo test` passes\n"
        ));
    }
    s.push_str(
        "\n### 4.5.9 Plan Body Verification\n| Plan item | claude | codex | Classification |\n\
         |---|---|---|---|\n| Stage 1 scope | AGREE | AGREE | full-consensus |\n\n\
         ## 5. Clarification Items\n| ID | Kind | Statement | Expected form | Blocks |\n\
         |---|---|---|---|---|\n",
    );
    s
}

/// Every line after `prefix` must be a whole `started` row; returns
/// (stage, impl_task_key) per row.
fn appended_rows(bytes: &[u8], prefix: &[u8]) -> Vec<(u64, String)> {
    assert!(
        bytes.starts_with(prefix),
        "the file's earlier bytes changed:\n{}",
        String::from_utf8_lossy(bytes)
    );
    let rest = std::str::from_utf8(&bytes[prefix.len()..]).expect("appended rows are UTF-8");
    assert!(
        rest.is_empty() || rest.ends_with('\n'),
        "a row was cut short: {rest:?}"
    );
    rest.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a whole JSON row ({e}): {line:?}"));
            assert_eq!(v["status"], "started", "{line}");
            (
                v["stage"].as_u64().expect("stage is a number"),
                v["impl_task_key"].as_str().expect("key").to_string(),
            )
        })
        .collect()
}

const PLANTED: &str =
    "{\"impl_task_key\":\"old\",\"stage\":10,\"status\":\"done\"}\nthis line is not JSON\n";

#[test]
fn racing_reservations_never_reserve_a_stage_twice() {
    // 9 stages are ready (10 is done), 12 processes race for them.
    let run = Run::new("race", &independent_plan(10));
    fs::write(&run.consumers, PLANTED).unwrap();
    let children: Vec<(String, Child)> = (0..12)
        .map(|i| {
            let key = format!("impl-{i}");
            let child = run.reserve_cmd(&key).spawn().unwrap();
            (key, child)
        })
        .collect();
    let mut winners = BTreeSet::new();
    let mut losers = 0;
    for (key, child) in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                let stages = v["stages"].as_array().unwrap();
                assert_eq!(stages.len(), 1, "{v}");
                assert!(
                    stderr.contains(":2: skipped"),
                    "the planted line is reported: {stderr}"
                );
                winners.insert((stages[0].as_u64().unwrap(), key));
            }
            Some(1) => {
                assert!(stderr.contains("no stage is ready"), "{stderr}");
                losers += 1;
            }
            other => panic!("{key}: exit {other:?}: {stderr}"),
        }
    }
    assert_eq!(winners.len(), 9);
    assert_eq!(losers, 3);
    let rows = appended_rows(&run.bytes(), PLANTED.as_bytes());
    let reserved: BTreeSet<(u64, String)> = rows.iter().cloned().collect();
    assert_eq!(rows.len(), reserved.len(), "a row was written twice");
    let stages: BTreeSet<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(stages, (1..=9).collect(), "each stage exactly once");
    assert_eq!(
        reserved, winners,
        "the file agrees with what each process printed"
    );
}

#[test]
fn a_process_killed_between_selection_and_append_writes_nothing() {
    let run = Run::new("kill", &independent_plan(3));
    fs::write(&run.consumers, PLANTED).unwrap();
    let mut child = run
        .reserve_cmd("doomed")
        .env("OKSTRA_LSP_TEST_HOOKS", "1")
        .env("OKSTRA_LSP_TEST_RESERVE_PAUSE_MS", "30000")
        .spawn()
        .unwrap();
    // Wait until it holds the lock and has selected its batch.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "hook never reached"
        );
        if line.contains("test hook: pausing") {
            break;
        }
    }
    // While it holds the lock, a second reservation waits for it.
    let mut waiting = run.reserve_cmd("patient").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "the second reservation must wait for the lock"
    );
    assert_eq!(run.bytes(), PLANTED.as_bytes());
    child.kill().unwrap();
    child.wait().unwrap();
    // The kernel released the dead process's lock: the waiting one proceeds,
    // and finds stage 1 still free because the killed one wrote nothing.
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = appended_rows(&run.bytes(), PLANTED.as_bytes());
    assert_eq!(rows, vec![(1, "patient".to_string())]);
}

#[test]
fn processes_killed_at_random_moments_leave_whole_lines() {
    let run = Run::new("chaos", &independent_plan(40));
    fs::write(&run.consumers, PLANTED).unwrap();
    // Deterministic pseudo-random delays (no seed from the clock), spread
    // over the time a reservation takes, so some processes die before the
    // lock and some while holding it; one is killed at once and one is left
    // to finish, whatever the machine's load.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut children = Vec::new();
    for i in 0..16 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let child = run.reserve_cmd(&format!("k{i}")).spawn().unwrap();
        let delay = match i {
            0 => Duration::ZERO,
            _ => Duration::from_micros(x % 60_000),
        };
        children.push((Instant::now() + delay, child));
    }
    let survivor = run.reserve_cmd("survivor").spawn().unwrap();
    let mut last = (false, false);
    for (when, mut child) in children {
        if let Some(wait) = when.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let _ = child.kill();
        let status = child.wait().unwrap();
        last.0 |= status.code().is_some();
        last.1 |= status.signal() == Some(9);
    }
    let out = survivor.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    last.0 = true;
    assert_eq!(last, (true, true), "(some finished, some were killed)");
    let rows = appended_rows(&run.bytes(), PLANTED.as_bytes());
    assert!(!rows.is_empty(), "the finished reservations wrote rows");
    let stages: BTreeSet<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(
        stages.len(),
        rows.len(),
        "no stage reserved twice: {rows:?}"
    );
    // And the file still takes a reservation afterwards.
    let out = run.reserve("after");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    appended_rows(&run.bytes(), PLANTED.as_bytes());
}

#[test]
fn a_file_without_a_final_newline_gets_one_before_the_row() {
    let run = Run::new("newline", &independent_plan(2));
    let before = "{\"impl_task_key\":\"old\",\"stage\":1,\"status\":\"done\"}";
    fs::write(&run.consumers, before).unwrap();
    let out = run.reserve("next");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut prefix = before.as_bytes().to_vec();
    prefix.push(b'\n');
    let rows = appended_rows(&run.bytes(), &prefix);
    assert_eq!(rows, vec![(2, "next".to_string())]);
}

/// Runs `cmd` as an unprivileged user when the tests run as root (root
/// ignores file modes), so a read-only folder is read-only for it.
fn unprivileged(cmd: Command) -> Command {
    if !running_as_root() {
        return cmd;
    }
    let mut wrapped = Command::new("setpriv");
    wrapped
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    wrapped
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The binary must be reachable by the unprivileged user: copy it next to
/// the run, in folders everyone may read.
fn open_for_all(run: &Run) -> PathBuf {
    let bin = run.base.join("okstra-lsp");
    fs::copy(BIN, &bin).unwrap();
    for dir in [
        run.base.clone(),
        run.base.join("runs"),
        run.base.join("runs/demo/planning"),
    ] {
        set_mode(&dir, 0o755);
    }
    set_mode(&bin, 0o755);
    set_mode(&run.plan, 0o644);
    bin
}

fn reserve_as(run: &Run, bin: &Path, key: &str) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(["batch", "reserve"])
        .arg(&run.plan)
        .args(["--impl-key", key]);
    unprivileged(cmd).output().unwrap()
}

#[test]
fn a_read_only_run_folder_is_a_clear_error_and_writes_nothing() {
    let run = Run::new("readonly", &independent_plan(2));
    let bin = open_for_all(&run);
    let run_root = run.base.join("runs/demo");
    set_mode(&run_root, 0o555);
    let out = reserve_as(&run, &bin, "k");
    set_mode(&run_root, 0o755);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("consumers.jsonl: cannot open for append") && stderr.contains("denied"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(!run.consumers.exists(), "nothing was created");
}

#[test]
fn a_read_only_consumers_file_is_a_clear_error_and_keeps_its_bytes() {
    let run = Run::new("readonly-file", &independent_plan(2));
    let bin = open_for_all(&run);
    fs::write(&run.consumers, PLANTED).unwrap();
    set_mode(&run.consumers, 0o444);
    set_mode(&run.base.join("runs/demo"), 0o755);
    let out = reserve_as(&run, &bin, "k");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("denied"), "{stderr}");
    assert_eq!(run.bytes(), PLANTED.as_bytes());
}

#[test]
fn a_missing_plan_or_run_folder_is_a_clear_error_and_writes_nothing() {
    let run = Run::new("missing", &independent_plan(2));
    let gone = run.base.join("runs/gone/planning/plan.md");
    let out = Command::new(BIN)
        .args(["batch", "reserve"])
        .arg(&gone)
        .args(["--impl-key", "k"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("plan.md"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!run.base.join("runs/gone").exists());
    assert!(!run.consumers.exists());
}

#[test]
fn nothing_to_reserve_creates_no_file() {
    let run = Run::new("nothing", &independent_plan(2));
    let out = Command::new(BIN)
        .args(["batch", "reserve"])
        .arg(&run.plan)
        .args(["--impl-key", "k", "--stage", "9"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !run.consumers.exists(),
        "no empty consumers.jsonl left behind"
    );
}

#[test]
fn a_symlinked_consumers_file_is_refused_and_its_target_untouched() {
    let run = Run::new("symlink", &independent_plan(2));
    let target = run.base.join("elsewhere.txt");
    fs::write(&target, "precious\n").unwrap();
    std::os::unix::fs::symlink(&target, &run.consumers).unwrap();
    for args in [&["reserve", "--impl-key", "k"][..], &["preview"][..]] {
        let out = Command::new(BIN)
            .arg("batch")
            .arg(args[0])
            .arg(&run.plan)
            .args(&args[1..])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("symbolic link"), "{stderr}");
    }
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
}

#[test]
fn rows_go_out_in_ascending_stage_order_with_one_python_isoformat_timestamp() {
    // Stage Map rows 3, 1, 2; the cells say 2 steps each (the sections count 5).
    let plan = independent_plan(3)
        .replace("| 1 | Stage 1 | (none) | 5 |\n", "")
        .replace(
            "| 3 | Stage 3 | (none) | 5 |\n",
            "| 3 | Stage 3 | (none) | 2 |\n| 1 | Stage 1 | (none) | 2 |\n",
        )
        .replace(
            "| 2 | Stage 2 | (none) | 5 |\n",
            "| 2 | Stage 2 | (none) | 2 |\n",
        );
    assert!(plan.contains("| 3 | Stage 3 | (none) | 2 |\n| 1 | Stage 1 | (none) | 2 |\n"));
    let run = Run::new("order", &plan);
    let out = run.reserve("impl-o");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stages"], serde_json::json!([1, 2, 3]));
    assert_eq!(
        v["totalSteps"], 6,
        "the Stage Map cells, not the counted rows"
    );
    let text = String::from_utf8(run.bytes()).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stages: Vec<u64> = rows.iter().map(|r| r["stage"].as_u64().unwrap()).collect();
    assert_eq!(stages, [1, 2, 3]);
    let stamps: BTreeSet<&str> = rows
        .iter()
        .map(|r| r["started_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        stamps.len(),
        1,
        "one timestamp for the whole batch: {stamps:?}"
    );
    let stamp = *stamps.iter().next().unwrap();
    // `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$` (Python leaves out a
    // zero fraction)
    let fits = |shape: &str| {
        stamp.len() == shape.len()
            && stamp.bytes().zip(shape.bytes()).all(|(c, p)| {
                if p == b'9' {
                    c.is_ascii_digit()
                } else {
                    c == p
                }
            })
    };
    assert!(
        fits("9999-99-99T99:99:99.999999+00:00") || fits("9999-99-99T99:99:99+00:00"),
        "{stamp}"
    );
}
