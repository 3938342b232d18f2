#!/usr/bin/env bash
# Policy engine cost (issue 5): decision time with 1,000 orgs × 10 member entries × 5 resource
# groups (goal: median ≤ 2 µs per decision) and compile time of that policy, in a Release
# build of bench/bench_policy.c. Prints the figures.
#   bench/policy.sh [--compiles N] [--build-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
compiles=5
build=build-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --compiles) compiles=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "bench/policy.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHUBGATE_TESTS=OFF >/dev/null
cmake --build "$build" --target bench_policy -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
echo "bench/policy.sh: $(uname -m), $(nproc) CPUs, $(${CC:-cc} --version | head -1)"
"$build/bench/bench_policy" "$compiles"
