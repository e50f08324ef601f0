"""Issue 18: prepareRename / rename of stage numbers and C-<N> IDs, the
`Renumber stages in order` source action (its command applies the edit
through workspace/applyEdit), and the refusal when consumers.jsonl has rows
for a stage whose number would change."""

from __future__ import annotations

import json

import pytest
from lsprotocol import types as T
from pygls.exceptions import JsonRpcException

from lspkit import assert_matches_check, codes, to_index
from plans import PLAN

REQUEST_FAILED = -32803


def pos_params(doc, needle, nth=0, offset=0):
    return T.PrepareRenameParams(
        text_document=T.TextDocumentIdentifier(uri=doc.uri), position=doc.pos(needle, nth, offset)
    )


async def rename(client, doc, needle, new_name, nth=0, offset=0):
    edit = await client.text_document_rename_async(
        T.RenameParams(
            text_document=T.TextDocumentIdentifier(uri=doc.uri),
            position=doc.pos(needle, nth, offset),
            new_name=new_name,
        )
    )
    return edit


async def test_prepare_rename_names_the_digits(client, tmp_path):
    doc = client.open((tmp_path / "plan.md").as_uri(), PLAN)
    await doc.published()
    # On the heading's number, a Stage Map cell, a depends-on entry, a 4.5.9 mention, a C-<N>.
    for needle, nth, offset, placeholder in [
        ("Stage 3 — HTTP", 0, 6, "3"),
        ("| 3 | HTTP", 0, 2, "3"),
        ("| 1, 2 |", 0, 5, "2"),
        ("Stage 2 needs Redis", 0, 6, "2"),
        ("C-1", 1, 2, "1"),
    ]:
        got = await client.text_document_prepare_rename_async(pos_params(doc, needle, nth, offset))
        assert got is not None, needle
        assert got.placeholder == placeholder, needle
        assert doc.text[to_index(doc.text, got.range.start, doc.enc) : to_index(doc.text, got.range.end, doc.enc)] == placeholder

    # Not a reference: refused with a message the client shows.
    with pytest.raises(JsonRpcException) as info:
        await client.text_document_prepare_rename_async(pos_params(doc, "Is Redis available"))
    assert "not a stage number" in str(info.value)


async def test_rename_a_stage_everywhere_and_back(client, tmp_path):
    doc = client.open((tmp_path / "plan.md").as_uri(), PLAN)
    before = await doc.published()
    edit = await rename(client, doc, "| 1, 2 |", "7", offset=5)
    doc.apply_workspace_edit(edit)
    text = doc.text
    assert "### 4.5.7 Stage 7 — Redis backend" in text
    assert "| 7 | Redis backend | (none) | 3 |" in text
    assert "| 3 | HTTP middleware | 1, 7 | 2 |" in text
    assert "| Stage 7 needs Redis in CI |" in text
    # Not free prose: the Stage Validation line keeps its number.
    assert "- post: `cargo test` passes for stage 2" in text
    after = await doc.published()
    assert codes(after.diagnostics) == codes(before.diagnostics)
    assert_matches_check(tmp_path, text, after.diagnostics, doc.enc)

    # Back again gives the original text.
    doc.apply_workspace_edit(await rename(client, doc, "Stage 7 — Redis", "Stage 2", offset=6))
    assert doc.text == PLAN


async def test_rename_refusals(client, tmp_path):
    doc = client.open((tmp_path / "plan.md").as_uri(), PLAN)
    await doc.published()
    for new_name, message in [("3", "stage 3 already exists"), ("0", "not a positive integer"), ("x", "not a positive integer")]:
        with pytest.raises(JsonRpcException) as info:
            await rename(client, doc, "Stage 2 — Redis", new_name, offset=6)
        assert message in str(info.value), new_name
    with pytest.raises(JsonRpcException) as info:
        await rename(client, doc, "C-1 |", "C-2")
    # C-2 is named in 4.5.9 (an orphan reference): taken.
    assert "C-2 already exists" in str(info.value)


async def test_rename_a_clarification_id(client, tmp_path):
    doc = client.open((tmp_path / "plan.md").as_uri(), PLAN)
    await doc.published()
    doc.apply_workspace_edit(await rename(client, doc, "C-1 |", "C-5"))
    assert "majority-disagree → C-5 |" in doc.text
    assert "| C-5 | decision |" in doc.text
    assert "C-1" not in doc.text


