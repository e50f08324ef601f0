"""Helpers for the end-to-end tests: starting the real okstra-lsp binary under
pytest-lsp's LanguageClient, a client-side copy of each document that turns
text edits into LSP changes (in the negotiated position encoding), waiting for
published diagnostics, raw JSON-RPC for malformed messages, and `okstra-lsp
check --format json` for comparison.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

REPO = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("OKSTRA_LSP_BIN", REPO / "target" / "debug" / "okstra-lsp"))
if not BIN.is_absolute():
    BIN = REPO / BIN
TIMEOUT = 10.0

SEVERITY = {"error": 1, "warning": 2, "info": 3}

# --------------------------------------------------------------------------
# Positions


def split_lines(text: str) -> list[tuple[int, str]]:
    """(start index, content without its line break) per line; lines break at
    \\n, \\r\\n and \\r only, as LSP says."""
    out = []
    start = 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        out.append((start, text[start : m.start()]))
        start = m.end()
    out.append((start, text[start:]))
    return out


def units(s: str, enc: str) -> int:
    if enc == "utf-16":
        return sum(2 if ord(c) > 0xFFFF else 1 for c in s)
    if enc == "utf-8":
        return len(s.encode("utf-8"))
    return len(s)


def to_index(text: str, pos: T.Position, enc: str) -> int:
    """The str index of an LSP position (exact: tests only send valid ones)."""
    lines = split_lines(text)
    assert pos.line < len(lines), f"line {pos.line} past the end"
    start, content = lines[pos.line]
    count = 0
    for i, ch in enumerate(content):
        if count == pos.character:
            return start + i
        count += units(ch, enc)
    assert count == pos.character, f"column {pos.character} is not a character boundary of {content!r}"
    return start + len(content)


def to_position(text: str, index: int, enc: str) -> T.Position:
    lines = split_lines(text)
    for n, (start, content) in enumerate(lines):
        if start <= index <= start + len(content):
            return T.Position(line=n, character=units(content[: index - start], enc))
    raise AssertionError(f"index {index} is inside a line break")


def to_scalar_col(text: str, pos: T.Position, enc: str) -> tuple[int, int]:
    """(1-based line, 1-based column in scalar values): the CLI's positions."""
    index = to_index(text, pos, enc)
    start, _ = split_lines(text)[pos.line]
    return pos.line + 1, index - start + 1


def apply_edits(text: str, edits: list[T.TextEdit], enc: str) -> str:
    spans = sorted(
        (to_index(text, e.range.start, enc), to_index(text, e.range.end, enc), i, e.new_text)
        for i, e in enumerate(edits)
    )
    for a, b in zip(spans, spans[1:], strict=False):
        assert a[1] <= b[0], f"overlapping edits {a} {b}"
    for start, end, _, new in reversed(spans):
        text = text[:start] + new + text[end:]
    return text


def edits_as_changes(text: str, edits: list[T.TextEdit], enc: str) -> list[T.TextDocumentContentChangePartial]:
    """The edits of one WorkspaceEdit as incremental changes, last first, so
    each applies to the text the previous ones left (ranges stay valid).
    Edits at the same place keep their order in the text (the first one's
    text comes first), as in `apply_edits`."""
    keyed = sorted(
        range(len(edits)),
        key=lambda i: (to_index(text, edits[i].range.start, enc), to_index(text, edits[i].range.end, enc), i),
    )
    return [T.TextDocumentContentChangePartial(range=edits[i].range, text=edits[i].new_text) for i in reversed(keyed)]


