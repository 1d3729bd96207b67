#!/usr/bin/env bash
# pytest for tests/checker.
#   scripts/checker-test.sh unit   the checker's own tests: hand-made logs, tampered answers (no services)
#   scripts/checker-test.sh live   differential and bank tests against real instances: the broker
#                                  and Redis scripts/test.sh exports (XBANKU_TEST_BROKERS,
#                                  XBANKU_TEST_REDIS_PORT; run by hand: 127.0.0.1:9092 and 6379, as
#                                  the C++ tests), XBANKU_BINARY (default build/xbanku)
#   scripts/checker-test.sh all
# Further arguments go to pytest, e.g. scripts/checker-test.sh live -k crafted -s
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="$("$root/scripts/checker-setup.sh")"
which="${1:-unit}"; shift || true
case "$which" in
  unit) marker=(-m "not live") ;;
  live) marker=(-m live)
        export XBANKU_TEST_BROKERS="${XBANKU_TEST_BROKERS:-127.0.0.1:9092}"
        export XBANKU_TEST_REDIS_PORT="${XBANKU_TEST_REDIS_PORT:-6379}" ;;
  all) marker=() ;;
  *) echo "usage: $0 unit|live|all [pytest args]" >&2; exit 2 ;;
esac
export XBANKU_BINARY="${XBANKU_BINARY:-$root/build/xbanku}"
cd "$root/tests/checker"
exec nice -n 5 "$python" -m pytest -q -rxXs "${marker[@]}" "$@"
