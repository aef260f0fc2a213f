#!/usr/bin/env bash
# The Windows SOCKET lookup's cost against the number of open handles, in the
# Windows build of Node under Wine (scripts/bench/lookup.mjs), then the same
# script on Linux for comparison. Needs what test/harness/platforms/wine.sh needs.
set -euo pipefail
# shellcheck source=../../test/harness/platforms/wine-env.sh
source "$(dirname "$0")/../../test/harness/platforms/wine-env.sh"
cp "$root/scripts/bench/lookup.mjs" "$work/lookup.mjs"
status=0
"$wine" "$node_exe" "$(winpath "$work/lookup.mjs")" --pkg "$(winpath "$pkg")" "$@" >"$work/out.txt" 2>"$work/err.txt" || status=$?
[ -s "$work/err.txt" ] && sed "s/^/# stderr: /" "$work/err.txt" >&2
[ "$status" -eq 0 ] || exit "$status"
echo "== win32 (Wine)"
cat "$work/out.txt"
echo "== linux"
node "$root/scripts/bench/lookup.mjs" "$@"
