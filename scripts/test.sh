#!/usr/bin/env bash
# One command on a fresh machine: install what is missing, build, bring up a Kafka broker and a
# Redis of the tests' own (free ports, their own folder under .cache/test-services, so the suite
# runs beside scripts/run.sh and beside another checkout's tests), run every ctest label, bring
# them down, and exit with ctest's status.
# Extra arguments go to ctest, e.g. scripts/test.sh -L unit  or  scripts/test.sh -R view
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/tools-install.sh
scripts/checker-setup.sh >/dev/null  # the checker's virtualenv (PyPI), before any test's clock
# The browser test's tools (chromium, Playwright for Python in .cache/browser-venv), before the
# clock of any test starts: the ctest fixture browser_tools then finds them in place.
scripts/browser-test-install.sh
BUILD_TYPE="${BUILD_TYPE:-Release}" scripts/build.sh

# Four free loopback ports: the broker, its controller, its SASL_SSL listener, Redis.
read -r KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_SASL_PORT REDIS_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)
export KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_SASL_PORT REDIS_PORT
export XBANKU_SERVICES_DIR="$PWD/.cache/test-services"
rm -rf "$XBANKU_SERVICES_DIR"
# What the tests read (tests/support/services.hpp); broker_outage_test stops and restarts this
# broker through scripts/services.sh with the same variables.
export XBANKU_TEST_BROKERS="127.0.0.1:$KAFKA_PORT" XBANKU_TEST_REDIS_PORT="$REDIS_PORT"
export XBANKU_TEST_SASL_BROKERS="127.0.0.1:$KAFKA_SASL_PORT" XBANKU_TEST_KAFKA_DIR="$XBANKU_SERVICES_DIR/kafka"

status=0
trap 'scripts/services.sh down || true' EXIT
scripts/services.sh up
(cd build && ctest --output-on-failure --timeout 900 "$@") || status=$?
exit $status
