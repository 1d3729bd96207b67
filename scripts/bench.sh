#!/usr/bin/env bash
# End-to-end benchmarks, each figure beside its physical limit measured in the same run:
#   scripts/bench.sh [--records N]        (default 1,000,000)
# Brings Kafka and Redis up itself, builds Release into build/, uses a fresh topic, and
# writes every figure to bench/results/latest.json (with the commit and the machine).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
records=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records="$2"; shift 2 ;;
    *) echo "usage: $0 [--records N]" >&2; exit 2 ;;
  esac
done
accounts=$(( records / 10 < 100000 ? records / 10 : 100000 ))

scripts/install-deps.sh
scripts/tools-install.sh
BUILD_TYPE=Release scripts/build.sh
scripts/services.sh up
bin=$root/build
py=$root/.cache/venv/bin/python
run_id=$(date +%s)
topic="xbanku-bench-$run_id"
work=$(mktemp -d /tmp/xbanku-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

json_field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($2 - $1, 3))"; }
wait_ready() {  # port, timeout seconds
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fs "127.0.0.1:$1/readyz" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "service on $1 not ready" >&2; return 1; }
    sleep 0.05
  done
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_service() {  # name, extra args... ; sets svc_pid, svc_port
  local name=$1; shift
  svc_port=$(free_port)
  "$bin/xbanku" --act=serve --topic "$topic" --group "bench-$name-$run_id" --data-dir "$work/$name" \
    --listen "127.0.0.1:$svc_port" --log-level warn "$@" >"$work/$name.log" 2>&1 &
  svc_pid=$!; pids+=("$svc_pid")
}
peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

echo "== 1. pre-produce $records records over $accounts accounts (raw producer = ingest limit)"
produce=$("$bin/xbanku_kafka_baseline" produce --topic "$topic" --records "$records" --accounts "$accounts")
echo "$produce"

echo "== 2. raw consume (no parsing) = projector limit"
consume=$("$bin/xbanku_kafka_baseline" consume --topic "$topic")
echo "$consume"

echo "== 3. projector catch-up from offset 0 into a fresh store"
t0=$(now); start_service plain; wait_ready "$svc_port" 1800; t1=$(now)
catchup_s=$(elapsed "$t0" "$t1")
rss=$(peak_rss_mb "$svc_pid")
plain_pid=$svc_pid; plain_port=$svc_port
echo "catch-up ${catchup_s}s, peak RSS ${rss} MB"

echo "== 3b. the same with the Redis mirror on"
t0=$(now); start_service mirror --redis redis://127.0.0.1:6379/15; wait_ready "$svc_port" 1800; t1=$(now)
catchup_mirror_s=$(elapsed "$t0" "$t1")
kill -TERM "$svc_pid"; wait "$svc_pid" || true

echo "== 4. command ingest and 5. latency over WebSocket; HTTP ingest with wrk"
curl -fs "127.0.0.1:$plain_port/accounts?limit=1000" |
  python3 -c 'import json,sys; [print(a["id"]) for a in json.load(sys.stdin)["accounts"]]' >"$work/accounts.txt"
ws_ingest=$("$py" bench/ws_load.py "$plain_port" "$work/accounts.txt" throughput 10)
echo "$ws_ingest"
ws_latency=$("$py" bench/ws_load.py "$plain_port" "$work/accounts.txt" latency 1000 10)
echo "$ws_latency"
# Its limit: produce -> consume of the same kind of record at the same rate, with the service's
# client settings, on a topic of its own (the service does not project it).
raw_latency=$("$bin/xbanku_kafka_baseline" latency --topic "$topic-latency" --rate 1000 --seconds 10)
echo "$raw_latency"
account=$(head -1 "$work/accounts.txt")
cat >"$work/deposit.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"amount":1}'
wrk.headers["Content-Type"] = "application/json"
LUA
http_ingest=$(wrk -t2 -c64 -d10s -s "$work/deposit.lua" "http://127.0.0.1:$plain_port/accounts/$account/deposit" |
  awk '/Requests\/sec/ {print $2}')
echo "HTTP ingest: $http_ingest commands/s"

echo "== 6. queries: wrk GET /accounts/{id} beside redis-benchmark GET"
get_rps=$(wrk -t2 -c64 -d10s "http://127.0.0.1:$plain_port/accounts/$account" | awk '/Requests\/sec/ {print $2}')
redis_rps=$(redis-benchmark -h 127.0.0.1 -p 6379 -t get -n 300000 -c 64 --csv | awk -F'"' '$2 == "GET" {print $4}')
echo "GET $get_rps req/s, redis-benchmark GET $redis_rps req/s"

