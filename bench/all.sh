#!/usr/bin/env bash
# hubgate against nginx on this machine, in one run, with the goals of issue 12 checked.
# The servers, on loopback, all in front of the same static upstream (nginx, one worker, serving
# a 1 KiB repo-info JSON and a 100 MiB file):
#   nginx-proxy     nginx as a plain reverse proxy: one worker per core, keep-alive upstream
#   hubgate off     hubgate, the whole pipeline (framing, route, an SSO token verified once then
#                   cached, the policy, the identity assertion) but the audit log
#   hubgate strict  the same with audit.mode strict: PostgreSQL on disk, fsync and synchronous
#                   commit on; each request is forwarded once its event is committed
# The parts (--parts, comma-separated; all by default):
#   rate   wrk on each server in turn, --rounds times (after a 1 s warm-up each): req/s, p99,
#          and CPU per request from /proc/PID/stat (utime + stime of every thread, the delta
#          around the wrk run divided by the requests wrk completed): the proxy's (nginx: its
#          master and workers; hubgate: its process), and apart the upstream's, wrk's and
#          PostgreSQL's (the postmaster and its children, per audit event written), with the
#          cores each kept busy, so that who used the machine is visible.
#   large  wrk downloading the 100 MiB file through nginx-proxy and hubgate off: MB/s.
#   conns  --conns connections through a fresh nginx-proxy and a fresh hubgate (audit off),
#          both in front of bench/conns.c's upstream (compiled here with cc): the proxy's RSS
#          with every connection idle after one answered request each (answered --batch at a
#          time), then, on new processes, with every request in flight at once (the upstream
#          holds them until all have arrived: RSS then and the peak, VmHWM), and after the
#          answers. Each in-flight request holds a client and an upstream connection in the
#          proxy: when `ulimit -Hn` cannot give it 2 × --conns + 128 descriptors, the part opens
#          as many connections as fit. Each RSS figure is then the fresh process's plus its
#          growth per connection served (answered, or held by the upstream) times --conns, said
#          so in the output; a proxy that leaves connections unserved (its own connection limit)
#          is scaled the same way, and the count it served is printed beside.
# Then the ratios against the goals, each "met" or "NOT met". Figures are medians over the
# rounds, ratios the median of each round's ratio (servers take turns within a round). Timing
# figures are never comparable across runs on this shared machine: only ratios within one run.
#
#   bench/all.sh [--duration S] [--connections N] [--threads N] [--rounds R] [--parts LIST]
#                [--strict 0|1] [--large-connections N] [--conns N] [--batch N] [--perf] [--keep]
#   --duration S            seconds per wrk run (5)
#   --connections N         wrk connections for the 1 KiB answer (64)
#   --threads N             wrk threads (1)
#   --rounds R              turns of every server per part (3)
#   --parts LIST            rate,large,conns (all)
#   --strict 0              no PostgreSQL and no hubgate strict
#   --large-connections N   wrk connections for the 100 MiB file (8: each download finishes
#                           within a run; the former bench/proxy.sh used 64)
#   --conns N               connections of the conns part (10000)
#   --batch N               conns part: connections opened (and, when idle, answered) at a time (200)
#   --perf                  one more strict run (audit off with --strict 0), not counted,
#                           recorded by `perf record` on hubgate: its top 15 symbols and the
#                           share of its top 8 libraries (the kernel included)
#   --keep                  keep the work folder (configs, logs, per-run figures in runs.tsv)
# The hubgate under test: HUBGATE_BIN, else ./build/gateway/hubgate (so old and new builds can
# be compared). Needs wrk, nginx, node (the demo IdP, installed by tests/run.sh), pgrep, cc for
# conns, PostgreSQL's server binaries unless --strict 0; perf only with --perf.
. "$(dirname "$0")/lib.sh"
bench_args duration=5 connections=64 threads=1 rounds=3 parts=rate,large,conns strict=1 \
  large_connections=8 conns=10000 batch=200 +perf -- "$@"
