#!/usr/bin/env bash
# Installs what the real-VS-Code tests and the demo need (../shared/VSCODE-TESTING.md):
# Debian's chromium and ripgrep, the headers code-server's native modules build against,
# then the pinned code-server in tools/code-server. Each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in chromium ripgrep libkrb5-dev libxkbfile-dev libsecret-1-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-vscode-host: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cs=tools/code-server
if [ -x "$cs/node_modules/.bin/code-server" ] && [ -f "$cs/node_modules/.ringdb-installed" ] \
   && [ ! "$cs/package-lock.json" -nt "$cs/node_modules/.ringdb-installed" ]; then
  exit 0
fi

# @vscode/ripgrep's postinstall downloads a binary; it first looks in this cache, so seed it
# with Debian's rg (the network here reaches only package registries).
tmp="${TMPDIR:-/tmp}"
cache="$tmp/vscode-ripgrep-cache-1.15.11"
tarball="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$tarball" ]; then
  mkdir -p "$cache"
  tar -czf "$tarball" -C /usr/bin rg
fi

echo "install-vscode-host: npm install in $cs (code-server and its native modules, ~2 min)"
(
  cd "$cs"
  # code-server's postinstall.sh refuses to run as root unless npm_config_unsafe_perm is set, though npm 7+
  # itself ignores the setting (and warns about it).
  export npm_config_unsafe_perm=true npm_config_nodedir=/usr npm_config_yes=true
  export npm_config_ignore_scripts=false npm_config_audit=false npm_config_fund=false
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
)
# code-server's postinstall installs VS Code's own modules (node-pty, ripgrep, ...); npm lists
# it under allowScripts in package.json, and a run that skipped it leaves these missing.
for f in lib/vscode/node_modules.asar lib/vscode/node_modules/node-pty/build/Release/pty.node lib/vscode/node_modules/@vscode/ripgrep/bin/rg; do
  if [ ! -e "$cs/node_modules/code-server/$f" ]; then
    echo "install-vscode-host: $f is missing: code-server's postinstall did not run or failed (see the npm output above)" >&2
    exit 1
  fi
done
touch "$cs/node_modules/.ringdb-installed"
echo "install-vscode-host: code-server $(node -p "require('./$cs/node_modules/code-server/package.json').version") installed"
