#!/usr/bin/env bash
# The package as users get it: npm pack holds only what it should; installed
# into an empty project with no compiler on PATH it loads its prebuild by
# require and import, type-checks for TypeScript consumers (node16 and bundler
# resolution), and without a fitting prebuild it falls back instead of failing.
# Needs: dist/ and prebuilds/linux-x64 (npm run build:ts, npm run build:prebuilds).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; status=1; }

tarball=$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)
contents=$(tar -tzf "$work/$tarball" | sed 's#^package/##' | sort)
unexpected=$(grep -vE '^(package\.json|README\.md|LICENSE|binding\.gyp|register\.cjs|dist/.*|prebuilds/.*|native/.*)$' <<<"$contents" || true)
[ -z "$unexpected" ] && ok "tarball holds only package.json, README, LICENSE, binding.gyp, register.cjs, dist/, prebuilds/, native/" || bad "unexpected files in the tarball: $unexpected"
for must in dist/cjs/index.js dist/cjs/index.d.ts dist/esm/index.mjs dist/esm/index.d.mts dist/cjs/register.js dist/cjs/register.d.ts dist/esm/register.mjs dist/esm/register.d.mts binding.gyp native/sys.h native/sys_unix.cc native/sys_windows.cc native/sys_linux.cc native/addon.cc dist/cjs/cli/main.js register.cjs prebuilds/linux-x64/tcp-keepalive.node LICENSE README.md; do
  grep -qx "$must" <<<"$contents" || bad "tarball lacks $must"
done
echo "# $(wc -l <<<"$contents") files, $(stat -c %s "$work/$tarball") bytes"

# A PATH with node and npm and a shell, nothing that compiles.
bin="$work/bin"
mkdir -p "$bin"
for tool in node npm npx sh; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
app="$work/app"
mkdir -p "$app"
echo '{ "name": "consumer", "version": "1.0.0", "private": true }' >"$app/package.json"
if (cd "$app" && PATH="$bin" npm install --no-audit --no-fund --silent "$work/$tarball" >"$work/install.log" 2>&1); then
  ok "installed from the tarball with no compiler on PATH"
else
  bad "install failed without a compiler"; cat "$work/install.log"
fi

cat >"$app/use.cjs" <<'JS'
const { capabilities, setKeepAlive, install } = require('tcp-keepalive')
console.log(JSON.stringify({ native: capabilities.native, reason: capabilities.reason, fns: typeof setKeepAlive + typeof install }))
JS
cat >"$app/use.mjs" <<'JS'
import { capabilities, setKeepAlive, connector } from 'tcp-keepalive'
console.log(JSON.stringify({ native: capabilities.native, fns: typeof setKeepAlive + typeof connector }))
JS
cjs=$(cd "$app" && PATH="$bin" node use.cjs) || true
esm=$(cd "$app" && PATH="$bin" node use.mjs) || true
[[ $cjs == *'"native":true'*'"fns":"functionfunction"'* ]] && ok "require() loads the prebuild: $cjs" || bad "require(): $cjs"
[[ $esm == *'"native":true'*'"fns":"functionfunction"'* ]] && ok "import loads the prebuild: $esm" || bad "import: $esm"
# The preload from the installed package, by import and by require; a typo stops the process.
for flag in --import -r; do
  pre=$(cd "$app" && PATH="$bin" TCP_KEEPALIVE=idle=45s node "$flag" tcp-keepalive/register use.cjs 2>&1) && ok "node $flag tcp-keepalive/register starts the app" || bad "preload $flag: $pre"
  typo=$(cd "$app" && PATH="$bin" TCP_KEEPALIVE=intreval=1s node "$flag" tcp-keepalive/register use.cjs 2>&1) && bad "preload $flag accepted a typo" || { [[ $typo == *'did you mean "interval"'* ]] && ok "preload $flag refuses a typo: $typo" || bad "preload $flag typo: $typo"; }
done
# The command line installed as a bin, run on this script's own shell.
summary=$(cd "$app" && PATH="$bin" npx --no-install tcp-keepalive inspect $$ 2>&1 | tail -n 1) || true
[[ $summary =~ ^[0-9]+\ connections?,\ [0-9]+\ exposed\ to\ a\ 350\ s\ idle\ limit$ ]] && ok "npx tcp-keepalive inspect runs from the install: $summary" || bad "npx tcp-keepalive inspect: $summary"