for v in duration connections threads rounds large_connections conns batch; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$bench_name: --${v//_/-} takes a positive integer" >&2; exit 2; }
done
[[ $strict =~ ^[01]$ ]] || { echo "$bench_name: --strict takes 0 or 1" >&2; exit 2; }
for p in ${parts//,/ }; do
  [[ $p =~ ^(rate|large|conns)$ ]] || { echo "$bench_name: unknown part $p (rate, large, conns)" >&2; exit 2; }
done
has_part() { [[ ",$parts," == *",$1,"* ]]; }
wrk_threads=$threads
bench_need "$bin"
bench_need_tools wrk nginx node pgrep python3
has_part conns && bench_need_tools cc
# The soft descriptor limit up to the hard one: 10,000 connections are 10,000 descriptors in the
# client and in the upstream, and twice that in the proxy; every process started here inherits it.
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /var/tmp/hubgate-bench-all-XXXXXX)
trap bench_cleanup EXIT
hz=$(getconf CLK_TCK)
# A copy of the binary, so that a rebuild during the run cannot mix two builds in it.
cp "$bin" "$work/hubgate"
echo "$bench_name: $bin ($("$work/hubgate" --version 2>/dev/null | head -n 1 || true), built $(date -u -r "$bin" +%FT%TZ)), $(nproc) cores, $(date -u +%FT%TZ)"
bin=$work/hubgate

# ---- the static upstream, nginx-proxy, the IdP, PostgreSQL, hubgate ----
# The files at Hub paths hubgate classifies: repo info (1 KiB JSON) and a resolve (100 MiB).
mkdir -p "$work/www/api/models/acme" "$work/www/acme/bert/resolve/main"
python3 - "$work/www/api/models/acme/bert" <<'PY'
import json, sys
info = {"_id": "0" * 24, "id": "acme/bert", "private": True, "sha": "a" * 40, "siblings": []}
while len(json.dumps(info)) < 1024:
    info["siblings"].append({"rfilename": "file-%03d.bin" % len(info["siblings"])})
open(sys.argv[1], "w").write(json.dumps(info))
PY
has_part large && head -c $((100 * 1024 * 1024)) /dev/urandom > "$work/www/acme/bert/resolve/main/big.bin"
chmod 755 "$work"; chmod -R a+rX "$work/www"

p_static=$(free_port); p_proxy=$(free_port); p_idp=$(free_port); p_off=$(free_port); p_strict=$(free_port)
proxy_body() { # the nginx-proxy server block in front of 127.0.0.1:$1
  echo "location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_max_temp_file_size 0; } } upstream up { server 127.0.0.1:$1; keepalive 128;"
}
bench_nginx "$work/static" "$p_static" 1 "root $work/www; location /api/ { default_type application/json; }"
bench_nginx "$work/proxy" "$p_proxy" auto "$(proxy_body "$p_static")"
bench_idp "$p_idp"
bench_policy_files
gwdb="postgresql://bench@127.0.0.1:1/none?connect_timeout=1"
if [ "$strict" = 1 ]; then
  p_pg=$(free_port)
  bench_postgres "$p_pg" -c fsync=on -c synchronous_commit=on  # the defaults, said aloud
  # The gateway connects as its own least-privileged role (serve refuses the superuser).
  "$bin" db role create --database "$db_url" --kind gateway --name bench_gw >/dev/null
  gwdb="postgresql://bench_gw@127.0.0.1:$p_pg/hubgate"
  "$bin" keygen --out "$work/audit.pem" >/dev/null
fi
servers=(nginx-proxy off)
bench_hubgate off "$p_off" "$p_static" "$gwdb" '{"mode": "off"}'
gw_off=$gw_pid
if [ "$strict" = 1 ]; then
  servers+=(strict)
  bench_hubgate strict "$p_strict" "$p_static" "$gwdb" \
    '{"mode": "strict", "signing_key": "audit.pem", "stream": "bench-strict", "spool_dir": "spool-strict"}'
  gw_strict=$gw_pid
fi

port_of() { case $1 in nginx-proxy) echo "$p_proxy" ;; off) echo "$p_off" ;; strict) echo "$p_strict" ;; esac; }
pids_of() { case $1 in nginx-proxy) bench_nginx_pids "$work/proxy" ;; off) echo "$gw_off" ;; strict) echo "$gw_strict" ;; esac; }
events_now() {
  if [ "$strict" = 1 ]; then "${psql[@]}" -d hubgate -c 'select count(*) from audit_event'; else echo 0; fi
}
pg_pids() { if [ "$strict" = 1 ]; then bench_postgres_pids; fi; }
auth=(-H "Authorization: Bearer $token")

