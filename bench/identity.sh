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
. "$(dirname "$0")/lib.sh"
bench_args duration=10 connections=64 -- "$@"
bench_need "$bin" "$bench_progs/bench_identity"
bench_need_tools wrk nginx

echo "== token verification (bench_identity)"
"$bench_progs/bench_identity" 3000 2>/dev/null

work=$(mktemp -d /tmp/hubgate-bench-id-XXXXXX)
trap bench_cleanup EXIT
p_up=$(free_port); p_gw=$(free_port); p_idp=$(free_port)
bench_json_upstream "$p_up"
bench_idp "$p_idp"
bench_policy_files
bench_hubgate hubgate "$p_gw" "$p_up" "postgresql://bench@127.0.0.1:1/none?connect_timeout=1" '{"mode": "off"}'
url="http://127.0.0.1:$p_gw/api/models/acme/bert"

rps() { local r _; read -r r _ < <(bench_wrk "$@"); echo "$r"; }
gw="http://127.0.0.1:$p_gw"
echo "== end to end, ${duration}s, ${connections} connections"
fwd_jwt=$(rps "$url" -H "Authorization: Bearer $token")
who=$(rps "$gw/-/whoami" -H "Authorization: Bearer $token")
health=$(rps "$gw/-/health")
who2=$(rps "$gw/-/whoami" -H "Authorization: Bearer $token")
health2=$(rps "$gw/-/health")
printf 'forwarded, SSO JWT (cached)          %10s req/s\n' "$fwd_jwt"
printf 'GET /-/whoami (authenticates)        %10s %10s req/s\n' "$who" "$who2"
printf 'GET /-/health (no authentication)    %10s %10s req/s\n' "$health" "$health2"
python3 -c "import sys; a=(float(sys.argv[1])+float(sys.argv[2]))/2; b=(float(sys.argv[3])+float(sys.argv[4]))/2; print(f'authenticated/unauthenticated local answers {a/b:.3f} (goal for forwarded requests >= 0.95)')" "$who" "$who2" "$health" "$health2"
