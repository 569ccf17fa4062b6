/**
 * Key rotation over the wire (docs/reference/huawei-kms-api.md §4 H 31–35, §5.2 codes, §1.4 value types): enable /
 * disable / update-key-rotation-interval / get-key-rotation-status / rotate-on-demand, the scheduler step (with an
 * injected clock, across a restart of the region), and rotation of a key that has a replica in another region.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { RotationService } from '../src/core/rotation.js';
import { expectError, KEY_ID, signedRequest, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';

const NORTH = 'cn-north-4';
const SOUTH = 'cn-south-1';
const DAY_MS = 86_400_000;
const ROTATION_OPS = ['enable-key-rotation', 'disable-key-rotation', 'update-key-rotation-interval', 'get-key-rotation-status', 'rotate-on-demand'] as const;
/** Operations that change a key (every rotation operation but the status). */
const CHANGING_OPS = ['enable-key-rotation', 'disable-key-rotation', 'update-key-rotation-interval', 'rotate-on-demand'] as const;

let aliasSeq = 0;
const alias = (prefix: string) => `rot-${prefix}-${process.pid}-${++aliasSeq}`;

function ok(r: Reply): any {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** A valid body for a rotation operation on `keyId` (update-key-rotation-interval needs an interval). */
const opBody = (op: string, keyId: unknown): object => (op === 'update-key-rotation-interval' ? { key_id: keyId, rotation_interval: 90 } : { key_id: keyId });

async function createKey(d: TestDeployment, region: string, extra: object = {}): Promise<string> {
  const body = ok(await d.kms(region, 'create-key', { key_alias: alias('key'), ...extra }));
  assert.match(body.key_info.key_id, KEY_ID);
  return body.key_info.key_id;
}

interface Status {
  key_rotation_enabled: boolean;
  rotation_interval: number;
  last_rotation_time: string;
  number_of_rotations: number;
}

/** get-key-rotation-status, with the §1.4 value types checked on every call. */
async function status(d: TestDeployment, region: string, keyId: string): Promise<Status> {
  const body = ok(await d.kms(region, 'get-key-rotation-status', { key_id: keyId }));
  assert.equal(typeof body.key_rotation_enabled, 'boolean', JSON.stringify(body));
  assert.equal(typeof body.rotation_interval, 'number', JSON.stringify(body));
  assert.ok(Number.isInteger(body.rotation_interval), JSON.stringify(body));
  assert.equal(typeof body.number_of_rotations, 'number', JSON.stringify(body));
  assert.equal(typeof body.last_rotation_time, 'string', JSON.stringify(body));
  return body;
}

/** A settings operation answers 200 with an empty JSON object. */
async function emptyOk(d: TestDeployment, region: string, op: string, body: object): Promise<void> {
  const r = await d.kms(region, op, body);
  assert.equal(r.status, 200, `${op}: ${JSON.stringify(r.body)}`);
  assert.deepEqual(r.body, {}, `${op} answers an empty JSON object`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
}

async function rotateNow(d: TestDeployment, region: string, keyId: string): Promise<void> {
  assert.deepEqual(ok(await d.kms(region, 'rotate-on-demand', { key_id: keyId })), { key_id: keyId });
}

async function encrypt(d: TestDeployment, region: string, keyId: string, plain: string): Promise<string> {
  const body = ok(await d.kms(region, 'encrypt-data', { key_id: keyId, plain_text: plain }));
  assert.equal(body.key_id, keyId);
  return body.cipher_text;
}

async function decrypt(d: TestDeployment, region: string, cipher: string): Promise<{ key_id: string; plain_text: string }> {
  return ok(await d.kms(region, 'decrypt-data', { cipher_text: cipher }));
}

/** The key version a ciphertext blob was made with: uint32 BE at bytes 40..44 (src/core/ciphertext.ts). */
const blobVersion = (cipherB64: string): number => Buffer.from(cipherB64, 'base64').readUInt32BE(40);
const blobVersionHex = (cipherHex: string): number => Buffer.from(cipherHex, 'hex').readUInt32BE(40);

function rotationApi(d: TestDeployment, region: string): RotationService {
  return d.regions.get(region)!.api.rotation;
}

// ---------------------------------------------------------------------------------------------------------------

describe('rotation settings (enable / disable / interval / status)', () => {
  let d: TestDeployment;
  before(async () => (d = await startTestDeployment({ regions: [NORTH] })));
  after(() => d.stop());

  for (const spec of ['AES_256', 'SM4'] as const) {
    describe(`on an ${spec} key`, () => {
      test('a new key reports rotation off, interval 365, no rotations', async () => {
        const keyId = await createKey(d, NORTH, { key_spec: spec });
        const s = await status(d, NORTH, keyId);
        assert.equal(s.key_rotation_enabled, false);
        assert.equal(s.rotation_interval, 365);
        assert.equal(s.number_of_rotations, 0);
      });

      test('enable-key-rotation: 200 {}, then enabled (true), interval 365, 0 rotations, last_rotation_time a string', async () => {
        const keyId = await createKey(d, NORTH, { key_spec: spec });
        await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
        const s = await status(d, NORTH, keyId);
        assert.deepEqual(Object.keys(s).sort(), ['key_rotation_enabled', 'last_rotation_time', 'number_of_rotations', 'rotation_interval']);
        assert.equal(s.key_rotation_enabled, true);
        assert.equal(s.rotation_interval, 365);
        assert.equal(s.number_of_rotations, 0);
        assert.match(s.last_rotation_time, /^\d*$/);
      });

      test('enabling twice is KMS.2901 and changes nothing', async () => {
        const keyId = await createKey(d, NORTH, { key_spec: spec });
        await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
        await emptyOk(d, NORTH, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: 45 });
        const before = await status(d, NORTH, keyId);
        expectError(await d.kms(NORTH, 'enable-key-rotation', { key_id: keyId }), 400, 'KMS.2901');
        assert.deepEqual(await status(d, NORTH, keyId), before);
      });

      test('disable-key-rotation: 200 {}, then false; disabling again is KMS.0313; enabling again works', async () => {
        const keyId = await createKey(d, NORTH, { key_spec: spec });
        expectError(await d.kms(NORTH, 'disable-key-rotation', { key_id: keyId }), 400, 'KMS.0313'); // never enabled
        await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
        await emptyOk(d, NORTH, 'disable-key-rotation', { key_id: keyId });
        assert.equal((await status(d, NORTH, keyId)).key_rotation_enabled, false);
        expectError(await d.kms(NORTH, 'disable-key-rotation', { key_id: keyId }), 400, 'KMS.0313');
        await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
        assert.equal((await status(d, NORTH, keyId)).key_rotation_enabled, true);
      });

      test('update-key-rotation-interval: 30 and 365 as numbers, "90" as a string; status answers numbers', async () => {
        const keyId = await createKey(d, NORTH, { key_spec: spec });
        await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
        for (const [sent, expected] of [[30, 30], [365, 365], ['90', 90], [100, 100]] as const) {
          await emptyOk(d, NORTH, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: sent });
          const s = await status(d, NORTH, keyId);
          assert.equal(s.rotation_interval, expected);
          assert.equal(s.key_rotation_enabled, true);
          assert.equal(s.number_of_rotations, 0);
        }
      });

      test('update-key-rotation-interval: 29, 366, "abc" and other bad values are KMS.3001; missing is KMS.0204', async () => {
        const keyId = await createKey(d, NORTH, { key_spec: spec });
        await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
        await emptyOk(d, NORTH, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: 200 });
        for (const bad of [29, 366, 'abc', '29', '366', 0, -30, 30.5, '', true, [90], { days: 90 }]) {
          expectError(await d.kms(NORTH, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: bad }), 400, 'KMS.3001');
        }
        expectError(await d.kms(NORTH, 'update-key-rotation-interval', { key_id: keyId }), 400, 'KMS.0204');
        assert.equal((await status(d, NORTH, keyId)).rotation_interval, 200, 'rejected values leave the interval unchanged');
      });

      test('update-key-rotation-interval while rotation is not enabled is KMS.0313', async () => {
        const keyId = await createKey(d, NORTH, { key_spec: spec });
        expectError(await d.kms(NORTH, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: 90 }), 400, 'KMS.0313');
        await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
        await emptyOk(d, NORTH, 'disable-key-rotation', { key_id: keyId });
        expectError(await d.kms(NORTH, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: '90' }), 400, 'KMS.0313');
        assert.equal((await status(d, NORTH, keyId)).rotation_interval, 365);
      });
    });
  }

  test('an origin-external key cannot rotate: KMS.0312 for enable, disable, interval and rotate-on-demand', async () => {
    const keyId = await createKey(d, NORTH, { origin: 'external' });
    for (const op of CHANGING_OPS) expectError(await d.kms(NORTH, op, opBody(op, keyId)), 400, 'KMS.0312');
    assert.equal((await status(d, NORTH, keyId)).key_rotation_enabled, false);
  });

  test('a key pending deletion: KMS.0210 for enable, disable and interval', async () => {
    const fresh = await createKey(d, NORTH);
    const enabled = await createKey(d, NORTH);
    await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: enabled });
    for (const keyId of [fresh, enabled]) {
      assert.equal(ok(await d.kms(NORTH, 'schedule-key-deletion', { key_id: keyId, pending_days: '7' })).key_state, '4');
    }
    for (const op of ['enable-key-rotation', 'disable-key-rotation', 'update-key-rotation-interval'] as const) {
      for (const keyId of [fresh, enabled]) expectError(await d.kms(NORTH, op, opBody(op, keyId)), 400, 'KMS.0210');
    }
    assert.equal((await status(d, NORTH, enabled)).key_rotation_enabled, true, 'the refused disable changed nothing');
  });

  test('an asymmetric key cannot rotate: KMS.0324 (skipped while asymmetric keys are not implemented)', async (t) => {
    const created = await d.kms(NORTH, 'create-key', { key_alias: alias('rsa'), key_spec: 'RSA_2048', key_usage: 'ENCRYPT_DECRYPT' });
    if (created.status !== 200) {
      expectError(created, 400, 'KMS.0308');
      t.skip('RSA_2048 keys are not implemented by this build');
      return;
    }
    const keyId = created.body.key_info.key_id;
    for (const op of CHANGING_OPS) expectError(await d.kms(NORTH, op, opBody(op, keyId)), 400, 'KMS.0324');
    assert.equal((await status(d, NORTH, keyId)).key_rotation_enabled, false);
  });

  test('an unknown key is 404 KMS.0207 for every rotation operation', async () => {
    const unknown = randomUUID();
    for (const op of ROTATION_OPS) expectError(await d.kms(NORTH, op, opBody(op, unknown)), 404, 'KMS.0207');
  });

  test('a malformed key id is KMS.0205 and a missing one KMS.0204, for every rotation operation', async () => {
    for (const op of ROTATION_OPS) {
      for (const bad of ['not-a-key-id', randomUUID().toUpperCase(), randomUUID() + 'a', 12345]) {
        expectError(await d.kms(NORTH, op, opBody(op, bad)), 400, 'KMS.0205');
      }
      const missing = op === 'update-key-rotation-interval' ? { rotation_interval: 90 } : {};
      expectError(await d.kms(NORTH, op, missing), 400, 'KMS.0204');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('rotate-on-demand', () => {
  let d: TestDeployment;
  before(async () => (d = await startTestDeployment({ regions: [NORTH] })));
  after(() => d.stop());

  for (const spec of ['AES_256', 'SM4'] as const) {
    test(`${spec}: returns {key_id}; counts rotations; old ciphertexts and data keys decrypt; new ones use the newest version`, async () => {
      const keyId = await createKey(d, NORTH, { key_spec: spec });
      const initial = await status(d, NORTH, keyId);
      assert.equal(initial.number_of_rotations, 0);
      assert.equal(initial.last_rotation_time, '', 'a key that never rotated has no last rotation time');

      const ciphers: string[] = [await encrypt(d, NORTH, keyId, 'made with version 1')];
      const dk = ok(await d.kms(NORTH, 'create-datakey', { key_id: keyId }));
      assert.equal(blobVersionHex(dk.cipher_text), 1);
      let lastTime = 0;
      for (let n = 1; n <= 3; n++) {
        const t0 = Date.now();
        await rotateNow(d, NORTH, keyId);
        const s = await status(d, NORTH, keyId);
        assert.equal(s.number_of_rotations, n);
        assert.match(s.last_rotation_time, /^\d+$/);
        const t = Number(s.last_rotation_time);
        assert.ok(t >= t0 && t <= Date.now(), `last_rotation_time ${t} is the time of rotation ${n}`);
        assert.ok(t >= lastTime);
        lastTime = t;
        assert.equal(s.key_rotation_enabled, false, 'rotating on demand does not turn on scheduled rotation');
        ciphers.push(await encrypt(d, NORTH, keyId, `made with version ${n + 1}`));
      }
      assert.deepEqual(ciphers.map(blobVersion), [1, 2, 3, 4]);
      for (const [i, c] of ciphers.entries()) {
        assert.deepEqual(await decrypt(d, NORTH, c), { key_id: keyId, plain_text: `made with version ${i + 1}`, plain_text_base64: Buffer.from(`made with version ${i + 1}`).toString('base64') });
      }
      // the data key from before the rotations still opens, and a new one uses version 4
      assert.equal(ok(await d.kms(NORTH, 'decrypt-datakey', { key_id: keyId, cipher_text: dk.cipher_text, datakey_cipher_length: '32' })).data_key, dk.plain_text);
      const dk4 = ok(await d.kms(NORTH, 'create-datakey-without-plaintext', { key_id: keyId }));
      assert.equal(blobVersionHex(dk4.cipher_text), 4);
      assert.equal(ok(await d.kms(NORTH, 'decrypt-datakey', { key_id: keyId, cipher_text: dk4.cipher_text, datakey_cipher_length: '32' })).datakey_length, '32');
    });
  }

  test('rotate-on-demand on a key with scheduled rotation keeps its settings and counts the rotation', async () => {
    const keyId = await createKey(d, NORTH);
    await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
    await emptyOk(d, NORTH, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: 60 });
    await rotateNow(d, NORTH, keyId);
    await rotateNow(d, NORTH, keyId);
    const s = await status(d, NORTH, keyId);
    assert.equal(s.key_rotation_enabled, true);
    assert.equal(s.rotation_interval, 60);
    assert.equal(s.number_of_rotations, 2);
    assert.equal(blobVersion(await encrypt(d, NORTH, keyId, 'v3')), 3);
  });

  test('a disabled key is KMS.0209; after enable-key it rotates again', async () => {
    const keyId = await createKey(d, NORTH);
    ok(await d.kms(NORTH, 'disable-key', { key_id: keyId }));
    expectError(await d.kms(NORTH, 'rotate-on-demand', { key_id: keyId }), 400, 'KMS.0209');
    assert.equal((await status(d, NORTH, keyId)).number_of_rotations, 0);
    ok(await d.kms(NORTH, 'enable-key', { key_id: keyId }));
    await rotateNow(d, NORTH, keyId);
    assert.equal((await status(d, NORTH, keyId)).number_of_rotations, 1);
  });

  test('a key pending deletion is KMS.0210', async () => {
    const keyId = await createKey(d, NORTH);
    ok(await d.kms(NORTH, 'schedule-key-deletion', { key_id: keyId, pending_days: '7' }));
    expectError(await d.kms(NORTH, 'rotate-on-demand', { key_id: keyId }), 400, 'KMS.0210');
    assert.equal((await status(d, NORTH, keyId)).number_of_rotations, 0);
  });

  test('an origin-external key is KMS.0312', async () => {
    const keyId = await createKey(d, NORTH, { origin: 'external' });
    expectError(await d.kms(NORTH, 'rotate-on-demand', { key_id: keyId }), 400, 'KMS.0312');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('scheduled rotation (injected clock)', () => {
  let d: TestDeployment;
  let now = Date.now();
  const start = now;
  before(async () => (d = await startTestDeployment({ regions: [NORTH], clock: () => now })));
  after(() => d.stop());

  test('a key rotates once its interval has passed, only once, only if enabled, and the rotation survives a restart', async () => {
    const due = await createKey(d, NORTH);
    const off = await createKey(d, NORTH); // rotation never enabled
    const yearly = await createKey(d, NORTH); // enabled with the default 365 days
    const pending = await createKey(d, NORTH); // enabled, 30 days, but scheduled for deletion
    for (const k of [due, yearly, pending]) await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: k });
    for (const k of [due, pending]) await emptyOk(d, NORTH, 'update-key-rotation-interval', { key_id: k, rotation_interval: 30 });
    ok(await d.kms(NORTH, 'schedule-key-deletion', { key_id: pending, pending_days: '1096' }));
    const before = await encrypt(d, NORTH, due, 'before the scheduled rotation');
    assert.equal(blobVersion(before), 1);

    now = start + 29 * DAY_MS;
    assert.deepEqual(await rotationApi(d, NORTH).rotateDue(), []);
    assert.equal((await status(d, NORTH, due)).number_of_rotations, 0);

    now = start + 30 * DAY_MS;
    assert.deepEqual(await rotationApi(d, NORTH).rotateDue(), [due]);
    const s = await status(d, NORTH, due);
    assert.equal(s.number_of_rotations, 1);
    assert.equal(s.last_rotation_time, String(now));
    assert.equal(s.key_rotation_enabled, true);
    assert.equal(s.rotation_interval, 30);
    for (const k of [off, yearly, pending]) assert.equal((await status(d, NORTH, k)).number_of_rotations, 0, `${k} was not rotated`);

    // the same instant again: nothing more is due
    assert.deepEqual(await rotationApi(d, NORTH).rotateDue(), []);
    assert.equal((await status(d, NORTH, due)).number_of_rotations, 1);

    const afterRotation = await encrypt(d, NORTH, due, 'after the scheduled rotation');
    assert.equal(blobVersion(afterRotation), 2);

    await d.stopRegion(NORTH);
    await d.startRegion(NORTH);

    assert.deepEqual(await status(d, NORTH, due), s, 'the rotation state survives the restart');
    assert.equal((await decrypt(d, NORTH, before)).plain_text, 'before the scheduled rotation');
    assert.equal((await decrypt(d, NORTH, afterRotation)).plain_text, 'after the scheduled rotation');
    assert.equal(blobVersion(await encrypt(d, NORTH, due, 'after the restart')), 2);
    assert.deepEqual(await rotationApi(d, NORTH).rotateDue(), [], 'nothing is due after the restart');

    // the next interval counts from the last rotation
    now = start + 59 * DAY_MS;
    assert.deepEqual(await rotationApi(d, NORTH).rotateDue(), []);
    now = start + 60 * DAY_MS;
    assert.deepEqual(await rotationApi(d, NORTH).rotateDue(), [due]);
    assert.equal((await status(d, NORTH, due)).number_of_rotations, 2);
    assert.equal(blobVersion(await encrypt(d, NORTH, due, 'v3')), 3);
    assert.equal((await decrypt(d, NORTH, before)).plain_text, 'before the scheduled rotation');
  });

  test('a key whose deletion date has passed is 404 KMS.0207 for every rotation operation, get-key-rotation-status too', async () => {
    const keyId = await createKey(d, NORTH);
    await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
    ok(await d.kms(NORTH, 'schedule-key-deletion', { key_id: keyId, pending_days: '7' }));
    assert.equal((await status(d, NORTH, keyId)).key_rotation_enabled, true, 'pending deletion: the status is still readable');
    now += 7 * DAY_MS + 1;
    expectError(await d.kms(NORTH, 'describe-key', { key_id: keyId }), 404, 'KMS.0207');
    for (const op of ROTATION_OPS) expectError(await d.kms(NORTH, op, opBody(op, keyId)), 404, 'KMS.0207');
    assert.ok(!(await rotationApi(d, NORTH).rotateDue()).includes(keyId));
  });

  test('a key whose rotation was disabled is not rotated when its interval passes', async () => {
    const keyId = await createKey(d, NORTH);
    await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
    await emptyOk(d, NORTH, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: 30 });
    await emptyOk(d, NORTH, 'disable-key-rotation', { key_id: keyId });
    const t0 = now;
    now = t0 + 31 * DAY_MS;
    assert.ok(!(await rotationApi(d, NORTH).rotateDue()).includes(keyId));
    assert.equal((await status(d, NORTH, keyId)).number_of_rotations, 0);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('rotation of a key with a replica', () => {
  let d: TestDeployment;
  before(async () => (d = await startTestDeployment({ regions: [NORTH, SOUTH] })));
  after(() => d.stop());

  async function replicate(keyId: string): Promise<void> {
    const path = `/v2/${d.projectId(NORTH)}/kms/keys/${keyId}/replicate`;
    const body = { key_id: keyId, replica_region: SOUTH, key_alias: alias('replica'), replica_project_id: d.projectId(SOUTH) };
    const r = await signedRequest(d.endpoint(NORTH), d.admin, d.projectId(NORTH), 'POST', path, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.key_id, keyId);
  }

  /** Polls the replica's rotation status (up to 5 s) until it equals `expected`. */
  async function replicaCatchesUp(keyId: string, expected: Status): Promise<void> {
    const deadline = Date.now() + 5000;
    let seen: Reply | undefined;
    for (;;) {
      seen = await d.kms(SOUTH, 'get-key-rotation-status', { key_id: keyId });
      if (seen.status === 200 && isDeepStrictEqual(seen.body, expected)) break;
      if (Date.now() > deadline) assert.fail(`the replica shows ${seen.status} ${JSON.stringify(seen.body)}, the primary ${JSON.stringify(expected)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await status(d, SOUTH, keyId); // value types too
  }

  test('the replica refuses every rotation change (KMS.0106), reports the status, and follows the primary', async () => {
    const keyId = await createKey(d, NORTH);
    const beforeRotation = await encrypt(d, NORTH, keyId, 'before rotation');
    await rotateNow(d, NORTH, keyId); // a rotation before the replica exists travels with the replicate
    const v2 = await encrypt(d, NORTH, keyId, 'version 2');
    await replicate(keyId);
    const atReplicate = await status(d, NORTH, keyId);
    assert.equal(atReplicate.number_of_rotations, 1);
    await replicaCatchesUp(keyId, atReplicate);
    assert.equal((await decrypt(d, SOUTH, v2)).plain_text, 'version 2');

    for (const op of CHANGING_OPS) expectError(await d.kms(SOUTH, op, opBody(op, keyId)), 400, 'KMS.0106');

    // settings changed on the primary reach the replica
    await emptyOk(d, NORTH, 'enable-key-rotation', { key_id: keyId });
    await emptyOk(d, NORTH, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: 90 });
    const settings = await status(d, NORTH, keyId);
    assert.deepEqual({ ...settings, last_rotation_time: '' }, { key_rotation_enabled: true, rotation_interval: 90, number_of_rotations: 1, last_rotation_time: '' });
    await replicaCatchesUp(keyId, settings);

    // a rotation on the primary reaches the replica by itself (before the replica is asked to decrypt anything)
    await rotateNow(d, NORTH, keyId);
    const rotated = await status(d, NORTH, keyId);
    assert.equal(rotated.number_of_rotations, 2);
    await replicaCatchesUp(keyId, rotated);
    const v3 = await encrypt(d, NORTH, keyId, 'version 3');
    assert.equal(blobVersion(v3), 3);
    assert.equal((await decrypt(d, SOUTH, v3)).plain_text, 'version 3');

    // a ciphertext of a version made just now decrypts in the replica at once (whether or not the sync has arrived)
    await rotateNow(d, NORTH, keyId);
    const primary = await status(d, NORTH, keyId);
    assert.deepEqual({ ...primary, last_rotation_time: '' }, { key_rotation_enabled: true, rotation_interval: 90, number_of_rotations: 3, last_rotation_time: '' });
    const afterRotation = await encrypt(d, NORTH, keyId, 'after rotation');
    assert.equal(blobVersion(afterRotation), 4);
    assert.deepEqual(await decrypt(d, SOUTH, afterRotation), { key_id: keyId, plain_text: 'after rotation', plain_text_base64: Buffer.from('after rotation').toString('base64') });

    await replicaCatchesUp(keyId, primary);
    assert.equal((await decrypt(d, SOUTH, beforeRotation)).plain_text, 'before rotation');
    assert.equal((await decrypt(d, SOUTH, v2)).plain_text, 'version 2');
    assert.equal((await decrypt(d, SOUTH, afterRotation)).plain_text, 'after rotation');
    // the replica encrypts with the newest version too, and the primary opens it
    const fromReplica = await encrypt(d, SOUTH, keyId, 'made in the replica');
    assert.equal(blobVersion(fromReplica), 4);
    assert.equal((await decrypt(d, NORTH, fromReplica)).plain_text, 'made in the replica');

    // still refused with rotation enabled (disable would otherwise be allowed), and nothing changed
    for (const op of CHANGING_OPS) expectError(await d.kms(SOUTH, op, opBody(op, keyId)), 400, 'KMS.0106');
    assert.deepEqual(await status(d, NORTH, keyId), primary);
    assert.deepEqual(await status(d, SOUTH, keyId), primary);

    // disabling on the primary reaches the replica as well
    await emptyOk(d, NORTH, 'disable-key-rotation', { key_id: keyId });
    const disabled = await status(d, NORTH, keyId);
    assert.equal(disabled.key_rotation_enabled, false);
    await replicaCatchesUp(keyId, disabled);
  });
});
