//! The next run batch: okstra's `_resolve_effective_stages` (plan-format §5),
//! over the plan model and the stages' recorded status.
//!
//! Invariant: pure (no I/O); `consumers` supplies the status.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;

use crate::plan::model::Plan;
use crate::run::error::{ErrorKind, RunError};

/// What `consumers.jsonl` says about the stages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub done: BTreeSet<u32>,
    /// Stages with a `started` row and no `done` row, with who started them.
    pub started: BTreeMap<u32, Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    Auto,
    Stage(u32),
}

impl Requested {
    /// `auto` or a stage number (okstra's `--stage` values).
    pub fn parse(s: &str) -> Result<Requested, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Requested::Auto);
        }
        s.trim()
            .parse()
            .map(Requested::Stage)
            .map_err(|_| format!("--stage must be 'auto' or an integer, got '{s}'"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub requested: Requested,
    pub budget: usize,
    /// okstra's own behaviour: stages another run started may be taken again.
    pub include_started: bool,
}

/// One stage's readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Readiness {
    Done,
    Started { by: Vec<String> },
    Ready,
    Blocked { waiting_on: Vec<u32> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedStage {
    pub stage: u32,
    pub impl_task_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockedStage {
    pub stage: u32,
    pub waiting_on: Vec<u32>,
}

/// The selected batch and the state it was selected from (the object that
/// `okstra.previewRunBatch` and `okstra-lsp batch preview --format json`
/// return; camelCase keys). Every list of stages is in ascending stage-number
/// order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunBatch {
    pub stages: Vec<u32>,
    pub total_steps: usize,
    pub budget: usize,
    pub ready: Vec<u32>,
    pub done: Vec<u32>,
    pub started: Vec<StartedStage>,
    pub blocked: Vec<BlockedStage>,
    /// How many entries [`RunBatch::truncate`] left off each list; absent
    /// when none.
    #[serde(skip_serializing_if = "Omitted::is_empty")]
    pub omitted: Omitted,
}

/// Entries left off `ready`, `done`, `started` and `blocked`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Omitted {
    pub ready: usize,
    pub done: usize,
    pub started: usize,
    pub blocked: usize,
}

impl Omitted {
    pub fn is_empty(&self) -> bool {
        *self == Omitted::default()
    }
}

impl RunBatch {
    /// Keeps the first `limit` entries of `ready`, `done`, `started` and
    /// `blocked` and counts the rest in `omitted`: an editor shows a few of
    /// a thousand blocked stages, and a 100 KB answer costs every preview.
    /// The selected `stages` are never cut.
    pub fn truncate(&mut self, limit: usize) {
        fn cut<T>(v: &mut Vec<T>, limit: usize, omitted: &mut usize) {
            if v.len() > limit {
                *omitted += v.len() - limit;
                v.truncate(limit);
            }
        }
        cut(&mut self.ready, limit, &mut self.omitted.ready);
        cut(&mut self.done, limit, &mut self.omitted.done);
        cut(&mut self.started, limit, &mut self.omitted.started);
        cut(&mut self.blocked, limit, &mut self.omitted.blocked);
    }
}

/// A stage as the batch sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStage {
    pub number: u32,
    /// The step count okstra reads: the Stage Map's step-count cell; when
    /// that cell cannot be read, the counted effective rows of the stage's
    /// section; neither, 0.
    pub steps: usize,
    pub depends_on: Vec<u32>,
}

/// The stages of the Stage Map, first row of each number only, in Stage Map
/// row order (the refactors' neighbours); `readiness` and `select` walk them
/// in ascending stage-number order whatever order they are given in.
pub fn stages(plan: &Plan) -> Vec<BatchStage> {
    let rows = plan.map_rows();
    let mut seen = HashSet::with_capacity(rows.len());
    rows.iter()
        .filter_map(|row| {
            let n = *row.stage.value()?;
            if !seen.insert(n) {
                return None;
            }
            let steps = match row.steps.value() {
                Some(&cell) => cell,
                None => plan.stage(n).map_or(0, |s| s.effective_steps()),
            };
            Some(BatchStage {
                number: n,
                steps,
                depends_on: row.deps().iter().map(|d| d.stage).collect(),
            })
        })
        .collect()
}

