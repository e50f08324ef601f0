"""Issue 17: okstra.stageGraph on an open plan: the SVG and mermaid text of
the document as it is now (unsaved edits included), each stage's heading
range, the version drawn, status from consumers.jsonl."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from pygls.exceptions import JsonRpcException

from lspkit import to_index
from plans import NOT_A_PLAN, PLAN

SVG = "{http://www.w3.org/2000/svg}"


def stages_in(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return sorted(g.get("data-stage") for g in root.iter(f"{SVG}g") if g.get("data-stage"))


async def test_stage_graph_follows_the_open_document(start, tmp_path):
    ws = tmp_path / "ws"
    plan = ws / "runs" / "demo" / "planning" / "plan.md"
    plan.parent.mkdir(parents=True)
    plan.write_text(PLAN)
    (ws / "runs" / "demo" / "consumers.jsonl").write_text(
        json.dumps({"impl_task_key": "impl-1", "stage": 1, "status": "done"}) + "\n"
    )
    client, _ = await start(folders=[ws])
    doc = client.open(plan.as_uri(), PLAN)
    await doc.published()

    graph = await client.execute("okstra.stageGraph", {"uri": doc.uri})
    assert stages_in(graph["svg"]) == ["1", "2", "3", "4"]
    assert "flowchart" in graph["mermaid"]
    assert graph["version"] == 1
    assert graph["note"] is None
    # Status from consumers.jsonl: stage 1 is done.
    assert "1 · Token bucket core" in graph["mermaid"] and ":::done" in graph["mermaid"]
    # Each anchor is its stage's heading.
    anchors = {a["stage"]: a["range"] for a in graph["anchors"]}
    assert sorted(anchors) == [1, 2, 3, 4]
    for n, r in anchors.items():
        start_index = to_index(doc.text, _pos(r["start"]), doc.enc)
        line = doc.text[start_index:].split("\n", 1)[0]
        assert line.startswith(f"### 4.5.{n} Stage {n} — "), (n, line)

    # An unsaved edit: stage 4 no longer waits on stage 3; the graph is drawn
    # from the buffer, not the file.
    doc.replace("| 4 | Docs and rollout | 3 | 1 |", "| 4 | Docs and rollout | (none) | 1 |")
    await doc.published()
    after = await client.execute("okstra.stageGraph", {"uri": doc.uri})
    assert after["version"] == 2
    assert after["mermaid"] != graph["mermaid"]
    assert "s3 --> s4" in graph["mermaid"] and "s3 --> s4" not in after["mermaid"]


def _pos(p):
    from lsprotocol import types as T

    return T.Position(line=p["line"], character=p["character"])


async def test_stage_graph_of_a_document_that_is_not_a_plan(client, tmp_path):
    doc = client.open((tmp_path / "notes.md").as_uri(), NOT_A_PLAN)
    with pytest.raises(JsonRpcException) as info:
        await client.execute("okstra.stageGraph", {"uri": doc.uri})
    assert "not an open plan" in str(info.value)
