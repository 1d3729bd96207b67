#!/usr/bin/env bash
# One command on a fresh machine: install what is missing, build Release, start Kafka and
# Redis on loopback, and run the service on 127.0.0.1:8080 (Ctrl-C stops it gracefully).
# Extra arguments go to xbanku, e.g. scripts/run.sh --redis 127.0.0.1:6379
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_TYPE=Release scripts/build.sh
scripts/services.sh up
listen="${XBANKU_LISTEN:-127.0.0.1:8080}"
cat <<MSG

xbanku is starting on http://$listen
  curl http://$listen/healthz
  curl -XPOST http://$listen/accounts -H 'content-type: application/json' -d '{"name":"Cole Bittel"}'
  Web console: http://$listen/
  WebSocket: ws://$listen/ws      OpenAPI: http://$listen/openapi.json
Stop with Ctrl-C; 'scripts/services.sh down' stops Kafka and Redis.

MSG
exec build/xbanku --act=serve "$@"
