"""Issue 9: protocol robustness. Every odd message gets a proper LSP error or
is ignored, and the server keeps serving: each test ends with a request that
must succeed (`client.alive()`)."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types as T
from pygls.exceptions import JsonRpcException

from lspkit import TIMEOUT, assert_matches_check, codes
from plans import KO_PLAN, PLAN, S9_PLAN

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002

URI = "file:///okstra-e2e/runs/r/planning/plan.md"


def ident(uri: str) -> T.TextDocumentIdentifier:
    return T.TextDocumentIdentifier(uri=uri)


async def error_of(awaitable) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as info:
        await asyncio.wait_for(awaitable, TIMEOUT)
    return info.value


async def position_requests(client, uri: str, pos: T.Position) -> list:
    """Every position-taking request at `pos`; all must answer (null is fine)."""
    rng = T.Range(start=pos, end=pos)
    return [
        await client.text_document_hover_async(T.HoverParams(text_document=ident(uri), position=pos)),
        await client.text_document_definition_async(T.DefinitionParams(text_document=ident(uri), position=pos)),
        await client.text_document_references_async(
            T.ReferenceParams(
                text_document=ident(uri), position=pos, context=T.ReferenceContext(include_declaration=True)
            )
        ),
        await client.text_document_completion_async(T.CompletionParams(text_document=ident(uri), position=pos)),
        await client.text_document_code_action_async(
            T.CodeActionParams(text_document=ident(uri), range=rng, context=T.CodeActionContext(diagnostics=[]))
        ),
        await client.text_document_inlay_hint_async(T.InlayHintParams(text_document=ident(uri), range=rng)),
    ]


async def test_unknown_and_closed_documents(client):
    unknown = "file:///okstra-e2e/never/opened.md"
    assert await position_requests(client, unknown, T.Position(line=0, character=0)) == [None] * 6
    assert (
        await client.text_document_document_symbol_async(T.DocumentSymbolParams(text_document=ident(unknown))) is None
    )
    assert await client.text_document_folding_range_async(T.FoldingRangeParams(text_document=ident(unknown))) is None
    assert await client.text_document_code_lens_async(T.CodeLensParams(text_document=ident(unknown))) is None
    # Pull diagnostics read the file: it does not exist.
    err = await error_of(
        client.text_document_diagnostic_async(T.DocumentDiagnosticParams(text_document=ident(unknown)))
    )
    assert err.code == INVALID_PARAMS
    assert "opened.md" in err.message

    doc = client.open(URI, PLAN)
    assert (await doc.published(1)).diagnostics
    seen = len(client.published)
    doc.close()
    cleared = await client.next_publication(URI, seen)
    assert cleared.version is None and list(cleared.diagnostics) == []
    pos = doc.pos("Stage 1 —", offset=6)
    assert await position_requests(client, URI, pos) == [None] * 6
    # Closing twice, or closing what was never open: ignored.
    doc.close()
    client.text_document_did_close(T.DidCloseTextDocumentParams(text_document=ident(unknown)))
    await client.alive()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
async def test_positions_past_the_end_and_inside_characters(start, tmp_path, encoding):
    client, _ = await start(encodings=[encoding])
    doc = client.open(URI, KO_PLAN)
    await doc.published(1)
    last_line = len(KO_PLAN.splitlines())
    odd = [
        T.Position(line=last_line + 1000, character=0),
        T.Position(line=0, character=10_000),
        T.Position(line=2**31 - 1, character=2**31 - 1),
        # Inside 🚦 (a surrogate pair in UTF-16, four bytes in UTF-8).
        doc.pos("🚦", offset=0),
    ]
    inside = odd[-1]
    odd[-1] = T.Position(line=inside.line, character=inside.character + 1)
    # Inside 토 (three bytes in UTF-8; one unit in UTF-16, so a boundary there).
    heading = doc.pos("토큰 버킷 🪣 |")
    odd.append(T.Position(line=heading.line, character=heading.character + 1))
    for pos in odd:
        await position_requests(client, URI, pos)
    # Hover in the middle of the stage number's neighbour emoji still answers
    # for the heading it is on.
    on_heading = doc.pos("Stage 1 — 토큰 버킷 🪣", offset=len("Stage 1 — 토큰 버킷 "))
    mid = T.Position(line=on_heading.line, character=on_heading.character + 1)
    await client.text_document_hover_async(T.HoverParams(text_document=ident(URI), position=mid))

    # A change whose range starts inside a character is clamped, not a crash;
    # a full-text change puts client and server back in step.
    doc.send([T.TextDocumentContentChangePartial(range=T.Range(start=odd[3], end=odd[3]), text="X")])
    await doc.published()
    version = doc.set_text(KO_PLAN)
    published = await doc.published(version)
    assert_matches_check(tmp_path, doc.text, published.diagnostics, encoding)
    await client.alive()


async def test_did_change_before_did_open(client, tmp_path):
    # Incremental: there is nothing to apply it to, so it is ignored.
    client.text_document_did_change(
        T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[
                T.TextDocumentContentChangePartial(
                    range=T.Range(start=T.Position(line=0, character=0), end=T.Position(line=0, character=0)), text="x"
                )
            ],
        )
    )
    await client.alive()
    assert client.publications(URI) == []
    assert await client.text_document_document_symbol_async(T.DocumentSymbolParams(text_document=ident(URI))) is None

    # Full text: the server can take the document from it.
    client.text_document_did_change(
        T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=URI, version=3),
            content_changes=[T.TextDocumentContentChangeWholeDocument(text=S9_PLAN)],
        )
    )
    published = await client.published_for(URI, 3)
    assert codes(published.diagnostics) == ["s9-file-overlap"]
    await client.alive()


async def test_duplicate_did_open_replaces_the_document(client, tmp_path):
    first = client.open(URI, PLAN, version=1)
    await first.published(1)
    second = client.open(URI, S9_PLAN, version=5)
    published = await second.published(5)
    assert codes(published.diagnostics) == ["s9-file-overlap"]
    # Later edits apply to the second text.
    version = second.replace("| 2 | Backend | (none) |", "| 2 | Backend | 1 |")
    published = await second.published(version)
    assert codes(published.diagnostics) == []
    assert_matches_check(tmp_path, PLAN, (await first.published(1)).diagnostics, "utf-16")
    await client.alive()


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("textDocument/hover", {"textDocument": 5, "position": "x"}),
        ("textDocument/hover", {"textDocument": {"uri": URI}}),
        ("textDocument/hover", [URI, 0, 0]),
        ("textDocument/definition", {"textDocument": {"uri": URI}, "position": {"line": -1, "character": 0}}),
        (
            "textDocument/completion",
            {"textDocument": {"uri": "no uri at all"}, "position": {"line": 0, "character": 0}},
        ),
        ("textDocument/codeAction", {"textDocument": {"uri": URI}, "range": None, "context": {}}),
        ("textDocument/documentSymbol", None),
        ("workspace/executeCommand", {"command": 42}),
        ("textDocument/diagnostic", {"textDocument": {"uri": URI}, "previousResultId": 7}),
    ],
)
async def test_malformed_request_params_are_invalid_params(client, method, params):
    client.open(URI, PLAN)
    err = await error_of(client.raw_request(method, params))
    assert err.code == INVALID_PARAMS, err.message
    await client.alive()


async def test_malformed_notifications_and_unknown_methods(client, tmp_path):
    doc = client.open(URI, PLAN)
    await doc.published(1)
    client.raw_notify("textDocument/didOpen", {"textDocument": {"uri": URI, "text": 5}})
    client.raw_notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 2}, "contentChanges": "x"})
    client.raw_notify("textDocument/didChange", {"textDocument": {"uri": URI}, "contentChanges": [{"text": "x"}]})
    client.raw_notify("textDocument/didClose", [])
    client.raw_notify("workspace/didChangeConfiguration", {"settings": {"okstra": {"cap": "six"}}})
    client.raw_notify("$/someUnknownNotification", {"a": 1})
    client.raw_notify("$/cancelRequest", {"id": "never-sent"})
    err = await error_of(client.raw_request("okstra/noSuchMethod", {}))
    assert err.code == METHOD_NOT_FOUND
    await client.alive()
    # The document is as it was: the malformed changes changed nothing.
    version = doc.replace("| 2 | Redis backend | (none) | 3 |", "| 2 | Redis backend | 1 | 2 |")
    published = await doc.published(version)
    assert_matches_check(tmp_path, doc.text, published.diagnostics, "utf-16")


async def test_garbage_on_the_wire(client):
    """tower-lsp-server's reader ends the session at the first message it
    cannot decode; the server's input filter keeps it serving."""
    writer = client._server.stdin
    for body in (b"{this is not json", b"\xff\xfe", b"[1, 2, 3]", b'{"jsonrpc": "2.0", "id": null, "method": 5}', b""):
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    writer.write(b"X-No-Length: 1\r\n\r\n")
    writer.write(b"Content-Length: many\r\n\r\n")
    # A bad header followed by its body: the body runs into the next header.
    writer.write(b'Content-Length: abc\r\n\r\n{"jsonrpc": "2.0", "method": "initialized"}')
    await writer.drain()
    await client.alive()
    # Not JSON-RPC, but with an id: answered with InvalidRequest.
    for message in (
        {"jsonrpc": "2.0", "id": "bad-method", "method": 5},
        {"jsonrpc": "1.0", "id": "bad-version", "method": "textDocument/hover", "params": {}},
    ):
        err = await error_of(client.raw_message(message["id"], message))
        assert err.code == INVALID_REQUEST, err.message
    # A request without params where params are needed, a notification
    # with an id: ordinary LSP errors.
    err = await error_of(client.raw_request("textDocument/hover", ...))
    assert err.code == INVALID_PARAMS
    await client.alive()


