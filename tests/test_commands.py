"""Issue 6: okstra.previewRunBatch / okstra.reserveRunBatch on a plan in the
run layout (runs/<plan-task-key>/<dir>/plan.md, consumers.jsonl two folders
up), and the workspace-folder restriction on what the server reads and
writes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time

import pytest
from lsprotocol import types as T
from pygls.exceptions import JsonRpcException

from lspkit import BIN, CANARY
from plans import NOT_A_PLAN, PLAN

INVALID_PARAMS = -32602
REQUEST_FAILED = -32803


@pytest.fixture
def layout(tmp_path):
    """ws/runs/demo-plan/planning/plan.md, ws/notes.md, and outside/ (not in
    the workspace) with a plan in the same layout."""
    ws = tmp_path / "ws"
    plan = ws / "runs" / "demo-plan" / "planning" / "plan.md"
    plan.parent.mkdir(parents=True)
    plan.write_text(PLAN)
    (ws / "notes.md").write_text(NOT_A_PLAN)
    outside = tmp_path / "outside" / "runs" / "x" / "planning" / "plan.md"
    outside.parent.mkdir(parents=True)
    outside.write_text(PLAN)
    return ws, plan, outside


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def error_of(awaitable) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as info:
        await awaitable
    return info.value


async def test_preview_then_reserve(start, layout):
    ws, plan, _ = layout
    consumers = ws / "runs" / "demo-plan" / "consumers.jsonl"
    client, _ = await start(folders=[ws])
    uri = plan.as_uri()

    # Preview from the file on disk (not open): okstra's auto batch.
    preview = await client.execute("okstra.previewRunBatch", {"uri": uri})
    assert preview["stages"] == [1, 2]
    # okstra's step counts are the Stage Map cells (3 + 3), not the counted rows (3 + 2).
    assert preview["totalSteps"] == 6
    assert preview["budget"] == 8
    assert preview["ready"] == [1, 2]
    assert preview["done"] == [] and preview["started"] == []
    assert preview["blocked"] == [{"stage": 3, "waitingOn": [1, 2]}, {"stage": 4, "waitingOn": [3]}]
    assert preview["consumersPath"] == str(consumers.resolve())
    assert preview["invalidLines"] == []
    assert not consumers.exists(), "preview writes nothing"
    # The summary is rendered by the server, the text `batch preview` prints.
    assert preview["summary"] == (
        "Next run: stages 1, 2 — 6/8 steps\n"
        "ready:   1, 2\n"
        "done:    (none)\n"
        "started: (none)\n"
        "blocked: 3 (waiting on 1, 2), 4 (waiting on 3)"
    )
    assert preview["notes"] == []
    assert "omitted" not in preview

    # `limit` keeps the first entries of each list and counts the rest.
    cut = await client.execute("okstra.previewRunBatch", {"uri": uri, "limit": 1})
    assert cut["stages"] == [1, 2], "the batch itself is never cut"
    assert cut["ready"] == [1]
    assert cut["blocked"] == [{"stage": 3, "waitingOn": [1, 2]}]
    assert cut["omitted"] == {"ready": 1, "done": 0, "started": 0, "blocked": 1}
    assert cut["summary"].splitlines()[1:] == [
        "ready:   1, … and 1 more",
        "done:    (none)",
        "started: (none)",
        "blocked: 3 (waiting on 1, 2), … and 1 more",
    ]

    # Options: a smaller budget, and a stage asked for by number.
    assert (await client.execute("okstra.previewRunBatch", {"uri": uri, "budget": 3}))["stages"] == [1]
    assert (await client.execute("okstra.previewRunBatch", {"uri": uri, "stage": 2}))["stages"] == [2]
    assert (await client.execute("okstra.previewRunBatch", {"uri": uri, "stage": "2"}))["stages"] == [2]

    # Reserve: one started row per stage of the batch.
    reservation = await client.execute("okstra.reserveRunBatch", {"uri": uri, "implTaskKey": "impl-A"})
    assert reservation["stages"] == [1, 2]
    assert reservation["consumersPath"] == str(consumers.resolve())
    written = rows(consumers)
    assert [(r["impl_task_key"], r["stage"], r["status"]) for r in written] == [
        ("impl-A", 1, "started"),
        ("impl-A", 2, "started"),
    ]
    # started_at as Python's datetime.now(timezone.utc).isoformat() writes it,
    # one timestamp for the whole batch.
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00", r["started_at"]) for r in written)
    assert len({r["started_at"] for r in written}) == 1
    assert all("head_commit" in r for r in written)
    assert reservation["rows"] == written
    assert reservation["summary"].splitlines()[0] == "Next run: stages 1, 2 — 6/8 steps"
    assert reservation["summary"].splitlines()[-1] == f"reserved in {consumers.resolve()}"

    # Started stages are not offered again (unless asked to).
    err = await error_of(client.execute("okstra.reserveRunBatch", {"uri": uri, "implTaskKey": "impl-B"}))
    assert err.code == REQUEST_FAILED
    assert err.message.startswith("no stage is ready: every remaining stage has unsatisfied depends-on; ")
    assert err.data == {"kind": "no-stage-ready"}
    again = await client.execute("okstra.previewRunBatch", {"uri": uri, "includeStarted": True})
    assert again["stages"] == [1, 2]
    assert [s["stage"] for s in again["started"]] == [1, 2]
    assert len(rows(consumers)) == 2

    # okstra finishes 1 and 2: stage 3 is next, and hover says so.
    with consumers.open("a") as f:
        for n in (1, 2):
            f.write(json.dumps({"impl_task_key": "impl-A", "stage": n, "status": "done"}) + "\n")
        f.write("not json\n")
    doc = client.open(uri, PLAN)
    hover = await client.text_document_hover_async(
        T.HoverParams(text_document=T.TextDocumentIdentifier(uri=uri), position=doc.pos("Stage 3 —", offset=6))
    )
    assert "Status: ready" in hover.contents.value
    hover = await client.text_document_hover_async(
        T.HoverParams(text_document=T.TextDocumentIdentifier(uri=uri), position=doc.pos("Stage 1 —", offset=6))
    )
    assert "Status: done" in hover.contents.value
    reservation = await client.execute("okstra.reserveRunBatch", {"uri": uri, "implTaskKey": "impl-C"})
    assert reservation["stages"] == [3]
    assert reservation["invalidLines"][0]["line"] == 5
    assert reservation["notes"][0].startswith(f"{consumers.resolve()}:5: skipped: not JSON")
    lines = consumers.read_text().splitlines()
    assert lines[4] == "not json", "an invalid line is kept"
    assert [json.loads(line)["stage"] for line in lines[5:]] == [3]


async def test_commands_use_the_open_buffer(start, layout):
    ws, plan, _ = layout
    client, _ = await start(folders=[ws])
    uri = plan.as_uri()
    # Unsaved: stage 2 now depends on stage 1.
    client.open(uri, PLAN.replace("| 2 | Redis backend | (none) |", "| 2 | Redis backend | 1 |"))
    preview = await client.execute("okstra.previewRunBatch", {"uri": uri})
    assert preview["stages"] == [1]
    assert preview["blocked"][0] == {"stage": 2, "waitingOn": [1]}

    lenses = await client.text_document_code_lens_async(
        T.CodeLensParams(text_document=T.TextDocumentIdentifier(uri=uri))
    )
    assert [lens.command.command for lens in lenses] == ["okstra.previewRunBatch", "okstra.reserveRunBatch"]
    assert list(lenses[0].command.arguments) == [{"uri": uri}]
    hints = await client.text_document_inlay_hint_async(
        T.InlayHintParams(
            text_document=T.TextDocumentIdentifier(uri=uri),
            range=T.Range(start=T.Position(line=0, character=0), end=T.Position(line=100, character=0)),
        )
    )
    assert [h.label.strip() for h in hints] == [
        "ready",
        "blocked by stage 1",
        "blocked by stage 1, 2",
        "blocked by stage 3",
    ]
    # Only the rows on the lines asked for (an editor asks for its screen).
    rows = [h.position.line for h in hints]
    visible = await client.text_document_inlay_hint_async(
        T.InlayHintParams(
            text_document=T.TextDocumentIdentifier(uri=uri),
            range=T.Range(start=T.Position(line=rows[1], character=0), end=T.Position(line=rows[2], character=0)),
        )
    )
    assert [(h.position.line, h.label.strip()) for h in visible] == [
        (rows[1], "blocked by stage 1"),
        (rows[2], "blocked by stage 1, 2"),
    ]


@pytest.mark.parametrize(
    ("command", "arguments", "code", "words", "kind"),
    [
        ("okstra.reserveRunBatch", {}, INVALID_PARAMS, "implTaskKey", "missing-impl-key"),
        ("okstra.reserveRunBatch", {"implTaskKey": "   "}, INVALID_PARAMS, "implTaskKey", "missing-impl-key"),
        ("okstra.previewRunBatch", {"stage": 9}, REQUEST_FAILED, "not in Stage Map", "stage-not-found"),
        ("okstra.reserveRunBatch", {"stage": 9, "implTaskKey": "k"}, REQUEST_FAILED, "not in Stage Map", "stage-not-found"),
        ("okstra.previewRunBatch", {"stage": "first"}, INVALID_PARAMS, "first", "invalid-stage"),
        ("okstra.previewRunBatch", {"stage": -1}, INVALID_PARAMS, "stage", "invalid-stage"),
        ("okstra.previewRunBatch", {"budget": 0}, INVALID_PARAMS, "budget", "invalid-budget"),
        ("okstra.previewRunBatch", {"budget": "lots"}, INVALID_PARAMS, "invalid type", "invalid-arguments"),
        ("okstra.previewRunBatch", {"uri": 5}, INVALID_PARAMS, "okstra.previewRunBatch", "invalid-arguments"),
        ("okstra.previewRunBatch", {"uri": "not a uri"}, INVALID_PARAMS, "okstra.previewRunBatch", "invalid-arguments"),
        ("okstra.previewRunBatch", {"uri": "untitled:Untitled-1"}, INVALID_PARAMS, "not a local file", "not-a-local-file"),
        (
            "okstra.previewRunBatch",
            {"uri": "https://example.com/ws/runs/demo-plan/planning/plan.md"},
            INVALID_PARAMS,
            "not a local file",
            "not-a-local-file",
        ),
        ("okstra.previewRunBatch", "NOTES", REQUEST_FAILED, "not a plan", "not-a-plan"),
        ("okstra.reserveRunBatch", {"uri": "MISSING", "implTaskKey": "k"}, INVALID_PARAMS, "missing.md", "plan-unreadable"),
        ("okstra.unknownCommand", {}, INVALID_PARAMS, "unknown command", None),
        ("okstra.previewRunBatch", None, INVALID_PARAMS, "argument", None),
    ],
)
async def test_command_errors_are_lsp_errors(start, layout, command, arguments, code, words, kind):
    ws, plan, _ = layout
    client, _ = await start(folders=[ws])
    if arguments == "NOTES":
        arguments = {"uri": (ws / "notes.md").as_uri()}
    elif isinstance(arguments, dict):
        arguments = {"uri": plan.as_uri(), **arguments}
        if arguments["uri"] == "MISSING":
            arguments["uri"] = (plan.parent / "missing.md").as_uri()
    args = [] if arguments is None else [arguments]
    err = await error_of(client.execute(command, *args))
    assert err.code == code, err.message
    assert words.lower() in err.message.lower(), err.message
    # The kind for clients to match (docs/commands/serve.md), not the words.
    assert err.data == ({"kind": kind} if kind else None), err.data
    consumers = ws / "runs" / "demo-plan" / "consumers.jsonl"
    assert not consumers.exists() or consumers.read_text() == "", "no row written"
    await client.alive()


async def test_debug_panic_hook_is_off_without_the_env_var(start):
    client, _ = await start(env={"OKSTRA_LSP_TEST_HOOKS": "0"})
    err = await error_of(client.execute("okstra.debugPanic"))
    assert err.code == INVALID_PARAMS
    await client.alive()


# --------------------------------------------------------------------------
# The workspace-folder restriction


@pytest.mark.parametrize("opened", [False, True], ids=["on-disk", "open"])
@pytest.mark.parametrize("command", ["okstra.previewRunBatch", "okstra.reserveRunBatch"])
async def test_plans_outside_the_workspace_are_refused(start, layout, command, opened):
    ws, _, outside = layout
    client, _ = await start(folders=[ws])
    uri = outside.as_uri()
    if opened:
        client.open(uri, PLAN)
    err = await error_of(client.execute(command, {"uri": uri, "implTaskKey": "k"}))
    assert err.code == INVALID_PARAMS
    assert "outside the workspace" in err.message
    assert err.data == {"kind": "outside-workspace"}
    assert not (outside.parent.parent / "consumers.jsonl").exists(), "nothing written outside the workspace"
    await client.alive()


async def test_dot_dot_and_symlinks_do_not_escape(start, layout, tmp_path):
    ws, _, outside = layout
    # A `..` path into outside/, and a symbolic link from the workspace to it.
    dotdot = f"{ws.as_uri()}/../outside/runs/x/planning/plan.md"
    (ws / "link").symlink_to(tmp_path / "outside", target_is_directory=True)
    # And a link back up: the walk must not report one plan under many paths.
    (ws / "runs" / "loop").symlink_to(ws, target_is_directory=True)
    linked = ws / "link" / "runs" / "x" / "planning" / "plan.md"
    client, _ = await start(folders=[ws])
    for uri in (dotdot, linked.as_uri()):
        err = await error_of(client.execute("okstra.reserveRunBatch", {"uri": uri, "implTaskKey": "k"}))
        assert err.code == INVALID_PARAMS, err.message
        err = await error_of(
            client.text_document_diagnostic_async(
                T.DocumentDiagnosticParams(text_document=T.TextDocumentIdentifier(uri=uri))
            )
        )
        assert err.code == INVALID_PARAMS
    assert not (outside.parent.parent / "consumers.jsonl").exists()
    # The workspace report does not follow the link out, and reports only what is inside.
    report = await client.workspace_diagnostic_async(T.WorkspaceDiagnosticParams(previous_result_ids=[]))
    uris = {item.uri for item in report.items}
    assert uris == {(ws / "runs" / "demo-plan" / "planning" / "plan.md").as_uri()}


async def test_open_documents_outside_still_get_diagnostics_but_their_run_folder_is_not_read(start, layout):
    ws, _, outside = layout
    # consumers.jsonl beside the outside plan says stage 1 is done.
    (outside.parent.parent / "consumers.jsonl").write_text(json.dumps({"stage": 1, "status": "done"}) + "\n")
    client, _ = await start(folders=[ws])
    doc = client.open(outside.as_uri(), PLAN)
    published = await doc.published(1)
    assert published.diagnostics, "an open document is checked wherever it is"
    hover = await client.text_document_hover_async(
        T.HoverParams(text_document=T.TextDocumentIdentifier(uri=doc.uri), position=doc.pos("Stage 1 —", offset=6))
    )
    # The run folder outside the workspace is not read: stage 1 looks ready.
    assert "Status: ready" in hover.contents.value, hover.contents.value
    assert "Status: done" not in hover.contents.value


# --------------------------------------------------------------------------
# The run-root boundary (plan-format §6): consumers.jsonl is read and written
# only when the plan's run root lies inside a workspace folder.


def outside_run_root(run_root) -> str:
    return (
        f"the plan's run root {run_root.resolve()} is outside the workspace folders: "
        "okstra-lsp does not read or write consumers.jsonl there"
    )


@pytest.mark.parametrize("opened", [False, True], ids=["on-disk", "open"])
@pytest.mark.parametrize("command", ["okstra.previewRunBatch", "okstra.reserveRunBatch"])
async def test_a_run_root_outside_the_workspace_is_refused(start, layout, command, opened):
    _, plan, _ = layout
    run_root = plan.parent.parent
    # The workspace folder is the plan's own folder: the plan is inside, its
    # run root (where consumers.jsonl is) is not.
    client, _ = await start(folders=[plan.parent])
    if opened:
        client.open(plan.as_uri(), PLAN)
    err = await error_of(client.execute(command, {"uri": plan.as_uri(), "implTaskKey": "k"}))
    assert err.code == INVALID_PARAMS
    assert err.message == outside_run_root(run_root)
    assert err.data == {"kind": "outside-workspace"}
    assert not (run_root / "consumers.jsonl").exists(), "nothing written outside the workspace"
    await client.alive()


async def test_without_a_workspace_folder_no_run_root_is_inside(start, layout):
    _, plan, _ = layout
    client, _ = await start()
    err = await error_of(client.execute("okstra.reserveRunBatch", {"uri": plan.as_uri(), "implTaskKey": "k"}))
    assert err.code == INVALID_PARAMS
    assert "is outside the workspace folders (the client named no local workspace folder)" in err.message
    assert not (plan.parent.parent / "consumers.jsonl").exists()


async def test_readiness_of_a_plan_whose_run_root_is_outside_is_unknown(start, layout):
    _, plan, _ = layout
    # consumers.jsonl says stage 1 is done, but the server must not read it.
    (plan.parent.parent / "consumers.jsonl").write_text(json.dumps({"stage": 1, "status": "done"}) + "\n")
    client, _ = await start(folders=[plan.parent])
    uri = plan.as_uri()
    doc = client.open(uri, PLAN)
    hover = await client.text_document_hover_async(
        T.HoverParams(text_document=T.TextDocumentIdentifier(uri=uri), position=doc.pos("Stage 1 —", offset=6))
    )
    assert "Status: ready" in hover.contents.value, hover.contents.value
    lenses = await client.text_document_code_lens_async(
        T.CodeLensParams(text_document=T.TextDocumentIdentifier(uri=uri))
    )
    assert lenses[0].command.title == "Next run: stages 1, 2 — 6/8 steps"
    hints = await client.text_document_inlay_hint_async(
        T.InlayHintParams(
            text_document=T.TextDocumentIdentifier(uri=uri),
            range=T.Range(start=T.Position(line=0, character=0), end=T.Position(line=100, character=0)),
        )
    )
    assert [h.label.strip() for h in hints] == ["ready", "ready", "blocked by stage 1, 2", "blocked by stage 3"]


@pytest.mark.parametrize("folder", ["run-root", "link"])
async def test_a_run_root_inside_or_equal_to_a_folder_is_read(start, layout, tmp_path, folder):
    ws, plan, _ = layout
    run_root = plan.parent.parent
    (run_root / "consumers.jsonl").write_text(json.dumps({"stage": 1, "status": "done"}) + "\n")
    if folder == "run-root":
        client, _ = await start(folders=[run_root])
    else:
        # The workspace folder named through a symbolic link to the real one.
        link = tmp_path / "ws-link"
        link.symlink_to(ws, target_is_directory=True)
        client, _ = await start(folder_uris=[link.as_uri()])
    preview = await client.execute("okstra.previewRunBatch", {"uri": plan.as_uri()})
    assert preview["done"] == [1]
    assert preview["stages"] == [2]


async def test_non_file_uris_are_never_read_as_paths(start, tmp_path):
    # No workspace folder: nothing restricts paths, but a non-file URI is
    # still not a path (`https://h/etc/passwd` is not /etc/passwd).
    client, _ = await start()
    for uri in ("https://example.com/etc/passwd", "untitled:etc/passwd", "file://otherhost/etc/passwd"):
        err = await error_of(
            client.text_document_diagnostic_async(
                T.DocumentDiagnosticParams(text_document=T.TextDocumentIdentifier(uri=uri))
            )
        )
        assert err.code == INVALID_PARAMS
        assert "not a local file" in err.message
    # A workspace whose only folder is not local restricts to nothing.
    plan = tmp_path / "runs" / "k" / "planning" / "plan.md"
    plan.parent.mkdir(parents=True)
    plan.write_text(PLAN)
    client, _ = await start(folder_uris=["vscode-vfs://github/okstra/plans"])
    err = await error_of(client.execute("okstra.previewRunBatch", {"uri": plan.as_uri()}))
    assert "outside the workspace" in err.message


# --------------------------------------------------------------------------
# Files that are not regular files, files too large, and files that change
# with no watcher event (issue 13: no input may stall the server).

# A hang is what these tests look for: generous, but far below forever.
HANG = 10.0


def ident(uri: str) -> T.TextDocumentIdentifier:
    return T.TextDocumentIdentifier(uri=uri)


def whole(doc) -> T.Range:
    return T.Range(start=T.Position(line=0, character=0), end=T.Position(line=len(doc.text.splitlines()), character=0))


async def lens_title(client, uri: str) -> str:
    lenses = await asyncio.wait_for(client.text_document_code_lens_async(T.CodeLensParams(text_document=ident(uri))), HANG)
    return lenses[0].command.title


async def readiness(client, doc) -> list[str]:
    hints = await asyncio.wait_for(
        client.text_document_inlay_hint_async(T.InlayHintParams(text_document=ident(doc.uri), range=whole(doc))),
        HANG,
    )
    return [h.label.strip() for h in hints or []]


async def hover_text(client, doc) -> str:
    hover = await asyncio.wait_for(
        client.text_document_hover_async(
            T.HoverParams(text_document=ident(doc.uri), position=doc.pos("Stage 1 —", offset=6))
        ),
        HANG,
    )
    return hover.contents.value


async def symbols_of(client, uri: str):
    return await asyncio.wait_for(
        client.text_document_document_symbol_async(T.DocumentSymbolParams(text_document=ident(uri))), HANG
    )


async def test_a_fifo_as_consumers_jsonl_stalls_nothing(start, layout):
    """A FIFO without a writer would block a plain read forever, and it used
    to block the whole server (and a reservation, holding the lock)."""
    ws, plan, _ = layout
    consumers = plan.parent.parent / "consumers.jsonl"
    os.mkfifo(consumers)
    other = ws / "runs" / "other" / "planning" / "plan.md"
    other.parent.mkdir(parents=True)
    other.write_text(CANARY)
    client, _ = await start(folders=[ws])
    doc = client.open(plan.as_uri(), PLAN)
    client.open(other.as_uri(), CANARY)
    # Answered, with the reason instead of a status, while another document
    # is served.
    title, symbols = await asyncio.gather(lens_title(client, doc.uri), symbols_of(client, other.as_uri()))
    assert symbols
    assert title.startswith("Next run: unknown — "), title
    assert title.endswith("consumers.jsonl: not a regular file (a FIFO): okstra-lsp reads only regular files")
    assert "Status:" not in await hover_text(client, doc)
    assert await readiness(client, doc) == []
    for command, extra in (("okstra.previewRunBatch", {}), ("okstra.reserveRunBatch", {"implTaskKey": "impl-A"})):
        err = await error_of(asyncio.wait_for(client.execute(command, {"uri": doc.uri, **extra}), HANG))
        assert err.code == REQUEST_FAILED
        assert "not a regular file (a FIFO)" in err.message, err.message
        # Read for a preview; opened to append for a reservation.
        assert err.data == {
            "kind": "consumers-unreadable" if command == "okstra.previewRunBatch" else "consumers-unwritable"
        }
    assert consumers.is_fifo()
    await asyncio.wait_for(client.alive(), HANG)


async def test_a_fifo_named_like_a_plan_stalls_nothing(start, layout):
    ws, plan, _ = layout
    (ws / "notes.md").unlink()
    os.mkfifo(ws / "notes.md")
    client, _ = await start(folders=[ws])
    client.open(plan.as_uri(), PLAN)
    report, symbols = await asyncio.gather(
        asyncio.wait_for(client.workspace_diagnostic_async(T.WorkspaceDiagnosticParams(previous_result_ids=[])), HANG),
        symbols_of(client, plan.as_uri()),
    )
    assert symbols
    assert {item.uri for item in report.items} == {plan.as_uri()}
    # Asked for by name, it is refused at once.
    err = await error_of(
        asyncio.wait_for(
            client.text_document_diagnostic_async(
                T.DocumentDiagnosticParams(text_document=ident((ws / "notes.md").as_uri()))
            ),
            HANG,
        )
    )
    assert err.code == INVALID_PARAMS
    assert "notes.md: not a regular file (a FIFO)" in err.message
    await asyncio.wait_for(client.alive(), HANG)


def rewrite(path, text: str, mtime: float) -> None:
    """Writes `text` in place (same inode) and sets the modification time."""
    with path.open("r+") as f:
        f.truncate(0)
        f.write(text)
    os.utime(path, (mtime, mtime))


def done_row(n: int) -> str:
    return json.dumps({"impl_task_key": "impl-A", "stage": n, "status": "done"}) + "\n"


async def test_readiness_follows_consumers_jsonl_without_any_watcher_event(start, layout):
    """The server caches the parsed file by its identity (device, inode, size,
    mtime) and checks that on every use: clients such as Neovim on Linux send
    no file-watcher events. The mtimes are set in the past, where a cached
    parse is trusted (a file written in the last seconds is always re-read)."""
    ws, plan, _ = layout
    consumers = plan.parent.parent / "consumers.jsonl"
    consumers.write_text(done_row(1))
    base = time.time() - 1000
    os.utime(consumers, (base, base))
    client, _ = await start(folders=[ws])
    doc = client.open(plan.as_uri(), PLAN)
    assert await lens_title(client, doc.uri) == "Next run: stage 2 — 3/8 steps"
    assert await lens_title(client, doc.uri) == "Next run: stage 2 — 3/8 steps"
    # The same size, another mtime: stage 2 done instead of stage 1.
    rewrite(consumers, done_row(2), base + 10)
    assert await lens_title(client, doc.uri) == "Next run: stage 1 — 3/8 steps"
    assert await readiness(client, doc) == ["ready", "done", "blocked by stage 1", "blocked by stage 3"]
    assert "Status: ready" in await hover_text(client, doc)
    # Another file of the same size and mtime renamed over it (a new inode).
    replacement = consumers.with_name("consumers.new")
    replacement.write_text(done_row(1))
    os.utime(replacement, (base + 10, base + 10))
    os.replace(replacement, consumers)
    assert await lens_title(client, doc.uri) == "Next run: stage 2 — 3/8 steps"
    assert "Status: done" in await hover_text(client, doc)
    # Grown by a row.
    with consumers.open("a") as f:
        f.write(done_row(2))
    os.utime(consumers, (base + 20, base + 20))
    assert await lens_title(client, doc.uri) == "Next run: stage 3 — 2/8 steps"
    # A reservation reads the file itself (under its lock), and what it
    # appends shows at once.
    reservation = await client.execute("okstra.reserveRunBatch", {"uri": doc.uri, "implTaskKey": "impl-B"})
    assert reservation["stages"] == [3]
    assert await readiness(client, doc) == ["done", "done", "started by impl-B", "blocked by stage 3"]
    # Gone.
    consumers.unlink()
    assert await lens_title(client, doc.uri) == "Next run: stages 1, 2 — 6/8 steps"


async def test_a_consumers_jsonl_over_64_mib_is_not_read(start, layout):
    ws, plan, _ = layout
    consumers = plan.parent.parent / "consumers.jsonl"
    with consumers.open("wb") as f:
        f.truncate(64 * 2**20 + 1)  # sparse: its size is all there is
    client, _ = await start(folders=[ws])
    doc = client.open(plan.as_uri(), PLAN)
    title = await lens_title(client, doc.uri)
    assert title.startswith("Next run: unknown — "), title
    assert title.endswith(
        "consumers.jsonl: 67108865 bytes, over the 64 MiB limit for consumers.jsonl: okstra-lsp neither reads nor appends to it"
    )
    assert await readiness(client, doc) == []
    for command, extra in (("okstra.previewRunBatch", {}), ("okstra.reserveRunBatch", {"implTaskKey": "impl-A"})):
        err = await error_of(asyncio.wait_for(client.execute(command, {"uri": doc.uri, **extra}), HANG))
        assert err.code == REQUEST_FAILED
        assert "over the 64 MiB limit for consumers.jsonl" in err.message
        assert err.data == {"kind": "consumers-too-large"}
    assert consumers.stat().st_size == 64 * 2**20 + 1, "nothing appended"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=HANG)


def test_the_cli_reads_only_regular_files(layout, tmp_path):
    ws, plan, _ = layout
    fifo = ws / "fifo.md"
    os.mkfifo(fifo)
    # Named: refused, with the reason.
    for args in (["check", str(fifo)], ["batch", "preview", str(fifo)], ["check", "--config", str(fifo), str(plan)]):
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "fifo.md: not a regular file (a FIFO): okstra-lsp reads only regular files" in proc.stderr, proc.stderr
    # Found in a folder: skipped, the rest is checked.
    proc = run_cli("check", "--format", "json", str(ws))
    assert proc.returncode == 1, proc.stderr
    assert f"okstra-lsp: {fifo}: skipped: not a regular file" in proc.stderr
    assert {d["file"] for d in json.loads(proc.stdout)} == {str(plan)}
    # consumers.jsonl a FIFO: preview and reserve refuse it, nothing waits.
    consumers = plan.parent.parent / "consumers.jsonl"
    os.mkfifo(consumers)
    for args in (["batch", "preview", str(plan)], ["batch", "reserve", "--impl-key", "impl-A", str(plan)]):
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "consumers.jsonl" in proc.stderr and "not a regular file (a FIFO)" in proc.stderr, proc.stderr
    assert consumers.is_fifo()
