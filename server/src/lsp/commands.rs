//! Run-batch commands (`okstra.previewRunBatch`, `okstra.reserveRunBatch`),
//! the Stage Map code lens and the per-row readiness inlay hints.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::jsonrpc::{self, Result};
use tower_lsp_server::ls_types::{self as lsp, Uri};

use super::{Backend, OpenDoc, Settings, convert, file_path, guard, invalid_params};
use crate::io::files;
use crate::plan::model::Plan;
use crate::run::batch::{self, Options, Readiness, Requested, Status};
use crate::run::consumers::{self, Consumers};
use crate::run::error::{ErrorKind, RunError};
use crate::run::service;

pub(crate) const PREVIEW: &str = "okstra.previewRunBatch";
pub(crate) const RESERVE: &str = "okstra.reserveRunBatch";
/// Renumbers the stages 1..n (the source action's command: its edits are
/// worked out when it runs, not for every code-action request).
pub(crate) const RENUMBER: &str = "okstra.renumberStages";
/// The open plan's stage graph: `{svg, mermaid, anchors, version}`.
pub(crate) const STAGE_GRAPH: &str = "okstra.stageGraph";
pub(crate) const COMMANDS: [&str; 4] = [PREVIEW, RESERVE, RENUMBER, STAGE_GRAPH];
/// Test hook, never advertised and refused unless `OKSTRA_LSP_TEST_HOOKS=1`:
/// panics inside the request's guard (holding the document of its `uri`
/// argument, when given), so the end-to-end tests can check that a panic is
/// one request's internal error and the server keeps serving.
const DEBUG_PANIC: &str = "okstra.debugPanic";

/// okstra's rejections ("no stage is ready", "already completed", ...).
const REQUEST_FAILED: i64 = -32803;

/// A run-batch error as a JSON-RPC error: InvalidParams when the request or
/// the path it names is wrong, else RequestFailed; the kind in `data.kind`
/// (docs/commands/serve.md), so clients never match the message.
fn run_error(e: RunError) -> jsonrpc::Error {
    let code = if e.kind.is_invalid_request() {
        jsonrpc::ErrorCode::InvalidParams
    } else {
        jsonrpc::ErrorCode::ServerError(REQUEST_FAILED)
    };
    jsonrpc::Error {
        code,
        message: e.message.into(),
        data: Some(serde_json::json!({ "kind": e.kind })),
    }
}

