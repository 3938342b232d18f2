#!/usr/bin/env bash
# The audit log's throughput on this machine, in one run against a throwaway PostgreSQL 15 on
# disk (fsync on, synchronous_commit on, default settings):
#   (a) baseline: a bare 100-row multi-row INSERT of 200-byte rows into a 1-column table
#       (216k-233k rows/s measured on this machine), with pgbench;
#   (b) ceiling: one COPY of the same audit_event rows the writer produced, into a copy of the
#       table with its indexes: what PostgreSQL itself ingests for these rows, no chain, no
#       signatures, one transaction;
#   (c) the audit writer (audit/pgwriter.c through bench/bench_audit.c): events/s appended
#       with canonical encoding, hash chaining, Ed25519 checkpoints every 1000 events, batching
#       (group commit) and a commit per batch, from --threads submitters;
#   (d) `hubgate audit verify` over everything written: events/s re-hashed, re-parsed,
#       column-checked, with every checkpoint signature checked (pinned key + checkpoint file),
#       right after the writes and after VACUUM;
#   (e) what PostgreSQL alone takes to stream those rows out (COPY TO /dev/null): verify's ceiling.
#   (f) with --indexes 1: what each index costs those COPYs: the rows of (b) into a twin with no
#       index, the primary key alone, the key and each other index of audit_event alone (and the
#       three B-trees 006_audit_event_indexes.sql removed, for comparison), then all of today's,
#       then 0.1's five;
#       the median of --runs COPYs each, and each one's cost against the key alone.
# Prints the figures and the ratios (c)/(a), (c)/(b), (d)/(e). Compare only within one run.
#   bench/audit.sh [--events N] [--threads T] [--window W] [--indexes 1] [--runs R] [--keep]
. "$(dirname "$0")/lib.sh"
bench_args events=500000 threads=2 window=4096 indexes=0 runs=3 -- "$@"
load=$bench_progs/bench_audit
bench_need "$bin" "$load"
"$bin" audit --help >/dev/null 2>&1 || { echo "$bench_name: $bin has no 'audit' command (gateway/main.c dispatch)" >&2; exit 1; }

# On disk, not tmpfs: commits must reach the disk for the figures to mean anything.
work=$(mktemp -d /var/tmp/hubgate-bench-audit-XXXXXX)
trap bench_cleanup EXIT
port=$(free_port)
bench_postgres "$port"
url=$db_url
"${psql[@]}" -d hubgate -c 'create role gw login in role hubgate_gateway'
"$bin" keygen --out "$work/audit.pem" --pubout "$work/audit.pub" >/dev/null
now() { date +%s.%N; }
rate() { python3 -c "import sys; print(round($1 / ($3 - $2)))"; }

echo "bench/audit.sh: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}')"

# (a) bare multi-row INSERT, 100 rows of 200 bytes per statement, one client, 5 s
"${psql[@]}" -d hubgate -c 'create table bare (id bigserial primary key, ts timestamptz default now(), payload text not null)'
values=$(python3 -c "print(','.join([\"(repeat('x', 200))\"] * 100))")
echo "insert into bare (payload) values $values;" > "$work/bare.sql"
tps=$("$pgbin/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c 1 -T 5 -f "$work/bare.sql" hubgate 2>/dev/null |
      awk '/^tps/ {print $3}')
bare=$(python3 -c "print(round($tps * 100))")
echo "(a) bare 100-row INSERT, 200-byte rows:           $bare rows/s"

# (c) the writer
spool="$work/spool"
out=$("$load" --database "postgresql://gw@127.0.0.1:$port/hubgate" --key "$work/audit.pem" --stream bench \
      --spool-dir "$spool" --checkpoint-every 1000 --events "$events" --threads "$threads" --window "$window" bulk 2>/dev/null | tail -n 1)
writer=$(echo "$out" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["events_per_s"]))')
per_batch=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_per_batch"])')
cps=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["checkpoints"])')
avg=$("${psql[@]}" -d hubgate -c 'select round(avg(length(canonical))) from audit_event')
echo "(c) audit writer: $events events (~$avg-byte canonical), $threads submitters: $writer events/s ($per_batch events per commit, $cps checkpoints)"

# (b) PostgreSQL's own ceiling for these rows: one COPY into a copy of audit_event
n=$(( events < 200000 ? events : 200000 ))
"${psql[@]}" -d hubgate -c "\\copy (select * from audit_event where seq <= $n) to '$work/rows.bin' with (format binary)"
"${psql[@]}" -d hubgate -c 'create table ceiling (like audit_event including all)'
t0=$(now)
"${psql[@]}" -d hubgate -c "\\copy ceiling from '$work/rows.bin' with (format binary)"
t1=$(now)
ceiling=$(rate "$n" "$t0" "$t1")
echo "(b) one COPY of $n such rows into audit_event's twin: $ceiling rows/s (PostgreSQL's ceiling here)"

