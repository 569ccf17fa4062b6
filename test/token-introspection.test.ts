/**
 * Looking at and revoking someone else's token, and what a temporary access key may do on IAM
 * (docs/reference/huawei-auth.md §1.2, §2.2): only within the caller's own account, only for the token's owner or a
 * caller allowed iam:tokens:validate / iam:tokens:revoke (the admin group, Security Administrator); a temporary access
 * key issued for a project-scoped token acts on that project only, on IAM too.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { iamDir } from '../src/deployment.js';
import { openIam } from '../src/iam-server.js';
import { expectError, passwordToken, signedRequest, startTestDeployment, tokenRequest, type Credentials, type Reply, type TestDeployment } from './helpers/deployment.js';
import { iamApi, type TestUser } from './helpers/iam.js';

const N = 'cn-north-4';
const S = 'cn-south-1';
let d: TestDeployment;
let api: ReturnType<typeof iamApi>;
let alice: TestUser;
let secAdmin: TestUser;
const other = { domain: 'introspection-other', name: 'mallory', password: 'Mallory-passw0rd', projectId: '' };

async function tokenFor(user: { domain: string; name: string; password: string }, projectId?: string): Promise<string> {
  const r = await passwordToken(d.iamUrl, user, projectId ? { project: { id: projectId } } : undefined);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.headers.get('x-subject-token')!;
}
const asUser = (u: TestUser) => ({ domain: d.boot.domain_name, name: u.name, password: u.password });
const admin = () => ({ domain: d.boot.domain_name, name: d.boot.user_name, password: d.boot.password });
const check = (method: string, caller: string, subject: string) => tokenRequest(d.iamUrl, caller, method, '/v3/auth/tokens', undefined, { 'X-Subject-Token': subject });
const listKeys = (region: string, token: string) => tokenRequest(d.endpoint(region), token, 'POST', `/v1.0/${d.projectId(region)}/kms/list-keys`, {});

before(async () => {
  d = await startTestDeployment({ regions: [N, S] });
  api = iamApi(d);
  alice = await api.userWith('alice', [await api.roleId('KMS CMKFullAccess')], 'all-projects');
  secAdmin = await api.userWith('secadmin', [], 'domain');
  await api.grant((secAdmin as TestUser & { groupId: string }).groupId, await api.roleId('Security Administrator'), 'domain');
  const { iam, close } = await openIam(iamDir(d.dir), { store: d.deployment.store });
  try {
    const account = await iam.createAccount(other.domain, { userName: other.name, password: other.password });
    other.projectId = (await iam.createProject(account.domain.id, N, N)).id;
  } finally {
    await close();
  }
});
after(() => d.stop());

test('a token\'s owner may check it; another user of the account may not, unless allowed iam:tokens:validate', async () => {
  const aliceToken = await tokenFor(asUser(alice), d.projectId(N));
  const bobless = await api.createUser('plainuser');
  const plainToken = await tokenFor(asUser(bobless));
  assert.equal((await check('GET', aliceToken, aliceToken)).status, 200);
  assert.equal((await check('HEAD', aliceToken, aliceToken)).status, 200);
  const refused = await check('GET', plainToken, aliceToken);
  expectError(refused, 403, 'IAM.0004');
  assert.ok(!JSON.stringify(refused.body).includes(alice.id), 'nothing of the token is answered');
  assert.equal((await check('HEAD', plainToken, aliceToken)).status, 403);
  const bySec = await check('GET', await tokenFor(asUser(secAdmin)), aliceToken);
  assert.equal(bySec.status, 200, JSON.stringify(bySec.body));
  assert.equal(bySec.body.token.user.id, alice.id);
  assert.equal((await check('GET', await tokenFor(admin()), aliceToken)).status, 200, 'the admin group');
});

test('a conditional Deny applies to token introspection as to every IAM call', async () => {
  const u = await api.userWith('secadmin-outside', [], 'domain');
  await api.grant(u.groupId, await api.roleId('Security Administrator'), 'domain');
  const outside = await api.createPolicy('tokens-from-inside-only', {
    Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['iam:tokens:*'], Condition: { NotIpAddress: { 'g:SourceIp': ['10.0.0.0/8'] } } }],
  }, 'AX');
  const aliceToken = await tokenFor(asUser(alice), d.projectId(N));
  const mine = await tokenFor(asUser(u));
  assert.equal((await check('GET', mine, aliceToken)).status, 200, 'allowed before the Deny');
  await api.grant(u.groupId, outside, 'domain');
  expectError(await check('GET', mine, aliceToken), 403, 'IAM.0004');
  expectError(await check('DELETE', mine, aliceToken), 403, 'IAM.0004');
  assert.equal((await check('GET', mine, mine)).status, 200, 'one\'s own token needs no permission');
});

test('another account learns nothing of a token: not its user, project or account', async () => {
  const aliceToken = await tokenFor(asUser(alice), d.projectId(N));
  const mallory = await tokenFor(other, other.projectId);
  for (const method of ['GET', 'HEAD']) {
    const r = await check(method, mallory, aliceToken);
    assert.equal(r.status, 403);
    const text = JSON.stringify(r.body ?? '');
    for (const secret of [alice.id, alice.name, d.projectId(N), d.boot.domain_id, d.boot.domain_name]) assert.ok(!text.includes(secret), `${method} leaked ${secret}`);
    assert.equal(r.headers.get('x-subject-token'), null);
  }
  expectError(await check('DELETE', mallory, aliceToken), 403, 'IAM.0004');
  assert.equal((await listKeys(N, aliceToken)).status, 200, 'the token still works');
});

test('a user revokes their own token; another user\'s only with iam:tokens:revoke', async () => {
  const victim = await tokenFor(asUser(alice), d.projectId(N));
  const plain = await tokenFor(asUser(await api.createUser('plainuser2')));
  expectError(await check('DELETE', plain, victim), 403, 'IAM.0004');
  assert.equal((await listKeys(N, victim)).status, 200);
  assert.equal((await check('DELETE', await tokenFor(asUser(secAdmin)), victim)).status, 204);
  const own = await tokenFor(asUser(alice), d.projectId(N));
  assert.equal((await check('DELETE', own, own)).status, 204);
});

async function temporaryKey(token: string): Promise<Credentials> {
  const r = await tokenRequest(d.iamUrl, token, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', { auth: { identity: { methods: ['token'], token: { duration_seconds: 900 } } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { ak: r.body.credential.access, sk: r.body.credential.secret, securityToken: r.body.credential.securitytoken };
}

test('a temporary key of a project-scoped token is limited to that project on IAM too', async () => {
  // Even the account's administrator: the key reaches no further than its token.
  const temp = await temporaryKey(await tokenFor(admin(), d.projectId(N)));
  const iam = (method: string, path: string, headers: Record<string, string> = {}, query?: Record<string, string>) =>
    signedRequest(d.iamUrl, temp, undefined, method, path, undefined, query, headers);

  // Another user's token of another region: refused, and that token keeps working.
  const southToken = await tokenFor(asUser(alice), d.projectId(S));
  expectError(await iam('DELETE', '/v3/auth/tokens', { 'X-Subject-Token': southToken }), 403, 'IAM.0004');
  expectError(await iam('GET', '/v3/auth/tokens', { 'X-Subject-Token': southToken }), 403, 'IAM.0004');
  assert.equal((await listKeys(S, southToken)).status, 200);

  // Projects: only its own.
  const projects = await iam('GET', '/v3/projects');
  assert.equal(projects.status, 200, JSON.stringify(projects.body));
  assert.deepEqual(projects.body.projects.map((p: { id: string }) => p.id), [d.projectId(N)]);
  assert.deepEqual((await iam('GET', '/v3/projects', {}, { name: S })).body.projects, []);

  // IAM management (account level): refused.
  for (const path of ['/v3/users', '/v3/groups', '/v3/roles', '/v3.0/OS-ROLE/roles']) expectError(await iam('GET', path), 403, 'IAM.0004');
  expectError(await signedRequest(d.iamUrl, temp, undefined, 'POST', '/v3/groups', { group: { name: 'from-temp-key' } }), 403, 'IAM.0004');

  // Its own project's tokens: the owner's own may be checked.
  const northToken = await tokenFor(admin(), d.projectId(N));
  assert.equal((await iam('GET', '/v3/auth/tokens', { 'X-Subject-Token': northToken })).status, 200);
});

test('a temporary key of an account-scoped token is not limited to one project', async () => {
  const temp = await temporaryKey(await tokenFor(admin()));
  const projects = await signedRequest(d.iamUrl, temp, undefined, 'GET', '/v3/projects');
  assert.equal(projects.status, 200);
  assert.ok(projects.body.projects.length >= 2);
});

test('a new password, or a disable, ends the user\'s earlier tokens, on IAM and in every region, also once enabled again', async () => {
  const bob = await api.userWith('bob-tokens', [await api.roleId('KMS CMKFullAccess')], 'all-projects');
  const bobLogin = (password = bob.password) => ({ domain: d.boot.domain_name, name: bob.name, password });
  const untilStatus = async (send: () => Promise<Reply>, status: number): Promise<Reply> => {
    let r = await send();
    for (let i = 0; i < 40 && r.status !== status; i++) {
      await new Promise((res) => setTimeout(res, 50));
      r = await send();
    }
    return r;
  };
  const before = await tokenFor(bobLogin(), d.projectId(N));
  assert.equal((await untilStatus(() => listKeys(N, before), 200)).status, 200);
  await new Promise((res) => setTimeout(res, 5)); // the change happens in a later millisecond than the token
  assert.equal((await api.call('PUT', `/v3.0/OS-USER/users/${bob.id}`, { user: { password: 'Bob-new-passw0rd' } })).status, 200);
  expectError(await check('GET', before, before), 401, 'APIGW.0301');
  expectError(await untilStatus(() => listKeys(N, before), 401), 401, 'APIGW.0301');
  const after = await tokenFor(bobLogin('Bob-new-passw0rd'), d.projectId(N));
  assert.equal((await listKeys(N, after)).status, 200, 'a token issued after the change works');
  // Disabled, then enabled again: the token from before the disable stays refused; a new one works.
  await new Promise((res) => setTimeout(res, 5));
  assert.equal((await api.call('PATCH', `/v3/users/${bob.id}`, { user: { enabled: false } })).status, 200);
  assert.equal((await api.call('PATCH', `/v3/users/${bob.id}`, { user: { enabled: true } })).status, 200);
  expectError(await check('GET', after, after), 401, 'APIGW.0301');
  expectError(await untilStatus(() => listKeys(N, after), 401), 401, 'APIGW.0301');
  const fresh = await tokenFor(bobLogin('Bob-new-passw0rd'), d.projectId(N));
  assert.equal((await untilStatus(() => listKeys(N, fresh), 200)).status, 200);
});
