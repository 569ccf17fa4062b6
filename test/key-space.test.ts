/**
 * The trusted key space (issue #14; docs/reference/huawei-kms-api.md §2 P, §4 P 63–75): access points, key policies and
 * data-key capsules over the API, signed with the official signer; Custom attestation (core/attestation.ts), ECS and
 * CCE through the test platform, enclave recipients of derive-shared-secret and the data key pair operations, the
 * audit trail of capsule decisions, and the Python SDK's captured requests of the group routed.
 */
import assert from 'node:assert/strict';
import { diffieHellman, createPrivateKey, createPublicKey, generateKeyPairSync, privateDecrypt, constants, sign, createDecipheriv, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { checkCustomAttestation, NO_PLATFORM_ATTESTATION, parseIsoSeconds, testPlatformStatement, TestPlatformAttestation } from '../src/core/attestation.js';
import { recipientKey } from '../src/core/recipient.js';
import type { KmsStore } from '../src/storage/kms-store.js';
import { signedRequest, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';
import { referencePath } from './helpers/reference.js';
import { iamApi } from './helpers/iam.js';

const R = 'cn-north-4';
const MIN = 60_000;
const DAY = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const platform = generateKeyPairSync('ed25519');
let now = Date.now();
let d: TestDeployment;
let P: string;

before(async () => {
  d = await startTestDeployment({ regions: [R], clock: () => now, platformAttestation: new TestPlatformAttestation(platform.publicKey) });
  P = d.projectId(R);
});
after(() => d.stop());

const call = (method: string, path: string, body?: object, query?: Record<string, string>): Promise<Reply> =>
  signedRequest(d.endpoint(R), d.admin, P, method, `/v1.0/${P}/kms/${path}`, body, query);

async function ok(r: Promise<Reply> | Reply, status = 200): Promise<any> {
  const reply = await r;
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  return reply.body;
}

async function fails(r: Promise<Reply>, status: number, code: string): Promise<string> {
  const reply = await r;
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body?.error?.error_code, code, JSON.stringify(reply.body));
  return reply.body.error.error_msg as string;
}

const keyspace = () => crypto.randomUUID();
const store = (): KmsStore => d.regions.get(R)!.api.auditTrail as unknown as KmsStore;

async function customAccessPoint(ks: string, name = 'app-' + Math.random().toString(36).slice(2)): Promise<{ id: string; key: KeyObject }> {
  const id = (await ok(call('POST', 'access-points', { keyspace_id: ks, access_point_name: name, type: 3 }), 201)).access_point_id as string;
  const der = (await ok(call('POST', `access-points/${id}/get-privatekey`))).private_key as string;
  return { id, key: createPrivateKey({ key: Buffer.from(der, 'base64'), format: 'der', type: 'pkcs8' }) };
}

/** A Custom attestation document as issue #14 defines it: the capsule and expire_time signed with the access point's key. */
function attest(key: KeyObject, capsule: string, expire = iso(now + 5 * MIN), publicKey: KeyObject = createPublicKey(key)) {
  const signature = key.asymmetricKeyType === 'ec'
    ? sign('sha256', Buffer.from(capsule + expire, 'utf8'), { key, dsaEncoding: 'der' })
    : sign('sha256', Buffer.from(capsule + expire, 'utf8'), key);
  return {
    custom_signature: signature.toString('base64'),
    custom_public_key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    expire_time: expire,
  };
}

function policyDoc(allowed: string[], over: { start?: number; end?: number; zones?: string[] } = {}): string {
  return JSON.stringify({
    version: '1.0',
    validity_period: { start_time: iso(over.start ?? now - MIN), end_time: iso(over.end ?? now + DAY) },
    allowed_access_point: allowed,
    allowed_data_security_zone: over.zones ?? [],
  });
}

async function newKey(): Promise<string> {
  return (await ok(d.kms(R, 'create-key', { key_alias: 'ks-' + Math.random().toString(36).slice(2) }))).key_info.key_id;
}

/** The platform's evidence for the test platform (core/attestation.ts TestPlatformAttestation). */
function platformEvidence(kind: 'ECS' | 'CCE' | 'ENCLAVE', subject: string, challenge = ''): string {
  return `${subject}.${sign(null, testPlatformStatement(kind, subject, challenge), platform.privateKey).toString('base64')}`;
}

describe('access points', () => {
  test('create (201) of the three types, listed by key space with the SDK spellings, paged; bad input refused with its code', async () => {
    const ks = keyspace();
    const custom = (await ok(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'custom-1', type: 3, description: 'a workload' }), 201)).access_point_id;
    const ecs = (await ok(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'ecs-1', type: 1, identity: 'i-0abc' }), 201)).access_point_id;
    const cce = (await ok(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'cce-1', type: 2, identity: 'cluster-public-key', cluster_id: 'cl-1' }), 201)).access_point_id;
    for (const id of [custom, ecs, cce]) assert.match(id, UUID);
    await ok(call('POST', 'access-points', { keyspace_id: keyspace(), access_point_name: 'elsewhere', type: 3 }), 201);

    const all = await ok(call('GET', 'access-points', undefined, { keyspace_id: ks }));
    assert.equal(all.page_info.current_count, 3);
    assert.equal(all.page_info.next_marker, '');
    const ids = [custom, ecs, cce].sort();
    assert.deepEqual(all.access_points.map((a: { access_point_id: string }) => a.access_point_id), ids);
    const item = all.access_points.find((a: { access_point_id: string }) => a.access_point_id === cce);
    assert.deepEqual(Object.keys(item).sort(), ['access_point_id', 'access_point_name', 'create_time', 'created_by', 'keyspace_id', 'lsat_modify_time', 'state', 'type']);
    assert.equal(item.keyspace_id, ks);
    assert.equal(item.access_point_name, 'cce-1');
    assert.equal(item.state, 1);
    assert.equal(item.type, 2);
    assert.match(item.create_time, ISO);
    assert.match(item.lsat_modify_time, ISO);
    assert.match(item.created_by, /^[0-9a-f]{32}$/);

    const first = await ok(call('GET', 'access-points', undefined, { keyspace_id: ks, limit: '2' }));
    assert.deepEqual(first.access_points.map((a: { access_point_id: string }) => a.access_point_id), ids.slice(0, 2));
    assert.equal(first.page_info.next_marker, ids[1]);
    const second = await ok(call('GET', 'access-points', undefined, { keyspace_id: ks, limit: '2', marker: first.page_info.next_marker }));
    assert.deepEqual(second.access_points.map((a: { access_point_id: string }) => a.access_point_id), ids.slice(2));
    assert.deepEqual(second.page_info, { next_marker: '', current_count: 1 });

    await fails(call('GET', 'access-points', undefined, { keyspace_id: ks, limit: '0' }), 400, 'KMS.1601');
    await fails(call('GET', 'access-points', undefined, { keyspace_id: ks, limit: '101' }), 400, 'KMS.1601');
    await fails(call('GET', 'access-points', undefined, { keyspace_id: ks, marker: 'x' }), 400, 'KMS.0308');
    await fails(call('GET', 'access-points', undefined, {}), 400, 'KMS.0204');
    await fails(call('GET', 'access-points', undefined, { keyspace_id: 'not-a-uuid' }), 400, 'KMS.0308');

    await fails(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'ecs', type: 1 }), 400, 'KMS.0204');
    await fails(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'cce', type: 2, identity: 'k' }), 400, 'KMS.0204');
    await fails(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'ecs', type: 1, identity: 'i-1', cluster_id: 'c' }), 400, 'KMS.0308');
    await fails(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'custom', type: 3, identity: 'mine' }), 400, 'KMS.0308');
    await fails(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'x', type: 4 }), 400, 'KMS.0308');
    await fails(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'bad name!', type: 3 }), 400, 'KMS.0308');
    await fails(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'x', type: '3' }), 400, 'KMS.0308');
    await fails(call('POST', 'access-points', { access_point_name: 'x', type: 3 }), 400, 'KMS.0204');
    assert.equal((await ok(call('GET', 'access-points', undefined, { keyspace_id: ks }))).access_points.length, 3, 'refused creations made nothing');
  });

  test('disable, enable, delete; get-privatekey for Custom only, the key kept wrapped at rest', async () => {
    const ks = keyspace();
    const custom = (await ok(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'c', type: 3 }), 201)).access_point_id;
    const ecs = (await ok(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'e', type: 1, identity: 'i-1' }), 201)).access_point_id;
    const cce = (await ok(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'k', type: 2, identity: 'pub', cluster_id: 'cl' }), 201)).access_point_id;
    const state = async (id: string) => (await ok(call('GET', 'access-points', undefined, { keyspace_id: ks }))).access_points.find((a: { access_point_id: string }) => a.access_point_id === id).state;

    assert.equal((await call('POST', `access-points/${custom}/disable`)).status, 200);
    assert.equal(await state(custom), 0);
    assert.equal((await call('POST', `access-points/${custom}/disable`)).status, 200, 'disabling again changes nothing');
    assert.equal((await call('POST', `access-points/${custom}/enable`)).status, 200);
    assert.equal(await state(custom), 1);

    const der = Buffer.from((await ok(call('POST', `access-points/${custom}/get-privatekey`))).private_key, 'base64');
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const row = (await store().getAccessPoint(P, custom))!;
    assert.deepEqual(row.publicKey, createPublicKey(key).export({ format: 'der', type: 'spki' }), 'the stored public key is the pair\'s');
    const secret = key.export({ format: 'jwk' }).d as string;
    assert.equal(row.wrappedPrivateKey!.includes(Buffer.from(secret, 'base64url')), false, 'the private scalar is not stored in the clear');
    assert.equal(row.wrappedPrivateKey!.includes(der), false);

    for (const id of [ecs, cce]) await fails(call('POST', `access-points/${id}/get-privatekey`), 400, 'KMS.0308');
    const missing = crypto.randomUUID();
    for (const [m, p] of [['POST', `${missing}/get-privatekey`], ['POST', `${missing}/enable`], ['POST', `${missing}/disable`], ['DELETE', missing]] as const) {
      await fails(call(m, `access-points/${p}`), 400, 'KMS.0308');
    }
    await fails(call('POST', 'access-points/not-a-uuid/enable'), 400, 'KMS.0308');

    assert.equal((await call('DELETE', `access-points/${ecs}`)).status, 204);
    await fails(call('DELETE', `access-points/${ecs}`), 400, 'KMS.0308');
    assert.deepEqual((await ok(call('GET', 'access-points', undefined, { keyspace_id: ks }))).access_points.map((a: { access_point_id: string }) => a.access_point_id).sort(), [custom, cce].sort());
  });
});

