#!/usr/bin/env bash
# Installs everything RingDB needs on a fresh machine of this kind: npm packages from the
# lock file, then (for the real-VS-Code tests and the demo) Debian packages and a pinned
# code-server. Safe to run again: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ -x scripts/install-vscode-host.sh ]; then
  bash scripts/install-vscode-host.sh
fi
