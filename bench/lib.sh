# Shared setup for the bench scripts (sourced). The caller has set `work` (a temp dir) and
# `pids` (an array its cleanup kills), and runs from the repository root.

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# nginx (one worker) serving a ~1 KiB repo-info JSON at /api/models/acme/bert on 127.0.0.1:$1;
# its pid file is $work/nginx.pid.
bench_json_upstream() {
  mkdir -p "$work/www/api/models/acme" "$work/tmp"
  python3 -c 'import json;print(json.dumps({"id":"acme/bert","siblings":[{"rfilename":"f%03d.bin"%i} for i in range(30)]}))' > "$work/www/api/models/acme/bert"
  chmod 755 "$work"; chmod -R a+rX "$work/www"
  cat > "$work/nginx.conf" <<NGX
worker_processes 1; pid $work/nginx.pid; error_log $work/nginx.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path $work/tmp; proxy_temp_path $work/tmp;
  fastcgi_temp_path $work/tmp; uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  server { listen 127.0.0.1:$1; root $work/www; default_type application/json; } }
NGX
  nginx -c "$work/nginx.conf" -e "$work/nginx.err"
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
