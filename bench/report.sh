#!/usr/bin/env bash
# `hubgate report soc2` over a large audit log, on this machine, against a throwaway
# PostgreSQL 15 on disk:
#   1. bench/bench_report writes --events N synthetic but realistic events of one stream over
#      --days D days (canonical encoding, the chain, a signed checkpoint every 1000 events),
#      loaded with COPY; the policy text in policy_version;
#   2. `hubgate report soc2` over the whole period, as an auditor role, timed with
#      /usr/bin/time: elapsed seconds, events/s, peak RSS (goals: <= 30 s and <= 64 MiB for
#      1,000,000 events), the size of each file;
#   3. the same for one org (two thirds of the events reduced to commitments);
#   4. the same for the log's last day only (the period found through the index on ts; its
#      events/s counted over the day's events);
#   5. `hubgate report verify` over the first report (events/s; goal >= 500,000).
#   bench/report.sh [--events N] [--days D] [--keep]
. "$(dirname "$0")/lib.sh"
bench_args events=1000000 days=30 -- "$@"
gen=$bench_progs/bench_report
bench_need "$bin" "$gen"
"$bin" report --help >/dev/null 2>&1 || { echo "$bench_name: $bin has no 'report' command" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "$bench_name: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

# On disk, not tmpfs: the report reads the table and writes its files like a real one.
work=$(mktemp -d /var/tmp/hubgate-bench-report-XXXXXX)
trap bench_cleanup EXIT
port=$(free_port)
bench_postgres "$port" -c max_wal_size=4GB
mkdir -p "$work/out"
url=$db_url
"$bin" db role create --database "$url" --kind auditor --name bench_auditor >/dev/null
auditor="postgresql://bench_auditor@127.0.0.1:$port/hubgate"

# The stream, its key, the policy text.
"$bin" keygen --out "$work/audit.pem" --pubout "$work/audit.pub" >/dev/null
"$bin" keygen --out "$work/report.pem" --pubout "$work/report.pub" >/dev/null
key_id=$(openssl pkey -pubin -in "$work/audit.pub" -outform DER | tail -c 32 | sha256sum | cut -c1-16)
printf '{"version": 1, "orgs": {"acme": {"members": [{"group": "acme-ml", "role": "write"}]}, "globex": {"regions": ["eu"], "members": [{"group": "globex-ml", "role": "write"}]}, "initech": {"members": [{"group": "initech-ml", "role": "write"}]}}}\n' > "$work/policy.json"
policy_sha=$(sha256sum "$work/policy.json" | cut -d' ' -f1)
stream_id=$(echo "insert into audit_stream (name, public_key, key_id) values ('bench', :'pem', :'kid') returning id" \
  | "${psql[@]}" -d hubgate -v pem="$(cat "$work/audit.pub")" -v kid="$key_id" -f - | head -n 1)
echo "insert into policy_version (sha256, content) values (:'sha', :'text' || E'\\n')" \
  | "${psql[@]}" -d hubgate -v text="$(cat "$work/policy.json")" -v sha="$policy_sha" -f - >/dev/null

end=$(($(date +%s) - 60))
echo "generating and loading $events events over $days days..."
t0=$(date +%s.%N)
"$gen" --key "$work/audit.pem" --stream bench --stream-id "$stream_id" --events "$events" --days "$days" \
  --checkpoints "$work/checkpoints.copy" --policy-sha256 "$policy_sha" --end "$end" \
  | "${psql[@]}" -d hubgate -c "copy audit_event from stdin"
"${psql[@]}" -d hubgate -c "copy audit_checkpoint from stdin" < "$work/checkpoints.copy"
"${psql[@]}" -d hubgate -c "vacuum analyze audit_event" >/dev/null
t1=$(date +%s.%N)
rows=$("${psql[@]}" -d hubgate -c "select count(*) from audit_event")
size=$("${psql[@]}" -d hubgate -c "select pg_size_pretty(pg_total_relation_size('audit_event'))")
printf 'loaded %s events (%s with indexes) in %.1f s\n' "$rows" "$size" "$(echo "$t1 - $t0" | bc)"
sync

# The whole log: its checkpoints bound the period on both sides.
from=$(date -u -d "@$((end - days * 86400))" +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d "@$end" +%Y-%m-%dT%H:%M:%SZ)
run_report() { # name, extra args; the period is [$from, $to), events/s counted over $count
  local name=$1; shift
  rm -rf "$work/out/$name"
  /usr/bin/time -f '%e %M' -o "$work/time.$name" "$bin" report soc2 --database "$auditor" \
    --from "$from" --to "$to" --out "$work/out/$name" --key "$work/report.pem" "$@" >"$work/stdout.$name"
  read -r secs rss_kib < "$work/time.$name"
  local inscope
  inscope=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['totals']['events'])" "$work/out/$name/report.json")
  printf '%-22s %8.2f s  %10.0f events/s  peak RSS %6.1f MiB  (%s events in scope)\n' "report soc2 $name" \
    "$secs" "$(echo "${count:-$rows} / $secs" | bc -l)" "$(echo "$rss_kib / 1024" | bc -l)" "$inscope"
  (cd "$work/out/$name" && for f in report.json report.html events.jsonl events.csv; do
     printf '    %-13s %s\n' "$f" "$(du -h "$f" | cut -f1)"; done)
}
run_report all
run_report org --org acme
all_from=$from
from=$(date -u -d "@$((end - 86400))" +%Y-%m-%dT%H:%M:%SZ)
count=$("${psql[@]}" -d hubgate -c "select count(*) from audit_event where ts >= '$from' and ts < '$to'")
run_report day
from=$all_from; count=

/usr/bin/time -f '%e %M' -o "$work/time.verify" "$bin" report verify "$work/out/all" \
  --pubkey "$work/audit.pub" --pubkey "$work/report.pub" >"$work/verify.out" || { cat "$work/verify.out"; exit 1; }
read -r vsecs vrss < "$work/time.verify"
printf '%-22s %8.2f s  %10.0f events/s  peak RSS %6.1f MiB\n' "report verify" "$vsecs" \
  "$(echo "$rows / $vsecs" | bc -l)" "$(echo "$vrss / 1024" | bc -l)"
echo "goals: report soc2 <= 30 s and <= 64 MiB for 1,000,000 events; report verify >= 500,000 events/s"
