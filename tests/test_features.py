"""Issue 4: the language features, through the real binary over stdio."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types as T

from lspkit import TIMEOUT, assert_matches_check, check_json, cli_view, codes, lsp_view
from plans import KO_PLAN, NOT_A_PLAN, PLAN, S9_PLAN, crlf, stage

URI = "file:///okstra-e2e/runs/demo/planning/plan.md"


def ident(uri: str) -> T.TextDocumentIdentifier:
    return T.TextDocumentIdentifier(uri=uri)


@pytest.mark.parametrize(
    ("offered", "negotiated"),
    [
        (["utf-8", "utf-16"], "utf-8"),
        (["utf-16", "utf-8"], "utf-8"),
        (["utf-16"], "utf-16"),
        (["utf-32"], "utf-16"),
        (None, "utf-16"),
    ],
)
async def test_initialize_negotiates_the_position_encoding(start, tmp_path, offered, negotiated):
    client, result = await start(encodings=offered)
    caps = result.capabilities
    assert result.server_info.name == "okstra-lsp"
    assert caps.position_encoding == negotiated
    assert caps.text_document_sync.change == T.TextDocumentSyncKind.Incremental
    assert caps.text_document_sync.open_close
    assert caps.diagnostic_provider.workspace_diagnostics
    assert {"okstra.previewRunBatch", "okstra.reserveRunBatch"} <= set(caps.execute_command_provider.commands)
    assert "okstra.debugPanic" not in caps.execute_command_provider.commands

    # The columns really are in that encoding: Korean and emoji before the
    # ranges make UTF-8, UTF-16 and scalar columns all differ.
    for text in (KO_PLAN, crlf(KO_PLAN)):
        uri = f"file:///okstra-e2e/runs/k/planning/ko-{len(text)}.md"
        doc = client.open(uri, text)
        published = await doc.published()
        assert codes(published.diagnostics) == ["s9-file-overlap"]
        assert_matches_check(tmp_path, text, published.diagnostics, negotiated)


async def test_did_open_publishes_versioned_diagnostics(client, tmp_path):
    doc = client.open(URI, PLAN, version=7)
    published = await doc.published(7)
    assert published.version == 7
    assert codes(published.diagnostics) == ["clarification-orphan-ref", "s9-file-overlap", "step-count-mismatch"]
    for d in published.diagnostics:
        assert d.source == "okstra"
        assert isinstance(d.code, str)
        assert d.severity == T.DiagnosticSeverity.Error
        assert d.code_description is not None
        assert d.code_description.href.endswith(f"/docs/rules/{d.code}.md")
        assert d.message
    s9 = next(d for d in published.diagnostics if d.code == "s9-file-overlap")
    assert "stages 1 and 2" in s9.message and "src/lib.rs" in s9.message
    # The range is the path in stage 2's Exit Contract; the related places
    # are stage 1's prediction and heading.
    assert s9.range == doc.range_of("src/lib.rs", nth=2)
    related = s9.related_information
    assert related and all(r.location.uri == URI for r in related)
    assert [r.location.range.start for r in related] == [doc.pos("src/lib.rs", nth=1), doc.pos("### 4.5.1 Stage 1")]
    assert_matches_check(tmp_path, doc.text, published.diagnostics, client.encoding)


async def test_a_burst_of_incremental_changes_ends_on_the_last_version(start, tmp_path):
    client, _ = await start(encodings=["utf-16"])
    text = PLAN.replace("Redis backend", "Redis 백엔드 🧱")
    doc = client.open(URI, text)
    await doc.published(1)

    # Nothing awaited from here to the last change: the server sees a burst.
    # Type a new Stage Map row one character at a time (emoji included) ...
    row_end = doc.text.index("| 4 | Docs and rollout | 3 | 1 |\n") + len("| 4 | Docs and rollout | 3 | 1 |\n")
    doc.type_at(row_end, "| 5 | Extra ✨🚀 | 4, 9 | 1 |\n")
    # ... make stage 2 depend on stage 1 (deletes S9) in two changes of one
    # notification, the second applied to the result of the first ...
    none = doc.text.index("(none)", doc.text.index("| 2 |"))
    first = doc.edit_index(none, none + len("(none)"), "")
    second = doc.edit_index(none, none, "1")
    doc.send([first, second])
    # ... fix the step count, and add an unrelated line at the very end.
    steps = doc.text.index("| 1 | 3 |", doc.text.index("| 2 | Redis"))
    doc.send([doc.edit_index(steps + 6, steps + 7, "2")])
    doc.send([doc.edit_index(len(doc.text), len(doc.text), "\nTrailing 🧪 note\n")])
    last = doc.version
    assert last > 25

    published = await doc.published(last)
    await client.settle()
    mine = client.publications(URI)
    assert mine[-1].version == last, "the last publication is the last version"
    versions = [p.version for p in mine]
    assert versions == sorted(versions), f"publications out of order: {versions}"
    assert "s9-file-overlap" not in codes(published.diagnostics)
    assert "stage-missing-section" in codes(published.diagnostics)
    assert "depends-on-unknown" in codes(published.diagnostics)
    assert_matches_check(tmp_path, doc.text, mine[-1].diagnostics, client.encoding)


async def test_full_text_changes(client, tmp_path):
    doc = client.open(URI, PLAN)
    await doc.published(1)
    version = doc.set_text(S9_PLAN)
    published = await doc.published(version)
    assert codes(published.diagnostics) == ["s9-file-overlap"]
    assert_matches_check(tmp_path, doc.text, published.diagnostics, client.encoding)

    version = doc.set_text(crlf(PLAN))
    published = await doc.published(version)
    assert_matches_check(tmp_path, doc.text, published.diagnostics, client.encoding)

    version = doc.set_text(NOT_A_PLAN)
    assert list((await doc.published(version)).diagnostics) == []


async def test_document_symbols(client):
    doc = client.open(URI, PLAN)
    symbols = await client.text_document_document_symbol_async(T.DocumentSymbolParams(text_document=ident(URI)))
    names = [s.name for s in symbols]
    assert names[0] == "4.5 Stage Map"
    stages = [s for s in symbols if s.kind == T.SymbolKind.Module]
    assert [s.name for s in stages] == [
        "Stage 1: Token bucket core",
        "Stage 2: Redis backend",
        "Stage 3: HTTP middleware",
        "Stage 4: Docs and rollout",
    ]
    assert [c.name for c in stages[0].children] == [
        "Stepwise Execution Order",
        "Stage Exit Contract",
        "Stage Validation",
    ]
    assert stages[1].selection_range.start == doc.pos("### 4.5.2 Stage 2")
    assert any("Plan Body Verification" in n for n in names)
    assert any("Clarification Items" in n for n in names)
    for s in symbols:
        assert s.range.start.line <= s.selection_range.start.line <= s.range.end.line


async def test_definition_and_references(client):
    doc = client.open(URI, PLAN)
    await doc.published(1)

    async def definition(pos):
        return await client.text_document_definition_async(T.DefinitionParams(text_document=ident(URI), position=pos))

    async def references(pos, include=True):
        return await client.text_document_references_async(
            T.ReferenceParams(
                text_document=ident(URI), position=pos, context=T.ReferenceContext(include_declaration=include)
            )
        )

    # depends-on number → the stage heading.
    deps = doc.pos("| 1, 2 |")
    (loc,) = await definition(T.Position(line=deps.line, character=deps.character + 5))
    assert loc.uri == URI
    assert loc.range.start == doc.pos("### 4.5.2 Stage 2")
    (loc,) = await definition(T.Position(line=deps.line, character=deps.character + 2))
    assert loc.range.start == doc.pos("### 4.5.1 Stage 1")

    # Every mention of stage 1: map cell, the depends-on in row 3, the heading.
    refs = await references(doc.pos("Stage 1 —", offset=6))
    starts = [r.range.start for r in refs]
    assert doc.pos("| 1 | Token", offset=2) in starts
    assert T.Position(line=deps.line, character=deps.character + 2) in starts
    assert doc.pos("Stage 1 —", offset=6) in starts
    without = await references(doc.pos("Stage 1 —", offset=6), include=False)
    assert len(without) < len(refs)

    # C-<N> in 4.5.9 → its §5 row, and from the §5 ID back to 4.5.9.
    (loc,) = await definition(doc.pos("→ C-1", offset=3))
    assert loc.range.start == doc.pos("| C-1 | decision")
    (back,) = await definition(doc.pos("| C-1 | decision", offset=3))
    assert back.range == doc.range_of("C-1")
    refs = await references(doc.pos("→ C-1", offset=3))
    assert {r.range.start.line for r in refs} == {doc.pos("→ C-1").line, doc.pos("| C-1 | decision").line}

    # Nothing there: no definition, no error.
    assert await definition(doc.pos("Implementation plan")) is None


async def test_hover_on_a_stage(client):
    doc = client.open(URI, PLAN)
    hover = await client.text_document_hover_async(
        T.HoverParams(text_document=ident(URI), position=doc.pos("Stage 2 —", offset=6))
    )
    assert hover.contents.kind == T.MarkupKind.Markdown
    text = hover.contents.value
    assert "**Stage 2** — Redis backend" in text
    assert "Effective steps: 2 / 6" in text and "Stage Map says 3" in text
    assert "`src/lib.rs`" in text
    assert "Status: ready" in text
    assert hover.range == T.Range(start=doc.pos("Stage 2 —", offset=6), end=doc.pos("Stage 2 —", offset=7))
    # Hover from a depends-on reference names the same stage.
    deps = doc.pos("| 3 | 1 |")
    hover = await client.text_document_hover_async(
        T.HoverParams(text_document=ident(URI), position=T.Position(line=deps.line, character=deps.character + 2))
    )
    assert "**Stage 3** — HTTP middleware" in hover.contents.value
    none = await client.text_document_hover_async(
        T.HoverParams(text_document=ident(URI), position=T.Position(line=0, character=2))
    )
    assert none is None


async def test_folding_ranges(client):
    doc = client.open(URI, PLAN)
    ranges = await client.text_document_folding_range_async(T.FoldingRangeParams(text_document=ident(URI)))
    starts = {r.start_line for r in ranges}
    for heading in ("## 4.5 Stage Map", "### 4.5.1 Stage 1", "### 4.5.4 Stage 4", "## 5. Clarification Items"):
        assert doc.pos(heading).line in starts
    for r in ranges:
        assert r.start_line < r.end_line
        assert r.kind == T.FoldingRangeKind.Region


async def test_completion(client):
    doc = client.open(URI, PLAN)

    async def complete(pos):
        result = await client.text_document_completion_async(T.CompletionParams(text_document=ident(URI), position=pos))
        items = result.items if isinstance(result, T.CompletionList) else result
        return {i.label: i.detail for i in items or []}

    # Row 3 depends on 1, 2: it may add 4 (not itself, not what it has).
    assert await complete(doc.pos("| 1, 2 |", offset=6)) == {"4": "Docs and rollout"}
    # Stage 2's (none) cell.
    assert set(await complete(doc.pos("| (none) | 3 |\n| 3", offset=4))) == {"1", "3", "4"}
    # In a Classification cell: the §5 IDs and the next free one.
    items = await complete(doc.pos("→ C-2", offset=5))
    assert set(items) == {"C-1", "C-3"}
    assert items["C-1"].startswith("Is Redis available in CI?")
    # Outside those cells: nothing.
    assert await complete(doc.pos("Token bucket core |")) == {}


async def test_pull_diagnostics(start, tmp_path):
    ws = tmp_path / "ws"
    plan_a = ws / "runs" / "a" / "planning" / "plan.md"
    plan_b = ws / "runs" / "b" / "planning" / "plan.md"
    notes = ws / "notes.md"
    for path, text in ((plan_a, PLAN), (plan_b, crlf(S9_PLAN)), (notes, NOT_A_PLAN)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    client, _ = await start(folders=[ws])

    # An open document: its buffer, with the version as result id.
    open_uri = plan_b.as_uri()
    doc = client.open(open_uri, S9_PLAN.replace("| 2 | Backend | (none) |", "| 2 | Backend | 1 |"), version=3)
    pushed = await doc.published(3)
    report = await client.text_document_diagnostic_async(T.DocumentDiagnosticParams(text_document=ident(open_uri)))
    assert report.kind == "full"
    assert report.result_id == "3"
    assert list(report.items) == list(pushed.diagnostics)

    # A file that is not open: read from disk.
    report = await client.text_document_diagnostic_async(
        T.DocumentDiagnosticParams(text_document=ident(plan_a.as_uri()))
    )
    assert report.result_id is None
    assert lsp_view(PLAN, report.items, client.encoding) == cli_view(check_json(plan_a))

    # The workspace: both plans (the open one from its buffer), not the notes.
    result = await client.workspace_diagnostic_async(T.WorkspaceDiagnosticParams(previous_result_ids=[]))
    by_uri = {item.uri: item for item in result.items}
    assert set(by_uri) == {plan_a.as_uri(), plan_b.as_uri()}
    assert by_uri[plan_a.as_uri()].version is None
    assert lsp_view(PLAN, by_uri[plan_a.as_uri()].items, client.encoding) == cli_view(check_json(plan_a))
    assert by_uri[open_uri].version == 3
    assert list(by_uri[open_uri].items) == list(pushed.diagnostics)

    # Pulled again with the result ids: nothing changed, nothing re-sent.
    ids = [T.PreviousResultId(uri=item.uri, value=item.result_id) for item in result.items]
    again = await client.workspace_diagnostic_async(T.WorkspaceDiagnosticParams(previous_result_ids=ids))
    assert {item.uri: item.kind for item in again.items} == {plan_a.as_uri(): "unchanged", open_uri: "unchanged"}
    # A file changed on disk, and an edit to the open one, give full reports.
    plan_a.write_bytes((PLAN + "\nmore\n").encode())
    doc.set_text(doc.text + "\n")
    await doc.published(4)
    third = await client.workspace_diagnostic_async(T.WorkspaceDiagnosticParams(previous_result_ids=ids))
    kinds = {item.uri: item.kind for item in third.items}
    assert kinds == {plan_a.as_uri(): "full", open_uri: "full"}, kinds


def five_step_plan() -> str:
    return (
        "## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | Big | (none) | 5 |\n\n"
        + stage(1, "Big", [(f"step {i}", f"src/f{i}.rs") for i in range(1, 6)], "`src/f1.rs`")
    )


async def test_did_change_configuration_rechecks_with_the_new_cap(client, tmp_path):
    doc = client.open(URI, five_step_plan(), version=4)
    assert codes((await doc.published(4)).diagnostics) == []

    seen = len(client.published)
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings={"okstra": {"cap": 4}}))
    republished = await client.next_publication(URI, seen)
    assert republished.version == 4
    assert codes(republished.diagnostics) == ["steps-over-cap"]
    assert "4" in republished.diagnostics[0].message
    assert_matches_check(tmp_path, doc.text, republished.diagnostics, client.encoding, "--cap", "4")

    seen = len(client.published)
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings={"okstra": {"cap": 6}}))
    assert codes((await client.next_publication(URI, seen)).diagnostics) == []


async def test_configuration_is_pulled_when_the_client_supports_it(start):
    client, _ = await start(configuration={"cap": 4})
    doc = client.open(URI, five_step_plan())
    # The pull after `initialized` may land before or after didOpen: wait
    # for the re-check that follows it.
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not any(codes(p.diagnostics) == ["steps-over-cap"] for p in client.publications(URI)):
        assert asyncio.get_running_loop().time() < deadline, "the pulled cap was never applied"
        await asyncio.sleep(0.02)

    # A change notification without settings makes the server pull again.
    client.set_configuration({"cap": 6}, section="okstra")
    seen = len(client.published)
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings=None))
    assert codes((await client.next_publication(URI, seen)).diagnostics) == []
    assert doc.version == 1


async def test_initialization_options_survive_an_empty_configuration_answer(start):
    # The client supports workspace/configuration but has no `okstra`
    # settings: the answer is null (first client) or {} (second), and the cap
    # from initializationOptions stays.
    client, _ = await start(init_options={"cap": 4}, config_capability=True)
    client2, _ = await start(init_options={"okstra": {"cap": 4}}, configuration={})
    for c in (client, client2):
        doc = c.open(URI, five_step_plan())
        await doc.published(1)
        await c.settle()
        assert codes(c.publications(URI)[-1].diagnostics) == ["steps-over-cap"]


async def test_shutdown_then_exit(client):
    client.open(URI, PLAN)
    await client.alive()
    assert await asyncio.wait_for(client.shutdown_async(None), TIMEOUT) is None
    client.exit(None)
    client.exited = True
    code = await asyncio.wait_for(client._server.wait(), 5)
    assert code == 0


async def test_diagnostic_mode_auto_pulls_or_pushes_never_both(start):
    """A client that can pull gets pull only (no duplicates from two
    channels); a client that cannot gets pushes and no pull provider."""
    puller, result = await start(diagnostic_mode=None)
    assert result.capabilities.diagnostic_provider is not None
    doc = puller.open(URI, PLAN, version=2)
    report = await puller.text_document_diagnostic_async(T.DocumentDiagnosticParams(text_document=ident(URI)))
    assert report.result_id == "2"
    assert codes(report.items) == ["clarification-orphan-ref", "s9-file-overlap", "step-count-mismatch"]
    assert doc.set_text(PLAN + "\n") == 3
    report = await puller.text_document_diagnostic_async(T.DocumentDiagnosticParams(text_document=ident(URI)))
    assert report.result_id == "3"
    # A round trip later, still nothing was pushed.
    await puller.workspace_diagnostic_async(T.WorkspaceDiagnosticParams(previous_result_ids=[]))
    assert puller.published == []

    pusher, result = await start(diagnostic_mode=None, pull_capability=False)
    assert result.capabilities.diagnostic_provider is None
    pusher.open(URI, PLAN, version=5)
    published = await pusher.published_for(URI, 5)
    assert codes(published.diagnostics) == ["clarification-orphan-ref", "s9-file-overlap", "step-count-mismatch"]

    # An explicit mode wins over what the client declares.
    forced, result = await start(diagnostic_mode="push")
    assert result.capabilities.diagnostic_provider is None
    forced.open(URI, PLAN, version=1)
    await forced.published_for(URI, 1)
