#!/usr/bin/env bash
# Importing the package opens no connection on Windows either: the Windows
# build of Node under Wine imports the win32-x64 prebuild inside a network
# namespace of its own (so no other process's connection is counted), and
# test/harness/platforms/import-opens.cjs reads Windows' TCP counters through
# netstat around the import, then makes one loopback connection as the control
# that the counters see this process. The addon's load-time probe may use a
# socket but never connects it.
#
# Needs what wine.sh needs, plus root (unshare -n) and no wineserver already
# running for the cached prefix (it would carry its own namespace; the control
# then fails rather than passing blind).
set -euo pipefail
# shellcheck source=wine-env.sh
source "$(dirname "$0")/wine-env.sh"
cp "$root/test/harness/platforms/import-opens.cjs" "$work/"
out="$work/out.json"
status=0
unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
  "$wine" "$node_exe" "$(winpath "$work/import-opens.cjs")" "$(winpath "$pkg")" "$(winpath "$out")" 2>"$work/err.txt" || status=$?
[ -s "$work/err.txt" ] && sed 's/^/# stderr: /' "$work/err.txt"
[ -s "$out" ] || { echo "not ok - no result from import-opens.cjs (exit $status)"; exit 1; }
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
console.log(`# ${JSON.stringify(r)}`)
const checks = [
  ["the addon loaded (the native path is the one checked)", r.native === true],
  ["the control: a loopback connection of this process moves the counters", r.control.active >= 1 && r.control.passive >= 1],
  ["importing: no active open", r.importing.active === 0],
  ["importing: no passive open", r.importing.passive === 0],
]
let failed = 0
for (const [name, ok] of checks) {
  console.log(`${ok ? "ok" : "not ok"} - ${name}`)
  if (!ok) failed++
}
process.exit(failed ? 1 : 0)
' "$out"
