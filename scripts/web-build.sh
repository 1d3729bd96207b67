#!/usr/bin/env bash
# Builds the web console by hand, the way cmake/console.cmake does at build time:
#   scripts/web-build.sh            npm ci (web/package-lock.json), unit tests, type check + Vite build
#                                   into web/dist, and the embedding's checks (cmake/embed_console.py:
#                                   nothing inline that the CSP would block)
#   scripts/web-build.sh --dev      then serve it with `vite preview` on 127.0.0.1:5173, proxying the
#                                   API to XBANKU_DEV_UPSTREAM (default http://127.0.0.1:18181) and
#                                   mocking /cluster and /dlq (web/dev/dev-api.ts says how)
set -euo pipefail
cd "$(dirname "$0")/../web"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm test --silent
npm run --silent build
check=$(mktemp --suffix=.cpp)
trap 'rm -f "$check"' EXIT
python3 ../cmake/embed_console.py dist "$check"
if [ "${1:-}" = "--dev" ]; then
  exec npx vite preview --host 127.0.0.1 --port "${PORT:-5173}" --strictPort
fi
