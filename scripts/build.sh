#!/usr/bin/env bash
# Configures and builds xbanku into build/ (Ninja). BUILD_TYPE=Release|RelWithDebInfo|Debug.
set -euo pipefail
cd "$(dirname "$0")/.."
build_type="${BUILD_TYPE:-Release}"
build_dir="${BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
# Two cores and Beast/Asio templates: more than 2 jobs only thrashes memory bandwidth.
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}"
