#!/usr/bin/env bash
# What strict auditing costs end to end, in one run: hubgate with audit.mode strict (every
# allowed request waits until its decision event is committed to PostgreSQL, on disk, fsync
# and synchronous commit on) against the same hubgate with audit off and nginx as a plain
# reverse proxy, taking turns under wrk with the same SSO token: req/s, p99, hubgate's CPU per
# request and PostgreSQL's per audit event apart, and the ratio strict/off (goal >= 0.9).
# A thin wrapper of bench/all.sh's rate part (see its header; its options are passed on).
#   bench/audit_e2e.sh [--duration SECONDS] [--connections N] [bench/all.sh's options]
exec "$(dirname "$0")/all.sh" --parts rate "$@"
