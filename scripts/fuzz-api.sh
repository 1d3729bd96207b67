#!/usr/bin/env bash
# Schemathesis against xbanku's /openapi.json: stateless (examples, coverage, fuzzing) and stateful
# (with the OpenAPI links the document lacks, added to a local copy). Fails on any 5xx and any answer
# the document does not describe. By default it starts its own instance on a fresh topic and, after
# fuzzing, runs the checker on that topic and --act=verify on the stopped instance.
#   scripts/fuzz-api.sh                 CI size: 40 examples per operation, about 150 s of fuzzing
#   scripts/fuzz-api.sh --long          400 examples per operation, up to 20 minutes
#   scripts/fuzz-api.sh --strict        also fail on valid requests refused / invalid ones accepted
#   scripts/fuzz-api.sh --url URL       fuzz a running instance instead (no checker, no verify)
#   scripts/fuzz-api.sh --seed N        reproduce a run
# Broker: XBANKU_TEST_BROKERS, else KAFKA_BROKERS, else 127.0.0.1:9092. Binary: XBANKU_BINARY, else
# build/xbanku. Reports (JUnit, NDJSON, the document with links): .cache/fuzz/<time>/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
args=(--profile ci)
target=(--spawn --binary "${XBANKU_BINARY:-$root/build/xbanku}"
        --brokers "${XBANKU_TEST_BROKERS:-${KAFKA_BROKERS:-127.0.0.1:9092}}")
while [ $# -gt 0 ]; do
  case "$1" in
    --long) args=(--profile long) ;;
    --strict) args+=(--strict) ;;
    --seed) args+=(--seed "$2"); shift ;;
    --url) target=(--url "$2"); shift ;;
    *) echo "usage: $0 [--long] [--strict] [--seed N] [--url URL]" >&2; exit 2 ;;
  esac
  shift
done
reports="$root/.cache/fuzz/$(date +%Y%m%d-%H%M%S)"
exec "$root/scripts/checker.sh" fuzz "${target[@]}" "${args[@]}" --report-dir "$reports"
