#!/usr/bin/env bash
# Runs the core subset in the Windows build of Node under Wine, against the
# win32-x64 prebuild, then checks from the Linux side (ss) that the kernel
# socket behind Wine's Winsock carries the configured idle.
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
for _ in $(seq 1 120); do grep -q '^HOLD ' "$out" 2>/dev/null && break; sleep 0.5; done
status=0
if line=$(grep '^HOLD ' "$out"); then
  sleep 1
  local_port=$(sed -n 's/.*local=\([0-9]*\).*/\1/p' <<<"$line")
  remote_port=$(sed -n 's/.*remote=\([0-9]*\).*/\1/p' <<<"$line")
  idle=$(sed -n 's/.*idle=\([0-9]*\).*/\1/p' <<<"$line")
  timer=$(ss -tnoH state established "( sport = :$local_port and dport = :$remote_port )" | grep -o 'timer:([^)]*)' || true)
  # ss prints 6.720ms for 6.72 s and 476ms for 0.476 s.
  remaining=$(node -e '
    const m = /keepalive,(\d+)(?:\.(\d+))?(ms|sec|min)/.exec(process.argv[1]); if (!m) { console.log(-1); process.exit() }
    const [, w, f, u] = m; console.log(u === "min" ? w * 60000 : u === "sec" ? w * 1000 : f ? w * 1000 + Number(f.padEnd(3, "0").slice(0, 3)) : Number(w))' "$timer")
  echo "# kernel view of the Wine socket $local_port -> $remote_port: $timer (configured idle ${idle} ms)"
  if [ "$remaining" -gt 0 ] && [ "$remaining" -le "$idle" ] && [ "$remaining" -gt $((idle - 3000)) ]; then
    echo "ok - kernel keepalive timer counts down from the configured idle"
  else
    echo "not ok - kernel keepalive timer ($timer) does not match idle ${idle} ms"
    status=1
  fi
  # Interval is not visible in ss: read it from the kernel on a duplicate of
  # the fd of whichever process holds the socket (wineserver or node.exe).
  owner=$(ss -tnpH state established "( sport = :$local_port and dport = :$remote_port )" | grep -o 'pid=[0-9]*,fd=[0-9]*' | head -n 1)
  if [ -n "$owner" ] && peek=$(python3 "$root/test/helpers/peek_sockopt.py" "$(sed 's/pid=\([0-9]*\).*/\1/' <<<"$owner")" "$(sed 's/.*fd=//' <<<"$owner")" 2>&1); then
    echo "# kernel getsockopt of the Wine socket ($owner): $peek"
    interval=$(sed -n 's/.*interval=\([0-9]*\).*/\1/p' <<<"$line")
    if node -e 'const k = JSON.parse(process.argv[1]); process.exit(k.enabled && k.idle === +process.argv[2] && k.interval === +process.argv[3] ? 0 : 1)' "$peek" "$idle" "$interval"; then
      echo "ok - kernel holds idle ${idle} ms and interval ${interval} ms (SIO_KEEPALIVE_VALS through Wine)"
    else
      echo "not ok - kernel values differ from idle ${idle} / interval ${interval}"
      status=1
    fi
  else
    echo "# could not read the socket from outside: ${peek:-no owner in ss -p}"
  fi
else
  echo "not ok - the subset never reached its HOLD line"
  status=1
fi
wait "$pid" || status=1
cat "$out"
[ -s "$work/err.txt" ] && sed 's/^/# stderr: /' "$work/err.txt"
grep -q ' 0 failed$' "$out" || status=1
exit "$status"