describe('key policies', () => {
  test('create, show, list (validityPeriod, allowedAccessPoint), update, delete; malformed documents refused', async () => {
    const ks = keyspace();
    const ap = crypto.randomUUID();
    const doc = policyDoc([ap], { zones: ['zone-a'] });
    const id = (await ok(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'p-1', policy: doc, description: 'first' }))).policy_id;
    assert.match(id, UUID);
    const shown = await ok(call('GET', `key-policies/${id}`));
    assert.deepEqual(shown.policy, JSON.parse(doc));
    assert.equal(shown.policy_id, id);
    assert.equal(shown.policy_name, 'p-1');
    assert.equal(shown.keyspace_id, ks);
    assert.equal(shown.description, 'first');
    assert.match(shown.create_time, ISO);
    assert.match(shown.last_modify_time, ISO);
    assert.equal(shown.last_access_time, undefined, 'never used');

    const second = (await ok(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'p-2', policy: policyDoc([]) }))).policy_id;
    const listed = await ok(call('GET', 'key-policies', undefined, { keyspace_id: ks, limit: '1' }));
    const [firstId, secondId] = [id, second].sort();
    assert.deepEqual(listed.page_info, { next_marker: firstId, current_count: 1 });
    const item = listed.keyspace_policies[0];
    assert.equal(item.policy_id, firstId);
    assert.deepEqual(Object.keys(item.policy).sort(), ['allowedAccessPoint', 'allowed_data_security_zone', 'validityPeriod', 'version']);
    const rest = await ok(call('GET', 'key-policies', undefined, { keyspace_id: ks, marker: listed.page_info.next_marker }));
    assert.deepEqual(rest.keyspace_policies.map((p: { policy_id: string }) => p.policy_id), [secondId]);
    const mine = [...listed.keyspace_policies, ...rest.keyspace_policies].find((p: { policy_id: string }) => p.policy_id === id);
    assert.deepEqual(mine.policy, { version: '1.0', validityPeriod: JSON.parse(doc).validity_period, allowedAccessPoint: [ap], allowed_data_security_zone: ['zone-a'] });
    assert.deepEqual((await ok(call('GET', 'key-policies', undefined, { keyspace_id: keyspace() }))).keyspace_policies, []);

    const changed = policyDoc([ap, crypto.randomUUID()]);
    const updated = await ok(call('PUT', `key-policies/${id}`, { policy: changed }));
    assert.deepEqual(Object.keys(updated).sort(), ['description', 'last_modify_time', 'policy', 'policy_id']);
    assert.deepEqual(updated.policy, JSON.parse(changed));
    assert.equal(updated.description, 'first', 'a description not sent is kept');
    assert.equal((await ok(call('PUT', `key-policies/${id}`, { policy: changed, description: 'second' }))).description, 'second');
    assert.deepEqual((await ok(call('GET', `key-policies/${id}`))).policy, JSON.parse(changed));

    const bad = (policy: string) => call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'bad', policy });
    await fails(bad('{not json'), 400, 'KMS.0308');
    await fails(bad('[]'), 400, 'KMS.0308');
    await fails(bad(policyDoc([ap], { start: now + DAY, end: now })), 400, 'KMS.2801');
    await fails(bad(JSON.stringify({ ...JSON.parse(doc), validity_period: { start_time: '2026-01-01', end_time: '2027-01-01T00:00:00Z' } })), 400, 'KMS.0308');
    await fails(bad(JSON.stringify({ ...JSON.parse(doc), extra: true })), 400, 'KMS.0308');
    await fails(bad(JSON.stringify({ ...JSON.parse(doc), allowed_access_point: ['not-an-id'] })), 400, 'KMS.0308');
    await fails(bad(JSON.stringify({ ...JSON.parse(doc), version: 1 })), 400, 'KMS.0308');
    await fails(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'bad' }), 400, 'KMS.0204');
    await fails(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'bad name', policy: doc }), 400, 'KMS.0308');
    await fails(call('PUT', `key-policies/${id}`, { policy: '{}' }), 400, 'KMS.0308');
    assert.deepEqual((await ok(call('GET', `key-policies/${id}`))).policy, JSON.parse(changed), 'a refused update changes nothing');
    await fails(call('PUT', `key-policies/${crypto.randomUUID()}`, { policy: changed }), 400, 'KMS.0308');
    await fails(call('GET', `key-policies/${crypto.randomUUID()}`), 400, 'KMS.0308');

    assert.equal((await call('DELETE', `key-policies/${id}`)).status, 204);
    await fails(call('GET', `key-policies/${id}`), 400, 'KMS.0308');
    await fails(call('DELETE', `key-policies/${id}`), 400, 'KMS.0308');
  });
});

