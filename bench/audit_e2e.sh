#!/usr/bin/env bash
# What strict auditing costs end to end, in one run: two hubgate instances in front of the
# same nginx (a 1 KiB JSON answer), identical but for audit.mode — strict (every allowed
# request waits until its decision event is committed to PostgreSQL, on disk, fsync on) and
# off — driven alternately by wrk with the same SSO token. Prints req/s, p99 and the ratio.
#   bench/audit_e2e.sh [--duration SECONDS] [--connections N]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
duration=10
conns=64
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "bench/audit_e2e.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
bin=${HUBGATE_BIN:-$root/build/gateway/hubgate}
[ -x "$bin" ] || { echo "bench/audit_e2e.sh: build first" >&2; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

work=$(mktemp -d /var/tmp/hubgate-bench-e2e-XXXXXX)
chmod 755 "$work"
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  "${as_pg[@]}" "$pgbin/pg_ctl" stop -m immediate -D "$work/pg/data" >/dev/null 2>&1 || true
  sleep 0.3; rm -rf "$work"
}
trap cleanup EXIT
. bench/lib.sh
p_pg=$(free_port); p_up=$(free_port); p_idp=$(free_port); p_strict=$(free_port); p_off=$(free_port)

mkdir -p "$work/pg/sock"
[ "$(id -u)" != 0 ] || chown -R postgres: "$work/pg"
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -A trust -U postgres -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" start -w -D "$work/pg/data" -l "$work/pg/log" \
  -o "-p $p_pg -k $work/pg/sock -c listen_addresses=127.0.0.1" >/dev/null
"$pgbin/psql" -X -q -h 127.0.0.1 -p "$p_pg" -U postgres -d postgres -c 'create database hubgate'
db="postgresql://postgres@127.0.0.1:$p_pg/hubgate"
"$bin" db migrate --database "$db" >/dev/null
# The gateway connects as its own least-privileged role (serve refuses the superuser).
"$bin" db role create --database "$db" --kind gateway --name bench_gw >/dev/null
gwdb="postgresql://bench_gw@127.0.0.1:$p_pg/hubgate"
"$bin" keygen --out "$work/audit.pem" >/dev/null

bench_json_upstream "$p_up"
bench_idp "$p_idp"
bench_policy_files
for mode in strict off; do
  port=$p_strict; [ $mode = off ] && port=$p_off
  cat > "$work/$mode.json" <<JSON
{"listen": "127.0.0.1:$port", "public_url": "http://127.0.0.1:$port", "database": "$gwdb",
 "policy": "policy.json", "regions": {"us": {"upstream": "http://127.0.0.1:$p_up", "token_file": "us.token"}},
 "identity": {"issuers": [{"issuer": "$issuer", "audience": "hubgate"}]},
 "audit": {"mode": "$mode", "signing_key": "audit.pem", "stream": "bench-$mode", "spool_dir": "spool-$mode"}}
JSON
  HUBGATE_LOG_LEVEL=error "$bin" serve --config "$work/$mode.json" 2>"$work/$mode.log" &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.1; done
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/models/acme/bert")
  [ "$code" = 200 ] || { echo "bench: $mode gateway answered $code" >&2; cat "$work/$mode.log" >&2; exit 1; }
done

run() { # port → "req/s p99ms"
  wrk -t1 -c"$conns" -d"${duration}s" --latency -H "Authorization: Bearer $token" \
      "http://127.0.0.1:$1/api/models/acme/bert" |
    awk '/^Requests\/sec/ {r=$2} $1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p=v} END {print r, p}'
}
echo "== ${duration}s per run, ${conns} connections, alternating"
read -r s1 sp1 < <(run "$p_strict"); read -r o1 op1 < <(run "$p_off")
read -r s2 sp2 < <(run "$p_strict"); read -r o2 op2 < <(run "$p_off")
printf 'audit strict   %10s %10s req/s   p99 %s %s ms\n' "$s1" "$s2" "$sp1" "$sp2"
printf 'audit off      %10s %10s req/s   p99 %s %s ms\n' "$o1" "$o2" "$op1" "$op2"
events=$("$pgbin/psql" -X -A -t -h 127.0.0.1 -p "$p_pg" -U postgres -d hubgate -c "select count(*), count(distinct (stream_id, seq)) from audit_event")
echo "audit events written: $events (all, distinct seq)"
python3 -c "import sys; a=(float(sys.argv[1])+float(sys.argv[2]))/2; b=(float(sys.argv[3])+float(sys.argv[4]))/2; print(f'strict/off {a/b:.3f} (goal >= 0.9)')" "$s1" "$s2" "$o1" "$o2"
