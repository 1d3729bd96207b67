#!/usr/bin/env bash
# What can be checked of docker/ on a machine without a Docker engine:
#   1. the build stage's CMake configuration (tests and benchmarks off) configures;
#   2. every shared library the built binary needs is provided by the runtime stage's packages
#      (or by what apt pulls in with them, or by the base image);
#   3. the runtime packages exist in this Debian release;
#   4. every variable compose.yaml gives the xbanku replicas is one xbanku reads.
# Usage: scripts/docker-check.sh [path/to/xbanku]   (default build/xbanku)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-build/xbanku}
dockerfile=docker/Dockerfile
compose=docker/compose.yaml
fail() { echo "docker-check: $*" >&2; exit 1; }
[ -x "$binary" ] || fail "no binary at $binary (build first)"

# 1. The build stage's configure step, in a scratch folder.
scratch=$(mktemp -d /tmp/xbanku-docker-check-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
# Only what the Dockerfile copies (CMakeLists.txt, cmake/, include/, src/), with its flags.
mkdir "$scratch/src"
cp -r CMakeLists.txt cmake include src "$scratch/src/"
cmake -S "$scratch/src" -B "$scratch/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DXBANKU_TESTS=OFF \
  -DXBANKU_BENCH=OFF -DXBANKU_CONSOLE=OFF \
  >"$scratch/configure.log" 2>&1 || { cat "$scratch/configure.log" >&2; fail "the build stage's cmake configure fails"; }
echo "docker-check: build stage configures from what the Dockerfile copies (tests, benchmarks, console off)"

# 2 and 3. Runtime packages: the apt-get line of the last stage.
runtime=$(awk '/^FROM debian:bookworm-slim/ {last=1} last && /apt-get install/ {grab=1} grab {print} grab && !/\\$/ {grab=0}' "$dockerfile" |
  tr ' \\' '\n\n' | grep -E '^lib|^curl$|^ca-certificates$' | sort -u)
[ -n "$runtime" ] || fail "cannot find the runtime stage's packages in $dockerfile"
for p in $runtime; do
  apt-cache show "$p" >/dev/null 2>&1 || fail "runtime package $p does not exist in this Debian release"
done
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $runtime 2>/dev/null | grep -v '^ ' | tr -d '<>' | sort -u)
base="libc6 libgcc-s1 libstdc++6 libzstd1 liblz4-1 libssl3 zlib1g"  # in bookworm-slim already
missing=0
for lib in $(ldd "$binary" | awk '/=>/ {print $3}'); do
  # dpkg knows the path the package shipped: /lib/… or /usr/lib/… (merged /usr).
  pkg=""
  for path in "$lib" "/usr$lib" "${lib#/usr}"; do
    pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  [ -n "$pkg" ] || { echo "docker-check: no package provides $lib" >&2; missing=1; continue; }
  if ! grep -qx "$pkg" <<<"$closure" && ! grep -qw "$pkg" <<<"$base"; then
    echo "docker-check: $lib comes from $pkg, which the runtime stage does not install" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] || fail "the runtime image would miss libraries"
echo "docker-check: runtime stage provides every library of $binary ($(echo $runtime | wc -w) packages)"

# 4. Environment variables of the replicas.
known=$(grep -o 'envname("[A-Z_]*")' src/app/config.cpp | cut -d'"' -f2 | sort -u)
# The lines of the x-xbanku anchor and of the services xbanku-N (a top-level key or a service
# name ends the block before).
for v in $(awk '/^[^ #]/ {top=$0; in_x=($0 ~ /^x-xbanku:/); next}
                top ~ /^services:/ && /^  [a-z0-9-]+:/ {in_x=($0 ~ /^  xbanku-[0-9]+:/); next}
                in_x' "$compose" |
           grep -oE '^\s+(XBANKU_[A-Z_]+|KAFKA_BROKERS|REDIS_URL):' | tr -d ' :' | sort -u); do
  grep -qx "$v" <<<"$known" && continue
  fail "compose.yaml sets $v, which xbanku does not read"
done
grep -q 'XBANKU_LISTEN=0.0.0.0:8080' "$dockerfile" || fail "the image must listen on all interfaces inside the container"
echo "docker-check: compose.yaml's variables are all read by xbanku"
