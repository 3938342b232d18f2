#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh machine: installs what is missing, builds the
# normal and the sanitizer (ASan+UBSan) builds, and runs every test of both through ctest.
# The last line is ctest's summary of the sanitizer run; the exit status is non-zero if any
# test of either run failed.
#   ./tests/run.sh                 everything
#   ./tests/run.sh -R route        only tests matching a ctest regex (both builds)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)

./deploy/install-deps.sh || exit 1

# npm packages pinned by tests/package-lock.json; reinstalled only when the lockfile changes.
stamp=tests/node_modules/.lock.sha256
want=$(sha256sum tests/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "run.sh: installing the test tools' npm packages (tests/package-lock.json)"
  # onnxruntime-node's install script downloads extra binaries from the internet; the CPU
  # binding we need ships in the npm tarball (libonnxruntime.so.1).
  (cd tests && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error) || exit 1
  echo "$want" > "$stamp"
fi

build() { # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null || return 1
  cmake --build "$dir" -j"$jobs" >/dev/null 2>"$dir.build.log" || { cat "$dir.build.log"; return 1; }
}
echo "run.sh: building build/ and build-asan/"
build build || exit 1
build build-asan -DHUBGATE_SANITIZE=ON || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
echo "run.sh: ctest (normal build)"
(cd build && ctest -j"$jobs" --output-on-failure "$@") | tee build/ctest.log | grep -vE '^\s*(Start|[0-9]+/[0-9]+ Test)' || true
grep -q '100% tests passed' build/ctest.log || status=1
normal=$(grep -E 'tests passed|tests failed' build/ctest.log | tail -n 1)
echo "run.sh: ctest (ASan+UBSan build)"
(cd build-asan && ctest -j"$jobs" --output-on-failure "$@") > build-asan/ctest.log 2>&1
grep -vE '^\s*(Start|[0-9]+/[0-9]+ Test)|tests passed|tests failed|^Total Test time' build-asan/ctest.log
grep -q '100% tests passed' build-asan/ctest.log || status=1
echo "run.sh: normal build: $normal"
grep -E 'tests passed|tests failed' build-asan/ctest.log | tail -n 1
exit $status