describe('data-key capsules', () => {
  let ks: string;
  let key: string;
  let a: { id: string; key: KeyObject };
  let b: { id: string; key: KeyObject };
  let policy: string;
  let capsule: string;
  let dataKey: string;
  const open = (body: object) => call('POST', 'datakey-capsule/decrypt', body);

  before(async () => {
    ks = keyspace();
    key = await newKey();
    a = await customAccessPoint(ks);
    b = await customAccessPoint(ks);
    policy = (await ok(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'only-a', policy: policyDoc([a.id]) }))).policy_id;
    const made = await ok(call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', policy_id: policy }));
    assert.deepEqual(Object.keys(made).sort(), ['datakey', 'datakey_capsule', 'key_id']);
    assert.equal(made.key_id, key);
    assert.match(made.datakey, /^[0-9A-F]{64}$/);
    capsule = made.datakey_capsule;
    dataKey = made.datakey;
  });

  test('an allowed Custom access point with a fresh attestation opens it (also to a public key); the audit trail records it', async () => {
    const opened = await ok(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(a.key, capsule) }));
    assert.deepEqual(opened, { key_id: key, instance_id: a.id, datakey: dataKey });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = rsa.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const sealed = await ok(open({ key_id: key, datakey_capsule: capsule, public_key: spki, attestation_document: attest(a.key, capsule) }));
    assert.equal(sealed.datakey, undefined);
    const plain = privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(sealed.datakey_cipher, 'base64'));
    assert.equal(plain.toString('hex').toUpperCase(), dataKey);
    const shown = await ok(call('GET', `key-policies/${policy}`));
    assert.match(shown.last_access_time, ISO, 'using the policy sets last_access_time');
    const short = await ok(call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '128', policy_id: policy, public_key: spki }));
    assert.equal(short.datakey, undefined);
    assert.equal(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(short.datakey_cipher, 'base64')).length, 16);
    const records = await d.regions.get(R)!.api.auditTrail.auditRecords({ keyId: key, limit: 1000 });
    const opens = records.filter((r) => r.operation === 'DecryptDatakeyCapsule');
    assert.ok(opens.some((r) => r.status === 200 && r.error_code === null && r.action === 'kms:dek:decryptCapsule'));
  });

  test('refused for another access point, a key of another signer, an attestation for another capsule, a stale or far expire_time', async () => {
    const message = await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(b.key, capsule) }), 403, 'KMS.0306');
    assert.match(message, /does not allow access point/);
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.match(await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(stranger, capsule, undefined, createPublicKey(a.key)) }), 403, 'KMS.0306'), /does not verify/);
    assert.match(await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(stranger, capsule) }), 403, 'KMS.0306'), /No access point/);
    const other = (await ok(call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', policy_id: policy }))).datakey_capsule;
    const forOther = attest(a.key, other);
    assert.match(await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: forOther }), 403, 'KMS.0306'), /does not verify/);
    assert.match(await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(a.key, capsule, iso(now - 1000)) }), 403, 'KMS.0306'), /expired/);
    assert.match(await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(a.key, capsule, iso(now + DAY + MIN)) }), 403, 'KMS.0306'), /one day/);
    await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(a.key, capsule, '2030-01-01 00:00:00') }), 400, 'KMS.3804');
    await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: {} }), 400, 'KMS.3804');
    await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: { ...attest(a.key, capsule), custom_public_key: 'bm90IGEga2V5' } }), 400, 'KMS.3804');
    await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: { custom_signature: 'AAAA', custom_public_key: attest(a.key, capsule).custom_public_key } }), 400, 'KMS.3804');
    await fails(open({ key_id: key, datakey_capsule: capsule }), 400, 'KMS.0204');
    const records = await d.regions.get(R)!.api.auditTrail.auditRecords({ keyId: key, limit: 1000 });
    const refused = records.filter((r) => r.operation === 'DecryptDatakeyCapsule' && r.error_code === 'KMS.0306');
    assert.ok(refused.length >= 6, 'every refusal is in the audit trail with its code');
    assert.ok(refused.every((r) => r.status === 403 && r.key_ids.includes(key)));
  });

  test('refused after the access point is disabled, and again once enabled; after it is deleted', async () => {
    await ok(call('POST', `access-points/${a.id}/disable`));
    assert.match(await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(a.key, capsule) }), 403, 'KMS.0306'), /disabled/);
    await ok(call('POST', `access-points/${a.id}/enable`));
    await ok(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(a.key, capsule) }));
    const gone = await customAccessPoint(ks);
    await ok(call('PUT', `key-policies/${policy}`, { policy: policyDoc([a.id, gone.id]) }));
    await ok(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(gone.key, capsule) }));
    assert.equal((await call('DELETE', `access-points/${gone.id}`)).status, 204);
    await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(gone.key, capsule) }), 403, 'KMS.0306');
    await ok(call('PUT', `key-policies/${policy}`, { policy: policyDoc([a.id]) }));
  });

  test('policy updates take effect at once: access point removed and added back, validity ended; a deleted policy opens nothing', async () => {
    await ok(call('PUT', `key-policies/${policy}`, { policy: policyDoc([b.id]) }));
    await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(a.key, capsule) }), 403, 'KMS.0306');
    assert.equal((await ok(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(b.key, capsule) }))).instance_id, b.id);
    await ok(call('PUT', `key-policies/${policy}`, { policy: policyDoc([a.id], { start: now - DAY, end: now - MIN }) }));
    assert.match(await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(a.key, capsule) }), 403, 'KMS.0306'), /validity period/);
    await ok(call('PUT', `key-policies/${policy}`, { policy: policyDoc([a.id], { start: now + MIN, end: now + DAY }) }));
    await fails(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(a.key, capsule) }), 403, 'KMS.0306');
    await ok(call('PUT', `key-policies/${policy}`, { policy: policyDoc([a.id]) }));
    await ok(open({ key_id: key, datakey_capsule: capsule, attestation_document: attest(a.key, capsule) }));

    const doomed = (await ok(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'doomed', policy: policyDoc([a.id]) }))).policy_id;
    const bound = (await ok(call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', policy_id: doomed }))).datakey_capsule;
    await ok(open({ key_id: key, datakey_capsule: bound, attestation_document: attest(a.key, bound) }));
    assert.equal((await call('DELETE', `key-policies/${doomed}`)).status, 204);
    assert.match(await fails(open({ key_id: key, datakey_capsule: bound, attestation_document: attest(a.key, bound) }), 403, 'KMS.0306'), /no longer exists/);
  });

  test('an access point of another key space is refused even when a policy names it', async () => {
    const stranger = await customAccessPoint(keyspace());
    const naming = (await ok(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'names-a-stranger', policy: policyDoc([stranger.id]) }))).policy_id;
    const c = (await ok(call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', policy_id: naming }))).datakey_capsule;
    assert.match(await fails(open({ key_id: key, datakey_capsule: c, attestation_document: attest(stranger.key, c) }), 403, 'KMS.0306'), /another key space/);
  });

  test('refused once the policy\'s validity period is over (the region\'s clock moved past end_time)', async () => {
    const ending = (await ok(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'ending', policy: policyDoc([a.id], { end: now + 10 * MIN }) }))).policy_id;
    const c = (await ok(call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', policy_id: ending }))).datakey_capsule;
    await ok(open({ key_id: key, datakey_capsule: c, attestation_document: attest(a.key, c) }));
    const saved = now;
    now += 20 * MIN;
    try {
      assert.match(await fails(open({ key_id: key, datakey_capsule: c, attestation_document: attest(a.key, c) }), 403, 'KMS.0306'), /validity period/);
      await fails(call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', policy_id: ending }), 403, 'KMS.0306');
    } finally {
      now = saved;
    }
  });

  test('a changed capsule does not open: altered blob, a binding moved to another policy, another key_id; decrypt-datakey does not open it', async () => {
    const bytes = Buffer.from(capsule, 'base64');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 5]! ^= 1;
    const altered = flipped.toString('base64');
    await fails(open({ key_id: key, datakey_capsule: altered, attestation_document: attest(a.key, altered) }), 400, 'KMS.2201');
    // The binding names the policy: pointing it at a policy that allows b does not let b open a's capsule.
    const forB = (await ok(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'for-b', policy: policyDoc([b.id]) }))).policy_id;
    const n = bytes.readUInt16BE(0);
    const binding = bytes.subarray(2, 2 + n).toString('utf8').replace(policy, forB);
    const moved = Buffer.concat([Buffer.from([Buffer.byteLength(binding) >> 8, Buffer.byteLength(binding) & 0xff]), Buffer.from(binding), bytes.subarray(2 + n)]).toString('base64');
    await fails(open({ key_id: key, datakey_capsule: moved, attestation_document: attest(b.key, moved) }), 400, 'KMS.2201');
    await fails(open({ key_id: key, datakey_capsule: 'AAAA', attestation_document: attest(a.key, 'AAAA') }), 400, 'KMS.2201');
    const otherKey = await newKey();
    await fails(open({ key_id: otherKey, datakey_capsule: capsule, attestation_document: attest(a.key, capsule) }), 400, 'KMS.2201');
    const blob = bytes.subarray(2 + n).toString('hex');
    await fails(d.kms(R, 'decrypt-datakey', { key_id: key, cipher_text: blob, datakey_cipher_length: '32' }), 400, 'KMS.2201');
  });

  test('inline key_policy; create refuses both or neither policy, unknown policies, bad lengths and public keys, a disabled key', async () => {
    const made = await ok(call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', key_policy: policyDoc([b.id]) }));
    assert.equal((await ok(open({ key_id: key, datakey_capsule: made.datakey_capsule, attestation_document: attest(b.key, made.datakey_capsule) }))).datakey, made.datakey);
    await fails(open({ key_id: key, datakey_capsule: made.datakey_capsule, attestation_document: attest(a.key, made.datakey_capsule) }), 403, 'KMS.0306');
    const create = (over: object) => call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', ...over });
    await fails(create({ policy_id: policy, key_policy: policyDoc([a.id]) }), 400, 'KMS.0308');
    await fails(create({}), 400, 'KMS.0204');
    await fails(create({ policy_id: crypto.randomUUID() }), 400, 'KMS.0308');
    await fails(create({ key_policy: '{}' }), 400, 'KMS.0308');
    await fails(create({ policy_id: policy, datakey_length: '512' }), 400, 'KMS.0308');
    await fails(create({ policy_id: policy, public_key: Buffer.from('not a key').toString('base64') }), 400, 'KMS.0308');
    await fails(create({ policy_id: policy, key_id: crypto.randomUUID() }), 404, 'KMS.0207');
    const disabled = await newKey();
    await ok(d.kms(R, 'disable-key', { key_id: disabled }));
    await fails(call('POST', 'datakey-capsule/create', { key_id: disabled, datakey_length: '256', policy_id: policy }), 400, 'KMS.0209');
  });
});

