/**
 * Who may do what (docs/reference/huawei-auth.md §4): a permission matrix of the system roles and policies over KMS
 * operations, custom policies (explicit Deny over Allow, a Resource naming one key, conditions on key spec and project
 * name, project-scoped against all-projects grants), IAM permissions coming from grants on the account, users without
 * grants refused everything, and changes of membership and policy in force in every region within one second.
 * Every request is signed with the official Huawei signer, as each user, with their own access key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IAM_OPERATIONS } from '../src/api/iam/catalogue.js';
import { KMS_OPERATIONS } from '../src/api/kms/catalogue.js';
import { expectError, passwordToken, signedRequest, startTestDeployment, type Credentials, type Reply, type TestDeployment } from './helpers/deployment.js';
import { iamApi, type TestUser } from './helpers/iam.js';

const N = 'cn-north-4';
const S = 'cn-south-1';
let d: TestDeployment;
let api: ReturnType<typeof iamApi>;
/** Keys of the admin in the north: an AES_256 key, an SM4 key and an EC (signing) key. */
let aes: string;
let sm4: string;
let ec: string;
let cipher: string;

const kms = (creds: Credentials, region: string, op: string, body: object = {}): Promise<Reply> =>
  signedRequest(d.endpoint(region), creds, d.projectId(region), 'POST', `/v1.0/${d.projectId(region)}/kms/${op}`, body);
const regions = (creds: Credentials, region: string): Promise<Reply> =>
  signedRequest(d.endpoint(region), creds, d.projectId(region), 'GET', `/v2/${d.projectId(region)}/kms/regions`);
