// deploy/kubernetes/hubgate.yaml (README, "Deploy"): every object validates against the
// Kubernetes API schemas (kubernetes-models, generated from the API's OpenAPI documents); the
// pods run as they must (non-root, read-only root, no privilege escalation, no capabilities,
// RuntimeDefault seccomp, probes on /-/ready and /-/health, each instance's audit stream named
// after its pod); the PodDisruptionBudget leaves instances up; the NetworkPolicy restricts both
// ways; and the configuration in the ConfigMap passes `hubgate serve --check` with the files
// it names. Broken copies are caught, so the checks can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO, makeTempDir, runHubgate } from '../lib/harness.mjs';

const FILE = path.join(REPO, 'deploy', 'kubernetes', 'hubgate.yaml');
const MODELS = {
  'v1/Namespace': 'kubernetes-models/v1/Namespace',
  'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount',
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Service': 'kubernetes-models/v1/Service',
  'apps/v1/StatefulSet': 'kubernetes-models/apps/v1/StatefulSet',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/NetworkPolicy': 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
};

const load = (text) => parseAllDocuments(text).map((d) => {
  assert.deepEqual(d.errors, [], 'YAML');
  return d.toJS();
});

// Schema problems, one per object that does not validate.
async function schemaProblems(objects) {
  const problems = [];
  for (const o of objects) {
    const key = `${o.apiVersion}/${o.kind}`;
    if (!MODELS[key]) {
      problems.push(`${key}: no schema known`);
      continue;
    }
    const mod = await import(MODELS[key]);
    try {
      new mod[o.kind](o).validate();
    } catch (e) {
      problems.push(`${key} ${o.metadata?.name}: ${e.message}`);
    }
  }
  return problems;
}

// What hubgate's pods must be, one line per problem.
function postureProblems(objects) {
  const p = [];
  const by = (kind) => objects.filter((o) => o.kind === kind);
  const [dep] = by('StatefulSet');
  if (!dep) return ['no StatefulSet (stable pod names keep each audit stream going)'];
  const spec = dep.spec.template.spec;
  const spool = spec.containers.find((c) => c.name === 'hubgate')?.volumeMounts?.find((m) => m.mountPath === '/var/lib/hubgate/spool');
  if (!spool || !(dep.spec.volumeClaimTemplates ?? []).some((v) => v.metadata.name === spool.name)) p.push('the spool does not outlive the pod');
  if (!(dep.spec.replicas >= 2)) p.push('fewer than 2 replicas');
  const pod = spec.securityContext ?? {};
  if (pod.runAsNonRoot !== true || !(pod.runAsUser > 0)) p.push('pods may run as root');
  if (pod.seccompProfile?.type !== 'RuntimeDefault') p.push('no RuntimeDefault seccomp profile');
  if (spec.automountServiceAccountToken !== false) p.push('the service account token is mounted');
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) p.push(`${c.name}: privilege escalation allowed`);
    if (sc.readOnlyRootFilesystem !== true) p.push(`${c.name}: writable root filesystem`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) p.push(`${c.name}: capabilities kept`);
    if (sc.privileged) p.push(`${c.name}: privileged`);
  }
  const main = spec.containers.find((c) => c.name === 'hubgate');
  if (main?.readinessProbe?.httpGet?.path !== '/-/ready') p.push('readiness is not /-/ready');
  if (main?.livenessProbe?.httpGet?.path !== '/-/health') p.push('liveness is not /-/health');
  const podName = main?.env?.find((e) => e.valueFrom?.fieldRef?.fieldPath === 'metadata.name');
  const config = JSON.parse(by('ConfigMap')[0]?.data?.['hubgate.json'] ?? '{}');
  if (!podName || config.audit?.stream !== `env:${podName.name}`) p.push('the audit stream is not named after the pod');
  const [pdb] = by('PodDisruptionBudget');
  if (!pdb || !(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < dep.spec.replicas)) p.push('no PodDisruptionBudget that leaves instances up and lets nodes drain');
  const [np] = by('NetworkPolicy');
  if (!np || !['Ingress', 'Egress'].every((t) => np.spec.policyTypes?.includes(t))) p.push('the NetworkPolicy does not restrict both ways');
  if (!by('Service').some((s) => s.spec.ports.some((x) => x.targetPort === 'http'))) p.push('no Service for the gateway');
  return p;
}

