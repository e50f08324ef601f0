"""Issue 5: code actions on an S9 diagnostic, applied by the client as
didChange, in ASCII and Korean-with-emoji plans, LF and CRLF, UTF-16 and
UTF-8 positions."""

from __future__ import annotations

import pytest
from lsprotocol import types as T

from lspkit import assert_matches_check, codes
from plans import KO_PLAN, PLAN, S9_PLAN, crlf, stage

CASES = [
    ("ascii-lf", S9_PLAN, "utf-16"),
    ("ascii-crlf", crlf(S9_PLAN), "utf-16"),
    ("korean-utf16", KO_PLAN, "utf-16"),
    ("korean-utf8", KO_PLAN, "utf-8"),
    ("korean-crlf-utf16", crlf(KO_PLAN), "utf-16"),
    ("korean-crlf-utf8", crlf(KO_PLAN), "utf-8"),
]


async def s9_actions(client, doc):
    published = await doc.published()
    (s9,) = [d for d in published.diagnostics if d.code == "s9-file-overlap"]
    actions = await client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=T.TextDocumentIdentifier(uri=doc.uri),
            range=s9.range,
            context=T.CodeActionContext(diagnostics=[s9], only=[T.CodeActionKind.QuickFix]),
        )
    )
    return s9, {a.title: a for a in actions}


def assert_line_endings_kept(before: str, after: str) -> None:
    if "\r\n" in before:
        assert "\n" not in after.replace("\r\n", ""), "a fix introduced a bare LF into a CRLF document"
    else:
        assert "\r" not in after


@pytest.mark.parametrize(("name", "text", "encoding"), CASES, ids=[c[0] for c in CASES])
async def test_s9_quick_fixes_apply_cleanly(start, tmp_path, name, text, encoding):
    client, result = await start(encodings=[encoding])
    assert result.capabilities.position_encoding == encoding

    for fix in ("Merge stage 2 into stage 1", "Make stage 2 depend on stage 1", "Make stage 1 depend on stage 2"):
        uri = f"file:///okstra-e2e/runs/{name}/planning/{fix.replace(' ', '-')}.md"
        doc = client.open(uri, text)
        s9, actions = await s9_actions(client, doc)
        assert {
            "Merge stage 2 into stage 1",
            "Make stage 2 depend on stage 1",
            "Make stage 1 depend on stage 2",
        } <= set(actions), sorted(actions)
        action = actions[fix]
        assert action.kind == T.CodeActionKind.QuickFix
        assert action.disabled is None
        assert list(action.diagnostics) == [s9], "the client's own diagnostic is attached"
        assert set(action.edit.changes) == {uri}

        version = doc.apply_workspace_edit(action.edit)
        published = await doc.published(version)
        assert published.version == version
        assert "s9-file-overlap" not in codes(published.diagnostics)
        assert "parallel-file-overlap" not in codes(published.diagnostics)
        assert_line_endings_kept(text, doc.text)
        # What the server ended with is what the client has: same findings
        # as `check` on the client's text (none at all here).
        assert_matches_check(tmp_path, doc.text, published.diagnostics, encoding, allow_empty=True)

        if fix.startswith("Merge"):
            assert "Stage 2" not in doc.text
            assert "tests/" in doc.text
        else:
            a, b = (2, 1) if "stage 2 depend" in fix else (1, 2)
            assert doc.text.count("(none)") == text.count("(none)") - 1
            row = next(line for line in doc.text.splitlines() if line.startswith(f"| {a} |"))
            assert f"| {b} |" in row