/// The stages in ascending stage-number order (plan-format §5; a stable sort,
/// so a number listed twice keeps its first entry first).
fn ascending(stages: &[BatchStage]) -> Vec<&BatchStage> {
    let mut sorted: Vec<&BatchStage> = stages.iter().collect();
    sorted.sort_by_key(|s| s.number);
    sorted
}

/// Each stage's readiness, in ascending stage-number order.
pub(crate) fn readiness(stages: &[BatchStage], status: &Status) -> Vec<(u32, Readiness)> {
    ascending(stages)
        .into_iter()
        .map(|s| {
            let r = if status.done.contains(&s.number) {
                Readiness::Done
            } else if let Some(by) = status.started.get(&s.number) {
                Readiness::Started { by: by.clone() }
            } else {
                let waiting: Vec<u32> = s
                    .depends_on
                    .iter()
                    .copied()
                    .filter(|d| !status.done.contains(d))
                    .collect();
                if waiting.is_empty() {
                    Readiness::Ready
                } else {
                    Readiness::Blocked {
                        waiting_on: waiting,
                    }
                }
            };
            (s.number, r)
        })
        .collect()
}

/// The stages among `numbers` that consumers.jsonl has a `started` or
/// `done` row for, ascending: its rows are keyed by stage number, so
/// renumbering one of these would detach its record.
pub fn recorded(status: &Status, numbers: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let mut out: Vec<u32> = numbers
        .into_iter()
        .filter(|n| status.done.contains(n) || status.started.contains_key(n))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Why a rename or renumber of `recorded` stages is refused.
pub fn recorded_refusal(recorded: &[u32], force: &str) -> String {
    let list: Vec<String> = recorded.iter().map(u32::to_string).collect();
    let (noun, verb) = if recorded.len() == 1 {
        ("stage", "has")
    } else {
        ("stages", "have")
    };
    format!(
        "{noun} {} {verb} started or done rows in consumers.jsonl, which are keyed by stage number: renumbering would detach them from their record ({force})",
        list.join(", ")
    )
}

/// Selects the batch (plan-format §5). Errors carry okstra's wording and
/// their kind.
pub fn select(
    stages: &[BatchStage],
    status: &Status,
    options: &Options,
) -> Result<RunBatch, RunError> {
    let mut batch = sorted(stages, status, options);
    match options.requested {
        Requested::Stage(n) => take_stage(&mut batch, n, stages, status, options)?,
        Requested::Auto => take_ready(&mut batch, stages, options.budget)?,
    }
    Ok(batch)
}

fn steps_of(stages: &[BatchStage], n: u32) -> usize {
    stages.iter().find(|s| s.number == n).map_or(0, |s| s.steps)
}

/// An empty batch with every stage sorted into done, ready, started and
/// blocked.
fn sorted(stages: &[BatchStage], status: &Status, options: &Options) -> RunBatch {
    let states = readiness(stages, status);
    let mut batch = RunBatch {
        stages: Vec::new(),
        total_steps: 0,
        budget: options.budget,
        ready: Vec::new(),
        done: Vec::new(),
        started: Vec::new(),
        blocked: Vec::new(),
        omitted: Omitted::default(),
    };
    for (n, r) in states {
        match r {
            Readiness::Ready => batch.ready.push(n),
            Readiness::Started { by } => {
                for key in by {
                    batch.started.push(StartedStage {
                        stage: n,
                        impl_task_key: key,
                    });
                }
                // okstra itself ignores `started`: the stage is ready again
                // when its depends-on are done.
                let s = stages.iter().find(|s| s.number == n);
                let deps_done =
                    s.is_some_and(|s| s.depends_on.iter().all(|d| status.done.contains(d)));
                if options.include_started && deps_done {
                    batch.ready.push(n);
                }
            }
            Readiness::Blocked { waiting_on } => batch.blocked.push(BlockedStage {
                stage: n,
                waiting_on,
            }),
            Readiness::Done => batch.done.push(n),
        }
    }
    batch
}

/// `--stage N`: exactly that stage, unless it is unknown, done, or started
/// (without `includeStarted`).
fn take_stage(
    batch: &mut RunBatch,
    n: u32,
    stages: &[BatchStage],
    status: &Status,
    options: &Options,
) -> Result<(), RunError> {
    if !stages.iter().any(|s| s.number == n) {
        let have: Vec<String> = ascending(stages)
            .iter()
            .map(|s| s.number.to_string())
            .collect();
        return Err(RunError::new(
            ErrorKind::StageNotFound,
            format!("--stage {n} not in Stage Map (have [{}])", have.join(", ")),
        ));
    }
    if status.done.contains(&n) {
        return Err(RunError::new(
            ErrorKind::StageDone,
            format!("--stage {n} already completed (consumers.jsonl status:done exists)"),
        ));
    }
    if let (Some(by), false) = (status.started.get(&n), options.include_started) {
        return Err(RunError::new(
            ErrorKind::StageStarted,
            format!(
                "--stage {n} already started by {} (consumers.jsonl status:started exists); pass --include-started (includeStarted) to take it anyway",
                by.join(", ")
            ),
        ));
    }
    batch.stages = vec![n];
    batch.total_steps = steps_of(stages, n);
    Ok(())
}

/// `auto`: the ready stages in ascending order up to the budget (at least
/// one).
fn take_ready(batch: &mut RunBatch, stages: &[BatchStage], budget: usize) -> Result<(), RunError> {
    for &n in &batch.ready {
        let steps = steps_of(stages, n);
        // A sum past `usize::MAX` is past any budget: never wraps.
        let total = batch.total_steps.checked_add(steps);
        if !batch.stages.is_empty() && total.is_none_or(|t| t > budget) {
            break; // okstra's `break`: later, smaller stages wait too
        }
        batch.stages.push(n);
        // The first stage always goes in, and 0 + steps cannot overflow.
        batch.total_steps = total.unwrap_or(usize::MAX);
    }
    if batch.stages.is_empty() {
        return Err(no_stage_ready(batch, stages.len()));
    }
    Ok(())
}

/// okstra's words when `auto` finds no ready stage (plan-format §5).
pub(crate) const NO_STAGE_READY: &str =
    "no stage is ready: every remaining stage has unsatisfied depends-on";

/// okstra's words first, then ours: why each remaining stage is not ready.
fn no_stage_ready(batch: &RunBatch, total: usize) -> RunError {
    let mut details = Vec::new();
    let mut kind = ErrorKind::NoStageReady;
    if total == 0 {
        details.push("the Stage Map lists no stage".to_string());
    } else if batch.done.len() == total {
        kind = ErrorKind::AllStagesDone;
        details.push("every stage is done".to_string());
    }
    if !batch.blocked.is_empty() {
        let blocked: Vec<String> = batch
            .blocked
            .iter()
            .map(|b| {
                let on: Vec<String> = b.waiting_on.iter().map(u32::to_string).collect();
                format!("{} (waiting on {})", b.stage, on.join(", "))
            })
            .collect();
        details.push(format!("blocked: {}", blocked.join(", ")));
    }
    if !batch.started.is_empty() {
        let mut started: Vec<(u32, Vec<&str>)> = Vec::new();
        for s in &batch.started {
            match started.last_mut() {
                Some((n, keys)) if *n == s.stage => keys.push(&s.impl_task_key),
                _ => started.push((s.stage, vec![&s.impl_task_key])),
            }
        }
        let started: Vec<String> = started
            .iter()
            .map(|(n, keys)| format!("{n} (by {})", keys.join(", ")))
            .collect();
        details.push(format!(
            "started by another run: {} (pass --include-started (includeStarted) to take them anyway)",
            started.join(", ")
        ));
    }
    let mut msg = NO_STAGE_READY.to_string();
    for d in details {
        msg.push_str("; ");
        msg.push_str(&d);
    }
    RunError::new(kind, msg)
}

/// "Next run: stages 2, 3 — 6/8 steps".
pub fn summary(batch: &RunBatch) -> String {
    let list: Vec<String> = batch.stages.iter().map(|n| n.to_string()).collect();
    let noun = if batch.stages.len() == 1 {
        "stage"
    } else {
        "stages"
    };
    format!(
        "Next run: {noun} {} — {}/{} steps",
        list.join(", "),
        batch.total_steps,
        batch.budget
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(number: u32, steps: usize, deps: &[u32]) -> BatchStage {
        BatchStage {
            number,
            steps,
            depends_on: deps.to_vec(),
        }
    }

    fn auto(budget: usize) -> Options {
        Options {
            requested: Requested::Auto,
            budget,
            include_started: false,
        }
    }

    fn done(ns: &[u32]) -> Status {
        Status {
            done: ns.iter().copied().collect(),
            started: BTreeMap::new(),
        }
    }

    #[test]
    fn budget_boundary_breaks_the_walk() {
        let stages = [st(1, 4, &[]), st(2, 4, &[]), st(3, 1, &[]), st(4, 1, &[])];
        let b = select(&stages, &Status::default(), &auto(8)).unwrap();
        assert_eq!(b.stages, [1, 2]);
        assert_eq!(b.total_steps, 8);
        // Stage 2 would reach 9: the walk stops, although 3 and 4 would fit.
        let stages = [st(1, 4, &[]), st(2, 5, &[]), st(3, 1, &[])];
        let b = select(&stages, &Status::default(), &auto(8)).unwrap();
        assert_eq!(b.stages, [1]);
        assert_eq!(b.ready, [1, 2, 3]);
    }

    #[test]
    fn at_least_one_stage_even_over_budget() {
        let stages = [st(1, 12, &[]), st(2, 1, &[])];
        let b = select(&stages, &Status::default(), &auto(8)).unwrap();
        assert_eq!(b.stages, [1]);
        assert_eq!(b.total_steps, 12);
    }

    #[test]
    fn dependency_chains_and_done() {
        let stages = [
            st(1, 2, &[]),
            st(2, 2, &[1]),
            st(3, 2, &[2]),
            st(4, 2, &[1]),
        ];
        let b = select(&stages, &Status::default(), &auto(8)).unwrap();
        assert_eq!(b.stages, [1]);
        assert_eq!(
            b.blocked,
            [
                BlockedStage {
                    stage: 2,
                    waiting_on: vec![1]
                },
                BlockedStage {
                    stage: 3,
                    waiting_on: vec![2]
                },
                BlockedStage {
                    stage: 4,
                    waiting_on: vec![1]
                },
            ]
        );
        let b = select(&stages, &done(&[1]), &auto(8)).unwrap();
        assert_eq!(b.stages, [2, 4]);
        assert_eq!(b.done, [1]);
        let err = select(&stages, &done(&[1, 2, 3, 4]), &auto(8)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::AllStagesDone);
        assert_eq!(
            err.message,
            "no stage is ready: every remaining stage has unsatisfied depends-on; every stage is done"
        );
        let cyclic = [st(1, 1, &[2]), st(2, 1, &[1])];
        let err = select(&cyclic, &Status::default(), &auto(8)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NoStageReady);
        assert_eq!(
            err.message,
            "no stage is ready: every remaining stage has unsatisfied depends-on; blocked: 1 (waiting on 2), 2 (waiting on 1)"
        );
    }

    #[test]
    fn no_stage_ready_begins_with_okstras_words() {
        assert_eq!(
            NO_STAGE_READY,
            "no stage is ready: every remaining stage has unsatisfied depends-on"
        );
        let status = Status {
            done: BTreeSet::from([1]),
            started: BTreeMap::from([(2, vec!["impl-a".into(), "impl-b".into()])]),
        };
        let chain = [
            st(1, 1, &[]),
            st(2, 1, &[1]),
            st(3, 1, &[4]),
            st(4, 1, &[2]),
        ];
        let cases: [(&[BatchStage], &Status); 5] = [
            (&[], &Status::default()),
            (&[st(1, 1, &[])], &status),
            (&[st(1, 1, &[2]), st(2, 1, &[1])], &Status::default()),
            (&chain, &status),
            (&[st(2, 1, &[])], &status),
        ];
        for (stages, status) in cases {
            let err = select(stages, status, &auto(8)).unwrap_err();
            assert!(err.message.starts_with(NO_STAGE_READY), "{err}");
            assert!(err.kind.is_unselectable(), "{err:?}");
        }
        let err = select(&[], &Status::default(), &auto(8)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NoStageReady);
        assert_eq!(
            err.message,
            format!("{NO_STAGE_READY}; the Stage Map lists no stage")
        );
        let err = select(&chain, &status, &auto(8)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NoStageReady);
        assert_eq!(
            err.message,
            format!(
                "{NO_STAGE_READY}; blocked: 3 (waiting on 4), 4 (waiting on 2); \
                 started by another run: 2 (by impl-a, impl-b) \
                 (pass --include-started (includeStarted) to take them anyway)"
            )
        );
    }

    #[test]
    fn forced_stage() {
        let stages = [st(1, 2, &[]), st(2, 2, &[1])];
        let forced = |n| Options {
            requested: Requested::Stage(n),
            budget: 8,
            include_started: false,
        };
        assert_eq!(
            select(&stages, &Status::default(), &forced(2))
                .unwrap()
                .stages,
            [2]
        );
        assert_eq!(
            select(&stages, &Status::default(), &forced(7)).unwrap_err(),
            RunError::new(
                ErrorKind::StageNotFound,
                "--stage 7 not in Stage Map (have [1, 2])"
            )
        );
        assert_eq!(
            select(&stages, &done(&[1]), &forced(1)).unwrap_err(),
            RunError::new(
                ErrorKind::StageDone,
                "--stage 1 already completed (consumers.jsonl status:done exists)"
            )
        );
        let started = Status {
            done: BTreeSet::new(),
            started: BTreeMap::from([(1, vec!["impl-a".to_string()])]),
        };
        assert_eq!(
            select(&stages, &started, &forced(1)).unwrap_err(),
            RunError::new(
                ErrorKind::StageStarted,
                "--stage 1 already started by impl-a (consumers.jsonl status:started exists); pass --include-started (includeStarted) to take it anyway"
            )
        );
    }

    #[test]
    fn started_stages_are_excluded_unless_asked() {
        let stages = [st(1, 2, &[]), st(2, 2, &[])];
        let status = Status {
            done: BTreeSet::new(),
            started: BTreeMap::from([(1, vec!["impl-a".to_string()])]),
        };
        let b = select(&stages, &status, &auto(8)).unwrap();
        assert_eq!(b.stages, [2]);
        assert_eq!(
            b.started,
            [StartedStage {
                stage: 1,
                impl_task_key: "impl-a".into()
            }]
        );
        let okstra = Options {
            include_started: true,
            ..auto(8)
        };
        assert_eq!(select(&stages, &status, &okstra).unwrap().stages, [1, 2]);
        let all_started = Status {
            done: BTreeSet::new(),
            started: BTreeMap::from([(1, vec!["a".into()]), (2, vec!["b".into()])]),
        };
        let err = select(&stages, &all_started, &auto(8)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NoStageReady);
        assert!(err.message.starts_with(NO_STAGE_READY), "{err}");
        assert!(
            err.message
                .contains("started by another run: 1 (by a), 2 (by b)"),
            "{err}"
        );
    }

    #[test]
    fn stages_are_walked_in_ascending_number_order() {
        // Stage Map rows 3, 1, 2: okstra's design walks 1, 2, 3.
        let stages = [st(3, 3, &[]), st(1, 3, &[]), st(2, 3, &[])];
        let b = select(&stages, &Status::default(), &auto(8)).unwrap();
        assert_eq!(b.stages, [1, 2]);
        assert_eq!(b.total_steps, 6);
        assert_eq!(b.ready, [1, 2, 3]);
        let states: Vec<u32> = readiness(&stages, &Status::default())
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(states, [1, 2, 3]);
        // Blocked, started and the forced-stage refusal list ascending too.
        let stages = [st(5, 1, &[9]), st(3, 1, &[]), st(4, 1, &[9]), st(1, 1, &[])];
        let status = Status {
            done: BTreeSet::new(),
            started: BTreeMap::from([(3, vec!["b".into()]), (1, vec!["a".into()])]),
        };
        let okstra = Options {
            include_started: true,
            ..auto(8)
        };
        let b = select(&stages, &status, &okstra).unwrap();
        assert_eq!(b.stages, [1, 3]);
        assert_eq!(b.ready, [1, 3]);
        let started: Vec<u32> = b.started.iter().map(|s| s.stage).collect();
        assert_eq!(started, [1, 3]);
        let blocked: Vec<u32> = b.blocked.iter().map(|s| s.stage).collect();
        assert_eq!(blocked, [4, 5]);
        let forced = Options {
            requested: Requested::Stage(7),
            ..auto(8)
        };
        assert_eq!(
            select(&stages, &status, &forced).unwrap_err().message,
            "--stage 7 not in Stage Map (have [1, 3, 4, 5])"
        );
    }

    #[test]
    fn the_sum_saturates_instead_of_wrapping() {
        // A huge first stage forms the batch alone.
        let stages = [st(1, usize::MAX, &[]), st(2, 1, &[])];
        let b = select(&stages, &Status::default(), &auto(8)).unwrap();
        assert_eq!((b.stages, b.total_steps), (vec![1], usize::MAX));
        // Past usize::MAX is past any budget, even usize::MAX.
        let b = select(&stages, &Status::default(), &auto(usize::MAX)).unwrap();
        assert_eq!(b.stages, [1]);
        // A huge later stage waits; it does not wrap round to a small sum.
        let stages = [st(1, 2, &[]), st(2, usize::MAX, &[]), st(3, 1, &[])];
        let b = select(&stages, &Status::default(), &auto(usize::MAX)).unwrap();
        assert_eq!((b.stages, b.total_steps), (vec![1], 2));
        let stages = [st(1, 2, &[]), st(2, usize::MAX - 1, &[])];
        let b = select(&stages, &Status::default(), &auto(usize::MAX)).unwrap();
        assert_eq!((b.stages, b.total_steps), (vec![1], 2));
    }

    /// A plan whose Stage Map has `rows` (stage, depends-on, steps cell;
    /// `None`: no Steps column at all) and a section with `counted` step rows
    /// for each `(stage, counted)` of `sections`.
    fn plan(rows: &[(u32, &str, Option<&str>)], sections: &[(u32, usize)]) -> Plan {
        let with_steps = rows.iter().any(|r| r.2.is_some());
        let mut s = String::from("# Plan\n\n## 4.5 Stage Map\n\n");
        s.push_str(if with_steps {
            "| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n"
        } else {
            "| Stage | Title | depends-on |\n|---|---|---|\n"
        });
        for (n, deps, cell) in rows {
            match cell {
                Some(cell) => s.push_str(&format!("| {n} | Stage {n} | {deps} | {cell} |\n")),
                None => s.push_str(&format!("| {n} | Stage {n} | {deps} |\n")),
            }
        }
        for (n, counted) in sections {
            s.push_str(&format!(
                "\n### 4.5.{n} Stage {n} — Stage {n}\n\n#### Stepwise Execution Order\n\
                 | step | action | files | command | expected |\n|---|---|---|---|---|\n"
            ));
            for step in 1..=*counted {
                s.push_str(&format!(
                    "| {step} | work | `src/s{n}.rs` | `cargo test` | passes |\n"
                ));
            }
            s.push_str(&format!(
                "\n#### Stage Exit Contract\n- Predicted added/modified files: `src/s{n}.rs`\n\n\
                 #### Stage Validation\n- post: `cargo test` passes\n"
            ));
        }
        crate::plan::model::parse(&s, &crate::plan::config::Config::default())
    }

    fn steps_of(plan: &Plan) -> Vec<(u32, usize)> {
        stages(plan).iter().map(|s| (s.number, s.steps)).collect()
    }

    #[test]
    fn step_counts_come_from_the_stage_map_cell() {
        // The cells say 1, 3, 4; the sections count 6, 3, 1 rows.
        let p = plan(
            &[
                (3, "(none)", Some("4")),
                (1, "(none)", Some("1")),
                (2, "(none)", Some("3")),
            ],
            &[(1, 6), (2, 3), (3, 1)],
        );
        assert_eq!(
            steps_of(&p),
            [(3, 4), (1, 1), (2, 3)],
            "Stage Map row order"
        );
        let b = select(&stages(&p), &Status::default(), &auto(8)).unwrap();
        // By the cells: 1 + 3 + 4 = 8. Counted rows would stop at stage 1 (6 + 3 > 8).
        assert_eq!((b.stages, b.total_steps), (vec![1, 2, 3], 8));
    }

    #[test]
    fn an_unreadable_cell_falls_back_to_the_counted_rows() {
        let p = plan(
            &[
                (1, "(none)", Some("many")),
                (2, "(none)", Some("")),
                (3, "(none)", Some("4")),
                (4, "(none)", Some("two")),
            ],
            &[(1, 2), (2, 5), (3, 1)],
        );
        // 4 has neither a readable cell nor a section: 0.
        assert_eq!(steps_of(&p), [(1, 2), (2, 5), (3, 4), (4, 0)]);
        // No Steps column at all: every stage's counted rows.
        let p = plan(&[(1, "(none)", None), (2, "1", None)], &[(1, 3), (2, 2)]);
        assert_eq!(steps_of(&p), [(1, 3), (2, 2)]);
    }

    #[test]
    fn a_huge_cell_is_over_the_budget_not_unreadable() {
        for huge in ["18446744073709551615", "99999999999999999999999"] {
            let p = plan(
                &[(1, "(none)", Some(huge)), (2, "(none)", Some("1"))],
                &[(1, 2), (2, 1)],
            );
            assert_eq!(steps_of(&p), [(1, usize::MAX), (2, 1)], "{huge}");
            let b = select(&stages(&p), &Status::default(), &auto(8)).unwrap();
            assert_eq!((b.stages, b.total_steps), (vec![1], usize::MAX), "{huge}");
            // Second in line, it waits for the next run.
            let p = plan(
                &[(1, "(none)", Some("3")), (2, "(none)", Some(huge))],
                &[(1, 3), (2, 1)],
            );
            let b = select(&stages(&p), &Status::default(), &auto(8)).unwrap();
            assert_eq!((b.stages, b.total_steps), (vec![1], 3), "{huge}");
        }
    }

    #[test]
    fn requested_parses() {
        assert_eq!(Requested::parse("auto"), Ok(Requested::Auto));
        assert_eq!(Requested::parse("3"), Ok(Requested::Stage(3)));
        assert!(Requested::parse("x").is_err());
    }

    #[test]
    fn summary_reads_well() {
        let b = select(
            &[st(2, 3, &[]), st(3, 3, &[])],
            &Status::default(),
            &auto(8),
        )
        .unwrap();
        assert_eq!(summary(&b), "Next run: stages 2, 3 — 6/8 steps");
    }
}
