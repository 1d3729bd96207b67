#!/usr/bin/env bash
# The Python tools of tests/checker, from their virtualenv (made on first use):
#   scripts/checker.sh check --brokers B --topic T --instance URL [--instance URL ...]
#   scripts/checker.sh bank  --brokers B --spawn 3 --binary build/xbanku [--redis redis://127.0.0.1:6379/5]
#   scripts/checker.sh fuzz  ...   scripts/checker.sh soak ...   (see scripts/fuzz-api.sh, scripts/soak.sh)
# Every subcommand takes --help. Loads stay on 127.0.0.1 and are bounded in count and time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="$("$root/scripts/checker-setup.sh")"
cd "$root/tests/checker"
exec nice -n 5 "$python" -m xbanku_check "$@"
