/**
 * What the hot path keeps in memory, and that it never answers from a stale copy: a region checks the signatures
 * of an access key IAM verified once itself (with IAM's rules), drops it when IAM's change feed names its account
 * (a deleted or disabled key, a disabled user), and asks IAM for keys it has not seen; verified tokens are
 * remembered but their expiry and revocation are checked on every call; key pairs are made off the event loop.
 * (The key-record cache of the stores is in storage-contract.test.ts; LruMap and log rotation at the end.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rotateIfLarge } from '../src/cli/log-rotation.js';
import { generateTransportKey, openSealed, sealFor } from '../src/crypto/transport.js';
import { verifierContext } from '../src/iam/aksk.js';
import { LruMap } from '../src/lru-map.js';
import { expectError, signedRequest, startTestDeployment, tokenRequest, type Credentials, type TestDeployment } from './helpers/deployment.js';
import { iamApi } from './helpers/iam.js';

const R = 'cn-north-4';

describe('access keys checked in the region', () => {
  let d: TestDeployment;
  before(async () => {
    d = await startTestDeployment({ regions: [R] });
  });
  after(() => d.stop());

  const listKeys = (creds: Credentials) => signedRequest(d.endpoint(R), creds, d.projectId(R), 'POST', `/v1.0/${d.projectId(R)}/kms/list-keys`, {});
  const afterPoll = () => new Promise((r) => setTimeout(r, 400)); // regions poll the feed every 100 ms here

  test('a deleted access key is refused within a poll, though the region had checked it itself', async () => {
    const iam = iamApi(d);
    const user = await iam.userWith('hot-delete', [await iam.roleId('KMS Administrator')], { project: d.projectId(R) });
    assert.equal((await listKeys(user.creds)).status, 200);
    assert.equal((await listKeys(user.creds)).status, 200, 'the second call, checked in the region');
    const del = await iam.call('DELETE', `/v3.0/OS-CREDENTIAL/credentials/${user.creds.ak}`);
    assert.equal(del.status, 204, JSON.stringify(del.body));
    await afterPoll();
    expectError(await listKeys(user.creds), 401, 'APIGW.0301');
  });

  test('a disabled access key, and the keys of a disabled user, are refused within a poll', async () => {
    const iam = iamApi(d);
    const kmsAdmin = await iam.roleId('KMS Administrator');
    const a = await iam.userWith('hot-inactive', [kmsAdmin], { project: d.projectId(R) });
    const b = await iam.userWith('hot-disabled', [kmsAdmin], { project: d.projectId(R) });
    for (const u of [a, b]) assert.equal((await listKeys(u.creds)).status, 200);
    const inactive = await iam.call('PUT', `/v3.0/OS-CREDENTIAL/credentials/${a.creds.ak}`, { credential: { status: 'inactive' } });
    assert.equal(inactive.status, 200, JSON.stringify(inactive.body));
    const disabled = await iam.call('PUT', `/v3.0/OS-USER/users/${b.id}`, { user: { enabled: false } });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    await afterPoll();
    expectError(await listKeys(a.creds), 401, 'APIGW.0301');
    expectError(await listKeys(b.creds), 401, 'APIGW.0301');
  });

  test('a wrong signature of a key the region knows is APIGW.0301, and a temporary key without its security token', async () => {
    assert.equal((await listKeys(d.admin)).status, 200);
    expectError(await listKeys({ ak: d.admin.ak, sk: d.admin.sk.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')) }), 401, 'APIGW.0301');
    const token = await d.token(R);
    const t = await tokenRequest(d.iamUrl, token, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', { auth: { identity: { methods: ['token'], token: { duration_seconds: 900 } } } });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const c = t.body.credential;
    const temporary = { ak: c.access, sk: c.secret, securityToken: c.securitytoken };
    assert.equal((await listKeys(temporary)).status, 200);
    assert.equal((await listKeys(temporary)).status, 200, 'checked in the region');
    expectError(await listKeys({ ak: c.access, sk: c.secret }), 401, 'APIGW.0301');
    expectError(await listKeys({ ...temporary, securityToken: c.securitytoken.slice(0, -2) + 'xx' }), 401, 'APIGW.0301');
  });

  test('with IAM down, keys and tokens the region checked go on working; an access key it never saw gets 503 KMS.0104', async () => {
    const iam = iamApi(d);
    const fresh = await iam.userWith('hot-unseen', [await iam.roleId('KMS Administrator')], { project: d.projectId(R) });
    const token = await d.token(R);
    // The new user changed the account: once the region has seen that in the feed, what it holds stays.
    await afterPoll();
    assert.equal((await listKeys(d.admin)).status, 200);
    const byToken = () => tokenRequest(d.endpoint(R), token, 'POST', `/v1.0/${d.projectId(R)}/kms/list-keys`, {});
    assert.equal((await byToken()).status, 200);
    await d.stopIam();
    assert.equal((await listKeys(d.admin)).status, 200, 'an access key the region knows');
    assert.equal((await byToken()).status, 200, 'a token');
    expectError(await listKeys(fresh.creds), 503, 'KMS.0104');
  });
});

describe('tokens remembered as verified', () => {
  let now = Date.now();
  let d: TestDeployment;
  before(async () => {
    d = await startTestDeployment({ regions: [R], clock: () => now });
  });
  after(() => d.stop());

  test('expiry and revocation are checked on every call, remembered or not', async () => {
    const call = (token: string) => tokenRequest(d.endpoint(R), token, 'POST', `/v1.0/${d.projectId(R)}/kms/list-keys`, {});
    const expiring = await d.token(R);
    const revoked = await d.token(R);
    for (const t of [expiring, revoked]) {
      assert.equal((await call(t)).status, 200);
      assert.equal((await call(t)).status, 200, 'remembered');
    }
    const del = await tokenRequest(d.iamUrl, revoked, 'DELETE', '/v3/auth/tokens', undefined, { 'X-Subject-Token': revoked });
    assert.equal(del.status, 204);
    await new Promise((r) => setTimeout(r, 400));
    expectError(await call(revoked), 401, 'APIGW.0301');
    now = Date.now() + 25 * 3_600_000; // past the tokens' 24 hours
    expectError(await call(expiring), 401, 'APIGW.0307');
  });
});

describe('key pairs are made off the event loop', () => {
  let d: TestDeployment;
  before(async () => {
    d = await startTestDeployment({ regions: [R] });
  });
  after(() => d.stop());

  test('encrypt-data answers while an RSA_4096 key is being generated', async () => {
    const aes = (await d.kms(R, 'create-key', { key_alias: 'offloop-aes', key_spec: 'AES_256' })).body.key_info.key_id as string;
    const order: string[] = [];
    const rsa = d.kms(R, 'create-key', { key_alias: 'offloop-rsa', key_spec: 'RSA_4096', key_usage: 'SIGN_VERIFY' }).then((r) => {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      order.push('create-key RSA_4096');
    });
    await new Promise((r) => setTimeout(r, 20)); // the create-key is in the region by now
    const enc = d.kms(R, 'encrypt-data', { key_id: aes, plain_text: 'while RSA generates' }).then((r) => {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      order.push('encrypt-data');
    });
    await Promise.all([rsa, enc]);
    assert.deepEqual(order, ['encrypt-data', 'create-key RSA_4096']);
  });
});

describe('an access key verifier sealed for a region', () => {
  test('opens only in that region, as that access key', () => {
    const north = generateTransportKey();
    const south = generateTransportKey();
    const sealed = sealFor(north.publicRaw, Buffer.from('{"secret_key":"s"}'), verifierContext('cn-north-4', 'AK1'));
    assert.equal(openSealed(north.privateDer, sealed, verifierContext('cn-north-4', 'AK1')).toString(), '{"secret_key":"s"}');
    assert.throws(() => openSealed(north.privateDer, sealed, verifierContext('cn-north-4', 'AK2')));
    assert.throws(() => openSealed(north.privateDer, sealed, verifierContext('cn-south-1', 'AK1')));
    assert.throws(() => openSealed(south.privateDer, sealed, verifierContext('cn-north-4', 'AK1')));
  });
});

describe('LruMap', () => {
  test('forgets the least recently used entry past its bound, and says so', () => {
    const evicted: string[] = [];
    const m = new LruMap<string, number>(2, (_v, k) => evicted.push(k));
    m.set('a', 1);
    m.set('b', 2);
    assert.equal(m.get('a'), 1); // a is now the most recently used
    m.set('c', 3);
    assert.deepEqual(evicted, ['b']);
    assert.equal(m.get('b'), undefined);
    assert.equal(m.size, 2);
    m.deleteWhere((v) => v === 3);
    assert.deepEqual(evicted, ['b', 'c']);
    m.clear();
    assert.deepEqual(evicted, ['b', 'c', 'a']);
    assert.throws(() => new LruMap(0), RangeError);
  });
});

describe('log rotation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-logs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a log past its size becomes .1, older copies shift, the oldest goes, the live file starts empty', () => {
    const log = join(dir, 'region.log');
    writeFileSync(log, 'small\n');
    assert.equal(rotateIfLarge(log, 100, 2), false);
    for (const round of ['first', 'second', 'third']) {
      writeFileSync(log, `${round}\n`.repeat(20));
      assert.equal(rotateIfLarge(log, 100, 2), true);
      assert.equal(readFileSync(log, 'utf8'), '');
    }
    assert.equal(readFileSync(`${log}.1`, 'utf8'), 'third\n'.repeat(20));
    assert.equal(readFileSync(`${log}.2`, 'utf8'), 'second\n'.repeat(20));
    assert.equal(existsSync(`${log}.3`), false);
  });
});