class Doc:
    """The client's copy of an open document."""

    def __init__(self, client: "Client", uri: str, text: str, version: int = 1):
        self.client = client
        self.uri = uri
        self.text = text
        self.version = version

    @property
    def enc(self) -> str:
        return self.client.encoding

    def pos(self, needle: str, nth: int = 0, offset: int = 0) -> T.Position:
        """The position of the nth occurrence of `needle` (plus `offset` chars)."""
        index = -1
        for _ in range(nth + 1):
            index = self.text.index(needle, index + 1)
        return to_position(self.text, index + offset, self.enc)

    def range_of(self, needle: str, nth: int = 0) -> T.Range:
        start = self.pos(needle, nth)
        end = self.pos(needle, nth, len(needle))
        return T.Range(start=start, end=end)

    def edit_index(self, start: int, end: int, new: str) -> T.TextDocumentContentChangePartial:
        """A local edit between str indexes, returned as an LSP change (not sent)."""
        rng = T.Range(start=to_position(self.text, start, self.enc), end=to_position(self.text, end, self.enc))
        self.text = self.text[:start] + new + self.text[end:]
        return T.TextDocumentContentChangePartial(range=rng, text=new)

    def type_at(self, index: int, typed: str) -> None:
        """Types `typed` one character per didChange (a burst: nothing awaited)."""
        for ch in typed:
            self.send([self.edit_index(index, index, ch)])
            index += len(ch)

    def replace(self, needle: str, new: str, nth: int = 0) -> int:
        """Replaces an occurrence of `needle` and sends the change as an
        incremental didChange; returns the new version."""
        rng = self.range_of(needle, nth)
        self.text = apply_edits(self.text, [T.TextEdit(range=rng, new_text=new)], self.enc)
        return self.send([T.TextDocumentContentChangePartial(range=rng, text=new)])

    def send(self, changes: list[Any], version: int | None = None) -> int:
        self.version = self.version + 1 if version is None else version
        self.client.text_document_did_change(
            T.DidChangeTextDocumentParams(
                text_document=T.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=changes,
            )
        )
        return self.version

    def set_text(self, text: str) -> int:
        """A full-text didChange."""
        self.text = text
        return self.send([T.TextDocumentContentChangeWholeDocument(text=text)])

    def apply_workspace_edit(self, edit: T.WorkspaceEdit) -> int:
        edits = list((edit.changes or {}).get(self.uri, []))
        for dc in edit.document_changes or []:
            if isinstance(dc, T.TextDocumentEdit) and dc.text_document.uri == self.uri:
                edits.extend(dc.edits)
        assert edits, f"no edits for {self.uri} in {edit}"
        changes = edits_as_changes(self.text, edits, self.enc)
        self.text = apply_edits(self.text, edits, self.enc)
        return self.send(changes)

    async def published(self, version: int | None = None, timeout: float = TIMEOUT) -> T.PublishDiagnosticsParams:
        return await self.client.published_for(self.uri, self.version if version is None else version, timeout)

    def close(self) -> None:
        self.client.text_document_did_close(
            T.DidCloseTextDocumentParams(text_document=T.TextDocumentIdentifier(uri=self.uri))
        )


# --------------------------------------------------------------------------
# The client


class Client(LanguageClient):
    """pytest-lsp's LanguageClient, keeping every publishDiagnostics (with its
    version) and knowing the negotiated encoding."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.published: list[T.PublishDiagnosticsParams] = []
        self.encoding = "utf-16"
        self.exited = False

    # ---- documents

    def open(self, uri: str, text: str, version: int = 1) -> Doc:
        self.text_document_did_open(
            T.DidOpenTextDocumentParams(
                text_document=T.TextDocumentItem(uri=uri, language_id="markdown", version=version, text=text)
            )
        )
        return Doc(self, uri, text, version)

    def publications(self, uri: str) -> list[T.PublishDiagnosticsParams]:
        return [p for p in self.published if p.uri == uri]

    async def published_for(
        self, uri: str, version: int | None, timeout: float = TIMEOUT
    ) -> T.PublishDiagnosticsParams:
        """Waits for a publication for `uri` with `version` (any version when None)."""
        deadline = time.monotonic() + timeout
        while True:
            for p in reversed(self.published):
                if p.uri == uri and (version is None or p.version == version):
                    return p
            if time.monotonic() > deadline:
                seen = [(p.uri, p.version) for p in self.published]
                raise AssertionError(f"no publishDiagnostics for {uri} v{version}; saw {seen}")
            await asyncio.sleep(0.01)

    async def next_publication(self, uri: str, after: int, timeout: float = TIMEOUT) -> T.PublishDiagnosticsParams:
        """Waits for a publication for `uri` among those after the first `after`."""
        deadline = time.monotonic() + timeout
        while True:
            for p in self.published[after:]:
                if p.uri == uri:
                    return p
            if time.monotonic() > deadline:
                raise AssertionError(f"no new publishDiagnostics for {uri}")
            await asyncio.sleep(0.01)

    async def settle(self, quiet: float = 0.3) -> None:
        """Waits until no publication arrived for `quiet` seconds."""
        count = -1
        while count != len(self.published):
            count = len(self.published)
            await asyncio.sleep(quiet)

    # ---- raw JSON-RPC (for messages lsprotocol would refuse to build)

    async def raw_request(self, method: Any, params: Any, timeout: float = TIMEOUT, **extra: Any) -> Any:
        """Sends `{"jsonrpc": "2.0", "id", "method", "params", **extra}` as is
        (`params` left out when it is ...) and waits for the answer."""
        msg_id = f"raw-{uuid.uuid4()}"
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params, **extra}
        if params is ...:
            del message["params"]
        return await self.raw_message(msg_id, message, timeout)

    async def raw_message(self, msg_id: str, message: Any, timeout: float = TIMEOUT) -> Any:
        """Sends any JSON value and waits for the answer to `msg_id`."""
        fut: Future = Future()
        self.protocol._request_futures[msg_id] = fut
        self.protocol._send_data(message)
        return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)

    async def raw_body(self, body: bytes, reply_id: Any = None, timeout: float = TIMEOUT) -> Any:
        """Writes `body` as one frame, byte for byte, and waits for the answer
        to `reply_id` (None: the answer whose id is null)."""
        fut: Future = Future()
        self.protocol._request_futures[reply_id] = fut
        writer = self._server.stdin
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)
        finally:
            self.protocol._request_futures.pop(reply_id, None)

    def raw_notify(self, method: str, params: Any) -> None:
        self.protocol._send_data({"jsonrpc": "2.0", "method": method, "params": params})

    async def execute(self, command: str, *arguments: Any) -> Any:
        return await asyncio.wait_for(
            self.workspace_execute_command_async(T.ExecuteCommandParams(command=command, arguments=list(arguments))),
            TIMEOUT,
        )

    # ---- liveness

    async def alive(self) -> None:
        """A request that must succeed with a real answer: the server is still
        serving (a small plan is opened once for this)."""
        uri = "file:///okstra-e2e/canary/runs/k/planning/canary.md"
        if not any(p.uri == uri for p in self.published):
            self.open(uri, CANARY)
            await self.published_for(uri, None)
        symbols = await asyncio.wait_for(
            self.text_document_document_symbol_async(
                T.DocumentSymbolParams(text_document=T.TextDocumentIdentifier(uri=uri))
            ),
            TIMEOUT,
        )
        assert symbols, "the server answered, but with nothing"
        assert self._server is not None and self._server.returncode is None


CANARY = """# Canary

