#!/usr/bin/env bash
# The secrets docker/compose.yaml mounts read-only at /run/secrets/ in every replica:
#   docker/secrets/jwt.secret      HS256 key of client tokens   (XBANKU_JWT_SECRET_FILE)
#   docker/secrets/cluster.secret  what replicas prove to each other (XBANKU_CLUSTER_SECRET_FILE)
# Made once, 32 random bytes in hex each; existing ones are kept (--rotate makes new ones; then
# recreate the containers). The folder is git-ignored and only its owner can enter it; the files
# are world-readable so that the image's unprivileged user can read the bind-mounted copies.
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/docker/secrets"
rotate=0; [ "${1:-}" = --rotate ] && rotate=1
mkdir -p "$dir" && chmod 700 "$dir"
for name in jwt cluster; do
  f="$dir/$name.secret"
  if [ "$rotate" = 1 ] || [ ! -s "$f" ]; then
    (umask 022; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$f.new" && mv "$f.new" "$f")
    echo "docker-secrets: wrote $f"
  fi
done
