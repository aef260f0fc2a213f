#!/usr/bin/env bash
# Cross-builds the linux-arm (armv7, hard float) prebuild with Debian's arm-linux-gnueabihf g++. A Linux
# addon leaves napi_* undefined for the node binary to provide at load time,
# so no import library is needed, only Node's headers.
# Needs: g++-arm-linux-gnueabihf (apt).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${CXX_ARM:-arm-linux-gnueabihf-g++}
command -v "$cxx" >/dev/null || { echo "missing $cxx: apt-get install g++-arm-linux-gnueabihf" >&2; exit 2; }
node_inc=$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
[ -f "$node_inc/node_api.h" ] || node_inc=/usr/include/node
napi_inc=$(cd "$root" && node -p "require('node-addon-api').include_dir")
out="$root/prebuilds/linux-arm"
# armv7 in the name: node-gyp-build then offers it only to an armv7 Node
# (its process.config arm_version), never to an armv6 one it would crash.
mkdir -p "$out"
# binding.gyp's flags (the native build's), plus -Werror: a warning fails our
# builds, never a user's install.
mapfile -t gyp_flags < <(node "$root/scripts/build/flags.mjs")
"$cxx" "${gyp_flags[@]}" -march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -O2 -fPIC -shared -s -Werror -fvisibility=hidden \
  -I"$node_inc" -I"$root/$napi_inc" -static-libstdc++ -static-libgcc \
  -o "$out/tcp-keepalive.armv7.node" "$root/native/addon.cc" "$root/native/sys_unix.cc" "$root/native/sys_linux.cc"
echo "built $out/tcp-keepalive.armv7.node ($(stat -c %s "$out/tcp-keepalive.armv7.node") bytes): $(file -b "$out/tcp-keepalive.armv7.node" 2>/dev/null | cut -d, -f1-2)"
