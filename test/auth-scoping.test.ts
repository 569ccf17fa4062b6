/**
 * How KMS requests authenticate and which project they may touch (docs/reference/huawei-auth.md §3, §4.5): X-Auth-Token
 * and SDK-HMAC-SHA256 side by side, signature failures, project and region scoping for tokens and access keys,
 * isolation between accounts and between projects, the regions API (docs/reference/seed-kms-regions-api.txt), and
 * one pass with the real official SDK client. One deployment is shared by the whole file.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { iamDir } from '../src/deployment.js';
import { openIam } from '../src/iam-server.js';
import {
  expectError, KEY_ID, passwordToken, sendSigned, signedRequest, signRequest, startTestDeployment, tokenRequest, type Credentials, type Reply, type TestDeployment,
} from './helpers/deployment.js';

const require = createRequire(import.meta.url);

let d: TestDeployment;
/** The bootstrap account's projects in cn-north-4 (A, the default) and a second one there (B). */
let PA: string;
let PB: string;
/** A second account with its own cn-north-4 project. */
const other = { domain: 'scoping-other', name: 'dave', password: 'dave-password-1', domainId: '', projectId: '', creds: { ak: '', sk: '' } as Credentials };
/** A key of the first account in PA, and a ciphertext under it. */
let keyA: string;
let cipherA: string;

before(async () => {
  d = await startTestDeployment();
  PA = d.projectId('cn-north-4');
  // A second account and a second project, created through IAM's own data while the deployment runs.
  const { iam, close } = await openIam(iamDir(d.dir), { store: d.deployment.store });
  try {
    PB = (await iam.createProject(d.boot.domain_id, 'cn-north-4_b', 'cn-north-4')).id;
    // The account's administrator: its admin group may do everything in the account.
    const account = await iam.createAccount(other.domain, { userName: other.name, password: other.password });
    other.domainId = account.domain.id;
    other.projectId = (await iam.createProject(account.domain.id, 'cn-north-4', 'cn-north-4')).id;
    other.creds = { ak: account.accessKey, sk: account.secretKey };
  } finally {
    await close();
  }
  const created = await d.kms('cn-north-4', 'create-key', { key_alias: 'account-a-key' });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  keyA = created.body.key_info.key_id;
  const enc = await d.kms('cn-north-4', 'encrypt-data', { key_id: keyA, plain_text: 'secret of account A' });
  assert.equal(enc.status, 200, JSON.stringify(enc.body));
  cipherA = enc.body.cipher_text;
});
after(() => d.stop());

const adminUser = () => ({ domain: d.boot.domain_name, name: d.boot.user_name, password: d.boot.password });
const otherUser = () => ({ domain: other.domain, name: other.name, password: other.password });

async function token(scope: object | undefined, user = adminUser()): Promise<string> {
  const r = await passwordToken(d.iamUrl, user, scope);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.headers.get('x-subject-token')!;
}

/** KMS POST with an X-Auth-Token. */
function byToken(region: string, tok: string | undefined, projectId: string, op: string, body: object = {}): Promise<Reply> {
  return tokenRequest(d.endpoint(region), tok, 'POST', `/v1.0/${projectId}/kms/${op}`, body);
}

/** KMS POST signed with an access key; X-Project-Id is the path project unless `xProject` says otherwise. */
function bySignature(region: string, creds: Credentials, projectId: string, op: string, body: object = {}, xProject = projectId): Promise<Reply> {
  return signedRequest(d.endpoint(region), creds, xProject, 'POST', `/v1.0/${projectId}/kms/${op}`, body);
}

/** X-Sdk-Date for a moment: YYYYMMDDTHHMMSSZ. */
const sdkDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

