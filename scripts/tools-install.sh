#!/usr/bin/env bash
# Test-only tools, into ignored folders under .cache so the system stays untouched:
#   - a WebSocket client not written here (Python's `websockets`, PyPI) in .cache/venv;
#   - Toxiproxy, the TCP fault proxy of the nemesis suite (scripts/faults.sh), built from its Go
#     module (the Go module proxy) into .cache/toxiproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import websockets' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'websockets>=12,<16'
fi

# v2.5.0 is the newest release the Go module proxy serves for github.com/Shopify/toxiproxy/v2.
toxiproxy_version=v2.5.0
toxiproxy=.cache/toxiproxy
if [ ! -x "$toxiproxy/toxiproxy-server" ] || [ "$(cat "$toxiproxy/.version" 2>/dev/null)" != "$toxiproxy_version" ]; then
  echo "tools-install: building Toxiproxy $toxiproxy_version (go install)"
  mkdir -p "$toxiproxy"
  GOBIN="$PWD/$toxiproxy" \
    go install "github.com/Shopify/toxiproxy/v2/cmd/server@$toxiproxy_version"
  mv "$toxiproxy/server" "$toxiproxy/toxiproxy-server"
  echo "$toxiproxy_version" >"$toxiproxy/.version"
fi
