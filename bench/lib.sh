# Shared setup for the bench scripts, sourced as their first step:
#   . "$(dirname "$0")/lib.sh"
#   bench_args events=500000 threads=2 -- "$@"   # the options it takes, with their defaults
#   work=$(mktemp -d ...); trap bench_cleanup EXIT
# Sourcing it sets strict mode and moves to the repository root; it sets bench_name
# ("bench/<script>"), bin (hubgate: HUBGATE_BIN, else HUBGATE_BUILD or ./build) and bench_progs
# (where the bench_* programs are built); `pids` collects what to stop.
set -euo pipefail
cd "$(dirname "$0")/.."

bench_name="bench/$(basename "$0")"
build=${HUBGATE_BUILD:-$PWD/build}
bin=${HUBGATE_BIN:-$build/gateway/hubgate}
bench_progs=$(dirname "$bin")/../bench
pids=()
keep=0

# The script's options: NAME=DEFAULT for each before "--" (or +NAME for a flag, 0 unless given),
# then the arguments: --NAME VALUE sets the variable NAME (dashes read as underscores), --NAME
# sets a flag to 1, --keep sets keep=1, -h prints the script's header comment. Anything else
# exits 2.
bench_args() {
  local flags=" "
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    if [ "${1#+}" != "$1" ]; then
      printf -v "${1#+}" '%s' 0; flags+="${1#+} "
    else
      printf -v "${1%%=*}" '%s' "${1#*=}"
    fi
    shift
  done
  [ $# -gt 0 ] && shift
  while [ $# -gt 0 ]; do
    local var=${1#--}
    var=${var//-/_}
    case "$1" in
      -h|--help) sed -n '2,/^[^#]/p' "$0" | sed '$d'; exit 0 ;;
      --keep) keep=1; shift ;;
      --*)
        if [[ $flags == *" $var "* ]]; then
          printf -v "$var" '%s' 1; shift; continue
        fi
        if [ $# -ge 2 ] && [[ $var =~ ^[a-z_]+$ ]] && [ -n "${!var+set}" ]; then
          printf -v "$var" '%s' "$2"; shift 2
        else
          echo "$bench_name: unknown argument $1" >&2; exit 2
        fi ;;
      *) echo "$bench_name: unknown argument $1" >&2; exit 2 ;;
    esac
  done
}

# Exits with a message unless each argument is an executable file.
bench_need() {
  local f
  for f; do
    [ -x "$f" ] || { echo "$bench_name: build first (cmake --build build): need $f" >&2; exit 1; }
  done
}

# Exits with a message unless each argument is a command on PATH.
bench_need_tools() {
  local t
  for t; do
    command -v "$t" >/dev/null || { echo "$bench_name: needs $t (deploy/install-deps.sh)" >&2; exit 1; }
  done
}

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# A throwaway PostgreSQL in $work/pg on 127.0.0.1:$1 (more server options after it: "-c
# name=value"), as the postgres user when run as root, with a database hubgate migrated by
# $bin. Sets pgbin, as_pg (the command prefix to run as postgres), psql (an array: psql as the
# superuser over TCP, unaligned, tuples only) and db_url (the superuser's URL of hubgate).
# bench_cleanup stops it.
bench_postgres() {
  local port=$1; shift
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$pgbin/pg_ctl" ] || { echo "$bench_name: needs PostgreSQL server binaries (deploy/install-deps.sh)" >&2; exit 1; }
  as_pg=()
  mkdir -p "$work/pg/sock"
  if [ "$(id -u)" = 0 ]; then
    as_pg=(runuser -u postgres --)
    chmod 755 "$work"; chown -R postgres: "$work/pg"
  fi
  "${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -A trust -U postgres -E UTF8 --locale=C >/dev/null
  "${as_pg[@]}" "$pgbin/pg_ctl" start -w -D "$work/pg/data" -l "$work/pg/log" \
    -o "-p $port -k $work/pg/sock -c listen_addresses=127.0.0.1 $*" >/dev/null
  psql=("$pgbin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
  "${psql[@]}" -d postgres -c 'create database hubgate'
  db_url="postgresql://postgres@127.0.0.1:$port/hubgate"
  "$bin" db migrate --database "$db_url" >/dev/null
}

# Stops what the script started (pids, the nginx of bench_nginx, the
# PostgreSQL of bench_postgres) and removes $work, unless --keep. For `trap bench_cleanup EXIT`.
bench_cleanup() {
  local p f
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$work"/*/nginx.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  if [ -d "$work/pg/data" ]; then
    "${as_pg[@]}" "$pgbin/pg_ctl" stop -m immediate -D "$work/pg/data" >/dev/null 2>&1 || true
  fi
  sleep 0.3
  if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}

# nginx in the folder $1 (its nginx.conf, pid file, logs and temporary files) on 127.0.0.1:$2
# with $3 worker processes and $4 as its server block's body (which may close the block and
# open more of the http block), started; $5, if given, is each worker's connection limit
# (client and upstream connections together; 16384 otherwise), $6 more parameters of its
# listen directive (say "reuseport"). Each worker may open as many files as this shell.
bench_nginx() {
  mkdir -p "$1/tmp"
  cat > "$1/nginx.conf" <<NGX
worker_processes $3;
worker_rlimit_nofile $(ulimit -n);
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections ${5:-16384}; }
http {
  access_log off;
  default_type application/octet-stream;
  keepalive_requests 1000000;
  client_body_temp_path $1/tmp; proxy_temp_path $1/tmp; fastcgi_temp_path $1/tmp;
  uwsgi_temp_path $1/tmp; scgi_temp_path $1/tmp;
  server { listen 127.0.0.1:$2 ${6:-}; $4 }
}
NGX
  nginx -c "$1/nginx.conf" -e "$1/error.log"
}

# nginx (one worker) serving a ~1 KiB repo-info JSON at /api/models/acme/bert on 127.0.0.1:$1.
bench_json_upstream() {
  mkdir -p "$work/www/api/models/acme"
  python3 -c 'import json;print(json.dumps({"id":"acme/bert","siblings":[{"rfilename":"f%03d.bin"%i} for i in range(30)]}))' > "$work/www/api/models/acme/bert"
  chmod 755 "$work"; chmod -R a+rX "$work/www"
  bench_nginx "$work/upstream" "$1" 1 "root $work/www; default_type application/json;"
}

# The demo IdP on 127.0.0.1:$1; sets `issuer` and `token` (alice: group acme-ml, MFA).
bench_idp() {
  [ -d tests/node_modules/oidc-provider ] || { echo "bench: run tests/run.sh once (installs the demo IdP)" >&2; exit 1; }
  node tests/fixtures/idp/idp.mjs --port "$1" --keys "$work/idp-keys.json" > "$work/idp.log" 2>&1 &
  pids+=($!)
  issuer="http://127.0.0.1:$1"
  for _ in $(seq 100); do curl -sf "$issuer/.well-known/openid-configuration" >/dev/null && break; sleep 0.1; done
  token=$(curl -s -u alice:alice-demo-secret-7c1f9a -d grant_type=client_credentials "$issuer/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
}

# The region token file and a policy in which alice writes to acme: $work/us.token, $work/policy.json.
bench_policy_files() {
  echo "hf_bench" > "$work/us.token"; chmod 600 "$work/us.token"
  echo '{"version": 1, "orgs": {"acme": {"members": [{"group": "acme-ml", "role": "write"}]}}}' > "$work/policy.json"
}

# A hubgate named $1 ($work/$1.json, its stderr in $work/$1.log, its pid in pids and
# gw_pid) listening on 127.0.0.1:$2 in front of the upstream 127.0.0.1:$3, with the issuer of
# bench_idp, the files of bench_policy_files, database $4 and the "audit" section $5 (JSON), and
# $6 (optional) more top-level members of the config (say '"timeouts": {...}');
# started, and ready once $token reads /api/models/acme/bert through it.
bench_hubgate() {
  local name=$1 port=$2 upstream=$3 database=$4 audit=$5 more=${6:+, $6}
  cat > "$work/$name.json" <<JSON
{"listen": "127.0.0.1:$port", "public_url": "http://127.0.0.1:$port", "database": "$database",
 "policy": "policy.json", "regions": {"us": {"upstream": "http://127.0.0.1:$upstream", "token_file": "us.token"}},
 "identity": {"issuers": [{"issuer": "$issuer", "audience": "hubgate"}]},
 "audit": $audit$more}
JSON
  HUBGATE_LOG_LEVEL=error "$bin" serve --config "$work/$name.json" 2>"$work/$name.log" &
  gw_pid=$!; pids+=("$gw_pid")
  local code
  for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/models/acme/bert" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.1
  done
  echo "bench: hubgate $name answered $code" >&2; cat "$work/$name.log" >&2; exit 1
}

# wrk against $1 (more wrk arguments after it) for $duration seconds over $connections
# connections (with ${wrk_threads:-1} threads): prints "req/s p99-ms MB/s requests wrk-cpu-s"
# (requests completed; the CPU seconds wrk itself used, user + system), and wrk's errors on
# stderr.
bench_wrk() {
  local url=$1; shift
  local out
  # `times` in the same subshell: its second line is what that subshell's children (wrk) used.
  out=$(wrk -t"${wrk_threads:-1}" -c"$connections" -d"${duration}s" --latency "$@" "$url"; times)
  local errs; errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
  [ -n "$errs" ] && echo "  (wrk: $errs)" >&2
  awk '/^Requests\/sec/ {r=$2}
       $1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p=v}
       /^Transfer\/sec/ {v=$2; if (v ~ /GB$/) {sub(/GB/,"",v); v*=1024} else if (v ~ /MB$/) {sub(/MB/,"",v)} else if (v ~ /KB$/) {sub(/KB/,"",v); v/=1024}; t=v}
       / requests in / {n=$1}
       /^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$/ {c=0; for (i=1; i<=2; i++) {split($i, a, /[ms]/); c+=a[1]*60+a[2]}}
       END {print r, p, t, n, c}' <<<"$out"
}

# The CPU time (clock ticks: utime + stime, every thread) the processes $@ have used, summed;
# with -c first, also what their exited and reaped children used (cutime + cstime). A process
# that is gone counts 0.
bench_cpu_ticks() {
  local kids=0
  [ "${1:-}" = -c ] && { kids=1; shift; }
  local p total=0 f st
  for p; do
    # The fields after the command name, which may hold spaces: state is the first.
    f=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a st <<<"$f"
    total=$((total + st[11] + st[12]))
    [ $kids = 1 ] && total=$((total + st[13] + st[14]))
  done
  echo "$total"
}

# The pids of the children of process $1, one per line.
bench_children() { pgrep -P "$1" || true; }

# The pids of the nginx started in folder $1 (bench_nginx): its master and its workers.
bench_nginx_pids() {
  local master; master=$(cat "$1/nginx.pid")
  echo "$master" $(bench_children "$master")
}

# The pids of bench_postgres's server: the postmaster and its children (backends, writers).
bench_postgres_pids() {
  local master; master=$(head -n 1 "$work/pg/data/postmaster.pid")
  echo "$master" $(bench_children "$master")
}

# VmRSS of the processes $@, summed, in KiB.
bench_rss_kib() {
  local p total=0 v
  for p; do
    v=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