# One wrk run of part $1 on server $2 in round $3 for path $4 (more wrk arguments after it): a
# line in $work/runs.tsv, and one on stdout as it goes. CPU: each group's processes are listed
# before and after (a backend that exits in between is counted in its parent's cutime: -c).
measure() {
  local part=$1 srv=$2 round=$3 path=$4; shift 4
  local px0 px1 up0 up1 pg0 pg1 ev0 ev1 t0 t1 rps p99 mbs reqs wrk_s
  local -a px up pg
  read -r -a px <<<"$(pids_of "$srv")"; read -r -a up <<<"$(bench_nginx_pids "$work/static")"
  read -r -a pg <<<"$(pg_pids)"
  ev0=$(events_now)
  t0=$(date +%s.%N)
  px0=$(bench_cpu_ticks -c "${px[@]}"); up0=$(bench_cpu_ticks -c "${up[@]}"); pg0=$(bench_cpu_ticks -c "${pg[@]}")
  read -r rps p99 mbs reqs wrk_s < <(bench_wrk "http://127.0.0.1:$(port_of "$srv")$path" "${auth[@]}" "$@")
  [ -n "${wrk_s:-}" ] || { echo "$bench_name: wrk gave no figures against $srv" >&2; exit 1; }
  read -r -a px <<<"$(pids_of "$srv")"; read -r -a up <<<"$(bench_nginx_pids "$work/static")"
  read -r -a pg <<<"$(pg_pids)"
  px1=$(bench_cpu_ticks -c "${px[@]}"); up1=$(bench_cpu_ticks -c "${up[@]}"); pg1=$(bench_cpu_ticks -c "${pg[@]}")
  t1=$(date +%s.%N)
  ev1=$(events_now)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$part" "$srv" "$round" "$rps" \
    "$p99" "$mbs" "$reqs" "$wrk_s" $((px1 - px0)) $((up1 - up0)) $((pg1 - pg0)) \
    $((ev1 - ev0)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" >> "$work/runs.tsv"
  printf '  %-5s round %s %-12s %9s req/s  p99 %7s ms  %8s MB/s\n' "$part" "$round" "$srv" "$rps" "$p99" "$mbs"
}

: > "$work/runs.tsv"
if has_part rate; then
  echo "== rate: 1 KiB answer, wrk -t$threads -c$connections -d${duration}s, $rounds rounds"
  for srv in "${servers[@]}"; do duration=1 bench_wrk "http://127.0.0.1:$(port_of "$srv")/api/models/acme/bert" "${auth[@]}" >/dev/null; done
  for r in $(seq "$rounds"); do
    for srv in "${servers[@]}"; do measure rate "$srv" "$r" /api/models/acme/bert; done
  done
fi
if has_part large; then
  echo "== large: 100 MiB file, wrk -t$threads -c$large_connections -d${duration}s, $rounds rounds"
  for r in $(seq "$rounds"); do
    for srv in nginx-proxy off; do
      connections=$large_connections measure large "$srv" "$r" /acme/bert/resolve/main/big.bin --timeout 60s
    done
  done
fi

# ---- perf: one more run, recorded, not counted ----
perf_srv=off; [ "$strict" = 1 ] && perf_srv=strict
if [ "$perf" = 1 ]; then
  if ! command -v perf >/dev/null; then
    echo "== perf: not installed, skipped"
  else
    echo "== perf: hubgate $perf_srv, one more ${duration}s run (not counted), top 15 symbols"
    read -r perf_pid <<<"$(pids_of "$perf_srv")"
    perf record -q -F 999 -p "$perf_pid" -o "$work/perf.data" -- sleep "$duration" >/dev/null 2>"$work/perf.log" &
    perf_rec=$!
    bench_wrk "http://127.0.0.1:$(port_of "$perf_srv")/api/models/acme/bert" "${auth[@]}" >/dev/null
    if wait "$perf_rec"; then
      perf report -i "$work/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -n 15 || true
      echo "  by library: $(perf report -i "$work/perf.data" --stdio --no-children --sort dso 2>/dev/null |
        awk '/^ +[0-9.]+%/ && n++ < 8 {printf "%s%s %s", sep, $2, $1; sep=", "}')"
    else
      echo "  perf record failed: $(head -n 3 "$work/perf.log")"
    fi
  fi