def shuffled_plan() -> str:
    """PLAN with stages 1 and 2 swapped everywhere (sections stay in place)."""
    swap = {"1": "2", "2": "1"}
    text = PLAN
    for old, new in [("4.5.1 Stage 1", "4.5.X Stage X"), ("4.5.2 Stage 2", "4.5.1 Stage 1"), ("4.5.X Stage X", "4.5.2 Stage 2")]:
        text = text.replace(old, new)
    text = text.replace("| 1 | Token", "| X | Token").replace("| 2 | Redis", "| 1 | Redis").replace("| X | Token", "| 2 | Token")
    text = text.replace("| 1, 2 |", "| 2, 1 |").replace("Stage 2 needs Redis", "Stage 1 needs Redis")
    assert swap
    return text


async def renumber_action(client, doc):
    """The source action, as raw JSON (pygls reads a code action whose
    command is an object as a Command)."""
    actions = await client.raw_request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": doc.uri},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": [], "only": ["source"]},
        },
    )
    return [a for a in actions or [] if a["title"] == "Renumber stages in order"]


async def run_action(client, action):
    command = action["command"]
    return await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=command["command"], arguments=command["arguments"])
    )


def accept_apply_edit(client, doc, seen):
    @client.feature(T.WORKSPACE_APPLY_EDIT)
    def _apply(params: T.ApplyWorkspaceEditParams):
        seen.append(params.edit)
        doc.apply_workspace_edit(params.edit)
        return T.ApplyWorkspaceEditResult(applied=True)


async def test_renumber_source_action(client, tmp_path):
    doc = client.open((tmp_path / "plan.md").as_uri(), PLAN)
    await doc.published()
    assert await renumber_action(client, doc) == [], "already 1..n: not offered"

    text = shuffled_plan()
    doc2 = client.open((tmp_path / "shuffled.md").as_uri(), text)
    await doc2.published()
    (action,) = await renumber_action(client, doc2)
    assert action["kind"] == "source.okstra.renumberStages"
    assert "disabled" not in action
    assert "edit" not in action, "worked out by the command"
    seen = []
    accept_apply_edit(client, doc2, seen)
    await run_action(client, action)
    assert len(seen) == 1
    # Section order wins: the first section is stage 1 again, references follow.
    assert doc2.text == PLAN
    await doc2.published()
    assert await renumber_action(client, doc2) == [], "idempotent"


async def test_recorded_stages_are_not_renumbered(start, tmp_path):
    ws = tmp_path / "ws"
    plan = ws / "runs" / "demo" / "planning" / "plan.md"
    plan.parent.mkdir(parents=True)
    plan.write_text(shuffled_plan())
    (ws / "runs" / "demo" / "consumers.jsonl").write_text(
        json.dumps({"impl_task_key": "impl-1", "stage": 2, "status": "started"}) + "\n"
    )
    client, _ = await start(folders=[ws])
    doc = client.open(plan.as_uri(), plan.read_text())
    await doc.published()
    with pytest.raises(JsonRpcException) as info:
        await rename(client, doc, "Stage 2 — Token", "9", offset=6)
    assert "stage 2 has started or done rows in consumers.jsonl" in str(info.value)
    # Stage 3 has no row: its rename goes through.
    assert await rename(client, doc, "Stage 3 — HTTP", "9", offset=6) is not None

    (action,) = await renumber_action(client, doc)
    with pytest.raises(JsonRpcException) as info:
        await run_action(client, action)
    assert "stage 2 has started or done rows" in str(info.value)


async def test_document_links_to_predicted_files_that_exist(start, tmp_path):
    ws = tmp_path / "ws"
    plan = ws / "runs" / "demo" / "planning" / "plan.md"
    plan.parent.mkdir(parents=True)
    plan.write_text(PLAN)
    # Relative to the folder holding runs/: two of the predicted files exist,
    # and docs/ (a folder: no link).
    (ws / "src").mkdir()
    (ws / "src" / "bucket.rs").write_text("")
    (ws / "src" / "lib.rs").write_text("")
    (ws / "docs").mkdir()
    client, _ = await start(folders=[ws])
    doc = client.open(plan.as_uri(), PLAN)
    await doc.published()
    links = await client.text_document_document_link_async(
        T.DocumentLinkParams(text_document=T.TextDocumentIdentifier(uri=doc.uri))
    )
    got = sorted(
        (doc.text[to_index(doc.text, l.range.start, doc.enc) : to_index(doc.text, l.range.end, doc.enc)], l.target)
        for l in links
    )
    bucket = (ws / "src" / "bucket.rs").as_uri()
    lib = (ws / "src" / "lib.rs").as_uri()
    # src/bucket.rs: stage 1's step table and Exit Contract; src/lib.rs: stage
    # 1's step table and both Exit Contracts.
    assert got == [("src/bucket.rs", bucket)] * 2 + [("src/lib.rs", lib)] * 3, got
