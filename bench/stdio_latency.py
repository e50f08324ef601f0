#!/usr/bin/env python3
"""End-to-end latency of the real `okstra-lsp --stdio` (issue #8).

For each plan size (stages), in a fresh server process:

- open: didOpen of the generated plan -> the publishDiagnostics for version 1;
- keystrokes: single-character incremental didChange edits, one at a time
  (an insert, then the delete that undoes it), cycling over four places in
  stages spread through the plan (a step-table cell, a validation line, a
  predicted path in the Exit Contract, the stage's Stage Map title cell); each
  is timed from writing the notification to reading the publishDiagnostics
  that carries its version;
- code actions: textDocument/codeAction at a step-count-mismatch diagnostic
  and at an S9 overlap (both planted with edits first), and at a stage heading
  (refactors);
- batch preview: workspace/executeCommand okstra.previewRunBatch;
- peak RSS: VmHWM of the server process after all of the above.

Python 3 standard library only. One command:

    python3 bench/stdio_latency.py            # builds the release binary first

Options: --sizes 1,200,1000  --edits 400  --requests 100  --opens 5
         --no-build  --json FILE (also write the figures as JSON)
         --bin PATH (another server binary, e.g. an older build to compare)
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BIN = TARGET / "release" / "okstra-lsp"
GEN = TARGET / "release" / "examples" / "gen"
SERVER = BIN  # --bin replaces it
TIMEOUT = 60.0


def build() -> None:
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "okstra-lsp", "--bin", "okstra-lsp", "--example", "gen"],
        cwd=REPO,
        check=True,
    )


def generate(stages: int) -> str:
    return subprocess.run([str(GEN), str(stages)], check=True, capture_output=True).stdout.decode("utf-8")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
    }


class Server:
    """A JSON-RPC connection to one server process over its stdio pipes."""

    def __init__(self, cwd: Path):
        self.proc = subprocess.Popen(
            [str(SERVER), "--stdio", "--log-level", "error"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.out = self.proc.stdout.fileno()
        os.set_blocking(self.out, False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.out, selectors.EVENT_READ)
        self.buf = bytearray()
        self.next_id = 0
        self.pending: list[dict] = []

    def send(self, msg: dict) -> None:
        body = json.dumps(msg, separators=(",", ":")).encode("utf-8")
        data = b"Content-Length: %d\r\n\r\n" % len(body) + body
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: dict) -> int:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def _frame(self) -> dict | None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        length = None
        for line in bytes(self.buf[:end]).split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"frame without Content-Length: {bytes(self.buf[:end])!r}")
        if len(self.buf) < end + 4 + length:
            return None
        body = bytes(self.buf[end + 4 : end + 4 + length])
        del self.buf[: end + 4 + length]
        return json.loads(body)

    def receive(self, deadline: float) -> dict:
        while True:
            msg = self._frame()
            if msg is not None:
                if "method" in msg and "id" in msg:
                    # A request from the server (none expected: we offer no
                    # capability that needs one): answer null.
                    self.send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
                    continue
                return msg
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no message from the server")
            if self.sel.select(left):
                chunk = os.read(self.out, 1 << 20)
                if not chunk:
                    raise RuntimeError("the server closed its stdout")
                self.buf += chunk

    def wait(self, pred) -> dict:
        """The first message matching `pred` (others are kept for later)."""
        for i, m in enumerate(self.pending):
            if pred(m):
                return self.pending.pop(i)
        deadline = time.perf_counter() + TIMEOUT
        while True:
            m = self.receive(deadline)
            if pred(m):
                return m
            self.pending.append(m)

    def response(self, id_: int) -> dict:
        m = self.wait(lambda m: m.get("id") == id_ and "method" not in m)
        if "error" in m:
            raise RuntimeError(f"request {id_} failed: {m['error']}")
        return m

    def published(self, uri: str, version: int) -> dict:
        return self.wait(
            lambda m: m.get("method") == "textDocument/publishDiagnostics"
            and m["params"]["uri"] == uri
            and m["params"].get("version") == version
        )["params"]

    def peak_rss_kb(self) -> tuple[int, int]:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        kb = lambda k: int(fields[k].split()[0])  # noqa: E731
        return kb("VmHWM"), kb("VmRSS")

    def close(self) -> None:
        try:
            i = self.request("shutdown", {})
            self.response(i)
            self.notify("exit", {})
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def line_col(text: str, index: int) -> tuple[int, int]:
    """(line, UTF-8 byte column) of a str index (the plans are ASCII, but be exact)."""
    line = text.count("\n", 0, index)
    start = text.rfind("\n", 0, index) + 1
    return line, len(text[start:index].encode("utf-8"))


def pos(text: str, index: int) -> dict:
    line, col = line_col(text, index)
    return {"line": line, "character": col}


def edit_places(text: str, stages: int, count: int) -> list[tuple[str, int]]:
    """(kind, str index) of single-character insertions, in stages spread
    through the plan, cycling over four kinds of place."""
    places = []
    kinds = ["step-cell", "validation", "predicted-path", "map-title"]
    j = 0
    while len(places) < count:
        k = 1 + (j * 7919) % stages
        kind = kinds[j % len(kinds)]
        if kind == "step-cell":
            needle = f"| 1 | change part 1 of module {k} |"
            at = text.index(needle) + len("| 1 | change")
        elif kind == "validation":
            needle = f"- post: `cargo test m{k}` passes"
            at = text.index(needle) + len("- post")
        elif kind == "predicted-path":
            needle = f"- Predicted added/modified files: `src/m{k}/`"
            at = text.index(needle) + len("- Predicted added/modified files: `src/m")
        else:
            needle = f"\n| {k} | Stage title {k} |"
            at = text.index(needle) + len(f"\n| {k} | Stage")
        places.append((kind, at))
        j += 1
    return places


def initialize(server: Server, root: Path) -> None:
    i = server.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": "bench"}],
            "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}},
        },
    )
    result = server.response(i)["result"]
    enc = result["capabilities"].get("positionEncoding", "utf-16")
    if enc != "utf-8":
        raise RuntimeError(f"expected utf-8 positions, got {enc}")
    server.notify("initialized", {})


ms = lambda t0: (time.perf_counter() - t0) * 1000  # noqa: E731


class Session:
    """One server process with one generated plan open."""

    def __init__(self, stages: int, args):
        self.stages = stages
        self.text = generate(stages)
        self.tmp = Path(tempfile.mkdtemp(prefix="okstra-bench-"))
        plan_dir = self.tmp / "runs" / "bench-key" / "plan"
        plan_dir.mkdir(parents=True)
        (self.tmp / "runs" / "bench-key" / "consumers.jsonl").write_text("")
        self.server = Server(self.tmp)
        initialize(self.server, self.tmp)
        # Open: distinct documents, each closed before the next; the last
        # one stays open for the rest.
        self.opens = []
        for k in range(args.opens):
            path = plan_dir / (f"plan-{k}.md" if k + 1 < args.opens else "plan.md")
            path.write_text(self.text)
            self.uri = path.as_uri()
            t0 = time.perf_counter()
            self.server.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": self.uri, "languageId": "markdown", "version": 1, "text": self.text}},
            )
            published = self.server.published(self.uri, 1)
            self.opens.append(ms(t0))
            if published["diagnostics"]:
                raise RuntimeError(f"the generated plan is not clean: {published['diagnostics'][:2]}")
            if k + 1 < args.opens:
                self.server.notify("textDocument/didClose", {"textDocument": {"uri": self.uri}})
        self.version = 1
        self.hwm_open, _ = self.server.peak_rss_kb()
        self.places = edit_places(self.text, stages, (args.edits + args.warmup * 2) // 2)
        self.keystrokes: list[float] = []
        self.by_kind: dict[str, list[float]] = {}

    def change(self, changes: list[dict]) -> dict:
        self.version += 1
        self.server.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": self.uri, "version": self.version}, "contentChanges": changes},
        )
        return self.server.published(self.uri, self.version)

    def keystroke_pair(self, n: int, timed: bool) -> None:
        """Types one character at the n-th place, then deletes it; each
        timed up to the diagnostics of its version."""
        kind, at = self.places[n]
        start = pos(self.text, at)
        end = {"line": start["line"], "character": start["character"] + 1}
        for change in (
            {"range": {"start": start, "end": start}, "text": "x"},
            {"range": {"start": start, "end": end}, "text": ""},
        ):
            t0 = time.perf_counter()
            self.change([change])
            if timed:
                self.keystrokes.append(ms(t0))
                self.by_kind.setdefault(kind, []).append(self.keystrokes[-1])

    def requests(self, args) -> None:
        """Code actions and batch preview (after planting problems), RSS."""
        text, stages, server, uri = self.text, self.stages, self.server, self.uri
        # Plant a step-count mismatch (and, with two roots, an S9 overlap).
        k = max(1, stages // 2)
        cell = f"\n| {k} | Stage title {k} | "
        row_at = text.index(cell) + len(cell)
        row_end = text.index("|\n", row_at)
        steps_at = text.rindex("| ", row_at, row_end) + 2
        planted = text[:steps_at] + "9" + text[steps_at + 1 :]
        changes = [{"range": {"start": pos(text, steps_at), "end": pos(text, steps_at + 1)}, "text": "9"}]
        root = 5 * (stages // 10) + 1
        if root > 1 and f"`src/m{root}/`" in planted:
            path_at = planted.index(f"- Predicted added/modified files: `src/m{root}/`") + len(
                "- Predicted added/modified files: `src/m"
            )
            digits = str(root)
            changes.append(
                {"range": {"start": pos(planted, path_at), "end": pos(planted, path_at + len(digits))}, "text": "1"}
            )
            planted = planted[:path_at] + "1" + planted[path_at + len(digits) :]
        diagnostics = self.change(changes)["diagnostics"]
        self.planted = sorted({d.get("code") for d in diagnostics})

        def code_actions(diagnostic: dict | None, at: dict) -> list[float]:
            rng = diagnostic["range"] if diagnostic else {"start": at, "end": at}
            params = {
                "textDocument": {"uri": uri},
                "range": rng,
                "context": {"diagnostics": [diagnostic] if diagnostic else []},
            }
            times, count = [], 0
            for _ in range(args.requests):
                t0 = time.perf_counter()
                i = server.request("textDocument/codeAction", params)
                result = server.response(i)["result"] or []
                times.append(ms(t0))
                count = len(result)
            if count == 0:
                raise RuntimeError(f"no code action at {rng}")
            return times

        self.actions = {}
        for code in ("step-count-mismatch", "s9-file-overlap"):
            d = next((d for d in diagnostics if d.get("code") == code), None)
            if d:
                self.actions[code] = summary(code_actions(d, d["range"]["start"]))
        if stages > 1:  # merge with a neighbour needs one
            heading = planted.index(f"### 4.5.{k} Stage {k}") + len("### 4.5.")
            self.actions["refactor at a stage heading"] = summary(code_actions(None, pos(planted, heading)))

        self.preview = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            i = server.request(
                "workspace/executeCommand",
                {"command": "okstra.previewRunBatch", "arguments": [{"uri": uri}]},
            )
            result = server.response(i)["result"]
            self.preview.append(ms(t0))
        if not result or "stages" not in result:
            raise RuntimeError(f"unexpected preview result {result}")
        self.hwm, self.rss = server.peak_rss_kb()

    def close(self) -> None:
        self.server.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def result(self) -> dict:
        return {
            "stages": self.stages,
            "bytes": len(self.text.encode("utf-8")),
            "open_ms": summary(self.opens),
            "keystroke_ms": summary(self.keystrokes),
            "keystroke_by_kind_p50_ms": {k: statistics.median(v) for k, v in self.by_kind.items()},
            "planted": self.planted,
            "code_action_ms": self.actions,
            "preview_ms": summary(self.preview),
            "peak_rss_open_mb": self.hwm_open / 1024,
            "peak_rss_mb": self.hwm / 1024,
            "rss_mb": self.rss / 1024,
        }


def run(sizes: list[int], args) -> list[dict]:
    sessions: list[Session] = []
    try:
        for n in sizes:
            print(f"… opening {n} stage(s)", file=sys.stderr, flush=True)
            sessions.append(Session(n, args))
        # Keystrokes, the sizes taking turns pair by pair: whatever else the
        # machine does falls on all of them alike (the ratio is what counts).
        print("… keystrokes", file=sys.stderr, flush=True)
        pairs = len(sessions[0].places)
        for n in range(pairs):
            for session in sessions:
                session.keystroke_pair(n, timed=n >= args.warmup)
        for session in sessions:
            print(f"… requests, {session.stages} stage(s)", file=sys.stderr, flush=True)
            session.requests(args)
        return [session.result() for session in sessions]
    finally:
        for session in sessions:
            session.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,200,1000")
    ap.add_argument("--edits", type=int, default=400, help="timed keystrokes per size")
    ap.add_argument("--warmup", type=int, default=10, help="untimed edit pairs first")
    ap.add_argument("--requests", type=int, default=100, help="timed requests of each kind")
    ap.add_argument("--opens", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--bin", type=Path, help="the server binary (default: the release build)")
    args = ap.parse_args()
    global SERVER
    if args.bin:
        SERVER = args.bin.resolve()
    if not args.no_build:
        build()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = run(sizes, args)

    load = os.getloadavg()
    print(f"{SERVER} --stdio, {os.cpu_count()} CPU(s), load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print()
    head = "| stages | KB | open p50 ms | keystroke p50 / p90 / p99 ms | code action p50 ms | preview p50 / p99 ms | peak RSS MB |"
    print(head)
    print("|---:|---:|---:|---|---|---|---:|")
    for r in results:
        k = r["keystroke_ms"]
        ca = " · ".join(f"{v['p50']:.2f}" for v in r["code_action_ms"].values())
        print(
            f"| {r['stages']} | {r['bytes'] / 1024:.0f} | {r['open_ms']['p50']:.1f} "
            f"| {k['p50']:.3f} / {k['p90']:.3f} / {k['p99']:.3f} | {ca} "
            f"| {r['preview_ms']['p50']:.2f} / {r['preview_ms']['p99']:.2f} | {r['peak_rss_mb']:.1f} |"
        )
    print()
    for r in results:
        kinds = ", ".join(f"{k} {v:.3f}" for k, v in r["keystroke_by_kind_p50_ms"].items())
        acts = ", ".join(f"{k} {v['p50']:.2f}/{v['p99']:.2f}" for k, v in r["code_action_ms"].items())
        print(f"{r['stages']} stage(s): keystroke p50 by place (ms): {kinds}")
        print(f"{r['stages']} stage(s): code actions p50/p99 (ms): {acts}")
    by = {r["stages"]: r for r in results}
    if len(sizes) > 1:
        lo, hi = by[min(sizes)], by[max(sizes)]
        ratio = hi["keystroke_ms"]["p50"] / lo["keystroke_ms"]["p50"]
        print()
        print(f"keystroke p50 ratio, {hi['stages']} vs {lo['stages']} stage(s): {ratio:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"load": load, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
