#!/bin/sh
# Last-resort cleanup for tests/lib/registry.mjs. Started detached (own session, reparented to
# init) with fd 3 = a pipe whose other end only the harness process holds. When the harness
# dies by any means, even SIGKILL, the read below sees EOF and this script does what the
# registry file lists:
#   pid N               kill -KILL N
#   pg BINDIR DATA USER pg_ctl stop -m immediate (as USER when set, via runuser)
#   rm DIR              rm -rf DIR
# A harness that tears down normally empties the file first, so nothing is done twice.
trap '' INT HUP TERM
file=$1
cat <&3 >/dev/null 2>&1
[ -s "$file" ] || exit 0
while read -r kind a b c; do
  [ "$kind" = pid ] && kill -KILL "$a" 2>/dev/null
done <"$file"
while read -r kind a b c; do
  if [ "$kind" = pg ]; then
    if [ -n "$c" ] && [ "$(id -u)" = 0 ]; then
      runuser -u "$c" -- "$a/pg_ctl" stop -D "$b" -m immediate -s >/dev/null 2>&1
    else
      "$a/pg_ctl" stop -D "$b" -m immediate -s >/dev/null 2>&1
    fi
  fi
done <"$file"
while read -r kind a b c; do
  case "$kind:$a" in
    rm:/tmp/hubgate-test-*|rm:/dev/shm/hubgate-test-*|rm:"${TMPDIR:-/tmp}"/hubgate-test-*) rm -rf -- "$a" ;;
  esac
done <"$file"
exit 0
