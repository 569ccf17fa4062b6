/**
 * Every IAM management operation of the catalogue (src/api/iam/operations/{users,groups,roles,grants,credentials}.ts)
 * end to end, as Huawei's SDK models and Terraform's client expect them: success status and the exact answer
 * fields, every error with its status and code, who may call what (the admin group, grants on the account,
 * self-service on one's own password and access keys), and what another account's ids look like (they do not exist).
 * Callers: the bootstrap admin by access-key signature (`d.admin`) and users by X-Auth-Token. One deployment.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentialOperations } from '../src/api/iam/operations/credentials.js';
import { grantOperations } from '../src/api/iam/operations/grants.js';
import { groupOperations } from '../src/api/iam/operations/groups.js';
import { roleOperations } from '../src/api/iam/operations/roles.js';
import { userOperations } from '../src/api/iam/operations/users.js';
import { iamDir } from '../src/deployment.js';
import { openIam } from '../src/iam-server.js';
import {
  expectError, passwordToken, signedRequest, startTestDeployment, tokenRequest, type Credentials, type Reply, type TestDeployment,
} from './helpers/deployment.js';

const HEX32 = /^[0-9a-f]{32}$/;
/** OS-USER times: microseconds, no zone (Terraform's client parses them so). */
const OS_USER_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;
/** Credential times: microseconds with Z. */
const CREDENTIAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const EPOCH_MS_STRING = /^\d{13}$/;
const NO_SUCH_ID = '0'.repeat(32);
const NO_SUCH_AK = 'ZZZZZZZZZZZZZZZZZZZ9';

const KEYSTONE_USER_FIELDS = ['description', 'domain_id', 'enabled', 'id', 'links', 'name', 'password_expires_at', 'pwd_status'];
const OS_USER_FIELDS = [
  'access_mode', 'areacode', 'create_time', 'description', 'domain_id', 'email', 'enabled', 'id', 'is_domain_owner', 'last_login_time',
  'links', 'name', 'password_expires_at', 'phone', 'pwd_status', 'update_time', 'xuser_id', 'xuser_type',
];
const GROUP_FIELDS = ['create_time', 'description', 'domain_id', 'id', 'links', 'name'];
const CREDENTIAL_FIELDS = ['access', 'create_time', 'description', 'status', 'user_id'];

const sorted = (o: object) => Object.keys(o).sort();

let d: TestDeployment;
let D: string; // our account (domain) id
let P1: string; // our cn-north-4 project
let P2: string; // our cn-south-1 project
let ownerId: string; // the bootstrap admin user (account owner)
let adminGroupId: string;
/** System role ids by display name, read from GET /v3/roles. */
const sys: Record<string, string> = {};

