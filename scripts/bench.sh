#!/usr/bin/env bash
# End-to-end benchmarks, each figure beside its physical limit measured in the same run:
#   scripts/bench.sh [--records N] [--accounts A]   (default 1,000,000 records over
#                                                    min(N/10, 100,000) accounts)
#   scripts/bench.sh --scale [--max-records N]      catch-up rate, peak RSS and restart-to-ready
#                                                    at 100k, 1M and 10M records (1M accounts at
#                                                    the largest size): bench/results/scale.json
# Brings Kafka and Redis up itself, builds Release into build/, uses fresh topics, writes every
# figure to bench/results/latest.json (with the commit and the machine) and draws
# bench/results/bench.png (matplotlib, from PyPI into .cache/bench-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
records=1000000
accounts=""
scale=0
max_records=10000000
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records="$2"; shift 2 ;;
    --accounts) accounts="$2"; shift 2 ;;
    --scale) scale=1; shift ;;
    --max-records) max_records="$2"; shift 2 ;;
    *) echo "usage: $0 [--records N] [--accounts A] | --scale [--max-records N]" >&2; exit 2 ;;
  esac
done
accounts=${accounts:-$(( records / 10 < 100000 ? records / 10 : 100000 ))}

scripts/install-deps.sh
scripts/tools-install.sh
BUILD_TYPE=Release scripts/build.sh
scripts/services.sh up
bin=$root/build
plot_py=$root/.cache/bench-venv/bin/python
if ! "$plot_py" -c 'import matplotlib' 2>/dev/null; then
  python3 -m venv "$root/.cache/bench-venv"
  "$root/.cache/bench-venv/bin/pip" install -q --disable-pip-version-check 'matplotlib==3.10.8'
fi
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
# A catch-up from offset 0 into a fresh store: name, records, extra serve args. Sets catchup_json
# (bench/catchup_watch.py's JSON plus peak_rss_mb) and leaves the service running (svc_pid,
# svc_port). Not called in $(...): the service's pid must stay this shell's child.
catchup() {
  local name=$1 n=$2; shift 2
  local t0; t0=$(python3 -c 'import time; print(time.time())')
  start_service "$name" "$@"
  local watch; watch=$(python3 bench/catchup_watch.py "$svc_port" "$n" "$t0")
  catchup_json=$(python3 -c 'import json,sys; w=json.loads(sys.argv[1]); w["peak_rss_mb"]=float(sys.argv[2]); print(json.dumps(w))' \
    "$watch" "$(peak_rss_mb "$svc_pid")")
}
# Waits until the service (svc_pid) owes nothing (settle_s: the catch-up's follow-ups folded after
# ready), stops it, starts it again on the same store and sets restart_s to its seconds to ready;
# stops it again. name, port.
restart_to_ready() {
  local name=$1 port=$2
  settle_s=$(python3 bench/catchup_watch.py quiet "$port")
  kill -TERM "$svc_pid"; wait "$svc_pid" || true
  local t0; t0=$(now)
  "$bin/xbanku" --act=serve --topic "$topic" --group "bench-$name-$run_id" --data-dir "$work/$name" \
    --listen "127.0.0.1:$port" --log-level warn >>"$work/$name.log" 2>&1 &
  svc_pid=$!; pids+=("$svc_pid"); wait_ready "$port" 300
  restart_s=$(elapsed "$t0" "$(now)")
  kill -TERM "$svc_pid"; wait "$svc_pid" || true
}

if [ "$scale" = 1 ]; then
  # How the cost grows as the store outgrows the block cache (32 MiB) and the account cache.
  rows=()
  for n in 100000 1000000 10000000; do
    [ "$n" -le "$max_records" ] || continue
    a=$(( n / 10 < 1000000 ? n / 10 : 1000000 ))
    topic="xbanku-scale-$n-$run_id"
    echo "== scale: $n records over $a accounts"
    t0=$(now)
    produce=$("$bin/xbanku_kafka_baseline" produce --topic "$topic" --records "$n" --accounts "$a")
    echo "pre-produced in $(elapsed "$t0" "$(now)") s: $produce"
    catchup "scale-$n" "$n"; run=$catchup_json
    echo "catch-up: $run"
    restart_to_ready "scale-$n" "$svc_port"; restart=$restart_s
    echo "follow-ups folded ${settle_s} s after ready; restart to ready: $restart s"
    du_mb=$(du -sm "$work/scale-$n" | cut -f1)
    rm -rf "${work:?}/scale-$n"
    rows+=("$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(records=int(sys.argv[2]), accounts=int(sys.argv[3]), restart_to_ready_s=float(sys.argv[4]), store_mb=int(sys.argv[5]), raw_produce_per_s=json.loads(sys.argv[6])["records_per_s"], follow_ups_after_ready_s=float(sys.argv[7])); print(json.dumps(r))' \
      "$run" "$n" "$a" "$restart" "$du_mb" "$produce" "$settle_s")")
  done
  mkdir -p bench/results
  printf '%s\n' "${rows[@]}" >"$work/scale.jsonl"
  "$plot_py" bench/report.py scale "$work/scale.jsonl"
  "$plot_py" bench/report.py plot
  exit 0
