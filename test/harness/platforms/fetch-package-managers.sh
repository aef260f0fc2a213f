#!/usr/bin/env bash
# Fetches the package managers the install test drives, from the npm registry,
# into the runtimes cache: pnpm 10, yarn 1, Yarn 4 (@yarnpkg/cli-dist). Bun
# comes from test/harness/platforms/fetch-runtimes.sh. Prints "name path" per line; a
# manager that cannot be fetched is reported on stderr and left out.
set -uo pipefail
cache=${TCP_KEEPALIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcp-keepalive-ci}
mkdir -p "$cache/pm"
fetch() {
  local label=$1 spec=$2 rel=$3 version name dir
  version=$(cd "$cache" && npm view "$spec" version --json 2>/dev/null | node -e 'const v=[].concat(JSON.parse(require("fs").readFileSync(0,"utf8"))); const k=s=>s.split(".").map(Number); v.sort((a,b)=>{const x=k(a),y=k(b);return x[0]-y[0]||x[1]-y[1]||x[2]-y[2]}); console.log(v.at(-1))') || { echo "$label: not fetched" >&2; return; }
  name=${spec%@*}
  name=${name#@}
  name=${name//\//-}
  dir="$cache/pm/$name-$version"
  if [ ! -f "$dir/package/$rel" ]; then
    (cd "$cache/pm" && npm pack --silent "${spec%@*}@$version" >/dev/null) || { echo "$label: not fetched" >&2; return; }
    mkdir -p "$dir"
    tar -xzf "$cache/pm/$name-$version.tgz" -C "$dir" && rm -f "$cache/pm/$name-$version.tgz"
  fi
  echo "$label $dir/package/$rel"
}
fetch pnpm pnpm@10 bin/pnpm.cjs
fetch yarn1 yarn@1 bin/yarn.js
fetch yarn-berry @yarnpkg/cli-dist@4 bin/yarn.js