# (d) verify everything, with the pinned key and the exported checkpoint file: first right
# after the writes (the first reader of fresh rows also sets PostgreSQL's hint bits, writing
# pages), then after VACUUM, as an audit table that autovacuum has seen.
verify_once() {
  local t0 t1 vout
  t0=$(now)
  vout=$("$bin" audit verify --database "$url" --pubkey "$work/audit.pub" --checkpoint "$spool/bench.checkpoints" --json)
  t1=$(now)
  echo "$vout" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["ok"], r["first_problem"]'
  rate "$total" "$t0" "$t1"
}
total=$("${psql[@]}" -d hubgate -c 'select count(*) from audit_event')
cold=$(verify_once)
"${psql[@]}" -d hubgate -c 'vacuum analyze audit_event'
verify=$(verify_once)
echo "(d) audit verify: $total events, every checkpoint signature: $verify events/s ($cold events/s right after the writes)"

# (e) streaming the rows verify reads, and nothing else
t0=$(now)
"${psql[@]}" -d hubgate -c "\\copy (select seq, prev_hash, hash, canonical, kind, request_id, actor, org, repo, action, decision, rule, status, bytes_in, bytes_out, client_ip, ts from audit_event order by stream_id, seq) to '/dev/null' with (format binary)"
t1=$(now)
stream=$(rate "$total" "$t0" "$t1")
echo "(e) PostgreSQL streaming those rows out (COPY TO /dev/null): $stream rows/s"

# (f) each index's cost, on the rows of (b): the configurations take turns, run after run, so
# that what else the machine does weighs on each alike; the median of each.
if [ "$indexes" = 1 ]; then
  copy_once() { # rows/s of one COPY of the rows into a fresh twin made by "$1"
    "${psql[@]}" -d hubgate -c 'set client_min_messages = warning' -c 'drop table if exists twin' \
      -c 'create table twin (like audit_event including defaults including constraints)' -c "$1" -c checkpoint
    t0=$(now)
    "${psql[@]}" -d hubgate -c "\\copy twin from '$work/rows.bin' with (format binary)"
    t1=$(now)
    rate "$n" "$t0" "$t1"
  }
  pk='alter table twin add primary key (stream_id, seq)'
  # Today's indexes but the key, as pg_indexes has them, then 002's removed B-trees.
  mapfile -t defs < <("${psql[@]}" -d hubgate -c "select indexname || '|' || replace(indexdef, ' ON public.audit_event ', ' ON twin ')
    from pg_indexes where tablename = 'audit_event' and indexname <> 'audit_event_pkey' order by 1")
  defs+=("audit_event_ts (removed by 006)|CREATE INDEX ON twin (ts)"
         "audit_event_org_ts (removed by 006)|CREATE INDEX ON twin (org, ts)"
         "audit_event_actor_ts (removed by 006)|CREATE INDEX ON twin (actor, ts)")
  names=("no index" "primary key alone"); sqls=('set client_min_messages = warning' "$pk")
  all="$pk"
  for d in "${defs[@]}"; do
    def=${d#*|}; def=${def/CREATE INDEX audit_event_* ON/CREATE INDEX ON}
    names+=("+ ${d%%|*}"); sqls+=("$pk; $def")
    case $d in *removed*) ;; *) all="$all; $def" ;; esac
  done
  names+=("today's indexes together"); sqls+=("$all")
  names+=("0.1's five together (002_audit.sql)")
  sqls+=("$pk; create index on twin (ts); create index on twin (org, ts); create index on twin (actor, ts); create index on twin (request_id)")
  declare -A got
  for r in $(seq "$runs"); do
    for i in "${!sqls[@]}"; do got[$i]+="$(copy_once "${sqls[$i]}") "; done
  done
  echo "(f) COPY of $n rows into a twin, median of $runs (rows/s; time per row against the key alone):"
  for i in "${!sqls[@]}"; do
    python3 -c "
import statistics, sys
med = lambda s: statistics.median(map(int, s.split()))
r, k = med(sys.argv[2]), med(sys.argv[3])
print(f'    {sys.argv[1]:<44} {r:>8.0f}  ({100 * (k / r - 1):+.0f} %)')" "${names[$i]}" "${got[$i]}" "${got[1]}"
  done
fi

python3 - "$writer" "$bare" "$ceiling" "$verify" "$stream" <<'PY'
import sys
w, bare, ceil, v, s = map(float, sys.argv[1:])
print(f"writer / bare INSERT baseline: {w / bare:.2f}x   (goal: >= 100,000 events/s; {'met' if w >= 100000 else 'not met'})")
print(f"writer / PostgreSQL COPY ceiling for the same rows: {w / ceil:.2f}x")
print(f"verify / PostgreSQL streaming the same rows: {v / s:.2f}x   (goal: >= 500,000 events/s; {'met' if v >= 500000 else 'not met'})")
PY
