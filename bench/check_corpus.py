#!/usr/bin/env python3
"""`okstra-lsp check` on a folder of 1,000 typical plans against its floor
(issue #8).

Generates 1,000 plans of about 300 lines (14–20 stages, a few planted
problems; `cargo run --release --example gen -- --corpus DIR 1000`) into a
temporary folder, then times, in alternation so that both see the same
machine:

- the floor: `examples/parse_floor.rs`, which reads every file and parses it
  with tree-sitter-md (one tree per file) and nothing else, on the same
  threads `check` uses (one run of files per core);
- `okstra-lsp check DIR` (text output to /dev/null).

Reports medians of wall time and CPU time (user + system) and the ratio
check / floor. Python 3 standard library only. One command:

    python3 bench/check_corpus.py          # builds the release binaries first

Options: --plans 1000  --runs 7  --no-build  --keep DIR (keep the corpus there)
         --bin PATH (another okstra-lsp binary, e.g. an older build to compare)
"""

from __future__ import annotations

import argparse
import os
import resource
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
FLOOR = TARGET / "release" / "examples" / "parse_floor"


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: `check` found errors (planted)
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plans", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    ap.add_argument("--bin", type=Path, help="the okstra-lsp binary (default: the release build)")
    args = ap.parse_args()
    checker = str(args.bin.resolve() if args.bin else BIN)
    if not args.no_build:
        subprocess.run(
            ["cargo", "build", "--release", "-q", "-p", "okstra-lsp", "--bin", "okstra-lsp",
             "--example", "gen", "--example", "parse_floor"],
            cwd=REPO,
            check=True,
        )
    corpus = args.keep or Path(tempfile.mkdtemp(prefix="okstra-corpus-"))
    try:
        if args.keep and corpus.exists():
            shutil.rmtree(corpus)
        subprocess.run([str(GEN), "--corpus", str(corpus), str(args.plans)], check=True)
        files = list(corpus.glob("*.md"))
        size = sum(f.stat().st_size for f in files)
        lines = sum(f.read_text().count("\n") for f in files)
        # One untimed run of each warms the page cache.
        timed([str(FLOOR), str(corpus)])
        timed([checker, "check", str(corpus)])
        floor, check = [], []
        for _ in range(args.runs):
            floor.append(timed([str(FLOOR), str(corpus)]))
            check.append(timed([checker, "check", str(corpus)]))
    finally:
        if not args.keep:
            shutil.rmtree(corpus, ignore_errors=True)

    med = lambda xs: statistics.median(xs)  # noqa: E731
    fw, fc = med([w for w, _ in floor]), med([c for _, c in floor])
    cw, cc = med([w for w, _ in check]), med([c for _, c in check])
    ratios = [c[0] / f[0] for f, c in zip(floor, check)]
    load = os.getloadavg()
    print(
        f"{len(files)} plans, {size / 1024:.0f} KB, {lines // max(1, len(files))} lines each on average; "
        f"{os.cpu_count()} CPU(s), load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; median of {args.runs} runs"
    )
    print()
    print("| | wall s | CPU s |")
    print("|---|---:|---:|")
    print(f"| tree-sitter parse alone (floor) | {fw:.3f} | {fc:.3f} |")
    print(f"| {checker} check | {cw:.3f} | {cc:.3f} |")
    print(
        f"| check / floor | {cw / fw:.2f}x (per-run median {med(ratios):.2f}x) | {cc / fc:.2f}x |"
    )
    print()
    print(f"goal: check < 1 s wall: {'yes' if cw < 1 else 'no'} ({cw:.3f} s); "
          f"within 1.5x of the floor: {'yes' if cw / fw <= 1.5 else 'no'} ({cw / fw:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
