#!/usr/bin/env bash
# Local services for xbanku: Apache Kafka (KRaft, 127.0.0.1:9092) and Redis (127.0.0.1:6379).
# The broker also has a secured listener, SASL_SSL with SCRAM-SHA-512 on 127.0.0.1:9094, with a
# throwaway CA made here by openssl (README "Connecting to your Kafka"); its client settings are
# written to <state folder>/kafka/client-sasl-ssl-{plain,scram-sha-512}.properties
# (use with --kafka-config).
#   scripts/services.sh up|down|status [kafka|redis]     (default: both)
# Idempotent: `up` leaves running services alone, `down` leaves no process of ours behind.
# Another set of services (scripts/test.sh starts its own, so tests never share a broker):
#   XBANKU_SERVICES_DIR  state folder: data, logs, pid files   (default .cache)
#   KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT + 1), KAFKA_SASL_PORT (KAFKA_PORT + 2),
#   REDIS_PORT (6379)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jars="$root/.cache/kafka/libs"  # installed once by scripts/install-deps.sh, shared by every set
cache="${XBANKU_SERVICES_DIR:-$root/.cache}"
run="$cache/run"
mkdir -p "$run"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-$((KAFKA_PORT + 2))}"
REDIS_PORT="${REDIS_PORT:-6379}"
# The user of the secured listener (SCRAM and PLAIN): test credentials, loopback-only broker.
SCRAM_USER=xbanku-test
SCRAM_PASSWORD=xbanku-test-secret

# A throwaway CA and the broker's certificate (127.0.0.1, localhost) in a PKCS#12 keystore, made
# once per state folder; clients trust ca.pem. Nothing here is a secret worth keeping.
kafka_tls() {
  local tls="$1"
  [ -f "$tls/broker.p12" ] && return 0
  mkdir -p "$tls"
  (
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=xbanku test CA" \
      -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile broker.ext -out broker.pem 2>/dev/null
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
      -passout pass:xbanku-keystore -out broker.p12.tmp
    # A CA the broker does not use: what an "untrusted certificate" looks like to a client.
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=some other CA" \
      -keyout other-ca.key -out other-ca.pem 2>/dev/null
    mv broker.p12.tmp broker.p12
  ) || { echo "kafka: could not make the test CA in $tls" >&2; return 1; }
}

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
  local props="$cache/kafka/server.properties" tls="$cache/kafka/tls"
  kafka_tls "$tls" || return 1
  # docker/kafka/server.properties, then the secured listener (later keys win).
  { sed -e "s/127.0.0.1:9092/127.0.0.1:$KAFKA_PORT/g" -e "s/127.0.0.1:9093/127.0.0.1:$KAFKA_CONTROLLER_PORT/g" \
      "$root/docker/kafka/server.properties"
    echo "log.dirs=$data"
    cat <<PROPS
# scripts/services.sh: SASL_SSL (SCRAM-SHA-512) beside the plain listener, loopback only.
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
# SCRAM-SHA-512 for clients that can (Java; librdkafka >= 2.6.1), PLAIN over TLS for Debian's
# librdkafka 2.0.2, whose SCRAM proof Kafka 4.x rejects (confluentinc/librdkafka#4895).
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SCRAM_USER="$SCRAM_PASSWORD";
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/broker.p12
ssl.keystore.password=xbanku-keystore
ssl.key.password=xbanku-keystore
ssl.client.auth=none
PROPS
  } >"$props"
  # What a client of the secured listener needs (xbanku --kafka-config, kcat -F): PLAIN for
  # librdkafka 2.0.2, SCRAM-SHA-512 for a librdkafka >= 2.6.1.
  local mechanism
  for mechanism in PLAIN SCRAM-SHA-512; do
    cat >"$cache/kafka/client-sasl-ssl-${mechanism,,}.properties" <<PROPS
# The secured listener of scripts/services.sh's broker:
#   xbanku --brokers 127.0.0.1:$KAFKA_SASL_PORT --kafka-config <this file>
security.protocol=SASL_SSL
sasl.mechanism=$mechanism
sasl.username=$SCRAM_USER
sasl.password=$SCRAM_PASSWORD
ssl.ca.location=$tls/ca.pem
PROPS
  done
  local java_opts=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
                   "-Dkafka.logs.dir=$logs" "-Dlog4j2.configurationFile=$root/docker/kafka/log4j2.xml")
  # Format and run with the same pinned jars; formatting happens once per data folder.
  if [ ! -f "$data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool random-uuid)
    # The SCRAM user goes into the metadata log at format time.
    java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool format --standalone \
      -t "$cluster_id" -c "$props" \
      --add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" \
      >"$logs/format.log" 2>&1 \
      || { echo "kafka: storage format failed:" >&2; tail -20 "$logs/format.log" >&2; return 1; }
    touch "$data/.scram-user"
  fi
  nohup java "${java_opts[@]}" -cp "$libs/*" kafka.Kafka "$props" >"$logs/stdout.log" 2>&1 &
  echo $! >"$run/kafka.pid"
  for _ in $(seq 1 120); do
    if kafka_answers; then
      echo "kafka: up on 127.0.0.1:$KAFKA_PORT, SASL_SSL on 127.0.0.1:$KAFKA_SASL_PORT (pid $(cat "$run/kafka.pid"), log $logs/server.log)"
      # A data folder formatted before the secured listener existed has no SCRAM user yet.
      if [ ! -f "$data/.scram-user" ]; then
        java -Xmx256m -cp "$libs/*" "-Dkafka.logs.dir=$logs" "-Dlog4j2.configurationFile=$root/docker/kafka/log4j2.xml" \
          kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter \
          --add-config "SCRAM-SHA-512=[password=$SCRAM_PASSWORD]" --entity-type users \
          --entity-name "$SCRAM_USER" >"$logs/scram.log" 2>&1 \
          || { echo "kafka: could not create the SCRAM user; see $logs/scram.log" >&2; return 1; }
        touch "$data/.scram-user"
      fi
      return 0
    fi
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
