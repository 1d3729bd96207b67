#!/usr/bin/env bash
# docker/compose.yaml for real, with podman: build the images, bring the broker, Redis and three
# xbanku replicas up on a compose network, check the images (non-root, healthchecks, sizes),
# run a workload through the three published ports (scripts/docker-workload.py: create,
# deposit, transfer; balances through every replica), crash one replica (its restart policy
# brings it back), kill it (it stays down: the others take its partitions over), start it
# again, check that nothing acknowledged was lost, and bring everything down leaving no
# container, volume or network of the run behind. Exits non-zero on any failure.
#
# Needs root on Debian 12 (scripts/docker-install.sh installs podman, podman-compose, ...);
# without an image registry the debian:bookworm(-slim) bases are made by scripts/docker-base.sh.
# Takes 2-4 minutes with the images built; a first build adds about 8 minutes on 2 lightly
# loaded cores, and over 20 when another C++ build shares them (the builds run with nice 19).
# Environment:
#   XBANKU_COMPOSE_PROJECT  compose project name (default xbanku-test: never a user's "xbanku")
#   XBANKU_PORT_1..3        published ports (default 8081-8083 when free, else free ones)
#   XBANKU_DOCKER_KEEP=1    leave the stack up at the end (for a look; down it yourself)
#   XBANKU_DOCKER_RESULTS   where the figures go as JSON (default .cache/docker-test/result.json)
#   BUILD_CA_CERTS          PEM of a TLS-inspecting proxy's CA for the broker's Maven build
#                           (default: the certificates in /usr/local/share/ca-certificates)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
project="${XBANKU_COMPOSE_PROJECT:-xbanku-test}"
results="${XBANKU_DOCKER_RESULTS:-$root/.cache/docker-test/result.json}"
mkdir -p "$(dirname "$results")"
logs="$(dirname "$results")"
say() { echo "docker-test: $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

scripts/docker-install.sh
# podman settings for this kind of machine (runc, ulimits within the hard limits), not /etc's.
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/docker/podman/containers.conf}"
export BUILDAH_FORMAT=docker  # keep HEALTHCHECK in the images (the OCI format drops it)
if [ -z "${BUILD_CA_CERTS+x}" ]; then
  BUILD_CA_CERTS="$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)"
fi
export BUILD_CA_CERTS
scripts/docker-base.sh
scripts/docker-secrets.sh

# Ports: the defaults when all three are free, else three free ones.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "${XBANKU_PORT_1:-}" ]; then
  if port_free 8081 && port_free 8082 && port_free 8083; then
    XBANKU_PORT_1=8081 XBANKU_PORT_2=8082 XBANKU_PORT_3=8083
  else
    read -r XBANKU_PORT_1 XBANKU_PORT_2 XBANKU_PORT_3 < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
  fi
fi
export XBANKU_PORT_1 XBANKU_PORT_2 XBANKU_PORT_3
ports="$XBANKU_PORT_1,$XBANKU_PORT_2,$XBANKU_PORT_3"

compose=(podman-compose -p "$project" -f docker/compose.yaml)
label="io.podman.compose.project=$project"
leftovers() {
  { podman ps -a -q --filter "label=$label"; podman volume ls -q --filter "label=$label"
    podman network ls -q --filter "label=$label"; } 2>/dev/null
}
down() {  # podman-compose 1.0.3's down keeps the network: remove it by the project's label
  "${compose[@]}" down -v >"$logs/down.log" 2>&1 || true
  podman ps -a -q --filter "label=$label" | xargs -r podman rm -f >/dev/null 2>&1 || true
  podman volume ls -q --filter "label=$label" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
  podman network ls -q --filter "label=$label" | xargs -r podman network rm -f >/dev/null 2>&1 || true
}
save_logs() {  # every container's log into $logs; its last lines too when asked
  for c in $(podman ps -a --format '{{.Names}}' --filter "label=$label" 2>/dev/null); do
    podman logs -t "$c" >"$logs/$c.log" 2>&1 || true
    if [ "${1:-}" = show ]; then echo "--- $c (last lines; whole log in $logs/$c.log)"; tail -15 "$logs/$c.log"; fi
  done
}
status=1
finish() {
  if [ "$status" != 0 ]; then save_logs show || true; else save_logs || true; fi
  if [ "${XBANKU_DOCKER_KEEP:-0}" = 1 ]; then
    say "kept up (project $project): podman-compose -p $project -f docker/compose.yaml down -v"
    return
  fi
  local t; t=$(now)
  down
  say "down in $(since "$t") s"
  if [ -n "$(leftovers)" ]; then
    say "FAIL: left behind: $(leftovers | tr '\n' ' ')"; status=1
  else
    say "no container, volume or network of project $project is left"
  fi
}
trap 'finish; exit $status' EXIT
trap 'exit 1' INT TERM  # through the EXIT trap: down, even when interrupted
down  # whatever an interrupted run of this project left

# 1. Images, built by podman-compose from the compose file's build sections.
t=$(now)
nice -n 19 "${compose[@]}" --podman-build-args=--pull=never build >"$logs/build.log" 2>&1 ||
  { tail -40 "$logs/build.log"; say "FAIL: build"; exit 1; }
# podman-compose 1.0.3 goes on (and exits 0) when one image fails to build.
if grep -q '^exit code: [1-9]' "$logs/build.log"; then
  grep -B30 -m1 '^exit code: [1-9]' "$logs/build.log"; say "FAIL: an image did not build (log: $logs/build.log)"; exit 1