const ok = (r: Reply) => {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
let counter = 0;
const alias = () => `perm-${process.pid}-${++counter}`;

before(async () => {
  d = await startTestDeployment({ regions: [N, S] });
  api = iamApi(d);
  aes = ok(await kms(d.admin, N, 'create-key', { key_alias: alias() })).key_info.key_id;
  sm4 = ok(await kms(d.admin, N, 'create-key', { key_alias: alias(), key_spec: 'SM4' })).key_info.key_id;
  ec = ok(await kms(d.admin, N, 'create-key', { key_alias: alias(), key_spec: 'EC_P256' })).key_info.key_id;
  cipher = ok(await kms(d.admin, N, 'encrypt-data', { key_id: aes, plain_text: 'matrix' })).cipher_text;
});
after(() => d.stop());

/** One probe per family of KMS actions: name → the call, made by `creds` in the north. */
function probes(creds: Credentials): Record<string, () => Promise<Reply>> {
  return {
    'list-keys (kms:cmk:list)': () => kms(creds, N, 'list-keys', { key_spec: 'ALL' }),
    'describe-key (kms:cmk:get)': () => kms(creds, N, 'describe-key', { key_id: aes }),
    'get-key-rotation-status (kms:cmk:getRotation)': () => kms(creds, N, 'get-key-rotation-status', { key_id: aes }),
    'get-publickey (kms:cmk:getPublicKey)': () => kms(creds, N, 'get-publickey', { key_id: ec }),
    'regions (kms:region:list)': () => regions(creds, N),
    'create-key (kms:cmk:create)': () => kms(creds, N, 'create-key', { key_alias: alias() }),
    'update-key-description (kms:cmk:update)': () => kms(creds, N, 'update-key-description', { key_id: aes, key_description: 'touched' }),
    'encrypt-data (kms:cmk:crypto)': () => kms(creds, N, 'encrypt-data', { key_id: aes, plain_text: 'p' }),
    'decrypt-data (kms:cmk:crypto)': () => kms(creds, N, 'decrypt-data', { cipher_text: cipher }),
    'create-datakey (kms:dek:create)': () => kms(creds, N, 'create-datakey', { key_id: aes }),
    'gen-random (kms:cmk:generate)': () => kms(creds, N, 'gen-random', { random_data_length: '64' }),
    'sign (kms:cmk:sign)': () => kms(creds, N, 'sign', { key_id: ec, signing_algorithm: 'ECDSA_SHA_256', message: Buffer.alloc(32, 1).toString('base64') }),
  };
}

const READS = ['list-keys (kms:cmk:list)', 'describe-key (kms:cmk:get)', 'get-key-rotation-status (kms:cmk:getRotation)', 'get-publickey (kms:cmk:getPublicKey)', 'regions (kms:region:list)'];

/** Runs every probe: allowed ones must answer 200, the others 403 KMS.0306. */
async function expectMatrix(who: string, creds: Credentials, allowed: 'all' | 'none' | string[]): Promise<void> {
  for (const [name, call] of Object.entries(probes(creds))) {
    const r = await call();
    const expected = allowed === 'all' || (allowed !== 'none' && allowed.includes(name));
    if (expected) assert.equal(r.status, 200, `${who}: ${name} should be allowed, got ${r.status} ${JSON.stringify(r.body)}`);
    else expectError(r, 403, 'KMS.0306');
  }
}

describe('the system roles and policies over KMS', () => {
  const cases: [string, 'all' | 'none' | string[]][] = [
    ['KMS Administrator', 'all'],
    ['KMS CMKFullAccess', 'all'],
    ['KMS CMKReadOnlyAccess', READS],
    ['Tenant Guest', READS],
    ['Tenant Administrator', 'all'],
    ['FullAccess', 'all'],
  ];
  for (const [role, allowed] of cases) {
    test(`${role}, granted on all projects`, async () => {
      const u = await api.userWith(`u-${role.replace(/\W/g, '').toLowerCase()}`, [await api.roleId(role)], 'all-projects');
      await expectMatrix(role, u.creds, allowed);
    });
  }

  test('Security Administrator (account level) gives no KMS permission, and cannot be granted on projects', async () => {
    const sa = await api.roleId('Security Administrator');
    const u = await api.userWith('u-secadmin', [], 'domain');
    await api.grant(u.groupId, sa, 'domain');
    await expectMatrix('Security Administrator', u.creds, 'none');
    expectError(await api.call('PUT', api.grantPath(u.groupId, sa, 'all-projects')), 400, 'IAM.0001');
    expectError(await api.call('PUT', api.grantPath(u.groupId, await api.roleId('KMS CMKFullAccess'), 'domain')), 400, 'IAM.0001');
  });

  test('a user with no grants is refused every KMS operation and every IAM management operation', async () => {
    const u = await api.createUser('u-nothing');
    await expectMatrix('no grants', u.creds, 'none');
    // Every KMS operation of the catalogue, with a valid body where it needs one: never anything but a 403.
    const bodies: Record<string, object> = {
      CreateKey: { key_alias: alias() }, ListKeys: {}, CreateRandom: { random_data_length: '64' },
      EncryptData: { key_id: aes, plain_text: 'x' }, DecryptData: { cipher_text: cipher },
    };
    for (const op of KMS_OPERATIONS) {
      if (op.authentication === 'none' || op.method !== 'POST' || !op.path.startsWith('/v1.0/')) continue;
      // The caller's own retirable grants need no permission (none here: an empty list).
      if (op.name === 'ListRetirableGrants') {
        assert.equal((await signedRequest(d.endpoint(N), u.creds, d.projectId(N), 'POST', op.path.replace('{project_id}', d.projectId(N)), {})).body.total, 0);
        continue;
      }
      const body = bodies[op.name] ?? { key_id: aes };
      const r = await signedRequest(d.endpoint(N), u.creds, d.projectId(N), 'POST', op.path.replace('{project_id}', d.projectId(N)), body);
      assert.ok(r.status === 403 || r.status === 400, `${op.name}: ${r.status} ${JSON.stringify(r.body)}`);
      if (r.status === 403) assert.equal(r.body.error.error_code, 'KMS.0306', op.name);
    }
    const anyAllowed = await Promise.all(['/v3/users', '/v3/groups', '/v3/roles', '/v3.0/OS-ROLE/roles', '/v3/projects'].map((p) => api.call('GET', p, undefined, undefined, u.creds)));
    for (const r of anyAllowed) expectError(r, 403, 'IAM.0004');
    expectError(await api.call('POST', '/v3/groups', { group: { name: 'not-allowed' } }, undefined, u.creds), 403, 'IAM.0004');
    assert.ok(IAM_OPERATIONS.some((o) => o.name === 'KeystoneCreateGroup'));
  });
});

describe('IAM permissions come from grants on the account', () => {
  test('Security Administrator on the account manages IAM; Tenant Administrator does not; the admin group does', async () => {
    const sec = await api.userWith('u-iam-sec', [await api.roleId('Security Administrator')], 'domain');
    const ten = await api.userWith('u-iam-ten', [await api.roleId('Tenant Administrator')], 'domain');
    assert.equal((await api.call('GET', '/v3/users', undefined, undefined, sec.creds)).status, 200);
    const made = await api.call('POST', '/v3/groups', { group: { name: 'made-by-secadmin' } }, undefined, sec.creds);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    expectError(await api.call('GET', '/v3/users', undefined, undefined, ten.creds), 403, 'IAM.0004');
    assert.equal((await api.call('GET', '/v3/users')).status, 200, 'the bootstrap admin is in the admin group');
  });

  test('FullAccess granted on all projects does not reach IAM; granted on the account it does', async () => {
    const full = await api.roleId('FullAccess');
    const u = await api.userWith('u-full-projects', [full], 'all-projects');
    expectError(await api.call('GET', '/v3/groups', undefined, undefined, u.creds), 403, 'IAM.0004');
    await api.grant(u.groupId, full, 'domain');
    assert.equal((await api.call('GET', '/v3/groups', undefined, undefined, u.creds)).status, 200);
  });
});

describe('custom policies', () => {
  let full: string;
  before(async () => (full = await api.roleId('KMS CMKFullAccess')));

  test('an explicit Deny wins over an Allow from another policy', async () => {
    const deny = await api.createPolicy('deny-disable', { Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['kms:cmk:disable', 'kms:cmk:enable'] }] });
    const u = await api.userWith('u-deny', [full, deny], 'all-projects');
    const own = ok(await kms(u.creds, N, 'create-key', { key_alias: alias() })).key_info.key_id;
    expectError(await kms(u.creds, N, 'disable-key', { key_id: own }), 403, 'KMS.0306');
    assert.equal((await kms(u.creds, N, 'describe-key', { key_id: own })).body.key_info.key_state, '2', 'the refused call changed nothing');
    ok(await kms(u.creds, N, 'encrypt-data', { key_id: own, plain_text: 'still allowed' }));
  });

  test('a Resource naming one key allows that key only (and no call on no key)', async () => {
    const one = await api.createPolicy('one-key', {
      Version: '1.1',
      Statement: [{ Effect: 'Allow', Action: ['kms:cmk:get', 'kms:cmk:crypto'], Resource: [`kms:*:*:KeyId:${aes}`] }],
    });
    const u = await api.userWith('u-one-key', [one], 'all-projects');
    ok(await kms(u.creds, N, 'describe-key', { key_id: aes }));
    ok(await kms(u.creds, N, 'decrypt-data', { cipher_text: cipher }));
    expectError(await kms(u.creds, N, 'describe-key', { key_id: sm4 }), 403, 'KMS.0306');
    expectError(await kms(u.creds, N, 'encrypt-data', { key_id: sm4, plain_text: 'x' }), 403, 'KMS.0306');
    expectError(await kms(u.creds, N, 'list-keys', {}), 403, 'KMS.0306');
    // The account segment is checked too: a URN naming another account's key allows nothing here.
    const other = await api.createPolicy('other-account', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:get'], Resource: [`kms:*:0123456789abcdef0123456789abcdef:KeyId:*`] }] });
    const v = await api.userWith('u-other-account', [other], 'all-projects');
    expectError(await kms(v.creds, N, 'describe-key', { key_id: aes }), 403, 'KMS.0306');
  });

  test('a condition allows one key spec and not another, for new keys and existing ones', async () => {
    const onlyAes = await api.createPolicy('only-aes', {
      Version: '1.1',
      Statement: [
        { Effect: 'Allow', Action: ['kms:cmk:create'], Condition: { StringEquals: { 'kms:KeySpec': ['AES_256'] } } },
        { Effect: 'Allow', Action: ['kms:cmk:get'], Condition: { StringEquals: { 'kms:KeySpec': ['SM4'] } } },
      ],
    });
    const u = await api.userWith('u-only-aes', [onlyAes], 'all-projects');
    ok(await kms(u.creds, N, 'create-key', { key_alias: alias() }));
    ok(await kms(u.creds, N, 'create-key', { key_alias: alias(), key_spec: 'AES_256' }));
    expectError(await kms(u.creds, N, 'create-key', { key_alias: alias(), key_spec: 'SM4' }), 403, 'KMS.0306');
    ok(await kms(u.creds, N, 'describe-key', { key_id: sm4 }));
    expectError(await kms(u.creds, N, 'describe-key', { key_id: aes }), 403, 'KMS.0306');
  });

  test('conditions on the project name and the user, with IfExists', async () => {
    const northOnly = await api.createPolicy('north-only', {
      Version: '1.1',
      Statement: [{ Effect: 'Allow', Action: ['kms:cmk:list'], Condition: { StringEquals: { 'g:ProjectName': [N] }, StringEqualsIfExists: { 'kms:KeyOrigin': ['kms'] } } }],
    });
    const u = await api.userWith('u-north-only', [northOnly], 'all-projects');
    ok(await kms(u.creds, N, 'list-keys', {}));
    expectError(await kms(u.creds, S, 'list-keys', {}), 403, 'KMS.0306');
    const notMe = await api.createPolicy('not-me', {
      Version: '1.1',
      Statement: [{ Effect: 'Allow', Action: ['kms:cmk:list'], Condition: { StringNotEquals: { 'g:UserName': ['u-not-me'] } } }],
    });
    const me = await api.userWith('u-not-me', [notMe], 'all-projects');
    expectError(await kms(me.creds, N, 'list-keys', {}), 403, 'KMS.0306');
  });

  test('a grant on one project acts there only; a grant on all projects acts in every region', async () => {
    const scoped = await api.userWith('u-one-project', [full], { project: d.projectId(N) });
    ok(await kms(scoped.creds, N, 'list-keys', {}));
    expectError(await kms(scoped.creds, S, 'list-keys', {}), 403, 'KMS.0306');
    const everywhere = await api.userWith('u-all-projects', [full], 'all-projects');
    ok(await kms(everywhere.creds, N, 'list-keys', {}));
    ok(await kms(everywhere.creds, S, 'list-keys', {}));
  });

  test('re-encrypt needs the permission on both keys', async () => {
    const sourceOnly = await api.createPolicy('re-encrypt-source', {
      Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:reEncrypt'], Resource: [`kms:*:*:KeyId:${aes}`] }],
    });
    const u = await api.userWith('u-reencrypt', [sourceOnly], 'all-projects');
    expectError(await kms(u.creds, N, 're-encrypt', { cipher_text: cipher, destination_key_id: sm4 }), 403, 'KMS.0306');
    const both = await api.createPolicy('re-encrypt-both', {
      Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:reEncrypt'], Resource: [`kms:*:*:KeyId:${aes}`, `kms:*:*:KeyId:${sm4}`] }],
    });
    await api.grant(u.groupId, both, 'all-projects');
    await new Promise((r) => setTimeout(r, 300));
    ok(await kms(u.creds, N, 're-encrypt', { cipher_text: cipher, destination_key_id: sm4 }));
  });
});

