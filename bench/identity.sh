#!/usr/bin/env bash
# SSO verification cost, and what authentication costs end to end:
#   1. bench_identity: cold RS256 and ES256 verification and a cached one (µs per token);
#   2. wrk against hubgate, in one run: forwarded requests (to nginx serving a 1 KiB JSON
#      answer) carrying an SSO access token (verified once, then cached) vs a hubgate token
#      (looked up in PostgreSQL, cached 1 s); and GET /-/whoami (authenticates, answers
#      locally) vs GET /-/health (no authentication, answers locally): the ratio of those two
#      bounds what authentication costs a request end to end. (hubgate has no mode without
#      authentication: anonymous callers are refused.)
#   bench/identity.sh [--duration SECONDS] [--connections N]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
duration=10
conns=64
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "bench/identity.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
build=${HUBGATE_BUILD:-$root/build}
[ -x "$build/gateway/hubgate" ] && [ -x "$build/bench/bench_identity" ] || { echo "bench/identity.sh: build first (cmake --build build)" >&2; exit 1; }

echo "== token verification (bench_identity)"
"$build/bench/bench_identity" 3000 2>/dev/null

work=$(mktemp -d /tmp/hubgate-bench-id-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 0.3; rm -rf "$work"
}
trap cleanup EXIT
. bench/lib.sh
p_up=$(free_port); p_gw=$(free_port); p_idp=$(free_port)
bench_json_upstream "$p_up"
bench_idp "$p_idp"
bench_policy_files
cat > "$work/hubgate.json" <<JSON
{"listen": "127.0.0.1:$p_gw", "public_url": "http://127.0.0.1:$p_gw",
 "database": "postgresql://bench@127.0.0.1:1/none?connect_timeout=1", "policy": "policy.json",
 "regions": {"us": {"upstream": "http://127.0.0.1:$p_up", "token_file": "us.token"}},
 "identity": {"issuers": [{"issuer": "$issuer", "audience": "hubgate"}]},
 "audit": {"mode": "off"}}
JSON
HUBGATE_LOG_LEVEL=error "$build/gateway/hubgate" serve --config "$work/hubgate.json" 2>"$work/hubgate.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p_gw/-/health" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$p_gw/api/models/acme/bert"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")" = 200 ] || { echo "bench: the token was refused" >&2; cat "$work/hubgate.log" >&2; exit 1; }

rps() { local u=$1; shift; wrk -t1 -c"$conns" -d"${duration}s" "$@" "$u" | awk '/^Requests\/sec/ {print $2}'; }
gw="http://127.0.0.1:$p_gw"
echo "== end to end, ${duration}s, ${conns} connections"
fwd_jwt=$(rps "$url" -H "Authorization: Bearer $token")
who=$(rps "$gw/-/whoami" -H "Authorization: Bearer $token")
health=$(rps "$gw/-/health")
who2=$(rps "$gw/-/whoami" -H "Authorization: Bearer $token")
health2=$(rps "$gw/-/health")
printf 'forwarded, SSO JWT (cached)          %10s req/s\n' "$fwd_jwt"
printf 'GET /-/whoami (authenticates)        %10s %10s req/s\n' "$who" "$who2"
printf 'GET /-/health (no authentication)    %10s %10s req/s\n' "$health" "$health2"
python3 -c "import sys; a=(float(sys.argv[1])+float(sys.argv[2]))/2; b=(float(sys.argv[3])+float(sys.argv[4]))/2; print(f'authenticated/unauthenticated local answers {a/b:.3f} (goal for forwarded requests >= 0.95)')" "$who" "$who2" "$health" "$health2"