fi

# ---- conns: idle and in-flight connections' memory ----
: > "$work/conns.tsv"
conns_measured=$conns
if has_part conns; then
  cc -std=c11 -O2 -Wall -Wextra -Werror -o "$work/conns" bench/conns.c
  hard=$(ulimit -Hn)
  fit=$(((hard - 128) / 2))
  if [ "$conns" -gt "$fit" ]; then
    conns_measured=$fit
    echo "== conns: $conns requests in flight need $((2 * conns + 128)) descriptors in the proxy (a client and an upstream connection each)," \
      "but ulimit -Hn is $hard, which only a process with CAP_SYS_RESOURCE may raise: measuring $fit connections," \
      "RSS scaled to $conns (see the table)"
    [ "$fit" -ge 1000 ] || { echo "$bench_name: $fit connections are too few to scale from; raise ulimit -Hn" >&2; exit 1; }
  else
    echo "== conns: $conns connections"
  fi
  conn_timeouts='"timeouts": {"client_idle_seconds": 600, "upstream_idle_seconds": 600}'
  # One test: a fresh conns upstream and a fresh proxy $1 (nginx-proxy|hubgate), then the
  # client in mode $2 (idle|inflight); a line in $work/conns.tsv: proxy mode connections
  # fresh-rss, then the client's lines (what, count, rss, hwm).
  conns_test() {
    local target=$1 mode=$2 p_hold p_target status up_pid tpids out
    p_hold=$(free_port); p_target=$(free_port); status="$work/hold-$target-$mode"
    "$work/conns" upstream "$p_hold" "$status" &
    up_pid=$!; pids+=("$up_pid")
    for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$p_hold/" && break; sleep 0.1; done
    if [ "$target" = nginx-proxy ]; then
      # reuseport: the kernel spreads the connections evenly over the workers, so that no
      # worker runs out of descriptors first.
      bench_nginx "$work/c-$mode" "$p_target" auto "$(proxy_body "$p_hold")" $(($(ulimit -n) - 64)) reuseport
      for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$p_target/" && break; sleep 0.1; done
      tpids=$(bench_nginx_pids "$work/c-$mode")
    else
      bench_hubgate "c-$mode" "$p_target" "$p_hold" "$gwdb" '{"mode": "off"}' "$conn_timeouts"
      tpids=$gw_pid
    fi
    local fresh target_path=/api/models/acme/bert
    fresh=$(bench_rss_kib $tpids)
    [ "$mode" = inflight ] && target_path=/api/models/acme/hold
    out=$("$work/conns" client "$p_target" "$conns_measured" "$batch" "$mode" "$target_path" \
      "Bearer $token" "${tpids// /,}" "$up_pid" "$status" 2>"$work/conns-$target-$mode.log")
    echo "$target $mode $conns_measured $fresh" $out >> "$work/conns.tsv"
    printf '  %-12s %-9s %s(%s)\n' "$target" "$mode" "$(tr '\n' ' ' <<<"$out")" \
      "$(sed 's/^conns client: //' "$work/conns-$target-$mode.log" | tr '\n' ' ' | sed 's/ $//')"
    if [ "$target" = nginx-proxy ]; then
      kill "$(cat "$work/c-$mode/nginx.pid")"
    else
      kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true
    fi
    kill "$up_pid"; wait "$up_pid" 2>/dev/null || true
    sleep 0.5
  }
  for target in nginx-proxy hubgate; do
    for mode in idle inflight; do conns_test "$target" "$mode"; done
  done
fi