test('every object validates against the Kubernetes schemas, and the pods run as they must', async () => {
  const objects = load(fs.readFileSync(FILE, 'utf8'));
  assert.deepEqual(objects.map((o) => o.kind).sort(),
    ['ConfigMap', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service', 'Service', 'ServiceAccount', 'StatefulSet']);
  assert.deepEqual(await schemaProblems(objects), []);
  assert.deepEqual(postureProblems(objects), []);
});

test('broken copies are caught by the schema and by the posture checks', async () => {
  const text = fs.readFileSync(FILE, 'utf8');
  const typo = load(text.replace('replicas: 3', 'replicas: "3"'));
  assert.match((await schemaProblems(typo)).join('\n'), /StatefulSet hubgate: .*replicas/);
  const writable = load(text.replaceAll('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'));
  assert.ok(postureProblems(writable).includes('hubgate: writable root filesystem'));
  const root = load(text.replace('runAsNonRoot: true', 'runAsNonRoot: false'));
  assert.ok(postureProblems(root).includes('pods may run as root'));
  const deployment = load(text.replace('kind: StatefulSet', 'kind: Deployment'));
  assert.ok(postureProblems(deployment)[0].startsWith('no StatefulSet'));
  const ephemeral = load(text.replace(/  volumeClaimTemplates:\n(    .*\n|      .*\n)+/, ''));
  assert.ok(postureProblems(ephemeral).includes('the spool does not outlive the pod'));
  const shared = load(text.replace('"stream": "env:POD_NAME"', '"stream": "gw-1"'));
  assert.ok(postureProblems(shared).includes('the audit stream is not named after the pod'));
});

test('the ConfigMap\'s configuration passes serve --check with the files it names', async () => {
  const objects = load(fs.readFileSync(FILE, 'utf8'));
  const cm = objects.find((o) => o.kind === 'ConfigMap');
  const dir = makeTempDir('k8s-config');
  const secrets = path.join(dir, 'secrets');
  fs.mkdirSync(secrets);
  fs.mkdirSync(path.join(dir, 'spool'));
  const write = (name, text) => fs.writeFileSync(path.join(secrets, name), text, { mode: 0o600 });
  write('us.token', 'hf_example_service_token\n');
  write('egress.key', `${crypto.randomBytes(32).toString('hex')}\n`);
  write('login.secret', `${crypto.randomBytes(24).toString('base64url')}\n`);
  write('scim.token', `${crypto.randomBytes(32).toString('base64url')}\n`);
  assert.equal((await runHubgate(['keygen', '--out', path.join(secrets, 'audit-ed25519.pem')])).code, 0);
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  write('assertion.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(path.join(dir, 'policy.json'), cm.data['policy.json']);
  const config = cm.data['hubgate.json'].replaceAll('/run/hubgate/secrets', secrets)
    .replace('/etc/hubgate/policy.json', path.join(dir, 'policy.json'))
    .replace('/var/lib/hubgate/spool', path.join(dir, 'spool'));
  fs.writeFileSync(path.join(dir, 'hubgate.json'), config);
  const r = await runHubgate(['serve', '--config', path.join(dir, 'hubgate.json'), '--check'], { env: { POD_NAME: 'hubgate-1' } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const unnamed = await runHubgate(['serve', '--config', path.join(dir, 'hubgate.json'), '--check'], { env: { POD_NAME: '' } });
  assert.notEqual(unnamed.code, 0, 'without a pod name there is no stream name');
  assert.match(unnamed.stderr, /POD_NAME/);
});