/** A second account, set up through its own admin's access key: none of it exists for our account. */
const other = {
  domain: 'mgmt-other', domainId: '', projectId: '', creds: { ak: '', sk: '' } as Credentials,
  userId: '', groupId: '', roleId: '', accessKey: '',
};

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid % 1000}-${++seq}`;

// ---------------------------------------------------------------------------------------------------------------
// Clients

/** A call signed with an access key (the bootstrap admin's by default). */
function signed(method: string, path: string, body?: object, query?: Record<string, string>, creds: Credentials = d.admin): Promise<Reply> {
  return signedRequest(d.iamUrl, creds, undefined, method, path, body, query);
}

/** A call with an X-Auth-Token. */
function withToken(token: string | undefined, method: string, path: string, body?: object | string): Promise<Reply> {
  return tokenRequest(d.iamUrl, token, method, path, body);
}

interface TestUser {
  id: string;
  name: string;
  password: string;
}

async function tokenFor(u: { name: string; password: string }, scope?: object): Promise<string> {
  const r = await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name: u.name, password: u.password }, scope);
  assert.equal(r.status, 201, `token for ${u.name}: ${JSON.stringify(r.body)}`);
  return r.headers.get('x-subject-token')!;
}

async function createUser(prefix = 'user', extra: Record<string, unknown> = {}): Promise<TestUser> {
  const name = unique(prefix);
  const password = `Pw-${name}-9`.slice(0, 32);
  const r = await signed('POST', '/v3/users', { user: { name, password, ...extra } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.user.id as string, name, password };
}

async function createGroup(prefix = 'group'): Promise<string> {
  const r = await signed('POST', '/v3/groups', { group: { name: unique(prefix), description: 'test' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.group.id as string;
}

async function addMember(groupId: string, userId: string): Promise<void> {
  const r = await signed('PUT', `/v3/groups/${groupId}/users/${userId}`);
  assert.equal(r.status, 204, JSON.stringify(r.body));
}

const projectPath = (projectId: string, groupId: string, roleId = '') => `/v3/projects/${projectId}/groups/${groupId}/roles${roleId ? `/${roleId}` : ''}`;
const domainPath = (domainId: string, groupId: string, roleId = '') => `/v3/domains/${domainId}/groups/${groupId}/roles${roleId ? `/${roleId}` : ''}`;
const inheritedPath = (domainId: string, groupId: string, roleId = '') =>
  `/v3/OS-INHERIT/domains/${domainId}/groups/${groupId}/roles${roleId ? `/${roleId}` : ''}/inherited_to_projects`;

async function grant(path: string): Promise<void> {
  const r = await signed('PUT', path);
  assert.equal(r.status, 204, `${path}: ${JSON.stringify(r.body)}`);
}

/** A user (with a token) in a fresh group that holds `roleId` on the account, or nothing when roleId is undefined. */
async function userWith(roleId: string | undefined, where: 'domain' | 'inherited' | 'project' = 'domain'): Promise<{ user: TestUser; token: string; groupId: string }> {
  const user = await createUser('holder');
  const groupId = await createGroup('holders');
  await addMember(groupId, user.id);
  if (roleId !== undefined) {
    await grant(where === 'domain' ? domainPath(D, groupId, roleId) : where === 'inherited' ? inheritedPath(D, groupId, roleId) : projectPath(P1, groupId, roleId));
  }
  return { user, groupId, token: await tokenFor(user) };
}

const policyDoc = (...actions: string[]) => ({ Version: '1.1', Statement: [{ Effect: 'Allow', Action: actions }] });

async function createPolicy(type: 'AX' | 'XA', actions: string[] = ['kms:cmk:list'], prefix = 'policy'): Promise<{ id: string; display_name: string }> {
  const display_name = unique(prefix);
  const r = await signed('POST', '/v3.0/OS-ROLE/roles', { role: { display_name, type, description: 'test policy', policy: policyDoc(...actions) } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.role.id as string, display_name };
}

/** Whether `links` is Keystone's collection/item form with a null next (Terraform pages on `next`). */
function assertLinks(links: unknown, self: string): void {
  assert.deepEqual(links, { self, previous: null, next: null });
}

function assertKeystoneUser(u: any, expected: { id?: string; name: string; enabled?: boolean; description?: string }): void {
  assert.deepEqual(sorted(u), KEYSTONE_USER_FIELDS);
  if (expected.id !== undefined) assert.equal(u.id, expected.id);
  assert.match(u.id, HEX32);
  assert.equal(u.name, expected.name);
  assert.equal(u.domain_id, D);
  assert.equal(u.enabled, expected.enabled ?? true);
  if (expected.description !== undefined) assert.equal(u.description, expected.description);
  assert.equal(typeof u.pwd_status, 'boolean');
  assert.equal(u.password_expires_at, null);
  assertLinks(u.links, `${d.iamUrl}/v3/users/${u.id}`);
}

function assertGroup(g: any, expected: { id?: string; name?: string; description?: string }): void {
  assert.deepEqual(sorted(g), GROUP_FIELDS);
  if (expected.id !== undefined) assert.equal(g.id, expected.id);
  if (expected.name !== undefined) assert.equal(g.name, expected.name);
  if (expected.description !== undefined) assert.equal(g.description, expected.description);
  assert.match(g.id, HEX32);
  assert.equal(g.domain_id, D);
  assert.equal(typeof g.create_time, 'number', 'group create_time is epoch milliseconds as a number');
  assert.ok(Number.isInteger(g.create_time) && g.create_time > 1_600_000_000_000 && g.create_time <= Date.now() + 1000);
  assertLinks(g.links, `${d.iamUrl}/v3/groups/${g.id}`);
}

function assertRole(r: any, linkBase: string): void {
  for (const field of ['id', 'name', 'display_name', 'type', 'catalog', 'description', 'description_cn', 'policy', 'links']) assert.ok(field in r, `role has no ${field}: ${JSON.stringify(r)}`);
  assert.ok(['AA', 'AX', 'XA'].includes(r.type), r.type);
  assert.ok(r.policy.Version === '1.0' || r.policy.Version === '1.1');
  assert.ok(Array.isArray(r.policy.Statement) && r.policy.Statement.length > 0);
  assertLinks(r.links, `${d.iamUrl}${linkBase}/${r.id}`);
}

/** A custom policy as Huawei answers it: CUSTOMED catalog, custom_{domain}_{n} name, times as epoch-ms strings. */
function assertCustomRole(r: any, expected: { display_name: string; type: string; description: string }, linkBase = '/v3.0/OS-ROLE/roles'): void {
  assertRole(r, linkBase);
  assert.match(r.id, HEX32);
  assert.equal(r.display_name, expected.display_name);
  assert.equal(r.type, expected.type);
  assert.equal(r.description, expected.description);
  assert.equal(r.catalog, 'CUSTOMED');
  assert.match(r.name, new RegExp(`^custom_${D}_\\d+$`));
  assert.equal(r.domain_id, D);
  assert.equal('flag' in r, false, 'a custom policy is not fine_grained');
  assert.equal(r.policy.Version, '1.1');
  assert.equal(typeof r.created_time, 'string', 'created_time is a string (Terraform asserts .(string))');
  assert.equal(typeof r.updated_time, 'string');
  assert.match(r.created_time, EPOCH_MS_STRING);
  assert.match(r.updated_time, EPOCH_MS_STRING);
  assert.ok(Number(r.updated_time) >= Number(r.created_time));
  assert.ok(Math.abs(Number(r.created_time) - Date.now()) < 120_000, `created_time ${r.created_time} is not recent`);
}

function assertCredential(c: any, expected: { userId: string; status?: string; description?: string }, extra: string[] = []): void {
  assert.deepEqual(sorted(c), [...CREDENTIAL_FIELDS, ...extra].sort());
  assert.match(c.access, /^[A-Z0-9]{20}$/);
  assert.equal(c.user_id, expected.userId);
  assert.equal(c.status, expected.status ?? 'active');
  if (expected.description !== undefined) assert.equal(c.description, expected.description);
  assert.match(c.create_time, CREDENTIAL_TIME);
  assert.ok(Math.abs(Date.parse(c.create_time.replace(/(\.\d{3})\d{3}Z$/, '$1Z')) - Date.now()) < 24 * 3_600_000);
}

/**
 * Runs every check and reports all failures at once (a table of cases shows every wrong answer, not the first):
 * `check(what, fn)` records a failure, `done()` asserts there were none.
 */
function collector() {
  const problems: string[] = [];
  return {
    async check(what: string, fn: () => unknown): Promise<void> {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    },
    done(): void {
      assert.deepEqual(problems, [], problems.join('\n'));
    },
  };
}

/** HEAD answers carry no body: the status is the whole answer. */
function assertHead(r: Reply, status: 204 | 404): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body, undefined);
}

before(async () => {
  d = await startTestDeployment({ regions: ['cn-north-4', 'cn-south-1'] });
  D = d.boot.domain_id;
  P1 = d.projectId('cn-north-4');
  P2 = d.projectId('cn-south-1');

  const roles = await signed('GET', '/v3/roles');
  assert.equal(roles.status, 200, JSON.stringify(roles.body));
  for (const r of roles.body.roles) sys[r.display_name] = r.id;
  for (const name of ['Security Administrator', 'KMS CMKFullAccess', 'KMS CMKReadOnlyAccess', 'FullAccess', 'Tenant Administrator', 'KMS Administrator']) {
    assert.match(sys[name] ?? '', HEX32, `system role ${name}`);
  }
  const me = await signed('GET', '/v3/users', undefined, { name: d.boot.user_name });
  ownerId = me.body.users[0].id;
  const admins = await signed('GET', '/v3/groups', undefined, { name: 'admin' });
  adminGroupId = admins.body.groups[0].id;

  // The other account: made by the operator (as create-domain does), then filled through its admin's access key.
  const opened = await openIam(iamDir(d.dir), { store: d.deployment.store });
  try {
    const account = await opened.iam.createAccount(other.domain, { userName: 'olga', password: 'olga-password-1' });
    other.domainId = account.domain.id;
    other.creds = { ak: account.accessKey, sk: account.secretKey };
    other.projectId = (await opened.iam.createProject(account.domain.id, 'cn-north-4', 'cn-north-4')).id;
  } finally {
    await opened.close();
  }
  const u = await signed('POST', '/v3/users', { user: { name: 'other-user', password: 'other-pass-1' } }, undefined, other.creds);
  assert.equal(u.status, 201, JSON.stringify(u.body));
  other.userId = u.body.user.id;
  const g = await signed('POST', '/v3/groups', { group: { name: 'other-group' } }, undefined, other.creds);
  assert.equal(g.status, 201, JSON.stringify(g.body));
  other.groupId = g.body.group.id;
  const r = await signed('POST', '/v3.0/OS-ROLE/roles', { role: { display_name: 'other-policy', type: 'XA', description: 'theirs', policy: policyDoc('kms:cmk:list') } }, undefined, other.creds);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  other.roleId = r.body.role.id;
  const k = await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: other.userId } }, undefined, other.creds);
  assert.equal(k.status, 201, JSON.stringify(k.body));
  other.accessKey = k.body.credential.access;
});
after(() => d.stop());

// ---------------------------------------------------------------------------------------------------------------

/** One representative call of every management operation, with valid input (the targets exist in our account). */
interface Call {
  name: string;
  method: string;
  path: string;
  body?: object;
  query?: Record<string, string>;
  /** Refused to everyone but the user themself (an administrator sets another user's password with UpdateUser). */
  nobody?: boolean;
}

async function everyOperation(): Promise<Call[]> {
  const user = await createUser('target');
  const groupId = await createGroup('target');
  const policy = await createPolicy('XA');
  const key = await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: user.id } });
  assert.equal(key.status, 201);
  const ak = key.body.credential.access as string;
  const role = sys['KMS CMKReadOnlyAccess']!;
  const secAdmin = sys['Security Administrator']!;
  // In an order an administrator can run them all in: reads and changes first, deletions last.
  return [
    { name: 'KeystoneCreateUser', method: 'POST', path: '/v3/users', body: { user: { name: unique('denied'), password: 'Denied-pass-1' } } },
    { name: 'CreateUser', method: 'POST', path: '/v3.0/OS-USER/users', body: { user: { name: unique('denied'), domain_id: D, password: 'Denied-pass-1' } } },
    { name: 'KeystoneListUsers', method: 'GET', path: '/v3/users' },
    { name: 'KeystoneShowUser', method: 'GET', path: `/v3/users/${user.id}` },
    { name: 'ShowUser', method: 'GET', path: `/v3.0/OS-USER/users/${user.id}` },
    { name: 'UpdateUser', method: 'PUT', path: `/v3.0/OS-USER/users/${user.id}`, body: { user: { description: 'changed' } } },
    { name: 'KeystoneUpdateUserByAdmin', method: 'PATCH', path: `/v3/users/${user.id}`, body: { user: { description: 'changed' } } },
    { name: 'KeystoneUpdateUserPassword (another user)', method: 'POST', path: `/v3/users/${user.id}/password`, body: { user: { password: 'New-pass-123', original_password: user.password } }, nobody: true },
    { name: 'KeystoneCreateGroup', method: 'POST', path: '/v3/groups', body: { group: { name: unique('denied') } } },
    { name: 'KeystoneListGroups', method: 'GET', path: '/v3/groups' },
    { name: 'KeystoneShowGroup', method: 'GET', path: `/v3/groups/${groupId}` },
    { name: 'KeystoneUpdateGroup', method: 'PATCH', path: `/v3/groups/${groupId}`, body: { group: { description: 'changed' } } },
    { name: 'KeystoneAddUserToGroup', method: 'PUT', path: `/v3/groups/${groupId}/users/${user.id}` },
    { name: 'KeystoneCheckUserInGroup', method: 'HEAD', path: `/v3/groups/${groupId}/users/${user.id}` },
    { name: 'KeystoneListUsersForGroupByAdmin', method: 'GET', path: `/v3/groups/${groupId}/users` },
    { name: 'KeystoneListGroupsForUser', method: 'GET', path: `/v3/users/${user.id}/groups` },
    { name: 'KeystoneRemoveUserFromGroup', method: 'DELETE', path: `/v3/groups/${groupId}/users/${user.id}` },
    { name: 'KeystoneListPermissions', method: 'GET', path: '/v3/roles' },
    { name: 'KeystoneShowPermission', method: 'GET', path: `/v3/roles/${role}` },
    { name: 'CreateCloudServiceCustomPolicy', method: 'POST', path: '/v3.0/OS-ROLE/roles', body: { role: { display_name: unique('denied'), type: 'XA', description: 'x', policy: policyDoc('kms:cmk:list') } } },
    { name: 'ListCustomPolicies', method: 'GET', path: '/v3.0/OS-ROLE/roles' },
    { name: 'ShowCustomPolicy', method: 'GET', path: `/v3.0/OS-ROLE/roles/${policy.id}` },
    { name: 'UpdateCloudServiceCustomPolicy', method: 'PATCH', path: `/v3.0/OS-ROLE/roles/${policy.id}`, body: { role: { display_name: policy.display_name, type: 'XA', description: 'y', policy: policyDoc('kms:cmk:get') } } },
    { name: 'KeystoneAssociateGroupWithProjectPermission', method: 'PUT', path: projectPath(P1, groupId, role) },
    { name: 'KeystoneListProjectPermissionsForGroup', method: 'GET', path: projectPath(P1, groupId) },
    { name: 'KeystoneCheckProjectPermissionForGroup', method: 'HEAD', path: projectPath(P1, groupId, role) },
    { name: 'KeystoneRemoveProjectPermissionFromGroup', method: 'DELETE', path: projectPath(P1, groupId, role) },
    { name: 'KeystoneAssociateGroupWithDomainPermission', method: 'PUT', path: domainPath(D, groupId, secAdmin) },
    { name: 'KeystoneListDomainPermissionsForGroup', method: 'GET', path: domainPath(D, groupId) },
    { name: 'KeystoneCheckDomainPermissionForGroup', method: 'HEAD', path: domainPath(D, groupId, secAdmin) },
    { name: 'KeystoneRemoveDomainPermissionFromGroup', method: 'DELETE', path: domainPath(D, groupId, secAdmin) },
    { name: 'UpdateDomainGroupInheritRole', method: 'PUT', path: inheritedPath(D, groupId, role) },
    { name: 'KeystoneListAllProjectPermissionsForGroup', method: 'GET', path: inheritedPath(D, groupId) },
    { name: 'KeystoneCheckroleForGroup', method: 'HEAD', path: inheritedPath(D, groupId, role) },
    { name: 'DeleteDomainGroupInheritedRole', method: 'DELETE', path: inheritedPath(D, groupId, role) },
    { name: 'ShowDomainRoleAssignments', method: 'GET', path: '/v3.0/OS-PERMISSION/role-assignments', query: { domain_id: D } },
    { name: 'CreatePermanentAccessKey (another user)', method: 'POST', path: '/v3.0/OS-CREDENTIAL/credentials', body: { credential: { user_id: user.id } } },
    { name: 'ListPermanentAccessKeys (another user)', method: 'GET', path: '/v3.0/OS-CREDENTIAL/credentials', query: { user_id: user.id } },
    { name: 'ShowPermanentAccessKey (another user\'s)', method: 'GET', path: `/v3.0/OS-CREDENTIAL/credentials/${ak}` },
    { name: 'UpdatePermanentAccessKey (another user\'s)', method: 'PUT', path: `/v3.0/OS-CREDENTIAL/credentials/${ak}`, body: { credential: { status: 'inactive' } } },
    { name: 'DeletePermanentAccessKey (another user\'s)', method: 'DELETE', path: `/v3.0/OS-CREDENTIAL/credentials/${ak}` },
    { name: 'DeleteCustomPolicy', method: 'DELETE', path: `/v3.0/OS-ROLE/roles/${policy.id}` },
    { name: 'KeystoneDeleteUser', method: 'DELETE', path: `/v3/users/${user.id}` },
    { name: 'KeystoneDeleteGroup', method: 'DELETE', path: `/v3/groups/${groupId}` },
  ];
}

const withQuery = (c: Call) => c.path + (c.query ? `?${new URLSearchParams(c.query).toString()}` : '');

/** Asserts a refusal: 403 IAM.0004, or for HEAD (no body) just 403. */
function assertForbidden(r: Reply, what: string): void {
  if (r.body === undefined) {
    assert.equal(r.status, 403, `${what}: expected 403, got ${r.status}`);
    return;
  }
  try {
    expectError(r, 403, 'IAM.0004');
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

describe('authentication and authorization of the management APIs', () => {
  test('without credentials (or with a bad token, or a bad signature) every operation is 401 APIGW.0301', async () => {
    const calls = await everyOperation();
    // The table is the whole catalogue of management operations, each with its method and path.
    const catalogue = [...userOperations, ...groupOperations, ...roleOperations, ...grantOperations, ...credentialOperations];
    assert.deepEqual(calls.map((c) => c.name.split(' ')[0]).sort(), catalogue.map((o) => o.name).sort());
    for (const op of catalogue) {
      const c = calls.find((x) => x.name.split(' ')[0] === op.name)!;
      assert.equal(c.method, op.method, op.name);
      assert.match(c.path, new RegExp(`^${op.path.replace(/\{[a-z_]+\}/g, '[0-9A-Za-z]+')}$`), op.name);
    }
    for (const c of calls) {
      for (const token of [undefined, 'not-a-token']) {
        const r = await withToken(token, c.method, withQuery(c), c.body);
        assert.equal(r.status, 401, `${c.name} with token ${token}: ${r.status} ${JSON.stringify(r.body)}`);
        if (c.method !== 'HEAD') expectError(r, 401, 'APIGW.0301');
      }
    }
    // A signature made with the wrong secret key.
    const wrong = await signed('GET', '/v3/users', undefined, undefined, { ak: d.admin.ak, sk: d.admin.sk.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) });
    expectError(wrong, 401, 'APIGW.0301');
  });

  test('a user without grants is refused (403 IAM.0004) on every operation, by token and by access key, and nothing changes', async () => {
    const calls = await everyOperation();
    const nobody = await createUser('nobody');
    const token = await tokenFor(nobody);
    const key = await withToken(token, 'POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: nobody.id } });
    assert.equal(key.status, 201, JSON.stringify(key.body)); // their own key: self-service
    const creds: Credentials = { ak: key.body.credential.access, sk: key.body.credential.secret };
    const all = collector();
    for (const c of calls) {
      await all.check(`${c.name} (token)`, async () => assertForbidden(await withToken(token, c.method, withQuery(c), c.body), 'refused'));
      await all.check(`${c.name} (access key)`, async () => assertForbidden(await signed(c.method, c.path, c.body, c.query, creds), 'refused'));
    }
    // The targets are intact: the user, the group and the other user's access key still exist and are unchanged.
    const targetUser = calls.find((c) => c.name === 'KeystoneShowUser')!;
    const shown = await signed('GET', targetUser.path);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.user.description, '');
    const targetGroup = calls.find((c) => c.name === 'KeystoneShowGroup')!;
    assert.equal((await signed('GET', targetGroup.path)).body.group.description, 'test');
    const targetKey = calls.find((c) => c.name.startsWith('ShowPermanentAccessKey'))!;
    assert.equal((await signed('GET', targetKey.path)).body.credential.status, 'active');
    all.done();
  });

  test('the admin group may do everything: the same calls succeed for the bootstrap admin (signed) and another admin-group member (token)', async () => {
    const member = await createUser('second-admin');
    await addMember(adminGroupId, member.id);
    const token = await tokenFor(member);
    for (const [who, send] of [
      ['signature', (c: Call) => signed(c.method, c.path, c.body, c.query)],
      ['token', (c: Call) => withToken(token, c.method, withQuery(c), c.body)],
    ] as const) {
      const calls = await everyOperation();
      const all = collector();
      for (const c of calls) {
        const r = await send(c);
        await all.check(`${who} ${c.name}`, () => {
          if (c.nobody) assertForbidden(r, 'refused');
          else assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${JSON.stringify(r.body)}`);
        });
      }
      all.done();
    }
  });

  test('Security Administrator granted on the account (domain) may manage IAM; revoked, it may not', async () => {
    const { token, groupId } = await userWith(sys['Security Administrator']);
    const created = await withToken(token, 'POST', '/v3/users', { user: { name: unique('by-secadmin'), password: 'Secadmin-made-1' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await withToken(token, 'GET', '/v3/users')).status, 200);
    const g = await withToken(token, 'POST', '/v3/groups', { group: { name: unique('by-secadmin') } });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    assert.equal((await withToken(token, 'PUT', `/v3/groups/${g.body.group.id}/users/${created.body.user.id}`)).status, 204);
    assert.equal((await withToken(token, 'PUT', projectPath(P1, g.body.group.id, sys['KMS CMKReadOnlyAccess']))).status, 204);
    const key = await withToken(token, 'POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: created.body.user.id } });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const roles = await withToken(token, 'GET', `/v3.0/OS-PERMISSION/role-assignments?domain_id=${D}&subject.group_id=${g.body.group.id}`);
    assert.equal(roles.status, 200, JSON.stringify(roles.body));
    assert.equal(roles.body.total_num, 1);

    assert.equal((await signed('DELETE', domainPath(D, groupId, sys['Security Administrator']))).status, 204);
    expectError(await withToken(token, 'GET', '/v3/users'), 403, 'IAM.0004');
    expectError(await withToken(token, 'POST', '/v3/groups', { group: { name: unique('late') } }), 403, 'IAM.0004');
  });

  test('IAM permissions come from grants on the account only: nothing granted on projects reaches IAM', async () => {
    // Security Administrator is account-level (AX): it cannot be granted on projects at all.
    const groupId = await createGroup('secadmin-projects');
    expectError(await signed('PUT', inheritedPath(D, groupId, sys['Security Administrator'])), 400, 'IAM.0001');
    expectError(await signed('PUT', projectPath(P1, groupId, sys['Security Administrator'])), 400, 'IAM.0001');
    assertHead(await signed('HEAD', inheritedPath(D, groupId, sys['Security Administrator'])), 404);

    // FullAccess (AA, *:*:*) on all projects, and a custom project-level policy allowing iam:*:* on a project: no IAM.
    const everything = await userWith(sys['FullAccess'], 'inherited');
    expectError(await withToken(everything.token, 'GET', '/v3/users'), 403, 'IAM.0004');
    expectError(await withToken(everything.token, 'POST', '/v3/groups', { group: { name: unique('nope') } }), 403, 'IAM.0004');
    const iamOnProject = await createPolicy('XA', ['iam:*:*'], 'iam-on-project');
    const projectUser = await userWith(iamOnProject.id, 'project');
    expectError(await withToken(projectUser.token, 'GET', '/v3/users'), 403, 'IAM.0004');
    // Even with a token scoped to that project.
    const scoped = await tokenFor(projectUser.user, { project: { id: P1 } });
    expectError(await withToken(scoped, 'GET', '/v3/groups'), 403, 'IAM.0004');

    // FullAccess on the account does reach IAM; Tenant Administrator (which denies iam:*:*) does not.
    const domainFull = await userWith(sys['FullAccess']);
    assert.equal((await withToken(domainFull.token, 'GET', '/v3/users')).status, 200);
    const tenantAdmin = await userWith(sys['Tenant Administrator']);
    expectError(await withToken(tenantAdmin.token, 'GET', '/v3/users'), 403, 'IAM.0004');
  });

  test('a custom account-level policy grants exactly its actions', async () => {
    const readUsers = await createPolicy('AX', ['iam:users:listUsers', 'iam:users:getUser'], 'read-users');
    const { token, user } = await userWith(readUsers.id);
    const list = await withToken(token, 'GET', '/v3/users');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.ok(list.body.users.some((u: any) => u.id === user.id));
    assert.equal((await withToken(token, 'GET', `/v3/users/${ownerId}`)).status, 200);
    assert.equal((await withToken(token, 'GET', `/v3.0/OS-USER/users/${ownerId}`)).status, 200);
    expectError(await withToken(token, 'POST', '/v3/users', { user: { name: unique('x'), password: 'Xxxxxxxx-1' } }), 403, 'IAM.0004');
    expectError(await withToken(token, 'GET', '/v3/groups'), 403, 'IAM.0004');
    expectError(await withToken(token, 'PATCH', `/v3/users/${user.id}`, { user: { description: 'self' } }), 403, 'IAM.0004');
  });

  test("a disabled user's token and access key stop working on IAM (401), and work again once enabled", async () => {
    const { user, token } = await userWith(sys['Security Administrator']);
    const key = await withToken(token, 'POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: user.id } });
    assert.equal(key.status, 201);
    const creds: Credentials = { ak: key.body.credential.access, sk: key.body.credential.secret };
    assert.equal((await withToken(token, 'GET', '/v3/users')).status, 200);
    assert.equal((await signed('GET', '/v3/users', undefined, undefined, creds)).status, 200);

    const off = await signed('PUT', `/v3.0/OS-USER/users/${user.id}`, { user: { enabled: false } });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.user.enabled, false);
    for (const path of ['/v3/users', '/v3/groups', '/v3.0/OS-CREDENTIAL/credentials']) {
      expectError(await withToken(token, 'GET', path), 401, 'APIGW.0301');
      expectError(await signed('GET', path, undefined, undefined, creds), 401, 'APIGW.0301');
    }
    // No new token either.
    expectError(await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name: user.name, password: user.password }), 401, 'IAM.0002');

    const on = await signed('PATCH', `/v3/users/${user.id}`, { user: { enabled: true } });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    assert.equal(on.body.user.enabled, true);
    assert.equal((await signed('GET', '/v3/users', undefined, undefined, creds)).status, 200);
    assert.equal((await withToken(await tokenFor(user), 'GET', '/v3/users')).status, 200);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('users', () => {
  test('KeystoneCreateUser: 201 with the Keystone user; the password gives a token; enabled:false users cannot log in', async () => {
    const name = unique('ks-user');
    const r = await signed('POST', '/v3/users', { user: { name, password: 'Keystone-pass-1', description: 'made by keystone', domain_id: D } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body), ['user']);
    assertKeystoneUser(r.body.user, { name, description: 'made by keystone' });
    const t = await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name, password: 'Keystone-pass-1' });
    assert.equal(t.status, 201);
    assert.equal(t.body.token.user.id, r.body.user.id);

    // By token too, without domain_id; created disabled.
    const adminToken = await d.token('cn-north-4');
    const off = await withToken(adminToken, 'POST', '/v3/users', { user: { name: unique('disabled'), password: 'Disabled-pass-1', enabled: false } });
    assert.equal(off.status, 201, JSON.stringify(off.body));
    assertKeystoneUser(off.body.user, { name: off.body.user.name, enabled: false, description: '' });
    expectError(await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name: off.body.user.name, password: 'Disabled-pass-1' }), 401, 'IAM.0002');
  });

  test('KeystoneCreateUser errors: invalid input 400 IAM.0001, duplicate 409 IAM.0005, another account 403 IAM.0004', async () => {
    const bad: object[] = [
      {},
      { user: {} },
      { user: { password: 'Valid-pass-1' } },
      { user: { name: '' } },
      { user: { name: 'x'.repeat(33) } },
      { user: { name: ' leading-space' } },
      { user: { name: 'slash/name' } },
      { user: { name: 42 } },
      { user: { name: unique('weak'), password: 'short1' } },
      { user: { name: unique('weak'), password: 'onlyletters' } },
      { user: { name: unique('weak'), password: 'A-long-password-of-33-characters!' } },
      { user: { name: unique('bool'), enabled: 'false' } },
    ];
    for (const body of bad) {
      try {
        expectError(await signed('POST', '/v3/users', body), 400, 'IAM.0001');
      } catch (err) {
        throw new Error(`${JSON.stringify(body)}: ${(err as Error).message}`);
      }
    }
    expectError(await signed('POST', '/v3/users', { user: { name: d.boot.user_name, password: 'Duplicate-1' } }), 409, 'IAM.0005');
    expectError(await signed('POST', '/v3/users', { user: { name: unique('theirs'), domain_id: other.domainId } }), 403, 'IAM.0004');
    // Names are per account: the other account's user name is free here.
    const same = await signed('POST', '/v3/users', { user: { name: 'other-user', password: 'Other-name-1' } });
    assert.equal(same.status, 201, JSON.stringify(same.body));
    // A 32-character name is the longest.
    const longest = 'n'.repeat(26) + String(1000 + seq).slice(-4) + 'zz';
    assert.equal(longest.length, 32);
    assert.equal((await signed('POST', '/v3/users', { user: { name: longest } })).status, 201);
  });

  test('CreateUser (OS-USER): 201 with the OS-USER fields and times without a zone', async () => {
    const name = unique('os-user');
    const started = Date.now();
    const r = await signed('POST', '/v3.0/OS-USER/users', { user: { name, domain_id: D, password: 'Os-user-pass-1', email: 'os.user@example.com', description: 'recommended form' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const u = r.body.user;
    assert.deepEqual(sorted(u), OS_USER_FIELDS);
    assert.match(u.id, HEX32);
    assert.equal(u.name, name);
    assert.equal(u.domain_id, D);
    assert.equal(u.enabled, true);
    assert.equal(u.email, 'os.user@example.com');
    assert.equal(u.description, 'recommended form');
    assert.equal(u.is_domain_owner, false);
    assert.equal(u.access_mode, 'default');
    assert.equal(u.last_login_time, null);
    assert.equal(u.password_expires_at, null);
    assert.match(u.create_time, OS_USER_TIME);
    assert.match(u.update_time, OS_USER_TIME);
    assert.ok(Math.abs(Date.parse(`${u.create_time.slice(0, 23)}Z`) - started) < 10_000, `create_time ${u.create_time}`);
    assertLinks(u.links, `${d.iamUrl}/v3.0/OS-USER/users/${u.id}`);
    assert.equal((await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name, password: 'Os-user-pass-1' })).status, 201);
  });

  test('CreateUser errors', async () => {
    expectError(await signed('POST', '/v3.0/OS-USER/users', { user: { name: unique('no-domain'), password: 'No-domain-1' } }), 400, 'IAM.0001');
    expectError(await signed('POST', '/v3.0/OS-USER/users', { user: { name: unique('theirs'), domain_id: other.domainId } }), 403, 'IAM.0004');
    expectError(await signed('POST', '/v3.0/OS-USER/users', { user: { name: d.boot.user_name, domain_id: D } }), 409, 'IAM.0005');
    expectError(await signed('POST', '/v3.0/OS-USER/users', { user: { name: 'bad/name', domain_id: D } }), 400, 'IAM.0001');
    expectError(await signed('POST', '/v3.0/OS-USER/users', { user: { name: unique('weak'), domain_id: D, password: '12345678' } }), 400, 'IAM.0001');
    expectError(await signed('POST', '/v3.0/OS-USER/users', { user: { name: unique('mail'), domain_id: D, email: 'e'.repeat(256) } }), 400, 'IAM.0001');
  });

  test('CreateUser: a malformed e-mail address is refused (Huawei: 400, "Invalid email"), and no user is made', async () => {
    const name = unique('mail');
    expectError(await signed('POST', '/v3.0/OS-USER/users', { user: { name, domain_id: D, email: 'not-an-email' } }), 400, 'IAM.0001');
    assert.deepEqual((await signed('GET', '/v3/users', undefined, { name })).body.users, []);
  });

  test('KeystoneListUsers: the account\'s users, by name and enabled state; links.next is null', async () => {
    const on = await createUser('listed');
    const off = await createUser('listed-off', { enabled: false });
    const all = await signed('GET', '/v3/users');
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(sorted(all.body), ['links', 'users']);
    assertLinks(all.body.links, `${d.iamUrl}/v3/users`);
    const ids = all.body.users.map((u: any) => u.id);
    for (const id of [on.id, off.id, ownerId]) assert.ok(ids.includes(id), `${id} missing`);
    assert.ok(!ids.includes(other.userId), "another account's user is listed");
    for (const u of all.body.users) assertKeystoneUser(u, { name: u.name, enabled: u.enabled });

    const byName = await signed('GET', '/v3/users', undefined, { name: on.name });
    assert.deepEqual(byName.body.users.map((u: any) => u.id), [on.id]);
    assert.deepEqual((await signed('GET', '/v3/users', undefined, { name: 'no-such-user' })).body.users, []);
    const disabled = await signed('GET', '/v3/users', undefined, { enabled: 'false' });
    assert.ok(disabled.body.users.some((u: any) => u.id === off.id));
    assert.ok(disabled.body.users.every((u: any) => u.enabled === false));
    const enabled = await withToken(await d.token('cn-north-4'), 'GET', '/v3/users?enabled=true');
    assert.ok(enabled.body.users.every((u: any) => u.enabled === true));
    assert.ok(!enabled.body.users.some((u: any) => u.id === off.id));
    assert.equal((await signed('GET', '/v3/users', undefined, { domain_id: D })).status, 200);

    expectError(await signed('GET', '/v3/users', undefined, { domain_id: other.domainId }), 403, 'IAM.0004');
    expectError(await signed('GET', '/v3/users', undefined, { enabled: 'maybe' }), 400, 'IAM.0001');
  });

  test('KeystoneShowUser and ShowUser: 200; unknown, malformed or another account\'s user 404 IAM.0003', async () => {
    const u = await createUser('shown', { description: 'look at me' });
    const ks = await signed('GET', `/v3/users/${u.id}`);
    assert.equal(ks.status, 200);
    assert.deepEqual(Object.keys(ks.body), ['user']);
    assertKeystoneUser(ks.body.user, { id: u.id, name: u.name, description: 'look at me' });

    const os = await withToken(await d.token('cn-south-1'), 'GET', `/v3.0/OS-USER/users/${ownerId}`);
    assert.equal(os.status, 200);
    assert.deepEqual(sorted(os.body.user), OS_USER_FIELDS);
    assert.equal(os.body.user.is_domain_owner, true);
    assert.equal(os.body.user.name, d.boot.user_name);
    assertLinks(os.body.user.links, `${d.iamUrl}/v3.0/OS-USER/users/${ownerId}`);

    for (const base of ['/v3/users', '/v3.0/OS-USER/users']) {
      expectError(await signed('GET', `${base}/${NO_SUCH_ID}`), 404, 'IAM.0003');
      expectError(await signed('GET', `${base}/${other.userId}`), 404, 'IAM.0003');
      expectError(await signed('GET', `${base}/bad.id`), 404, 'IAM.0003');
    }
  });

  test('UpdateUser (PUT OS-USER): 200 with the changed user; a new password replaces the old', async () => {
    const u = await createUser('put');
    const newName = unique('put-renamed');
    const r = await signed('PUT', `/v3.0/OS-USER/users/${u.id}`, { user: { name: newName, description: 'updated', email: 'put@example.com', password: 'Put-new-pass-1' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body), ['user']);
    assert.deepEqual(sorted(r.body.user), OS_USER_FIELDS);
    assert.equal(r.body.user.id, u.id);
    assert.equal(r.body.user.name, newName);
    assert.equal(r.body.user.description, 'updated');
    assert.equal(r.body.user.email, 'put@example.com');
    assert.ok(r.body.user.update_time >= r.body.user.create_time);
    assertLinks(r.body.user.links, `${d.iamUrl}/v3.0/OS-USER/users/${u.id}`);
    assert.equal((await signed('GET', `/v3/users/${u.id}`)).body.user.name, newName);
    expectError(await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name: newName, password: u.password }), 401, 'IAM.0002');
    assert.equal((await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name: newName, password: 'Put-new-pass-1' })).status, 201);
    // An empty change is a 200 that changes nothing.
    const same = await signed('PUT', `/v3.0/OS-USER/users/${u.id}`, { user: {} });
    assert.equal(same.status, 200);
    assert.equal(same.body.user.description, 'updated');
  });

  test('UpdateUser errors', async () => {
    const u = await createUser('put-err');
    const path = `/v3.0/OS-USER/users/${u.id}`;
    expectError(await signed('PUT', path, { user: { name: d.boot.user_name } }), 409, 'IAM.0005');
    expectError(await signed('PUT', path, { user: { name: 'bad/name' } }), 400, 'IAM.0001');
    expectError(await signed('PUT', path, { user: { password: 'weakweak' } }), 400, 'IAM.0001');
    expectError(await signed('PUT', path, { user: { enabled: 'no' } }), 400, 'IAM.0001');
    expectError(await signed('PUT', path, {}), 400, 'IAM.0001');
    expectError(await signed('PUT', `/v3.0/OS-USER/users/${ownerId}`, { user: { enabled: false } }), 403, 'IAM.0004');
    expectError(await signed('PUT', `/v3.0/OS-USER/users/${NO_SUCH_ID}`, { user: { description: 'x' } }), 404, 'IAM.0003');
    expectError(await signed('PUT', `/v3.0/OS-USER/users/${other.userId}`, { user: { description: 'x' } }), 404, 'IAM.0003');
    // The failures changed nothing.
    const after = await signed('GET', `/v3/users/${u.id}`);
    assert.equal(after.body.user.name, u.name);
    assert.equal((await signed('GET', `/v3/users/${ownerId}`)).body.user.enabled, true);
  });

  test('KeystoneUpdateUserByAdmin (PATCH): 200 with the Keystone user; errors', async () => {
    const u = await createUser('patch');
    const r = await withToken(await d.token('cn-north-4'), 'PATCH', `/v3/users/${u.id}`, { user: { description: 'patched', domain_id: D } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assertKeystoneUser(r.body.user, { id: u.id, name: u.name, description: 'patched' });
    const off = await signed('PATCH', `/v3/users/${u.id}`, { user: { enabled: false } });
    assert.equal(off.body.user.enabled, false);
    assert.equal((await signed('PATCH', `/v3/users/${u.id}`, { user: { enabled: true } })).body.user.enabled, true);

    expectError(await signed('PATCH', `/v3/users/${u.id}`, { user: { domain_id: other.domainId } }), 403, 'IAM.0004');
    expectError(await signed('PATCH', `/v3/users/${u.id}`, { user: { name: d.boot.user_name } }), 409, 'IAM.0005');
    expectError(await signed('PATCH', `/v3/users/${u.id}`, { user: { name: 'x'.repeat(65) } }), 400, 'IAM.0001');
    expectError(await signed('PATCH', `/v3/users/${ownerId}`, { user: { enabled: false } }), 403, 'IAM.0004');
    expectError(await signed('PATCH', `/v3/users/${NO_SUCH_ID}`, { user: { description: 'x' } }), 404, 'IAM.0003');
    expectError(await signed('PATCH', `/v3/users/${other.userId}`, { user: { description: 'x' } }), 404, 'IAM.0003');
  });

  test('KeystoneDeleteUser: 204; the user, their memberships, tokens and access keys are gone', async () => {
    const u = await createUser('doomed');
    const g = await createGroup('doomed-group');
    await addMember(g, u.id);
    const token = await tokenFor(u);
    const key = await withToken(token, 'POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id } });
    assert.equal(key.status, 201);
    const creds: Credentials = { ak: key.body.credential.access, sk: key.body.credential.secret };
    assert.equal((await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, undefined, creds)).status, 200);

    const r = await signed('DELETE', `/v3/users/${u.id}`);
    assert.equal(r.status, 204, JSON.stringify(r.body));
    assert.equal(r.body, undefined);
    expectError(await signed('GET', `/v3/users/${u.id}`), 404, 'IAM.0003');
    expectError(await signed('DELETE', `/v3/users/${u.id}`), 404, 'IAM.0003');
    assert.deepEqual((await signed('GET', `/v3/groups/${g}/users`)).body.users, []);
    expectError(await withToken(token, 'GET', '/v3.0/OS-CREDENTIAL/credentials'), 401, 'APIGW.0301');
    expectError(await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, undefined, creds), 401, 'APIGW.0301');
    expectError(await signed('GET', `/v3.0/OS-CREDENTIAL/credentials/${creds.ak}`), 404, 'IAM.0003');
  });

  test('KeystoneDeleteUser errors: the account owner 400 1107; unknown or another account\'s 404', async () => {
    expectError(await signed('DELETE', `/v3/users/${ownerId}`), 400, '1107');
    expectError(await signed('DELETE', `/v3/users/${NO_SUCH_ID}`), 404, 'IAM.0003');
    expectError(await signed('DELETE', `/v3/users/${other.userId}`), 404, 'IAM.0003');
    assert.equal((await signed('GET', `/v3/users/${ownerId}`)).status, 200);
    // The other account's user still exists for its own admin.
    assert.equal((await signed('GET', `/v3/users/${other.userId}`, undefined, undefined, other.creds)).status, 200);
  });

  test('KeystoneUpdateUserPassword: a user changes their own password without any grant (204)', async () => {
    const u = await createUser('pw');
    const token = await tokenFor(u);
    const r = await withToken(token, 'POST', `/v3/users/${u.id}/password`, { user: { original_password: u.password, password: 'Changed-pass-1' } });
    assert.equal(r.status, 204, JSON.stringify(r.body));
    assert.equal(r.body, undefined);
    expectError(await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name: u.name, password: u.password }), 401, 'IAM.0002');
    const fresh = await tokenFor({ name: u.name, password: 'Changed-pass-1' });
    // By access key too.
    const key = await withToken(fresh, 'POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id } });
    const creds: Credentials = { ak: key.body.credential.access, sk: key.body.credential.secret };
    const again = await signed('POST', `/v3/users/${u.id}/password`, { user: { original_password: 'Changed-pass-1', password: 'Changed-again-2' } }, undefined, creds);
    assert.equal(again.status, 204, JSON.stringify(again.body));
    await tokenFor({ name: u.name, password: 'Changed-again-2' });
  });

  test('KeystoneUpdateUserPassword errors: 1103 wrong original, 1108 same, IAM.0001 weak, IAM.0004 someone else\'s', async () => {
    const u = await createUser('pw-err');
    const token = await tokenFor(u);
    const path = `/v3/users/${u.id}/password`;
    expectError(await withToken(token, 'POST', path, { user: { original_password: 'Not-the-password-1', password: 'Whatever-pass-1' } }), 400, '1103');
    expectError(await withToken(token, 'POST', path, { user: { original_password: u.password, password: u.password } }), 400, '1108');
    expectError(await withToken(token, 'POST', path, { user: { original_password: u.password, password: 'weakweak' } }), 400, 'IAM.0001');
    expectError(await withToken(token, 'POST', path, { user: { password: 'Whatever-pass-1' } }), 400, 'IAM.0001');
    expectError(await withToken(token, 'POST', path, { user: { original_password: u.password } }), 400, 'IAM.0001');
    expectError(await withToken(token, 'POST', path, { user: { original_password: u.password, password: 'x'.repeat(20) + '-too-long-12345' } }), 400, 'IAM.0001');
    // Not another user's, even knowing it, and not even for an administrator (who uses UpdateUser).
    const victim = await createUser('pw-victim');
    const theirs = { user: { original_password: victim.password, password: 'Hijacked-pass-1' } };
    expectError(await withToken(token, 'POST', `/v3/users/${victim.id}/password`, theirs), 403, 'IAM.0004');
    expectError(await signed('POST', `/v3/users/${victim.id}/password`, theirs), 403, 'IAM.0004');
    expectError(await withToken(token, 'POST', `/v3/users/${ownerId}/password`, { user: { original_password: d.boot.password, password: 'Hijacked-pass-1' } }), 403, 'IAM.0004');
    await tokenFor(victim);
    await tokenFor(u); // nothing changed
  });

  test('KeystoneListGroupsForUser: 200 with Keystone groups; errors', async () => {
    const u = await createUser('member');
    const g1 = await createGroup('of-member');
    const g2 = await createGroup('of-member');
    await addMember(g1, u.id);
    await addMember(g2, u.id);
    const r = await signed('GET', `/v3/users/${u.id}/groups`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(sorted(r.body), ['groups', 'links']);
    assertLinks(r.body.links, `${d.iamUrl}/v3/users/${u.id}/groups`);
    assert.deepEqual(r.body.groups.map((g: any) => g.id).sort(), [g1, g2].sort());
    for (const g of r.body.groups) assertGroup(g, {});
    const owner = await withToken(await d.token('cn-north-4'), 'GET', `/v3/users/${ownerId}/groups`);
    assert.deepEqual(owner.body.groups.map((g: any) => g.name), ['admin']);
    assert.deepEqual((await signed('GET', `/v3/users/${(await createUser('loner')).id}/groups`)).body.groups, []);
    expectError(await signed('GET', `/v3/users/${NO_SUCH_ID}/groups`), 404, 'IAM.0003');
    expectError(await signed('GET', `/v3/users/${other.userId}/groups`), 404, 'IAM.0003');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('groups and membership', () => {
  test('KeystoneCreateGroup: 201 with create_time as a number of epoch ms', async () => {
    const name = unique('created');
    const before = Date.now();
    const r = await signed('POST', '/v3/groups', { group: { name, description: 'a group', domain_id: D } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body), ['group']);
    assertGroup(r.body.group, { name, description: 'a group' });
    assert.ok(r.body.group.create_time >= before - 1000 && r.body.group.create_time <= Date.now() + 1000);
    const noDescription = await withToken(await d.token('cn-north-4'), 'POST', '/v3/groups', { group: { name: unique('plain') } });
    assert.equal(noDescription.status, 201);
    assertGroup(noDescription.body.group, { description: '' });
  });

  test('KeystoneCreateGroup errors', async () => {
    for (const body of [{}, { group: {} }, { group: { name: '' } }, { group: { name: 'a/b' } }, { group: { name: '   ' } }, { group: { name: 'a\u0000b' } }, { group: { name: 'x'.repeat(129) } }, { group: { name: 7 } }, { group: { name: unique('g'), description: 'd'.repeat(256) } }]) {
      try {
        expectError(await signed('POST', '/v3/groups', body), 400, 'IAM.0001');
      } catch (err) {
        throw new Error(`${JSON.stringify(body)}: ${(err as Error).message}`);
      }
    }
    expectError(await signed('POST', '/v3/groups', { group: { name: 'admin' } }), 409, 'IAM.0005');
    const name = unique('twice');
    assert.equal((await signed('POST', '/v3/groups', { group: { name } })).status, 201);
    expectError(await signed('POST', '/v3/groups', { group: { name } }), 409, 'IAM.0005');
    expectError(await signed('POST', '/v3/groups', { group: { name: unique('theirs'), domain_id: other.domainId } }), 403, 'IAM.0004');
    // A name used by the other account is free here.
    assert.equal((await signed('POST', '/v3/groups', { group: { name: 'other-group' } })).status, 201);
  });

  test('KeystoneListGroups: the account\'s groups, by name', async () => {
    const id = await createGroup('listed');
    const r = await signed('GET', '/v3/groups');
    assert.equal(r.status, 200);
    assert.deepEqual(sorted(r.body), ['groups', 'links']);
    assertLinks(r.body.links, `${d.iamUrl}/v3/groups`);
    const ids = r.body.groups.map((g: any) => g.id);
    assert.ok(ids.includes(id) && ids.includes(adminGroupId));
    assert.ok(!ids.includes(other.groupId));
    for (const g of r.body.groups) assertGroup(g, {});
    const byName = await signed('GET', '/v3/groups', undefined, { name: 'admin' });
    assert.deepEqual(byName.body.groups.map((g: any) => g.id), [adminGroupId]);
    assert.equal(byName.body.groups[0].name, 'admin');
    assert.deepEqual((await signed('GET', '/v3/groups', undefined, { name: 'no-such-group' })).body.groups, []);
    assert.equal((await signed('GET', '/v3/groups', undefined, { domain_id: D })).status, 200);
    expectError(await signed('GET', '/v3/groups', undefined, { domain_id: other.domainId }), 403, 'IAM.0004');
  });

  test('KeystoneShowGroup: 200; unknown or another account\'s 404', async () => {
    const id = await createGroup('shown');
    const r = await withToken(await d.token('cn-north-4'), 'GET', `/v3/groups/${id}`);
    assert.equal(r.status, 200);
    assertGroup(r.body.group, { id, description: 'test' });
    expectError(await signed('GET', `/v3/groups/${NO_SUCH_ID}`), 404, 'IAM.0003');
    expectError(await signed('GET', `/v3/groups/${other.groupId}`), 404, 'IAM.0003');
  });

  test('KeystoneUpdateGroup: 200 with the renamed group; the admin group keeps its name', async () => {
    const id = await createGroup('renamed');
    const name = unique('renamed-to');
    const r = await signed('PATCH', `/v3/groups/${id}`, { group: { name, description: 'new description' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assertGroup(r.body.group, { id, name, description: 'new description' });
    assert.equal((await signed('GET', `/v3/groups/${id}`)).body.group.name, name);

    expectError(await signed('PATCH', `/v3/groups/${adminGroupId}`, { group: { name: 'not-admin' } }), 403, 'IAM.0004');
    assert.equal((await signed('GET', `/v3/groups/${adminGroupId}`)).body.group.name, 'admin');
    expectError(await signed('PATCH', `/v3/groups/${id}`, { group: { name: 'admin' } }), 409, 'IAM.0005');
    expectError(await signed('PATCH', `/v3/groups/${id}`, { group: { name: 'a/b' } }), 400, 'IAM.0001');
    expectError(await signed('PATCH', `/v3/groups/${id}`, { group: { domain_id: other.domainId } }), 403, 'IAM.0004');
    expectError(await signed('PATCH', `/v3/groups/${NO_SUCH_ID}`, { group: { description: 'x' } }), 404, 'IAM.0003');
    expectError(await signed('PATCH', `/v3/groups/${other.groupId}`, { group: { description: 'x' } }), 404, 'IAM.0003');
  });

  test('KeystoneDeleteGroup: 204 with its memberships and grants; the admin group cannot be deleted', async () => {
    const id = await createGroup('deleted');
    const u = await createUser('of-deleted');
    await addMember(id, u.id);
    const policy = await createPolicy('XA');
    await grant(projectPath(P1, id, policy.id));
    assert.equal((await signed('GET', `/v3.0/OS-ROLE/roles/${policy.id}`)).body.role.references, 1);

    const r = await signed('DELETE', `/v3/groups/${id}`);
    assert.equal(r.status, 204, JSON.stringify(r.body));
    assert.equal(r.body, undefined);
    expectError(await signed('GET', `/v3/groups/${id}`), 404, 'IAM.0003');
    expectError(await signed('DELETE', `/v3/groups/${id}`), 404, 'IAM.0003');
    assert.deepEqual((await signed('GET', `/v3/users/${u.id}/groups`)).body.groups, []);
    assert.equal((await signed('GET', `/v3.0/OS-ROLE/roles/${policy.id}`)).body.role.references, 0);
    assert.equal((await signed('GET', '/v3.0/OS-PERMISSION/role-assignments', undefined, { domain_id: D, 'subject.group_id': id })).body.total_num, 0);
    assert.equal((await signed('DELETE', `/v3.0/OS-ROLE/roles/${policy.id}`)).status, 200);

    expectError(await signed('DELETE', `/v3/groups/${adminGroupId}`), 403, 'IAM.0004');
    expectError(await signed('DELETE', `/v3/groups/${NO_SUCH_ID}`), 404, 'IAM.0003');
    expectError(await signed('DELETE', `/v3/groups/${other.groupId}`), 404, 'IAM.0003');
    assert.equal((await signed('GET', `/v3/groups/${adminGroupId}`)).status, 200);
  });

  test('membership: PUT 204 (idempotent), HEAD 204/404, members listed, DELETE 204 then 404', async () => {
    const g = await createGroup('members');
    const u = await createUser('joiner');
    const path = `/v3/groups/${g}/users/${u.id}`;
    assertHead(await signed('HEAD', path), 404);
    const put = await signed('PUT', path);
    assert.equal(put.status, 204, JSON.stringify(put.body));
    assert.equal(put.body, undefined);
    assert.equal((await signed('PUT', path)).status, 204);
    assertHead(await signed('HEAD', path), 204);
    const token = await d.token('cn-north-4');
    assertHead(await withToken(token, 'HEAD', path), 204);

    const members = await signed('GET', `/v3/groups/${g}/users`);
    assert.equal(members.status, 200);
    assert.deepEqual(sorted(members.body), ['links', 'users']);
    assertLinks(members.body.links, `${d.iamUrl}/v3/groups/${g}/users`);
    assert.equal(members.body.users.length, 1);
    assertKeystoneUser(members.body.users[0], { id: u.id, name: u.name });
    const admins = await withToken(token, 'GET', `/v3/groups/${adminGroupId}/users`);
    assert.ok(admins.body.users.some((x: any) => x.id === ownerId));

    const del = await withToken(token, 'DELETE', path);
    assert.equal(del.status, 204, JSON.stringify(del.body));
    assert.equal(del.body, undefined);
    assertHead(await signed('HEAD', path), 404);
    expectError(await signed('DELETE', path), 404, 'IAM.0003');
    assert.deepEqual((await signed('GET', `/v3/groups/${g}/users`)).body.users, []);
  });

  test('membership errors: unknown or another account\'s user or group 404; the owner stays in admin (403)', async () => {
    const g = await createGroup('members-err');
    const u = await createUser('members-err');
    for (const [group, user] of [[g, NO_SUCH_ID], [NO_SUCH_ID, u.id], [g, other.userId], [other.groupId, u.id]] as const) {
      const path = `/v3/groups/${group}/users/${user}`;
      expectError(await signed('PUT', path), 404, 'IAM.0003');
      expectError(await signed('DELETE', path), 404, 'IAM.0003');
      assertHead(await signed('HEAD', path), 404);
    }
    expectError(await signed('GET', `/v3/groups/${NO_SUCH_ID}/users`), 404, 'IAM.0003');
    expectError(await signed('GET', `/v3/groups/${other.groupId}/users`), 404, 'IAM.0003');
    expectError(await signed('DELETE', `/v3/groups/${adminGroupId}/users/${ownerId}`), 403, 'IAM.0004');
    assertHead(await signed('HEAD', `/v3/groups/${adminGroupId}/users/${ownerId}`), 204);
  });

  test('membership is what grants reach: a member gains the group\'s permissions and loses them when removed', async () => {
    const g = await createGroup('secadmins');
    await grant(domainPath(D, g, sys['Security Administrator']));
    const u = await createUser('joins-secadmins');
    const token = await tokenFor(u);
    expectError(await withToken(token, 'GET', '/v3/groups'), 403, 'IAM.0004');
    await addMember(g, u.id);
    assert.equal((await withToken(token, 'GET', '/v3/groups')).status, 200);
    assert.equal((await signed('DELETE', `/v3/groups/${g}/users/${u.id}`)).status, 204);
    expectError(await withToken(token, 'GET', '/v3/groups'), 403, 'IAM.0004');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('roles and custom policies', () => {
  test('KeystoneListPermissions: the system roles and policies with total_number and null links.next', async () => {
    const r = await signed('GET', '/v3/roles');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(sorted(r.body), ['links', 'roles', 'total_number']);
    assertLinks(r.body.links, `${d.iamUrl}/v3/roles`);
    assert.equal(r.body.total_number, r.body.roles.length);
    assert.ok(r.body.roles.length >= 7);
    for (const role of r.body.roles) {
      assertRole(role, '/v3/roles');
      assert.equal(role.domain_id, null);
      assert.equal('created_time' in role, false, 'system roles have no times');
      assert.equal(role.flag === 'fine_grained', role.policy.Version === '1.1');
    }
    const sec = r.body.roles.find((x: any) => x.display_name === 'Security Administrator');
    assert.equal(sec.name, 'secu_admin');
    assert.equal(sec.type, 'AX');
    assert.equal(sec.catalog, 'BASE');
    assert.ok(!r.body.roles.some((x: any) => x.catalog === 'CUSTOMED'), 'without domain_id no custom policy is listed');
  });

  test('KeystoneListPermissions filters: name, display_name, permission_type, type, catalog; paging', async () => {
    const get = async (query: Record<string, string>) => {
      const r = await signed('GET', '/v3/roles', undefined, query);
      assert.equal(r.status, 200, `${JSON.stringify(query)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.total_number, query.page ? r.body.total_number : r.body.roles.length);
      return r.body.roles as any[];
    };
    assert.deepEqual((await get({ name: 'kms_adm' })).map((x) => x.display_name), ['KMS Administrator']);
    assert.deepEqual((await get({ display_name: 'KMS CMKFullAccess' })).map((x) => x.name), ['system_all_38']);
    const policies = await get({ permission_type: 'policy' });
    assert.ok(policies.length > 0 && policies.every((x) => x.policy.Version === '1.1' && x.flag === 'fine_grained'));
    const roles = await get({ permission_type: 'role' });
    assert.ok(roles.length > 0 && roles.every((x) => x.policy.Version === '1.0'));
    const domain = await get({ type: 'domain' });
    assert.ok(domain.some((x) => x.type === 'AX') && domain.every((x) => x.type === 'AA' || x.type === 'AX'));
    const project = await get({ type: 'project' });
    assert.ok(project.some((x) => x.type === 'XA') && project.every((x) => x.type === 'AA' || x.type === 'XA'));
    assert.equal((await get({ type: 'all' })).length, (await get({})).length);
    const kms = await get({ catalog: 'KMS' });
    assert.ok(kms.length >= 3 && kms.every((x) => x.catalog === 'KMS'));
    assert.deepEqual(await get({ name: 'no_such_role' }), []);

    const all = await get({});
    const page1 = await signed('GET', '/v3/roles', undefined, { page: '1', per_page: '2' });
    const page2 = await signed('GET', '/v3/roles', undefined, { page: '2', per_page: '2' });
    assert.equal(page1.body.total_number, all.length);
    assert.deepEqual(page1.body.roles.map((x: any) => x.id), all.slice(0, 2).map((x) => x.id));
    assert.deepEqual(page2.body.roles.map((x: any) => x.id), all.slice(2, 4).map((x) => x.id));
    const far = await signed('GET', '/v3/roles', undefined, { page: '100', per_page: '300' });
    assert.deepEqual(far.body.roles, []);

    const invalid: Record<string, string>[] = [{ page: '1' }, { per_page: '10' }, { page: '0', per_page: '10' }, { page: '1', per_page: '301' }, { page: '1', per_page: '0' }, { page: 'x', per_page: '1' }, { permission_type: 'bogus' }, { type: 'global' }];
    for (const query of invalid) {
      try {
        expectError(await signed('GET', '/v3/roles', undefined, query), 400, 'IAM.0001');
      } catch (err) {
        throw new Error(`${JSON.stringify(query)}: ${(err as Error).message}`);
      }
    }
  });

  test('KeystoneListPermissions with domain_id: the account\'s custom policies only', async () => {
    const ax = await createPolicy('AX', ['iam:users:listUsers'], 'listed-ax');
    const xa = await createPolicy('XA', ['kms:cmk:list'], 'listed-xa');
    const r = await signed('GET', '/v3/roles', undefined, { domain_id: D });
    assert.equal(r.status, 200);
    const ids = r.body.roles.map((x: any) => x.id);
    assert.ok(ids.includes(ax.id) && ids.includes(xa.id));
    assert.ok(!ids.includes(other.roleId) && !ids.includes(sys['FullAccess']));
    assert.ok(r.body.roles.every((x: any) => x.catalog === 'CUSTOMED' && x.domain_id === D));
    assert.equal(r.body.total_number, r.body.roles.length);
    for (const role of r.body.roles) assertRole(role, '/v3/roles');
    const domainType = await signed('GET', '/v3/roles', undefined, { domain_id: D, type: 'domain' });
    assert.ok(domainType.body.roles.some((x: any) => x.id === ax.id) && domainType.body.roles.every((x: any) => x.type === 'AX'));
    const byName = await signed('GET', '/v3/roles', undefined, { domain_id: D, display_name: xa.display_name });
    assert.deepEqual(byName.body.roles.map((x: any) => x.id), [xa.id]);
    expectError(await signed('GET', '/v3/roles', undefined, { domain_id: other.domainId }), 403, 'IAM.0004');
  });

  test('KeystoneShowPermission: a system role, or a custom policy of the account; 404 otherwise', async () => {
    const r = await signed('GET', `/v3/roles/${sys['KMS CMKFullAccess']}`);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body), ['role']);
    assertRole(r.body.role, '/v3/roles');
    assert.equal(r.body.role.display_name, 'KMS CMKFullAccess');
    assert.equal(r.body.role.type, 'XA');
    assert.equal(r.body.role.flag, 'fine_grained');
    assert.equal(r.body.role.domain_id, null);

    const p = await createPolicy('XA');
    const custom = await withToken(await d.token('cn-north-4'), 'GET', `/v3/roles/${p.id}`);
    assert.equal(custom.status, 200);
    assertCustomRole(custom.body.role, { display_name: p.display_name, type: 'XA', description: 'test policy' }, '/v3/roles');

    expectError(await signed('GET', `/v3/roles/${NO_SUCH_ID}`), 404, 'IAM.0003');
    expectError(await signed('GET', `/v3/roles/${other.roleId}`), 404, 'IAM.0003');
    expectError(await signed('GET', '/v3/roles/not.an.id'), 404, 'IAM.0003');
  });

  test('CreateCloudServiceCustomPolicy: 201 with catalog CUSTOMED, its name, and times as epoch-ms strings', async () => {
    const display_name = unique('created-policy');
    const policy = {
      Version: '1.1',
      Statement: [
        { Effect: 'Allow', Action: ['kms:cmk:create', 'kms:cmk:list'], Condition: { StringEquals: { 'kms:KeySpec': ['AES_256'] } } },
        { Effect: 'Deny', Action: 'kms:cmk:delete*', Resource: ['kms:*:*:KeyId:*'] },
      ],
    };
    const r = await signed('POST', '/v3.0/OS-ROLE/roles', { role: { display_name, type: 'XA', description: 'created', description_cn: '创建', policy } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body), ['role']);
    assertCustomRole(r.body.role, { display_name, type: 'XA', description: 'created' });
    assert.equal(r.body.role.description_cn, '创建');
    assert.equal(r.body.role.created_time, r.body.role.updated_time);
    // The document comes back normalized (a single Action string becomes a list).
    assert.deepEqual(r.body.role.policy.Statement[1].Action, ['kms:cmk:delete*']);
    assert.equal(r.body.role.policy.Statement[0].Condition.StringEquals['kms:KeySpec'][0], 'AES_256');

    // AX through a token; exactly 8 statements is allowed.
    const eight = { Version: '1.1', Statement: Array.from({ length: 8 }, (_, i) => ({ Effect: 'Allow', Action: [`iam:users:${['listUsers', 'getUser', 'createUser', 'updateUser', 'deleteUser', 'listGroupsForUser', 'updateUserPassword', 'listUsersForGroup'][i]}`] })) };
    const ax = await withToken(await d.token('cn-north-4'), 'POST', '/v3.0/OS-ROLE/roles', { role: { display_name: unique('eight'), type: 'AX', description: '', policy: eight } });
    assert.equal(ax.status, 201, JSON.stringify(ax.body));
    assert.equal(ax.body.role.type, 'AX');
    assert.equal(ax.body.role.policy.Statement.length, 8);
    assert.notEqual(ax.body.role.name, r.body.role.name);
  });

  test('CreateCloudServiceCustomPolicy: documents that break the rules are 400 IAM.0001', async () => {
    const stmt = { Effect: 'Allow', Action: ['kms:cmk:list'] };
    const docs: [string, unknown][] = [
      ['Version 1.0', { Version: '1.0', Statement: [stmt] }],
      ['no Version', { Statement: [stmt] }],
      ['Version as number', { Version: 1.1, Statement: [stmt] }],
      ['9 statements', { Version: '1.1', Statement: Array.from({ length: 9 }, () => stmt) }],
      ['no statements', { Version: '1.1', Statement: [] }],
      ['Statement not a list', { Version: '1.1', Statement: stmt }],
      ['Action without colons', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kmslist'] }] }],
      ['Action with two parts', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:list'] }] }],
      ['Action with an upper-case service', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['KMS:cmk:list'] }] }],
      ['Action empty list', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: [] }] }],
      ['Action not strings', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: [42] }] }],
      ['Effect Permit', { Version: '1.1', Statement: [{ Effect: 'Permit', Action: ['kms:cmk:list'] }] }],
      ['no Effect', { Version: '1.1', Statement: [{ Action: ['kms:cmk:list'] }] }],
      ['Action and NotAction', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:list'], NotAction: ['kms:cmk:get'] }] }],
      ['bad Resource', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:list'], Resource: ['kms-everything'] }] }],
      ['unknown statement field', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:list'], Resources: ['*'] }] }],
      ['unknown condition operator', { Version: '1.1', Statement: [{ ...stmt, Condition: { StringSortOf: { 'g:UserName': ['x'] } } }] }],
      ['Depends on a policy', { Version: '1.1', Statement: [stmt], Depends: [{ catalog: 'CUSTOMED', display_name: 'another custom policy' }] }],
      ['Depends on a system role', { Version: '1.1', Statement: [stmt], Depends: [{ catalog: 'KMS', display_name: 'KMS Administrator' }] }],
      ['longer than 6144 characters', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: Array.from({ length: 100 }, (_, i) => `kms:cmk:${'x'.repeat(60)}${i}`) }] }],
      ['not an object', ['Version', '1.1']],
    ];
    for (const [what, policy] of docs) {
      try {
        expectError(await signed('POST', '/v3.0/OS-ROLE/roles', { role: { display_name: unique('bad'), type: 'XA', description: what, policy } }), 400, 'IAM.0001');
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}`);
      }
    }
    const good = policyDoc('kms:cmk:list');
    const roles: [string, object][] = [
      ['type AA', { display_name: unique('bad'), type: 'AA', description: '', policy: good }],
      ['type missing', { display_name: unique('bad'), description: '', policy: good }],
      ['description missing', { display_name: unique('bad'), type: 'XA', policy: good }],
      ['display_name missing', { type: 'XA', description: '', policy: good }],
      ['display_name empty', { display_name: '', type: 'XA', description: '', policy: good }],
      ['display_name too long', { display_name: 'p'.repeat(65), type: 'XA', description: '', policy: good }],
      ['description too long', { display_name: unique('bad'), type: 'XA', description: 'd'.repeat(257), policy: good }],
      ['policy missing', { display_name: unique('bad'), type: 'XA', description: '' }],
    ];
    for (const [what, role] of roles) {
      try {
        expectError(await signed('POST', '/v3.0/OS-ROLE/roles', { role }), 400, 'IAM.0001');
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}`);
      }
    }
    expectError(await signed('POST', '/v3.0/OS-ROLE/roles', {}), 400, 'IAM.0001');
    // None of them was created.
    const names = (await signed('GET', '/v3.0/OS-ROLE/roles')).body.roles.map((x: any) => x.description);
    assert.ok(!names.some((n: string) => docs.some(([what]) => what === n)));
  });

  test('CreateCloudServiceCustomPolicy: a display name taken in the account is 409 IAM.0005', async () => {
    const p = await createPolicy('XA');
    expectError(await signed('POST', '/v3.0/OS-ROLE/roles', { role: { display_name: p.display_name, type: 'AX', description: 'again', policy: policyDoc('iam:users:listUsers') } }), 409, 'IAM.0005');
    // The other account's policy name is free here.
    assert.equal((await signed('POST', '/v3.0/OS-ROLE/roles', { role: { display_name: 'other-policy', type: 'XA', description: '', policy: policyDoc('kms:cmk:get') } })).status, 201);
  });

  test('ListCustomPolicies: the account\'s policies with total_number; paging', async () => {
    await createPolicy('XA');
    await createPolicy('AX', ['iam:groups:listGroups']);
    const r = await signed('GET', '/v3.0/OS-ROLE/roles');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(sorted(r.body), ['links', 'roles', 'total_number']);
    assertLinks(r.body.links, `${d.iamUrl}/v3.0/OS-ROLE/roles`);
    assert.equal(r.body.total_number, r.body.roles.length);
    assert.ok(r.body.roles.length >= 2);
    for (const role of r.body.roles) {
      assertCustomRole(role, { display_name: role.display_name, type: role.type, description: role.description });
      assert.equal('references' in role, false);
    }
    assert.ok(!r.body.roles.some((x: any) => x.id === other.roleId));
    const theirs = await signed('GET', '/v3.0/OS-ROLE/roles', undefined, undefined, other.creds);
    assert.deepEqual(theirs.body.roles.map((x: any) => x.id), [other.roleId]);

    const p1 = await signed('GET', '/v3.0/OS-ROLE/roles', undefined, { page: '1', per_page: '1' });
    const p2 = await signed('GET', '/v3.0/OS-ROLE/roles', undefined, { page: '2', per_page: '1' });
    assert.equal(p1.body.total_number, r.body.total_number);
    assert.deepEqual(p1.body.roles.map((x: any) => x.id), [r.body.roles[0].id]);
    assert.deepEqual(p2.body.roles.map((x: any) => x.id), [r.body.roles[1].id]);
    const invalid: Record<string, string>[] = [{ page: '1' }, { per_page: '1' }, { page: '1', per_page: '301' }, { page: '0', per_page: '1' }];
    for (const query of invalid) {
      expectError(await signed('GET', '/v3.0/OS-ROLE/roles', undefined, query), 400, 'IAM.0001');
    }
  });

  test('ShowCustomPolicy: 200 with references (the number of grants); not for system roles or another account', async () => {
    const p = await createPolicy('XA');
    const r = await signed('GET', `/v3.0/OS-ROLE/roles/${p.id}`);
    assert.equal(r.status, 200);
    assertCustomRole(r.body.role, { display_name: p.display_name, type: 'XA', description: 'test policy' });
    assert.equal(r.body.role.references, 0);
    const g1 = await createGroup('refs');
    const g2 = await createGroup('refs');
    await grant(projectPath(P1, g1, p.id));
    await grant(projectPath(P2, g1, p.id));
    await grant(inheritedPath(D, g2, p.id));
    assert.equal((await withToken(await d.token('cn-north-4'), 'GET', `/v3.0/OS-ROLE/roles/${p.id}`)).body.role.references, 3);

    expectError(await signed('GET', `/v3.0/OS-ROLE/roles/${sys['KMS CMKFullAccess']}`), 404, 'IAM.0003');
    expectError(await signed('GET', `/v3.0/OS-ROLE/roles/${NO_SUCH_ID}`), 404, 'IAM.0003');
    expectError(await signed('GET', `/v3.0/OS-ROLE/roles/${other.roleId}`), 404, 'IAM.0003');
  });

  test('UpdateCloudServiceCustomPolicy: 200 with the replaced policy; created_time kept, updated_time moves', async () => {
    const p = await createPolicy('XA');
    const before = (await signed('GET', `/v3.0/OS-ROLE/roles/${p.id}`)).body.role;
    await new Promise((r) => setTimeout(r, 5));
    const newName = unique('updated-policy');
    const r = await signed('PATCH', `/v3.0/OS-ROLE/roles/${p.id}`, { role: { display_name: newName, type: 'XA', description: 'replaced', policy: policyDoc('kms:cmk:get', 'kms:cmk:list') } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body), ['role']);
    assertCustomRole(r.body.role, { display_name: newName, type: 'XA', description: 'replaced' });
    assert.equal(r.body.role.id, p.id);
    assert.equal(r.body.role.name, before.name);
    assert.equal(r.body.role.created_time, before.created_time);
    assert.ok(Number(r.body.role.updated_time) > Number(before.updated_time), `${r.body.role.updated_time} after ${before.updated_time}`);
    assert.deepEqual(r.body.role.policy.Statement[0].Action, ['kms:cmk:get', 'kms:cmk:list']);
    assert.equal((await signed('GET', `/v3.0/OS-ROLE/roles/${p.id}`)).body.role.description, 'replaced');
    // Keeping its own display name is no conflict.
    const same = await signed('PATCH', `/v3.0/OS-ROLE/roles/${p.id}`, { role: { display_name: newName, type: 'XA', description: 'again', policy: policyDoc('kms:cmk:get') } });
    assert.equal(same.status, 200, JSON.stringify(same.body));
  });

  test('UpdateCloudServiceCustomPolicy errors', async () => {
    const p = await createPolicy('XA');
    const q = await createPolicy('XA');
    const role = (over: object) => ({ role: { display_name: p.display_name, type: 'XA', description: 'x', policy: policyDoc('kms:cmk:list'), ...over } });
    expectError(await signed('PATCH', `/v3.0/OS-ROLE/roles/${p.id}`, role({ display_name: q.display_name })), 409, 'IAM.0005');
    expectError(await signed('PATCH', `/v3.0/OS-ROLE/roles/${p.id}`, role({ policy: { Version: '1.0', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:list'] }] } })), 400, 'IAM.0001');
    expectError(await signed('PATCH', `/v3.0/OS-ROLE/roles/${p.id}`, role({ policy: { Version: '1.1', Statement: Array.from({ length: 9 }, () => ({ Effect: 'Allow', Action: ['kms:cmk:list'] })) } })), 400, 'IAM.0001');
    expectError(await signed('PATCH', `/v3.0/OS-ROLE/roles/${p.id}`, role({ type: 'AA' })), 400, 'IAM.0001');
    expectError(await signed('PATCH', `/v3.0/OS-ROLE/roles/${p.id}`, { role: { description: 'only' } }), 400, 'IAM.0001');
    expectError(await signed('PATCH', `/v3.0/OS-ROLE/roles/${NO_SUCH_ID}`, role({})), 404, 'IAM.0003');
    expectError(await signed('PATCH', `/v3.0/OS-ROLE/roles/${other.roleId}`, role({ display_name: 'hijacked' })), 404, 'IAM.0003');
    expectError(await signed('PATCH', `/v3.0/OS-ROLE/roles/${sys['KMS CMKFullAccess']}`, role({ display_name: 'hijacked' })), 404, 'IAM.0003');
    const still = (await signed('GET', `/v3.0/OS-ROLE/roles/${p.id}`)).body.role;
    assert.equal(still.display_name, p.display_name);
    assert.equal(still.description, 'test policy');
    assert.equal((await signed('GET', `/v3.0/OS-ROLE/roles/${other.roleId}`, undefined, undefined, other.creds)).body.role.display_name, 'other-policy');
  });

  test('DeleteCustomPolicy: 200 (not 204); 409 IAM.0005 while granted; 404 when unknown', async () => {
    const p = await createPolicy('XA');
    const g = await createGroup('holds-policy');
    await grant(projectPath(P1, g, p.id));
    expectError(await signed('DELETE', `/v3.0/OS-ROLE/roles/${p.id}`), 409, 'IAM.0005');
    assert.equal((await signed('GET', `/v3.0/OS-ROLE/roles/${p.id}`)).status, 200);
    assert.equal((await signed('DELETE', projectPath(P1, g, p.id))).status, 204);

    const r = await withToken(await d.token('cn-north-4'), 'DELETE', `/v3.0/OS-ROLE/roles/${p.id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    expectError(await signed('GET', `/v3.0/OS-ROLE/roles/${p.id}`), 404, 'IAM.0003');
    expectError(await signed('GET', `/v3/roles/${p.id}`), 404, 'IAM.0003');
    expectError(await signed('DELETE', `/v3.0/OS-ROLE/roles/${p.id}`), 404, 'IAM.0003');
    // A deleted policy can no longer be granted.
    expectError(await signed('PUT', projectPath(P1, g, p.id)), 404, 'IAM.0003');

    expectError(await signed('DELETE', `/v3.0/OS-ROLE/roles/${other.roleId}`), 404, 'IAM.0003');
    expectError(await signed('DELETE', `/v3.0/OS-ROLE/roles/${sys['FullAccess']}`), 404, 'IAM.0003');
    assert.equal((await signed('GET', `/v3.0/OS-ROLE/roles/${other.roleId}`, undefined, undefined, other.creds)).status, 200);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('grants', () => {
  const scopes = [
    { name: 'a project', path: (g: string, r = '') => projectPath(P1, g, r), role: () => sys['KMS CMKReadOnlyAccess']! },
    { name: 'the account', path: (g: string, r = '') => domainPath(D, g, r), role: () => sys['Security Administrator']! },
    { name: 'all projects', path: (g: string, r = '') => inheritedPath(D, g, r), role: () => sys['KMS CMKFullAccess']! },
  ];

  for (const sc of scopes) {
    test(`on ${sc.name}: PUT 204 (idempotent), GET lists the role, HEAD 204/404, DELETE 204 then 404`, async () => {
      const g = await createGroup('granted');
      const role = sc.role();
      assertHead(await signed('HEAD', sc.path(g, role)), 404);
      const empty = await signed('GET', sc.path(g));
      assert.equal(empty.status, 200, JSON.stringify(empty.body));
      assert.deepEqual(empty.body.roles, []);

      const put = await signed('PUT', sc.path(g, role));
      assert.equal(put.status, 204, JSON.stringify(put.body));
      assert.equal(put.body, undefined);
      assert.equal((await withToken(await d.token('cn-north-4'), 'PUT', sc.path(g, role))).status, 204);
      assertHead(await signed('HEAD', sc.path(g, role)), 204);

      const list = await signed('GET', sc.path(g));
      assert.equal(list.status, 200);
      assert.deepEqual(sorted(list.body), ['links', 'roles']);
      assertLinks(list.body.links, `${d.iamUrl}${sc.path(g)}`);
      assert.deepEqual(list.body.roles.map((x: any) => x.id), [role]);
      assertRole(list.body.roles[0], '/v3/roles');

      // AA roles (FullAccess) go anywhere.
      assert.equal((await signed('PUT', sc.path(g, sys['FullAccess']))).status, 204);
      assert.equal((await signed('GET', sc.path(g))).body.roles.length, 2);

      const del = await withToken(await d.token('cn-south-1'), 'DELETE', sc.path(g, role));
      assert.equal(del.status, 204, JSON.stringify(del.body));
      assert.equal(del.body, undefined);
      assertHead(await signed('HEAD', sc.path(g, role)), 404);
      expectError(await signed('DELETE', sc.path(g, role)), 404, 'IAM.0003');
      assert.deepEqual((await signed('GET', sc.path(g))).body.roles.map((x: any) => x.id), [sys['FullAccess']]);
    });

    test(`on ${sc.name}: unknown or another account's group or role is 404 IAM.0003`, async () => {
      const g = await createGroup('grant-err');
      const role = sc.role();
      for (const [group, r] of [[NO_SUCH_ID, role], [other.groupId, role], [g, NO_SUCH_ID], [g, other.roleId]] as const) {
        expectError(await signed('PUT', sc.path(group, r)), 404, 'IAM.0003');
        expectError(await signed('DELETE', sc.path(group, r)), 404, 'IAM.0003');
        assertHead(await signed('HEAD', sc.path(group, r)), 404);
      }
      expectError(await signed('GET', sc.path(NO_SUCH_ID)), 404, 'IAM.0003');
      expectError(await signed('GET', sc.path(other.groupId)), 404, 'IAM.0003');
    });
  }

  test('a project that is unknown or another account\'s is 404 IAM.0003', async () => {
    const g = await createGroup('grant-project');
    const role = sys['KMS CMKReadOnlyAccess']!;
    for (const project of [NO_SUCH_ID, other.projectId]) {
      expectError(await signed('PUT', projectPath(project, g, role)), 404, 'IAM.0003');
      expectError(await signed('DELETE', projectPath(project, g, role)), 404, 'IAM.0003');
      expectError(await signed('GET', projectPath(project, g)), 404, 'IAM.0003');
      assertHead(await signed('HEAD', projectPath(project, g, role)), 404);
    }
    // The grant on our project P2 is not one on P1.
    await grant(projectPath(P2, g, role));
    assertHead(await signed('HEAD', projectPath(P1, g, role)), 404);
    assertHead(await signed('HEAD', projectPath(P2, g, role)), 204);
  });

  test("another account's domain id in the path is 403 IAM.0004 (as domain_id in a query or body)", async () => {
    const g = await createGroup('grant-domain');
    const role = sys['Security Administrator']!;
    const inherited = sys['KMS CMKReadOnlyAccess']!;
    const all = collector();
    for (const [method, path] of [
      ['PUT', domainPath(other.domainId, g, role)], ['GET', domainPath(other.domainId, g)], ['DELETE', domainPath(other.domainId, g, role)],
      ['PUT', inheritedPath(other.domainId, g, inherited)], ['GET', inheritedPath(other.domainId, g)], ['DELETE', inheritedPath(other.domainId, g, inherited)],
    ] as const) {
      await all.check(`${method} ${path}`, async () => expectError(await signed(method, path), 403, 'IAM.0004'));
      if (method === 'PUT') await all.check(`HEAD ${path}`, async () => assert.equal((await signed('HEAD', path)).status, 403));
    }
    all.done();
    // Nothing was granted anywhere.
    assert.equal((await signed('GET', '/v3.0/OS-PERMISSION/role-assignments', undefined, { domain_id: D, 'subject.group_id': g })).body.total_num, 0);
  });

  test('XA policies cannot be granted on the account, AX ones not on projects (400 IAM.0001)', async () => {
    const g = await createGroup('grant-type');
    const xa = await createPolicy('XA');
    const ax = await createPolicy('AX', ['iam:users:listUsers']);
    for (const role of [xa.id, sys['KMS CMKFullAccess']!, sys['KMS Administrator']!]) expectError(await signed('PUT', domainPath(D, g, role)), 400, 'IAM.0001');
    for (const role of [ax.id, sys['Security Administrator']!]) {
      expectError(await signed('PUT', projectPath(P1, g, role)), 400, 'IAM.0001');
      expectError(await signed('PUT', inheritedPath(D, g, role)), 400, 'IAM.0001');
    }
    assert.equal((await signed('GET', '/v3.0/OS-PERMISSION/role-assignments', undefined, { domain_id: D, 'subject.group_id': g })).body.total_num, 0);
    // And the right way round they are fine.
    await grant(domainPath(D, g, ax.id));
    await grant(projectPath(P1, g, xa.id));
    await grant(inheritedPath(D, g, xa.id));
  });

  test('a project grant reaches KMS in that project (within the change feed\'s poll) and a revocation takes it away', async () => {
    const { user, groupId } = await userWith(undefined);
    const token = await tokenFor(user, { project: { id: P1 } });
    const list = () => tokenRequest(d.endpoint('cn-north-4'), token, 'POST', `/v1.0/${P1}/kms/list-keys`, {});
    expectError(await list(), 403, 'KMS.0306');
    await grant(projectPath(P1, groupId, sys['KMS CMKReadOnlyAccess']));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await list()).status, 200);
    assert.equal((await signed('DELETE', projectPath(P1, groupId, sys['KMS CMKReadOnlyAccess']))).status, 204);
    await new Promise((r) => setTimeout(r, 300));
    expectError(await list(), 403, 'KMS.0306');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('ShowDomainRoleAssignments', () => {
  let g1: string;
  let g2: string;
  let member: TestUser;
  let xa: { id: string };
  const path = '/v3.0/OS-PERMISSION/role-assignments';
  const list = async (query: Record<string, string>) => {
    const r = await signed('GET', path, undefined, { domain_id: D, ...query });
    assert.equal(r.status, 200, `${JSON.stringify(query)}: ${JSON.stringify(r.body)}`);
    return r.body as { total_num: number; role_assignments: any[] };
  };
  /** The assignments as comparable strings: role@scope/id(+inherited) for group. */
  const show = (body: { role_assignments: any[] }) =>
    body.role_assignments.map((a) => `${a.group.id === g1 ? 'g1' : a.group.id === g2 ? 'g2' : a.group.id}:${a.role.id}@${a.scope.project ? `p:${a.scope.project.id}` : `d:${a.scope.domain.id}`}${a.is_inherited ? '+inherited' : ''}`).sort();

  before(async () => {
    g1 = await createGroup('assigned-1');
    g2 = await createGroup('assigned-2');
    member = await createUser('assigned');
    await addMember(g1, member.id);
    xa = await createPolicy('XA', ['kms:cmk:get'], 'assigned');
    await grant(projectPath(P1, g1, sys['KMS CMKFullAccess']));
    await grant(domainPath(D, g1, sys['Security Administrator']));
    await grant(inheritedPath(D, g1, sys['KMS CMKReadOnlyAccess']));
    await grant(projectPath(P2, g2, xa.id));
    await grant(projectPath(P1, g2, xa.id));
  });

  test('200: total_num and the assignments in Huawei\'s shape', async () => {
    const all = await list({});
    assert.deepEqual(sorted(all), ['role_assignments', 'total_num']);
    assert.equal(all.total_num, all.role_assignments.length);
    for (const a of all.role_assignments) {
      assert.deepEqual(sorted(a), ['group', 'is_inherited', 'role', 'scope']);
      assert.deepEqual(sorted(a.role), ['id']);
      assert.deepEqual(sorted(a.group), ['id']);
      assert.equal(Object.keys(a.scope).length, 1);
      assert.equal(typeof a.is_inherited, 'boolean');
    }
    const mine = show(await list({ 'subject.group_id': g1 }));
    assert.deepEqual(mine, [
      `g1:${sys['KMS CMKFullAccess']}@p:${P1}`,
      `g1:${sys['KMS CMKReadOnlyAccess']}@d:${D}+inherited`,
      `g1:${sys['Security Administrator']}@d:${D}`,
    ].sort());
    for (const a of all.role_assignments) assert.notEqual(a.group.id, other.groupId);
    // The other account sees only its own (none).
    const theirs = await signed('GET', path, undefined, { domain_id: other.domainId }, other.creds);
    assert.equal(theirs.status, 200);
    assert.equal(theirs.body.total_num, 0);
  });

  test('filters: role_id, subject.group_id, subject.user_id (through groups), scope.project_id, scope and is_inherited', async () => {
    assert.deepEqual(show(await list({ role_id: xa.id })), [`g2:${xa.id}@p:${P1}`, `g2:${xa.id}@p:${P2}`].sort());
    assert.deepEqual(show(await list({ 'subject.user_id': member.id })), show(await list({ 'subject.group_id': g1 })));
    assert.deepEqual(show(await list({ 'subject.group_id': g2, 'scope.project_id': P2 })), [`g2:${xa.id}@p:${P2}`]);
    assert.deepEqual(show(await list({ 'subject.group_id': g1, scope: 'project' })), [`g1:${sys['KMS CMKFullAccess']}@p:${P1}`]);
    const p1 = await list({ 'scope.project_id': P1 });
    assert.ok(p1.role_assignments.every((a) => a.scope.project?.id === P1 && a.is_inherited === false));
    assert.ok(show(p1).includes(`g1:${sys['KMS CMKFullAccess']}@p:${P1}`) && show(p1).includes(`g2:${xa.id}@p:${P1}`));
    assert.deepEqual(show(await list({ 'subject.group_id': g1, 'scope.domain_id': D, is_inherited: 'true' })), [`g1:${sys['KMS CMKReadOnlyAccess']}@d:${D}+inherited`]);
    assert.deepEqual(show(await list({ 'subject.group_id': g1, scope: 'domain', is_inherited: 'true' })), [`g1:${sys['KMS CMKReadOnlyAccess']}@d:${D}+inherited`]);
    assert.deepEqual(show(await list({ 'subject.group_id': g1, 'scope.domain_id': D, is_inherited: 'false' })), [`g1:${sys['Security Administrator']}@d:${D}`]);
    assert.deepEqual(show(await list({ role_id: sys['Security Administrator']!, 'subject.group_id': g1 })), [`g1:${sys['Security Administrator']}@d:${D}`]);
    assert.deepEqual((await list({ role_id: NO_SUCH_ID })).role_assignments, []);
  });

  test('is_inherited defaults to false with scope=domain or scope.domain_id: only the grants on the account (global services)', async () => {
    assert.deepEqual(show(await list({ 'subject.group_id': g1, 'scope.domain_id': D })), [`g1:${sys['Security Administrator']}@d:${D}`]);
    assert.deepEqual(show(await list({ 'subject.group_id': g1, scope: 'domain' })), [`g1:${sys['Security Administrator']}@d:${D}`]);
  });

  test('include_group=false with subject.user_id: only grants to the user directly (there are none: grants go to groups)', async () => {
    const r = await list({ 'subject.user_id': member.id, include_group: 'false' });
    assert.equal(r.total_num, 0);
    assert.deepEqual(r.role_assignments, []);
  });

  test('paging by page and per_page (≤ 50): total_num counts every match', async () => {
    const all = await list({ 'subject.group_id': g1 });
    const pages = [];
    for (let page = 1; page <= 4; page++) pages.push(await list({ 'subject.group_id': g1, page: String(page), per_page: '1' }));
    for (const p of pages) assert.equal(p.total_num, 3);
    assert.deepEqual(pages.map((p) => p.role_assignments.length), [1, 1, 1, 0]);
    assert.deepEqual(pages.flatMap((p) => show(p)).sort(), show(all));
    assert.equal((await list({ page: '1', per_page: '50' })).role_assignments.length, Math.min(50, (await list({})).total_num));
  });

  test('errors: domain_id missing 400, another account 403, bad paging 400', async () => {
    expectError(await signed('GET', path), 400, 'IAM.0001');
    expectError(await signed('GET', path, undefined, { domain_id: other.domainId }), 403, 'IAM.0004');
    expectError(await withToken(await d.token('cn-north-4'), 'GET', `${path}?domain_id=${NO_SUCH_ID}`), 403, 'IAM.0004');
    const invalid: Record<string, string>[] = [{ page: '1' }, { per_page: '5' }, { page: '1', per_page: '51' }, { page: '0', per_page: '5' }, { page: '1', per_page: '0' }, { is_inherited: 'yes' }];
    for (const query of invalid) {
      try {
        expectError(await signed('GET', path, undefined, { domain_id: D, ...query }), 400, 'IAM.0001');
      } catch (err) {
        throw new Error(`${JSON.stringify(query)}: ${(err as Error).message}`);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('permanent access keys', () => {
  test('CreatePermanentAccessKey: 201 with the secret (only here); the key signs requests; a third is akSkNumExceed', async () => {
    const u = await createUser('keyed');
    const r = await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id, description: 'first key' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body), ['credential']);
    assertCredential(r.body.credential, { userId: u.id, description: 'first key' }, ['secret']);
    assert.match(r.body.credential.secret, /^[A-Za-z0-9]{40}$/);
    const creds: Credentials = { ak: r.body.credential.access, sk: r.body.credential.secret };
    const own = await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, undefined, creds);
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.deepEqual(own.body.credentials.map((c: any) => c.access), [creds.ak]);

    const second = await withToken(await d.token('cn-north-4'), 'POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id } });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assertCredential(second.body.credential, { userId: u.id, description: '' }, ['secret']);
    assert.notEqual(second.body.credential.access, creds.ak);
    assert.notEqual(second.body.credential.secret, creds.sk);

    const third = await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id } });
    expectError(third, 400, 'IAM.0001');
    assert.match(third.body.error.error_msg, /akSkNumExceed/);
    assert.equal((await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, { user_id: u.id })).body.credentials.length, 2);
    // Deleting one makes room again.
    assert.equal((await signed('DELETE', `/v3.0/OS-CREDENTIAL/credentials/${second.body.credential.access}`)).status, 204);
    assert.equal((await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id } })).status, 201);
  });

  test('CreatePermanentAccessKey errors', async () => {
    expectError(await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: NO_SUCH_ID } }), 404, 'IAM.0003');
    expectError(await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: other.userId } }), 404, 'IAM.0003');
    expectError(await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: {} }), 400, 'IAM.0001');
    expectError(await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', {}), 400, 'IAM.0001');
    expectError(await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: ownerId, description: 'd'.repeat(256) } }), 400, 'IAM.0001');
    assert.equal((await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, { user_id: other.userId }, other.creds)).body.credentials.length, 1);
  });

  test('ListPermanentAccessKeys: the caller\'s own without user_id, a user\'s with it; never secrets', async () => {
    const own = await signed('GET', '/v3.0/OS-CREDENTIAL/credentials');
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.deepEqual(Object.keys(own.body), ['credentials']);
    assert.ok(own.body.credentials.some((c: any) => c.access === d.admin.ak));
    for (const c of own.body.credentials) assertCredential(c, { userId: ownerId, status: c.status });

    const u = await createUser('listed-keys');
    assert.deepEqual((await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, { user_id: u.id })).body.credentials, []);
    const k = await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id, description: 'listed' } });
    const r = await withToken(await d.token('cn-north-4'), 'GET', `/v3.0/OS-CREDENTIAL/credentials?user_id=${u.id}`);
    assert.equal(r.body.credentials.length, 1);
    assertCredential(r.body.credentials[0], { userId: u.id, description: 'listed' });
    assert.equal(r.body.credentials[0].access, k.body.credential.access);
    assert.ok(!JSON.stringify(r.body).includes(k.body.credential.secret));

    expectError(await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, { user_id: NO_SUCH_ID }), 404, 'IAM.0003');
    expectError(await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, { user_id: other.userId }), 404, 'IAM.0003');
  });

  test('ShowPermanentAccessKey: 200 with last_use_time and no secret; unknown, temporary or another account\'s key 404', async () => {
    const u = await createUser('shown-key');
    const k = await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id, description: 'shown' } });
    const r = await signed('GET', `/v3.0/OS-CREDENTIAL/credentials/${k.body.credential.access}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assertCredential(r.body.credential, { userId: u.id, description: 'shown' }, ['last_use_time']);
    assert.equal(typeof r.body.credential.last_use_time, 'string');
    assert.equal(r.body.credential.create_time, k.body.credential.create_time);

    expectError(await signed('GET', `/v3.0/OS-CREDENTIAL/credentials/${NO_SUCH_AK}`), 404, 'IAM.0003');
    expectError(await signed('GET', `/v3.0/OS-CREDENTIAL/credentials/${other.accessKey}`), 404, 'IAM.0003');
    expectError(await signed('GET', `/v3.0/OS-CREDENTIAL/credentials/${other.creds.ak}`), 404, 'IAM.0003');
    expectError(await signed('GET', '/v3.0/OS-CREDENTIAL/credentials/lower-case'), 404, 'IAM.0003');
    const token = await d.token('cn-north-4');
    const temp = await withToken(token, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', { auth: { identity: { methods: ['token'], token: { duration_seconds: 900 } } } });
    assert.equal(temp.status, 201);
    expectError(await signed('GET', `/v3.0/OS-CREDENTIAL/credentials/${temp.body.credential.access}`), 404, 'IAM.0003');
  });

  test('UpdatePermanentAccessKey: 200; an inactive key stops signing (401) until it is active again', async () => {
    const u = await createUser('toggled-key');
    const k = await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id } });
    const creds: Credentials = { ak: k.body.credential.access, sk: k.body.credential.secret };
    const path = `/v3.0/OS-CREDENTIAL/credentials/${creds.ak}`;
    const off = await signed('PUT', path, { credential: { status: 'inactive' } });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.deepEqual(Object.keys(off.body), ['credential']);
    assertCredential(off.body.credential, { userId: u.id, status: 'inactive', description: '' });
    assert.equal((await signed('GET', path)).body.credential.status, 'inactive');
    expectError(await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, undefined, creds), 401, 'APIGW.0301');

    const described = await withToken(await d.token('cn-north-4'), 'PUT', path, { credential: { description: 'described' } });
    assert.equal(described.status, 200);
    assertCredential(described.body.credential, { userId: u.id, status: 'inactive', description: 'described' });
    const on = await signed('PUT', path, { credential: { status: 'active', description: '' } });
    assertCredential(on.body.credential, { userId: u.id, status: 'active', description: '' });
    assert.equal((await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, undefined, creds)).status, 200);

    expectError(await signed('PUT', path, { credential: { status: 'disabled' } }), 400, 'IAM.0001');
    expectError(await signed('PUT', path, {}), 400, 'IAM.0001');
    expectError(await signed('PUT', `/v3.0/OS-CREDENTIAL/credentials/${NO_SUCH_AK}`, { credential: { status: 'inactive' } }), 404, 'IAM.0003');
    expectError(await signed('PUT', `/v3.0/OS-CREDENTIAL/credentials/${other.accessKey}`, { credential: { status: 'inactive' } }), 404, 'IAM.0003');
    assert.equal((await signed('GET', `/v3.0/OS-CREDENTIAL/credentials/${other.accessKey}`, undefined, undefined, other.creds)).body.credential.status, 'active');
  });

  test('DeletePermanentAccessKey: 204; the key is gone and refused', async () => {
    const u = await createUser('deleted-key');
    const k = await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id } });
    const creds: Credentials = { ak: k.body.credential.access, sk: k.body.credential.secret };
    const path = `/v3.0/OS-CREDENTIAL/credentials/${creds.ak}`;
    const r = await signed('DELETE', path);
    assert.equal(r.status, 204, JSON.stringify(r.body));
    assert.equal(r.body, undefined);
    expectError(await signed('GET', path), 404, 'IAM.0003');
    expectError(await signed('DELETE', path), 404, 'IAM.0003');
    expectError(await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, undefined, creds), 401, 'APIGW.0301');
    expectError(await signed('DELETE', `/v3.0/OS-CREDENTIAL/credentials/${other.accessKey}`), 404, 'IAM.0003');
    assert.equal((await signed('GET', `/v3.0/OS-CREDENTIAL/credentials/${other.accessKey}`, undefined, undefined, other.creds)).status, 200);
  });

  test('self-service: a user without grants manages their own access keys, by token and by their own key', async () => {
    const u = await createUser('self-keys');
    const token = await tokenFor(u);
    const created = await withToken(token, 'POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id, description: 'mine' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assertCredential(created.body.credential, { userId: u.id, description: 'mine' }, ['secret']);
    const creds: Credentials = { ak: created.body.credential.access, sk: created.body.credential.secret };
    const path = `/v3.0/OS-CREDENTIAL/credentials/${creds.ak}`;

    const listed = await withToken(token, 'GET', '/v3.0/OS-CREDENTIAL/credentials');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.credentials.map((c: any) => c.access), [creds.ak]);
    assert.equal((await withToken(token, 'GET', `/v3.0/OS-CREDENTIAL/credentials?user_id=${u.id}`)).status, 200);
    assert.equal((await withToken(token, 'GET', path)).status, 200);
    assert.equal((await signed('GET', path, undefined, undefined, creds)).status, 200);
    const updated = await signed('PUT', path, { credential: { description: 'still mine' } }, undefined, creds);
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(updated.body.credential.description, 'still mine');

    const second = await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id } }, undefined, creds);
    assert.equal(second.status, 201, JSON.stringify(second.body));
    const third = await withToken(token, 'POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id } });
    expectError(third, 400, 'IAM.0001');
    assert.match(third.body.error.error_msg, /akSkNumExceed/);

    const off = await withToken(token, 'PUT', `/v3.0/OS-CREDENTIAL/credentials/${second.body.credential.access}`, { credential: { status: 'inactive' } });
    assert.equal(off.status, 200);
    assert.equal((await withToken(token, 'DELETE', `/v3.0/OS-CREDENTIAL/credentials/${second.body.credential.access}`)).status, 204);
    assert.equal((await signed('DELETE', path, undefined, undefined, creds)).status, 204);
    expectError(await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, undefined, creds), 401, 'APIGW.0301');
    assert.deepEqual((await withToken(token, 'GET', '/v3.0/OS-CREDENTIAL/credentials')).body.credentials, []);
  });

  test("self-service stops at one's own keys: another user's are 403 IAM.0004 (create, list, show, update, delete)", async () => {
    const u = await createUser('self-only');
    const token = await tokenFor(u);
    const victim = await createUser('key-victim');
    const k = await signed('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: victim.id } });
    const theirs = k.body.credential.access as string;
    const path = `/v3.0/OS-CREDENTIAL/credentials/${theirs}`;

    expectError(await withToken(token, 'POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: victim.id } }), 403, 'IAM.0004');
    expectError(await withToken(token, 'GET', path), 403, 'IAM.0004');
    expectError(await withToken(token, 'PUT', path, { credential: { status: 'inactive' } }), 403, 'IAM.0004');
    expectError(await withToken(token, 'DELETE', path), 403, 'IAM.0004');
    // The owner's keys (the bootstrap admin's) neither.
    expectError(await withToken(token, 'GET', `/v3.0/OS-CREDENTIAL/credentials/${d.admin.ak}`), 403, 'IAM.0004');
    expectError(await withToken(token, 'POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: ownerId } }), 403, 'IAM.0004');
    // Nothing changed for the victim.
    const still = await signed('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, { user_id: victim.id });
    assert.deepEqual(still.body.credentials.map((c: any) => [c.access, c.status]), [[theirs, 'active']]);

    // Listing someone else's keys is not self-service either.
    expectError(await withToken(token, 'GET', `/v3.0/OS-CREDENTIAL/credentials?user_id=${victim.id}`), 403, 'IAM.0004');
    expectError(await withToken(token, 'GET', `/v3.0/OS-CREDENTIAL/credentials?user_id=${ownerId}`), 403, 'IAM.0004');
  });
});
