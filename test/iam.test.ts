/**
 * The IAM endpoint end to end (docs/reference/huawei-auth.md §1–2, §4.5): password tokens with every scope, token
 * checks and revocation (followed by every region), expiry, tampering, project lookup, temporary access keys, and the
 * `strongroom iam ...` admin CLI. One deployment is shared by the whole file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { iamDir } from '../src/deployment.js';
import { KmsError } from '../src/errors.js';
import { IamService } from '../src/iam/iam-service.js';
import { openIam } from '../src/iam-server.js';
import { LocalFileRootKey } from '../src/keystore/local-file.js';
import { SqliteIamStore } from '../src/storage/sqlite/iam-sqlite-store.js';
import {
  expectError, KEY_ID, signedRequest, startTestDeployment, tokenRequest, type Credentials, type Reply, type TestDeployment,
} from './helpers/deployment.js';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..');
const HOUR = 3_600_000;
const KEYSTONE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const HEX32 = /^[0-9a-f]{32}$/;

/** Keystone time (microseconds) to epoch milliseconds, without relying on Date.parse accepting 6 digits. */
function keystoneMs(s: string): number {
  assert.match(s, KEYSTONE_TIME);
  const ms = Date.parse(s.replace(/^(.*\.\d{3})\d{3}Z$/, '$1Z'));
  assert.ok(Number.isFinite(ms), `unparseable time ${s}`);
  return ms;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`gave up after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let d: TestDeployment;
/** The bootstrap account's admin user. */
let admin: { domain: string; name: string; password: string };
/** A second account, with its own cn-north-4 project. */
const other = { domain: 'iam-test-other', name: 'carol', password: 'carol-password-1', domainId: '', projectId: '' };

before(async () => {
  d = await startTestDeployment();
  admin = { domain: d.boot.domain_name, name: d.boot.user_name, password: d.boot.password };
  const { iam, close } = await openIam(iamDir(d.dir), { store: d.deployment.store });
  try {
    const account = await iam.createAccount(other.domain, { userName: other.name, password: other.password });
    other.domainId = account.domain.id;
    other.projectId = (await iam.createProject(account.domain.id, 'cn-north-4', 'cn-north-4')).id;
  } finally {
    await close();
  }
});
after(() => d.stop());

function issue(scope?: object, user = admin, query = ''): Promise<Reply> {
  return tokenRequest(d.iamUrl, undefined, 'POST', `/v3/auth/tokens${query}`, {
    auth: { identity: { methods: ['password'], password: { user: { domain: { name: user.domain }, name: user.name, password: user.password } } }, ...(scope ? { scope } : {}) },
  });
}

async function tokenOf(scope?: object, user = admin): Promise<string> {
  const r = await issue(scope, user);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const t = r.headers.get('x-subject-token');
  assert.ok(t, 'no X-Subject-Token');
  return t;
}

/** A KMS call with an X-Auth-Token on `projectId`'s path (the region's bootstrap project by default). */
function kmsToken(region: string, token: string | undefined, op: string, body: object = {}, projectId = d.projectId(region)): Promise<Reply> {
  return tokenRequest(d.endpoint(region), token, 'POST', `/v1.0/${projectId}/kms/${op}`, body);
}

/** GET/HEAD/DELETE /v3/auth/tokens with a caller token and a subject token. */
function tokensCall(method: 'GET' | 'HEAD' | 'DELETE', caller: string | undefined, subjectToken: string | undefined, query = ''): Promise<Reply> {
  return tokenRequest(d.iamUrl, caller, method, `/v3/auth/tokens${query}`, undefined, subjectToken === undefined ? {} : { 'X-Subject-Token': subjectToken });
}

function assertUser(token: any): void {
  assert.match(token.user.id, HEX32);
  assert.equal(token.user.name, admin.name);
  assert.deepEqual(token.user.domain, { id: d.boot.domain_id, name: d.boot.domain_name });
}

function assertCatalog(token: any): void {
  assert.ok(Array.isArray(token.catalog), 'catalog missing');
  const kms = token.catalog.find((s: any) => s.type === 'kms');
  assert.ok(kms, `no kms service in ${JSON.stringify(token.catalog)}`);
  assert.deepEqual(
    kms.endpoints.map((e: any) => [e.region, e.region_id, e.interface, e.url]),
    d.deployment.regions.map((r) => [r.id, r.id, 'public', r.endpoint]),
  );
}

describe('POST /v3/auth/tokens', () => {
  test('project scope by id: 201, X-Subject-Token and the full token body', async () => {
    const before = Date.now();
    const r = await issue({ project: { id: d.projectId('cn-north-4') } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const token = r.headers.get('x-subject-token');
    assert.ok(token && token.length > 40 && token.length < 8192, `X-Subject-Token ${token}`);
    const t = r.body.token;
    const issued = keystoneMs(t.issued_at);
    const expires = keystoneMs(t.expires_at);
    assert.equal(expires - issued, 24 * HOUR);
    assert.ok(issued >= before - 2000 && issued <= Date.now() + 2000, `issued_at ${t.issued_at} is not now`);
    assert.deepEqual(t.methods, ['password']);
    assertUser(t);
    assert.deepEqual(t.project, { id: d.projectId('cn-north-4'), name: 'cn-north-4', domain: { id: d.boot.domain_id, name: d.boot.domain_name } });
    assert.equal(t.domain, undefined, 'a project-scoped token has no domain scope');
    assert.ok(Array.isArray(t.roles) && t.roles.length > 0);
    for (const role of t.roles) assert.ok(typeof role.id === 'string' && typeof role.name === 'string', JSON.stringify(role));
    assertCatalog(t);
    const iamService = t.catalog.find((s: any) => s.type === 'identity');
    assert.equal(iamService?.endpoints?.[0]?.url, d.iamUrl);
    // The token is good for KMS in that project.
    assert.equal((await kmsToken('cn-north-4', token, 'list-keys')).status, 200);
  });

  test('?nocatalog=true leaves the catalog out', async () => {
    const r = await issue({ project: { id: d.projectId('cn-north-4') } }, admin, '?nocatalog=true');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal('catalog' in r.body.token, false);
    assert.equal(r.body.token.project.id, d.projectId('cn-north-4'));
  });

  test('project scope by name with its domain', async () => {
    for (const region of ['cn-north-4', 'cn-south-1']) {
      const r = await issue({ project: { name: region, domain: { name: admin.domain } } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.token.project.id, d.projectId(region));
      assert.equal(r.body.token.project.name, region);
      assert.equal((await kmsToken(region, r.headers.get('x-subject-token')!, 'list-keys')).status, 200);
    }
  });

  test('domain scope (by name and by id): token.domain, no project', async () => {
    for (const scope of [{ domain: { name: admin.domain } }, { domain: { id: d.boot.domain_id } }]) {
      const r = await issue(scope);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(r.body.token.domain, { id: d.boot.domain_id, name: d.boot.domain_name });
      assert.equal(r.body.token.project, undefined);
      assertUser(r.body.token);
      assertCatalog(r.body.token);
      assert.ok(r.headers.get('x-subject-token'));
    }
  });

  test('unscoped: neither project nor domain', async () => {
    const r = await issue();
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.token.project, undefined);
    assert.equal(r.body.token.domain, undefined);
    assertUser(r.body.token);
    assert.deepEqual(r.body.token.methods, ['password']);
    assert.equal(keystoneMs(r.body.token.expires_at) - keystoneMs(r.body.token.issued_at), 24 * HOUR);
  });

  test('wrong password, unknown user, unknown account: 401 IAM.0002', async () => {
    expectError(await issue(undefined, { ...admin, password: admin.password + 'x' }), 401, 'IAM.0002');
    expectError(await issue(undefined, { ...admin, name: 'nobody' }), 401, 'IAM.0002');
    expectError(await issue(undefined, { ...admin, domain: 'no-such-account' }), 401, 'IAM.0002');
    // another account's user with the right password, under the wrong account
    expectError(await issue(undefined, { domain: admin.domain, name: other.name, password: other.password }), 401, 'IAM.0002');
    // and no token header on failure
    const r = await issue(undefined, { ...admin, password: 'wrong-password' });
    assert.equal(r.headers.get('x-subject-token'), null);
  });

  test('malformed bodies: 400 IAM.0001', async () => {
    const user = { domain: { name: admin.domain }, name: admin.name, password: admin.password };
    const bodies: (object | string)[] = [
      {},
      [],
      { auth: {} },
      { auth: { identity: { password: { user } } } }, // no methods
      { auth: { identity: { methods: 'password', password: { user } } } },
      { auth: { identity: { methods: ['token'], token: { id: 'x' } } } },
      { auth: { identity: { methods: ['password'] } } },
      { auth: { identity: { methods: ['password'], password: { user: { ...user, password: undefined } } } } },
      { auth: { identity: { methods: ['password'], password: { user: { ...user, name: 42 } } } } },
      { auth: { identity: { methods: ['password'], password: { user: { ...user, domain: {} } } } } },
      { auth: { identity: { methods: ['password'], password: { user: { ...user, password: '' } } } } },
      { auth: { identity: { methods: ['password'], password: { user } }, scope: { project: { id: 7 } } } },
    ];
    for (const body of bodies) {
      const r = await tokenRequest(d.iamUrl, undefined, 'POST', '/v3/auth/tokens', body);
      try {
        expectError(r, 400, 'IAM.0001');
      } catch (err) {
        throw new Error(`${JSON.stringify(body)}: ${(err as Error).message}`);
      }
    }
    // No body at all.
    expectError(await tokenRequest(d.iamUrl, undefined, 'POST', '/v3/auth/tokens'), 400, 'IAM.0001');
    // Not JSON at all: a 400 (the shared HTTP layer answers KMS.0202 for unparseable JSON).
    const notJson = await tokenRequest(d.iamUrl, undefined, 'POST', '/v3/auth/tokens', '{"auth": ');
    assert.equal(notJson.status, 400, JSON.stringify(notJson.body));
    assert.equal(notJson.headers.get('x-subject-token'), null);
  });

  test("another account's project (by id or by name and domain) or domain: 403 IAM.0004", async () => {
    expectError(await issue({ project: { id: other.projectId } }), 403, 'IAM.0004');
    expectError(await issue({ project: { name: 'cn-north-4', domain: { name: other.domain } } }), 403, 'IAM.0004');
    expectError(await issue({ project: { id: d.projectId('cn-north-4'), domain: { id: other.domainId } } }), 403, 'IAM.0004');
    expectError(await issue({ domain: { name: other.domain } }), 403, 'IAM.0004');
    expectError(await issue({ domain: { id: other.domainId } }), 403, 'IAM.0004');
    expectError(await issue({ project: { id: '0'.repeat(32) } }), 403, 'IAM.0004');
    // ... while its own user gets it.
    const r = await issue({ project: { id: other.projectId } }, other);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.token.project.domain, { id: other.domainId, name: other.domain });
  });
});

describe('GET, HEAD and DELETE /v3/auth/tokens', () => {
  test('GET returns the same token body and echoes X-Subject-Token; HEAD answers 200', async () => {
    const issued = await issue({ project: { id: d.projectId('cn-south-1') } });
    const subject = issued.headers.get('x-subject-token')!;
    const caller = await tokenOf({ domain: { name: admin.domain } });
    const r = await tokensCall('GET', caller, subject);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.headers.get('x-subject-token'), subject);
    assert.deepEqual(r.body, issued.body);
    const noCatalog = await tokensCall('GET', caller, subject, '?nocatalog=true');
    assert.equal(noCatalog.status, 200);
    assert.equal('catalog' in noCatalog.body.token, false);
    // The subject may also be the caller's own token.
    assert.equal((await tokensCall('GET', subject, subject)).status, 200);
    // Caller by access-key signature instead of a token.
    const signed = await signedRequest(d.iamUrl, d.admin, undefined, 'GET', '/v3/auth/tokens', undefined, undefined, { 'X-Subject-Token': subject });
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    assert.equal(signed.body.token.project.id, d.projectId('cn-south-1'));

    const head = await tokensCall('HEAD', caller, subject);
    assert.equal(head.status, 200);
    assert.equal(head.body, undefined);
  });

  test('GET/HEAD: no caller is 401, a missing subject 400, an invalid subject 404', async () => {
    const subject = await tokenOf();
    expectError(await tokensCall('GET', undefined, subject), 401, 'APIGW.0301');
    assert.equal((await tokensCall('HEAD', undefined, subject)).status, 401);
    expectError(await tokensCall('GET', subject, undefined), 400, 'IAM.0001');
    expectError(await tokensCall('GET', subject, 'SR1.not-a-token.x'), 404, 'IAM.0003');
    assert.equal((await tokensCall('HEAD', subject, 'garbage')).status, 404);
  });

  test('DELETE revokes: IAM and then every region refuse the token, another token keeps working', async () => {
    const north = d.projectId('cn-north-4');
    const doomed = await tokenOf({ project: { id: north } });
    const survivor = await tokenOf({ project: { id: north } });
    // Before: the doomed token works in its region; elsewhere it is refused for its region (403), not as revoked.
    assert.equal((await kmsToken('cn-north-4', doomed, 'list-keys')).status, 200);
    for (const region of ['cn-south-1', 'cn-east-3']) expectError(await kmsToken(region, doomed, 'list-keys', {}, north), 403, 'KMS.0306');

    const del = await tokensCall('DELETE', survivor, doomed);
    assert.equal(del.status, 204, JSON.stringify(del.body));
    assert.equal(del.body, undefined);

    // IAM refuses it at once, as a subject and as a caller.
    expectError(await tokensCall('GET', survivor, doomed), 404, 'IAM.0003');
    assert.equal((await tokensCall('HEAD', survivor, doomed)).status, 404);
    expectError(await tokenRequest(d.iamUrl, doomed, 'GET', '/v3/auth/domains'), 401, 'APIGW.0301');
    expectError(await tokensCall('DELETE', survivor, doomed), 404, 'IAM.0003');

    // Every region learns it within its revocation poll.
    const regions = d.deployment.regions.map((r) => r.id);
    await waitFor('every region to refuse the revoked token', async () => {
      for (const region of regions) if ((await kmsToken(region, doomed, 'list-keys', {}, north)).status !== 401) return false;
      return true;
    });
    for (const region of regions) expectError(await kmsToken(region, doomed, 'list-keys', {}, north), 401, 'APIGW.0301');
    expectError(await kmsToken('cn-north-4', doomed, 'create-key', { key_alias: 'after-revocation' }), 401, 'APIGW.0301');

    // The other token is untouched, in IAM and in the region.
    assert.equal((await kmsToken('cn-north-4', survivor, 'list-keys')).status, 200);
    assert.equal((await tokensCall('GET', survivor, survivor)).status, 200);
  });

  test("DELETE of another account's token is forbidden and leaves it valid", async () => {
    const mine = await tokenOf({ project: { id: d.projectId('cn-north-4') } });
    const theirs = await tokenOf({ project: { id: other.projectId } }, other);
    expectError(await tokensCall('DELETE', theirs, mine), 403, 'IAM.0004');
    assert.equal((await tokensCall('GET', mine, mine)).status, 200);
    await new Promise((r) => setTimeout(r, 400)); // several revocation polls
    assert.equal((await kmsToken('cn-north-4', mine, 'list-keys')).status, 200);
  });
});

describe('tokens in the regions', () => {
  test('a token stays valid across a restart of its region', async () => {
    const token = await tokenOf({ project: { id: d.projectId('cn-south-1') } });
    assert.equal((await kmsToken('cn-south-1', token, 'list-keys')).status, 200);
    await d.stopRegion('cn-south-1');
    await assert.rejects(kmsToken('cn-south-1', token, 'list-keys'), 'the region should be down');
    await d.startRegion('cn-south-1');
    const r = await kmsToken('cn-south-1', token, 'list-keys');
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });

  test('tokens are checked locally: they work while IAM is unreachable, signatures do not', async () => {
    const token = await tokenOf({ project: { id: d.projectId('cn-east-3') } });
    // The region fetches the caller's permissions once, then decides from its cache (IAM's change feed keeps it current).
    assert.equal((await kmsToken('cn-east-3', token, 'list-keys')).status, 200);
    const iamPort = new URL(d.iamUrl).port;
    const realFetch = globalThis.fetch;
    let blocked = 0;
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (new URL(url).port === iamPort) {
        blocked++;
        throw new TypeError('fetch failed (IAM unreachable in this test)');
      }
      return realFetch(input, init);
    }) as typeof fetch;
    try {
      for (let i = 0; i < 5; i++) {
        const r = await kmsToken('cn-east-3', token, 'list-keys');
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      // The same region needs IAM for a signature, so IAM really was unreachable.
      const before = blocked;
      expectError(await d.kms('cn-east-3', 'list-keys'), 503, 'KMS.0104');
      assert.ok(blocked > before, 'the signed request did not try IAM');
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.equal((await d.kms('cn-east-3', 'list-keys')).status, 200);
  });

  test('an expired token: 401 APIGW.0307 in the regions and in IAM', async () => {
    // Issued by IAM's own service code with IAM's signing key, but with a clock 25 h in the past.
    const dir = iamDir(d.dir);
    const store = new SqliteIamStore(join(dir, 'iam.db'));
    const rootKey = new LocalFileRootKey(join(dir, 'master.key'));
    let expired: string;
    let fresh: string;
    try {
      const past = new IamService(store, rootKey, () => Date.now() - 25 * HOUR);
      await past.init();
      const input = { domainName: admin.domain, userName: admin.name, password: admin.password, scope: { projectId: d.projectId('cn-north-4') } };
      expired = (await past.passwordToken(input)).token;
      // Control: the same path with a current clock gives a token the deployment accepts.
      const now = new IamService(store, rootKey);
      await now.init();
      fresh = (await now.passwordToken(input)).token;
    } finally {
      await store.close();
      await rootKey.close();
    }
    assert.equal((await kmsToken('cn-north-4', fresh, 'list-keys')).status, 200);
    expectError(await kmsToken('cn-north-4', expired, 'list-keys'), 401, 'APIGW.0307');
    expectError(await kmsToken('cn-north-4', expired, 'create-key', { key_alias: 'expired' }), 401, 'APIGW.0307');
    expectError(await tokenRequest(d.iamUrl, expired, 'GET', '/v3/auth/domains'), 401, 'APIGW.0307');
    expectError(await tokensCall('GET', fresh, expired), 404, 'IAM.0003');

    // Extending its expiry by editing the claims breaks the signature: invalid, not merely expired.
    const dot = expired.lastIndexOf('.');
    const claims = JSON.parse(Buffer.from(expired.slice(4, dot), 'base64url').toString('utf8'));
    claims.exp = Date.now() + HOUR;
    const forged = 'SR1.' + Buffer.from(JSON.stringify(claims)).toString('base64url') + expired.slice(dot);
    expectError(await kmsToken('cn-north-4', forged, 'list-keys'), 401, 'APIGW.0301');
  });

  test('an expired token judged by the region clock (a region whose clock runs 25 h ahead)', async () => {
    const future = await startTestDeployment({ regions: ['cn-north-4'], clock: () => Date.now() + 25 * HOUR });
    try {
      const token = await future.token('cn-north-4');
      // IAM (real clock) still accepts it; the region (its own clock) does not.
      const check = await tokenRequest(future.iamUrl, token, 'GET', '/v3/auth/tokens', undefined, { 'X-Subject-Token': token });
      assert.equal(check.status, 200, JSON.stringify(check.body));
      expectError(await tokenRequest(future.endpoint('cn-north-4'), token, 'POST', `/v1.0/${future.projectId('cn-north-4')}/kms/list-keys`, {}), 401, 'APIGW.0307');
      // Signatures are dated by the real clock and still work there.
      assert.equal((await future.kms('cn-north-4', 'list-keys')).status, 200);
    } finally {
      await future.stop();
    }
  });

  test('a tampered token: 401 APIGW.0301', async () => {
    const token = await tokenOf({ project: { id: d.projectId('cn-north-4') } });
    const other2 = await tokenOf({ project: { id: d.projectId('cn-north-4') } });
    assert.equal((await kmsToken('cn-north-4', token, 'list-keys')).status, 200);
    const i = 20; // a character inside the claims
    const flipped = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    const swappedSignature = token.slice(0, token.lastIndexOf('.')) + other2.slice(other2.lastIndexOf('.'));
    for (const bad of [flipped, swappedSignature, token.slice(0, -10), token + 'AAAA', 'not-a-token', 'SR1.e30.AAAA']) {
      expectError(await kmsToken('cn-north-4', bad, 'list-keys'), 401, 'APIGW.0301');
      expectError(await tokenRequest(d.iamUrl, bad, 'GET', '/v3/auth/domains'), 401, 'APIGW.0301');
    }
  });

  test('no credentials: 401 APIGW.0301 in the regions and in IAM', async () => {
    for (const region of d.deployment.regions.map((r) => r.id)) expectError(await kmsToken(region, undefined, 'list-keys'), 401, 'APIGW.0301');
    expectError(await kmsToken('cn-north-4', undefined, 'create-key', { key_alias: 'anonymous' }), 401, 'APIGW.0301');
    expectError(await tokenRequest(d.endpoint('cn-north-4'), undefined, 'POST', `/v1.0/${d.projectId('cn-north-4')}/kms/list-keys`, {}, { 'X-Auth-Token': '' }), 401, 'APIGW.0301');
    expectError(await tokenRequest(d.iamUrl, undefined, 'GET', '/v3/auth/domains'), 401, 'APIGW.0301');
    expectError(await tokenRequest(d.iamUrl, undefined, 'GET', '/v3/projects?name=cn-north-4'), 401, 'APIGW.0301');
  });
});

describe('project and domain lookup', () => {
  test('GET /v3/projects?name=cn-north-4 signed with AK/SK: exactly that project', async () => {
    const r = await signedRequest(d.iamUrl, d.admin, undefined, 'GET', '/v3/projects', undefined, { name: 'cn-north-4' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.projects.length, 1);
    assert.equal(r.body.projects[0].id, d.projectId('cn-north-4'));
    assert.equal(r.body.projects[0].name, 'cn-north-4');
    // Every region's project without the filter; none of another account's.
    const all = await signedRequest(d.iamUrl, d.admin, undefined, 'GET', '/v3/projects');
    assert.equal(all.status, 200);
    const ids = all.body.projects.map((p: any) => p.id);
    for (const region of d.deployment.regions) assert.ok(ids.includes(d.projectId(region.id)), region.id);
    assert.equal(ids.includes(other.projectId), false);
    // An unknown name gives an empty list; a token works as the caller too.
    const none = await signedRequest(d.iamUrl, d.admin, undefined, 'GET', '/v3/projects', undefined, { name: 'xx-nowhere-1' });
    assert.deepEqual(none.body.projects, []);
    const byToken = await tokenRequest(d.iamUrl, await tokenOf(), 'GET', '/v3/projects?name=cn-south-1');
    assert.deepEqual(byToken.body.projects.map((p: any) => p.id), [d.projectId('cn-south-1')]);
    // A bad signature is refused.
    expectError(await signedRequest(d.iamUrl, { ...d.admin, sk: d.admin.sk.slice(1) + 'x' }, undefined, 'GET', '/v3/projects', undefined, { name: 'cn-north-4' }), 401, 'APIGW.0301');
  });

  test('GET /v3/auth/domains: the caller account', async () => {
    const signed = await signedRequest(d.iamUrl, d.admin, undefined, 'GET', '/v3/auth/domains');
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    assert.equal(signed.body.domains.length, 1);
    assert.equal(signed.body.domains[0].id, d.boot.domain_id);
    assert.equal(signed.body.domains[0].name, d.boot.domain_name);
    const theirs = await tokenRequest(d.iamUrl, await tokenOf(undefined, other), 'GET', '/v3/auth/domains');
    assert.deepEqual(theirs.body.domains.map((x: any) => x.id), [other.domainId]);
  });
});

describe('temporary access keys: POST /v3.0/OS-CREDENTIAL/securitytokens', () => {
  const request = (duration?: number) => ({ auth: { identity: { methods: ['token'], token: duration === undefined ? {} : { duration_seconds: duration } } } });

  test('201 with a credential that signs KMS calls together with its security token', async () => {
    const token = await tokenOf({ project: { id: d.projectId('cn-north-4') } });
    const before = Date.now();
    const r = await tokenRequest(d.iamUrl, token, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', request(900));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const c = r.body.credential;
    assert.match(c.access, /^[A-Z0-9]{20}$/);
    assert.equal(typeof c.secret, 'string');
    assert.ok(c.secret.length >= 40);
    assert.ok(typeof c.securitytoken === 'string' && c.securitytoken.length >= 20);
    const expires = keystoneMs(c.expires_at);
    assert.ok(Math.abs(expires - (before + 900_000)) < 5000, `expires_at ${c.expires_at}`);
    const temp: Credentials = { ak: c.access, sk: c.secret, securityToken: c.securitytoken };

    const P = d.projectId('cn-north-4');
    const created = await signedRequest(d.endpoint('cn-north-4'), temp, P, 'POST', `/v1.0/${P}/kms/create-key`, { key_alias: 'temp-key' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.match(created.body.key_info.key_id, KEY_ID);
    const enc = await signedRequest(d.endpoint('cn-north-4'), temp, P, 'POST', `/v1.0/${P}/kms/encrypt-data`, { key_id: created.body.key_info.key_id, plain_text: 'temporary' });
    assert.equal(enc.status, 200, JSON.stringify(enc.body));
    // The token was scoped to the cn-north-4 project: the temporary key reaches no further.
    const S = d.projectId('cn-south-1');
    expectError(await signedRequest(d.endpoint('cn-south-1'), temp, S, 'POST', `/v1.0/${S}/kms/list-keys`, {}), 403, 'KMS.0306');

    // Without the security token, or with a wrong one: refused.
    expectError(await signedRequest(d.endpoint('cn-north-4'), { ak: temp.ak, sk: temp.sk }, P, 'POST', `/v1.0/${P}/kms/list-keys`, {}), 401, 'APIGW.0301');
    expectError(await signedRequest(d.endpoint('cn-north-4'), { ...temp, securityToken: temp.securityToken + 'x' }, P, 'POST', `/v1.0/${P}/kms/list-keys`, {}), 401, 'APIGW.0301');
    expectError(await signedRequest(d.endpoint('cn-north-4'), { ...temp, securityToken: c.securitytoken.replace(/^./, (ch: string) => (ch === 'a' ? 'b' : 'a')) }, P, 'POST', `/v1.0/${P}/kms/list-keys`, {}), 401, 'APIGW.0301');
    // Another temporary key's security token does not fit this key.
    const second = await tokenRequest(d.iamUrl, token, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', request());
    assert.equal(second.status, 201);
    assert.notEqual(second.body.credential.access, c.access);
    expectError(await signedRequest(d.endpoint('cn-north-4'), { ...temp, securityToken: second.body.credential.securitytoken }, P, 'POST', `/v1.0/${P}/kms/list-keys`, {}), 401, 'APIGW.0301');
    // The default duration is 900 s.
    assert.ok(Math.abs(keystoneMs(second.body.credential.expires_at) - (Date.now() + 900_000)) < 5000);
  });

  test('duration_seconds is honoured and checked; a token is required', async () => {
    const token = await tokenOf();
    const long = await tokenRequest(d.iamUrl, token, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', request(7200));
    assert.equal(long.status, 201, JSON.stringify(long.body));
    assert.ok(Math.abs(keystoneMs(long.body.credential.expires_at) - (Date.now() + 7200_000)) < 5000);
    expectError(await tokenRequest(d.iamUrl, token, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', request(899)), 400, 'IAM.0001');
    expectError(await tokenRequest(d.iamUrl, token, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', request(86401)), 400, 'IAM.0001');
    expectError(await tokenRequest(d.iamUrl, token, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', { auth: { identity: { methods: ['password'] } } }), 400, 'IAM.0001');
    expectError(await tokenRequest(d.iamUrl, undefined, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', request()), 401, 'APIGW.0301');
    expectError(await signedRequest(d.iamUrl, d.admin, undefined, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', request()), 403, 'IAM.0004');
  });
});

describe('temporary access keys: a bounded number per user', () => {
  test('beyond maxTemporaryKeysPerUser unexpired keys: 400 IAM.0001, nothing stored; expired keys free their place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-tempkeys-'));
    const store = new SqliteIamStore(join(dir, 'iam.db'));
    const rootKey = new LocalFileRootKey(join(dir, 'master.key'));
    try {
      let now = Date.now();
      const iam = new IamService(store, rootKey, () => now);
      iam.maxTemporaryKeysPerUser = 3;
      await iam.init();
      const { user } = await iam.createAccount('limits');
      const token = { id: 'limit-test-token', expiresAt: now + 24 * HOUR, projectId: null };
      for (let i = 0; i < 3; i++) await iam.createTemporaryKey(user.id, 900, token);
      assert.equal(await store.countTemporaryAccessKeys(user.id, now), 3);
      await assert.rejects(iam.createTemporaryKey(user.id, 900, token), (e: KmsError) => e.code === 'IAM.0001');
      assert.equal(await store.countTemporaryAccessKeys(user.id, now), 3, 'the refused call stored nothing');
      now += 901_000; // all three have expired: a new key is issued
      await iam.createTemporaryKey(user.id, 900, token);
      assert.equal(await store.countTemporaryAccessKeys(user.id, now), 1);
    } finally {
      await store.close();
      await rootKey.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('admin CLI (strongroom iam ...)', () => {
  function cli(...args: string[]): any {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'iam', ...args, '--data-dir', d.dir], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out);
  }

  test('create-user, create-access-key and create-project while the deployment runs', async () => {
    const bob = cli('create-user', '--domain', admin.domain, '--name', 'bob');
    assert.equal(bob.user_name, 'bob');
    assert.equal(bob.domain_id, d.boot.domain_id);
    assert.ok(typeof bob.password === 'string' && bob.password.length >= 8);
    const bobUser = { domain: admin.domain, name: 'bob', password: bob.password as string };
    // A new user may do nothing until a group of theirs is granted something.
    const noGrant = await issue({ project: { name: 'cn-north-4', domain: { name: admin.domain } } }, bobUser);
    expectError(await kmsToken('cn-north-4', noGrant.headers.get('x-subject-token')!, 'list-keys'), 403, 'KMS.0306');
    const team = cli('create-group', '--domain', admin.domain, '--name', 'kms-team');
    assert.deepEqual(cli('add-user-to-group', '--domain', admin.domain, '--group', 'kms-team', '--user', 'bob'), { group_id: team.group_id, user_id: bob.user_id, member: true });
    const granted = cli('grant', '--domain', admin.domain, '--group', 'kms-team', '--role', 'KMS CMKFullAccess', '--all-projects');
    assert.equal(granted.scope, 'inherited');
    await new Promise((r) => setTimeout(r, 300)); // the regions follow IAM's change feed

    // bob gets a token with the printed password, and it works for KMS.
    const r = await issue({ project: { name: 'cn-north-4', domain: { name: admin.domain } } }, bobUser);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.token.user.name, 'bob');
    assert.equal(r.body.token.user.id, bob.user_id);
    assert.equal((await kmsToken('cn-north-4', r.headers.get('x-subject-token')!, 'list-keys')).status, 200);
    expectError(await issue(undefined, { ...bobUser, password: bobUser.password + '1' }), 401, 'IAM.0002');

    // An access key for bob signs KMS requests.
    const key = cli('create-access-key', '--domain', admin.domain, '--user', 'bob');
    assert.match(key.access_key, /^[A-Z0-9]{20}$/);
    const bobKey: Credentials = { ak: key.access_key, sk: key.secret_key };
    const P = d.projectId('cn-north-4');
    const created = await signedRequest(d.endpoint('cn-north-4'), bobKey, P, 'POST', `/v1.0/${P}/kms/create-key`, { key_alias: 'bob-key' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    expectError(await signedRequest(d.endpoint('cn-north-4'), { ...bobKey, sk: d.admin.sk }, P, 'POST', `/v1.0/${P}/kms/list-keys`, {}), 401, 'APIGW.0301');

    // A new project in cn-north-4 is usable there (and only there).
    const project = cli('create-project', '--domain', admin.domain, '--name', 'cn-north-4_cli', '--region', 'cn-north-4');
    assert.match(project.project_id, HEX32);
    assert.equal(project.region, 'cn-north-4');
    const Q = project.project_id as string;
    const inQ = await signedRequest(d.endpoint('cn-north-4'), bobKey, Q, 'POST', `/v1.0/${Q}/kms/create-key`, { key_alias: 'in-cli-project' });
    assert.equal(inQ.status, 200, JSON.stringify(inQ.body));
    const listed = await signedRequest(d.endpoint('cn-north-4'), d.admin, Q, 'POST', `/v1.0/${Q}/kms/list-keys`, {});
    assert.deepEqual(listed.body.keys, [inQ.body.key_info.key_id]);
    expectError(await signedRequest(d.endpoint('cn-south-1'), bobKey, Q, 'POST', `/v1.0/${Q}/kms/list-keys`, {}), 403, 'KMS.0306');
    const qToken = await tokenOf({ project: { id: Q } }, bobUser);
    assert.equal((await kmsToken('cn-north-4', qToken, 'list-keys', {}, Q)).status, 200);
    // Listing projects is an IAM permission (iam:projects:listProjects), which KMS CMKFullAccess does not give.
    expectError(await signedRequest(d.iamUrl, bobKey, undefined, 'GET', '/v3/projects', undefined, { name: 'cn-north-4_cli' }), 403, 'IAM.0004');
    const lookup = await signedRequest(d.iamUrl, d.admin, undefined, 'GET', '/v3/projects', undefined, { name: 'cn-north-4_cli' });
    assert.deepEqual(lookup.body.projects.map((p: any) => p.id), [Q]);
  });
});