DEEP = b"[" * 200 + b"]" * 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"jsonrpc": "2.0", "id": 1.5, "method": "textDocument/hover", "params": {}}', INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": {}, "method": "textDocument/hover", "params": {}}', INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": true, "method": "textDocument/hover", "params": {}}', INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": [], "method": "textDocument/hover", "params": {}}', INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": ' + DEEP + b', "method": "textDocument/hover"}', INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 3, "method": "textDocument/hover", "params": {"textDo', PARSE_ERROR),
        (b"\xff\xfe", PARSE_ERROR),
        (b"[1, 2, 3]", INVALID_REQUEST),
    ],
    ids=["id-1.5", "id-object", "id-true", "id-array", "id-200-deep", "cut-short", "not-utf8", "array"],
)
async def test_a_request_whose_id_cannot_be_read_is_answered_with_id_null(client, body, code):
    """JSON-RPC 2.0: an invalid request whose id cannot be determined gets an
    error response with `"id": null`; a body that is not JSON, ParseError."""
    err = await error_of(client.raw_body(body))
    assert err.code == code, err.message
    await client.alive()
    # And again: a second one is answered the same way.
    err = await error_of(client.raw_body(body))
    assert err.code == code, err.message


async def test_params_nested_too_deep_are_answered_by_id(client):
    """200 levels is past serde_json's limit (128): the message cannot be
    decoded, but its id can be read, and that id is answered."""
    doc = client.open(URI, PLAN)
    await doc.published(1)
    body = (
        b'{"jsonrpc": "2.0", "id": "deep-1", "method": "textDocument/hover", "params": '
        b'{"textDocument": {"uri": "' + URI.encode() + b'"}, "position": {"line": 0, "character": 0}, '
        b'"extra": ' + DEEP + b"}}"
    )
    err = await error_of(client.raw_body(body, "deep-1"))
    assert err.code == INVALID_REQUEST
    assert "nested deeper than 128" in err.message
    # A notification nested as deep: dropped with a log line, no reply; the
    # document is as it was.
    client.raw_notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 2}, "contentChanges": []})
    writer = client._server.stdin
    notification = (
        b'{"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": "'
        + URI.encode()
        + b'", "version": 3}, "contentChanges": [{"text": ""}], "extra": '
        + DEEP
        + b"}}"
    )
    writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(notification), notification))
    await writer.drain()
    await client.alive()
    symbols = await client.text_document_document_symbol_async(T.DocumentSymbolParams(text_document=ident(URI)))
    assert symbols, "the deep didChange (empty text) was not applied"


