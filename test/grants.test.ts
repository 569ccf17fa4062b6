/**
 * Grants (docs/reference/huawei-kms-api.md §2 J, §4 J 39–43; issue #8): create, list, list-retirable, revoke, retire,
 * and what a grant really allows: its grantee (a user of this account, a user of another account, or every user of an
 * account) may run exactly the listed operations on exactly that key, until the grant is revoked or retired, decided
 * where the IAM policies are (an explicit Deny still refuses). A grantee of another account reaches the key through the
 * key's own project, with an access key or with a token of its own project. Every error asserts its exact code.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { iamDir } from '../src/deployment.js';
import { openIam } from '../src/iam-server.js';
import { expectError, passwordToken, signedRequest, startTestDeployment, tokenRequest, type Credentials, type Reply, type TestDeployment } from './helpers/deployment.js';
import { iamApi, type TestUser } from './helpers/iam.js';

const R = 'cn-north-4';
const UNKNOWN_KEY = '00000000-0000-4000-8000-000000000000';
const GRANT_ID = /^[0-9a-f]{64}$/;

let d: TestDeployment;
let P: string;
/** The bootstrap administrator's user id. */
let adminId: string;
/** A user of the key's account without any permission. */
let alice: TestUser;
/** Another user of the key's account without any permission. */
let bob: TestUser;
/** Another account, with its administrator and a project in the same region. */
const partner = { domain: 'grants-partner', name: 'pat', password: 'pat-Passw0rd-1', domainId: '', projectId: '', userId: '', creds: { ak: '', sk: '' } as Credentials };

before(async () => {
  d = await startTestDeployment();
  P = d.projectId(R);
  const api = iamApi(d);
  adminId = ok(await api.call('GET', '/v3/users', undefined, { name: d.boot.user_name })).users[0].id;
  alice = await api.createUser('grant-alice');
  bob = await api.createUser('grant-bob');
  const { iam, close } = await openIam(iamDir(d.dir), { store: d.deployment.store });
  try {
    const account = await iam.createAccount(partner.domain, { userName: partner.name, password: partner.password });
    partner.domainId = account.domain.id;
    partner.userId = account.user.id;
    partner.projectId = (await iam.createProject(account.domain.id, R, R)).id;
    partner.creds = { ak: account.accessKey, sk: account.secretKey };
  } finally {
    await close();
  }
});
after(() => d.stop());

/** A KMS call on the key's project P, signed with `creds`. */
function kms(creds: Credentials, op: string, body: object = {}): Promise<Reply> {
  return signedRequest(d.endpoint(R), creds, P, 'POST', `/v1.0/${P}/kms/${op}`, body);
}

