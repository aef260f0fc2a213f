#!/usr/bin/env bash
# Runs the portable checks in Node for another Linux architecture (the npm
# registry's node-linux-ARCH) under qemu-user, against that architecture's
# prebuild from scripts/build/linux-cross.sh. Syscalls go through qemu's
# translation to this kernel, so setsockopt/getsockopt really run.
#   bash test/harness/platforms/qemu.sh arm64
#   bash test/harness/platforms/qemu.sh arm     # armv7, Node for armv7l
# Needs: qemu-user-static and the target's libc (the cross g++ package brings it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
# hold: seconds the socket stays open for the outside reads; a 32-bit guest
# under a loaded host can take seconds to reach its HOLD line.
case "${1:-}" in
  arm64) qemu_name=qemu-aarch64; sysroot=/usr/aarch64-linux-gnu; node_arch=arm64; prebuild=tcp-keepalive.node; hold=6 ;;
  arm) qemu_name=qemu-arm; sysroot=/usr/arm-linux-gnueabihf; node_arch=armv7l; prebuild=tcp-keepalive.armv7.node; hold=10 ;;
  *) echo "usage: $0 arm64|arm" >&2; exit 2 ;;
esac
qemu=$(command -v "$qemu_name-static" || command -v "$qemu_name" || true)
[ -n "$qemu" ] || { echo "missing $qemu_name-static: apt-get install qemu-user-static" >&2; exit 2; }
[ -f "$root/prebuilds/linux-$1/$prebuild" ] || { echo "run scripts/build/linux-cross.sh $1 first" >&2; exit 2; }
node_bin=$("$root/test/harness/platforms/fetch-runtimes.sh" node linux "$node_arch" "${NODE_MAJOR:-20}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg=$("$root/test/harness/platforms/stage-package.sh" "$work")
# -L: the dynamic loader and libc of the cross toolchain.
out="$work/out.txt"
"$qemu" -L "$sysroot" "$node_bin" "$root/test/harness/platforms/subset.mjs" --pkg "$pkg" --expect-native --hold "$hold" >"$out" 2>&1 &
pid=$!
status=0
"$root/test/harness/platforms/check-hold.sh" "$out" || status=1
wait "$pid" || status=1
cat "$out"
exit "$status"