## 4.5 Stage Map

| Stage | Title | depends-on | Steps |
|---|---|---|---|
| 1 | Only | (none) | 1 |

### Stage 1: Only

#### Stepwise Execution Order
| step | action | files | command | expected |
|---|---|---|---|---|
| 1 | do it | `a.rs` | `true` | ok |

#### Stage Exit Contract
- Predicted added/modified files: `a.rs`

#### Stage Validation
- post: `true` passes
"""


def _on_publish(client: Client, params: T.PublishDiagnosticsParams):
    client.published.append(params)
    client.diagnostics[params.uri] = params.diagnostics


def make_client() -> Client:
    client = Client(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _on_publish
    register_lsp_features(client, features)
    return client


def capabilities(encodings: list[str] | None, configuration: bool) -> T.ClientCapabilities:
    return T.ClientCapabilities(
        general=T.GeneralClientCapabilities(
            position_encodings=[T.PositionEncodingKind(e) for e in encodings] if encodings is not None else None
        ),
        workspace=T.WorkspaceClientCapabilities(
            configuration=configuration,
            workspace_folders=True,
            apply_edit=True,
            workspace_edit=T.WorkspaceEditClientCapabilities(document_changes=False),
            diagnostics=T.DiagnosticWorkspaceClientCapabilities(refresh_support=False),
            execute_command=T.ExecuteCommandClientCapabilities(),
        ),
        text_document=T.TextDocumentClientCapabilities(
            synchronization=T.TextDocumentSyncClientCapabilities(),
            publish_diagnostics=T.PublishDiagnosticsClientCapabilities(
                related_information=True, version_support=True, code_description_support=True, data_support=True
            ),
            diagnostic=T.DiagnosticClientCapabilities(related_document_support=False),
            hover=T.HoverClientCapabilities(content_format=[T.MarkupKind.Markdown, T.MarkupKind.PlainText]),
            document_symbol=T.DocumentSymbolClientCapabilities(hierarchical_document_symbol_support=True),
            definition=T.DefinitionClientCapabilities(link_support=False),
            references=T.ReferenceClientCapabilities(),
            folding_range=T.FoldingRangeClientCapabilities(line_folding_only=True),
            completion=T.CompletionClientCapabilities(completion_item=T.ClientCompletionItemOptions()),
            code_action=T.CodeActionClientCapabilities(
                code_action_literal_support=T.ClientCodeActionLiteralOptions(
                    code_action_kind=T.ClientCodeActionKindOptions(
                        value_set=[T.CodeActionKind.QuickFix, T.CodeActionKind.Refactor]
                    )
                ),
                is_preferred_support=True,
                disabled_support=True,
                data_support=True,
            ),
        ),
    )


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OKSTRA_LSP_LOG", "warn")
    env["OKSTRA_LSP_TEST_HOOKS"] = "1"
    env["RUST_BACKTRACE"] = "0"
    env.update(extra or {})
    return env


async def start_client(
    *,
    encodings: list[str] | None = None,
    init_options: Any = None,
    folders: list[Path] | None = None,
    folder_uris: list[str] | None = None,
    configuration: dict[str, Any] | None = None,
    config_capability: bool | None = None,
    initialize: bool = True,
    env: dict[str, str] | None = None,
    diagnostic_mode: str | None = "both",
    pull_capability: bool = True,
) -> tuple[Client, T.InitializeResult | None]:
    """Starts `okstra-lsp --stdio` and (by default) initializes it.
    `diagnostic_mode` goes into the initialization options (`both` by default,
    so tests see pushed and pulled diagnostics; None leaves the server's
    `auto`); `pull_capability` says whether the client declares pull support.
    `configuration` (the `okstra` section) also turns on the client's
    workspace/configuration capability (`config_capability` sets it alone)."""
    if config_capability is None:
        config_capability = configuration is not None
    config = ClientServerConfig(
        server_command=[str(BIN), "--stdio"], client_factory=make_client, server_env=server_env(env)
    )
    client: Client = await config.start()  # type: ignore[assignment]
    if configuration is not None:
        client.set_configuration(configuration, section="okstra")
    result = None
    if initialize:
        if diagnostic_mode is not None and (init_options is None or isinstance(init_options, dict)):
            init_options = {"diagnosticMode": diagnostic_mode, **(init_options or {})}
        caps = capabilities(encodings, config_capability)
        if not pull_capability:
            caps.text_document.diagnostic = None
        params = T.InitializeParams(
            capabilities=caps,
            initialization_options=init_options,
            workspace_folders=[T.WorkspaceFolder(uri=p.resolve().as_uri(), name=p.name) for p in folders or []]
            + [T.WorkspaceFolder(uri=u, name=u) for u in folder_uris or []]
            or None,
        )
        result = await asyncio.wait_for(client.initialize_session(params), TIMEOUT)
        client.encoding = result.capabilities.position_encoding or "utf-16"
    return client, result


async def stop_client(client: Client) -> None:
    server = client._server
    try:
        if server is not None and server.returncode is None and not client.exited and client.error is None:
            await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
    finally:
        if server is not None and server.returncode is None:
            server.kill()
        await client.stop()


# --------------------------------------------------------------------------
# okstra-lsp check


def check_json(path: Path, *args: str) -> list[dict]:
    proc = subprocess.run(
        [str(BIN), "check", "--format", "json", *args, str(path)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout or "[]")


def cli_view(findings: list[dict]) -> list[tuple]:
    """What `check --format json` says, in a comparable shape."""
    return sorted(
        (
            f["code"],
            SEVERITY[f["severity"]],
            f["line"],
            f["column"],
            f["end_line"],
            f["end_column"],
            f["message"],
            tuple(sorted((r["line"], r["column"], r["message"]) for r in f.get("related", []))),
        )
        for f in findings
    )


def lsp_view(text: str, diagnostics: list[T.Diagnostic], enc: str) -> list[tuple]:
    """The same shape from LSP diagnostics on `text`."""
    out = []
    for d in diagnostics:
        line, col = to_scalar_col(text, d.range.start, enc)
        end_line, end_col = to_scalar_col(text, d.range.end, enc)
        related = tuple(
            sorted((*to_scalar_col(text, r.location.range.start, enc), r.message) for r in d.related_information or [])
        )
        out.append((d.code, int(d.severity), line, col, end_line, end_col, d.message, related))
    return sorted(out)


def assert_matches_check(
    tmp_path: Path, text: str, diagnostics: list[T.Diagnostic], enc: str, *args: str, allow_empty: bool = False
) -> None:
    """The diagnostics equal `okstra-lsp check --format json` on the same text."""
    path = tmp_path / f"check-{uuid.uuid4().hex[:8]}.md"
    path.write_bytes(text.encode("utf-8"))
    expected = cli_view(check_json(path, *args))
    assert expected or allow_empty, "the comparison needs a text with findings"
    assert lsp_view(text, diagnostics, enc) == expected


def codes(diagnostics) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)
