#!/usr/bin/env bash
# Copies the package as a user installs it (dist/, prebuilds/, package.json,
# node-gyp-build; no build/ of this machine) into DIR, so a foreign Node (another
# version, Windows, arm64) must load its prebuild. Prints DIR/pkg.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
dest=$1/pkg
mkdir -p "$dest/node_modules"
cp -r "$root/dist" "$root/prebuilds" "$root/package.json" "$dest/"
cp -r "$root/node_modules/node-gyp-build" "$dest/node_modules/"
echo "$dest"
