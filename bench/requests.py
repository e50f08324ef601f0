#!/usr/bin/env python3
"""Request latency on an open plan, 10 stages against 1,000 (issue #15).

The plan (`gen_plan.py`) sits where okstra keeps it, at
`runs/<key>/<dir>/plan.md` inside the workspace folder, with a
`consumers.jsonl` beside `<dir>` that marks a few stages done: the run root
is inside the workspace, so nothing is refused, and readiness is read as a
run would. For each size, in a fresh `okstra-lsp --stdio`: initialize,
didOpen, wait for its diagnostics, then, one at a time, N requests of each
kind, timed from writing the request to reading its whole response:

- preview: `workspace/executeCommand okstra.previewRunBatch`;
- hover: on the heading of the middle stage;
- codeLens: the whole document (LSP asks for all of them);
- inlayHint: the 60 lines around the middle stage (what an editor shows);
- codeAction: at the middle diagnostic of the first publish, with it in the
  context (the quick fixes an editor asks for under the cursor).

Sizes alternate round by round, so a burst of load on this shared machine
falls on both alike; the table gives the median over rounds of each
round's p50, and the ratio 1,000 / 10. Standard library only; the JSON-RPC
client is `lsp_bench.Conn` (bench/lsp_bench.py, from ../shared/bench).

    python3 bench/requests.py [--bin target/release/okstra-lsp] [--requests 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import lsp_bench  # noqa: E402

KINDS = ["preview", "hover", "codeLens", "inlayHint", "codeAction"]


def make_workspace(root: Path, stages: int) -> Path:
    plan = root / "runs" / "bench-key" / "plan-dir" / "plan.md"
    plan.parent.mkdir(parents=True)
    subprocess.run([sys.executable, str(HERE / "gen_plan.py"), "--stages", str(stages), "--out", str(plan)],
                   check=True, capture_output=True)
    rows = [{"stage": n, "status": "done"} for n in (1, 2, 3)]
    (plan.parent.parent / "consumers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return plan


def middle_stage_line(text: str, stages: int) -> int:
    needle = f"### Stage {max(1, stages // 2)}:"
    for i, line in enumerate(text.split("\n")):
        if line.startswith(needle):
            return i
    raise SystemExit(f"no {needle!r} heading in the generated plan")


def one_size(binary: str, stages: int, requests: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="okstra-req-") as tmp:
        root = Path(tmp)
        plan = make_workspace(root, stages)
        text = plan.read_text()
        uri = plan.as_uri()
        proc = subprocess.Popen([binary, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=root)
        conn = lsp_bench.Conn(proc, root.as_uri(), root.name, None, None)
        try:
            def call(method: str, params) -> tuple[float, dict]:
                rid, sent = conn.request(method, params)
                got = conn.pump(lambda: conn.responses.pop(rid, None), 30, uri)
                if got is None:
                    raise SystemExit(f"{method}: no answer in 30 s")
                t, msg = got
                if "error" in msg:
                    raise SystemExit(f"{method}: {msg['error']}")
                while sent.t is None:
                    time.sleep(0.0001)
                return (t - sent.t) * 1000, msg

            call("initialize", {
                "processId": None, "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": lsp_bench.client_capabilities(False, pull=False),
            })
            conn.notify("initialized", {})
            conn.notify("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": "markdown", "version": 1, "text": text}})
            published = conn.pump(lambda: conn.publishes.pop(0) if conn.publishes else None, 60, uri)
            if published is None:
                raise SystemExit("no diagnostics after didOpen")
            diagnostics = published[1].get("diagnostics") or []
            if not diagnostics:
                raise SystemExit("the generated plan has no diagnostics to ask code actions for")
            at = diagnostics[len(diagnostics) // 2]
            line = middle_stage_line(text, stages)
            doc = {"uri": uri}
            params = {
                "preview": ("workspace/executeCommand",
                            {"command": "okstra.previewRunBatch", "arguments": [{"uri": uri}]}),
                "hover": ("textDocument/hover", {"textDocument": doc, "position": {"line": line, "character": 6}}),
                "codeLens": ("textDocument/codeLens", {"textDocument": doc}),
                "inlayHint": ("textDocument/inlayHint", {"textDocument": doc, "range": {
                    "start": {"line": max(0, line - 30), "character": 0},
                    "end": {"line": line + 30, "character": 0}}}),
                "codeAction": ("textDocument/codeAction", {"textDocument": doc, "range": at["range"],
                                                           "context": {"diagnostics": [at]}}),
            }
            out = {}
            for kind in KINDS:
                method, p = params[kind]
                call(method, p)  # warm
                times = sorted(call(method, p)[0] for _ in range(requests))
                out[kind] = times[len(times) // 2]
            call("shutdown", None)
            conn.notify("exit", None)
            proc.wait(timeout=10)
            return out
        finally:
            conn.close()
            if proc.poll() is None:
                proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(HERE.parent / "target" / "release" / "okstra-lsp"))
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if not Path(a.bin).exists() or not shutil.which(a.bin) and not Path(a.bin).is_file():
        print(f"no server binary at {a.bin} (cargo build --release)", file=sys.stderr)
        return 2
    runs: dict[int, list[dict[str, float]]] = {10: [], 1000: []}
    for _ in range(a.rounds):
        for stages in runs:
            runs[stages].append(one_size(a.bin, stages, a.requests))
    med = {s: {k: statistics.median(r[k] for r in rs) for k in KINDS} for s, rs in runs.items()}
    print(f"{a.requests} requests of each kind per round, {a.rounds} rounds; median of the rounds' p50 (ms)\n")
    print("| request | 10 stages | 1,000 stages | ratio |")
    print("|---|---:|---:|---:|")
    for k in KINDS:
        print(f"| {k} | {med[10][k]:.3f} | {med[1000][k]:.3f} | {med[1000][k] / med[10][k]:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
