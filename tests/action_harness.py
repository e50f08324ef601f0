#!/usr/bin/env python3
"""Run a composite GitHub Action's steps locally, as the Actions runner would.

    action_harness.py ACTION_DIR [--input NAME=VALUE]... [--outputs FILE] [--runner-temp DIR]

Reads ACTION_DIR/action.yml (it must be `using: composite` with only `run:`
steps), and runs each step in order with its `shell`, in the current folder
(the workspace), with the runner's environment: GITHUB_ACTION_PATH,
GITHUB_WORKSPACE, RUNNER_TEMP, and fresh GITHUB_OUTPUT, GITHUB_ENV and
GITHUB_PATH files whose contents are read back after the step (step outputs,
env and PATH for the steps after it). The `${{ ... }}` expressions it knows
are substituted in `run`, `env`, `shell` and `working-directory`:
`inputs.NAME` (the given value, else the input's default), `github.action_path`,
`github.workspace`, `runner.temp` and `steps.ID.outputs.NAME`. Any other
expression, an unknown or missing required input, a `uses:` or `if:` step is
an error (exit 3), so the harness never runs something other than what the
runner would. Stops at the first failing step and exits with its status, as
the runner fails the action there; writes the action's outputs as JSON to
--outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

# The runner's templates for the shells a composite step may name
# (docs: "jobs.<job_id>.steps[*].shell").
SHELLS = {
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
    "sh": ["sh", "-e", "{0}"],
    "python": ["python3", "{0}"],
}
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class HarnessError(Exception):
    pass


def substitute(text: str, context: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        key = expr.lower()
        if key not in context:
            raise HarnessError(f"unsupported expression ${{{{ {expr} }}}}")
        return context[key]

    return EXPR.sub(one, str(text))


def read_output_file(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV syntax: NAME=VALUE lines and NAME<<DELIM heredocs."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise HarnessError(f"{path.name}: heredoc {delim!r} is not closed")
            i += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        else:
            raise HarnessError(f"{path.name}: malformed line {line!r}")
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action_dir", type=Path)
    parser.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--outputs", type=Path)
    parser.add_argument("--runner-temp", type=Path, help="RUNNER_TEMP (default: a temporary folder removed at the end)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="action-harness-") as temp:
        return run(args, Path(temp))


def run(args: argparse.Namespace, temp: Path) -> int:

    action_dir = args.action_dir.resolve()
    action = yaml.safe_load((action_dir / "action.yml").read_text(encoding="utf-8"))
    runs = action.get("runs") or {}
    if runs.get("using") != "composite":
        raise HarnessError("only composite actions are supported")

    declared = {name.lower(): spec or {} for name, spec in (action.get("inputs") or {}).items()}
    given: dict[str, str] = {}
    for item in args.input:
        name, sep, value = item.partition("=")
        if not sep:
            raise HarnessError(f"--input {item!r}: expected NAME=VALUE")
        if name.lower() not in declared:
            raise HarnessError(f"input {name!r} is not declared in action.yml")
        given[name.lower()] = value
    inputs: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            inputs[name] = given[name]
        elif "default" in spec:
            inputs[name] = str(spec["default"])
        elif spec.get("required"):
            raise HarnessError(f"required input {name!r} is missing")
        else:
            inputs[name] = ""

    workspace = Path.cwd()
    runner_temp = (args.runner_temp or temp / "runner-temp").resolve()
    runner_temp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_ACTION_PATH=str(action_dir),
        GITHUB_WORKSPACE=str(workspace),
        RUNNER_TEMP=str(runner_temp),
    )
    context = {f"inputs.{name}": value for name, value in inputs.items()}
    context.update(
        {
            "github.action_path": str(action_dir),
            "github.workspace": str(workspace),
            "runner.temp": str(runner_temp),
        }
    )

    for index, step in enumerate(runs.get("steps") or []):
        label = step.get("name") or step.get("id") or f"step {index + 1}"
        if "uses" in step or "if" in step or "run" not in step:
            raise HarnessError(f"{label}: only unconditional `run:` steps are supported")
        shell = substitute(step.get("shell", ""), context)
        if shell not in SHELLS:
            raise HarnessError(f"{label}: shell {shell!r} is not supported (composite steps must name one)")
        files = {name: temp / f"{name}.{index}" for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH")}
        for path in files.values():
            path.write_text("")
        step_env = dict(env, **{name: str(path) for name, path in files.items()})
        for name, value in (step.get("env") or {}).items():
            step_env[name] = substitute(value, context)
        script = temp / f"step{index}.sh"
        script.write_text(substitute(step["run"], context), encoding="utf-8")
        cwd = workspace / substitute(step.get("working-directory", "."), context)
        command = [part.replace("{0}", str(script)) for part in SHELLS[shell]]
        print(f"action_harness: run {label}", file=sys.stderr, flush=True)
        status = subprocess.run(command, cwd=cwd, env=step_env).returncode

        outputs = read_output_file(files["GITHUB_OUTPUT"])
        if step.get("id"):
            for name, value in outputs.items():
                context[f"steps.{step['id'].lower()}.outputs.{name.lower()}"] = value
        env.update(read_output_file(files["GITHUB_ENV"]))
        for line in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines():
            if line.strip():
                env["PATH"] = line.strip() + os.pathsep + env["PATH"]
        if status != 0:
            print(f"action_harness: {label} failed with exit status {status}", file=sys.stderr)
            return status

    if args.outputs:
        results = {
            name: substitute(spec.get("value", ""), context)
            for name, spec in (action.get("outputs") or {}).items()
        }
        args.outputs.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as error:
        print(f"action_harness: {error}", file=sys.stderr)
        sys.exit(3)
