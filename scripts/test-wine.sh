#!/usr/bin/env bash
# Runs the core subset in the Windows build of Node under Wine, against the
# win32-x64 prebuild, then checks from the Linux side (ss, pidfd_getfd) that
# the kernel socket behind Wine's Winsock carries the configured idle and interval.
#
# Needs: wine64 (apt), prebuilds/win32-x64 (scripts/build-win32.sh), dist/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -x "$wine" ] || { echo "missing wine64: apt-get install wine64" >&2; exit 2; }
[ -f "$root/prebuilds/win32-x64/tcp-keepalive.node" ] || { echo "run scripts/build-win32.sh first" >&2; exit 2; }
node_exe=$("$root/scripts/fetch-node.sh" win x64)

cache=${TCP_KEEPALIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcp-keepalive-ci}
export WINEPREFIX="$cache/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/.tka-ready" ]; then
  "$wine" winecfg -v win10 >/dev/null 2>&1
  touch "$WINEPREFIX/.tka-ready"
fi

# The package as a Windows user has it: no Linux build/ beside the prebuild.
work=$(mktemp -d)
# wineserver outlives node.exe by default: stop it so nothing lingers.
wineserver=$(command -v wineserver64 || command -v wineserver || echo /usr/lib/wine/wineserver64)
trap '"$wineserver" -k 2>/dev/null || true; rm -rf "$work"' EXIT
pkg=$("$root/scripts/stage-package.sh" "$work")
cp "$root/test/platform/subset.mjs" "$work/subset.mjs"

hold=8
out="$work/out.txt"
# Wine's node.exe cannot write to a pipe (EBADF): stdout goes to a file.
"$wine" "$node_exe" "Z:${work//\//\\}\\subset.mjs" --pkg "Z:${pkg//\//\\}" --expect-native --hold "$hold" >"$out" 2>"$work/err.txt" &
pid=$!
status=0
"$root/scripts/check-hold.sh" "$out" || status=1
wait "$pid" || status=1
cat "$out"
[ -s "$work/err.txt" ] && sed 's/^/# stderr: /' "$work/err.txt"
grep -q ' 0 failed$' "$out" || status=1
exit "$status"
