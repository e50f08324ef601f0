//! The run-batch service: the one preview and the one reservation that
//! `okstra-lsp batch preview|reserve` and the server's
//! `okstra.previewRunBatch` / `okstra.reserveRunBatch` run, with their text
//! summary rendered here once.
//!
//! The I/O sits behind [`Env`] (`consumers::Disk` is the real one; the tests
//! use a fake), so the selection and the rows a reservation appends are
//! decided here, and tested, without a disk. `Env::append_locked` keeps the
//! file's guarantees: the exclusive lock held from the read to the append,
//! the text read again under it, one `write` of whole lines.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::run::batch::{self, BatchStage, Options, RunBatch};
use crate::run::consumers::{self, Consumers, InvalidLine, StartedRow};
use crate::run::error::{ErrorKind, RunError};

/// What the service reads, writes and asks the world.
pub trait Env {
    /// `consumers.jsonl` as it is now (a missing file is an empty one); a
    /// preview may get it from a cache.
    fn read_consumers(&self, path: &Path) -> Result<Arc<Consumers>, RunError>;
    /// Locks `path` exclusively, reads it under the lock, appends what
    /// `decide` returns for its text in one write, unlocks. A refusal
    /// from `decide` appends nothing (and creates no file).
    fn append_locked(
        &self,
        path: &Path,
        decide: &mut dyn FnMut(&str) -> Result<String, RunError>,
    ) -> Result<(), RunError>;
    /// Now, as okstra writes `started_at`.
    fn now(&self) -> String;
    /// The git HEAD of the repository holding `dir`, or "".
    fn head_commit(&self, dir: &Path) -> String;
}

/// A plan's stages, what is asked of them, and where its `consumers.jsonl` is.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub stages: &'a [BatchStage],
    pub options: Options,
    pub consumers_path: &'a Path,
    /// At most this many entries in each of the answer's lists of ready,
    /// done, started and blocked stages (and its summary's lines);
    /// `None`: all of them.
    pub list_limit: Option<usize>,
}

/// `okstra.previewRunBatch`'s result and `batch preview --format json`
/// (camelCase keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    #[serde(flatten)]
    pub batch: RunBatch,
    pub consumers_path: String,
    /// The first 1,000 lines of `consumers.jsonl` that are not usable rows.
    pub invalid_lines: Vec<InvalidLine>,
    /// Invalid lines past those listed.
    #[serde(skip)]
    pub invalid_omitted: usize,
    /// The text `okstra-lsp batch preview` prints ([`summary`]).
    pub summary: String,
    /// One line per skipped line of `consumers.jsonl` ([`notes`]).
    pub notes: Vec<String>,
}

/// `okstra.reserveRunBatch`'s result and `batch reserve --format json`: the
/// batch and the rows appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    #[serde(flatten)]
    pub batch: RunBatch,
    pub consumers_path: String,
    pub rows: Vec<StartedRow>,
    pub invalid_lines: Vec<InvalidLine>,
    #[serde(skip)]
    pub invalid_omitted: usize,
    /// The text `okstra-lsp batch reserve` prints ([`summary`]).
    pub summary: String,
    pub notes: Vec<String>,
}

/// The batch the next run would take; writes nothing.
pub fn preview(env: &dyn Env, req: &Request) -> Result<Preview, RunError> {
    let path = req.consumers_path;
    let consumers = env.read_consumers(path)?;
    let notes = notes(path, &consumers.invalid, consumers.invalid_omitted);
    let mut batch =
        batch::select(req.stages, &consumers.status, &req.options).map_err(|e| RunError {
            notes: notes.clone(),
            ..e
        })?;
    if let Some(limit) = req.list_limit {
        batch.truncate(limit);
    }
    Ok(Preview {
        summary: summary(&batch, None),
        batch,
        consumers_path: path.display().to_string(),
        invalid_lines: consumers.invalid.clone(),
        invalid_omitted: consumers.invalid_omitted,
        notes,
    })
}

