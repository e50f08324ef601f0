"""The fixture corpus (fixtures/corpus/): realistic plans, spelling variants
and ordinary markdown, each with a hand-written `<name>.expect`.

- `test_did_open_publishes_what_check_reports`: every document, opened in the
  real server with its exact text (BOM and CRLF included), publishes the same
  diagnostics as `okstra-lsp check --format json` on the file (code, severity,
  range, message, related information). One server serves the whole corpus; a
  document with a `<name>.config.json` gets its own server with those settings
  as initialization options, and `check` gets `--config`.
- `test_check_reports_the_expectations`: `check` reports exactly the
  `<line> <code>` pairs of `<name>.expect` (the line a finding's range starts
  on; duplicates count, order does not).
- `test_every_fixture_has_an_expectation`: the corpus is tidy.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import pytest_asyncio

from lspkit import REPO, check_json, cli_view, lsp_view, start_client, stop_client

CORPUS = REPO / "fixtures" / "corpus"
FILES = sorted(CORPUS.rglob("*.md"))
IDS = [p.relative_to(CORPUS).as_posix() for p in FILES]


def config_file(path: Path) -> Path | None:
    """`<name>.config.json` beside `<name>.md`, when there is one."""
    beside = path.with_suffix(".config.json")
    return beside if beside.is_file() else None


def check_args(path: Path) -> list[str]:
    config = config_file(path)
    return ["--config", str(config)] if config else []


def expectations(path: Path) -> Counter:
    """The `(line, code)` pairs of `<name>.expect`, with their multiplicity."""
    expect = path.with_suffix(".expect")
    assert expect.is_file(), f"{expect.relative_to(REPO)} is missing"
    out: Counter = Counter()
    for n, raw in enumerate(expect.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        assert len(parts) == 2 and parts[0].isdigit(), f"{expect.name}:{n}: want `<line> <code>`, got {raw!r}"
        out[(int(parts[0]), parts[1])] += 1
    return out


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def corpus_server():
    """One server (UTF-16 positions, the default) for every document without
    its own configuration."""
    client, _ = await start_client()
    yield client
    await stop_client(client)


def test_corpus_is_there():
    assert len(FILES) >= 44, f"only {len(FILES)} documents under {CORPUS}"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("path", FILES, ids=IDS)
async def test_did_open_publishes_what_check_reports(path: Path, corpus_server):
    # The file's exact bytes as UTF-8: a BOM stays U+FEFF at the start of the
    # text and CRLF stays CRLF, as an editor would send them.
    text = path.read_bytes().decode("utf-8")
    args = check_args(path)
    client, own = corpus_server, None
    config = config_file(path)
    if config is not None:
        own, _ = await start_client(init_options=json.loads(config.read_text(encoding="utf-8")))
        client = own
    try:
        uri = f"file:///okstra-e2e/corpus/{path.relative_to(CORPUS).as_posix()}"
        doc = client.open(uri, text)
        published = await doc.published(1)
        assert lsp_view(text, published.diagnostics, client.encoding) == cli_view(check_json(path, *args))
        doc.close()
    finally:
        if own is not None:
            await stop_client(own)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_check_reports_the_expectations(path: Path):
    want = expectations(path)
    findings = check_json(path, *check_args(path))
    got = Counter((f["line"], f["code"]) for f in findings)
    if got != want:
        missing = sorted((want - got).elements())
        extra = sorted((got - want).elements())
        detail = "\n".join(
            f"  {f['line']}:{f['column']} {f['code']}: {f['message']}" for f in sorted(findings, key=lambda f: f["line"])
        )
        pytest.fail(f"{path.name}: missing {missing}, unexpected {extra}\ncheck reported:\n{detail or '  nothing'}")


def test_every_fixture_has_an_expectation():
    stems = {p.with_suffix("") for p in FILES}
    orphans = [p for p in CORPUS.rglob("*.expect") if p.with_suffix("") not in stems]
    assert not orphans, f"expectations without a document: {orphans}"
    for path in FILES:
        first = path.with_suffix(".expect").read_text(encoding="utf-8").lstrip().splitlines()
        assert first and first[0].startswith("#"), f"{path.name}: the .expect starts with a `#` comment saying what it tests"