describe('calls that act in another project', () => {
  const replicate = (creds: Credentials, keyId: string) =>
    signedRequest(d.endpoint(N), creds, d.projectId(N), 'POST', `/v2/${d.projectId(N)}/kms/keys/${keyId}/replicate`, {
      key_id: keyId, replica_region: S, key_alias: alias(), replica_project_id: d.projectId(S),
    });

  test('replicate needs kms:cmk:create in the replica\'s project as well', async () => {
    const full = await api.roleId('KMS CMKFullAccess');
    const u = await api.userWith('u-replicator', [full], { project: d.projectId(N) });
    const keyId = ok(await kms(u.creds, N, 'create-key', { key_alias: alias() })).key_info.key_id;
    expectError(await replicate(u.creds, keyId), 403, 'KMS.0306');
    expectError(await kms(d.admin, S, 'describe-key', { key_id: keyId }), 404, 'KMS.0207');
    await api.grant(u.groupId, full, { project: d.projectId(S) });
    await new Promise((r) => setTimeout(r, 300));
    ok(await replicate(u.creds, keyId));
    assert.equal(ok(await kms(d.admin, S, 'describe-key', { key_id: keyId })).key_info.key_id, keyId);
  });

  test('a temporary key of a project-scoped token cannot replicate into another project', async () => {
    const token = await d.token(N);
    const t = await signedRequest(d.iamUrl, d.admin, undefined, 'GET', '/v3/auth/tokens', undefined, undefined, { 'X-Subject-Token': token });
    assert.equal(t.status, 200);
    const r = await fetch(`${d.iamUrl}/v3.0/OS-CREDENTIAL/securitytokens`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'X-Auth-Token': token },
      body: JSON.stringify({ auth: { identity: { methods: ['token'], token: { duration_seconds: 900 } } } }),
    });
    const c = ((await r.json()) as { credential: { access: string; secret: string; securitytoken: string } }).credential;
    const temp = { ak: c.access, sk: c.secret, securityToken: c.securitytoken };
    const keyId = ok(await kms(temp, N, 'create-key', { key_alias: alias() })).key_info.key_id;
    expectError(await replicate(temp, keyId), 403, 'KMS.0306');
    ok(await replicate(d.admin, keyId));
  });
});