async def test_actions_without_the_client_diagnostic_and_refactors(start, tmp_path):
    client, _ = await start(encodings=["utf-16"])
    doc = client.open("file:///okstra-e2e/runs/r/planning/plan.md", PLAN)
    published = await doc.published(1)

    # The client sent no diagnostics: the server finds its own in the range.
    step = next(d for d in published.diagnostics if d.code == "step-count-mismatch")
    actions = await client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=T.TextDocumentIdentifier(uri=doc.uri),
            range=step.range,
            context=T.CodeActionContext(diagnostics=[]),
        )
    )
    quick = [a for a in actions if a.kind == T.CodeActionKind.QuickFix]
    # The repair, then the suppression (a table row: around the table).
    assert [a.title for a in quick][1:] == ["Suppress step-count-mismatch in this table"]
    fix = quick[0]
    assert fix.diagnostics[0].code == "step-count-mismatch"
    orphan = next(d for d in published.diagnostics if d.code == "clarification-orphan-ref")
    actions = await client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=T.TextDocumentIdentifier(uri=doc.uri),
            range=orphan.range,
            context=T.CodeActionContext(diagnostics=[orphan], only=[T.CodeActionKind.QuickFix]),
        )
    )
    (add_row,) = [a for a in actions if not a.title.startswith("Suppress")]
    # Both fixes in one go (the second re-requested after the first).
    version = doc.apply_workspace_edit(fix.edit)
    await doc.published(version)
    version = doc.apply_workspace_edit(add_row.edit)
    published = await doc.published(version)
    assert codes(published.diagnostics) == ["s9-file-overlap"], "the stale edit of the second fix still applied cleanly"
    assert_matches_check(tmp_path, doc.text, published.diagnostics, "utf-16")

    # Refactors on a stage heading (no diagnostic there).
    heading = doc.pos("### 4.5.3 Stage 3")
    actions = await client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=T.TextDocumentIdentifier(uri=doc.uri),
            range=T.Range(start=heading, end=heading),
            context=T.CodeActionContext(diagnostics=[], only=[T.CodeActionKind.Refactor]),
        )
    )
    titles = [a.title for a in actions]
    assert titles and all(a.kind == T.CodeActionKind.Refactor for a in actions)
    assert any(t.startswith("Merge") for t in titles)


async def test_split_an_over_cap_stage(start, tmp_path):
    client, _ = await start(encodings=["utf-8"], init_options={"cap": 3})
    text = crlf(
        "## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | 큰 단계 🐘 | (none) | 5 |\n\n"
        + stage(1, "큰 단계 🐘", [(f"단계 {i} ✅", f"src/파일{i}.rs") for i in range(1, 6)], "`src/파일1.rs`")
    )
    doc = client.open("file:///okstra-e2e/runs/s/planning/plan.md", text)
    published = await doc.published(1)
    (over,) = [d for d in published.diagnostics if d.code == "steps-over-cap"]
    actions = await client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=T.TextDocumentIdentifier(uri=doc.uri),
            range=over.range,
            context=T.CodeActionContext(diagnostics=[over]),
        )
    )
    split = next(a for a in actions if a.title.lower().startswith("split"))
    version = doc.apply_workspace_edit(split.edit)
    published = await doc.published(version)
    assert "steps-over-cap" not in codes(published.diagnostics)
    assert_line_endings_kept(text, doc.text)
    assert "Stage 2" in doc.text
    assert_matches_check(tmp_path, doc.text, published.diagnostics, "utf-8", "--cap", "3", allow_empty=True)


async def test_suppress_quick_fix_silences_one_finding(client, tmp_path):
    """"Suppress <code> on this line" inserts a disable-next-line comment: the
    finding is gone, nothing else changes, and the server agrees with check."""
    doc = client.open("file:///okstra-e2e/runs/s/planning/plan.md", PLAN)
    published = await doc.published(1)
    _, actions = await s9_actions(client, doc)
    suppress = actions["Suppress s9-file-overlap on this line"]
    before = codes(published.diagnostics)
    version = doc.apply_workspace_edit(suppress.edit)
    after = await doc.published(version)
    assert "<!-- okstra-lsp-disable-next-line s9-file-overlap -->" in doc.text
    expected = list(before)
    expected.remove("s9-file-overlap")
    assert codes(after.diagnostics) == expected
    assert_matches_check(tmp_path, doc.text, after.diagnostics, "utf-16")