async def test_garbage_before_initialize_is_answered_too(start):
    client, _ = await start(initialize=False)
    err = await error_of(client.raw_body(b"{oops"))
    assert err.code == PARSE_ERROR
    err = await error_of(client.raw_body(b'{"jsonrpc": "2.0", "id": "early", "method": 7}', "early"))
    assert err.code == INVALID_REQUEST
    result = await client.initialize_session(T.InitializeParams(capabilities=T.ClientCapabilities()))
    assert result.server_info.name == "okstra-lsp"
    await client.alive()


async def test_requests_before_initialize_and_after_shutdown(start):
    client, _ = await start(initialize=False)
    err = await error_of(
        client.raw_request(
            "textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}}
        )
    )
    assert err.code == SERVER_NOT_INITIALIZED
    result = await client.initialize_session(T.InitializeParams(capabilities=T.ClientCapabilities()))
    assert result.server_info.name == "okstra-lsp"
    await client.alive()

    assert await asyncio.wait_for(client.shutdown_async(None), TIMEOUT) is None
    err = await error_of(
        client.text_document_hover_async(
            T.HoverParams(text_document=ident(URI), position=T.Position(line=0, character=0))
        )
    )
    assert err.code == INVALID_REQUEST
    err = await error_of(client.shutdown_async(None))
    assert err.code == INVALID_REQUEST
    # Notifications after shutdown are dropped, not fatal.
    client.open("file:///okstra-e2e/after/shutdown.md", PLAN)
    client.exit(None)
    client.exited = True
    assert await asyncio.wait_for(client._server.wait(), 5) == 0


