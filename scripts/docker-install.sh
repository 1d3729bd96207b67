#!/usr/bin/env bash
# What scripts/docker-test.sh needs on Debian 12, installed once: podman with runc, netavark and
# aardvark-dns (compose networks with name resolution; netavark needs iptables), Debian's
# podman-compose, debootstrap (scripts/docker-base.sh), curl and python3 (the workload).
set -euo pipefail
packages=(podman runc netavark aardvark-dns iptables podman-compose debootstrap curl python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "docker-install: apt-get install ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"  # with recommends, as tested
fi
