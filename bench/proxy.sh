#!/usr/bin/env bash
# Proxy throughput and latency, hubgate against nginx, in one run on this machine:
#   (a) nginx serving the files itself (the static upstream),
#   (b) nginx as a plain reverse proxy in front of (a),
#   (c) hubgate in front of (a),
# for a 1 KiB JSON answer and a 100 MiB file at 64 connections (wrk), then 10,000 idle
# keep-alive connections held by hubgate and its RSS. Prints req/s, p99, throughput and the
# ratios hubgate/nginx-proxy. Timing figures are only compared within one run.
#   bench/proxy.sh [--duration SECONDS] [--connections N] [--idle N]
. "$(dirname "$0")/lib.sh"
bench_args duration=10 connections=64 idle=10000 -- "$@"
bench_need "$bin"
bench_need_tools wrk nginx
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/hubgate-bench-XXXXXX)
trap bench_cleanup EXIT
p_static=$(free_port); p_proxy=$(free_port); p_gw=$(free_port)

# The files, at Hub paths hubgate classifies: repo info (1 KiB JSON) and a resolve (100 MiB).
mkdir -p "$work/www/api/models/acme" "$work/www/acme/bert/resolve/main"
python3 - "$work/www/api/models/acme/bert" <<'PY'
import json, sys
info = {"_id": "0" * 24, "id": "acme/bert", "private": True, "sha": "a" * 40, "siblings": []}
while len(json.dumps(info)) < 1024:
    info["siblings"].append({"rfilename": "file-%03d.bin" % len(info["siblings"])})
open(sys.argv[1], "w").write(json.dumps(info))
PY
head -c $((100 * 1024 * 1024)) /dev/urandom > "$work/www/acme/bert/resolve/main/big.bin"
chmod -R a+rX "$work"

bench_nginx "$work/static" "$p_static" 1 "root $work/www; location /api/ { default_type application/json; }"
bench_nginx "$work/proxy" "$p_proxy" auto "location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_max_temp_file_size 0; } } upstream up { server 127.0.0.1:$p_static; keepalive 128;"

# hubgate runs its whole pipeline (framing, route, an SSO token verified once then cached,
# the policy) except the audit log, whose cost bench/audit_e2e.sh measures on its own.
p_idp=$(free_port)
bench_idp "$p_idp"
bench_policy_files
bench_hubgate hubgate "$p_gw" "$p_static" "postgresql://bench@127.0.0.1:1/none?connect_timeout=1" '{"mode": "off"}'
for p in $p_static $p_proxy $p_gw; do
  curl -sf -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$p/api/models/acme/bert" || { echo "bench: server on $p does not answer" >&2; cat "$work"/*.log "$work"/*/error.log >&2; exit 1; }
done

printf '%-28s %12s %10s %12s\n' "run (${duration}s, ${connections} conns)" "req/s" "p99 ms" "MB/s"
declare -A R
for kind in small large; do
  path=/api/models/acme/bert; [ $kind = large ] && path=/acme/bert/resolve/main/big.bin
  for srv in static nginx-proxy hubgate; do
    port=$p_static; [ $srv = nginx-proxy ] && port=$p_proxy; [ $srv = hubgate ] && port=$p_gw
    read -r rps p99 tput < <(bench_wrk "http://127.0.0.1:$port$path" -H "Authorization: Bearer $token")
    R[$kind.$srv]="$rps $p99 $tput"
    printf '%-28s %12s %10s %12s\n' "$kind $srv" "$rps" "$p99" "$tput"
  done
done

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }
read -r s_n_rps s_n_p99 _ <<<"${R[small.nginx-proxy]}"; read -r s_h_rps s_h_p99 _ <<<"${R[small.hubgate]}"
read -r _ _ l_n_t <<<"${R[large.nginx-proxy]}"; read -r _ _ l_h_t <<<"${R[large.hubgate]}"
echo
echo "hubgate / nginx proxy: small req/s $(ratio "$s_h_rps" "$s_n_rps")x (goal >= 1.0), small p99 $(ratio "$s_h_p99" "$s_n_p99")x (goal <= 1.5), large throughput $(ratio "$l_h_t" "$l_n_t")x (goal >= 0.9)"

# 10,000 idle keep-alive connections: each sends one request, reads the answer, stays open.
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
before=$(rss_kb "$gw_pid")
python3 - "$p_gw" "$idle" "$gw_pid" "$before" <<'PY'
import socket, sys, time
port, n, pid, before = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
req = b"GET /-/health HTTP/1.1\r\nHost: bench\r\n\r\n"
socks, failed = [], 0
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(req)
        socks.append(s)
    except OSError:
        failed += 1
ok = 0
for s in socks:
    s.settimeout(10)
    try:
        if s.recv(4096).startswith(b"HTTP/1.1 200"):
            ok += 1
    except OSError:
        pass
time.sleep(1)
rss = int([l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0])
print(f"idle keep-alive: {ok}/{n} connections answered and held open; hubgate RSS {rss/1024:.1f} MiB "
      f"(before {before/1024:.1f} MiB, growth {(rss-before)/1024:.1f} MiB; goal < 256 MiB)")
for s in socks:
    s.close()
PY
