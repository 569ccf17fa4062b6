/**
 * Cross-region keys across three regions running as three separate processes on loopback (issue #4): replicate,
 * encrypt in one region and decrypt in the others, rotate on the primary, move the primary, replicate while the
 * target is down or hangs (502/504, nothing left behind), catch up after a restart, an Ed25519 key pair that signs
 * alike in every region, and every refusal.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { expectError, signedRequest } from './helpers/deployment.js';
import { eventually, startProcesses, type ProcessDeployment } from './helpers/processes.js';

const N = 'cn-north-4';
const S = 'cn-south-1';
const E = 'cn-east-3';
let d: ProcessDeployment;
let aliasCounter = 0;

before(async () => {
  // cn-east-3 may only replicate to cn-north-4 (a restricted pair); the others to every region.
  d = await startProcesses({ replication: { [E]: [N] } });
});
after(() => d.stop());

async function newKey(region: string, body: object = {}): Promise<string> {
  const r = await d.kms(region, 'create-key', { key_alias: `xr-${++aliasCounter}`, ...body });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.key_info.key_id;
}

function replicate(from: string, keyId: string, to: string, extra: object = {}) {
  return d.keyOp(from, 'POST', keyId, 'replicate', { key_id: keyId, replica_region: to, key_alias: `xr-${++aliasCounter}`, replica_project_id: d.projectId(to), ...extra });
}

async function encrypt(region: string, keyId: string, text: string): Promise<string> {
  const r = await d.kms(region, 'encrypt-data', { key_id: keyId, plain_text: text });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.cipher_text;
}

async function decrypts(region: string, cipher: string, text: string): Promise<void> {
  const r = await d.kms(region, 'decrypt-data', { cipher_text: cipher });
  assert.equal(r.status, 200, `${region}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.plain_text, text);
}

const rotations = async (region: string, keyId: string) => (await d.kms(region, 'get-key-rotation-status', { key_id: keyId })).body.number_of_rotations;

describe('replicate, then use the key in every region', () => {
  let keyId: string;
  test('replicate answers with the same key id, the target region and the account', async () => {
    keyId = await newKey(N);
    for (const to of [S, E]) {
      const r = await replicate(N, keyId, to);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { key_id: keyId, region: to, domain_id: d.boot.domain_id });
    }
  });

  test('what one region encrypts, the other two decrypt', async () => {
    for (const from of [N, S, E]) {
      const cipher = await encrypt(from, keyId, `made in ${from}`);
      for (const to of [N, S, E]) await decrypts(to, cipher, `made in ${from}`);
    }
  });

  test('alias, description and state are each region\'s own; spec and usage are shared', async () => {
    const south = (await d.kms(S, 'describe-key', { key_id: keyId })).body.key_info;
    const north = (await d.kms(N, 'describe-key', { key_id: keyId })).body.key_info;
    assert.notEqual(south.key_alias, north.key_alias);
    assert.equal(south.realm, S);
    assert.equal(south.key_spec, north.key_spec);
    assert.equal(south.key_usage, north.key_usage);
    // multi_region_key_type, as every real key carries it; list-keys says the same as describe-key.
    assert.deepEqual([north.multi_region_key_type, south.multi_region_key_type], ['PRIMARY', 'REPLICA']);
    const listed = (await d.kms(S, 'list-keys', { key_spec: 'ALL' })).body.key_details.find((k: { key_id: string }) => k.key_id === keyId);
    assert.equal(listed.multi_region_key_type, 'REPLICA');
    assert.equal((await d.kms(S, 'disable-key', { key_id: keyId })).status, 200);
    expectError(await d.kms(S, 'encrypt-data', { key_id: keyId, plain_text: 'x' }), 400, 'KMS.0209');
    await encrypt(N, keyId, 'north is still enabled');
    assert.equal((await d.kms(S, 'enable-key', { key_id: keyId })).status, 200);
    assert.equal((await d.kms(S, 'update-key-description', { key_id: keyId, key_description: 'south only' })).status, 200);
    assert.equal((await d.kms(N, 'describe-key', { key_id: keyId })).body.key_info.key_description, '');
  });

  test('a rotation on the primary reaches the replicas; old and new ciphertexts decrypt everywhere', async () => {
    const before = await encrypt(N, keyId, 'before rotation');
    assert.equal((await d.kms(N, 'rotate-on-demand', { key_id: keyId })).status, 200);
    const fresh = await encrypt(N, keyId, 'after rotation');
    // A replica asked at once fetches the new version from the primary if the sync has not arrived yet.
    for (const r of [S, E]) {
      await decrypts(r, fresh, 'after rotation');
      await decrypts(r, before, 'before rotation');
    }
    for (const r of [S, E]) await eventually(`${r} has the rotation`, async () => (await rotations(r, keyId)) === 1);
    const fromReplica = await encrypt(S, keyId, 'south uses the new version');
    assert.equal(Buffer.from(fromReplica, 'base64').readUInt32BE(40), 2);
    await decrypts(N, fromReplica, 'south uses the new version');
  });

  test('only the primary rotates or replicates (KMS.0106 on a replica)', async () => {
    for (const op of ['rotate-on-demand', 'enable-key-rotation', 'disable-key-rotation']) {
      expectError(await d.kms(S, op, { key_id: keyId }), 400, 'KMS.0106');
    }
    expectError(await d.kms(S, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: 90 }), 400, 'KMS.0106');
    expectError(await replicate(S, keyId, E), 400, 'KMS.0106');
    expectError(await d.keyOp(S, 'PUT', keyId, 'update-primary-region', { key_id: keyId, primary_region: N }), 400, 'KMS.0106');
  });

  test('rotation settings made on the primary are shared', async () => {
    assert.equal((await d.kms(N, 'enable-key-rotation', { key_id: keyId })).status, 200);
    assert.equal((await d.kms(N, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: 90 })).status, 200);
    await eventually('south has the rotation settings', async () => {
      const s = (await d.kms(S, 'get-key-rotation-status', { key_id: keyId })).body;
      return s.key_rotation_enabled === true && s.rotation_interval === 90;
    });
  });

  test('a primary with replicas cannot be scheduled for deletion; a replica can', async () => {
    expectError(await d.kms(N, 'schedule-key-deletion', { key_id: keyId, pending_days: '7' }), 400, 'KMS.0308');
    const r = await d.kms(E, 'schedule-key-deletion', { key_id: keyId, pending_days: '7' });
    assert.equal(r.status, 200);
    assert.equal((await d.kms(E, 'cancel-key-deletion', { key_id: keyId })).status, 200);
  });
});

describe('moving the primary', () => {
  test('the new primary rotates and replicates; the old one refuses; nothing stops decrypting', async () => {
    const keyId = await newKey(N);
    assert.equal((await replicate(N, keyId, S)).status, 200);
    const old = await encrypt(N, keyId, 'before the move');
    const moved = await d.keyOp(N, 'PUT', keyId, 'update-primary-region', { key_id: keyId, primary_region: S });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.deepEqual(moved.body, { key_id: keyId, primary_region: S });

    expectError(await d.kms(N, 'rotate-on-demand', { key_id: keyId }), 400, 'KMS.0106');
    expectError(await replicate(N, keyId, E), 400, 'KMS.0106');
    assert.equal((await d.kms(S, 'rotate-on-demand', { key_id: keyId })).status, 200);
    const fresh = await encrypt(S, keyId, 'after the move');
    await decrypts(N, fresh, 'after the move');
    await eventually('the old primary follows the new one', async () => (await rotations(N, keyId)) === 1);

    const toEast = await replicate(S, keyId, E);
    assert.equal(toEast.status, 200, JSON.stringify(toEast.body));
    for (const r of [N, S, E]) {
      await decrypts(r, old, 'before the move');
      await decrypts(r, fresh, 'after the move');
    }
    // Terraform's form: only primary_region in the body.
    const back = await d.keyOp(S, 'PUT', keyId, 'update-primary-region', { primary_region: N });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal((await d.kms(N, 'rotate-on-demand', { key_id: keyId })).status, 200);
    expectError(await d.kms(S, 'rotate-on-demand', { key_id: keyId }), 400, 'KMS.0106');
    await eventually('east follows the primary back to north', async () => (await rotations(E, keyId)) === 2);
  });

  test('refusals: own region, a region without a replica, a key id that differs from the path', async () => {
    const keyId = await newKey(N);
    expectError(await d.keyOp(N, 'PUT', keyId, 'update-primary-region', { key_id: keyId, primary_region: N }), 400, 'KMS.0308');
    expectError(await d.keyOp(N, 'PUT', keyId, 'update-primary-region', { key_id: keyId, primary_region: S }), 400, 'KMS.0308');
    expectError(await d.keyOp(N, 'PUT', keyId, 'update-primary-region', { key_id: '00000000-0000-4000-8000-000000000000', primary_region: S }), 400, 'KMS.0205');
    expectError(await d.keyOp(N, 'PUT', keyId, 'update-primary-region', { key_id: keyId }), 400, 'KMS.0204');
    expectError(await d.keyOp(N, 'PUT', '00000000-0000-4000-8000-000000000000', 'update-primary-region', { primary_region: S }), 404, 'KMS.0207');
  });
});

describe('an Ed25519 key across the region processes', () => {
  test('its replicas hold the same key pair: the same public key, the same (deterministic) signatures, verified anywhere', async () => {
    const keyId = await newKey(N, { key_spec: 'ED25519' });
    for (const to of [S, E]) assert.equal((await replicate(N, keyId, to)).status, 200);
    const publicKeys = await Promise.all([N, S, E].map(async (r) => (await d.kms(r, 'get-publickey', { key_id: keyId })).body.public_key));
    assert.match(publicKeys[0], /BEGIN PUBLIC KEY/);
    assert.deepEqual(publicKeys, [publicKeys[0], publicKeys[0], publicKeys[0]]);
    const message = Buffer.from('one Ed25519 key, three regions').toString('base64');
    const sign = async (r: string, alg: string, msg: string, type: string) => {
      const reply = await d.kms(r, 'sign', { key_id: keyId, signing_algorithm: alg, message: msg, message_type: type });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body.signature as string;
    };
    const digest = createHash('sha512').update(Buffer.from(message, 'base64')).digest('base64');
    for (const [alg, msg, type] of [['ED25519_SHA_512', message, 'RAW'], ['ED25519_PH_SHA_512', digest, 'DIGEST']] as const) {
      const signatures = await Promise.all([N, S, E].map((r) => sign(r, alg, msg, type)));
      assert.deepEqual(signatures, [signatures[0], signatures[0], signatures[0]], `${alg}: one private key`);
      for (const r of [N, S, E]) {
        const verified = await d.kms(r, 'verify', { key_id: keyId, signing_algorithm: alg, message: msg, message_type: type, signature: signatures[0] });
        assert.equal(verified.body.signature_valid, 'true', `${alg} in ${r}`);
      }
    }
    expectError(await d.kms(S, 'sign', { key_id: keyId, signing_algorithm: 'ED25519_SHA_512', message: digest }), 400, 'KMS.0308');
  });
});

describe('refusals of replicate', () => {
  test('each with its error code', async () => {
    const keyId = await newKey(N);
    expectError(await replicate(N, keyId, N), 400, 'KMS.0308'); // its own region
    expectError(await replicate(N, keyId, S, { replica_region: 'eu-west-101' }), 400, 'KMS.0308'); // not in the deployment
    expectError(await d.keyOp(N, 'POST', keyId, 'replicate', { key_id: keyId, replica_region: S, replica_project_id: d.projectId(S) }), 400, 'KMS.0204');
    expectError(await d.keyOp(N, 'POST', keyId, 'replicate', { key_id: keyId, replica_region: S, key_alias: 'a b', replica_project_id: d.projectId(S) }), 400, 'KMS.1101');
    expectError(await replicate(N, keyId, S, { replica_project_id: d.projectId(E) }), 403, 'KMS.0306'); // a project of another region
    expectError(await replicate(N, keyId, S, { replica_project_id: '0123456789abcdef0123456789abcdef' }), 403, 'KMS.0306'); // not the caller's
    expectError(await replicate(N, keyId, S, { tags: [{ key: 'a*', value: 'b' }] }), 400, 'KMS.0406'); // tags.test.ts has the rest
    expectError(await d.keyOp(N, 'POST', 'not-a-key', 'replicate', { replica_region: S, key_alias: 'x', replica_project_id: d.projectId(S) }), 400, 'KMS.0205');
    expectError(await replicate(N, '00000000-0000-4000-8000-000000000000', S), 404, 'KMS.0207');

    const external = await newKey(N, { origin: 'external' });
    expectError(await replicate(N, external, S), 400, 'KMS.0308'); // no key material

    // At most one replica per region.
    assert.equal((await replicate(N, keyId, S)).status, 200);
    expectError(await replicate(N, keyId, S), 400, 'KMS.0308');

    // A restricted pair: cn-east-3 may only replicate to cn-north-4.
    const eastKey = await newKey(E);
    expectError(await replicate(E, eastKey, S), 400, 'KMS.0308');
    assert.equal((await replicate(E, eastKey, N)).status, 200);

    // An alias already used in the target region.
    const taken = `taken-${aliasCounter}`;
    assert.equal((await d.kms(S, 'create-key', { key_alias: taken })).status, 200);
    const other = await newKey(N);
    expectError(await replicate(N, other, S, { key_alias: taken }), 400, 'KMS.1104');
    expectError(await d.kms(S, 'describe-key', { key_id: other }), 404, 'KMS.0207');
    assert.equal((await replicate(N, other, S)).status, 200, 'a refused replicate can be repeated');
  });

  test('the regions API answers from the topology, paged to the end', async () => {
    const page = async (region: string, limit: number, offset: number) =>
      (await signedRequest(d.endpoint(region), { ak: d.boot.access_key, sk: d.boot.secret_key }, d.projectId(region), 'GET', `/v2/${d.projectId(region)}/kms/regions`, undefined, { limit: String(limit), offset: String(offset) })).body.regions as string[];
    const all: string[] = [];
    for (let offset = 0; ; ) {
      const p = await page(N, 1, offset);
      if (p.length === 0) break;
      all.push(...p);
      offset += p.length;
    }
    assert.deepEqual(all, [S, E]);
    assert.deepEqual(await page(E, 10, 0), [N]);
  });

  test('the internal API refuses clients, even with valid credentials', async () => {
    const r = await signedRequest(d.endpoint(S), { ak: d.boot.access_key, sk: d.boot.secret_key }, d.projectId(S), 'POST', '/internal/v1/keys/export', { key_id: '00000000-0000-4000-8000-000000000000', transport_key: 'AA==' });
    expectError(r, 403, 'KMS.0306');
    const plain = await fetch(d.endpoint(S) + '/internal/v1/transport-key');
    assert.equal(plain.status, 403);
  });
});

describe('a target region that is down', () => {
  test('replicate to a stopped region: 502, nothing left behind, and it works once the region is back', async () => {
    const keyId = await newKey(N);
    await d.stopRegion(E);
    try {
      const r = await replicate(N, keyId, E);
      expectError(r, 502, 'KMS.0502');
      assert.match(r.body.error.error_msg, /cn-east-3/);
      // The primary lists no replica there: it cannot be made primary, and replicate is not refused as a duplicate.
      expectError(await d.keyOp(N, 'PUT', keyId, 'update-primary-region', { key_id: keyId, primary_region: E }), 400, 'KMS.0308');
    } finally {
      await d.startRegion(E);
    }
    await new Promise((r) => setTimeout(r, 1500)); // outbox retries reach the region
    expectError(await d.kms(E, 'describe-key', { key_id: keyId }), 404, 'KMS.0207');
    const again = await replicate(N, keyId, E);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    await decrypts(E, await encrypt(N, keyId, 'after the retry'), 'after the retry');
  });

  test('replicate to a region that hangs: 504 within the timeout, and it never takes effect later', async () => {
    const keyId = await newKey(N);
    await d.stopRegion(E);
    const release = await d.hang(E);
    const started = Date.now();
    let r;
    try {
      r = await replicate(N, keyId, E);
    } finally {
      await release();
    }
    expectError(r, 504, 'KMS.0504');
    assert.ok(Date.now() - started < 10_000, 'bounded by the region-to-region timeout');
    await d.startRegion(E);
    await new Promise((r) => setTimeout(r, 1500));
    expectError(await d.kms(E, 'describe-key', { key_id: keyId }), 404, 'KMS.0207');
    assert.equal((await replicate(N, keyId, E)).status, 200);
  });

  test('a rotation while a replica region is stopped answers at once and reaches it after it restarts', async () => {
    const keyId = await newKey(N);
    assert.equal((await replicate(N, keyId, E)).status, 200);
    await d.stopRegion(E);
    let fresh: string;
    try {
      const started = Date.now();
      assert.equal((await d.kms(N, 'rotate-on-demand', { key_id: keyId })).status, 200);
      assert.ok(Date.now() - started < 1000, 'the primary does not wait for its replicas');
      fresh = await encrypt(N, keyId, 'rotated while east was down');
    } finally {
      await d.startRegion(E);
    }
    await eventually('east receives the rotation from the outbox', async () => (await rotations(E, keyId)) === 1);
    await decrypts(E, fresh, 'rotated while east was down');
  });

  test('moving the primary to a stopped region fails with 502 and leaves the primary where it was', async () => {
    const keyId = await newKey(N);
    assert.equal((await replicate(N, keyId, E)).status, 200);
    await d.stopRegion(E);
    try {
      expectError(await d.keyOp(N, 'PUT', keyId, 'update-primary-region', { key_id: keyId, primary_region: E }), 502, 'KMS.0502');
      assert.equal((await d.kms(N, 'rotate-on-demand', { key_id: keyId })).status, 200);
    } finally {
      await d.startRegion(E);
    }
  });
});
