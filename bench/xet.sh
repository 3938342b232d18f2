#!/usr/bin/env bash
# A large Xet download through hubgate vs the same download straight from the Hub fixture's
# CAS, in one run (bench/xet.mjs does the work: the harness starts PostgreSQL, the demo IdP,
# the fixture with Xet storage and hubgate in front; the file is written as xet-core writes one
# and read back as Xet clients read it, hashing the bytes as they arrive). Prints MB/s of both,
# their ratio (goal ≥ 0.9) and hubgate's resident memory before and at its peak.
#   bench/xet.sh [--mib N] [--rounds N] [--parallel N]
. "$(dirname "$0")/lib.sh"
bench_args mib=1024 rounds=3 parallel=8 -- "$@"
HUBGATE_BIN=$bin exec node bench/xet.mjs --mib "$mib" --rounds "$rounds" --parallel "$parallel"
