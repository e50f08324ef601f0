#!/usr/bin/env python3
"""Keystroke -> publishDiagnostics over stdio, measured with the harness
issue #15 judges by (bench/lsp_bench.py, copied from ../shared/bench).

Plans from bench/gen_plan.py, each in its own folder: 1 stage, 1,000 stages
(345 diagnostics: its §5 rows lack evidence and recommendations on purpose),
and the same 1,000 stages made clean (those rows given evidence, a
recommendation and `approval`; checked to have no diagnostic). For each,
`lsp_bench.py --edits N --diag-mode push` (a client that does not pull, so
the server pushes; single-character edits at seeded positions anywhere in
the plan). Plans alternate round by round, so a burst of load on this
shared machine falls on all alike; the table gives the median over rounds
of each round's figures, and the p50 ratio to the 1-stage plan. With
`--floor`, the parse floor of the 1,000-stage text on the same cores
(`cargo run --release --example parse_floor -- FILE`) beside didOpen.

    python3 bench/keystrokes.py [--bin target/release/okstra-lsp] [--edits 200] [--rounds 3] [--floor]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def clean(text: str) -> str:
    """The §5 rows fixed: evidence, a recommendation, Blocks = approval."""
    out = []
    for line in text.split("\n"):
        m = re.match(r"^\| (C-\d+) \| ([^|]*) \| ([^|]*) \| ([^|]*) \| ([^|]*) \|$", line)
        if m:
            cid, kind, statement, form, _ = (g.strip() for g in m.groups())
            line = (f"| {cid} | {kind} | {statement} Evidence checked: none — synthetic plan "
                    f"| {form}. Recommended: yes — synthetic plan | approval |")
        out.append(line)
    return "\n".join(out)


def plans(tmp: Path, binary: str) -> dict[str, Path]:
    made = {}
    for name, stages in (("1 stage", 1), ("1,000 stages", 1000)):
        path = tmp / name.replace(",", "").replace(" ", "-") / "plan.md"
        path.parent.mkdir()
        subprocess.run([sys.executable, str(HERE / "gen_plan.py"), "--stages", str(stages), "--out", str(path)],
                       check=True, capture_output=True)
        made[name] = path
    path = tmp / "1000-clean" / "plan.md"
    path.parent.mkdir()
    path.write_text(clean(made["1,000 stages"].read_text()))
    found = json.loads(subprocess.run([binary, "check", "--format", "json", str(path)],
                                      capture_output=True, text=True).stdout or "[]")
    if found:
        raise SystemExit(f"the clean plan still has {len(found)} diagnostics, e.g. {found[0]['code']}")
    made["1,000 stages, clean"] = path
    return made


def run(binary: str, plan: Path, edits: int) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "lsp_bench.py"), "--server", f"{binary} --stdio",
                          "--doc", str(plan), "--edits", str(edits), "--diag-mode", "push",
                          "--json", "--no-samples"], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"lsp_bench.py failed on {plan}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def figures(result: dict) -> dict[str, float]:
    edit = result["series_ms"]["push_diag_edit_to_publish"]
    return {
        "p50": edit["p50"],
        "p90": edit["p90"],
        "p99": edit["p99"],
        "open": result["open"]["push"]["ms"],
        "rss": result["process"]["peak_rss_kib"] / 1024,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "okstra-lsp"))
    ap.add_argument("--edits", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--floor", action="store_true", help="also run the parse-floor example (cargo)")
    ap.add_argument("--raw", type=Path, help="write every round's lsp_bench JSON here")
    a = ap.parse_args()
    if not Path(a.bin).is_file():
        print(f"no server binary at {a.bin} (cargo build --release)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="okstra-keys-") as tmp:
        made = plans(Path(tmp), a.bin)
        rounds: dict[str, list[dict]] = {name: [] for name in made}
        raw = []
        for _ in range(a.rounds):
            for name, plan in made.items():
                result = run(a.bin, plan, a.edits)
                raw.append({"plan": name, "result": result})
                rounds[name].append(figures(result))
        floor = None
        if a.floor:
            out = subprocess.run(["cargo", "run", "--release", "-q", "--example", "parse_floor", "--",
                                  str(made["1,000 stages"]), "9"], capture_output=True, text=True, cwd=ROOT)
            m = re.search(r"core\(s\) ([0-9.]+) ms", out.stdout)
            floor = float(m.group(1)) if m else None
    if a.raw:
        a.raw.write_text(json.dumps(raw, indent=1))
    med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in rounds.items()}
    base = med["1 stage"]["p50"]
    print(f"lsp_bench.py --edits {a.edits} --diag-mode push, {a.rounds} rounds; medians of the rounds (ms)\n")
    print("| plan (gen_plan.py) | edit→publish p50 / p90 / p99 | p50 vs 1 stage | didOpen→publish | peak RSS |")
    print("|---|---|---:|---:|---:|")
    for name, f in med.items():
        print(f"| {name} | {f['p50']:.2f} / {f['p90']:.2f} / {f['p99']:.2f} | {f['p50'] / base:.2f}x "
              f"| {f['open']:.1f} | {f['rss']:.1f} MiB |")
    if floor:
        opened = med["1,000 stages"]["open"]
        print(f"\nparse floor of the 1,000-stage text on this machine's cores: {floor:.1f} ms; "
              f"didOpen→publish is {opened / floor:.2f}x it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
