/**
 * Health, readiness and Prometheus metrics on every process, without credentials: `/healthz` says who answers,
 * `/readyz` checks the store, root key and (regions) the IAM link, `/metrics` counts calls by operation and code,
 * latency, audit writes, the outbox and replication, and the token and decision caches.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { healthRoutes } from '../src/api/health.js';
import { createHttpApp } from '../src/api/http.js';
import { signedRequest, startTestDeployment, type TestDeployment } from './helpers/deployment.js';

const N = 'cn-north-4';
const S = 'cn-south-1';
let d: TestDeployment;
before(async () => (d = await startTestDeployment({ regions: [N, S] })));
after(() => d.stop());

/** The value of one series of a Prometheus text exposition (labels in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const metricsOf = async (url: string) => {
  const res = await fetch(url + '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
};

test('/healthz names the process; /readyz checks its dependencies; neither needs credentials', async () => {
  const region = await fetch(d.endpoint(N) + '/healthz');
  assert.equal(region.status, 200);
  const body = await region.json() as Record<string, unknown>;
  assert.equal(body.status, 'ok');
  assert.equal(body.component, 'region');
  assert.equal(body.region, N);
  assert.equal(body.pid, process.pid, 'the test deployment runs in this process');
  const iam = await (await fetch(d.iamUrl + '/healthz')).json() as Record<string, unknown>;
  assert.equal(iam.component, 'iam');
  assert.equal(iam.region, undefined);

  const ready = await fetch(d.endpoint(S) + '/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready', checks: { store: 'ok', root_key: 'ok', iam: 'ok' } });
  assert.deepEqual(await (await fetch(d.iamUrl + '/readyz')).json(), { status: 'ready', checks: { store: 'ok', root_key: 'ok' } });
});

test('/readyz answers 503 with the reason when a check fails, and a check that hangs counts as failed', async () => {
  const app = createHttpApp({ logger: false });
  let storeDown = false;
  healthRoutes(app, { component: 'region', region: N }, {
    store: async () => {
      if (storeDown) throw new Error('database is locked');
    },
    root_key: async () => undefined,
    iam: () => new Promise(() => undefined),
  }, { cacheMs: 0, timeoutMs: 50 });
  let r = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(r.statusCode, 503);
  assert.deepEqual(r.json(), { status: 'not ready', checks: { store: 'ok', root_key: 'ok', iam: 'no answer within 50 ms' } });
  storeDown = true;
  r = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(r.json().checks.store, 'database is locked');
  // Alive all the same.
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  await app.close();
});

test('/metrics counts calls by operation, code and status, with latency, audit writes, caches, outbox and replication', async () => {
  const created = await d.kms(N, 'create-key', { key_alias: `metrics-${Date.now()}` });
  assert.equal(created.status, 200);
  const keyId = created.body.key_info.key_id as string;
  for (let i = 0; i < 3; i++) assert.equal((await d.kms(N, 'encrypt-data', { key_id: keyId, plain_text: 'counted' })).status, 200);
  assert.equal((await d.kms(N, 'describe-key', { key_id: '0d0466b0-e727-4d9c-b35d-f84bb474a37f' })).status, 404);
  const replicated = await signedRequest(d.endpoint(N), d.admin, d.projectId(N), 'POST', `/v2/${d.projectId(N)}/kms/keys/${keyId}/replicate`,
    { key_id: keyId, replica_region: S, key_alias: `metrics-replica-${Date.now()}`, replica_project_id: d.projectId(S) });
  assert.equal(replicated.status, 200, JSON.stringify(replicated.body));
  // A token call, twice: the second is a cache hit.
  const token = await d.token(N);
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${d.endpoint(N)}/v1.0/${d.projectId(N)}/kms/list-keys`, { method: 'POST', headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 200);
  }

  const text = await metricsOf(d.endpoint(N));
  const labels = { component: 'region', region: N };
  assert.equal(sample(text, 'strongroom_requests_total', { ...labels, operation: 'EncryptData', code: 'none', status: '200' }), 3);
  assert.equal(sample(text, 'strongroom_requests_total', { ...labels, operation: 'CreateKey', code: 'none', status: '200' }), 1);
  assert.equal(sample(text, 'strongroom_requests_total', { operation: 'ListKeyDetail', code: 'KMS.0207', status: '404' }), 1);
  assert.equal(sample(text, 'strongroom_request_duration_seconds_count', { operation: 'EncryptData' }), 3);
  assert.ok(sample(text, 'strongroom_request_duration_seconds_bucket', { operation: 'EncryptData', le: '+Inf' }) === 3);
  assert.ok((sample(text, 'strongroom_audit_write_seconds_count') ?? 0) >= 6, 'every call is audited');
  assert.ok((sample(text, 'strongroom_token_cache_total', { result: 'hit' }) ?? 0) >= 1);
  assert.ok((sample(text, 'strongroom_token_cache_total', { result: 'miss' }) ?? 0) >= 1);
  assert.ok((sample(text, 'strongroom_decision_cache_total', { result: 'hit' }) ?? 0) >= 1);
  assert.notEqual(sample(text, 'strongroom_outbox_messages', { target: S }), undefined, 'every other region is listed');
  assert.ok((sample(text, 'strongroom_process_resident_memory_bytes') ?? 0) > 0, 'default process metrics');
  // The replica's creation reaches the south: the outbox drains and the delay is observed.
  let after = text;
  for (const deadline = Date.now() + 15_000; (sample(after, 'strongroom_replication_delay_seconds_count', { target: S }) ?? 0) < 1; after = await metricsOf(d.endpoint(N))) {
    assert.ok(Date.now() < deadline, 'a delivery to the south is measured');
    await new Promise((r) => setTimeout(r, 200));
  }
  // Metrics never carry key ids or credentials.
  assert.ok(!after.includes(keyId) && !after.includes(d.admin.ak) && !after.includes(token.slice(0, 40)));
  // The metrics endpoint is not itself counted; IAM has its own.
  assert.equal(sample(after, 'strongroom_requests_total', { operation: 'unknown', status: '200' }), undefined);
  const iamText = await metricsOf(d.iamUrl);
  assert.ok((sample(iamText, 'strongroom_requests_total', { component: 'iam', status: '201' }) ?? 0) >= 1, 'the token issued');
});