# ---- the summary and the goals ----
python3 - "$work/runs.tsv" "$work/conns.tsv" "$hz" "$(nproc)" "$conns" "$rounds" <<'PY'
import statistics as st, sys
runs_path, conns_path, hz, cores, conns_wanted, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
names = {"nginx-proxy": "nginx-proxy", "off": "hubgate off", "strict": "hubgate strict", "hubgate": "hubgate off"}
runs = {}  # (part, server) -> list of dicts, one per round
for line in open(runs_path):
    f = line.rstrip("\n").split("\t")
    part, srv, rnd = f[0], f[1], int(f[2])
    rps, p99, mbs, reqs, wrk_s = float(f[3]), float(f[4]), float(f[5]), int(f[6]), float(f[7])
    px, up, pg, ev, wall = int(f[8]), int(f[9]), int(f[10]), int(f[11]), float(f[12])
    us = lambda ticks: ticks * 1e6 / hz / reqs if reqs else float("nan")
    runs.setdefault((part, srv), []).append(dict(
        round=rnd, rps=rps, p99=p99, mbs=mbs, proxy=us(px), upstream=us(up), wrk=wrk_s * 1e6 / reqs if reqs else float("nan"),
        pg_event=pg * 1e6 / hz / ev if ev else None, events=ev / reqs if reqs else 0,
        c_proxy=px / hz / wall, c_up=up / hz / wall, c_wrk=wrk_s / wall, c_pg=pg / hz / wall))

def med(part, srv, key):
    vals = [r[key] for r in runs.get((part, srv), []) if r[key] is not None]
    return st.median(vals) if vals else None

def ratio(part, a, b, key):
    """The median over rounds of a's figure over b's in the same round."""
    ra = {r["round"]: r[key] for r in runs.get((part, a), [])}
    rb = {r["round"]: r[key] for r in runs.get((part, b), [])}
    vals = [ra[k] / rb[k] for k in ra if k in rb and rb[k]]
    return st.median(vals) if vals else None

fmt = lambda v, spec: "-" if v is None else format(v, spec)
servers = [s for s in ("nginx-proxy", "off", "strict") if ("rate", s) in runs]
if servers:
    print(f"\n== 1 KiB answer: medians of {rounds} rounds; CPU in µs per request (PostgreSQL: per audit event); cores busy of {cores}")
    print(f"{'':16}{'req/s':>9}{'p99 ms':>8} | {'proxy':>7}{'upstrm':>7}{'wrk':>7}{'PG/ev':>7}{'ev/req':>7} | {'proxy':>6}{'upstrm':>7}{'wrk':>6}{'PG':>6}{'total':>6}")
    for s in servers:
        g = lambda k: med("rate", s, k)
        total = sum(g(k) or 0 for k in ("c_proxy", "c_up", "c_wrk", "c_pg"))
        print(f"{names[s]:16}{g('rps'):9.0f}{g('p99'):8.2f} | {g('proxy'):7.1f}{g('upstream'):7.1f}{g('wrk'):7.1f}"
              f"{fmt(g('pg_event'), '7.1f'):>7}{fmt(g('events') if s == 'strict' else None, '7.2f'):>7} | "
              f"{g('c_proxy'):6.2f}{g('c_up'):7.2f}{g('c_wrk'):6.2f}{g('c_pg'):6.2f}{total:6.2f}")
if ("large", "nginx-proxy") in runs:
    print(f"\n== 100 MiB file: medians of {rounds} rounds")
    for s in ("nginx-proxy", "off"):
        mbs, busy = med("large", s, "mbs"), med("large", s, "c_proxy")
        print(f"{names[s]:16}{mbs:9.0f} MB/s   proxy: {busy:4.2f} cores busy, {busy / mbs * 1e6:6.0f} µs CPU per MB")

conns = {}
for line in open(conns_path):
    f = line.split()
    target, mode, n, fresh = f[0], f[1], int(f[2]), int(f[3])
    rest = f[4:]
    conns[(target, mode)] = dict(n=n, fresh=fresh, **{rest[i]: (int(rest[i + 1]), int(rest[i + 2]), int(rest[i + 3])) for i in range(0, len(rest), 4)})