describe('IAM: Deny wins over self-service, and only administrators act on administrators', () => {
  test('an explicit Deny stops a user managing their own access keys', async () => {
    const deny = await api.createPolicy('deny-own-keys', { Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['iam:credentials:createCredential'] }] }, 'AX');
    const u = await api.userWith('u-no-own-keys', [], 'domain');
    await api.grant(u.groupId, deny, 'domain');
    expectError(await api.call('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: u.id } }, undefined, u.creds), 403, 'IAM.0004');
    assert.equal((await api.call('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, undefined, u.creds)).status, 200, 'listing them is not denied');
  });

  test('a narrow IAM grant cannot take over the account owner or the admin group', async () => {
    const helpdesk = await api.createPolicy('helpdesk', {
      Version: '1.1',
      Statement: [{ Effect: 'Allow', Action: ['iam:users:updateUser', 'iam:users:getUser', 'iam:permissions:addUserToGroup', 'iam:permissions:removeUserFromGroup', 'iam:credentials:createCredential', 'iam:users:deleteUser'] }],
    }, 'AX');
    const u = await api.userWith('u-helpdesk', [], 'domain');
    await api.grant(u.groupId, helpdesk, 'domain');
    const owner = ok(await api.call('GET', '/v3/users', undefined, { name: d.boot.user_name })).users[0].id as string;
    const adminGroup = ok(await api.call('GET', '/v3/groups', undefined, { name: 'admin' })).groups[0].id as string;
    expectError(await api.call('PUT', `/v3.0/OS-USER/users/${owner}`, { user: { password: 'Taken-over-1' } }, undefined, u.creds), 403, 'IAM.0004');
    expectError(await api.call('PATCH', `/v3/users/${owner}`, { user: { name: 'renamed' } }, undefined, u.creds), 403, 'IAM.0004');
    expectError(await api.call('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: owner } }, undefined, u.creds), 403, 'IAM.0004');
    expectError(await api.call('PUT', `/v3/groups/${adminGroup}/users/${u.id}`, undefined, undefined, u.creds), 403, 'IAM.0004');
    // The owner's password still works, and the helpdesk may still help ordinary users.
    assert.equal((await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name: d.boot.user_name, password: d.boot.password })).status, 201);
    const plain = await api.createUser('u-helped');
    assert.equal((await api.call('PUT', `/v3.0/OS-USER/users/${plain.id}`, { user: { description: 'helped' } }, undefined, u.creds)).status, 200);
  });

  test('Security Administrator outside the admin group cannot change the admin group, grant it a Deny, or edit a policy granted to it', async () => {
    const sec = await api.userWith('u-secadmin-outside', [await api.roleId('Security Administrator')], 'domain');
    const adminGroup = ok(await api.call('GET', '/v3/groups', undefined, { name: 'admin' })).groups[0].id as string;
    const denyAll = await api.createPolicy('deny-everything', { Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['*:*:*'] }] }, 'AX');
    expectError(await api.call('PATCH', `/v3/groups/${adminGroup}`, { group: { description: 'taken over' } }, undefined, sec.creds), 403, 'IAM.0004');
    expectError(await api.call('PUT', api.grantPath(adminGroup, denyAll, 'domain'), undefined, undefined, sec.creds), 403, 'IAM.0004');
    // A harmless policy the administrators granted to their group cannot be turned into a Deny by someone else.
    const shared = await api.createPolicy('admins-extra', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:list'] }] }, 'AX');
    await api.grant(adminGroup, shared, 'domain');
    const edit = { role: { display_name: 'admins-extra', type: 'AX', description: 'x', policy: { Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['*:*:*'] }] } } };
    expectError(await api.call('PATCH', `/v3.0/OS-ROLE/roles/${shared}`, edit, undefined, sec.creds), 403, 'IAM.0004');
    expectError(await api.call('DELETE', api.grantPath(adminGroup, shared, 'domain'), undefined, undefined, sec.creds), 403, 'IAM.0004');
    // The same Security Administrator still manages ordinary groups and policies, and the administrators theirs.
    const other = await api.createGroup('ordinary');
    assert.equal((await api.call('PATCH', `/v3/groups/${other}`, { group: { description: 'fine' } }, undefined, sec.creds)).status, 200);
    assert.equal((await api.call('PUT', api.grantPath(other, denyAll, 'domain'), undefined, undefined, sec.creds)).status, 204);
    assert.equal((await api.call('GET', '/v3/users')).status, 200, 'the administrators are not denied anything');
    await api.revoke(adminGroup, shared, 'domain');
  });
});

