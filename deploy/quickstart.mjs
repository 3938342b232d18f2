// Starts the demo stack for deploy/quickstart.sh and keeps it up until Ctrl-C. Everything
// listens on 127.0.0.1; everything it starts is stopped on exit (tests/lib/harness.mjs).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startPostgres, startIdp, startHub, startHubgate, teardownAll, untilSignal, DEFAULT_USERS_FILE,
} from '../tests/lib/harness.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const base = Number(process.env.HUBGATE_QS_PORT_BASE || 18000);
const ports = { idp: base + 1, hub: base + 2, storage: base + 3, pg: base + 4, cas: base + 5, gateway: base + 80, metrics: base + 81 };
const varDir = path.join(repo, 'var', 'quickstart');

async function main() {
  const t0 = Date.now();
  // A fresh folder each run: the demo starts from the same sample repos every time.
  fs.rmSync(varDir, { recursive: true, force: true });
  fs.mkdirSync(varDir, { recursive: true });

  const pg = await startPostgres({ dir: path.join(varDir, 'pg'), port: ports.pg });
  // with hubgate's confidential client, for people signing in with the browser
  const idp = await startIdp({ port: ports.idp, keysFile: path.join(varDir, 'idp-keys.json'), login: { clientId: 'hubgate' } });
  const scimSecret = crypto.randomBytes(32).toString('base64url');
  const hub = await startHub({
    dataDir: path.join(varDir, 'hub'),
    logFile: path.join(varDir, 'hub-requests.jsonl'),
    xet: true, // stores uploads in Xet, as huggingface.co does; hubgate carries it (xet: "proxy")
    args: ['--port', String(ports.hub), '--storage-port', String(ports.storage), '--cas-port', String(ports.cas)],
  });
  const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
  const gw = await startHubgate({
    config: {
      listen: `127.0.0.1:${ports.gateway}`,
      metrics_listen: `127.0.0.1:${ports.metrics}`, // metrics never on the public listener
      public_url: gatewayUrl,
      database: pg.url,
      policy: path.join(repo, 'deploy', 'policy.example.json'),
      regions: { us: { upstream: hub.url, token_file: 'us.token', storage: [hub.storageUrl, hub.casUrl] } },
      identity: {
        issuers: [{ issuer: idp.issuer, audience: 'hubgate', groups_claim: 'groups', algorithms: ['RS256', 'ES256'] }],
        tokens: { max_days: 30 },
        login: { issuer: idp.issuer, client_id: idp.login.clientId, client_secret_file: 'login.secret' },
      },
      scim: { token_file: 'scim.token' },
    },
    files: { 'us.token': `${hub.serviceToken}\n`, 'login.secret': `${idp.login.secret}\n`, 'scim.token': `${scimSecret}\n` },
  });

  const users = JSON.parse(fs.readFileSync(DEFAULT_USERS_FILE, 'utf8'));
  const checkpoints = path.join(gw.dir, 'spool', `${gw.config.audit.stream}.checkpoints`);
  const secret = users.alice.secret;
  console.log(`
hubgate quickstart is up (${((Date.now() - t0) / 1000).toFixed(1)} s):
  gateway    ${gw.url}   hubgate serve --config ${gw.configFile}
  metrics    ${gw.metricsUrl}   (Prometheus; loopback only, never on the public listener)
  demo hub   ${hub.url}   sample repos acme/bert (LFS weights), acme/tiny-tok, acme/ds,
                                   google/gemma-mini, gpt2; storage origin ${hub.storageUrl},
                                   Xet CAS ${hub.casUrl}
  IdP        ${idp.issuer}   users alice bob carol dave eve audrey (tests/fixtures/idp/users.json)
  database   ${pg.url}   (the administrator, who ran hubgate db migrate)
             the gateway connects as ${gw.config.database}: a member of hubgate_gateway only

Try, in another terminal:
  # an SSO access token for alice (group acme-ml), from the IdP
  TOKEN=$(curl -s -u alice:${secret} -d grant_type=client_credentials ${idp.issuer}/token | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')

  curl -s ${gw.url}/-/ready
  curl -s -H "Authorization: Bearer $TOKEN" ${gw.url}/api/models/acme/bert | head -c 300; echo
  curl -s -r 0-99 -H "Authorization: Bearer $TOKEN" ${gw.url}/acme/bert/resolve/main/config.json
  # LFS weights: hubgate answers with a sealed link to itself and streams the bytes from storage
  curl -sL -o model.safetensors -w '%{http_code} %{size_download} bytes\\n' -H "Authorization: Bearer $TOKEN" ${gw.url}/acme/bert/resolve/main/model.safetensors
  git clone http://hf_user:$TOKEN@127.0.0.1:${ports.gateway}/acme/bert
  # Xet: hubgate's own token for its own CAS (the hub's token never leaves hubgate)
  curl -s -H "Authorization: Bearer $TOKEN" ${gw.url}/api/models/acme/bert/xet-read-token/main | head -c 200; echo
  curl -s ${gw.metricsUrl} | grep -E 'hubgate_(requests|denials)_total'

What reached the demo hub (note hubgate's credential, never the client's):
  tail -n 3 ${hub.logFile}

Try the policy (deploy/policy.example.json): bob (acme-staff) reads but cannot push;
eve (no group) gets 404 for acme/*; dave (contractor) only acme/ft-*:
  BOB=$(curl -s -u bob:${users.bob.secret} -d grant_type=client_credentials ${idp.issuer}/token | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')
  curl -s -X POST -H "Authorization: Bearer $BOB" -H 'Content-Type: application/json' -d '{"name":"x","organization":"acme"}' ${gw.url}/api/repos/create
  ./build/gateway/hubgate policy explain deploy/policy.example.json --subject '{"sub":"bob","groups":["acme-staff"]}' --request "POST /api/models/acme/bert/commit/main"

Sign in as a person: open ${gw.url}/-/tokens in a browser, sign in as alice (password
${users.alice.password}), and mint a token there for real clients (HF_ENDPOINT=${gw.url} HF_TOKEN=<token>).
With huggingface_hub installed, the CLI signs in through hubgate and your browser confirms:
  HF_ENDPOINT=${gw.url} hf auth login
Programs mint by API with an SSO token:
  curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"name":"laptop","scope":"read","expires_days":7}' ${gw.url}/-/tokens

The directory (SCIM 2.0, as Okta or Entra would call it): deactivating alice ends her tokens,
sessions and SSO tokens at once:
  SCIM="Authorization: Bearer ${scimSecret}"
  curl -s -H "$SCIM" -H 'Content-Type: application/scim+json' -d '{"userName":"alice@acme.example","externalId":"alice","active":true}' ${gw.url}/scim/v2/Users
  curl -s -H "$SCIM" "${gw.url}/scim/v2/Users?filter=userName%20eq%20%22alice@acme.example%22" | head -c 300; echo

The database roles: the gateway's can only append to the audit log; an auditor's only read it:
  ./build/gateway/hubgate db role create --database ${pg.url} --kind auditor --name auditor_demo
  ./build/gateway/hubgate audit verify --database ${pg.url.replace('postgres@', 'auditor_demo@')}

Evidence for auditors (SOC 2): a report of the log up to now, then checked offline against the
gateway's key and checkpoint file (the period is provable once a checkpoint is signed after it,
every 10 s, audit.checkpoint_seconds):
  TO=$(date -u +%Y-%m-%dT%H:%M:%SZ); sleep 11
  ./build/gateway/hubgate report soc2 --database ${pg.url.replace('postgres@', 'auditor_demo@')} --from $(date -u +%Y-%m-%d) --to $TO --out var/quickstart/soc2-$TO --key ${path.join(gw.dir, 'audit-ed25519.pem')} --checkpoint ${checkpoints}
  ./build/gateway/hubgate report verify var/quickstart/soc2-$TO --pubkey ${path.join(gw.dir, 'audit-ed25519.pem')} --checkpoint ${checkpoints}
  # audrey (audit@acme.example, acme's auditor) downloads acme's report over SSO:
  AUDREY=$(curl -s -d client_id=audrey -d client_secret=${users.audrey.secret} -d grant_type=client_credentials ${idp.issuer}/token | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')
  curl -s -H "Authorization: Bearer $AUDREY" "${gw.url}/-/reports/soc2?from=$(date -u +%Y-%m-%d)&to=$TO&org=acme&format=html" -o acme-report.html

The audit log: every decision, committed before the request went upstream:
  psql ${pg.url} -c "select seq, kind, actor, repo, decision, status from audit_event order by seq desc limit 10"
  ./build/gateway/hubgate audit verify --database ${pg.url}

Ctrl-C stops everything.`);

  const sig = await untilSignal();
  console.log(`\nquickstart: ${sig}: stopping`);
  await teardownAll();
  console.log('quickstart: stopped');
}

main().catch(async (e) => {
  console.error(`quickstart: ${e.message}`);
  await teardownAll();
  process.exit(1);
});