/// Reserves the next batch for `impl_task_key`: under the lock, selects
/// from the file as it is then and appends one `started` row per stage (one
/// timestamp for the whole batch).
pub fn reserve(env: &dyn Env, req: &Request, impl_task_key: &str) -> Result<Reservation, RunError> {
    let key = impl_task_key.trim();
    if key.is_empty() {
        return Err(RunError::new(
            ErrorKind::MissingImplKey,
            "an impl task key is required (implTaskKey / --impl-key)",
        ));
    }
    let path = req.consumers_path;
    let head_commit = env.head_commit(path.parent().unwrap_or(Path::new("")));
    let now = env.now();
    let mut decided = None;
    env.append_locked(path, &mut |text| {
        let consumers = consumers::parse(text);
        let batch = batch::select(req.stages, &consumers.status, &req.options)?;
        let rows: Vec<StartedRow> = batch
            .stages
            .iter()
            .map(|&stage| StartedRow {
                impl_task_key: key.to_string(),
                stage,
                status: "started".into(),
                started_at: now.clone(),
                head_commit: head_commit.clone(),
            })
            .collect();
        let appended = lines(&rows, consumers.missing_final_newline)?;
        decided = Some((batch, rows, consumers));
        Ok(appended)
    })?;
    let Some((mut batch, rows, consumers)) = decided else {
        return Err(RunError::new(
            ErrorKind::ConsumersUnwritable,
            format!(
                "{}: nothing was decided (a bug: please report it)",
                path.display()
            ),
        ));
    };
    if let Some(limit) = req.list_limit {
        batch.truncate(limit);
    }
    Ok(Reservation {
        summary: summary(&batch, Some(path)),
        notes: notes(path, &consumers.invalid, consumers.invalid_omitted),
        batch,
        consumers_path: path.display().to_string(),
        rows,
        invalid_lines: consumers.invalid,
        invalid_omitted: consumers.invalid_omitted,
    })
}