@pytest.mark.parametrize("midway", [False, True], ids=["between-messages", "mid-message"])
async def test_the_client_vanishing(start, midway):
    client, _ = await start()
    client.open(URI, PLAN)
    await client.alive()
    server = client._server
    if midway:
        server.stdin.write(b'Content-Length: 500\r\n\r\n{"jsonrpc": "2.0", ')
        await server.stdin.drain()
    server.stdin.close()
    client.exited = True
    code = await asyncio.wait_for(server.wait(), 5)
    assert code == 0


async def test_a_document_over_max_document_bytes(start, tmp_path):
    client, _ = await start(init_options={"maxDocumentBytes": 1000})
    assert len(PLAN.encode()) > 1000
    doc = client.open(URI, PLAN)
    published = await doc.published(1)
    (too_large,) = published.diagnostics
    assert too_large.code == "document-too-large"
    assert too_large.source == "okstra"
    assert too_large.severity == T.DiagnosticSeverity.Warning
    assert "1000" in too_large.message and "maxDocumentBytes" in too_large.message
    # Features on it answer without crashing.
    await position_requests(client, URI, doc.pos("Stage 1 —", offset=6))
    await client.text_document_document_symbol_async(T.DocumentSymbolParams(text_document=ident(URI)))

    # Shrunk below the limit it is checked again; grown past it, not.
    small = "## 4.5 Stage Map\n\n| Stage | Title | depends-on | Steps |\n|---|---|---|---|\n| 1 | A | 1 | 1 |\n"
    version = doc.set_text(small)
    published = await doc.published(version)
    assert "document-too-large" not in codes(published.diagnostics)
    assert "depends-on-self" in codes(published.diagnostics)
    doc.type_at(len(doc.text), "x" * 10)
    doc.send([doc.edit_index(len(doc.text), len(doc.text), "y" * 1000)])
    published = await doc.published()
    assert codes(published.diagnostics) == ["document-too-large"]
    await client.alive()


