//! Why a run batch could not be previewed or reserved: a machine-readable
//! [`ErrorKind`] (the server sends it as the JSON-RPC error's
//! `data.kind`, so clients never match message text) and okstra's words.
//!
//! Invariant: pure (no I/O).

use serde::Serialize;

/// What went wrong, as clients match it. The `kebab-case` names are a
/// contract (docs/commands/batch.md, docs/commands/serve.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    // Nothing can be selected (okstra's rejections; the CLI exits 1).
    /// `auto`: no stage is ready (blocked, started by another run, or none listed).
    NoStageReady,
    /// `auto`: every stage of the Stage Map is done.
    AllStagesDone,
    /// A stage asked for by number is not in the Stage Map.
    StageNotFound,
    /// A stage asked for by number is done.
    StageDone,
    /// A stage asked for by number was started by another run (and
    /// `includeStarted` is off).
    StageStarted,

    // The request itself.
    /// `stage` is neither `auto` nor a stage number.
    InvalidStage,
    /// `budget` is not a positive number.
    InvalidBudget,
    /// A reservation without an impl task key.
    MissingImplKey,
    /// The command's arguments are not `{uri, ...}` (the server only).
    InvalidArguments,

    // The plan.
    /// Not a `file:` URI (the server only).
    NotALocalFile,
    /// The plan, or its run root, lies outside the workspace folders (the
    /// server only: plan-format §6).
    OutsideWorkspace,
    /// The plan cannot be read (missing, not a regular file, …).
    PlanUnreadable,
    /// The plan is over `maxDocumentBytes`.
    TooLarge,
    /// The file has no Stage Map.
    NotAPlan,
    /// The plan does not sit two folders below a run root.
    NotInARunFolder,

    // consumers.jsonl.
    /// The run folder (where `consumers.jsonl` goes) does not exist.
    RunFolderMissing,
    /// `consumers.jsonl` is over its 64 MiB limit.
    ConsumersTooLarge,
    /// `consumers.jsonl` cannot be read or locked (not a regular file, a
    /// symbolic link, no permission, …).
    ConsumersUnreadable,
    /// The rows cannot be appended (no permission, disk full, …).
    ConsumersUnwritable,
}

impl ErrorKind {
    /// The name clients match (`data.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NoStageReady => "no-stage-ready",
            ErrorKind::AllStagesDone => "all-stages-done",
            ErrorKind::StageNotFound => "stage-not-found",
            ErrorKind::StageDone => "stage-done",
            ErrorKind::StageStarted => "stage-started",
            ErrorKind::InvalidStage => "invalid-stage",
            ErrorKind::InvalidBudget => "invalid-budget",
            ErrorKind::MissingImplKey => "missing-impl-key",
            ErrorKind::InvalidArguments => "invalid-arguments",
            ErrorKind::NotALocalFile => "not-a-local-file",
            ErrorKind::OutsideWorkspace => "outside-workspace",
            ErrorKind::PlanUnreadable => "plan-unreadable",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::NotAPlan => "not-a-plan",
            ErrorKind::NotInARunFolder => "not-in-a-run-folder",
            ErrorKind::RunFolderMissing => "run-folder-missing",
            ErrorKind::ConsumersTooLarge => "consumers-too-large",
            ErrorKind::ConsumersUnreadable => "consumers-unreadable",
            ErrorKind::ConsumersUnwritable => "consumers-unwritable",
        }
    }

    /// okstra's rejections: the plan and the file are fine, but nothing can
    /// be selected (the CLI's exit status 1).
    pub fn is_unselectable(self) -> bool {
        matches!(
            self,
            ErrorKind::NoStageReady
                | ErrorKind::AllStagesDone
                | ErrorKind::StageNotFound
                | ErrorKind::StageDone
                | ErrorKind::StageStarted
        )
    }

    /// The request or the path it names is wrong (the server's
    /// InvalidParams); everything else is a request that failed.
    pub fn is_invalid_request(self) -> bool {
        matches!(
            self,
            ErrorKind::InvalidStage
                | ErrorKind::InvalidBudget
                | ErrorKind::MissingImplKey
                | ErrorKind::InvalidArguments
                | ErrorKind::NotALocalFile
                | ErrorKind::OutsideWorkspace
                | ErrorKind::PlanUnreadable
                | ErrorKind::NotInARunFolder
        )
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A preview or reservation that did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError {
    pub kind: ErrorKind,
    /// okstra's words first (plan-format §5), any detail of ours after them.
    pub message: String,
    /// What was noticed on the way (the invalid lines of `consumers.jsonl`
    /// that a preview read before it found nothing to select), rendered as
    /// in [`crate::run::service::Preview::notes`].
    pub notes: Vec<String>,
}

impl RunError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> RunError {
        RunError {
            kind,
            message: message.into(),
            notes: Vec::new(),
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ErrorKind; 19] = [
        ErrorKind::NoStageReady,
        ErrorKind::AllStagesDone,
        ErrorKind::StageNotFound,
        ErrorKind::StageDone,
        ErrorKind::StageStarted,
        ErrorKind::InvalidStage,
        ErrorKind::InvalidBudget,
        ErrorKind::MissingImplKey,
        ErrorKind::InvalidArguments,
        ErrorKind::NotALocalFile,
        ErrorKind::OutsideWorkspace,
        ErrorKind::PlanUnreadable,
        ErrorKind::TooLarge,
        ErrorKind::NotAPlan,
        ErrorKind::NotInARunFolder,
        ErrorKind::RunFolderMissing,
        ErrorKind::ConsumersTooLarge,
        ErrorKind::ConsumersUnreadable,
        ErrorKind::ConsumersUnwritable,
    ];

    #[test]
    fn kinds_serialise_as_their_names() {
        for kind in ALL {
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::Value::String(kind.as_str().into()))
            );
            assert!(
                !(kind.is_unselectable() && kind.is_invalid_request()),
                "{kind}"
            );
        }
        assert_eq!(ErrorKind::NoStageReady.as_str(), "no-stage-ready");
        assert!(ErrorKind::StageDone.is_unselectable());
        assert!(!ErrorKind::ConsumersTooLarge.is_unselectable());
    }

    /// The kinds are a contract with clients: each is documented.
    #[test]
    fn every_kind_is_documented() {
        let docs = [
            include_str!("../../../docs/commands/batch.md"),
            include_str!("../../../docs/commands/serve.md"),
        ]
        .concat();
        for kind in ALL {
            assert!(
                docs.contains(&format!("`{kind}`")),
                "{kind} is not in docs/commands"
            );
        }
    }
}