function ok(r: Reply): any {
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function newKey(): Promise<string> {
  return ok(await d.kms(R, 'create-key', { key_alias: `g-${randomUUID().slice(0, 12)}` })).key_info.key_id;
}

async function grant(keyId: string, grantee: string, operations: string[], extra: object = {}): Promise<string> {
  const id = ok(await d.kms(R, 'create-grant', { key_id: keyId, grantee_principal: grantee, operations, ...extra })).grant_id;
  assert.match(id, GRANT_ID);
  return id;
}

test('create-grant answers a 64-hex grant_id; list-grants shows it with Huawei\'s fields', async () => {
  const key = await newKey();
  const before = Date.now();
  const id = await grant(key, alice.id, ['encrypt-data', 'decrypt-data'], { name: 'app-1', retiring_principal: bob.id });
  const listed = ok(await d.kms(R, 'list-grants', { key_id: key }));
  assert.deepEqual(Object.keys(listed).sort(), ['grants', 'next_marker', 'total', 'truncated']);
  assert.equal(listed.total, 1);
  assert.equal(listed.truncated, 'false');
  assert.equal(listed.next_marker, '');
  const [g] = listed.grants;
  assert.deepEqual({ ...g, creation_date: 'x' }, {
    key_id: key, grant_id: id, grantee_principal: alice.id, grantee_principal_type: 'user', operations: ['encrypt-data', 'decrypt-data'],
    issuing_principal: adminId, creation_date: 'x', name: 'app-1', retiring_principal: bob.id,
  });
  assert.match(g.creation_date, /^\d{13}$/, 'epoch milliseconds as a string');
  assert.ok(Math.abs(Number(g.creation_date) - before) < 5000);
});

test('a grant lets a user of the same account run exactly the listed operations on exactly that key, until revoked', async () => {
  const key = await newKey();
  const other = await newKey();
  expectError(await kms(alice.creds, 'encrypt-data', { key_id: key, plain_text: 'x' }), 403, 'KMS.0306');
  const id = await grant(key, alice.id, ['encrypt-data', 'decrypt-data']);
  const cipher = ok(await kms(alice.creds, 'encrypt-data', { key_id: key, plain_text: 'granted' })).cipher_text;
  assert.equal(ok(await kms(alice.creds, 'decrypt-data', { cipher_text: cipher })).plain_text, 'granted');
  // Not listed, not this key, not another user.
  expectError(await kms(alice.creds, 'describe-key', { key_id: key }), 403, 'KMS.0306');
  expectError(await kms(alice.creds, 'create-datakey', { key_id: key }), 403, 'KMS.0306');
  expectError(await kms(alice.creds, 'disable-key', { key_id: key }), 403, 'KMS.0306');
  expectError(await kms(alice.creds, 'list-keys', {}), 403, 'KMS.0306');
  expectError(await kms(alice.creds, 'encrypt-data', { key_id: other, plain_text: 'x' }), 403, 'KMS.0306');
  expectError(await kms(bob.creds, 'encrypt-data', { key_id: key, plain_text: 'x' }), 403, 'KMS.0306');
  // Revoked: refused at once.
  assert.deepEqual(ok(await d.kms(R, 'revoke-grant', { key_id: key, grant_id: id })), {});
  expectError(await kms(alice.creds, 'encrypt-data', { key_id: key, plain_text: 'x' }), 403, 'KMS.0306');
  expectError(await kms(alice.creds, 'decrypt-data', { cipher_text: cipher }), 403, 'KMS.0306');
});

test('a grantee of another account encrypts through the grant in the key\'s project (access key and token), is refused what the grant does not list, and after retire and revoke', async () => {
  const key = await newKey();
  // Before any grant: the other account cannot act in this project.
  expectError(await kms(partner.creds, 'encrypt-data', { key_id: key, plain_text: 'x' }), 403, 'KMS.0306');
  const first = await grant(key, partner.userId, ['encrypt-data', 'describe-key'], { retiring_principal: partner.userId });
  const cipher = ok(await kms(partner.creds, 'encrypt-data', { key_id: key, plain_text: 'from the partner' })).cipher_text;
  assert.equal(ok(await d.kms(R, 'decrypt-data', { cipher_text: cipher })).plain_text, 'from the partner');
  assert.equal(ok(await kms(partner.creds, 'describe-key', { key_id: key })).key_info.key_id, key);
  // With a token of the partner's own project, through the key's project.
  const t = await passwordToken(d.iamUrl, { domain: partner.domain, name: partner.name, password: partner.password }, { project: { id: partner.projectId } });
  assert.equal(t.status, 201);
  const viaToken = await tokenRequest(d.endpoint(R), t.headers.get('x-subject-token')!, 'POST', `/v1.0/${P}/kms/encrypt-data`, { key_id: key, plain_text: 'by token' });
  assert.equal(viaToken.status, 200, JSON.stringify(viaToken.body));
  // Not listed: decrypt; nothing else of the project either, whatever the partner's own policies (admin there).
  expectError(await kms(partner.creds, 'decrypt-data', { cipher_text: cipher }), 403, 'KMS.0306');
  expectError(await kms(partner.creds, 'list-keys', {}), 403, 'KMS.0306');
  expectError(await kms(partner.creds, 'create-key', { key_alias: 'taken-over' }), 403, 'KMS.0306');
  expectError(await kms(partner.creds, 'list-grants', { key_id: key }), 403, 'KMS.0306');
  // The retiring principal retires it: refused from then on.
  assert.deepEqual(ok(await kms(partner.creds, 'retire-grant', { key_id: key, grant_id: first })), {});
  expectError(await kms(partner.creds, 'encrypt-data', { key_id: key, plain_text: 'x' }), 403, 'KMS.0306');
  // A new grant, revoked by the key's account: refused again.
  const second = await grant(key, partner.userId, ['encrypt-data']);
  ok(await kms(partner.creds, 'encrypt-data', { key_id: key, plain_text: 'again' }));
  ok(await d.kms(R, 'revoke-grant', { key_id: key, grant_id: second }));
  expectError(await kms(partner.creds, 'encrypt-data', { key_id: key, plain_text: 'x' }), 403, 'KMS.0306');
  // The other account's own project is not reachable with this account's credentials either way round.
  expectError(await signedRequest(d.endpoint(R), alice.creds, partner.projectId, 'POST', `/v1.0/${partner.projectId}/kms/list-keys`, {}), 403, 'KMS.0306');
});

test('a domain grant lets every user of that account in; a user grant only its user', async () => {
  const key = await newKey();
  await grant(key, partner.domainId, ['encrypt-data'], { grantee_principal_type: 'domain' });
  ok(await kms(partner.creds, 'encrypt-data', { key_id: key, plain_text: 'any user of the partner' }));
  // The key's own account is not the grantee account: its users without permissions stay out.
  expectError(await kms(alice.creds, 'encrypt-data', { key_id: key, plain_text: 'x' }), 403, 'KMS.0306');
  await grant(key, d.boot.domain_id, ['encrypt-data'], { grantee_principal_type: 'domain' });
  ok(await kms(alice.creds, 'encrypt-data', { key_id: key, plain_text: 'now every user of this account' }));
  ok(await kms(bob.creds, 'encrypt-data', { key_id: key, plain_text: 'bob too' }));
});

test('an explicit Deny of the key\'s account beats a grant', async () => {
  const api = iamApi(d);
  const carol = await api.userWith('grant-carol', [await api.createPolicy('deny-crypto', { Version: '1.1', Statement: [{ Effect: 'Deny', Action: ['kms:cmk:crypto'] }] })], { project: P });
  const key = await newKey();
  await grant(key, carol.id, ['encrypt-data', 'describe-key']);
  for (let i = 0; i < 40; i++) {
    // Permission changes reach the region through IAM's feed.
    if ((await kms(carol.creds, 'encrypt-data', { key_id: key, plain_text: 'x' })).status === 403) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expectError(await kms(carol.creds, 'encrypt-data', { key_id: key, plain_text: 'x' }), 403, 'KMS.0306');
  ok(await kms(carol.creds, 'describe-key', { key_id: key }));
});

test('retire-grant: the retiring principal, the issuer, and the grantee when the grant lists retire-grant; nobody else', async () => {
  const key = await newKey();
  const plain = await grant(key, alice.id, ['encrypt-data'], { retiring_principal: bob.id });
  // Alice holds it but it does not list retire-grant.
  expectError(await kms(alice.creds, 'retire-grant', { key_id: key, grant_id: plain }), 403, 'KMS.0306');
  expectError(await kms(partner.creds, 'retire-grant', { key_id: key, grant_id: plain }), 403, 'KMS.0306');
  // Bob, its retiring principal, sees it among his retirable grants and retires it.
  const retirable = ok(await kms(bob.creds, 'list-retirable-grants', {}));
  assert.ok(retirable.grants.some((g: { grant_id: string }) => g.grant_id === plain));
  ok(await kms(bob.creds, 'retire-grant', { key_id: key, grant_id: plain }));
  expectError(await kms(bob.creds, 'retire-grant', { key_id: key, grant_id: plain }), 403, 'KMS.0306');
  expectError(await d.kms(R, 'retire-grant', { key_id: key, grant_id: plain }), 400, 'KMS.2501');
  const selfRetiring = await grant(key, alice.id, ['encrypt-data', 'retire-grant']);
  ok(await kms(alice.creds, 'retire-grant', { key_id: key, grant_id: selfRetiring.toUpperCase() }));
  // The issuer (the key's administrator, who also holds kms:grant:retire) retires too.
  const byIssuer = await grant(key, alice.id, ['encrypt-data']);
  ok(await d.kms(R, 'retire-grant', { key_id: key, grant_id: byIssuer }));
  assert.equal(ok(await d.kms(R, 'list-grants', { key_id: key })).total, 0);
});

test('a grantee holding create-grant grants onward only what it holds', async () => {
  const key = await newKey();
  await grant(key, alice.id, ['create-grant', 'encrypt-data']);
  const onward = ok(await kms(alice.creds, 'create-grant', { key_id: key, grantee_principal: bob.id, operations: ['encrypt-data'] })).grant_id;
  assert.match(onward, GRANT_ID);
  ok(await kms(bob.creds, 'encrypt-data', { key_id: key, plain_text: 'via alice' }));
  const listed = ok(await d.kms(R, 'list-grants', { key_id: key })).grants.find((g: { grant_id: string }) => g.grant_id === onward);
  assert.equal(listed.issuing_principal, alice.id);
  expectError(await kms(alice.creds, 'create-grant', { key_id: key, grantee_principal: bob.id, operations: ['decrypt-data'] }), 403, 'KMS.0306');
  expectError(await kms(bob.creds, 'create-grant', { key_id: key, grantee_principal: alice.id, operations: ['encrypt-data'] }), 403, 'KMS.0306');
});

test('create-grant errors: create-grant alone KMS.2401, unknown operation KMS.0308, unknown or malformed grantee KMS.2402, unknown key 404 KMS.0207, pending deletion KMS.0210', async () => {
  const key = await newKey();
  const create = (body: object) => d.kms(R, 'create-grant', { key_id: key, grantee_principal: alice.id, operations: ['encrypt-data'], ...body });
  expectError(await create({ operations: ['create-grant'] }), 400, 'KMS.2401');
  expectError(await create({ operations: ['sign'] }), 400, 'KMS.0308');
  expectError(await create({ operations: [] }), 400, 'KMS.0308');
  expectError(await create({ grantee_principal: 'a'.repeat(32) }), 400, 'KMS.2402');
  expectError(await create({ grantee_principal: 'not-hex!' }), 400, 'KMS.2402');
  expectError(await create({ grantee_principal: alice.id, grantee_principal_type: 'domain' }), 400, 'KMS.2402');
  expectError(await create({ retiring_principal: 'b'.repeat(32) }), 400, 'KMS.2402');
  expectError(await create({ grantee_principal_type: 'group' }), 400, 'KMS.0308');
  expectError(await create({ name: 'has space' }), 400, 'KMS.0308');
  expectError(await create({ key_id: UNKNOWN_KEY }), 404, 'KMS.0207');
  expectError(await d.kms(R, 'create-grant', { key_id: key, operations: ['encrypt-data'] }), 400, 'KMS.0204');
  ok(await d.kms(R, 'schedule-key-deletion', { key_id: key, pending_days: '7' }));
  expectError(await create({}), 400, 'KMS.0210');
  assert.equal(ok(await d.kms(R, 'list-grants', { key_id: key })).total, 0, 'none was created');
});

test('revoke-grant errors: unknown grant KMS.2501, another key\'s grant KMS.2502, malformed id KMS.2501, unknown key 404 KMS.0207; only the key\'s account revokes', async () => {
  const key = await newKey();
  const other = await newKey();
  const id = await grant(key, alice.id, ['encrypt-data'], { retiring_principal: alice.id });
  expectError(await d.kms(R, 'revoke-grant', { key_id: key, grant_id: 'f'.repeat(64) }), 400, 'KMS.2501');
  expectError(await d.kms(R, 'revoke-grant', { key_id: other, grant_id: id }), 400, 'KMS.2502');
  expectError(await d.kms(R, 'retire-grant', { key_id: other, grant_id: id }), 400, 'KMS.2502');
  expectError(await d.kms(R, 'revoke-grant', { key_id: key, grant_id: 'xyz' }), 400, 'KMS.2501');
  expectError(await d.kms(R, 'revoke-grant', { key_id: UNKNOWN_KEY, grant_id: id }), 404, 'KMS.0207');
  // The grantee and its retiring principal may retire, not revoke.
  expectError(await kms(alice.creds, 'revoke-grant', { key_id: key, grant_id: id }), 403, 'KMS.0306');
  ok(await kms(alice.creds, 'encrypt-data', { key_id: key, plain_text: 'still granted' }));
});

test('list-grants pages with marker, next_marker and truncated; limit and marker as numbers, strings or empty strings', async () => {
  const key = await newKey();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await grant(key, alice.id, ['encrypt-data'], { name: `g${i}` }));
  const seen: string[] = [];
  let marker = '';
  for (;;) {
    const page = ok(await d.kms(R, 'list-grants', { key_id: key, limit: '2', marker }));
    assert.equal(page.total, 5);
    seen.push(...page.grants.map((g: { grant_id: string }) => g.grant_id));
    assert.equal(page.truncated, page.next_marker === '' ? 'false' : 'true');
    if (page.next_marker === '') break;
    marker = page.next_marker;
  }
  assert.deepEqual(seen, ids, 'oldest first, every grant once');
  assert.equal(ok(await d.kms(R, 'list-grants', { key_id: key, limit: 1000 })).grants.length, 5, 'Terraform sends limit 1000 as a number');
  assert.equal(ok(await d.kms(R, 'list-grants', { key_id: key, limit: '', marker: '' })).grants.length, 5);
  expectError(await d.kms(R, 'list-grants', { key_id: key, limit: '0' }), 400, 'KMS.1601');
  expectError(await d.kms(R, 'list-grants', { key_id: key, limit: 'ten' }), 400, 'KMS.1601');
  expectError(await d.kms(R, 'list-grants', { key_id: key, marker: '-1' }), 400, 'KMS.1602');
  expectError(await d.kms(R, 'list-grants', { key_id: UNKNOWN_KEY }), 404, 'KMS.0207');
  expectError(await d.kms(R, 'list-grants', {}), 400, 'KMS.0204');
  const retirable = ok(await d.kms(R, 'list-retirable-grants', { limit: '1' }));
  assert.deepEqual(Object.keys(retirable).sort(), ['grants', 'next_marker', 'total', 'truncated']);
  expectError(await d.kms(R, 'list-retirable-grants', { limit: '1001' }), 400, 'KMS.1601');
});

test('a disabled key refuses its grantees as it refuses everyone (KMS.0209); the key\'s grants go with the key', async () => {
  const key = await newKey();
  await grant(key, alice.id, ['encrypt-data']);
  ok(await d.kms(R, 'disable-key', { key_id: key }));
  expectError(await kms(alice.creds, 'encrypt-data', { key_id: key, plain_text: 'x' }), 400, 'KMS.0209');
  ok(await d.kms(R, 'enable-key', { key_id: key }));
  ok(await kms(alice.creds, 'encrypt-data', { key_id: key, plain_text: 'x' }));
});

test('a grantee of another account whose user is disabled there is refused with its token (APIGW.0301)', async () => {
  const key = await newKey();
  const { iam, close } = await openIam(iamDir(d.dir), { store: d.deployment.store });
  let userId: string;
  try {
    userId = (await iam.directory.createUser(partner.domainId, { name: 'pat-2', password: 'pat-2-Passw0rd' })).id;
  } finally {
    await close();
  }
  await grant(key, partner.domainId, ['encrypt-data'], { grantee_principal_type: 'domain' });
  const t = await passwordToken(d.iamUrl, { domain: partner.domain, name: 'pat-2', password: 'pat-2-Passw0rd' }, { project: { id: partner.projectId } });
  assert.equal(t.status, 201, JSON.stringify(t.body));
  const encrypt = () => tokenRequest(d.endpoint(R), t.headers.get('x-subject-token')!, 'POST', `/v1.0/${P}/kms/encrypt-data`, { key_id: key, plain_text: 'x' });
  ok(await encrypt());
  const again = await openIam(iamDir(d.dir), { store: d.deployment.store });
  try {
    await again.iam.directory.updateUser(partner.domainId, userId, { enabled: false });
  } finally {
    await again.close();
  }
  let last: Reply = await encrypt();
  for (let i = 0; i < 40 && last.status === 200; i++) {
    await new Promise((r) => setTimeout(r, 50)); // the change reaches the region through IAM's feed
    last = await encrypt();
  }
  expectError(last, 401, 'APIGW.0301');
});

test('a policy restricts create-grant by kms:GrantOperations and kms:GranteePrincipal', async () => {
  const api = iamApi(d);
  const key = await newKey();
  const policy = await api.createPolicy('grant-encrypt-only', {
    Version: '1.1',
    Statement: [{
      Effect: 'Allow', Action: ['kms:grant:create'],
      Condition: { 'ForAllValues:StringEquals': { 'kms:GrantOperations': ['encrypt-data', 'describe-key'] }, StringEquals: { 'kms:GranteePrincipal': [alice.id] } },
    }],
  });
  const granter = await api.userWith('grant-granter', [policy], { project: P });
  const create = (grantee: string, operations: string[]) => kms(granter.creds, 'create-grant', { key_id: key, grantee_principal: grantee, operations });
  let r = await create(alice.id, ['encrypt-data']);
  for (let i = 0; i < 40 && r.status !== 200; i++) {
    await new Promise((res) => setTimeout(res, 50));
    r = await create(alice.id, ['encrypt-data']);
  }
  assert.equal(r.status, 200, JSON.stringify(r.body));
  expectError(await create(alice.id, ['encrypt-data', 'decrypt-data']), 403, 'KMS.0306');
  expectError(await create(bob.id, ['encrypt-data']), 403, 'KMS.0306');
  expectError(await create(partner.domainId, ['encrypt-data']), 403, 'KMS.0306');
});

test('another account learns nothing of this project: the same refusal as for a project that does not exist; another region\'s token is refused; retirable grants are listed in its own project', async () => {
  const key = await newKey();
  const missing = 'f'.repeat(32);
  const bySig = (project: string, op: string, body: object) => signedRequest(d.endpoint(R), partner.creds, project, 'POST', `/v1.0/${project}/kms/${op}`, body);
  const here = await bySig(P, 'list-keys', {});
  const nowhere = await bySig(missing, 'list-keys', {});
  expectError(here, 403, 'KMS.0306');
  expectError(nowhere, 403, 'KMS.0306');
  assert.equal(here.body.error.error_msg, nowhere.body.error.error_msg);
  const t = await passwordToken(d.iamUrl, { domain: partner.domain, name: partner.name, password: partner.password }, { project: { id: partner.projectId } });
  const tok = t.headers.get('x-subject-token')!;
  const tHere = await tokenRequest(d.endpoint(R), tok, 'POST', `/v1.0/${P}/kms/list-keys`, {});
  const tNowhere = await tokenRequest(d.endpoint(R), tok, 'POST', `/v1.0/${missing}/kms/list-keys`, {});
  expectError(tHere, 403, 'KMS.0321');
  expectError(tNowhere, 403, 'KMS.0321');
  assert.equal(tHere.body.error.error_msg, tNowhere.body.error.error_msg);
  // A grant lets a token of the partner's project in this region in, not one of another region.
  await grant(key, partner.userId, ['encrypt-data'], { retiring_principal: partner.userId });
  const { iam, close } = await openIam(iamDir(d.dir), { store: d.deployment.store });
  const southProject = await iam.createProject(partner.domainId, 'cn-south-1', 'cn-south-1').then((p) => p.id).finally(close);
  const south = await passwordToken(d.iamUrl, { domain: partner.domain, name: partner.name, password: partner.password }, { project: { id: southProject } });
  assert.equal(south.status, 201, JSON.stringify(south.body));
  expectError(await tokenRequest(d.endpoint(R), south.headers.get('x-subject-token')!, 'POST', `/v1.0/${P}/kms/encrypt-data`, { key_id: key, plain_text: 'x' }), 403, 'KMS.0321');
  ok(await tokenRequest(d.endpoint(R), tok, 'POST', `/v1.0/${P}/kms/encrypt-data`, { key_id: key, plain_text: 'x' }));
  // Retirable grants: not in this project, in the partner's own.
  expectError(await bySig(P, 'list-retirable-grants', {}), 403, 'KMS.0306');
  const own = ok(await bySig(partner.projectId, 'list-retirable-grants', {}));
  assert.ok(own.grants.some((g: { key_id: string }) => g.key_id === key));
  // A grant id of this account's key, revoked by the partner on a key of its own: as if it did not exist.
  const partnerKey = ok(await bySig(partner.projectId, 'create-key', { key_alias: `partner-${randomUUID().slice(0, 8)}` })).key_info.key_id;
  const aGrant = ok(await d.kms(R, 'list-grants', { key_id: key })).grants[0].grant_id;
  expectError(await bySig(partner.projectId, 'revoke-grant', { key_id: partnerKey, grant_id: aGrant }), 400, 'KMS.2501');
});

test('create-grant takes an empty name and retiring_principal as none, as list-grants answers them', async () => {
  const key = await newKey();
  await grant(key, alice.id, ['encrypt-data'], { name: '', retiring_principal: '' });
  const [g] = ok(await d.kms(R, 'list-grants', { key_id: key })).grants;
  assert.equal(g.name, '');
  assert.equal(g.retiring_principal, '');
});

test('the audit record of a call a grant allowed names the grant; a call the policies allowed names none', async () => {
  const key = await newKey();
  const id = await grant(key, alice.id, ['encrypt-data']);
  ok(await kms(alice.creds, 'encrypt-data', { key_id: key, plain_text: 'audited' }));
  ok(await d.kms(R, 'encrypt-data', { key_id: key, plain_text: 'by the administrator' }));
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'export', '--region', R, '--data-dir', d.dir, '--key-id', key], { encoding: 'utf8' });
  const records = out.trim().split('\n').slice(1).map((l) => JSON.parse(l) as { operation: string; caller: { user_id: string }; grant_ids?: string[] });
  const encrypts = records.filter((r) => r.operation === 'EncryptData');
  assert.deepEqual(encrypts.map((r) => [r.caller.user_id === alice.id ? 'alice' : 'admin', r.grant_ids ?? null]), [['alice', [id]], ['admin', null]]);
});