describe('token or signature', () => {
  test('the same operations succeed with X-Auth-Token and with SDK-HMAC-SHA256', async () => {
    const tok = await token({ project: { id: PA } });
    const created = await byToken('cn-north-4', tok, PA, 'create-key', { key_alias: 'by-token' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const id = created.body.key_info.key_id;
    assert.match(id, KEY_ID);
    const signedCreate = await bySignature('cn-north-4', d.admin, PA, 'create-key', { key_alias: 'by-signature' });
    assert.equal(signedCreate.status, 200, JSON.stringify(signedCreate.body));

    const viaToken = await byToken('cn-north-4', tok, PA, 'describe-key', { key_id: id });
    const viaSig = await bySignature('cn-north-4', d.admin, PA, 'describe-key', { key_id: id });
    assert.equal(viaToken.status, 200);
    assert.equal(viaSig.status, 200);
    assert.deepEqual(viaToken.body, viaSig.body);
    assert.equal(viaSig.body.key_info.key_alias, 'by-token');

    // Encrypt one way, decrypt the other, both directions.
    const e1 = await byToken('cn-north-4', tok, PA, 'encrypt-data', { key_id: id, plain_text: 'token to signature' });
    const d1 = await bySignature('cn-north-4', d.admin, PA, 'decrypt-data', { cipher_text: e1.body.cipher_text });
    assert.equal(d1.body.plain_text, 'token to signature');
    const e2 = await bySignature('cn-north-4', d.admin, PA, 'encrypt-data', { key_id: id, plain_text: 'signature to token' });
    const d2 = await byToken('cn-north-4', tok, PA, 'decrypt-data', { cipher_text: e2.body.cipher_text });
    assert.equal(d2.body.plain_text, 'signature to token');

    const l1 = await byToken('cn-north-4', tok, PA, 'list-keys', { key_spec: 'ALL' });
    const l2 = await bySignature('cn-north-4', d.admin, PA, 'list-keys', { key_spec: 'ALL' });
    assert.equal(l1.status, 200);
    assert.deepEqual(l1.body, l2.body);
    for (const k of [keyA, id, signedCreate.body.key_info.key_id]) assert.ok(l1.body.keys.includes(k), k);

    const r1 = await tokenRequest(d.endpoint('cn-north-4'), tok, 'GET', `/v2/${PA}/kms/regions`);
    const r2 = await signedRequest(d.endpoint('cn-north-4'), d.admin, PA, 'GET', `/v2/${PA}/kms/regions`);
    assert.equal(r1.status, 200);
    assert.deepEqual(r1.body, r2.body);
  });
});

describe('signature failures: 401 APIGW.0301', () => {
  const op = () => ({ path: `/v1.0/${PA}/kms/encrypt-data`, body: { key_id: keyA, plain_text: 'hello' } });
  const sign = (creds: Credentials = d.admin, extra: Record<string, string> = {}) =>
    signRequest(d.endpoint('cn-north-4'), creds, PA, 'POST', op().path, op().body, undefined, extra);

  test('control: the unaltered signed request succeeds', async () => {
    const r = await sendSigned(sign());
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const withExtra = await sendSigned(sign(d.admin, { 'X-Client-Tag': 'a' }));
    assert.equal(withExtra.status, 200, JSON.stringify(withExtra.body));
    assert.match(sign(d.admin, { 'X-Client-Tag': 'a' }).headers.Authorization!, /SignedHeaders=[^,]*x-client-tag/);
  });

  test('wrong secret key', async () => {
    expectError(await sendSigned(sign({ ak: d.admin.ak, sk: d.admin.sk.slice(0, -1) + (d.admin.sk.endsWith('A') ? 'B' : 'A') })), 401, 'APIGW.0301');
    expectError(await sendSigned(sign({ ak: d.admin.ak, sk: other.creds.sk })), 401, 'APIGW.0301');
  });

  test('a body byte changed after signing', async () => {
    const parts = sign();
    assert.ok(parts.body?.includes('"hello"'));
    expectError(await sendSigned({ ...parts, body: parts.body!.replace('"hello"', '"hellp"') }), 401, 'APIGW.0301');
    expectError(await sendSigned({ ...parts, body: parts.body + ' ' }), 401, 'APIGW.0301');
    // The untouched parts still work (nothing else is wrong with them).
    assert.equal((await sendSigned(parts)).status, 200);
  });

  test('a signed header changed after signing', async () => {
    const parts = sign(d.admin, { 'X-Client-Tag': 'a' });
    expectError(await sendSigned({ ...parts, headers: { ...parts.headers, 'X-Client-Tag': 'b' } }), 401, 'APIGW.0301');
    expectError(await sendSigned({ ...parts, headers: { ...parts.headers, 'content-type': 'application/json;charset=UTF-8' } }), 401, 'APIGW.0301');
    const dated = sign();
    const date = dated.headers['X-Sdk-Date']!;
    const shifted = sdkDate(Date.parse(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`) - 1000);
    expectError(await sendSigned({ ...dated, headers: { ...dated.headers, 'X-Sdk-Date': shifted } }), 401, 'APIGW.0301');
    // Dropping a signed header is a change too.
    const { 'X-Client-Tag': _dropped, ...rest } = parts.headers;
    expectError(await sendSigned({ ...parts, headers: rest }), 401, 'APIGW.0301');
  });

  test('X-Sdk-Date more than 15 minutes away from the server time', async () => {
    const now = Date.now();
    // control: 10 minutes old, a pinned date signs correctly
    const recent = await sendSigned(sign(d.admin, { 'X-Sdk-Date': sdkDate(now - 10 * 60_000) }));
    assert.equal(recent.status, 200, JSON.stringify(recent.body));
    expectError(await sendSigned(sign(d.admin, { 'X-Sdk-Date': sdkDate(now - 16 * 60_000) })), 401, 'APIGW.0301');
    expectError(await sendSigned(sign(d.admin, { 'X-Sdk-Date': sdkDate(now + 16 * 60_000) })), 401, 'APIGW.0301');
    // the same 16-minute-old date through signedRequest's extra headers
    expectError(await signedRequest(d.endpoint('cn-north-4'), d.admin, PA, 'POST', `/v1.0/${PA}/kms/list-keys`, {}, undefined, { 'X-Sdk-Date': sdkDate(now - 16 * 60_000) }), 401, 'APIGW.0301');
  });

  test('X-Sdk-Date not signed, or malformed', async () => {
    const parts = sign();
    const auth = parts.headers.Authorization!;
    const unsignedDate = auth.replace(/SignedHeaders=([^,]*)/, (_m, h: string) => `SignedHeaders=${h.split(';').filter((x) => x !== 'x-sdk-date').join(';')}`);
    assert.notEqual(unsignedDate, auth);
    expectError(await sendSigned({ ...parts, headers: { ...parts.headers, Authorization: unsignedDate } }), 401, 'APIGW.0301');
    expectError(await sendSigned(sign(d.admin, { 'X-Sdk-Date': new Date().toISOString() })), 401, 'APIGW.0301');
  });

  test('unknown access key', async () => {
    expectError(await sendSigned(sign({ ak: 'UNKNOWNACCESSKEY0000', sk: d.admin.sk })), 401, 'APIGW.0301');
    expectError(await sendSigned(sign({ ak: d.admin.ak.replace(/^./, (c) => (c === 'Z' ? 'Y' : 'Z')), sk: d.admin.sk })), 401, 'APIGW.0301');
  });

  test('an unsupported algorithm prefix', async () => {
    const parts = sign();
    const auth = parts.headers.Authorization!;
    assert.match(auth, /^SDK-HMAC-SHA256 /);
    for (const replacement of [
      auth.replace('SDK-HMAC-SHA256', 'SDK-HMAC-SM3'),
      auth.replace('SDK-HMAC-SHA256', 'SDK-ECDSA-P256-SHA256'),
      auth.replace(/^SDK-HMAC-SHA256 Access=([^,]+)/, `V11-HMAC-SHA256 Credential=$1/${sdkDate(Date.now()).slice(0, 8)}/cn-north-4/kms`),
      `AWS4-HMAC-SHA256 ${auth.slice('SDK-HMAC-SHA256 '.length)}`,
      'Bearer abc',
      'SDK-HMAC-SHA256 garbage',
    ]) {
      const r = await sendSigned({ ...parts, headers: { ...parts.headers, Authorization: replacement } });
      try {
        expectError(r, 401, 'APIGW.0301');
      } catch (err) {
        throw new Error(`${replacement}: ${(err as Error).message}`);
      }
    }
    // An Authorization header wins over a valid token: no falling back to the token.
    const tok = await token({ project: { id: PA } });
    expectError(await sendSigned({ ...parts, headers: { ...parts.headers, Authorization: 'SDK-HMAC-SM3 x', 'X-Auth-Token': tok } }), 401, 'APIGW.0301');
  });
});

describe('project scoping', () => {
  test('X-Project-Id different from the path project: 403 KMS.0321', async () => {
    assert.equal((await bySignature('cn-north-4', d.admin, PA, 'list-keys', {}, PA)).status, 200);
    expectError(await bySignature('cn-north-4', d.admin, PA, 'list-keys', {}, PB), 403, 'KMS.0321');
    expectError(await bySignature('cn-north-4', d.admin, PB, 'describe-key', { key_id: keyA }, PA), 403, 'KMS.0321');
    expectError(await bySignature('cn-north-4', d.admin, PA, 'list-keys', {}, other.projectId), 403, 'KMS.0321');
    // With a token too: X-Project-Id must be the path's project.
    const tokA = await token({ project: { id: PA } });
    assert.equal((await tokenRequest(d.endpoint('cn-north-4'), tokA, 'POST', `/v1.0/${PA}/kms/list-keys`, {}, { 'X-Project-Id': PA })).status, 200);
    expectError(await tokenRequest(d.endpoint('cn-north-4'), tokA, 'POST', `/v1.0/${PA}/kms/list-keys`, {}, { 'X-Project-Id': PB }), 403, 'KMS.0321');
  });

  test('a token scoped to project P on the path of project Q: 403 KMS.0321', async () => {
    const tokA = await token({ project: { id: PA } });
    const tokB = await token({ project: { id: PB } });
    assert.equal((await byToken('cn-north-4', tokA, PA, 'list-keys')).status, 200);
    assert.equal((await byToken('cn-north-4', tokB, PB, 'list-keys')).status, 200);
    expectError(await byToken('cn-north-4', tokA, PB, 'list-keys'), 403, 'KMS.0321');
    expectError(await byToken('cn-north-4', tokB, PA, 'describe-key', { key_id: keyA }), 403, 'KMS.0321');
    expectError(await byToken('cn-south-1', tokA, d.projectId('cn-south-1'), 'list-keys'), 403, 'KMS.0321');
  });

  test('domain-scoped and unscoped tokens on KMS: 403 KMS.0321', async () => {
    const domainTok = await token({ domain: { name: d.boot.domain_name } });
    const unscoped = await token(undefined);
    for (const tok of [domainTok, unscoped]) {
      expectError(await byToken('cn-north-4', tok, PA, 'list-keys'), 403, 'KMS.0321');
      expectError(await byToken('cn-north-4', tok, PA, 'encrypt-data', { key_id: keyA, plain_text: 'x' }), 403, 'KMS.0321');
      expectError(await tokenRequest(d.endpoint('cn-north-4'), tok, 'GET', `/v2/${PA}/kms/regions`), 403, 'KMS.0321');
    }
  });

  test("a project of another region: 403 KMS.0306 (token and signature)", async () => {
    const tokNorth = await token({ project: { id: PA } });
    expectError(await byToken('cn-south-1', tokNorth, PA, 'list-keys'), 403, 'KMS.0306');
    expectError(await byToken('cn-east-3', tokNorth, PA, 'create-key', { key_alias: 'wrong-region' }), 403, 'KMS.0306');
    expectError(await bySignature('cn-south-1', d.admin, PA, 'list-keys'), 403, 'KMS.0306');
    const south = d.projectId('cn-south-1');
    expectError(await bySignature('cn-north-4', d.admin, south, 'list-keys'), 403, 'KMS.0306');
    // each project works in its own region
    assert.equal((await bySignature('cn-south-1', d.admin, south, 'list-keys')).status, 200);
  });

  test('a project id that does not exist: 403 KMS.0306', async () => {
    const ghost = 'f'.repeat(32);
    expectError(await bySignature('cn-north-4', d.admin, ghost, 'list-keys'), 403, 'KMS.0306');
  });
});

describe('isolation', () => {
  test("a second account cannot see the first account's keys", async () => {
    const O = other.projectId;
    const c = other.creds;
    // Its own project works (and is empty).
    const list = await bySignature('cn-north-4', c, O, 'list-keys');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(list.body.keys, []);
    assert.equal(Number(list.body.total), 0);
    const listAll = await bySignature('cn-north-4', c, O, 'list-keys', { key_spec: 'ALL' });
    assert.deepEqual(listAll.body.keys, []);

    // The first account's key and ciphertext are not found in its project.
    expectError(await bySignature('cn-north-4', c, O, 'describe-key', { key_id: keyA }), 404, 'KMS.0207');
    expectError(await bySignature('cn-north-4', c, O, 'encrypt-data', { key_id: keyA, plain_text: 'x' }), 404, 'KMS.0207');
    expectError(await bySignature('cn-north-4', c, O, 'decrypt-data', { cipher_text: cipherA }), 404, 'KMS.0207');
    expectError(await bySignature('cn-north-4', c, O, 'disable-key', { key_id: keyA }), 404, 'KMS.0207');
    // Same with its token.
    const otherTok = await token({ project: { id: O } }, otherUser());
    expectError(await byToken('cn-north-4', otherTok, O, 'describe-key', { key_id: keyA }), 404, 'KMS.0207');
    expectError(await byToken('cn-north-4', otherTok, O, 'decrypt-data', { cipher_text: cipherA }), 404, 'KMS.0207');

    // The first account's project in the path, with its own credentials: forbidden.
    expectError(await bySignature('cn-north-4', c, PA, 'list-keys'), 403, 'KMS.0306');
    expectError(await bySignature('cn-north-4', c, PA, 'describe-key', { key_id: keyA }), 403, 'KMS.0306');
    expectError(await bySignature('cn-north-4', c, PA, 'decrypt-data', { cipher_text: cipherA }), 403, 'KMS.0306');
    expectError(await byToken('cn-north-4', otherTok, PA, 'describe-key', { key_id: keyA }), 403, 'KMS.0321');

    // The key is still fine for its owner, and the other account's own key is invisible to the first.
    assert.equal((await d.kms('cn-north-4', 'describe-key', { key_id: keyA })).status, 200);
    const theirs = await bySignature('cn-north-4', c, O, 'create-key', { key_alias: 'account-b-key' });
    assert.equal(theirs.status, 200, JSON.stringify(theirs.body));
    assert.equal(theirs.body.key_info.domain_id, other.domainId);
    expectError(await d.kms('cn-north-4', 'describe-key', { key_id: theirs.body.key_info.key_id }), 404, 'KMS.0207');
    expectError(await bySignature('cn-north-4', d.admin, O, 'list-keys'), 403, 'KMS.0306');
    assert.deepEqual((await bySignature('cn-north-4', c, O, 'list-keys')).body.keys, [theirs.body.key_info.key_id]);
  });

  test('keys of project A are not found in project B of the same account', async () => {
    const list = await bySignature('cn-north-4', d.admin, PB, 'list-keys', { key_spec: 'ALL' });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(list.body.keys, []);
    expectError(await bySignature('cn-north-4', d.admin, PB, 'describe-key', { key_id: keyA }), 404, 'KMS.0207');
    expectError(await bySignature('cn-north-4', d.admin, PB, 'encrypt-data', { key_id: keyA, plain_text: 'x' }), 404, 'KMS.0207');
    expectError(await bySignature('cn-north-4', d.admin, PB, 'decrypt-data', { cipher_text: cipherA }), 404, 'KMS.0207');
    const tokB = await token({ project: { id: PB } });
    expectError(await byToken('cn-north-4', tokB, PB, 'decrypt-data', { cipher_text: cipherA }), 404, 'KMS.0207');

    // And the other way round.
    const inB = await bySignature('cn-north-4', d.admin, PB, 'create-key', { key_alias: 'project-b-key' });
    assert.equal(inB.status, 200, JSON.stringify(inB.body));
    const keyB = inB.body.key_info.key_id;
    const encB = await bySignature('cn-north-4', d.admin, PB, 'encrypt-data', { key_id: keyB, plain_text: 'in B' });
    assert.equal(encB.status, 200);
    expectError(await d.kms('cn-north-4', 'describe-key', { key_id: keyB }), 404, 'KMS.0207');
    expectError(await d.kms('cn-north-4', 'decrypt-data', { cipher_text: encB.body.cipher_text }), 404, 'KMS.0207');
    assert.equal((await bySignature('cn-north-4', d.admin, PB, 'decrypt-data', { cipher_text: encB.body.cipher_text })).body.plain_text, 'in B');
    assert.equal((await d.kms('cn-north-4', 'list-keys', { key_spec: 'ALL' })).body.keys.includes(keyB), false);
  });
});

describe('GET /v2/{project_id}/kms/regions', () => {
  const regionsOf = (region: string, query?: Record<string, string>, creds: Credentials = d.admin, project = d.projectId(region)) =>
    signedRequest(d.endpoint(region), creds, project, 'GET', `/v2/${project}/kms/regions`, undefined, query);

  test('by default: the other regions of the deployment', async () => {
    const all = d.deployment.regions.map((r) => r.id);
    for (const region of all) {
      const r = await regionsOf(region);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { regions: all.filter((x) => x !== region) });
    }
  });

  test('paged as a client pages it: every region exactly once', async () => {
    for (const region of d.deployment.regions.map((r) => r.id)) {
      const seen: string[] = [];
      let offset = 0;
      let pages = 0;
      for (;;) {
        const r = await regionsOf(region, { limit: '1', offset: String(offset) });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const page: string[] = r.body.regions;
        assert.ok(page.length <= 1, `limit=1 gave ${page.length}`);
        if (page.length === 0) break;
        seen.push(...page);
        offset += page.length;
        assert.ok(++pages <= 10, 'paging does not end');
      }
      const expected = d.deployment.regions.map((r) => r.id).filter((x) => x !== region);
      assert.equal(seen.length, expected.length);
      assert.deepEqual([...seen].sort(), [...expected].sort());
      assert.equal(new Set(seen).size, seen.length);
    }
    // limit=2 pages the same way
    const two = await regionsOf('cn-north-4', { limit: '2', offset: '1' });
    assert.deepEqual(two.body, { regions: ['cn-east-3'] });
  });

  test('an offset past the end: 200 with an empty list', async () => {
    for (const offset of ['2', '3', '1000']) {
      const r = await regionsOf('cn-north-4', { offset });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { regions: [] });
    }
  });

  test('limit and offset are validated', async () => {
    for (const limit of ['0', '101', 'x', '-1', '1.5', '']) {
      const r = await regionsOf('cn-north-4', { limit });
      try {
        expectError(r, 400, 'KMS.1601');
      } catch (err) {
        throw new Error(`limit=${JSON.stringify(limit)}: ${(err as Error).message}`);
      }
    }
    for (const offset of ['-1', 'x', '1.5']) {
      const r = await regionsOf('cn-north-4', { offset });
      try {
        expectError(r, 400, 'KMS.1603');
      } catch (err) {
        throw new Error(`offset=${JSON.stringify(offset)}: ${(err as Error).message}`);
      }
    }
    // the bounds themselves are fine
    assert.deepEqual((await regionsOf('cn-north-4', { limit: '1' })).body, { regions: ['cn-south-1'] });
    assert.deepEqual((await regionsOf('cn-north-4', { limit: '100', offset: '0' })).body, { regions: ['cn-south-1', 'cn-east-3'] });
  });

  test('no credentials: 401; another account: 403', async () => {
    expectError(await tokenRequest(d.endpoint('cn-north-4'), undefined, 'GET', `/v2/${PA}/kms/regions`), 401, 'APIGW.0301');
    expectError(await regionsOf('cn-north-4', undefined, other.creds, PA), 403, 'KMS.0306');
    expectError(await regionsOf('cn-north-4', undefined, d.admin, other.projectId), 403, 'KMS.0306');
    const otherTok = await token({ project: { id: other.projectId } }, otherUser());
    expectError(await tokenRequest(d.endpoint('cn-north-4'), otherTok, 'GET', `/v2/${PA}/kms/regions`), 403, 'KMS.0321');
    // its own project answers
    assert.deepEqual((await regionsOf('cn-north-4', undefined, other.creds, other.projectId)).body, { regions: ['cn-south-1', 'cn-east-3'] });
  });
});

describe('the official SDK client (docs/reference/huawei-auth.md §5.2)', () => {
  type SendOptions = { method: string; url: string; contentType?: string; queryParams: object; pathParams: object; headers: object; data?: object };
  type Hc = { sendRequest(o: SendOptions): Promise<any> };

  function client(creds: Credentials, projectId: string, region = 'cn-north-4'): Hc {
    const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder') as {
      ClientBuilder: new <T>(init: (hc: Hc) => T) => { withCredential(c: unknown): any };
    };
    const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core') as {
      BasicCredentials: new () => { withAk(a: string): any };
    };
    const credentials = new BasicCredentials().withAk(creds.ak).withSk(creds.sk).withProjectId(projectId);
    return new ClientBuilder<Hc>((hc) => hc)
      .withCredential(credentials)
      .withEndpoint(d.endpoint(region))
      .withOptions({ customUserAgent: 'strongroom-test' })
      .build() as Hc;
  }

  test('create-key, encrypt-data and the regions API through HcClient.sendRequest', async () => {
    const hc = client(d.admin, PA);
    const created = await hc.sendRequest({
      method: 'POST', url: '/v1.0/{project_id}/kms/create-key', contentType: 'application/json;charset=UTF-8',
      queryParams: {}, pathParams: {}, headers: {}, data: { key_alias: 'sdk-key', key_spec: 'AES_256', key_usage: 'ENCRYPT_DECRYPT' },
    });
    assert.equal(created.httpStatusCode, 200);
    const keyId = created.key_info.key_id;
    assert.match(keyId, KEY_ID);
    assert.equal(created.key_info.domain_id, d.boot.domain_id);

    const enc = await hc.sendRequest({
      method: 'POST', url: '/v1.0/{project_id}/kms/encrypt-data', contentType: 'application/json;charset=UTF-8',
      queryParams: {}, pathParams: {}, headers: {}, data: { key_id: keyId, plain_text: 'hello from the official SDK' },
    });
    assert.equal(enc.httpStatusCode, 200);
    assert.equal(enc.key_id, keyId);
    const dec = await d.kms('cn-north-4', 'decrypt-data', { cipher_text: enc.cipher_text });
    assert.equal(dec.body.plain_text, 'hello from the official SDK');

    const regions = await hc.sendRequest({ method: 'GET', url: '/v2/{project_id}/kms/regions', contentType: 'application/json', queryParams: {}, pathParams: {}, headers: {} });
    assert.equal(regions.httpStatusCode, 200);
    assert.deepEqual(regions.regions, ['cn-south-1', 'cn-east-3']);
    const paged = await hc.sendRequest({ method: 'GET', url: '/v2/{project_id}/kms/regions', contentType: 'application/json', queryParams: { limit: 1, offset: 1 }, pathParams: {}, headers: {} });
    assert.deepEqual(paged.regions, ['cn-east-3']);
  });

  test('an error status surfaces as ClientRequestException (404 for an unknown key)', async () => {
    const { ClientRequestException } = require('@huaweicloud/huaweicloud-sdk-core/exception/ClientRequestException') as { ClientRequestException: new (...a: any[]) => Error };
    const hc = client(d.admin, PA);
    await assert.rejects(
      hc.sendRequest({
        method: 'POST', url: '/v1.0/{project_id}/kms/describe-key', contentType: 'application/json;charset=UTF-8',
        queryParams: {}, pathParams: {}, headers: {}, data: { key_id: '00000000-0000-4000-8000-000000000000' },
      }),
      (err: unknown) => {
        assert.ok(err instanceof ClientRequestException, `not a ClientRequestException: ${String(err)}`);
        const e = err as unknown as { httpStatusCode: number; requestId?: string };
        assert.equal(e.httpStatusCode, 404);
        assert.ok(e.requestId, 'requestId (X-Request-Id) missing');
        return true;
      },
    );
    // A bad secret key through the SDK: a 401 ClientRequestException.
    const bad = client({ ak: d.admin.ak, sk: other.creds.sk }, PA);
    await assert.rejects(
      bad.sendRequest({ method: 'GET', url: '/v2/{project_id}/kms/regions', contentType: 'application/json', queryParams: {}, pathParams: {}, headers: {} }),
      (err: unknown) => err instanceof ClientRequestException && (err as unknown as { httpStatusCode: number }).httpStatusCode === 401,
    );
  });
});

test('a region refuses an IAM answer that is not signed with the deployment secret', async () => {
  const { IamClient } = await import('../src/regions/iam-client.js');
  const { createServer } = await import('node:http');
  // An impostor "IAM" that answers every call with a principal owning every project, unsigned.
  const impostor = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ principal: { user: { id: 'x', name: 'x' }, domain: { id: 'x', name: 'x' }, method: 'aksk' }, project: { id: 'p', name: 'p', region: 'cn-north-4', domainId: 'x' } }));
  });
  await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (impostor.address() as { port: number }).port;
    const client = new IamClient({ endpoint: `http://127.0.0.1:${port}`, secret: Buffer.alloc(32, 7), nodeId: 'cn-north-4', pollMs: 1000, timeoutMs: 1000, maxStalenessMs: 1000 });
    await assert.rejects(client.verifySignature({ accessKey: 'A', candidates: ['x'], signature: 'ab', projectId: 'p' }), (err: { code?: string }) => err.code === 'KMS.0104');
    await assert.rejects(client.project('p'), (err: { code?: string }) => err.code === 'KMS.0104');
  } finally {
    impostor.close();
  }
});
