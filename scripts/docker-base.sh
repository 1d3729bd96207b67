#!/usr/bin/env bash
# Local stand-ins for docker.io/library/debian:bookworm and :bookworm-slim, for a machine that
# reaches Debian's package mirror but no image registry (podman then finds them with --pull=never).
# Made the way the official images are (debuerreotype): a debootstrap minbase of bookworm with the
# images' apt/dpkg settings, apt caches and lists emptied; the slim one also drops and excludes
# documentation, man pages and locales. Needs root, debootstrap and podman.
#   scripts/docker-base.sh [--force]     (--force: rebuild even if both tags exist)
# The mirror is the one apt uses here (/etc/apt/sources.list{,.d/*}); XBANKU_DEBIAN_MIRROR overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
force=0; [ "${1:-}" = --force ] && force=1
podman=(podman)
have() { "${podman[@]}" image exists "$1"; }
if [ "$force" = 0 ] && have docker.io/library/debian:bookworm && have docker.io/library/debian:bookworm-slim; then
  echo "docker-base: debian:bookworm and debian:bookworm-slim already exist (use --force to rebuild)"; exit 0
fi

mirror="${XBANKU_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  # The first mirror of Debian's main archive apt uses (deb822 'URIs:' or one-line 'deb URL bookworm').
  mirror=$(for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
             [ -f "$f" ] && cat "$f"; done | awk '/^URIs:/ {print $2} /^deb / {print $2}' |
           grep -E '/debian/?$' | head -1 || true)
fi
[ -n "$mirror" ] || { echo "docker-base: no Debian mirror in /etc/apt/sources.list*; set XBANKU_DEBIAN_MIRROR" >&2; exit 1; }
security="${XBANKU_DEBIAN_SECURITY_MIRROR:-${mirror%/debian*}/debian-security}"

work=$(mktemp -d /tmp/xbanku-docker-base-XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
echo "docker-base: debootstrap --variant=minbase bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -30 "$work/debootstrap.log" >&2; exit 1; }

# What the official images configure (debuerreotype's minimizing steps).
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
echo 'force-unsafe-io' >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"; chmod 755 "$rootfs/usr/sbin/policy-rc.d"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/root/.bash_history
: >"$rootfs/etc/machine-id"; : >"$rootfs/etc/resolv.conf"; echo localhost >"$rootfs/etc/hostname"

changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["bash"]')
import() {  # tag: one layer, the rootfs as it is now
  tar --numeric-owner --xattrs -C "$rootfs" -c . | "${podman[@]}" import "${changes[@]}" - "$1" >/dev/null
  echo "docker-base: $1 $("${podman[@]}" image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}')"
}
import docker.io/library/debian:bookworm

# Slim: the official images' dpkg exclusions, applied to what is installed and to what comes later.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# This is the "slim" variant of the Debian base image (a local stand-in, see scripts/docker-base.sh).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
EOF
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/info/* "$rootfs"/usr/share/linda/* "$rootfs"/usr/share/lintian/overrides/* \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/groff/*
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
import docker.io/library/debian:bookworm-slim
