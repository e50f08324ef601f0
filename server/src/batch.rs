//! The next run batch: okstra's `_resolve_effective_stages` (plan-format §5),
//! over the plan model and the stages' recorded status.
//!
//! Invariant: pure (no I/O); `consumers` supplies the status.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::Plan;

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
pub enum Readiness {
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
/// return; camelCase keys).
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
}

/// A stage as the batch sees it, in Stage Map order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStage {
    pub number: u32,
    /// Counted effective steps (the map's cell when the stage has no section).
    pub steps: usize,
    pub depends_on: Vec<u32>,
}

/// The stages of the Stage Map, first row of each number only.
pub fn stages(plan: &Plan) -> Vec<BatchStage> {
    let mut seen = BTreeSet::new();
    plan.map_rows()
        .iter()
        .filter_map(|row| {
            let n = *row.stage.value()?;
            if !seen.insert(n) {
                return None;
            }
            let steps = match plan.stage(n) {
                Some(s) => s.effective_steps(),
                None => row.steps.value().copied().unwrap_or(0),
            };
            Some(BatchStage {
                number: n,
                steps,
                depends_on: row.deps().iter().map(|d| d.stage).collect(),
            })
        })
        .collect()
}

/// Each stage's readiness, in Stage Map order.
pub fn readiness(stages: &[BatchStage], status: &Status) -> Vec<(u32, Readiness)> {
    stages
        .iter()
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

/// Selects the batch (plan-format §5). Errors carry okstra's wording.
pub fn select(
    stages: &[BatchStage],
    status: &Status,
    options: &Options,
) -> Result<RunBatch, String> {
    let states = readiness(stages, status);
    let mut batch = RunBatch {
        stages: Vec::new(),
        total_steps: 0,
        budget: options.budget,
        ready: Vec::new(),
        done: status
            .done
            .iter()
            .copied()
            .filter(|d| stages.iter().any(|s| s.number == *d))
            .collect(),
        started: Vec::new(),
        blocked: Vec::new(),
    };
    for (n, r) in &states {
        match r {
            Readiness::Ready => batch.ready.push(*n),
            Readiness::Started { by } => {
                for key in by {
                    batch.started.push(StartedStage {
                        stage: *n,
                        impl_task_key: key.clone(),
                    });
                }
                // okstra itself ignores `started`: the stage is ready again
                // when its depends-on are done.
                let s = stages.iter().find(|s| s.number == *n);
                let deps_done =
                    s.is_some_and(|s| s.depends_on.iter().all(|d| status.done.contains(d)));
                if options.include_started && deps_done {
                    batch.ready.push(*n);
                }
            }
            Readiness::Blocked { waiting_on } => batch.blocked.push(BlockedStage {
                stage: *n,
                waiting_on: waiting_on.clone(),
            }),
            Readiness::Done => {}
        }
    }
    let steps_of = |n: u32| stages.iter().find(|s| s.number == n).map_or(0, |s| s.steps);

    match options.requested {
        Requested::Stage(n) => {
            if !stages.iter().any(|s| s.number == n) {
                let have: Vec<String> = stages.iter().map(|s| s.number.to_string()).collect();
                return Err(format!(
                    "--stage {n} not in Stage Map (have [{}])",
                    have.join(", ")
                ));
            }
            if status.done.contains(&n) {
                return Err(format!(
                    "--stage {n} already completed (consumers.jsonl status:done exists)"
                ));
            }
            if let (Some(by), false) = (status.started.get(&n), options.include_started) {
                return Err(format!(
                    "--stage {n} already started by {} (consumers.jsonl status:started exists); pass --include-started (includeStarted) to take it anyway",
                    by.join(", ")
                ));
            }
            batch.stages = vec![n];
            batch.total_steps = steps_of(n);
        }
        Requested::Auto => {
            for &n in &batch.ready {
                let steps = steps_of(n);
                if !batch.stages.is_empty() && batch.total_steps + steps > options.budget {
                    break; // okstra's `break`: later, smaller stages wait too
                }
                batch.stages.push(n);
                batch.total_steps += steps;
            }
            if batch.stages.is_empty() {
                return Err(no_stage_ready(&batch, stages.len()));
            }
        }
    }
    Ok(batch)
}

fn no_stage_ready(batch: &RunBatch, total: usize) -> String {
    if total == 0 {
        return "no stage is ready: the Stage Map lists no stage".into();
    }
    if batch.done.len() == total {
        return "no stage is ready: every stage is done".into();
    }
    let mut msg = "no stage is ready: every remaining stage has unsatisfied depends-on".to_string();
    if !batch.started.is_empty() {
        let mut started: Vec<String> = batch.started.iter().map(|s| s.stage.to_string()).collect();
        started.dedup();
        msg.push_str(&format!(
            " or is started by another run (stages {}; pass --include-started (includeStarted) to take them anyway)",
            started.join(", ")
        ));
    }
    msg
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
        assert_eq!(err, "no stage is ready: every stage is done");
        let cyclic = [st(1, 1, &[2]), st(2, 1, &[1])];
        let err = select(&cyclic, &Status::default(), &auto(8)).unwrap_err();
        assert_eq!(
            err,
            "no stage is ready: every remaining stage has unsatisfied depends-on"
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
            "--stage 7 not in Stage Map (have [1, 2])"
        );
        assert_eq!(
            select(&stages, &done(&[1]), &forced(1)).unwrap_err(),
            "--stage 1 already completed (consumers.jsonl status:done exists)"
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
        assert!(err.starts_with("no stage is ready:"), "{err}");
        assert!(err.contains("stages 1, 2"), "{err}");
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
