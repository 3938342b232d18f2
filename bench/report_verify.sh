#!/usr/bin/env bash
# `hubgate report verify` speed and memory on this machine (goal: >= 500,000 events/s, memory
# flat). bench/bench_report_verify.c writes a report directory of N events (request/completion
# pairs as the gateway writes them, chained, a checkpoint file, a signed end checkpoint and
# manifest) and times aud_report_verify_run over it, which is what `hubgate report verify` runs:
#   (a) a report of every org, with the checkpoint file: threads = CPUs, then one thread;
#   (b) an org-scoped report (a third of the events hidden as org and commitment);
#   (c) baseline, same run: `openssl dgst -sha256 events.jsonl` of (a), the floor of any
#       verification that reads and hashes the file once (the manifest check alone).
# Prints one JSON line per run and the ratio (a)/(c). Peak RSS is the process's (max_rss_kib).
#   bench/report_verify.sh [--events N]
. "$(dirname "$0")/lib.sh"
bench_args events=1000000 -- "$@"
# the report on a tmpfs when there is one: the figures are the verifier's, not the disk's
[ -d /dev/shm ] && export TMPDIR=${TMPDIR:-/dev/shm}
bench=$bench_progs/bench_report_verify
bench_need "$bench"
echo "# $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"

out=$(mktemp)
kept=$("$bench" --events "$events" --keep 2>&1 >"$out" | sed -n 's/^kept //p')
a=$(cat "$out"); rm -f "$out"
echo "(a) every org, $(nproc) threads: $a"
start=$(date +%s.%N); openssl dgst -sha256 "$kept/report/events.jsonl" >/dev/null; end=$(date +%s.%N)
rm -rf "$kept"
echo "(a) every org, 1 thread:   $("$bench" --events "$events" --threads 1)"
echo "(b) acme only:             $("$bench" --events "$events" --org acme)"
python3 - "$a" "$start" "$end" "$events" <<'PY'
import json, sys
a = json.loads(sys.argv[1]); s = float(sys.argv[3]) - float(sys.argv[2]); n = int(sys.argv[4])
print(f"(c) openssl dgst -sha256 events.jsonl ({a['bytes'] / 1e6:.0f} MB): {s:.3f} s, {n / s:.0f} events/s")
print(f"(a)/(c): {a['events_per_second'] / (n / s):.2f}; verify costs {1e6 * a['cpu_seconds'] / n:.2f} us of CPU per event")
PY
