#!/usr/bin/env bash
# A bounded soak: a fixed mixed rate (commands, reads, connection churn) against one instance it
# starts on a fresh topic, printing each interval's RSS, open descriptors, p50/p99 latency,
# projector lag (xbanku_consumer_lag) and /readyz, then the checker's verdict on the topic.
#   scripts/soak.sh            10 minutes at 100 operations/s, a row per minute
#   scripts/soak.sh --ci       90 s at 50 operations/s, a row every 15 s
# Further arguments go to `python -m xbanku_check soak` (--rate, --duration, --interval, --rss-slack-mb...).
# Broker: XBANKU_TEST_BROKERS, else KAFKA_BROKERS, else 127.0.0.1:9092. Binary: XBANKU_BINARY, else build/xbanku.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
size=(--rate 100 --duration 600 --interval 60)
if [ "${1:-}" = "--ci" ]; then size=(--rate 50 --duration 90 --interval 15); shift; fi
exec "$root/scripts/checker.sh" soak --binary "${XBANKU_BINARY:-$root/build/xbanku}" \
  --brokers "${XBANKU_TEST_BROKERS:-${KAFKA_BROKERS:-127.0.0.1:9092}}" "${size[@]}" "$@"
