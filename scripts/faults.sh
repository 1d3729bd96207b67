#!/usr/bin/env bash
# The nemesis suite (tests/checker/xbanku_check/faults.py): for each fault, three xbanku
# instances on a broker and a Redis of the run's own, behind Toxiproxy, under the bank workload;
# the fault injected mid-load and healed; answers counted, recovery timed, and the independent
# checker's verdict on the raw topic, then --act=verify on each instance.
#   scripts/faults.sh                      every scenario (about 30 minutes); writes
#                                          tests/checker/results/faults-latest.{json,md}
#   scripts/faults.sh --scenario broker-kill [--scenario ...]
#   scripts/faults.sh --ci                 the CI run: two scenarios, shorter faults (ctest faults_ci)
# The full-disk scenario mounts a tmpfs and needs root (skipped otherwise). Loopback only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/tools-install.sh" >/dev/null
out=(--out "$root/tests/checker/results")
for a in "$@"; do case "$a" in --ci|--scenario|--out) out=() ;; esac; done
exec "$root/scripts/checker.sh" faults --binary "${XBANKU_BINARY:-$root/build/xbanku}" "${out[@]}" "$@"
