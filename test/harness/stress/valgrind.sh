#!/usr/bin/env bash
# valgrind memcheck over the normal build (build/Release), every Node process
# of the command traced. V8 runs with --jitless: code it generates at run time
# is opaque to memcheck and yields reports about V8, not about this addon.
#
#   test/harness/stress/valgrind.sh [CMD...]    default: the fuzzer (every socket state x bad input), 5000 cases
# (vitest itself needs WebAssembly, which --jitless turns off, so the test
# files cannot run here; the fuzzer drives the same paths against the model.)
# Fails on any memcheck error or any definitely lost block, in any traced process.
set -euo pipefail
cd "$(dirname "$0")/../../.."
if [ "$#" -eq 0 ]; then
  set -- node test/harness/stress/fuzz.mjs --runs 5000
fi
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
status=0
# Helper programs the tests start (the outside-the-process getsockopt reader,
# openssl, ss, shells) are not ours to check.
NODE_OPTIONS="${NODE_OPTIONS:-} --jitless" valgrind --tool=memcheck --trace-children=yes \
  --trace-children-skip='*python3*,*openssl*,*/ss,*/sh,*/bash' \
  --suppressions=test/harness/stress/valgrind.supp --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --num-callers=30 --log-file="$logs/vg.%p.log" "$@" || status=$?
python3 - "$logs" "$status" <<'PY'
import glob, re, sys
logs, status = sys.argv[1], int(sys.argv[2])
procs = errors = lost = suppressed = 0
for path in sorted(glob.glob(logs + "/vg.*.log")):
    text = open(path, errors="replace").read()
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    if not summary:
        continue  # a process valgrind only passed through (skipped child)
    procs += 1
    e = int(summary.group(1))
    sup = re.search(r"suppressed: (\d+) from", text)
    suppressed += int(sup.group(1)) if sup else 0
    m = re.search(r"definitely lost: ([\d,]+) bytes", text)
    d = int(m.group(1).replace(",", "")) if m else 0
    if e or d:
        print(text[-8000:])
    errors += e
    lost += d
print(f"valgrind: {procs} Node processes traced; memcheck errors {errors} ({suppressed} suppressed: V8's stack scan, see valgrind.supp); "
      f"definitely lost {lost} bytes; command exit {status}")
sys.exit(1 if (errors or lost or status) else 0)
PY
