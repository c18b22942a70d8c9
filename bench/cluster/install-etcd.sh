#!/bin/sh
# Installs the etcd peer of bench/cluster: Debian's etcd-server package (/usr/bin/etcd).
# Does nothing when etcd is already there. Needs root (or sudo) and the Debian/Ubuntu apt sources.
set -eu

if command -v etcd >/dev/null 2>&1; then
  echo "etcd is already installed: $(etcd --version | head -n 1)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-etcd.sh: apt-get not found; install etcd 3.4+ by other means (bench/cluster uses /usr/bin/etcd, or RINGDB_BENCH_ETCD=/path/to/etcd)" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-etcd.sh: run as root or install sudo" >&2
    exit 1
  fi
fi

$SUDO apt-get update
# The package enables an etcd system service; the benchmark starts its own members and never uses it.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends etcd-server
etcd --version | head -n 1