# The NODE_OPTIONS value for this install works from a directory without the package.
value=$(cd "$app" && PATH="$bin" npx --no-install tcp-keepalive node-options 2>&1) || true
far=$(cd / && PATH="$bin" NODE_OPTIONS="$value" TCP_KEEPALIVE=idle=45s node -e 'console.log("started")' 2>&1) || true
[[ $value == "--require $app/node_modules/tcp-keepalive/register.cjs" && $far == started ]] && ok "npx tcp-keepalive node-options: $value, which starts a process in /" || bad "node-options: $value; from /: $far"

# TypeScript consumers: the public types, strict, under both resolutions.
cat >"$app/consumer.mts" <<'TS'
import net from 'node:net'
import { setKeepAlive, getKeepAlive, capabilities, install, parseKeepAliveEnv, recommended, getTcpInfo, type KeepAliveEnv, type KeepAliveOptions, type KeepAliveState, type TcpInfo } from 'tcp-keepalive'
import 'tcp-keepalive/register'
const options: KeepAliveOptions = { idle: 30_000, interval: 5_000, count: 4, userTimeout: 50_000 }
const socket = net.connect(80, 'localhost')
setKeepAlive(socket, options)
const state: KeepAliveState = getKeepAlive(socket)
const idle: number | null = state.idle
const native: boolean = capabilities.native
const info: TcpInfo = getTcpInfo(socket)
const rtt: number | null = info.rtt
// @ts-expect-error state is a union of names, not any string
const bad: TcpInfo['state'] = 'ESTAB'
install((s, info) => (info.direction === 'client' ? options : false)).uninstall()
install().uninstall()
const env: KeepAliveEnv | null = parseKeepAliveEnv(process.env.TCP_KEEPALIVE)
const defaultIdle: number = recommended.idle
// @ts-expect-error unknown option keys are type errors too
setKeepAlive(socket, { intreval: 1 })
export { idle, native, env, defaultIdle, rtt, bad }
TS
sed 's/^import net from .node:net./import net = require("node:net")/' "$app/consumer.mts" | sed 's/^import {\(.*\)} from .tcp-keepalive./import {\1} from "tcp-keepalive"/' >"$app/consumer.cts"
tsc="$root/node_modules/typescript/bin/tsc"
types="$root/node_modules/@types"
common=(--strict --noEmit --skipLibCheck false --types node --typeRoots "$types" --target es2022)
if out=$(cd "$app" && node "$tsc" "${common[@]}" --module node16 --moduleResolution node16 consumer.mts consumer.cts 2>&1); then
  ok "types check for a node16 consumer (.mts and .cts)"
else
  bad "node16 type check"; echo "$out"
fi
if out=$(cd "$app" && node "$tsc" "${common[@]}" --module esnext --moduleResolution bundler consumer.mts 2>&1); then
  ok "types check for a bundler-resolution consumer"
else
  bad "bundler type check"; echo "$out"
fi

# No prebuild for this platform and nothing to compile: still imports.
rm -rf "$app/node_modules/tcp-keepalive/prebuilds/linux-x64" "$app/node_modules/tcp-keepalive/build"
fallback=$(cd "$app" && PATH="$bin" node use.cjs) || true
[[ $fallback == *'"native":false'* ]] && ok "without its prebuild it imports and falls back: $fallback" || bad "fallback: $fallback"
# A platform with no prebuild at all and no compiler: npm install must still
# succeed (the install script reports the fallback instead of failing).
mkdir -p "$work/repack"
tar -xzf "$work/$tarball" -C "$work/repack"
rm -rf "$work/repack/package/prebuilds/linux-x64"
(cd "$work/repack" && tar -czf "$work/noprebuild.tgz" package)
app2="$work/app2"
mkdir -p "$app2"
cp "$app/package.json" "$app/use.cjs" "$app2/"
if (cd "$app2" && PATH="$bin" npm install --no-audit --no-fund --foreground-scripts "$work/noprebuild.tgz" >"$work/install2.log" 2>&1); then
  fallback=$(cd "$app2" && PATH="$bin" node use.cjs) || true
  [[ $fallback == *'"native":false'* ]] && ok "no prebuild and no compiler: npm install succeeds, import falls back" || bad "no-prebuild import: $fallback"
else
  bad "npm install fails when there is no prebuild and no compiler"; tail -20 "$work/install2.log"
fi
# The fallback must come from a real failed build, not from a build skipped.
grep -q "using the fallback" "$work/install2.log" && ok "node-gyp could not build without a compiler and the install script said so" || bad "the install log does not show the fallback message"
exit "$status"
