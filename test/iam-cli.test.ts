/**
 * The admin CLI, `strongroom iam <command> ... --data-dir DIR`, against a running deployment: every subcommand
 * prints one JSON value on stdout (JSON.parse accepts the whole of it), what it changes is what the IAM API and
 * the regions then see (permission changes reach a region through IAM's change feed, polled every 100 ms here),
 * failures exit with 1 and a message on stderr, usage errors with 2. One deployment and one account (made with
 * create-domain) for the file; the tests run in order and build on each other. Each command is a node process
 * (about a second), so every subcommand runs about once.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  expectError, passwordToken, signedRequest, startTestDeployment, tokenRequest, type Credentials, type Reply, type TestDeployment,
} from './helpers/deployment.js';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..');
const HEX32 = /^[0-9a-f]{32}$/;
const REGION = 'cn-north-4';

let d: TestDeployment;
let scratch: string;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `strongroom iam ...` from the repository root; never throws. */
function run(...args: string[]): Run {
  try {
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'iam', ...args, '--data-dir', d.dir], {
      cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { status: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number | null; stdout: string; stderr: string };
    return { status: e.status ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A command that must succeed: its whole stdout is one JSON value. */
function cli(...args: string[]): any {
  const r = run(...args);
  assert.equal(r.status, 0, `iam ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  let value: unknown;
  assert.doesNotThrow(() => (value = JSON.parse(r.stdout)), `stdout of iam ${args[0]} is not JSON: ${r.stdout}`);
  return value;
}

/** A command that must fail with `status`, nothing on stdout and a message (matching `message`) on stderr. */
function fails(status: 1 | 2, message: RegExp, ...args: string[]): void {
  const r = run(...args);
  assert.equal(r.status, status, `iam ${args.join(' ')}: exit ${r.status} (expected ${status}); stdout ${r.stdout}; stderr ${r.stderr}`);
  assert.equal(r.stdout.trim(), '', `iam ${args.join(' ')} printed on stdout: ${r.stdout}`);
  assert.match(r.stderr, message, `iam ${args.join(' ')}: stderr ${r.stderr}`);
}

/**
 * execFileSync blocks this process, and with it the deployment's servers (they run in it): once it returns, let
 * their overdue timers run (idle keep-alive sockets are closed) before the next request reuses a connection.
 */
const settle = () => new Promise((r) => setTimeout(r, 50));
/** Regions learn of permission changes through IAM's change feed (polled every 100 ms in tests). */
const feed = () => new Promise((r) => setTimeout(r, 300));

/** The account the tests work in, made with create-domain. */
const acme = { name: 'acme-cli', domainId: '', userId: '', password: '', creds: { ak: '', sk: '' } as Credentials, projectId: '' };
const projectName = `${REGION}_acme`;
/** alice, a user made with create-user; her group and access key. */
const alice = { id: '', password: 'Alice-pass-1', groupId: '', creds: { ak: '', sk: '' } as Credentials };
let policyId = '';

async function iamApi(method: string, path: string, body?: object, query?: Record<string, string>, creds: Credentials = acme.creds): Promise<Reply> {
  await settle();
  return signedRequest(d.iamUrl, creds, undefined, method, path, body, query);
}
async function kms(creds: Credentials, op: string, body: object = {}, projectId = acme.projectId): Promise<Reply> {
  await settle();
  return signedRequest(d.endpoint(REGION), creds, projectId, 'POST', `/v1.0/${projectId}/kms/${op}`, body);
}
async function login(name: string, password: string, scope?: object): Promise<Reply> {
  await settle();
  return passwordToken(d.iamUrl, { domain: acme.name, name, password }, scope);
}

before(async () => {
  d = await startTestDeployment({ regions: [REGION] });
  scratch = mkdtempSync(join(tmpdir(), 'strongroom-cli-test-'));
});
after(async () => {
  await d.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('strongroom iam (admin CLI)', () => {
  test('create-domain prints one JSON object with the account and its administrator\'s credentials, which work', async () => {
    const a = cli('create-domain', '--name', acme.name, '--admin', 'boss');
    assert.deepEqual(Object.keys(a).sort(), ['access_key', 'domain_id', 'domain_name', 'password', 'secret_key', 'user_id', 'user_name']);
    assert.match(a.domain_id, HEX32);
    assert.notEqual(a.domain_id, d.boot.domain_id);
    assert.equal(a.domain_name, acme.name);
    assert.match(a.user_id, HEX32);
    assert.equal(a.user_name, 'boss');
    assert.ok(typeof a.password === 'string' && a.password.length >= 8, a.password);
    assert.match(a.access_key, /^[A-Z0-9]{20}$/);
    assert.match(a.secret_key, /^[A-Za-z0-9]{40}$/);
    Object.assign(acme, { domainId: a.domain_id, userId: a.user_id, password: a.password, creds: { ak: a.access_key, sk: a.secret_key } });

    // A token by password.
    const t = await login('boss', acme.password, { domain: { name: acme.name } });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    assert.equal(t.body.token.user.id, acme.userId);
    assert.deepEqual(t.body.token.domain, { id: acme.domainId, name: acme.name });
    expectError(await login('boss', `${acme.password}x`), 401, 'IAM.0002');
    // The access key signs IAM calls: the administrator owns the account and is in its admin group.
    const me = await iamApi('GET', `/v3.0/OS-USER/users/${acme.userId}`);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.user.is_domain_owner, true);
    assert.deepEqual((await iamApi('GET', `/v3/users/${acme.userId}/groups`)).body.groups.map((g: any) => g.name), ['admin']);
  });

  test('create-project and list-projects: the new account\'s access key and password work for KMS in the project', async () => {
    const p = cli('create-project', '--domain', acme.name, '--name', projectName, '--region', REGION);
    assert.deepEqual(Object.keys(p).sort(), ['name', 'project_id', 'region']);
    assert.match(p.project_id, HEX32);
    assert.equal(p.name, projectName);
    assert.equal(p.region, REGION);
    acme.projectId = p.project_id;
    assert.deepEqual(cli('list-projects', '--domain', acme.name), [{ project_id: p.project_id, name: projectName, region: REGION }]);

    const created = await kms(acme.creds, 'create-key', { key_alias: 'from-cli-account' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.deepEqual((await kms(acme.creds, 'list-keys')).body.keys, [created.body.key_info.key_id]);
    const t = await login('boss', acme.password, { project: { name: projectName, domain: { name: acme.name } } });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const byToken = await tokenRequest(d.endpoint(REGION), t.headers.get('x-subject-token')!, 'POST', `/v1.0/${acme.projectId}/kms/list-keys`, {});
    assert.equal(byToken.status, 200, JSON.stringify(byToken.body));
    // The project is the new account's: the bootstrap account's key cannot use it.
    expectError(await kms(d.admin, 'list-keys'), 403, 'KMS.0306');
    assert.deepEqual((await iamApi('GET', '/v3/projects', undefined, { name: projectName })).body.projects.map((x: any) => x.id), [acme.projectId]);
  });

  test('create-user, list-users, update-user: what the CLI changes, IAM enforces', async () => {
    const u = cli('create-user', '--domain', acme.name, '--name', 'alice', '--password', alice.password, '--email', 'alice@example.com', '--description', 'first user');
    assert.deepEqual(Object.keys(u).sort(), ['description', 'domain_id', 'domain_owner', 'email', 'enabled', 'password', 'user_id', 'user_name']);
    assert.match(u.user_id, HEX32);
    assert.deepEqual({ ...u, user_id: 'x' }, {
      user_id: 'x', user_name: 'alice', domain_id: acme.domainId, enabled: true, description: 'first user', email: 'alice@example.com', domain_owner: false, password: alice.password,
    });
    alice.id = u.user_id;
    assert.equal((await login('alice', alice.password)).status, 201);
    const api = await iamApi('GET', '/v3/users', undefined, { name: 'alice' });
    assert.deepEqual(api.body.users.map((x: any) => [x.id, x.description]), [[alice.id, 'first user']]);

    const users = cli('list-users', '--domain', acme.name);
    assert.ok(Array.isArray(users));
    assert.deepEqual(users.map((x: any) => [x.user_name, x.domain_owner]).sort(), [['alice', false], ['boss', true]]);
    assert.ok(users.every((x: any) => !('password' in x)), 'list-users prints no password');

    // Disabled: no token. (Enabled again through the API, which the CLI then sees.)
    const off = cli('update-user', '--domain', acme.name, '--user', 'alice', '--enabled', 'false', '--description', 'on leave');
    assert.equal(off.user_id, alice.id);
    assert.equal(off.enabled, false);
    assert.equal(off.description, 'on leave');
    expectError(await login('alice', alice.password), 401, 'IAM.0002');
    assert.equal((await iamApi('GET', `/v3/users/${alice.id}`)).body.user.enabled, false);
    assert.equal((await iamApi('PATCH', `/v3/users/${alice.id}`, { user: { enabled: true } })).status, 200);
    assert.equal((await login('alice', alice.password)).status, 201);
  });

  test('create-group, list-groups, add-user-to-group, list-group-users, show-user', async () => {
    const g = cli('create-group', '--domain', acme.name, '--name', 'kms-team', '--description', 'key people');
    assert.deepEqual(Object.keys(g).sort(), ['builtin', 'description', 'group_id', 'name']);
    assert.match(g.group_id, HEX32);
    assert.deepEqual({ ...g, group_id: 'x' }, { group_id: 'x', name: 'kms-team', description: 'key people', builtin: false });
    alice.groupId = g.group_id;
    assert.deepEqual(cli('list-groups', '--domain', acme.name).map((x: any) => [x.name, x.builtin]).sort(), [['admin', true], ['kms-team', false]]);

    assert.deepEqual(cli('add-user-to-group', '--domain', acme.name, '--group', 'kms-team', '--user', 'alice'), { group_id: g.group_id, user_id: alice.id, member: true });
    assert.equal((await iamApi('HEAD', `/v3/groups/${g.group_id}/users/${alice.id}`)).status, 204);
    assert.deepEqual(cli('list-group-users', '--domain', acme.name, '--group', g.group_id).map((x: any) => x.user_id), [alice.id]);
    const shown = cli('show-user', '--domain', acme.name, '--user', alice.id);
    assert.equal(shown.user_name, 'alice');
    assert.equal(shown.enabled, true);
    assert.deepEqual(shown.groups, [{ group_id: g.group_id, name: 'kms-team', description: 'key people', builtin: false }]);
    const renamed = cli('update-group', '--domain', acme.name, '--group', 'kms-team', '--description', 'the key people');
    assert.equal(renamed.description, 'the key people');
    assert.equal((await iamApi('GET', `/v3/groups/${g.group_id}`)).body.group.description, 'the key people');
  });

  test('list-roles, create-policy, grant (--project, --on-domain, --all-projects), list-grants, create-access-key: the grants reach KMS and IAM', async () => {
    const doc = { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:create', 'kms:cmk:list'] }] };
    const file = join(scratch, 'key-makers.json');
    writeFileSync(file, JSON.stringify(doc));
    const policy = cli('create-policy', '--domain', acme.name, '--name', 'key-makers', '--policy-file', file, '--description', 'create and list');
    assert.deepEqual(Object.keys(policy).sort(), ['catalog', 'display_name', 'name', 'policy', 'role_id', 'type']);
    assert.match(policy.role_id, HEX32);
    assert.deepEqual({ ...policy, role_id: 'x', name: 'x' }, { role_id: 'x', name: 'x', display_name: 'key-makers', type: 'XA', catalog: 'CUSTOMED', policy: doc });
    assert.match(policy.name, new RegExp(`^custom_${acme.domainId}_\\d+$`));
    policyId = policy.role_id;
    assert.equal((await iamApi('GET', `/v3.0/OS-ROLE/roles/${policyId}`)).body.role.description, 'create and list');

    const roles = cli('list-roles', '--domain', acme.name);
    assert.ok(Array.isArray(roles));
    const sec = roles.find((r: any) => r.display_name === 'Security Administrator');
    assert.equal(sec.type, 'AX');
    assert.ok(roles.some((r: any) => r.display_name === 'KMS CMKReadOnlyAccess'));
    assert.deepEqual(roles.filter((r: any) => r.catalog === 'CUSTOMED').map((r: any) => r.role_id), [policyId]);

    const key = cli('create-access-key', '--domain', acme.name, '--user', 'alice', '--description', 'alice key');
    assert.deepEqual(Object.keys(key).sort(), ['access_key', 'secret_key', 'user_id']);
    assert.match(key.access_key, /^[A-Z0-9]{20}$/);
    assert.match(key.secret_key, /^[A-Za-z0-9]{40}$/);
    assert.equal(key.user_id, alice.id);
    alice.creds = { ak: key.access_key, sk: key.secret_key };
    expectError(await kms(alice.creds, 'create-key', { key_alias: 'alice-0' }), 403, 'KMS.0306');
    expectError(await iamApi('GET', '/v3/users', undefined, undefined, alice.creds), 403, 'IAM.0004');

    const onProject = cli('grant', '--domain', acme.name, '--group', 'kms-team', '--role', 'key-makers', '--project', projectName);
    assert.deepEqual(onProject, { group_id: alice.groupId, role_id: policyId, display_name: 'key-makers', scope: 'project', scope_id: acme.projectId, granted: true });
    const onDomain = cli('grant', '--domain', acme.name, '--group', alice.groupId, '--role', sec.role_id, '--on-domain');
    assert.deepEqual(onDomain, { group_id: alice.groupId, role_id: sec.role_id, display_name: 'Security Administrator', scope: 'domain', scope_id: acme.domainId, granted: true });
    const everywhere = cli('grant', '--domain', acme.name, '--group', 'kms-team', '--role', 'KMS CMKReadOnlyAccess', '--all-projects');
    assert.equal(everywhere.scope, 'inherited');
    assert.equal(everywhere.scope_id, acme.domainId);
    assert.equal(everywhere.display_name, 'KMS CMKReadOnlyAccess');

    const grants = cli('list-grants', '--domain', acme.name);
    assert.deepEqual(grants.map((g: any) => `${g.group_id}:${g.scope}:${g.scope_id}:${g.role_id}`).sort(), [
      `${alice.groupId}:project:${acme.projectId}:${policyId}`,
      `${alice.groupId}:domain:${acme.domainId}:${sec.role_id}`,
      `${alice.groupId}:inherited:${acme.domainId}:${everywhere.role_id}`,
    ].sort());
    const ofTeam = cli('list-grants', '--domain', acme.name, '--group', 'kms-team');
    assert.deepEqual(ofTeam.map((g: any) => g.role_id).sort(), grants.map((g: any) => g.role_id).sort(), 'the team holds every custom grant here');
    assert.ok(ofTeam.every((g: any) => g.group_id === alice.groupId));
    assert.ok(cli('list-grants', '--domain', acme.name, '--group', 'admin').every((g: any) => g.group_id !== alice.groupId));
    fails(1, /IAM\.0005|no-such-group/, 'list-grants', '--domain', acme.name, '--group', 'no-such-group');
    const api = await iamApi('GET', '/v3.0/OS-PERMISSION/role-assignments', undefined, { domain_id: acme.domainId, 'subject.group_id': alice.groupId });
    assert.equal(api.body.total_num, 3);

    await feed();
    const made = await kms(alice.creds, 'create-key', { key_alias: 'alice-1' });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const listed = await iamApi('GET', '/v3/users', undefined, undefined, alice.creds);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
  });

  test('revoke takes a grant away (IAM at once, the region after the feed); delete-policy once it is not granted', async () => {
    const changed = cli('update-policy', '--domain', acme.name, '--role', 'key-makers', '--policy', JSON.stringify({ Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:create', 'kms:cmk:list', 'kms:cmk:get'] }] }));
    assert.deepEqual(changed.policy.Statement[0].Action, ['kms:cmk:create', 'kms:cmk:list', 'kms:cmk:get']);
    assert.deepEqual((await iamApi('GET', `/v3.0/OS-ROLE/roles/${policyId}`)).body.role.policy.Statement[0].Action, ['kms:cmk:create', 'kms:cmk:list', 'kms:cmk:get']);
    const revoked = cli('revoke', '--domain', acme.name, '--group', 'kms-team', '--role', 'key-makers', '--project', acme.projectId);
    assert.deepEqual(revoked, { group_id: alice.groupId, role_id: policyId, display_name: 'key-makers', scope: 'project', scope_id: acme.projectId, granted: false });
    await feed();
    expectError(await kms(alice.creds, 'create-key', { key_alias: 'alice-2' }), 403, 'KMS.0306');
    assert.equal((await kms(alice.creds, 'list-keys')).status, 200, 'the grant on all projects still allows reading');
    assert.equal((await iamApi('HEAD', `/v3/projects/${acme.projectId}/groups/${alice.groupId}/roles/${policyId}`)).status, 404);

    assert.deepEqual(cli('delete-policy', '--domain', acme.name, '--role', 'key-makers'), { deleted: policyId });
    expectError(await iamApi('GET', `/v3.0/OS-ROLE/roles/${policyId}`), 404, 'IAM.0003');
  });

  test('list-access-keys, update-access-key, delete-access-key', async () => {
    const listed = cli('list-access-keys', '--domain', acme.name, '--user', 'alice');
    assert.ok(Array.isArray(listed) && listed.length === 1);
    assert.deepEqual(Object.keys(listed[0]).sort(), ['access_key', 'created_at', 'description', 'status', 'user_id']);
    assert.deepEqual({ ...listed[0], created_at: 'x' }, { access_key: alice.creds.ak, user_id: alice.id, status: 'active', description: 'alice key', created_at: 'x' });
    assert.ok(Math.abs(Date.parse(listed[0].created_at) - Date.now()) < 600_000, listed[0].created_at);
    assert.ok(!JSON.stringify(listed).includes(alice.creds.sk), 'no secret is listed');

    const off = cli('update-access-key', '--domain', acme.name, '--access-key', alice.creds.ak, '--status', 'inactive');
    assert.deepEqual({ ...off, created_at: 'x' }, { ...listed[0], status: 'inactive', created_at: 'x' });
    expectError(await iamApi('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, undefined, alice.creds), 401, 'APIGW.0301');
    expectError(await kms(alice.creds, 'list-keys'), 401, 'APIGW.0301');
    assert.equal((await iamApi('GET', `/v3.0/OS-CREDENTIAL/credentials/${alice.creds.ak}`)).body.credential.status, 'inactive');

    assert.deepEqual(cli('delete-access-key', '--domain', acme.name, '--access-key', alice.creds.ak), { deleted: alice.creds.ak });
    expectError(await iamApi('GET', `/v3.0/OS-CREDENTIAL/credentials/${alice.creds.ak}`), 404, 'IAM.0003');
    assert.deepEqual((await iamApi('GET', '/v3.0/OS-CREDENTIAL/credentials', undefined, { user_id: alice.id })).body.credentials, []);
  });

  test('remove-user-from-group, delete-group, delete-user', async () => {
    const token = (await login('alice', alice.password)).headers.get('x-subject-token')!;
    assert.equal((await tokenRequest(d.iamUrl, token, 'GET', '/v3/groups')).status, 200);
    assert.deepEqual(cli('remove-user-from-group', '--domain', acme.name, '--group', 'kms-team', '--user', 'alice'), { group_id: alice.groupId, user_id: alice.id, member: false });
    await settle();
    expectError(await tokenRequest(d.iamUrl, token, 'GET', '/v3/groups'), 403, 'IAM.0004');

    assert.deepEqual(cli('delete-group', '--domain', acme.name, '--group', 'kms-team'), { deleted: alice.groupId });
    expectError(await iamApi('GET', `/v3/groups/${alice.groupId}`), 404, 'IAM.0003');
    assert.deepEqual((await iamApi('GET', '/v3.0/OS-PERMISSION/role-assignments', undefined, { domain_id: acme.domainId })).body.total_num, 0);

    assert.deepEqual(cli('delete-user', '--domain', acme.name, '--user', 'alice'), { deleted: alice.id });
    expectError(await iamApi('GET', `/v3/users/${alice.id}`), 404, 'IAM.0003');
    expectError(await tokenRequest(d.iamUrl, token, 'GET', '/v3/auth/domains'), 401, 'APIGW.0301');
  });

  test('failures exit with 1, print nothing on stdout and say why on stderr; nothing changes', async () => {
    fails(1, /IAM\.0003.*no-such-account/, 'list-users', '--domain', 'no-such-account');
    fails(1, /1107/, 'delete-user', '--domain', acme.name, '--user', 'boss');
    fails(1, /IAM\.0001/, 'grant', '--domain', acme.name, '--group', 'admin', '--role', 'FullAccess', '--on-domain', '--all-projects');
    fails(1, /IAM\.0001/, 'create-policy', '--domain', acme.name, '--name', 'broken', '--policy', '{"Version": ');
    fails(1, /IAM\.0001.*ENOENT/, 'create-policy', '--domain', acme.name, '--name', 'missing', '--policy-file', join(scratch, 'no-such-file.json'));
    fails(1, /IAM\.0001/, 'create-project', '--domain', acme.name, '--name', 'p-nowhere', '--region', 'xx-nowhere-1');
    const me = await iamApi('GET', `/v3/users/${acme.userId}`);
    assert.equal(me.status, 200);
    assert.equal((await iamApi('GET', '/v3.0/OS-ROLE/roles')).body.total_number, 0);
  });

  test('a data directory without a deployment is refused (exit 1), and nothing is created in it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'strongroom-empty-'));
    try {
      for (const args of [['iam', 'list-users', '--domain', 'x'], ['audit', 'export', '--region', 'iam'], ['audit', 'verify', '--region', REGION]]) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--data-dir', empty], { cwd: REPO, encoding: 'utf8' });
        assert.equal(r.status, 1, `${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
        assert.match(r.stderr, /no deployment/, args.join(' '));
        assert.equal(r.stdout, '');
        assert.deepEqual(readdirSync(empty), [], `${args.join(' ')} created files`);
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('usage errors exit with 2 (a required option missing, an unknown command)', () => {
    fails(2, /required option '--domain/i, 'list-users');
    fails(2, /unknown command/i, 'no-such-command');
  });
});
