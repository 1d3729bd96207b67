#!/usr/bin/env bash
# The Python tools of tests/checker (checker, bank workload, API fuzzer, soak) in their own
# virtualenv, .cache/checker-venv, from tests/checker/requirements.txt (pinned). Idempotent: a
# venv whose installed requirements match the file is left alone. Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/checker-venv
req=tests/checker/requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
  echo "$want" >"$stamp"
fi
echo "$PWD/$venv/bin/python"
