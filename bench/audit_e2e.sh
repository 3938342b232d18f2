#!/usr/bin/env bash
# What strict auditing costs end to end, in one run: two hubgate instances in front of the
# same nginx (a 1 KiB JSON answer), identical but for audit.mode — strict (every allowed
# request waits until its decision event is committed to PostgreSQL, on disk, fsync on) and
# off — driven alternately by wrk with the same SSO token. Prints req/s, p99 and the ratio.
#   bench/audit_e2e.sh [--duration SECONDS] [--connections N]
. "$(dirname "$0")/lib.sh"
bench_args duration=10 connections=64 -- "$@"
bench_need "$bin"
bench_need_tools wrk nginx

work=$(mktemp -d /var/tmp/hubgate-bench-e2e-XXXXXX)
trap bench_cleanup EXIT
p_pg=$(free_port); p_up=$(free_port); p_idp=$(free_port); p_strict=$(free_port); p_off=$(free_port)

bench_postgres "$p_pg"
# The gateway connects as its own least-privileged role (serve refuses the superuser).
"$bin" db role create --database "$db_url" --kind gateway --name bench_gw >/dev/null
gwdb="postgresql://bench_gw@127.0.0.1:$p_pg/hubgate"
"$bin" keygen --out "$work/audit.pem" >/dev/null

bench_json_upstream "$p_up"
bench_idp "$p_idp"
bench_policy_files
for mode in strict off; do
  port=$p_strict; [ $mode = off ] && port=$p_off
  bench_hubgate "$mode" "$port" "$p_up" "$gwdb" \
    "{\"mode\": \"$mode\", \"signing_key\": \"audit.pem\", \"stream\": \"bench-$mode\", \"spool_dir\": \"spool-$mode\"}"
done

run() { # port → "req/s p99ms"
  local rps p99 _
  read -r rps p99 _ < <(bench_wrk "http://127.0.0.1:$1/api/models/acme/bert" -H "Authorization: Bearer $token")
  echo "$rps $p99"
}
echo "== ${duration}s per run, ${connections} connections, alternating"
read -r s1 sp1 < <(run "$p_strict"); read -r o1 op1 < <(run "$p_off")
read -r s2 sp2 < <(run "$p_strict"); read -r o2 op2 < <(run "$p_off")
printf 'audit strict   %10s %10s req/s   p99 %s %s ms\n' "$s1" "$s2" "$sp1" "$sp2"
printf 'audit off      %10s %10s req/s   p99 %s %s ms\n' "$o1" "$o2" "$op1" "$op2"
events=$("${psql[@]}" -d hubgate -c "select count(*), count(distinct (stream_id, seq)) from audit_event")
echo "audit events written: $events (all, distinct seq)"
python3 -c "import sys; a=(float(sys.argv[1])+float(sys.argv[2]))/2; b=(float(sys.argv[3])+float(sys.argv[4]))/2; print(f'strict/off {a/b:.3f} (goal >= 0.9)')" "$s1" "$s2" "$o1" "$o2"
