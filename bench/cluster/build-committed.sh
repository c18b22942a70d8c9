#!/bin/sh
# Builds the engine bundles of a commit (default HEAD) in a private folder, so the benchmark runs
# what was committed rather than a shared working tree that other work is rebuilding meanwhile.
#   bench/cluster/build-committed.sh [commit] [out-dir]    (prints the bundle folder)
#   npm run bench:cluster -- --bundles "$(bench/cluster/build-committed.sh)"
set -eu
commit=$(git rev-parse --short "${1:-HEAD}")
out=${2:-${TMPDIR:-/tmp}/ringdb-bench-build-$commit}
root=$(git rev-parse --show-toplevel)
rm -rf "$out"
mkdir -p "$out"
git -C "$root" archive "$commit" | tar -x -C "$out"
ln -s "$root/node_modules" "$out/node_modules"
(cd "$out" && node scripts/proto.mjs >/dev/null && node esbuild.mjs >/dev/null)
echo "$commit" > "$out/dist/engine/BUILT_FROM"
echo "$out/dist/engine"