fi
for image in xbanku:local xbanku-kafka:4.1.1 xbanku-redis:7.0; do
  podman image exists "$image" || { say "FAIL: no image $image after the build"; exit 1; }
done
build_s=$(since "$t")
say "images built (or found in the cache) in $build_s s"

# 2. Up, and time to every replica ready.
t=$(now)
"${compose[@]}" up -d >"$logs/up.log" 2>&1 || { tail -40 "$logs/up.log"; say "FAIL: up"; exit 1; }
up_s=$(since "$t")
ready_all() {
  for p in ${ports//,/ }; do
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "127.0.0.1:$p/readyz")" = 200 ] || return 1
  done
}
c_of() { podman ps -q --filter "label=$label" --filter "label=com.docker.compose.service=$1"; }
kafka_s=""
deadline=$(( $(date +%s) + 240 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  kafka=$(c_of kafka)
  [ -n "$kafka" ] || { say "FAIL: no broker container (see $logs/up.log)"; exit 1; }
  if [ -z "$kafka_s" ] && podman healthcheck run "$kafka" >/dev/null 2>&1; then kafka_s=$(since "$t"); fi
  ready_all && break
  sleep 0.25
done
ready_all || { say "FAIL: the replicas were not ready within 240 s"; exit 1; }
ready_s=$(since "$t")
restarts=0
for s in xbanku-1 xbanku-2 xbanku-3; do
  restarts=$((restarts + $(podman inspect --format '{{.RestartCount}}' "$(c_of "$s")")))
done
say "up in $up_s s; broker healthy ${kafka_s:-?} s and every replica ready $ready_s s after 'up' started"
say "replicas restarted $restarts times while the broker came up (podman-compose 1.0.3 does not wait for service_healthy; their restart policy does)"

# 3. The images: non-root, healthchecks answering, sizes.
for s in kafka redis xbanku-1 xbanku-2 xbanku-3; do
  c=$(c_of "$s")
  [ -n "$c" ] || { say "FAIL: no container for $s"; exit 1; }
  uid=$(podman exec "$c" id -u)
  [ "$uid" != 0 ] || { say "FAIL: $s runs as root"; exit 1; }
  # podman schedules healthchecks with systemd timers; without systemd run them here.
  ok=0
  for _ in $(seq 1 30); do
    if podman healthcheck run "$c" >/dev/null 2>&1; then ok=1; break; fi
    sleep 1
  done
  [ "$ok" = 1 ] || { say "FAIL: $s's healthcheck does not pass"; exit 1; }
  say "$s: uid $uid, healthcheck passes ($(podman inspect --format '{{.State.Health.Status}}' "$c"))"
done
size() { podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f", $1 / 1e6}'; }
sizes="xbanku:local $(size xbanku:local) MB, xbanku-kafka:4.1.1 $(size xbanku-kafka:4.1.1) MB, xbanku-redis:7.0 $(size xbanku-redis:7.0) MB, base debian:bookworm-slim $(size docker.io/library/debian:bookworm-slim) MB"
say "image sizes: $sizes"

# 4. A token, when the binary can mint one (authentication configured in compose.yaml).
token=""
if out=$(timeout 20 podman exec "$(c_of xbanku-1)" xbanku token --sub docker-test --scope admin --ttl 1h 2>/dev/null) &&
   [ -n "$out" ]; then
  token=$(tail -1 <<<"$out" | tr -d '[:space:]')
  say "minted a token with 'xbanku token'; requests carry Authorization: Bearer"
else
  say "this xbanku cannot mint tokens ('xbanku token' failed): requests carry no Authorization"
fi

# 5. The workload, a crash (restart policy), a kill (stays down), a start.
victim=$(c_of xbanku-2)
t=$(now)
wl_status=0
python3 scripts/docker-workload.py --ports "$ports" --victim 1 --token "$token" \
  --crash-cmd "kill -KILL \$(podman inspect --format '{{.State.Pid}}' $victim)" \
  --kill-cmd "podman stop --time 0 $victim >/dev/null" \
  --restart-cmd "podman start $victim >/dev/null" >"$results.workload" || wl_status=$?
workload_s=$(since "$t")

# 6. Down, and what it took.
python3 - "$results.workload" "$results" <<PY
import json, sys
w = json.load(open(sys.argv[1]))
w.update({"project": "$project", "build_s": $build_s, "up_s": $up_s, "start_to_ready_s": $ready_s,
          "broker_healthy_s": ${kafka_s:-None}, "replica_restarts_at_start": $restarts,
          "workload_s": $workload_s, "image_sizes": "$sizes"})
json.dump(w, open(sys.argv[2], "w"), indent=2)
for k in ("crash", "kill", "restart"):
    if k in w:
        print(f"docker-test: {k}: " + ", ".join(f"{n} {v}" for n, v in w[k].items() if not isinstance(v, dict)))
print(f"docker-test: {w['commands']} in {w['load_s']} s of load ({w['commands_per_s']} acknowledged/s); "
      f"{w['accounts']} accounts agree through every replica: {w['ok']}")
for f in w["failures"]:
    print(f"docker-test: FAIL: {f}")
PY
[ "$wl_status" = 0 ] || exit 1
status=0
say "ok; figures in $results"