test('IAM decides each operation on its own action: a workload allowed only kms:dek:decryptCapsule opens capsules and nothing else', async () => {
  const api = iamApi(d);
  const role = await api.createPolicy('capsule-opener', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:dek:decryptCapsule'] }] });
  const user = await api.userWith('capsule-opener', [role], { project: P });
  const as = (method: string, path: string, body?: object) => signedRequest(d.endpoint(R), user.creds, P, method, `/v1.0/${P}/kms/${path}`, body);
  const ks = keyspace();
  const key = await newKey();
  const ap = await customAccessPoint(ks);
  const policy = (await ok(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'iam', policy: policyDoc([ap.id]) }))).policy_id;
  const c = (await ok(call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', policy_id: policy }))).datakey_capsule;
  await ok(as('POST', 'datakey-capsule/decrypt', { key_id: key, datakey_capsule: c, attestation_document: attest(ap.key, c) }));
  await fails(as('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', policy_id: policy }), 403, 'KMS.0306');
  await fails(as('POST', `access-points/${ap.id}/get-privatekey`), 403, 'KMS.0306');
  await fails(as('POST', 'access-points', { keyspace_id: ks, access_point_name: 'x', type: 3 }), 403, 'KMS.0306');
  await fails(as('PUT', `key-policies/${policy}`, { policy: policyDoc([]) }), 403, 'KMS.0306');
  await fails(as('GET', `key-policies/${policy}`), 403, 'KMS.0306');
});

