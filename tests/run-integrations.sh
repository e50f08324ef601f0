#!/usr/bin/env bash
# Tests of the CI integrations: the pre-commit hook (.pre-commit-hooks.yaml) through
# `pre-commit try-repo`, and the GitHub Action (action.yml) through tests/action_harness.py,
# which runs its steps as the runner would, plus actionlint on the sample workflow
# docs/examples/okstra-check.yml. Both build okstra-lsp with `cargo install --locked` as a user's
# machine or runner does.
#
# Usage: tests/run-integrations.sh
#   OKSTRA_LSP_BIN  the binary for the check on ordinary markdown (default: target/debug/okstra-lsp,
#                   built with `cargo build` when it is missing)
#   Work files go to target/integrations/ (recreated each run, except the cargo build folder,
#   target/integrations/cargo, which the hook's and the action's builds share and reuse).
#   The tests' virtualenv is tests/.venv (tests/venv.sh), with pre-commit and actionlint.
# Prints `N passed, N failed` and exits non-zero when any check fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
# shellcheck source=tests/venv.sh
. "$here/venv.sh"

# The binary scripts/test built (OKSTRA_LSP_BIN), else target/debug/okstra-lsp, built when missing;
# before CARGO_TARGET_DIR is set below for the hook's and the action's own builds.
bin=${OKSTRA_LSP_BIN:-$root/target/debug/okstra-lsp}
if [ ! -x "$bin" ] && [ -z "${OKSTRA_LSP_BIN:-}" ]; then
  cargo build --locked --quiet
fi

work="$root/target/integrations"
rm -rf "$work/hook-repo" "$work/project" "$work/lint" "$work/runner-temp" "$work/pre-commit-home" "$work/logs"
mkdir -p "$work/hook-repo" "$work/project" "$work/lint" "$work/logs"
# One build folder for every `cargo install` below (the hook's checkout and the action's), kept
# across runs. The release profile is built without optimizations here: these tests check how
# the binary is built and run, not how fast it is, and an optimized build would add minutes.
export CARGO_TARGET_DIR="$work/cargo"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=0
export CARGO_PROFILE_RELEASE_DEBUG=false
export PRE_COMMIT_HOME="$work/pre-commit-home"
export PRE_COMMIT_COLOR=never
export PATH="$venv/bin:$PATH"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() {
  failed=$((failed + 1))
  echo "not ok - $1"
  if [ -n "${2:-}" ]; then sed 's/^/    /' "$2"; fi
}

git_init() {
  git -C "$1" init --quiet
  git -C "$1" config user.email tests@example.invalid
  git -C "$1" config user.name tests
  git -C "$1" config commit.gpgsign false
}

# Files every check uses: a plan with one error, a plan with none, and markdown that is not a plan.
bad_plan="$root/fixtures/rules/steps-over-cap/trigger.md"
clean_plan="$root/fixtures/rules/steps-over-cap/near-miss.md"
notes="$root/README.md"

# --- the binary itself: ordinary markdown is silent ----------------------------------------
status=0
"$bin" check "$notes" > "$work/logs/notes.out" 2>&1 || status=$?
if [ "$status" -eq 0 ] && [ ! -s "$work/logs/notes.out" ]; then
  ok "okstra-lsp check on markdown that is not a plan: no output, exit 0"
else
  not_ok "okstra-lsp check on markdown that is not a plan (exit $status)" "$work/logs/notes.out"
fi

# --- pre-commit ----------------------------------------------------------------------------
# try-repo on the working tree as it is, committed or not: a snapshot of its files (tracked and
# untracked, not ignored) committed in a throwaway repository. (try-repo on this repository would
# take its HEAD plus the changes to tracked files, without new files.)
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$work/hook-repo"
git_init "$work/hook-repo"
git -C "$work/hook-repo" add -A
git -C "$work/hook-repo" commit --quiet -m snapshot

project="$work/project"
git_init "$project"
mkdir -p "$project/runs/bad/planning" "$project/runs/good/planning"
cp "$bad_plan" "$project/runs/bad/planning/plan.md"
cp "$clean_plan" "$project/runs/good/planning/plan.md"
cp "$notes" "$project/notes.md"
git -C "$project" add -A
git -C "$project" commit --quiet -m plans

try_repo() { # LOG FILE...: runs the hook on FILE..., prints its exit status
  local log=$1 status=0
  shift
  (cd "$project" && pre-commit try-repo "$work/hook-repo" okstra-lsp-check --verbose --files "$@") \
    > "$log" 2>&1 || status=$?
  echo "$status"
}

start=$(date +%s)
status=$(try_repo "$work/logs/hook-clean.log" runs/good/planning/plan.md notes.md)
echo "   (pre-commit try-repo with the hook's first build: $(($(date +%s) - start)) s)"
if [ "$status" -eq 0 ] && grep -Eq '^okstra-lsp check\.+Passed' "$work/logs/hook-clean.log" \
  && ! grep -q 'error\[' "$work/logs/hook-clean.log"; then
  ok "pre-commit hook passes a clean plan and markdown that is not a plan"
else
  not_ok "pre-commit hook on a clean plan (exit $status)" "$work/logs/hook-clean.log"
fi

