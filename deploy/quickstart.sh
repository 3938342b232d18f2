#!/usr/bin/env bash
# The whole hubgate stack on this machine, for trying it out: installs what is missing, builds
# hubgate, then starts on 127.0.0.1 a private PostgreSQL (var/quickstart/pg), the demo OIDC
# provider, the demo hub with sample repos, and `hubgate serve` with the example policy, and
# prints what to try. Ctrl-C stops everything it started.
#   ./deploy/quickstart.sh              ports 18000-18080 (HUBGATE_QS_PORT_BASE moves them)
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh

stamp=tests/node_modules/.lock.sha256
want=$(sha256sum tests/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "quickstart: installing the demo IdP's and demo hub's npm packages"
  (cd tests && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi

echo "quickstart: building hubgate (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

exec node deploy/quickstart.mjs "$@"