describe('ECS and CCE access points through the test platform', () => {
  test('platform evidence bound to the capsule opens it for the allowed instance or cluster; anything else is refused', async () => {
    const ks = keyspace();
    const key = await newKey();
    const ecs = (await ok(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'ecs', type: 1, identity: 'i-ecs-1' }), 201)).access_point_id;
    const cce = (await ok(call('POST', 'access-points', { keyspace_id: ks, access_point_name: 'cce', type: 2, identity: 'cluster-key', cluster_id: 'cl-9' }), 201)).access_point_id;
    const policy = (await ok(call('POST', 'key-policies', { keyspace_id: ks, policy_name: 'platform', policy: policyDoc([ecs, cce]) }))).policy_id;
    const made = await ok(call('POST', 'datakey-capsule/create', { key_id: key, datakey_length: '256', policy_id: policy }));
    const c = made.datakey_capsule as string;
    const open = (attestation_document: object) => call('POST', 'datakey-capsule/decrypt', { key_id: key, datakey_capsule: c, attestation_document });
    assert.deepEqual(await ok(open({ ecs_signature: platformEvidence('ECS', 'i-ecs-1', c) })), { key_id: key, instance_id: 'i-ecs-1', datakey: made.datakey });
    assert.deepEqual(await ok(open({ service_token: platformEvidence('CCE', 'cl-9', c) })), { key_id: key, instance_id: 'cl-9', datakey: made.datakey });
    await fails(open({ ecs_signature: platformEvidence('ECS', 'i-ecs-1', 'another capsule') }), 403, 'KMS.0306');
    await fails(open({ ecs_signature: platformEvidence('ECS', 'i-ecs-2', c) }), 403, 'KMS.0306');
    await fails(open({ ecs_signature: platformEvidence('CCE', 'i-ecs-1', c) }), 403, 'KMS.0306');
    await fails(open({ service_token: 'cl-9.' + Buffer.alloc(64).toString('base64') }), 403, 'KMS.0306');
    await ok(call('POST', `access-points/${ecs}/disable`));
    await fails(open({ ecs_signature: platformEvidence('ECS', 'i-ecs-1', c) }), 403, 'KMS.0306');
  });
});

