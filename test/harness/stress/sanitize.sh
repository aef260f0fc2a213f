#!/usr/bin/env bash
# The addon under AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer).
#
#   test/harness/stress/sanitize.sh build            compile into build-sanitize/ (build/ untouched)
#   test/harness/stress/sanitize.sh run CMD...       run CMD with that build loaded in place of the normal one
#   test/harness/stress/sanitize.sh self-test        prove the setup reports a planted overflow, UB, leak and NaN-to-int cast
#
# Node itself is not instrumented, so libasan is preloaded and reports are
# read from log files: any ASan or UBSan report fails the run; a leak report
# fails it when one of its stacks passes through our addon (V8 and Node leave
# their own allocations to the OS at exit, which LeakSanitizer lists too).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="$root/build-sanitize"
flags="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
libasan="$(g++ -print-file-name=libasan.so)"
# This Node's own headers, so node-gyp needs no download.
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"

build() {
  rm -rf "$out"
  mkdir -p "$out"
  cp -r "$root/native" "$root/binding.gyp" "$out/"
  # node-gyp-build reads <dir>/build/Release; the copy keeps build/ as it was.
  (cd "$out" && CFLAGS="$flags" CXXFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined,float-cast-overflow" \
    node "$root/node_modules/node-gyp/bin/node-gyp.js" rebuild --nodedir="$node_prefix" >/dev/null)
  # Read ldd's whole output first: grep -q quitting early would fail the pipe under pipefail.
  local libs
  libs="$(ldd "$out/build/Release/tcp_keepalive.node")"
  if ! grep -q libasan <<<"$libs"; then
    echo "sanitize: the build is not linked against libasan" >&2
    exit 1
  fi
  echo "sanitize: built $out/build/Release/tcp_keepalive.node"
}

# run_checked LABEL CMD...: runs CMD under the sanitizers; returns 0 when no
# report concerns our code. Prints the counts either way.
run_checked() {
  local label="$1"
  shift
  local logs
  logs="$(mktemp -d)"
  local status=0
  LD_PRELOAD="$libasan" \
    ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=0:log_path=$logs/asan:handle_segv=1:allow_user_segv_handler=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan" \
    TCP_KEEPALIVE_PREBUILD="${TCP_KEEPALIVE_PREBUILD:-$out}" \
    "$@" || status=$?
  python3 - "$logs" "$label" "$status" <<'PY'
import glob, re, sys
logs, label, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = "".join(open(f, errors="replace").read() for f in sorted(glob.glob(logs + "/*")))
asan = len(re.findall(r"ERROR: AddressSanitizer", text))
ubsan = len(re.findall(r"runtime error:", text))
ours = 0
passing = 0
total = 0
# Symbolized frames name the source file, unsymbolized ones the module.
OURS = re.compile(r"tcp_keepalive\.node|/native/(addon|sys_\w+)\.cc|node-addon-api|sanity\.(c|node)")
# One leak report block per "Direct/Indirect leak of" paragraph. A leak is
# ours when the frame right after the allocator is our code; V8 allocating
# for itself below one of our N-API calls is V8's (counted apart, printed).
for block in re.split(r"\n(?=(?:Direct|Indirect) leak of)", text):
    if re.match(r"(Direct|Indirect) leak of", block):
        total += 1
        frames = re.findall(r"^\s+#\d+ .*$", block.split("\n\n")[0], re.M)
        first = next((f for f in frames if not re.search(r"libsanitizer|__interceptor_|asan_", f)), "")
        if OURS.search(first):
            ours += 1
            print(block.split("\n\n")[0][:3000])
        elif any(OURS.search(f) for f in frames):
            passing += 1
            print("(V8's, below our call) " + block.split("\n\n")[0][:1500])
if asan or ubsan:
    print(text[:6000])
print(f"sanitize[{label}]: exit {status}; AddressSanitizer reports {asan}, UBSan reports {ubsan}, "
      f"leaks allocated by the addon {ours}; by V8 below an addon call {passing}; "
      f"{total} leak stacks in the process and its children in all")
sys.exit(1 if (asan or ubsan or ours or status) else 0)
PY
  local verdict=$?
  rm -rf "$logs"
  return $verdict
}

self_test() {
  # A throwaway addon outside the tree with three planted bugs; each must be reported.
  local dir
  dir="$(mktemp -d)"
  local inc="$node_prefix/include/node"
  cat > "$dir/sanity.c" <<'C'
#include <node_api.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
/* Volatile globals keep the optimizer from deleting the planted bugs. */
static void* volatile kept;
static char* volatile sink;
static napi_value Run(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  int32_t which = 0;
  napi_get_cb_info(env, info, &argc, &arg, NULL, NULL);
  napi_get_value_int32(env, arg, &which);
  if (which == 0) {
    sink = malloc(8);
    sink[8] = 1; /* heap-buffer-overflow */
    free(sink);
  } else if (which == 1) {
    volatile int big = INT_MAX;
    big += which; /* signed overflow */
  } else if (which == 2) {
    kept = malloc(64);
    kept = NULL; /* leak */
  } else {
    volatile double nan = 0.0 / 0.0;
    volatile int cast = (int)nan; /* float-cast-overflow: left out of -fsanitize=undefined by GCC */
    (void)cast;
  }
  return NULL;
}
NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "run", NAPI_AUTO_LENGTH, Run, NULL, &fn);
  napi_set_named_property(env, exports, "run", fn);
  return exports;
}
C
  gcc $flags -shared -fPIC -I"$inc" -o "$dir/sanity.node" "$dir/sanity.c"
  local failures=0
  for which in 0 1 2 3; do
    if run_checked "planted bug $which" node -e "require('$dir/sanity.node').run($which)" >/dev/null 2>&1; then
      echo "sanitize self-test: planted bug $which was NOT reported"
      failures=$((failures + 1))
    else
      echo "sanitize self-test: planted bug $which reported, as it must be"
    fi
  done
  rm -rf "$dir"
  [ "$failures" -eq 0 ]
}

case "${1:-}" in
  build) build ;;
  run)
    shift
    [ -f "$out/build/Release/tcp_keepalive.node" ] || build
    # The package must load the instrumented copy, or "0 reports" means nothing.
    LD_PRELOAD="$libasan" ASAN_OPTIONS=detect_leaks=0 TCP_KEEPALIVE_PREBUILD="$out" node -e "
      // The addon loads at first use, not at import: ask for it.
      if (!require('$root/dist/cjs/index.js').capabilities.native) { console.error('sanitize: the package runs on its fallback'); process.exit(1) }
      const maps = require('fs').readFileSync('/proc/self/maps', 'utf8')
      if (!maps.includes('$out/build/Release/tcp_keepalive.node')) { console.error('sanitize: the instrumented addon did not load'); process.exit(1) }"
    run_checked "$(basename "${2:-$1}")" "$@"
    ;;
  self-test) self_test ;;
  *)
    echo "usage: $0 build | run CMD... | self-test" >&2
    exit 2
    ;;
esac