def scaled(target, mode, what, idx):
    c = conns.get((target, mode))
    if not c or what not in c:
        return None
    count, v = c[what][0], c[what][idx]
    if not count:
        return None
    return (c["fresh"] + (v - c["fresh"]) * conns_wanted / count) / 1024
if conns:
    exact = all(c["n"] == conns_wanted and all(c[w][0] == conns_wanted for w in ("idle", "inflight", "after") if w in c) for c in conns.values())
    note = "as measured" if exact else f"{next(iter(conns.values()))['n']:,} opened; each RSS is the fresh process's plus its growth per connection served times {conns_wanted:,}"
    print(f"\n== {conns_wanted:,} connections ({note}): RSS in MiB (nginx: master and workers summed)")
    print(f"{'':16}{'fresh':>7}{'idle':>7}{'answered':>10} |{'in flight':>10}{'peak':>7}{'held':>7} |{'after':>7}{'answered':>10}")
    for t in ("nginx-proxy", "hubgate"):
        i, fl = conns.get((t, "idle"), {}), conns.get((t, "inflight"), {})
        if not i and not fl:
            continue
        fresh = (i or fl)["fresh"] / 1024
        print(f"{names[t]:16}{fresh:7.1f}{fmt(scaled(t, 'idle', 'idle', 1), '7.1f'):>7}{fmt(i.get('idle', (None,))[0], 'd'):>10} |"
              f"{fmt(scaled(t, 'inflight', 'inflight', 1), '10.1f'):>10}{fmt(scaled(t, 'inflight', 'after', 2), '7.1f'):>7}"
              f"{fmt(fl.get('inflight', (None,))[0], 'd'):>7} |{fmt(scaled(t, 'inflight', 'after', 1), '7.1f'):>7}"
              f"{fmt(fl.get('after', (None,))[0], 'd'):>10}")

goals = []  # (what, value, unit, op, goal)
if ("rate", "off") in runs:
    goals.append(("hubgate off req/s / nginx-proxy", ratio("rate", "off", "nginx-proxy", "rps"), "x", ">=", 1.0))
    goals.append(("hubgate off p99 / nginx-proxy", ratio("rate", "off", "nginx-proxy", "p99"), "x", "<=", 1.5))
if ("rate", "strict") in runs:
    goals.append(("hubgate strict req/s / hubgate off", ratio("rate", "strict", "off", "rps"), "x", ">=", 0.9))
    goals.append(("CPU/request: strict (PG apart) / nginx", ratio("rate", "strict", "nginx-proxy", "proxy"), "x", "<=", 1.25))
if ("rate", "off") in runs:
    goals.append(("CPU/request: off / nginx", ratio("rate", "off", "nginx-proxy", "proxy"), "x", "<=", 1.25 if ("rate", "strict") not in runs else None))
if ("large", "off") in runs:
    goals.append(("large file MB/s: hubgate / nginx-proxy", ratio("large", "off", "nginx-proxy", "mbs"), "x", ">=", 0.9))
# The memory goals are for 10,000 connections: with another --conns they are only printed.
at_goal = conns_wanted == 10000
if ("hubgate", "inflight") in conns:
    goals.append((f"{conns_wanted:,} in flight: hubgate peak RSS", scaled("hubgate", "inflight", "after", 2), " MiB", "<", 128 if at_goal else None))
if ("hubgate", "idle") in conns:
    goals.append((f"{conns_wanted:,} idle: hubgate RSS", scaled("hubgate", "idle", "idle", 1), " MiB", "<=", 64 if at_goal else None))
if goals:
    print("\n== goals (ratios: the median of each round's)")
    for what, v, unit, op, goal in goals:
        if goal is None:
            print(f"{what:42}{fmt(v, '8.2f')}{unit:5} (for reference{'' if unit == 'x' else '; the goals are for 10,000'})")
            continue
        ok = v is not None and {">=": v >= goal, "<=": v <= goal, "<": v < goal}[op]
        print(f"{what:42}{fmt(v, '8.2f')}{unit:5} goal {op} {goal:<6} {'met' if ok else 'NOT met'}")
PY