describe('enclave recipients', () => {
  const enclave = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = enclave.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const recipient = () => ({ attestation_document: platformEvidence('ENCLAVE', spki), key_encryption_algorithm: 'RSAES_OAEP_SHA_256' });

  test('derive-shared-secret answers ciphertext_recipient (RSAES-OAEP-SHA-256 to the enclave) instead of shared_secret', async () => {
    const key = (await ok(d.kms(R, 'create-key', { key_alias: 'agree-' + Date.now(), key_spec: 'EC_P256', key_usage: 'KEY_AGREEMENT' }))).key_info.key_id;
    const kmsPublic = createPublicKey((await ok(d.kms(R, 'get-publickey', { key_id: key }))).public_key);
    const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const peerSpki = peer.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const plain = await ok(d.kms(R, 'derive-shared-secret', { key_id: key, key_agreement_algorithm: 'ECDH', public_key: peerSpki }));
    const expected = diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublic });
    assert.equal(plain.shared_secret, expected.toString('base64'));
    const sealed = await ok(d.kms(R, 'derive-shared-secret', { key_id: key, key_agreement_algorithm: 'ECDH', public_key: peerSpki, recipient: recipient() }));
    assert.equal(sealed.shared_secret, undefined);
    const opened = privateDecrypt({ key: enclave.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(sealed.ciphertext_recipient, 'base64'));
    assert.deepEqual(opened, expected);
    await fails(d.kms(R, 'derive-shared-secret', { key_id: key, key_agreement_algorithm: 'ECDH', public_key: peerSpki, recipient: { ...recipient(), attestation_document: `${spki}.${Buffer.alloc(64).toString('base64')}` } }), 400, 'KMS.3804');
    await fails(d.kms(R, 'derive-shared-secret', { key_id: key, key_agreement_algorithm: 'ECDH', public_key: peerSpki, recipient: { ...recipient(), key_encryption_algorithm: 'RSAES_OAEP_SHA_1' } }), 400, 'KMS.0308');
  });

  test('a data key pair\'s private key goes to the enclave as an envelope: OAEP-wrapped AES key, then AES-256-GCM', async () => {
    const key = await newKey();
    const pair = await ok(d.kms(R, 'create-rsa-datakey-pair', { key_id: key, key_spec: 'RSA_2048', recipient: recipient() }));
    assert.equal(pair.private_key_plain_text, undefined);
    const envelope = Buffer.from(pair.ciphertext_recipient, 'base64');
    const contentKey = privateDecrypt({ key: enclave.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, envelope.subarray(0, 256));
    const payload = envelope.subarray(256);
    const decipher = createDecipheriv('aes-256-gcm', contentKey, payload.subarray(0, 12));
    decipher.setAuthTag(payload.subarray(payload.length - 16));
    const pkcs8 = Buffer.concat([decipher.update(payload.subarray(12, payload.length - 16)), decipher.final()]);
    const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    assert.equal(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64'), pair.public_key);
    const decrypted = await ok(d.kms(R, 'decrypt-data', { cipher_text: pair.private_key_cipher_text }));
    assert.equal(decrypted.plain_text_base64, pkcs8.toString('base64'), 'the private key sealed under the key is the same');
    const ec = await ok(d.kms(R, 'create-ec-datakey-pair', { key_id: key, key_spec: 'ECC_NIST_P256', recipient: recipient() }));
    assert.equal(ec.private_key_plain_text, undefined);
    // An EC P-256 private key (PKCS#8, under 190 bytes) fits one RSAES-OAEP block: no envelope.
    const ecPkcs8 = privateDecrypt({ key: enclave.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(ec.ciphertext_recipient, 'base64'));
    assert.equal(createPublicKey(createPrivateKey({ key: ecPkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }).toString('base64'), ec.public_key);
    await fails(d.kms(R, 'create-ec-datakey-pair', { key_id: key, key_spec: 'ECC_NIST_P256', recipient: { ...recipient(), attestation_document: 'garbage' } }), 400, 'KMS.3804');
  });
});

test('the Python SDK\'s captured requests of the key-space group reach their operations', async () => {
  const ops = new Set(['CreateAccessPoint', 'ListAccessPoint', 'DeleteAccessPoint', 'EnableAccessPoint', 'DisableAccessPoint', 'DownloadAccessPointPrivateKey',
    'CreateKeyPolicy', 'ListKeyPolicy', 'ShowKeyPolicy', 'UpdateKeyPolicy', 'DeleteKeyPolicy', 'CreateDatakeyCapsule', 'DecryptDatakeyCapsule']);
  const captured = readFileSync(referencePath('sdk-captured-requests.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {
    sdk_operation: string; method: string; path: string; query_params: [string, string][]; body_json?: object;
  }).filter((c) => ops.has(c.sdk_operation));
  assert.deepEqual(new Set(captured.map((c) => c.sdk_operation)), ops, 'the fixture has every operation of the group');
  for (const c of captured) {
    const path = c.path.replace(/^\/v1\.0\/[0-9a-f]{32}\//, `/v1.0/${P}/`);
    const reply = await signedRequest(d.endpoint(R), d.admin, P, c.method, path, c.body_json, c.query_params.length ? Object.fromEntries(c.query_params) : undefined);
    assert.ok(reply.status !== 404 && reply.status !== 405, `${c.sdk_operation} ${c.method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
    if (reply.status >= 400) assert.match(reply.body.error.error_code, /^KMS\.(0308|0207|0306|2201)$/, `${c.sdk_operation}: ${JSON.stringify(reply.body)}`);
  }
  const trail = await d.regions.get(R)!.api.auditTrail.auditRecords({ limit: 100_000 });
  for (const op of ops) assert.ok(trail.some((r) => r.operation === op), `${op} is in the audit trail`);
});

describe('attestation rules (core/attestation.ts, core/recipient.ts)', () => {
  const capsule = 'Y2Fwc3VsZQ==';
  const t = Date.UTC(2026, 0, 1);
  const expire = iso(t + MIN);
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return (err as { code?: string }).code;
    }
    return 'none';
  };

  test('an RSA key verifies RSASSA-PKCS1-v1_5 with SHA-256 over the capsule and expire_time, nothing else', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signed = Buffer.from(capsule + expire, 'utf8');
    const pkcs1 = sign('sha256', signed, rsa.privateKey);
    assert.equal(code(() => checkCustomAttestation(rsa.publicKey, pkcs1, capsule, expire, t)), 'none');
    const pss = sign('sha256', signed, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING });
    assert.equal(code(() => checkCustomAttestation(rsa.publicKey, pss, capsule, expire, t)), 'KMS.0306');
    assert.equal(code(() => checkCustomAttestation(rsa.publicKey, pkcs1, capsule + 'x', expire, t)), 'KMS.0306');
    const ed = generateKeyPairSync('ed25519');
    assert.equal(code(() => checkCustomAttestation(ed.publicKey, sign(null, signed, ed.privateKey), capsule, expire, t)), 'KMS.3804');
    assert.equal(code(() => checkCustomAttestation(rsa.publicKey, pkcs1, capsule, '2026-02-30T00:00:00Z', t)), 'KMS.3804');
    assert.equal(parseIsoSeconds('2026-02-30T00:00:00Z'), null);
    assert.equal(parseIsoSeconds('2026-01-01T00:00:00.000Z'), null);
    assert.equal(parseIsoSeconds('2026-01-01T00:00:00Z'), t);
  });

  test('without a platform, ECS/CCE evidence and enclave recipients verify nothing', async () => {
    assert.equal(await NO_PLATFORM_ATTESTATION.workload('ECS', platformEvidence('ECS', 'i-1', capsule), capsule), null);
    await assert.rejects(recipientKey(NO_PLATFORM_ATTESTATION, { attestation_document: platformEvidence('ENCLAVE', 'x'), key_encryption_algorithm: 'RSAES_OAEP_SHA_256' }), (err: { code?: string }) => err.code === 'KMS.0308');
    const test = new TestPlatformAttestation(platform.publicKey);
    assert.equal(await test.workload('ECS', platformEvidence('ECS', 'i-1', capsule), capsule), 'i-1');
    assert.equal(await test.workload('ECS', platformEvidence('ECS', 'i-1', capsule), 'other'), null);
    assert.equal(await test.enclaveKey(platformEvidence('ENCLAVE', 'bm90IGEga2V5')), null, 'a verified subject that is not an RSA key proves nothing');
  });
});
