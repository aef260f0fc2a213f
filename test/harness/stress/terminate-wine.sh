#!/usr/bin/env bash
# test/harness/stress/terminate.mjs in the Windows build of Node under Wine,
# against the win32-x64 prebuild: the Windows addon's init and its per-thread
# lookup cache under Worker.terminate() at random points.
#
# Usage: test/harness/stress/terminate-wine.sh [WORKERS]   (per phase, default 400)
# Needs what test/harness/platforms/wine.sh needs.
set -euo pipefail
# shellcheck source=../platforms/wine-env.sh
source "$(dirname "$0")/../platforms/wine-env.sh"
cp "$root/test/harness/stress/terminate.mjs" "$work/terminate.mjs"
status=0
"$wine" "$node_exe" "$(winpath "$work/terminate.mjs")" --pkg "$(winpath "$pkg")" --workers "${1:-400}" >"$work/out.txt" 2>"$work/err.txt" || status=$?
cat "$work/out.txt"
[ -s "$work/err.txt" ] && sed 's/^/# stderr: /' "$work/err.txt"
grep -q 'process alive$' "$work/out.txt" || status=1
exit "$status"
