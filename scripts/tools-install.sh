#!/usr/bin/env bash
# Test-only tools from PyPI: a WebSocket client not written here (Python's `websockets`),
# installed into an ignored virtualenv so the system Python stays untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import websockets' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'websockets>=12,<16'
fi
