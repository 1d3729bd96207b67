#!/usr/bin/env bash
# Local services for xbanku: Apache Kafka (KRaft, 127.0.0.1:9092) and Redis (127.0.0.1:6379).
#   scripts/services.sh up|down|status [kafka|redis]     (default: both)
# Idempotent: `up` leaves running services alone, `down` leaves no process of ours behind.
# Another set of services (scripts/test.sh starts its own, so tests never share a broker):
#   XBANKU_SERVICES_DIR  state folder: data, logs, pid files   (default .cache)
#   KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT + 1), REDIS_PORT (6379)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jars="$root/.cache/kafka/libs"  # installed once by scripts/install-deps.sh, shared by every set
cache="${XBANKU_SERVICES_DIR:-$root/.cache}"
run="$cache/run"
mkdir -p "$run"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
REDIS_PORT="${REDIS_PORT:-6379}"

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

kafka_answers() { kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 3 2>/dev/null | grep -q ' broker'; }

kafka_up() {
  if pid_alive "$run/kafka.pid" && kafka_answers; then
    echo "kafka: already up on 127.0.0.1:$KAFKA_PORT (pid $(cat "$run/kafka.pid"))"; return 0
  fi
  if ! pid_alive "$run/kafka.pid" && kafka_answers; then
    echo "kafka: a broker not started from this checkout already answers on 127.0.0.1:$KAFKA_PORT; using it"
    return 0
  fi
  local libs="$jars" data="$cache/kafka/data" logs="$cache/kafka/logs"
  if ! ls "$libs"/kafka_2.13-*.jar >/dev/null 2>&1; then
    echo "kafka: jars missing in $libs — run scripts/install-deps.sh" >&2; return 1
  fi
  mkdir -p "$data" "$logs"
  local props="$cache/kafka/server.properties"
  { sed -e "s/127.0.0.1:9092/127.0.0.1:$KAFKA_PORT/g" -e "s/127.0.0.1:9093/127.0.0.1:$KAFKA_CONTROLLER_PORT/g" \
      "$root/docker/kafka/server.properties"
    echo "log.dirs=$data"; } >"$props"
  local java_opts=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
                   "-Dkafka.logs.dir=$logs" "-Dlog4j2.configurationFile=$root/docker/kafka/log4j2.xml")
  # Format and run with the same pinned jars; formatting happens once per data folder.
  if [ ! -f "$data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool random-uuid)
    java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool format --standalone \
      -t "$cluster_id" -c "$props" >"$logs/format.log" 2>&1 \
      || { echo "kafka: storage format failed:" >&2; tail -20 "$logs/format.log" >&2; return 1; }
  fi
  nohup java "${java_opts[@]}" -cp "$libs/*" kafka.Kafka "$props" >"$logs/stdout.log" 2>&1 &
  echo $! >"$run/kafka.pid"
  for _ in $(seq 1 120); do
    if kafka_answers; then echo "kafka: up on 127.0.0.1:$KAFKA_PORT (pid $(cat "$run/kafka.pid"), log $logs/server.log)"; return 0; fi
    pid_alive "$run/kafka.pid" || break
    sleep 0.5
  done
  echo "kafka: broker did not answer a metadata request within 60 s; last lines of its log:" >&2
  tail -30 "$logs/server.log" "$logs/stdout.log" >&2 2>/dev/null || true
  return 1
}

kafka_down() {
  if pid_alive "$run/kafka.pid"; then
    local pid; pid=$(cat "$run/kafka.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    echo "kafka: stopped"
  else
    echo "kafka: not running"
  fi
  rm -f "$run/kafka.pid"
}

redis_up() {
  if pid_alive "$run/redis.pid"; then echo "redis: already up on 127.0.0.1:$REDIS_PORT"; return 0; fi
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
    echo "redis: a server not started from this checkout already answers on 127.0.0.1:$REDIS_PORT; using it"
    return 0
  fi
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --daemonize yes --pidfile "$run/redis.pid" --logfile "$cache/redis.log" --dir "$cache"
  for _ in $(seq 1 50); do
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
      echo "redis: up on 127.0.0.1:$REDIS_PORT"; return 0
    fi
    sleep 0.1
  done
  echo "redis: did not answer PING; see $cache/redis.log" >&2; return 1
}

redis_down() {
  if pid_alive "$run/redis.pid"; then
    local pid; pid=$(cat "$run/redis.pid")
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "redis: stopped"
  else
    echo "redis: not running"
  fi
  rm -f "$run/redis.pid"
}

status() {
  if pid_alive "$run/kafka.pid" && kafka_answers; then echo "kafka: up on 127.0.0.1:$KAFKA_PORT"; else echo "kafka: down"; fi
  if pid_alive "$run/redis.pid"; then echo "redis: up on 127.0.0.1:$REDIS_PORT"; else echo "redis: down"; fi
}

cmd="${1:-}"; what="${2:-all}"
case "$cmd:$what" in
  up:all) redis_up; kafka_up ;;
  up:kafka) kafka_up ;;
  up:redis) redis_up ;;
  down:all) kafka_down; redis_down ;;
  down:kafka) kafka_down ;;
  down:redis) redis_down ;;
  status:*) status ;;
  *) echo "usage: $0 up|down|status [kafka|redis]" >&2; exit 2 ;;
esac