fi


echo "== 1. pre-produce $records records over $accounts accounts (raw producer = ingest limit)"
produce=$("$bin/xbanku_kafka_baseline" produce --topic "$topic" --records "$records" --accounts "$accounts")
echo "$produce"

echo "== 2. raw consume (no parsing) = projector limit"
consume=$("$bin/xbanku_kafka_baseline" consume --topic "$topic")
echo "$consume"

echo "== 3. projector catch-up from offset 0 into a fresh store"
catchup plain "$records"; plain=$catchup_json
plain_pid=$svc_pid; plain_port=$svc_port
echo "$plain"

echo "== 3b. the same with the Redis mirror on"
catchup mirror "$records" --redis redis://127.0.0.1:6379/15; mirror=$catchup_json
kill -TERM "$svc_pid"; wait "$svc_pid" || true
echo "$mirror"

echo "== 4. command ingest over WebSocket and HTTP, read-your-writes and wait=false; 5. latency"
# 1,000 accounts in id order: random ids, so every partition has its share.
curl -fs "127.0.0.1:$plain_port/accounts?limit=1000" |
  python3 -c 'import json,sys; [print(a["id"]) for a in json.load(sys.stdin)["accounts"]]' >"$work/accounts.txt"
# 256 commands in flight over 8 sockets (bench/tools/ws_load.cpp).
ws_ingest=$("$bin/xbanku_ws_load" throughput --port "$plain_port" --accounts "$work/accounts.txt" --seconds 10)
echo "WebSocket, read-your-writes: $ws_ingest"
ws_ingest_nowait=$("$bin/xbanku_ws_load" throughput --port "$plain_port" --accounts "$work/accounts.txt" --seconds 10 --nowait)
echo "WebSocket, wait=false: $ws_ingest_nowait"
ws_latency=$("$bin/xbanku_ws_load" latency --port "$plain_port" --accounts "$work/accounts.txt" --rate 1000 --seconds 10)
echo "$ws_latency"
# Its limit: produce -> consume of the same kind of record at the same rate, with the service's
# client settings, on a topic of its own (the service does not project it).
raw_latency=$("$bin/xbanku_kafka_baseline" latency --topic "$topic-latency" --rate 1000 --seconds 10)
echo "$raw_latency"
account=$(head -1 "$work/accounts.txt")
# 256 connections, each with one request in flight, spread over the 1,000 accounts.
wrk_rate() { awk '/Requests\/sec/ {print $2}'; }
http_ingest=$(wrk -t2 -c256 -d10s -s bench/tools/deposit_spread.lua "http://127.0.0.1:$plain_port" \
  -- "$work/accounts.txt" | tee "$work/wrk-ingest.txt" | wrk_rate)
echo "HTTP ingest, read-your-writes: $http_ingest commands/s ($(grep -c 'Non-2xx' "$work/wrk-ingest.txt" || true) lines of non-2xx)"
http_ingest_nowait=$(wrk -t2 -c256 -d10s -s bench/tools/deposit_spread.lua "http://127.0.0.1:$plain_port" \
  -- "$work/accounts.txt" wait=false | tee "$work/wrk-nowait.txt" | wrk_rate)
echo "HTTP ingest, wait=false: $http_ingest_nowait commands/s"
for f in wrk-ingest wrk-nowait; do
  if grep -q 'Non-2xx' "$work/$f.txt"; then echo "$f: $(grep 'Non-2xx' "$work/$f.txt")" >&2; fi
done

echo "== 6. queries: wrk GET /accounts/{id} beside redis-benchmark GET"
get_rps=$(wrk -t2 -c64 -d10s "http://127.0.0.1:$plain_port/accounts/$account" | awk '/Requests\/sec/ {print $2}')
redis_rps=$(redis-benchmark -h 127.0.0.1 -p 6379 -t get -n 300000 -c 64 --csv | awk -F'"' '$2 == "GET" {print $4}')
echo "GET $get_rps req/s, redis-benchmark GET $redis_rps req/s"

echo "== 7. restart-to-ready with the full store"
svc_pid=$plain_pid
restart_to_ready plain "$plain_port"
echo "restart to ready: $restart_s s"

mkdir -p bench/results
"$plot_py" bench/report.py latest --records "$records" --accounts "$accounts" --produce "$produce" \
  --consume "$consume" --plain "$plain" --mirror "$mirror" --ws "$ws_ingest" --ws-nowait "$ws_ingest_nowait" \
  --ws-latency "$ws_latency" --raw-latency "$raw_latency" --http "$http_ingest" \
  --http-nowait "$http_ingest_nowait" --get "$get_rps" --redis-get "$redis_rps" --restart "$restart_s"
"$plot_py" bench/report.py plot
