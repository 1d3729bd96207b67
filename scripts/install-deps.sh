#!/usr/bin/env bash
# Installs what xbanku needs on a fresh Debian 12 machine, and nothing twice:
# Debian packages (toolchain, libraries, Redis, kcat, wrk, Node.js and npm for the web console's
# build) and the Kafka broker's jars (Maven). The browser test's tools (chromium, Playwright):
# scripts/browser-test-install.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev
  librdkafka-dev librocksdb-dev libhiredis-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libspdlog-dev libfmt-dev libcli11-dev
  redis-server redis-tools kcat wrk curl openssl clang-format
  openjdk-17-jre-headless maven python3-venv
  nodejs npm
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Java and Maven may come from outside apt (e.g. a Temurin JDK on PATH): accept those.
if command -v java >/dev/null && java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then
  missing=("${missing[@]/openjdk-17-jre-headless}")
fi
command -v mvn >/dev/null && missing=("${missing[@]/maven}")
# Node.js >= 18.18 from elsewhere (e.g. NodeSource, whose nodejs bundles npm) will do too.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}")
  missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"

if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Kafka broker jars, pinned in docker/kafka/pom.xml, copied into an ignored cache folder.
libs=.cache/kafka/libs
stamp="$libs/.pom-$(sha256sum docker/kafka/pom.xml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "install-deps: resolving the Kafka broker from Maven Central (docker/kafka/pom.xml)"
  # Resolve into a fresh folder and swap it in, so a running broker never sees a half-filled one.
  rm -rf "$libs.new"
  mvn -q -B -f docker/kafka/pom.xml dependency:copy-dependencies \
      -DoutputDirectory="$PWD/$libs.new" -DincludeScope=runtime
  touch "$libs.new/$(basename "$stamp")"
  rm -rf "$libs.old"; [ -d "$libs" ] && mv "$libs" "$libs.old"
  mv "$libs.new" "$libs"; rm -rf "$libs.old"
fi