echo "== 7. restart-to-ready with the full store"
kill -TERM "$plain_pid"; wait "$plain_pid" || true
t0=$(now)
"$bin/xbanku" --act=serve --topic "$topic" --group "bench-plain-$run_id" --data-dir "$work/plain" \
  --listen "127.0.0.1:$plain_port" --log-level warn >>"$work/plain.log" 2>&1 &
pids+=("$!"); wait_ready "$plain_port" 300; t1=$(now)
restart_s=$(elapsed "$t0" "$t1")
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" || true

mkdir -p bench/results
python3 - "$records" "$produce" "$consume" "$catchup_s" "$catchup_mirror_s" "$rss" "$ws_ingest" "$ws_latency" \
  "$http_ingest" "$get_rps" "$redis_rps" "$restart_s" "$raw_latency" <<'PY'
import json, os, subprocess, sys
(records, produce, consume, catchup, catchup_mirror, rss, ws_ingest, ws_latency, http_ingest, get_rps,
 redis_rps, restart, raw_latency) = sys.argv[1:]
records = int(records); produce = json.loads(produce); consume = json.loads(consume)
ws_ingest = json.loads(ws_ingest); ws_latency = json.loads(ws_latency); raw_latency = json.loads(raw_latency)
projector = records / float(catchup); projector_mirror = records / float(catchup_mirror)
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
r = {
  "commit": commit, "machine": {"cores": os.cpu_count(), "model": model}, "records": records,
  "raw_produce_per_s": produce["records_per_s"], "raw_consume_per_s": consume["records_per_s"],
  "projector_per_s": round(projector), "projector_ratio": round(projector / consume["records_per_s"], 3),
  "projector_mirror_per_s": round(projector_mirror),
  "projector_mirror_ratio": round(projector_mirror / consume["records_per_s"], 3),
  "ws_ingest_per_s": ws_ingest["commands_per_s"],
  "ws_ingest_ratio": round(ws_ingest["commands_per_s"] / produce["records_per_s"], 3),
  "http_ingest_per_s": float(http_ingest),
  "http_ingest_ratio": round(float(http_ingest) / produce["records_per_s"], 3),
  "latency_at_1000_per_s_ms": {k: ws_latency[k] for k in ("p50_ms", "p99_ms", "p999_ms")},
  "raw_latency_at_1000_per_s_ms": {k: raw_latency[k] for k in ("p50_ms", "p99_ms", "p999_ms")},
  # Like the other ratios, limit over figure for "lower is better": 1.0 = at the limit.
  "latency_p99_ratio": round(raw_latency["p99_ms"] / ws_latency["p99_ms"], 3),
  "get_per_s": float(get_rps), "redis_get_per_s": float(redis_rps),
  "get_ratio": round(float(get_rps) / float(redis_rps), 3),
  "peak_rss_mb_after_catchup": float(rss), "restart_to_ready_s": float(restart),
  "not_measured": [],
}
json.dump(r, open("bench/results/latest.json", "w"), indent=2)
rows = [
  ("projector catch-up", f"{r['projector_per_s']:,} rec/s", f"raw consume {r['raw_consume_per_s']:,.0f}", r["projector_ratio"]),
  ("  with Redis mirror", f"{r['projector_mirror_per_s']:,} rec/s", f"raw consume {r['raw_consume_per_s']:,.0f}", r["projector_mirror_ratio"]),
  ("ingest, WebSocket 256 in flight", f"{r['ws_ingest_per_s']:,} cmd/s", f"raw produce {r['raw_produce_per_s']:,.0f}", r["ws_ingest_ratio"]),
  ("ingest, HTTP wrk -c64", f"{r['http_ingest_per_s']:,.0f} cmd/s", f"raw produce {r['raw_produce_per_s']:,.0f}", r["http_ingest_ratio"]),
  ("latency at 1,000 cmd/s p50/p99/p99.9", "{p50_ms}/{p99_ms}/{p999_ms} ms".format(**ws_latency),
   "raw produce->consume {p50_ms}/{p99_ms}/{p999_ms}".format(**raw_latency), f"{r['latency_p99_ratio']} (p99)"),
  ("GET /accounts/{id}", f"{r['get_per_s']:,.0f} req/s", f"redis-benchmark GET {r['redis_get_per_s']:,.0f}", r["get_ratio"]),
  ("peak RSS after catch-up", f"{r['peak_rss_mb_after_catchup']} MB", "", ""),
  ("restart to ready (full store)", f"{r['restart_to_ready_s']} s", "", ""),
]
print(f"\n{'figure':40} {'xbanku':>22}  {'limit (same run)':>28}  ratio")
for name, value, limit, ratio in rows:
    print(f"{name:40} {value:>22}  {limit:>28}  {ratio}")
print("\nwritten to bench/results/latest.json")
PY