describe('changes reach every region within one second', () => {
  let p: TestDeployment;
  let papi: ReturnType<typeof iamApi>;
  let user: TestUser;
  let group: string;
  before(async () => {
    // The product's own poll interval, not the tests' faster one.
    p = await startTestDeployment({ regions: [N, S, 'cn-east-3'], revocationPollMs: null });
    papi = iamApi(p);
    user = await papi.createUser('u-propagation');
    group = await papi.createGroup('propagation');
    await papi.grant(group, await papi.roleId('KMS CMKReadOnlyAccess'), 'all-projects');
  });
  after(() => p.stop());

  const listIn = (region: string) => signedRequest(p.endpoint(region), user.creds, p.projectId(region), 'POST', `/v1.0/${p.projectId(region)}/kms/list-keys`, {});
  /** Milliseconds until every region answers `status` to the user's list-keys (fails after 3 s). */
  async function until(status: number): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const statuses = await Promise.all([N, S, 'cn-east-3'].map(async (r) => (await listIn(r)).status));
      if (statuses.every((s) => s === status)) return Date.now() - t0;
      if (Date.now() - t0 > 3000) assert.fail(`after 3 s the regions answer ${statuses.join(', ')}, not ${status}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  test('membership: added, then removed', async () => {
    assert.equal((await listIn(N)).status, 403, 'cached as refused first');
    await papi.addMember(group, user.id);
    assert.ok((await until(200)) < 1000, 'allowed everywhere within 1 s');
    await papi.removeMember(group, user.id);
    assert.ok((await until(403)) < 1000, 'refused everywhere within 1 s');
  });

  test('a custom policy changed in place', async () => {
    const own = await papi.createGroup('propagation-custom');
    const policy = await papi.createPolicy('propagation-policy', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:list'] }] });
    await papi.grant(own, policy, 'all-projects');
    await papi.addMember(own, user.id);
    await until(200);
    await papi.updatePolicy(policy, 'propagation-policy', { Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['kms:cmk:list'] }] });
    assert.ok((await until(403)) < 1000, 'the new document is in force everywhere within 1 s');
  });

  test('a disabled user is refused everywhere within one second', async () => {
    const g = await papi.createGroup('propagation-disable');
    await papi.grant(g, await papi.roleId('KMS CMKFullAccess'), 'all-projects');
    await papi.addMember(g, user.id);
    await papi.updatePolicy((await papi.call('GET', '/v3.0/OS-ROLE/roles')).body.roles[0].id, 'propagation-policy', { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:list'] }] });
    await until(200);
    const off = await papi.call('PUT', `/v3.0/OS-USER/users/${user.id}`, { user: { enabled: false } });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.ok((await until(401)) < 1000);
    await papi.call('PUT', `/v3.0/OS-USER/users/${user.id}`, { user: { enabled: true } });
    await until(200);
  });
});