async def test_a_file_on_disk_over_max_document_bytes(start, tmp_path):
    """Not open: only its first maxDocumentBytes bytes are read, and the
    finding gives the file's own size, as `check` does."""
    ws = tmp_path / "ws"
    ws.mkdir()
    big = ws / "big.md"
    big.write_text(PLAN + "x" * 5000)
    size = big.stat().st_size
    client, _ = await start(folders=[ws], init_options={"maxDocumentBytes": 1000})
    report = await client.text_document_diagnostic_async(
        T.DocumentDiagnosticParams(text_document=ident(big.as_uri()))
    )
    (finding,) = report.items
    assert finding.code == "document-too-large"
    assert f"this document is {size} bytes, over the 1000-byte limit" in finding.message
    assert_matches_check(tmp_path, big.read_text(), report.items, "utf-16", "--config", str(_config(tmp_path)))
    workspace = await client.workspace_diagnostic_async(T.WorkspaceDiagnosticParams(previous_result_ids=[]))
    assert [(i.uri, [d.message for d in i.items]) for i in workspace.items] == [(big.as_uri(), [finding.message])]


def _config(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"maxDocumentBytes": 1000}')
    return path


async def test_max_document_bytes_from_configuration(client):
    doc = client.open(URI, PLAN)
    assert len((await doc.published(1)).diagnostics) == 3
    seen = len(client.published)
    client.workspace_did_change_configuration(
        T.DidChangeConfigurationParams(settings={"okstra": {"maxDocumentBytes": 1000}})
    )
    republished = await client.next_publication(URI, seen)
    assert codes(republished.diagnostics) == ["document-too-large"]


async def test_wrong_versions_and_out_of_range_changes_resynchronise(client, tmp_path):
    doc = client.open(URI, PLAN, version=10)
    await doc.published(10)
    # A version that goes backwards: applied, published under that version.
    version = doc.send(
        [doc.edit_index(doc.text.index("| 3 |\n| 3 |"), doc.text.index("| 3 |\n| 3 |") + 5, "| 2 |")], version=4
    )
    published = await doc.published(version)
    assert "step-count-mismatch" not in codes(published.diagnostics)

    # Ranges past the end, reversed, and wildly out of range: clamped.
    end = T.Position(line=10_000, character=0)
    doc.send([T.TextDocumentContentChangePartial(range=T.Range(start=end, end=end), text="\nappended\n")])
    doc.send(
        [
            T.TextDocumentContentChangePartial(
                range=T.Range(start=T.Position(line=3, character=5), end=T.Position(line=2, character=0)), text=""
            )
        ]
    )
    doc.send(
        [
            T.TextDocumentContentChangePartial(
                range=T.Range(
                    start=T.Position(line=2**31 - 1, character=2**31 - 1), end=T.Position(line=0, character=0)
                ),
                text="",
            )
        ]
    )
    await doc.published()
    await client.alive()
    # The client resends the whole text: the server is back in step.
    version = doc.set_text(PLAN)
    published = await doc.published(version)
    assert_matches_check(tmp_path, doc.text, published.diagnostics, "utf-16")


