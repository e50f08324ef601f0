#!/usr/bin/env bash
# End-to-end tests: pytest-lsp drives the real okstra-lsp binary over stdio.
#
# Usage: tests/run-e2e.sh [pytest args...]
#   OKSTRA_LSP_BIN  the binary to test (default: target/debug/okstra-lsp, built
#                   with `cargo build` when it is missing)
#   E2E_VENV        the virtualenv to create or reuse (default: tests/.venv)
# Creates the virtualenv once and reinstalls only when requirements.txt
# changes. Exits non-zero when any test fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"

bin=${OKSTRA_LSP_BIN:-$root/target/debug/okstra-lsp}
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
if [ ! -x "$bin" ] && [ -z "${OKSTRA_LSP_BIN:-}" ]; then
  cargo build --quiet
fi
if [ ! -x "$bin" ]; then
  echo "run-e2e.sh: $bin is not an executable (set OKSTRA_LSP_BIN)" >&2
  exit 2
fi
export OKSTRA_LSP_BIN="$bin"

# shellcheck source=tests/venv.sh
. "$here/venv.sh"

# Arguments naming test files (tests/test_x.py[::name]) replace the default
# of all of tests/; other arguments (-k EXPR, -x, ...) go to pytest as they are.
paths=no
for arg in "$@"; do
  if [ -e "${arg%%::*}" ]; then paths=yes; fi
done
if [ "$paths" = no ]; then
  set -- "$here" "$@"
fi
exec "$venv/bin/python" -m pytest -c "$here/pytest.ini" --rootdir "$here" "$@"
