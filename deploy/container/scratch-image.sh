#!/usr/bin/env bash
# Builds a container image FROM scratch holding BIN and exactly the shared libraries `ldd BIN`
# names (with the dynamic loader), the CA bundle for TLS, and passwd/group lines for the
# non-root user 10001; then runs `hubgate --version` and `hubgate serve --check` in it, as
# 10001, read-only root filesystem, no network, no capabilities. The config it checks is a
# small valid one made here (policy, region token file, audit signing key from BIN keygen),
# mounted read-only at /etc/hubgate. Needs podman and root; no registry (nothing is pulled).
#
# Usage: deploy/container/scratch-image.sh BIN OUT_TAG
#   prints what the two commands print; exit 0 when both exit 0, else 1 (the failing one named).
# Environment: HUBGATE_PODMAN_RUNTIME=crun|runc (default: runc when installed: crun refuses a
#   host with cgroup v1 controllers and an empty cgroup v2 hierarchy, "hybrid mode").
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BIN OUT_TAG" >&2
  exit 2
fi
bin=$1 tag=$2
[ -x "$bin" ] || { echo "scratch-image: $bin is not an executable" >&2; exit 2; }
command -v podman >/dev/null || { echo "scratch-image: podman is not installed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hubgate-scratch.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/context/root
mkdir -p "$root/usr/bin" "$root/etc/ssl/certs" "$root/etc/hubgate" "$root/var/lib/hubgate/spool" "$root/tmp"

cp "$bin" "$root/usr/bin/hubgate"
# Every path ldd prints: "libx.so => /path (addr)" and the loader's "/lib64/ld-… (addr)";
# linux-vdso has no file. Kept at the path ldd names, which is where the loader looks.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
if grep -q 'not found' <<< "$(ldd "$bin")"; then
  echo "scratch-image: ldd $bin names a library it cannot find" >&2
  exit 1
fi
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nhubgate:x:10001:10001:hubgate:/nonexistent:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nhubgate:x:10001:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"

cat > "$work/context/Containerfile" <<'CONTAINERFILE'
FROM scratch
COPY root/ /
VOLUME ["/var/lib/hubgate/spool"]
USER 10001:10001
WORKDIR /etc/hubgate
EXPOSE 8443
ENTRYPOINT ["/usr/bin/hubgate"]
CMD ["serve", "--config", "/etc/hubgate/hubgate.json"]
CONTAINERFILE
# COPY keeps owners: the spool is 10001's, the rest root's.
chown -R 10001:10001 "$root/var/lib/hubgate"
chmod 0700 "$root/var/lib/hubgate/spool"

# A small valid config: relative paths resolve against /etc/hubgate. The secret files are
# 10001's, mode 0600, as hubgate requires of a secret file.
conf=$work/etc
mkdir -p "$conf"
cat > "$conf/hubgate.json" <<'JSON'
{
  "listen": "0.0.0.0:8443",
  "public_url": "https://hub.corp.example",
  "database": "postgresql://hubgate_gw1@db:5432/hubgate",
  "policy": "policy.json",
  "regions": {"us": {"upstream": "https://huggingface.co", "token_file": "us.token"}},
  "default_region": "us",
  "audit": {"signing_key": "audit-ed25519.pem", "stream": "gw-1", "mode": "strict",
            "spool_dir": "/var/lib/hubgate/spool"}
}
JSON
cat > "$conf/policy.json" <<'JSON'
{
  "version": 1,
  "orgs": {"acme": {"regions": ["us"], "members": [{"group": "acme-ml", "role": "write"}]}},
  "tests": [
    {"name": "ml engineer downloads", "subject": {"sub": "alice", "groups": ["acme-ml"]},
     "request": "GET /acme/bert/resolve/main/config.json", "expect": "allow"}
  ]
}
JSON
printf 'hf_scratch_image_test_token\n' > "$conf/us.token"
"$bin" keygen --out "$conf/audit-ed25519.pem" >/dev/null
chmod 0600 "$conf/us.token" "$conf/audit-ed25519.pem"
chmod 0755 "$conf"
chown -R 10001:10001 "$conf"

runtime=${HUBGATE_PODMAN_RUNTIME:-}
if [ -z "$runtime" ] && command -v runc >/dev/null; then runtime=runc; fi
run_opts=(--rm --read-only --network none --cap-drop all --security-opt no-new-privileges
          --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 # at most this machine's: may not raise
          -v "$conf:/etc/hubgate:ro")
[ -n "$runtime" ] && run_opts=(--runtime "$runtime" "${run_opts[@]}")

start=$(date +%s.%N)
podman build --quiet --format docker -t "$tag" "$work/context" >/dev/null
built=$(date +%s.%N)
status=0
if ! podman run "${run_opts[@]}" "$tag" --version; then
  echo "scratch-image: hubgate --version failed in $tag" >&2
  status=1
fi
if ! podman run "${run_opts[@]}" "$tag" serve --check --config /etc/hubgate/hubgate.json; then
  echo "scratch-image: hubgate serve --check failed in $tag" >&2
  status=1
fi
done=$(date +%s.%N)
size=$(podman image inspect --format '{{.Size}}' "$tag")
awk -v a="$start" -v b="$built" -v c="$done" -v s="$size" -v n="$(wc -w <<< "$libs")" 'BEGIN {
  printf "scratch-image: %d files of libraries, image %.1f MB; podman build %.1f s, two runs %.1f s\n", n, s / 1e6, b - a, c - b }' >&2
exit $status