status=$(try_repo "$work/logs/hook-bad.log" runs/bad/planning/plan.md runs/good/planning/plan.md notes.md)
if [ "$status" -eq 1 ] && grep -Eq '^okstra-lsp check\.+Failed' "$work/logs/hook-bad.log" \
  && grep -q 'runs/bad/planning/plan.md:26:1: error\[steps-over-cap\]' "$work/logs/hook-bad.log" \
  && [ "$(grep -c 'error\[' "$work/logs/hook-bad.log")" -eq 1 ]; then
  ok "pre-commit hook fails on the planted error and names it (steps-over-cap)"
else
  not_ok "pre-commit hook on a plan with an error (exit $status)" "$work/logs/hook-bad.log"
fi

# The hook's `files: \.md$`: a plan under another extension is not handed to it.
cp "$bad_plan" "$project/plan.txt"
status=$(try_repo "$work/logs/hook-txt.log" plan.txt)
if [ "$status" -eq 0 ] && grep -Eq '^okstra-lsp check\.+\(no files to check\)Skipped' "$work/logs/hook-txt.log"; then
  ok "pre-commit hook skips files that are not *.md"
else
  not_ok "pre-commit hook on a .txt file (exit $status)" "$work/logs/hook-txt.log"
fi

# --- the GitHub Action -----------------------------------------------------------------------
# Its steps run in bash as the runner runs them, in the project as the workspace.
action() { # LOG [--input NAME=VALUE]...: prints the harness's exit status
  local log=$1 status=0
  shift
  (cd "$project" && python "$here/action_harness.py" "$root" --runner-temp "$work/runner-temp" \
    --outputs "$work/logs/action-outputs.json" "$@") > "$log" 2>&1 || status=$?
  echo "$status"
}

start=$(date +%s)
status=$(action "$work/logs/action-default.log")
echo "   (the action with its build: $(($(date +%s) - start)) s)"
annotation='^::error file=runs/bad/planning/plan\.md,line=26,col=1,endLine=26,endColumn=77,title=steps-over-cap::stage 1 has 7 effective steps'
if [ "$status" -eq 1 ] && grep -Eq "$annotation" "$work/logs/action-default.log" \
  && [ "$(grep -c '^::' "$work/logs/action-default.log")" -eq 1 ]; then
  ok "action with the default paths (.) annotates the planted error and fails"
else
  not_ok "action with the default paths (exit $status)" "$work/logs/action-default.log"
fi

status=$(action "$work/logs/action-clean.log" --input "paths=runs/good
notes.md")
if [ "$status" -eq 0 ] && ! grep -q '^::' "$work/logs/action-clean.log" \
  && [ -x "$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["bin"])' "$work/logs/action-outputs.json")" ]; then
  ok "action on a clean plan and markdown that is not a plan passes, and outputs the binary's path"
else
  not_ok "action on a clean plan (exit $status)" "$work/logs/action-clean.log"
fi

status=$(action "$work/logs/action-args.log" --input "paths=runs/bad" --input "args=--cap 7")
if [ "$status" -eq 0 ] && ! grep -q '^::' "$work/logs/action-args.log"; then
  ok "action passes args to okstra-lsp check (--cap 7 allows the 7-step stage)"
else
  not_ok "action with args=--cap 7 (exit $status)" "$work/logs/action-args.log"
fi

# --- actionlint on the sample workflow --------------------------------------------------------
# As documented (uses: OWNER/okstra-lsp@main), then with the action as a local one (uses: ./)
# so that actionlint also reads action.yml and checks the inputs the workflow gives it; and a
# workflow with a misspelt input, which must fail (so the lint cannot pass by checking nothing).
lint="$work/lint"
git_init "$lint"
mkdir -p "$lint/.github/workflows"
cp "$root/action.yml" "$lint/action.yml"
cp "$root/docs/examples/okstra-check.yml" "$lint/.github/workflows/documented.yml"
sed 's|uses: OWNER/okstra-lsp@main|uses: ./|' "$root/docs/examples/okstra-check.yml" \
  > "$lint/.github/workflows/local.yml"
if ! grep -q 'uses: \./$' "$lint/.github/workflows/local.yml"; then
  not_ok "docs/examples/okstra-check.yml no longer says uses: OWNER/okstra-lsp@main"
fi
status=0
(cd "$lint" && actionlint -no-color) > "$work/logs/actionlint.log" 2>&1 || status=$?
if [ "$status" -eq 0 ]; then
  ok "actionlint: docs/examples/okstra-check.yml, and with the action from action.yml"
else
  not_ok "actionlint on docs/examples/okstra-check.yml (exit $status)" "$work/logs/actionlint.log"
fi
sed 's|^\( *\)args:|\1argz:|' "$lint/.github/workflows/local.yml" > "$lint/.github/workflows/misspelt.yml"
status=0
(cd "$lint" && actionlint -no-color .github/workflows/misspelt.yml) > "$work/logs/actionlint-misspelt.log" 2>&1 || status=$?
if [ "$status" -ne 0 ] && grep -q 'input "argz" is not defined' "$work/logs/actionlint-misspelt.log"; then
  ok "actionlint rejects an input action.yml does not declare"
else
  not_ok "actionlint on a workflow with a misspelt input (exit $status)" "$work/logs/actionlint-misspelt.log"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
