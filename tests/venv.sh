# Sourced by tests/run-e2e.sh and tests/run-integrations.sh with $here set to tests/: creates the
# tests' virtualenv once (E2E_VENV, default tests/.venv; PYTHON, default python3) and reinstalls
# tests/requirements.txt only when it changes. Sets $venv.
venv=${E2E_VENV:-$here/.venv}
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi
