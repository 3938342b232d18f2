#!/usr/bin/env bash
# Proxy throughput, latency, CPU per request, large files and many connections' memory:
# hubgate (audit off) against nginx as a plain reverse proxy, in one run. A thin wrapper of
# bench/all.sh without PostgreSQL and hubgate strict (see its header for what each part
# measures and its options, all passed on); --idle N is kept as another name of --conns N.
#   bench/proxy.sh [--duration SECONDS] [--connections N] [--idle N] [bench/all.sh's options]
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --idle) args+=(--conns "${2:-}"); shift; [ $# -gt 0 ] && shift ;;
    *) args+=("$1"); shift ;;
  esac
done
exec "$(dirname "$0")/all.sh" --strict 0 "${args[@]}"
