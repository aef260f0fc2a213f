#!/usr/bin/env bash
# Runs the vitest suite the way a macOS, Windows or locked-down Linux runner
# would see it: as an unprivileged user, on a PATH without ss, python3, ip and
# nft. Every test must still pass through the public API; checks that need an
# outside observer must say "not run" instead of passing.
# Needs: root (to create the user and drop to it), a built tree (dist/, build/).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
user=${TKA_TEST_USER:-tka-test}
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin="$work/bin"
mkdir -p "$bin"
# Only what the suite itself runs: node, and openssl for the throwaway certificate.
for tool in node openssl sh; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
cp -a "$root/." "$work/repo"
chown -R "$user" "$work"
out="$work/vitest.log"
status=0
(cd "$work/repo" && runuser -u "$user" -- env -i HOME="$work" PATH="$bin" node node_modules/vitest/vitest.mjs run >"$out" 2>&1) || status=$?
grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | sed 's/^/unprivileged: /' || true
grep -ho 'observer check not run: .*' "$out" | sort -u | sed 's/^/unprivileged: /' || true
if [ "$status" -ne 0 ]; then
  tail -60 "$out"
  echo "unprivileged: vitest failed (exit $status)"
  exit 1
fi
