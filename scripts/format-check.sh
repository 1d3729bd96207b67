#!/usr/bin/env bash
# The C++ sources are clang-format clean (.clang-format: Google style, 100 columns). ctest runs
# it as `format_check`; `scripts/format-check.sh --fix` rewrites what is off.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format-check: clang-format is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
  echo "format-check: ${#files[@]} files clean"
fi
