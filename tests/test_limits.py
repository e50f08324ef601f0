"""Issue 13: bounded work. A document over the 16 MiB limit is not parsed: it
opens with one `document-too-large` warning, the server's memory stays a small
multiple of the text, and keystrokes in it keep being answered."""

from __future__ import annotations

from pathlib import Path

from lspkit import codes
from plans import PLAN

URI = "file:///okstra-e2e/runs/r/planning/huge.md"
MIB = 1 << 20


def peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


async def test_a_17_mib_plan_opens_in_bounded_memory(start):
    client, _ = await start()
    filler = "Filler paragraph, not a plan label.\n"
    text = PLAN + filler * ((17 * MIB - len(PLAN)) // len(filler) + 1)
    assert len(text.encode()) > 17 * MIB
    doc = client.open(URI, text)
    published = await doc.published(1, timeout=60)
    assert codes(published.diagnostics) == ["document-too-large"]
    for i in range(20):
        doc.type_at(len(PLAN) + i * 997, "x")
    published = await doc.published(timeout=60)
    assert codes(published.diagnostics) == ["document-too-large"]
    # Removing every plan label is followed too: then it is not a plan.
    labels = ("Stage Map", "stage map", "Stage map", "STAGE MAP")
    while any(label in doc.text for label in labels):
        at = min(doc.text.index(label) for label in labels if label in doc.text)
        version = doc.send([doc.edit_index(at, at + len("Stage Map"), "Stage Plan")])
        published = await doc.published(version, timeout=60)
        expected = ["document-too-large"] if any(label in doc.text for label in labels) else []
        assert codes(published.diagnostics) == expected
    rss = peak_rss(client._server.pid)
    print(f"peak RSS {rss / MIB:.0f} MiB for {len(text.encode()) / MIB:.0f} MiB")
    # The text arrives as JSON, is decoded once and kept as a string and a
    # rope: a few copies, never the gigabyte a parse of it took.
    assert rss < 12 * len(text.encode()), f"peak RSS {rss / MIB:.0f} MiB"
    await client.alive()
