#!/usr/bin/env bash
# The Windows SOCKET lookup's cost against the number of open handles, in the
# Windows build of Node under Wine (scripts/bench/lookup.mjs), then the same
# script on Linux for comparison. Needs what scripts/test-wine.sh needs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -f "$root/prebuilds/win32-x64/tcp-keepalive.node" ] || { echo "run scripts/build-win32.sh first" >&2; exit 2; }
node_exe=$("$root/scripts/fetch-node.sh" win x64)
cache=${TCP_KEEPALIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcp-keepalive-ci}
export WINEPREFIX="$cache/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
[ -f "$WINEPREFIX/.tka-ready" ] || { "$wine" winecfg -v win10 >/dev/null 2>&1; touch "$WINEPREFIX/.tka-ready"; }
work=$(mktemp -d)
wineserver=$(command -v wineserver64 || command -v wineserver || echo /usr/lib/wine/wineserver64)
trap '"$wineserver" -k 2>/dev/null || true; rm -rf "$work"' EXIT
pkg=$("$root/scripts/stage-package.sh" "$work")
cp "$root/scripts/bench/lookup.mjs" "$work/lookup.mjs"
# Wine's node.exe cannot write to a pipe: stdout goes to a file.
status=0
"$wine" "$node_exe" "Z:${work//\//\\}\\lookup.mjs" --pkg "Z:${pkg//\//\\}" "$@" >"$work/out.txt" 2>"$work/err.txt" || status=$?
[ -s "$work/err.txt" ] && sed "s/^/# stderr: /" "$work/err.txt" >&2
[ "$status" -eq 0 ] || exit "$status"
echo "== win32 (Wine)"
cat "$work/out.txt"
echo "== linux"
node "$root/scripts/bench/lookup.mjs" "$@"
