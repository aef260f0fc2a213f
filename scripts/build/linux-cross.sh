#!/usr/bin/env bash
# Cross-builds a Linux prebuild for another architecture with Debian's g++:
#   bash scripts/build/linux-cross.sh arm64   # prebuilds/linux-arm64/tcp-keepalive.node
#   bash scripts/build/linux-cross.sh arm     # prebuilds/linux-arm/tcp-keepalive.armv7.node (armv7, hard float)
# A Linux addon leaves napi_* undefined for the node binary to provide at load
# time, so no import library is needed, only Node's headers.
# Needs: g++-aarch64-linux-gnu (arm64) or g++-arm-linux-gnueabihf (arm) from apt.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
case "${1:-}" in
  arm64)
    cxx=${CXX_ARM64:-aarch64-linux-gnu-g++}; pkg=g++-aarch64-linux-gnu
    file=tcp-keepalive.node; arch_flags=() ;;
  arm)
    cxx=${CXX_ARM:-arm-linux-gnueabihf-g++}; pkg=g++-arm-linux-gnueabihf
    # armv7 in the name: node-gyp-build then offers it only to an armv7 Node
    # (its process.config arm_version), never to an armv6 one it would crash.
    # -Wno-psabi: GCC notes that GCC 7.1 changed how some std::vector iterators
    # are passed on ARM; nothing here crosses that boundary (libstdc++ is linked
    # in statically, built by this same compiler), so the notes only hide output.
    file=tcp-keepalive.armv7.node; arch_flags=(-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -Wno-psabi) ;;
  *) echo "usage: $0 arm64|arm" >&2; exit 2 ;;
esac
command -v "$cxx" >/dev/null || { echo "missing $cxx: apt-get install $pkg" >&2; exit 2; }
node_inc=$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
[ -f "$node_inc/node_api.h" ] || node_inc=/usr/include/node
napi_inc=$(cd "$root" && node -p "require('node-addon-api').include_dir")
out="$root/prebuilds/linux-$1"
mkdir -p "$out"
# binding.gyp's flags (the native build's), plus -Werror: a warning fails our
# builds, never a user's install.
mapfile -t gyp_flags < <(node "$root/scripts/build/flags.mjs")
"$cxx" "${gyp_flags[@]}" "${arch_flags[@]}" -O2 -fPIC -shared -s -Werror -fvisibility=hidden \
  -I"$node_inc" -I"$root/$napi_inc" -static-libstdc++ -static-libgcc \
  -o "$out/$file" "$root/native/addon.cc" "$root/native/sys_unix.cc" "$root/native/sys_linux.cc"
echo "built $out/$file ($(stat -c %s "$out/$file") bytes): $(file -b "$out/$file" 2>/dev/null | cut -d, -f1-2)"
