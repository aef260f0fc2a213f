#!/usr/bin/env bash
# Runs the portable checks in the Windows build of Node under Wine, against the
# win32-x64 prebuild, then checks from the Linux side (ss, pidfd_getfd) that
# the kernel socket behind Wine's Winsock carries the configured idle and interval.
#
# Needs: wine64 (apt), prebuilds/win32-x64 (scripts/build/win32.sh), dist/.
set -euo pipefail
# shellcheck source=wine-env.sh
source "$(dirname "$0")/wine-env.sh"
cp "$root/test/harness/platforms/subset.mjs" "$root/test/harness/platforms/checks.mjs" "$work/"

hold=8
out="$work/out.txt"
"$wine" "$node_exe" "$(winpath "$work/subset.mjs")" --pkg "$(winpath "$pkg")" --expect-native --hold "$hold" >"$out" 2>"$work/err.txt" &
pid=$!
status=0
"$root/test/harness/platforms/check-hold.sh" "$out" || status=1
wait "$pid" || status=1
cat "$out"
[ -s "$work/err.txt" ] && sed 's/^/# stderr: /' "$work/err.txt"
grep -q ' 0 failed$' "$out" || status=1
exit "$status"
