#!/usr/bin/env bash
# Checks from outside that a socket held by test/harness/platforms/subset.mjs --hold
# carries the configured keepalive: the kernel's timer (ss) and getsockopt on
# a duplicate of the owning process's fd (pidfd_getfd), never through the
# process under test. Usage: check-hold.sh OUTPUT_FILE (the subset's stdout).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=$1
for _ in $(seq 1 120); do grep -q '^HOLD ' "$out" 2>/dev/null && break; sleep 0.5; done
line=$(grep '^HOLD ' "$out") || { echo "not ok - the subset never reached its HOLD line"; exit 1; }
sleep 1
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$line"; }
local_port=$(field local) remote_port=$(field remote) idle=$(field idle) interval=$(field interval)
filter="( sport = :$local_port and dport = :$remote_port )"
status=0
timer=$(ss -tnoH state established "$filter" | grep -o 'timer:([^)]*)' || true)
# ss prints 6.720ms for 6.72 s and 476ms for 0.476 s.
remaining=$(node -e '
  const m = /keepalive,(\d+)(?:\.(\d+))?(ms|sec|min)/.exec(process.argv[1]); if (!m) { console.log(-1); process.exit() }
  const [, w, f, u] = m; console.log(u === "min" ? w * 60000 : u === "sec" ? w * 1000 : f ? w * 1000 + Number(f.padEnd(3, "0").slice(0, 3)) : Number(w))' "$timer")
echo "# kernel timer of $local_port -> $remote_port: $timer (configured idle $idle ms)"
if [ "$remaining" -gt 0 ] && [ "$remaining" -le "$idle" ] && [ "$remaining" -gt $((idle - 3000)) ]; then
  echo "ok - kernel keepalive timer counts down from the configured idle"
else
  echo "not ok - kernel keepalive timer ($timer) does not match idle $idle ms"
  status=1
fi
# Interval is not in ss: read it on a duplicate of the owning process's fd.
owner=$(ss -tnpH state established "$filter" | grep -o 'pid=[0-9]*,fd=[0-9]*' | head -n 1)
pid=${owner#pid=} pid=${pid%%,*} fd=${owner##*fd=}
if [ -n "$owner" ] && peek=$(python3 "$root/test/harness/observe/peek_sockopt.py" "$pid" "$fd" 2>&1); then
  echo "# kernel getsockopt via pidfd_getfd ($owner): $peek"
  if node -e 'const k = JSON.parse(process.argv[1]); process.exit(k.enabled && k.idle === +process.argv[2] && k.interval === +process.argv[3] ? 0 : 1)' "$peek" "$idle" "$interval"; then
    echo "ok - kernel holds idle $idle ms and interval $interval ms"
  else
    echo "not ok - kernel values differ from idle $idle / interval $interval"
    status=1
  fi
else
  echo "not ok - could not read the socket from outside: ${peek:-no owner in ss -p}"
  status=1
fi
exit "$status"
