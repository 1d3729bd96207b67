#!/usr/bin/env bash
# One command on a fresh machine: install what is missing, build, bring Kafka and Redis up,
# run every ctest label, bring the services down, and exit with ctest's status.
# Extra arguments go to ctest, e.g. scripts/test.sh -L unit  or  scripts/test.sh -R view
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/tools-install.sh
BUILD_TYPE="${BUILD_TYPE:-Release}" scripts/build.sh
scripts/services.sh up
status=0
(cd build && ctest --output-on-failure --timeout 900 "$@") || status=$?
scripts/services.sh down
exit $status
