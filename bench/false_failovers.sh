#!/usr/bin/env bash
# False failovers under load (issue 15, detection): three instances in one group with a given
# --session-timeout-ms, each saturated by wrk (256 connections of deposits spread over 1,000
# accounts) for the given time; nobody dies, so every rebalance after the start is a false
# failover (a member the broker thought dead). Prints one line per timeout (revocations
# logged by the members after the start: 0 means none):
#   bench/false_failovers.sh [SECONDS=120] [TIMEOUT_MS ...=3000 6000]
# Needs scripts/services.sh up (the broker allows sessions down to 3 s: docker/kafka/
# server.properties) and wrk; loopback only, bounded by SECONDS per timeout.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-120}"
shift || true
timeouts=("$@")
[[ ${#timeouts[@]} -gt 0 ]] || timeouts=(3000 6000)
bin="${XBANKU_BINARY:-$root/build/xbanku}"
work="$(mktemp -d /tmp/xbanku-false-failovers.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for timeout in "${timeouts[@]}"; do
  topic="xbanku-false-failovers-$timeout-$$"
  ports=()
  pids=()
  for i in 0 1 2; do
    port=$(free_port)
    ports+=("$port")
    "$bin" --act=serve --topic "$topic" --group "$topic" --data-dir "$work/$timeout-$i" \
      --listen "127.0.0.1:$port" --instance-id "ff-$i" --session-timeout-ms "$timeout" \
      --access-log false >"$work/$timeout-$i.log" 2>&1 &
    pids+=("$!")
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 600); do
      curl -sf "127.0.0.1:$port/readyz" >/dev/null && break
      sleep 0.1
    done
  done
  sleep 2  # the last rebalance of the start settles
  : >"$work/accounts.txt"
  for _ in $(seq 1000); do
    curl -s -XPOST "127.0.0.1:${ports[0]}/accounts" -H 'content-type: application/json' \
      -d '{"name":"ff"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' \
      >>"$work/accounts.txt"
  done
  before=$(cat "$work/$timeout-"*.log | grep -c "revoking partitions" || true)
  wrks=()
  for port in "${ports[@]}"; do
    wrk -t1 -c256 -d"${seconds}s" -s "$root/bench/tools/deposit_spread.lua" "http://127.0.0.1:$port" \
      -- "$work/accounts.txt" >"$work/wrk-$port.txt" 2>&1 &
    wrks+=("$!")
  done
  wait "${wrks[@]}"
  after=$(cat "$work/$timeout-"*.log | grep -c "revoking partitions" || true)
  rate=$(awk '/Requests\/sec/ {s += $2} END {printf "%.0f", s}' "$work"/wrk-*.txt)
  # Every member logs its own revocations in a rebalance: 0 means no false failover at all.
  echo "session timeout ${timeout} ms: $((after - before)) partition revocations in ${seconds} s" \
    "of saturating load (${rate} deposits/s over the three instances; 0 = no false failover)"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
done