/// An error made elsewhere in the server, with its kind added.
fn with_kind(kind: ErrorKind) -> impl Fn(jsonrpc::Error) -> jsonrpc::Error {
    move |mut e| {
        e.data = Some(serde_json::json!({ "kind": kind }));
        e
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchArgs {
    uri: Uri,
    #[serde(default)]
    stage: Option<Value>,
    #[serde(default)]
    budget: Option<usize>,
    #[serde(default)]
    include_started: Option<bool>,
    #[serde(default)]
    impl_task_key: Option<String>,
    /// At most this many entries in each list of the answer
    /// ([`DEFAULT_LIST_LIMIT`] when absent).
    #[serde(default)]
    limit: Option<usize>,
}

/// What an editor shows of a list of stages; the CLI prints them all.
const DEFAULT_LIST_LIMIT: usize = 100;

/// The plan of a document that is not open, read from disk (a regular file
/// within `maxDocumentBytes`; call it off the runtime's threads).
fn plan_on_disk(uri: &Uri, settings: &Settings) -> Result<crate::engine::document::Document> {
    let path = file_path(uri).map_err(with_kind(ErrorKind::NotALocalFile))?;
    let config = &settings.config;
    let read = files::read_document(&path, config.max_document_bytes)
        .map_err(|e| run_error(RunError::new(ErrorKind::PlanUnreadable, e)))?;
    match read {
        files::Document::Text(text) => Ok(crate::engine::document::Document::new(text, config)),
        files::Document::TooLarge { len, .. } => Err(run_error(RunError::new(
            ErrorKind::TooLarge,
            format!(
                "{}: {len} bytes, over the {}-byte limit (maxDocumentBytes): okstra-lsp does not read it",
                path.display(),
                config.max_document_bytes
            ),
        ))),
    }
}

fn options(args: &BatchArgs, settings: &Settings) -> Result<Options> {
    let invalid_stage = |m: String| run_error(RunError::new(ErrorKind::InvalidStage, m));
    let requested =
        match &args.stage {
            None | Some(Value::Null) => Requested::Auto,
            Some(Value::Number(n)) => {
                Requested::Stage(n.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(
                    || invalid_stage(format!("stage must be \"auto\" or a stage number, got {n}")),
                )?)
            }
            Some(Value::String(s)) => Requested::parse(s).map_err(invalid_stage)?,
            Some(other) => {
                return Err(invalid_stage(format!(
                    "stage must be \"auto\" or a stage number, got {other}"
                )));
            }
        };
    let budget = args.budget.unwrap_or(settings.config.run_budget);
    if budget == 0 {
        return Err(run_error(RunError::new(
            ErrorKind::InvalidBudget,
            "budget must be at least 1",
        )));
    }
    Ok(Options {
        requested,
        budget,
        include_started: args
            .include_started
            .unwrap_or(settings.config.include_started),
    })
}

/// The plan's `consumers.jsonl`, when the server may touch it: only when the
/// plan's run root lies inside a workspace folder (plan-format §6).
fn consumers_path(uri: &Uri, roots: &[PathBuf]) -> Result<PathBuf> {
    let path = file_path(uri).map_err(with_kind(ErrorKind::NotALocalFile))?;
    let consumers = consumers::path_for(&path).map_err(run_error)?;
    let run_root = consumers.parent().unwrap_or(Path::new("/"));
    run_root_inside(run_root, roots)
        .map_err(|m| run_error(RunError::new(ErrorKind::OutsideWorkspace, m)))?;
    Ok(consumers)
}

/// The server's run-root boundary (plan-format §6): `consumers.jsonl` is read
/// and written, and git runs for its `head_commit`, only when the run root
/// (the plan file's grandparent folder) lies inside one of the workspace
/// folders `roots` (or is one; resolved, as the server keeps them). The run
/// root is resolved too, so a symbolic link cannot lead out; with no
/// workspace folder nothing is inside.
/// The CLI has no such boundary: it takes the path it is given.
pub(super) fn run_root_inside(
    run_root: &Path,
    roots: &[PathBuf],
) -> std::result::Result<(), String> {
    let Err(canonical) = super::inside_roots(run_root, roots) else {
        return Ok(());
    };
    let none = if roots.is_empty() {
        " (the client named no local workspace folder)"
    } else {
        ""
    };
    Err(format!(
        "the plan's run root {} is outside the workspace folders{none}: okstra-lsp does not read or write consumers.jsonl there",
        canonical.display()
    ))
}

/// What `consumers.jsonl` says about an open plan's stages, for its code
/// lens, hover and inlay hints: `Err` with the reason when the file cannot
/// be read (not a regular file, too large, a link, …).
pub(super) type Recorded = std::result::Result<Arc<Consumers>, String>;

/// The recorded status of an open plan's stages (`None`: the document is
/// not open, or not a plan, and nothing was read). Empty for plans outside
/// the workspace folders or whose run root is outside them: their
/// `consumers.jsonl` is not read. The file is read through the backend's
/// cache, off the runtime's threads.
pub(super) async fn status_for(backend: &Backend, uri: &Uri) -> Result<Option<Recorded>> {
    if backend.with_doc(uri, |open, _| open.doc.plan().stage_map.is_some()) != Some(true) {
        return Ok(None);
    }
    let me = backend.clone_handles();
    let uri = uri.clone();
    guard::blocking(move || {
        let roots = me.settings().roots;
        let allowed = file_path(&uri).and_then(|p| me.check_allowed(&p));
        let Ok(path) = allowed.and_then(|()| consumers_path(&uri, &roots)) else {
            return Some(Ok(Arc::default()));
        };
        Some(me.consumers.read(&path).map_err(|e| e.message))
    })
    .await
}

/// "Ready" / "Done" / "Started by …" / "Blocked by stages …", for hover.
pub(super) fn readiness_line(plan: &Plan, status: &Status, n: u32) -> Option<String> {
    let stages = batch::stages(plan);
    let (_, r) = batch::readiness(&stages, status)
        .into_iter()
        .find(|(m, _)| *m == n)?;
    Some(format!("Status: {}", readiness_text(&r)))
}

fn readiness_text(r: &Readiness) -> String {
    match r {
        Readiness::Done => "done".into(),
        Readiness::Started { by } => format!("started by {}", by.join(", ")),
        Readiness::Ready => "ready".into(),
        Readiness::Blocked { waiting_on } => {
            let list: Vec<String> = waiting_on.iter().map(|n| n.to_string()).collect();
            format!("blocked by stage {}", list.join(", "))
        }
    }
}

pub(super) fn code_lenses(
    uri: &Uri,
    open: &OpenDoc,
    s: &Settings,
    status: std::result::Result<&Consumers, &str>,
) -> Vec<lsp::CodeLens> {
    let plan = open.doc.plan();
    let Some(map) = &plan.stage_map else {
        return Vec::new();
    };
    let range = convert::range(open.doc.rope(), &map.heading, s.encoding);
    let stages = batch::stages(plan);
    let opts = Options {
        requested: Requested::Auto,
        budget: s.config.run_budget,
        include_started: s.config.include_started,
    };
    let arg = serde_json::json!({ "uri": uri.as_str() });
    let title = match status.map(|c| batch::select(&stages, &c.status, &opts)) {
        Ok(Ok(b)) => batch::summary(&b),
        Ok(Err(e)) => format!("Next run: none — {e}"),
        Err(e) => format!("Next run: unknown — {e}"),
    };
    vec![
        lsp::CodeLens {
            range,
            command: Some(lsp::Command {
                title,
                command: PREVIEW.into(),
                arguments: Some(vec![arg.clone()]),
            }),
            data: None,
        },
        lsp::CodeLens {
            range,
            command: Some(lsp::Command {
                title: "Reserve…".into(),
                command: RESERVE.into(),
                arguments: Some(vec![arg]),
            }),
            data: None,
        },
    ]
}

pub(super) fn inlay_hints(
    open: &OpenDoc,
    s: &Settings,
    status: &Status,
    visible: lsp::Range,
) -> Vec<lsp::InlayHint> {
    let plan = open.doc.plan();
    let stages = batch::stages(plan);
    // Ascending by stage number (`batch::readiness`): looked up by search.
    let states = batch::readiness(&stages, status);
    // Only the rows on the visible lines: an editor asks for a screenful of
    // a Stage Map that may have a thousand rows.
    let rope = open.doc.rope();
    let lines = rope.len_lines();
    let line_byte = |line: u32| rope.line_to_byte((line as usize).min(lines));
    let (from, to) = (
        line_byte(visible.start.line),
        line_byte(visible.end.line.saturating_add(1)),
    );
    let rows = plan.map_rows();
    let first = rows.partition_point(|r| r.range.end < from);
    rows[first..]
        .iter()
        .take_while(|row| row.range.end <= to)
        .filter_map(|row| {
            let n = *row.stage.value()?;
            // The first of its number, as the Stage Map's first row is read.
            let i = states.partition_point(|(m, _)| *m < n);
            let (_, r) = states.get(i).filter(|(m, _)| *m == n)?;
            let position = convert::position(rope, row.range.end, s.encoding);
            if position.line < visible.start.line || position.line > visible.end.line {
                return None;
            }
            Some(lsp::InlayHint {
                position,
                label: lsp::InlayHintLabel::String(format!(" {}", readiness_text(r))),
                kind: None,
                text_edits: None,
                tooltip: None,
                padding_left: Some(true),
                padding_right: None,
                data: None,
            })
        })
        .collect()
}

pub(super) async fn execute(
    backend: &Backend,
    params: lsp::ExecuteCommandParams,
) -> Result<Option<Value>> {
    let command = params.command.as_str();
    if command == DEBUG_PANIC && std::env::var_os("OKSTRA_LSP_TEST_HOOKS").is_some_and(|v| v == "1")
    {
        debug_panic(backend, &params);
    }
    if !COMMANDS.contains(&command) {
        return Err(invalid_params(format!("unknown command {command}")));
    }
    if command == RENUMBER {
        return renumber(backend, &params.arguments).await;
    }
    if command == STAGE_GRAPH {
        return stage_graph(backend, &params.arguments).await;
    }
    let arg = params
        .arguments
        .into_iter()
        .next()
        .ok_or_else(|| invalid_params(format!("{command} needs one argument {{uri, ...}}")))?;
    let args: BatchArgs = serde_json::from_value(arg).map_err(|e| {
        run_error(RunError::new(
            ErrorKind::InvalidArguments,
            format!("{command}: {e}"),
        ))
    })?;
    let settings = backend.settings();
    let options = options(&args, &settings)?;
    let preview = command == PREVIEW;
    let me = backend.clone_handles();
    // Paths are resolved and files read (the plan when it is not open,
    // consumers.jsonl, git for the reservation's head_commit): off the
    // runtime's threads.
    guard::blocking(move || run(&me, &args, options, &settings, preview)).await?
}

#[derive(Debug, Deserialize)]
struct RenumberArgs {
    uri: Uri,
}

/// The one `{uri}` argument of `command`, read as `T`.
fn uri_argument<T: serde::de::DeserializeOwned>(command: &str, arguments: &[Value]) -> Result<T> {
    let arg = arguments
        .first()
        .cloned()
        .ok_or_else(|| invalid_params(format!("{command} needs one argument {{uri}}")))?;
    serde_json::from_value(arg).map_err(|e| invalid_params(format!("{command}: {e}")))
}

/// `okstra.renumberStages {uri}`: the open plan's stages renumbered 1..n,
/// applied with `workspace/applyEdit`; refused when consumers.jsonl has
/// rows for a stage whose number would change.
async fn renumber(backend: &Backend, arguments: &[Value]) -> Result<Option<Value>> {
    use crate::check::fixes::renumber;
    let args: RenumberArgs = uri_argument(RENUMBER, arguments)?;
    let mapping = backend
        .with_doc(&args.uri, |open, _| {
            renumber::renumber_mapping(open.doc.plan())
        })
        .ok_or_else(|| invalid_params(format!("{} is not open", args.uri.as_str())))?
        .map_err(|e| refused(&e.0))?;
    if mapping.is_empty() {
        return Ok(None);
    }
    backend
        .refuse_recorded(&args.uri, mapping.keys().copied())
        .await?;
    let edit = backend.with_doc(&args.uri, |open, s| {
        // The document may have changed while consumers.jsonl was read.
        let mapping = renumber::renumber_mapping(open.doc.plan())?;
        let edits = renumber::stage_edits(open.doc.text(), open.doc.plan(), &mapping);
        Ok::<_, renumber::Refused>(super::actions::workspace_edit(&args.uri, open, s, &edits))
    });
    let Some(edit) = edit else {
        return Err(invalid_params(format!("{} is not open", args.uri.as_str())));
    };
    let edit = edit.map_err(|e| refused(&e.0))?;
    let applied = backend
        .client
        .apply_edit(edit)
        .await
        .map_err(|e| refused(&format!("the client did not apply the edit: {e}")))?;
    if !applied.applied {
        return Err(refused(&format!(
            "the client did not apply the edit{}",
            applied
                .failure_reason
                .map_or(String::new(), |r| format!(": {r}"))
        )));
    }
    Ok(None)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphArgs {
    uri: Uri,
    #[serde(default)]
    include_started: Option<bool>,
}

/// `okstra.stageGraph {uri, includeStarted?}`: the stage graph of the open
/// document as it is now (unsaved edits included): `svg`, `mermaid`, each
/// stage's heading range (`anchors`, what a click on its node reveals) and
/// the document `version` it was drawn from. The stages' status comes from
/// `consumers.jsonl` as the code lens reads it; when that cannot be read the
/// graph is drawn without it and `note` says why.
async fn stage_graph(backend: &Backend, arguments: &[Value]) -> Result<Option<Value>> {
    use crate::graph::{GraphOptions, StageGraph};
    let args: GraphArgs = uri_argument(STAGE_GRAPH, arguments)?;
    let (status, note) = match status_for(backend, &args.uri).await? {
        Some(Ok(consumers)) => (consumers.status.clone(), None),
        Some(Err(why)) => (
            batch::Status::default(),
            Some(format!(
                "consumers.jsonl cannot be read ({why}): no stage has a status"
            )),
        ),
        None => {
            return Err(refused(&format!(
                "{} is not an open plan (no Stage Map): there is no stage graph to draw",
                args.uri.as_str()
            )));
        }
    };
    let value = backend.with_doc(&args.uri, |open, s| {
        let doc = &open.doc;
        let mut options = GraphOptions::from_config(&s.config);
        if let Some(include) = args.include_started {
            options.include_started = include;
        }
        let graph = StageGraph::build(doc.text(), doc.plan(), doc.facts(), &status, &options);
        let anchors: Vec<Value> = graph
            .anchors()
            .map(|(stage, range)| {
                serde_json::json!({
                    "stage": stage,
                    "range": convert::range(doc.rope(), &range, s.encoding),
                })
            })
            .collect();
        serde_json::json!({
            "svg": graph.svg(),
            "mermaid": graph.mermaid(),
            "anchors": anchors,
            "version": open.version,
            "note": note,
        })
    });
    value
        .map(Some)
        .ok_or_else(|| invalid_params(format!("{} is not open", args.uri.as_str())))
}

/// A request refused for a reason the user should read (RequestFailed;
/// the client shows the message).
pub(super) fn refused(message: &str) -> jsonrpc::Error {
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::ServerError(REQUEST_FAILED),
        message: message.to_string().into(),
        data: None,
    }
}

/// The test hook `okstra.debugPanic`: panics, inside the document map's
/// guard when a `uri` is given (so a test sees the map survive it).
fn debug_panic(backend: &Backend, params: &lsp::ExecuteCommandParams) -> ! {
    let uri = params
        .arguments
        .first()
        .and_then(|a| a.get("uri"))
        .and_then(|u| serde_json::from_value::<Uri>(u.clone()).ok());
    if let Some(uri) = uri {
        backend.with_doc::<()>(&uri, |_, _| panic!("okstra.debugPanic test hook"));
    }
    panic!("okstra.debugPanic test hook");
}

/// Previews or reserves the run batch of `args.uri`. Resolves paths and
/// reads files (the plan when it is not open, consumers.jsonl, git for the
/// reservation's head_commit): call it off the runtime's threads.
fn run(
    me: &Backend,
    args: &BatchArgs,
    options: Options,
    settings: &Settings,
    preview: bool,
) -> Result<Option<Value>> {
    // The plan must be inside the workspace, even when it is open; its
    // run root (two folders up, where consumers.jsonl is) is the one
    // place beyond it that the server touches, and only when that too
    // is inside the workspace (SECURITY.md, plan-format §6).
    let path = file_path(&args.uri).map_err(with_kind(ErrorKind::NotALocalFile))?;
    me.check_allowed(&path)
        .map_err(with_kind(ErrorKind::OutsideWorkspace))?;
    // An open document's plan is current (it is analysed as it
    // changes): read it in place rather than parse the text again.
    let read = |plan: &Plan| (batch::stages(plan), plan.stage_map.is_some());
    let open = me.docs.get(&args.uri).map(|open| read(open.doc.plan()));
    let (stages, is_plan) = match open {
        Some(read) => read,
        None => read(plan_on_disk(&args.uri, settings)?.plan()),
    };
    if !is_plan {
        return Err(run_error(RunError::new(
            ErrorKind::NotAPlan,
            format!("{} is not a plan: it has no Stage Map", args.uri.as_str()),
        )));
    }
    let path = consumers_path(&args.uri, &settings.roots)?;
    let request = service::Request {
        stages: &stages,
        options,
        consumers_path: &path,
        list_limit: Some(args.limit.unwrap_or(DEFAULT_LIST_LIMIT)),
    };
    let key = args.impl_task_key.clone().unwrap_or_default();
    if !preview && key.trim().is_empty() {
        return Err(run_error(RunError::new(
            ErrorKind::MissingImplKey,
            "okstra.reserveRunBatch needs implTaskKey",
        )));
    }
    let value = if preview {
        let disk = consumers::Disk::cached(&me.consumers);
        serde_json::to_value(service::preview(&disk, &request).map_err(run_error)?)
    } else {
        // Never from the cache: the file is read again under the lock.
        let disk = consumers::Disk::default();
        serde_json::to_value(service::reserve(&disk, &request, &key).map_err(run_error)?)
    };
    value.map(Some).map_err(|e| jsonrpc::Error {
        code: jsonrpc::ErrorCode::InternalError,
        message: e.to_string().into(),
        data: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `<tmp>/ws/runs/demo/planning/plan.md` and `<tmp>/outside/runs/x/`.
    struct Layout {
        base: PathBuf,
    }

    impl Layout {
        fn new(name: &str) -> Layout {
            let base =
                std::env::temp_dir().join(format!("okstra-run-root-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&base);
            std::fs::create_dir_all(base.join("ws/runs/demo/planning")).unwrap();
            std::fs::create_dir_all(base.join("outside/runs/x/planning")).unwrap();
            Layout {
                base: base.canonicalize().unwrap(),
            }
        }

        fn at(&self, p: &str) -> PathBuf {
            self.base.join(p)
        }
    }

    impl Drop for Layout {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.base);
        }
    }

    #[test]
    fn the_run_root_must_lie_inside_a_workspace_folder() {
        let l = Layout::new("inside");
        let run_root = l.at("ws/runs/demo");
        // Inside a folder, or the folder itself.
        for root in ["ws", "ws/runs", "ws/runs/demo"] {
            assert_eq!(run_root_inside(&run_root, &[l.at(root)]), Ok(()), "{root}");
        }
        assert_eq!(
            run_root_inside(&run_root, &[l.at("outside"), l.at("ws")]),
            Ok(())
        );
        // A folder below the run root (the plan is inside, its run root is not),
        // a sibling, and a folder whose name merely starts the same.
        std::fs::create_dir_all(l.at("ws/runs/dem")).unwrap();
        for root in ["ws/runs/demo/planning", "outside", "ws/runs/dem"] {
            let err = run_root_inside(&run_root, &[l.at(root)]).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "the plan's run root {} is outside the workspace folders: okstra-lsp does not read or write consumers.jsonl there",
                    run_root.display()
                ),
                "{root}"
            );
        }
        // No workspace folder: nothing is inside.
        let err = run_root_inside(&run_root, &[]).unwrap_err();
        assert!(err.contains("named no local workspace folder"), "{err}");
        assert!(err.contains("okstra-lsp does not read or write consumers.jsonl there"));
    }

    #[test]
    fn symbolic_links_are_resolved_on_both_sides() {
        let l = Layout::new("links");
        // A workspace folder named through a link to the real folder (the
        // server resolves its folders once, at initialize).
        std::os::unix::fs::symlink(l.at("ws"), l.at("ws-link")).unwrap();
        assert_eq!(
            run_root_inside(
                &l.at("ws/runs/demo"),
                &[super::super::canonical(&l.at("ws-link"))]
            ),
            Ok(())
        );
        assert_eq!(
            run_root_inside(&l.at("ws-link/runs/demo"), &[l.at("ws")]),
            Ok(())
        );
        // A link inside the workspace to a run root outside it.
        std::os::unix::fs::symlink(l.at("outside/runs/x"), l.at("ws/runs/escape")).unwrap();
        let err = run_root_inside(&l.at("ws/runs/escape"), &[l.at("ws")]).unwrap_err();
        assert!(
            err.contains(&l.at("outside/runs/x").display().to_string()),
            "the real folder is named: {err}"
        );
        // `..` that cannot be resolved does not climb out.
        let missing = l.at("ws/gone/../../outside/runs/x");
        assert!(run_root_inside(&missing, &[l.at("ws")]).is_err());
    }
}