async def test_a_panic_is_one_internal_error(client, tmp_path):
    doc = client.open(URI, PLAN)
    await doc.published(1)
    err = await error_of(client.execute("okstra.debugPanic"))
    assert err.code == INTERNAL_ERROR
    assert "internal error" in err.message
    # A panic while the handler holds the document: the document survives.
    err = await error_of(client.execute("okstra.debugPanic", {"uri": URI}))
    assert err.code == INTERNAL_ERROR
    await client.alive()
    hover = await client.text_document_hover_async(
        T.HoverParams(text_document=ident(URI), position=doc.pos("Stage 1 —", offset=6))
    )
    assert "Token bucket core" in hover.contents.value
    version = doc.replace("| 2 | Redis backend | (none) | 3 |", "| 2 | Redis backend | 1 | 2 |")
    published = await doc.published(version)
    assert_matches_check(tmp_path, doc.text, published.diagnostics, "utf-16")
    # Several at once, concurrently with ordinary requests.
    results = await asyncio.gather(
        *[client.execute("okstra.debugPanic") for _ in range(5)],
        *[
            client.text_document_document_symbol_async(T.DocumentSymbolParams(text_document=ident(URI)))
            for _ in range(5)
        ],
        return_exceptions=True,
    )
    assert all(isinstance(r, JsonRpcException) and r.code == INTERNAL_ERROR for r in results[:5])
    assert all(r for r in results[5:])
    await client.alive()


def _at(doc) -> T.Position:
    return doc.pos("Stage 1 —", offset=6)


# Every request the server handles (but initialize and shutdown, below), as
# a request on the open plan `doc`; each must answer something.
REQUESTS = {
    "textDocument/diagnostic": lambda c, doc: c.text_document_diagnostic_async(
        T.DocumentDiagnosticParams(text_document=ident(doc.uri))
    ),
    "workspace/diagnostic": lambda c, doc: c.workspace_diagnostic_async(
        T.WorkspaceDiagnosticParams(previous_result_ids=[])
    ),
    "textDocument/documentSymbol": lambda c, doc: c.text_document_document_symbol_async(
        T.DocumentSymbolParams(text_document=ident(doc.uri))
    ),
    "textDocument/definition": lambda c, doc: c.text_document_definition_async(
        T.DefinitionParams(text_document=ident(doc.uri), position=doc.pos("| 3 | HTTP middleware | 1", offset=24))
    ),
    "textDocument/references": lambda c, doc: c.text_document_references_async(
        T.ReferenceParams(
            text_document=ident(doc.uri), position=_at(doc), context=T.ReferenceContext(include_declaration=True)
        )
    ),
    "textDocument/hover": lambda c, doc: c.text_document_hover_async(
        T.HoverParams(text_document=ident(doc.uri), position=_at(doc))
    ),
    "textDocument/foldingRange": lambda c, doc: c.text_document_folding_range_async(
        T.FoldingRangeParams(text_document=ident(doc.uri))
    ),
    "textDocument/completion": lambda c, doc: c.text_document_completion_async(
        T.CompletionParams(text_document=ident(doc.uri), position=doc.pos("| 3 | HTTP middleware | 1, 2", offset=27))
    ),
    "textDocument/codeAction": lambda c, doc: c.text_document_code_action_async(
        T.CodeActionParams(
            text_document=ident(doc.uri),
            range=T.Range(start=T.Position(line=0, character=0), end=T.Position(line=200, character=0)),
            context=T.CodeActionContext(diagnostics=[]),
        )
    ),
    "textDocument/codeLens": lambda c, doc: c.text_document_code_lens_async(
        T.CodeLensParams(text_document=ident(doc.uri))
    ),
    "textDocument/inlayHint": lambda c, doc: c.text_document_inlay_hint_async(
        T.InlayHintParams(
            text_document=ident(doc.uri),
            range=T.Range(start=T.Position(line=0, character=0), end=T.Position(line=200, character=0)),
        )
    ),
    "workspace/executeCommand": lambda c, doc: c.execute("okstra.previewRunBatch", {"uri": doc.uri}),
    # Points inside the blocking work of a request (reading files).
    "textDocument/diagnostic/blocking": lambda c, doc: c.text_document_diagnostic_async(
        T.DocumentDiagnosticParams(text_document=ident(doc.uri.replace("plan.md", "on-disk.md")))
    ),
    "workspace/diagnostic/blocking": lambda c, doc: c.workspace_diagnostic_async(
        T.WorkspaceDiagnosticParams(previous_result_ids=[])
    ),
    "textDocument/hover/blocking": lambda c, doc: c.text_document_hover_async(
        T.HoverParams(text_document=ident(doc.uri), position=_at(doc))
    ),
    "textDocument/codeLens/blocking": lambda c, doc: c.text_document_code_lens_async(
        T.CodeLensParams(text_document=ident(doc.uri))
    ),
    "textDocument/inlayHint/blocking": lambda c, doc: c.text_document_inlay_hint_async(
        T.InlayHintParams(
            text_document=ident(doc.uri),
            range=T.Range(start=T.Position(line=0, character=0), end=T.Position(line=200, character=0)),
        )
    ),
    "workspace/executeCommand/blocking": lambda c, doc: c.execute(
        "okstra.reserveRunBatch", {"uri": doc.uri, "implTaskKey": "impl-A", "stage": 1}
    ),
}


