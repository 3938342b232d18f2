#!/usr/bin/env bash
# Policy engine cost (issue 5): decision time with 1,000 orgs × 10 member entries × 5 resource
# groups (goal: median ≤ 2 µs per decision) and compile time of that policy, in a Release
# build of bench/bench_policy.c. Prints the figures.
#   bench/policy.sh [--compiles N] [--build-dir DIR]
. "$(dirname "$0")/lib.sh"
bench_args compiles=5 build_dir=build-bench -- "$@"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DHUBGATE_TESTS=OFF >/dev/null
cmake --build "$build_dir" --target bench_policy -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
echo "bench/policy.sh: $(uname -m), $(nproc) CPUs, $(${CC:-cc} --version | head -1)"
"$build_dir/bench/bench_policy" "$compiles"
