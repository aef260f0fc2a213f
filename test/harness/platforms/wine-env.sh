# Sourced by the scripts that run the Windows build of Node under Wine.
# Sets: root, wine, node_exe, WINEPREFIX (a cached prefix), work (a temp dir
# removed on exit, with wineserver stopped so nothing lingers) and pkg (the
# package staged in it as a Windows user has it: no Linux build/ beside the
# prebuild). Wine's node.exe cannot write to a pipe (EBADF): callers send its
# stdout to a file.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -x "$wine" ] || { echo "missing wine64: apt-get install wine64" >&2; exit 2; }
[ -f "$root/prebuilds/win32-x64/tcp-keepalive.node" ] || { echo "run scripts/build/win32.sh first" >&2; exit 2; }
node_exe=$("$root/test/harness/platforms/fetch-runtimes.sh" node win x64)
cache=${TCP_KEEPALIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcp-keepalive-ci}
export WINEPREFIX="$cache/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/.tka-ready" ]; then
  "$wine" winecfg -v win10 >/dev/null 2>&1
  touch "$WINEPREFIX/.tka-ready"
fi
work=$(mktemp -d)
wineserver=$(command -v wineserver64 || command -v wineserver || echo /usr/lib/wine/wineserver64)
trap '"$wineserver" -k 2>/dev/null || true; rm -rf "$work"' EXIT
pkg=$("$root/test/harness/platforms/stage-package.sh" "$work")
# A Linux path as Wine's Z: drive sees it.
winpath() { printf 'Z:%s' "${1//\//\\}"; }