def _run_layout(tmp_path):
    ws = tmp_path / "ws"
    plan = ws / "runs" / "k" / "planning" / "plan.md"
    plan.parent.mkdir(parents=True)
    plan.write_text(PLAN)
    (plan.parent / "on-disk.md").write_text(S9_PLAN)
    return ws, plan


@pytest.mark.parametrize("point", list(REQUESTS))
async def test_a_panic_in_any_request_handler_is_one_internal_error(start, tmp_path, point):
    """`OKSTRA_LSP_TEST_PANIC` makes the first request of a method panic
    inside its handler (or inside the blocking work it runs): that request
    gets an internal error, the next one of the same method a real answer."""
    ws, plan = _run_layout(tmp_path)
    client, _ = await start(folders=[ws], env={"OKSTRA_LSP_TEST_PANIC": point})
    doc = client.open(plan.as_uri(), PLAN)
    await doc.published(1)
    err = await error_of(REQUESTS[point](client, doc))
    assert err.code == INTERNAL_ERROR, err.message
    assert f"okstra-lsp internal error: test hook: a panic at {point}" == err.message
    if point.startswith("workspace/executeCommand"):
        consumers = plan.parent.parent / "consumers.jsonl"
        assert not consumers.exists() or consumers.read_text() == "", "the panicking request wrote nothing"
    answer = await asyncio.wait_for(REQUESTS[point](client, doc), TIMEOUT)
    assert answer, f"{point} answered nothing the second time"
    await client.alive()


@pytest.mark.parametrize("point", ["initialize", "initialize/blocking"])
async def test_a_panic_in_initialize_leaves_the_server_uninitialized(start, point):
    client, _ = await start(initialize=False, env={"OKSTRA_LSP_TEST_PANIC": point})
    params = T.InitializeParams(capabilities=T.ClientCapabilities())
    err = await error_of(client.initialize_session(params))
    assert err.code == INTERNAL_ERROR
    result = await asyncio.wait_for(client.initialize_session(params), TIMEOUT)
    assert result.server_info.name == "okstra-lsp"
    await client.alive()


async def test_a_panic_in_shutdown_still_shuts_down(start):
    client, _ = await start(env={"OKSTRA_LSP_TEST_PANIC": "shutdown"})
    await client.alive()
    err = await error_of(client.shutdown_async(None))
    assert err.code == INTERNAL_ERROR
    client.exit(None)
    client.exited = True
    assert await asyncio.wait_for(client._server.wait(), 5) == 0


async def test_exit_without_shutdown_is_status_1(start):
    """LSP: `exit` before any `shutdown` ends the process with status 1."""
    client, _ = await start()
    client.open(URI, PLAN)
    await client.alive()
    client.exit(None)
    client.exited = True
    assert await asyncio.wait_for(client._server.wait(), 5) == 1