/// The rows as `\n`-ended JSON lines, after a `\n` when the file's last
/// line has none.
fn lines(rows: &[StartedRow], missing_final_newline: bool) -> Result<String, RunError> {
    let mut out = String::new();
    if missing_final_newline {
        out.push('\n');
    }
    for row in rows {
        let line = serde_json::to_string(row)
            .map_err(|e| RunError::new(ErrorKind::ConsumersUnwritable, e.to_string()))?;
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// The text summary, the one rendering of a batch that the CLI prints and
/// the server returns (`summary`), without a final newline:
///
/// ```text
/// Next run: stages 1, 2 — 6/8 steps
/// ready:   1, 2
/// done:    (none)
/// started: (none)
/// blocked: 3 (waiting on 1, 2), 4 (waiting on 3)
/// reserved in /work/runs/demo/consumers.jsonl
/// ```
///
/// (the last line for a reservation only).
pub fn summary(batch: &RunBatch, reserved_in: Option<&Path>) -> String {
    fn list<T: ToString>(v: impl IntoIterator<Item = T>, omitted: usize) -> String {
        let all: Vec<String> = v.into_iter().map(|x| x.to_string()).collect();
        match (all.is_empty(), omitted) {
            (true, 0) => "(none)".to_string(),
            (_, 0) => all.join(", "),
            (true, n) => format!("{n} stages"),
            (false, n) => format!("{}, … and {n} more", all.join(", ")),
        }
    }
    let omitted = batch.omitted;
    let started = batch
        .started
        .iter()
        .map(|s| format!("{} (by {})", s.stage, s.impl_task_key));
    let blocked = batch
        .blocked
        .iter()
        .map(|b| format!("{} (waiting on {})", b.stage, list(&b.waiting_on, 0)));
    let mut text = format!(
        "{}\nready:   {}\ndone:    {}\nstarted: {}\nblocked: {}",
        batch::summary(batch),
        list(&batch.ready, omitted.ready),
        list(&batch.done, omitted.done),
        list(started, omitted.started),
        list(blocked, omitted.blocked),
    );
    if let Some(path) = reserved_in {
        text.push_str(&format!("\nreserved in {}", path.display()));
    }
    text
}

/// One line per invalid line of `consumers.jsonl` (`PATH:LINE: skipped:
/// REASON`), then how many more were skipped; the CLI prints them on stderr.
pub fn notes(path: &Path, invalid: &[InvalidLine], omitted: usize) -> Vec<String> {
    let mut notes: Vec<String> = invalid
        .iter()
        .map(|i| format!("{}:{}: skipped: {}", path.display(), i.line, i.reason))
        .collect();
    if omitted > 0 {
        notes.push(format!(
            "{}: {omitted} more invalid lines skipped",
            path.display()
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::batch::Requested;
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;

    /// An environment in memory: files by path (`None`: a read fails with
    /// that error), a fixed clock and HEAD, and a record of what happened.
    #[derive(Default)]
    struct Fake {
        files: RefCell<BTreeMap<String, String>>,
        broken: Option<RunError>,
        appends: Cell<usize>,
        decisions: Cell<usize>,
        heads_asked: RefCell<Vec<String>>,
    }

    impl Fake {
        fn with(path: &str, text: &str) -> Fake {
            let fake = Fake::default();
            fake.files.borrow_mut().insert(path.into(), text.into());
            fake
        }

        fn text(&self, path: &str) -> Option<String> {
            self.files.borrow().get(path).cloned()
        }
    }

    impl Env for Fake {
        fn read_consumers(&self, path: &Path) -> Result<Arc<Consumers>, RunError> {
            if let Some(e) = &self.broken {
                return Err(e.clone());
            }
            let text = self.text(&path.display().to_string()).unwrap_or_default();
            Ok(Arc::new(consumers::parse(&text)))
        }

        fn append_locked(
            &self,
            path: &Path,
            decide: &mut dyn FnMut(&str) -> Result<String, RunError>,
        ) -> Result<(), RunError> {
            if let Some(e) = &self.broken {
                return Err(e.clone());
            }
            let key = path.display().to_string();
            let before = self.text(&key);
            self.decisions.set(self.decisions.get() + 1);
            let out = decide(before.as_deref().unwrap_or(""))?;
            self.appends.set(self.appends.get() + 1);
            self.files
                .borrow_mut()
                .insert(key, before.unwrap_or_default() + &out);
            Ok(())
        }

        fn now(&self) -> String {
            "2026-06-05T09:30:00.123456+00:00".into()
        }

        fn head_commit(&self, dir: &Path) -> String {
            self.heads_asked
                .borrow_mut()
                .push(dir.display().to_string());
            "abc123".into()
        }
    }

    const PATH: &str = "/runs/demo/consumers.jsonl";

    fn st(number: u32, steps: usize, deps: &[u32]) -> BatchStage {
        BatchStage {
            number,
            steps,
            depends_on: deps.to_vec(),
        }
    }

    /// Stages 1 and 2 (3 steps each) free, 3 after both, 4 after 3.
    fn stages() -> Vec<BatchStage> {
        vec![
            st(1, 3, &[]),
            st(2, 3, &[]),
            st(3, 2, &[1, 2]),
            st(4, 1, &[3]),
        ]
    }

    fn request<'a>(stages: &'a [BatchStage], requested: Requested) -> Request<'a> {
        Request {
            stages,
            options: Options {
                requested,
                budget: 8,
                include_started: false,
            },
            consumers_path: Path::new(PATH),
            list_limit: None,
        }
    }

    /// A limit cuts each list, says how much it left off (JSON and
    /// summary), and never cuts the selected stages.
    #[test]
    fn a_list_limit_cuts_each_list_and_counts_the_rest() {
        let env = Fake::default();
        env.files.borrow_mut().insert(PATH.into(), done(1));
        // 1 done; 2..=5 free (budget 8 takes 2..=5 at 1 step each, then 6
        // and 7 are ready but past the budget); 8..=12 wait on 13.
        let mut stages = vec![st(1, 1, &[])];
        stages.extend((2..=7).map(|n| st(n, 2, &[1])));
        stages.extend((8..=12).map(|n| st(n, 1, &[13])));
        stages.push(st(13, 9, &[1]));
        let full = preview(&env, &request(&stages, Requested::Auto)).unwrap();
        let cut = preview(
            &env,
            &Request {
                list_limit: Some(2),
                ..request(&stages, Requested::Auto)
            },
        )
        .unwrap();
        assert_eq!(cut.batch.stages, full.batch.stages);
        assert_eq!(cut.batch.stages, [2, 3, 4, 5]);
        assert_eq!(cut.batch.ready, full.batch.ready[..2]);
        assert_eq!(cut.batch.blocked, full.batch.blocked[..2]);
        assert_eq!(
            cut.batch.omitted,
            batch::Omitted {
                ready: full.batch.ready.len() - 2,
                done: 0,
                started: 0,
                blocked: 3,
            }
        );
        assert!(full.batch.omitted.is_empty());
        let json = serde_json::to_value(&cut).unwrap();
        assert_eq!(json["omitted"]["blocked"], 3);
        assert!(
            serde_json::to_value(&full)
                .unwrap()
                .get("omitted")
                .is_none()
        );
        assert!(
            cut.summary
                .contains("blocked: 8 (waiting on 13), 9 (waiting on 13), … and 3 more"),
            "{}",
            cut.summary
        );
    }

    fn done(n: u32) -> String {
        format!("{{\"impl_task_key\":\"a\",\"stage\":{n},\"status\":\"done\"}}\n")
    }

    #[test]
    fn a_preview_selects_renders_and_writes_nothing() {
        let stages = stages();
        let env = Fake::with(PATH, &format!("{}not json\n", done(1)));
        let p = preview(&env, &request(&stages, Requested::Auto)).unwrap();
        assert_eq!(p.batch.stages, [2]);
        assert_eq!((p.batch.total_steps, p.batch.budget), (3, 8));
        assert_eq!(p.consumers_path, PATH);
        assert_eq!(p.invalid_lines.len(), 1);
        assert_eq!(p.invalid_lines[0].line, 2);
        assert_eq!(
            p.summary,
            "Next run: stage 2 — 3/8 steps\n\
             ready:   2\n\
             done:    1\n\
             started: (none)\n\
             blocked: 3 (waiting on 2), 4 (waiting on 3)"
        );
        assert_eq!(p.notes.len(), 1);
        assert!(
            p.notes[0].starts_with("/runs/demo/consumers.jsonl:2: skipped: not JSON: "),
            "{:?}",
            p.notes
        );
        assert_eq!(env.decisions.get(), 0, "a preview takes no lock");
        assert_eq!(env.text(PATH).unwrap(), format!("{}not json\n", done(1)));
    }

    #[test]
    fn the_json_has_the_fields_of_both_outputs() {
        let stages = stages();
        let env = Fake::default();
        let p = preview(&env, &request(&stages, Requested::Auto)).unwrap();
        let v = serde_json::to_value(&p).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "blocked",
                "budget",
                "consumersPath",
                "done",
                "invalidLines",
                "notes",
                "ready",
                "stages",
                "started",
                "summary",
                "totalSteps"
            ]
        );
        assert_eq!(v["summary"], p.summary.as_str());
        assert_eq!(
            v["blocked"],
            serde_json::json!([{"stage": 3, "waitingOn": [1, 2]}, {"stage": 4, "waitingOn": [3]}])
        );
    }

    #[test]
    fn a_preview_that_finds_nothing_says_why_and_keeps_its_notes() {
        let stages = stages();
        let all = (1..=4).map(done).collect::<String>() + "[1]\n";
        let env = Fake::with(PATH, &all);
        let e = preview(&env, &request(&stages, Requested::Auto)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AllStagesDone);
        assert_eq!(
            e.message,
            "no stage is ready: every remaining stage has unsatisfied depends-on; every stage is done"
        );
        assert_eq!(
            e.notes,
            ["/runs/demo/consumers.jsonl:5: skipped: not a JSON object"]
        );
        let e = preview(&env, &request(&stages, Requested::Stage(2))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::StageDone);
        let e = preview(&env, &request(&stages, Requested::Stage(9))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::StageNotFound);
        assert_eq!(e.message, "--stage 9 not in Stage Map (have [1, 2, 3, 4])");
    }

    #[test]
    fn the_file_errors_pass_through_with_their_kind() {
        let stages = stages();
        let env = Fake {
            broken: Some(RunError::new(ErrorKind::ConsumersTooLarge, "too big")),
            ..Fake::default()
        };
        let req = request(&stages, Requested::Auto);
        assert_eq!(
            preview(&env, &req).unwrap_err(),
            RunError::new(ErrorKind::ConsumersTooLarge, "too big")
        );
        assert_eq!(
            reserve(&env, &req, "k").unwrap_err(),
            RunError::new(ErrorKind::ConsumersTooLarge, "too big")
        );
    }

    #[test]
    fn a_reservation_appends_one_started_row_per_stage_with_one_timestamp() {
        let stages = stages();
        // The last line has no newline: the rows start on a new one.
        let before = format!("{}garbage", done(1));
        let env = Fake::with(PATH, &before);
        let r = reserve(&env, &request(&stages, Requested::Auto), "  impl-b ").unwrap();
        assert_eq!(r.batch.stages, [2]);
        let row = "{\"impl_task_key\":\"impl-b\",\"stage\":2,\"status\":\"started\",\
                   \"started_at\":\"2026-06-05T09:30:00.123456+00:00\",\"head_commit\":\"abc123\"}";
        assert_eq!(env.text(PATH).unwrap(), format!("{before}\n{row}\n"));
        assert_eq!(r.rows.len(), 1);
        assert_eq!(serde_json::to_string(&r.rows[0]).unwrap(), row);
        assert_eq!(*env.heads_asked.borrow(), ["/runs/demo"]);
        assert_eq!(
            r.summary,
            "Next run: stage 2 — 3/8 steps\n\
             ready:   2\n\
             done:    1\n\
             started: (none)\n\
             blocked: 3 (waiting on 2), 4 (waiting on 3)\n\
             reserved in /runs/demo/consumers.jsonl"
        );
        assert_eq!(r.invalid_lines.len(), 1);
        assert_eq!(r.notes.len(), 1);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["rows"][0]["stage"], 2);
        assert_eq!(v["summary"], r.summary.as_str());

        // Two stages at once share the timestamp.
        let env = Fake::default();
        let r = reserve(&env, &request(&stages, Requested::Auto), "impl-a").unwrap();
        assert_eq!(r.batch.stages, [1, 2]);
        let written = env.text(PATH).unwrap();
        assert_eq!(written.lines().count(), 2);
        assert!(written.ends_with('\n') && !written.starts_with('\n'));
        assert!(r.rows.iter().all(|row| row.started_at == env.now()));
    }

    #[test]
    fn the_selection_is_made_on_the_text_read_under_the_lock() {
        let stages = stages();
        let env = Fake::default();
        let req = request(&stages, Requested::Auto);
        reserve(&env, &req, "impl-a").unwrap();
        // What impl-a started is not taken again: 3 waits on 1 and 2.
        let e = reserve(&env, &req, "impl-b").unwrap_err();
        assert_eq!(e.kind, ErrorKind::NoStageReady);
        assert!(
            e.message.ends_with(
                "started by another run: 1 (by impl-a), 2 (by impl-a) \
                 (pass --include-started (includeStarted) to take them anyway)"
            ),
            "{e}"
        );
        assert_eq!(env.appends.get(), 1, "a refusal appends nothing");
        assert_eq!(env.text(PATH).unwrap().lines().count(), 2);
        // Unless asked to (okstra's own behaviour).
        let okstra = Request {
            options: Options {
                include_started: true,
                ..req.options
            },
            ..req
        };
        assert_eq!(
            reserve(&env, &okstra, "impl-b").unwrap().batch.stages,
            [1, 2]
        );
        // A stage asked for by number that another run started.
        let e = reserve(&env, &request(&stages, Requested::Stage(1)), "impl-c").unwrap_err();
        assert_eq!(e.kind, ErrorKind::StageStarted);
    }

    #[test]
    fn a_reservation_needs_a_key_and_asks_nothing_without_one() {
        let stages = stages();
        let env = Fake::default();
        for key in ["", "  "] {
            let e = reserve(&env, &request(&stages, Requested::Auto), key).unwrap_err();
            assert_eq!(
                e,
                RunError::new(
                    ErrorKind::MissingImplKey,
                    "an impl task key is required (implTaskKey / --impl-key)"
                )
            );
        }
        assert_eq!(env.decisions.get(), 0);
        assert!(env.heads_asked.borrow().is_empty());
        assert_eq!(env.text(PATH), None);
    }

    #[test]
    fn notes_list_the_invalid_lines_then_count_the_rest() {
        let invalid = [InvalidLine {
            line: 3,
            reason: "not a JSON object".into(),
        }];
        assert_eq!(
            notes(Path::new("/r/consumers.jsonl"), &invalid, 0),
            ["/r/consumers.jsonl:3: skipped: not a JSON object"]
        );
        assert_eq!(
            notes(Path::new("/r/consumers.jsonl"), &invalid, 7),
            [
                "/r/consumers.jsonl:3: skipped: not a JSON object",
                "/r/consumers.jsonl: 7 more invalid lines skipped"
            ]
        );
    }

    #[test]
    fn the_summary_lists_who_started_what() {
        let stages = stages();
        let env = Fake::with(
            PATH,
            "{\"impl_task_key\":\"x\",\"stage\":1,\"status\":\"started\"}\n",
        );
        let p = preview(&env, &request(&stages, Requested::Auto)).unwrap();
        assert_eq!(
            p.summary,
            "Next run: stage 2 — 3/8 steps\n\
             ready:   2\n\
             done:    (none)\n\
             started: 1 (by x)\n\
             blocked: 3 (waiting on 1, 2), 4 (waiting on 3)"
        );
    }

    /// The real environment against a real folder: what the service decides
    /// is what lands in the file, bytes before it kept.
    #[test]
    fn on_disk_a_reservation_appends_and_keeps_bytes() {
        let dir = std::env::temp_dir().join(format!("okstra-service-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("consumers.jsonl");
        let before = "{\"stage\":1,\"status\":\"done\",\"impl_task_key\":\"x\"}\ngarbage";
        std::fs::write(&path, before).unwrap();
        let stages = [st(1, 2, &[]), st(2, 3, &[1]), st(3, 3, &[])];
        let req = Request {
            consumers_path: &path,
            ..request(&stages, Requested::Auto)
        };
        let disk = consumers::Disk::default();
        let r = reserve(&disk, &req, "impl-a").unwrap();
        assert_eq!(r.batch.stages, [2, 3]);
        assert_eq!(r.invalid_lines.len(), 1);
        let after = std::fs::read_to_string(&path).unwrap();
        assert!(after.starts_with(before));
        let added: Vec<StartedRow> = after[before.len()..]
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(added, r.rows);
        assert_eq!(
            preview(&disk, &req).unwrap_err().kind,
            ErrorKind::NoStageReady
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
