/**
 * Key lifecycle (docs/reference/huawei-kms-api.md §4 A, §8.2): create, describe, list, enable, disable, schedule and
 * cancel deletion, alias and description, destruction of due keys, and the HTTP-level errors every operation shares.
 * Every error case asserts the exact HTTP status and `KMS.xxxx` code.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { expectError, KEY_ID, signedRequest, startTestDeployment, tokenRequest, type Reply, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
/** A region no other test in this file creates keys in, so list-keys counts are exact. */
const LIST_R = 'cn-east-3';
const DAY_MS = 86_400_000;
const UNKNOWN_KEY = '00000000-0000-4000-8000-000000000000';

const KEY_DETAILS_FIELDS = [
  'creation_date', 'default_key_flag', 'domain_id', 'expiration_time', 'key_alias', 'key_description', 'key_id',
  'key_rotation_enabled', 'key_spec', 'key_state', 'key_type', 'key_usage', 'keystore_id', 'keystore_type',
  'multi_region_key_type', 'origin', 'pending_days', 'realm', 'scheduled_deletion_date', 'sys_enterprise_project_id',
];

let d: TestDeployment;
before(async () => (d = await startTestDeployment()));
after(() => d.stop());

let aliasCounter = 0;
const uniqueAlias = (prefix = 'lc') => `${prefix}-${++aliasCounter}-${randomUUID().slice(0, 8)}`;

/** Asserts a 200 and returns the body. */
function ok(reply: Reply): any {
  assert.equal(reply.status, 200, `expected 200, got ${reply.status} ${JSON.stringify(reply.body)}`);
  assert.ok(reply.headers.get('x-request-id'), 'the success response has no X-Request-Id');
  return reply.body;
}

async function createKey(body: Record<string, unknown> = {}, region = R): Promise<string> {
  const reply = await d.kms(region, 'create-key', { key_alias: uniqueAlias(), ...body });
  const id = ok(reply).key_info.key_id as string;
  assert.match(id, KEY_ID);
  return id;
}

async function describe(keyId: string, region = R): Promise<Record<string, string>> {
  return ok(await d.kms(region, 'describe-key', { key_id: keyId })).key_info;
}

const kmsPath = (region: string, op: string) => `/v1.0/${d.projectId(region)}/kms/${op}`;

async function viaToken(region: string, op: string, body: object | string, method = 'POST'): Promise<Reply> {
  return tokenRequest(d.endpoint(region), await d.token(region), method, kmsPath(region, op), body);
}

// ---------------------------------------------------------------------------------------------------------------
// create-key

test('create-key: default spec is AES_256 / ENCRYPT_DECRYPT / kms origin, enabled, response is key_info{key_id,domain_id,region_id}', async () => {
  const alias = uniqueAlias('default');
  const body = ok(await d.kms(R, 'create-key', { key_alias: alias }));
  assert.deepEqual(Object.keys(body), ['key_info']);
  assert.deepEqual(Object.keys(body.key_info).sort(), ['domain_id', 'key_id', 'region_id']);
  assert.match(body.key_info.key_id, KEY_ID);
  assert.equal(body.key_info.domain_id, d.boot.domain_id);
  assert.equal(body.key_info.region_id, R);

  const info = await describe(body.key_info.key_id);
  assert.equal(info.key_id, body.key_info.key_id);
  assert.equal(info.key_alias, alias);
  assert.equal(info.key_spec, 'AES_256');
  assert.equal(info.key_usage, 'ENCRYPT_DECRYPT');
  assert.equal(info.origin, 'kms');
  assert.equal(info.key_state, '2');
  assert.equal(info.key_description, '');
  assert.equal(info.keystore_id, '0');
  assert.equal(info.sys_enterprise_project_id, '0');
});

test('create-key: SM4 with key_usage and key_description', async () => {
  const id = await createKey({ key_spec: 'SM4', key_usage: 'ENCRYPT_DECRYPT', key_description: 'an SM4 key' });
  const info = await describe(id);
  assert.equal(info.key_spec, 'SM4');
  assert.equal(info.key_usage, 'ENCRYPT_DECRYPT');
  assert.equal(info.key_description, 'an SM4 key');
  assert.equal(info.key_type, '1');
  assert.equal(info.key_state, '2');
  // the key works
  const enc = ok(await d.kms(R, 'encrypt-data', { key_id: id, plain_text: 'sm4 data' }));
  assert.equal(ok(await d.kms(R, 'decrypt-data', { cipher_text: enc.cipher_text })).plain_text, 'sm4 data');
});

test('create-key: explicit defaults (AES_256, origin kms, keystore_id "0", enterprise_project_id, sequence) are accepted', async () => {
  const id = await createKey({ key_spec: 'AES_256', key_usage: 'ENCRYPT_DECRYPT', origin: 'kms', keystore_id: '0', enterprise_project_id: '0', sequence: randomUUID() });
  const info = await describe(id);
  assert.equal(info.key_spec, 'AES_256');
  assert.equal(info.origin, 'kms');
  assert.equal(info.keystore_id, '0');
  assert.equal(info.key_state, '2');
});

test('create-key: origin external starts in state "5" (pending import)', async () => {
  const id = await createKey({ origin: 'external' });
  const info = await describe(id);
  assert.equal(info.origin, 'external');
  assert.equal(info.key_state, '5');
  assert.equal(info.key_spec, 'AES_256');
});

test('create-key: alias edge cases that are valid (255 chars, every allowed punctuation)', async () => {
  const long = 'a'.repeat(250) + randomUUID().slice(0, 5);
  assert.equal(long.length, 255);
  const id1 = await createKey({ key_alias: long });
  assert.equal((await describe(id1)).key_alias, long);
  const punct = `A:z/0_9-${randomUUID().slice(0, 8)}`;
  const id2 = await createKey({ key_alias: punct });
  assert.equal((await describe(id2)).key_alias, punct);
  const defaultInside = `x/default-not-suffix-${randomUUID().slice(0, 8)}`;
  const id3 = await createKey({ key_alias: defaultInside });
  const info3 = await describe(id3);
  assert.equal(info3.key_alias, defaultInside);
  assert.equal(info3.default_key_flag, '0');
});

test('create-key: missing or null key_alias -> 400 KMS.0204', async () => {
  expectError(await d.kms(R, 'create-key', {}), 400, 'KMS.0204');
  expectError(await d.kms(R, 'create-key', { key_spec: 'AES_256' }), 400, 'KMS.0204');
  expectError(await d.kms(R, 'create-key', { key_alias: null }), 400, 'KMS.0204');
});

test('create-key: invalid key_alias -> 400 KMS.1101', async () => {
  for (const alias of ['', 'has space', 'bad*char', 'ключ', 'a'.repeat(256), 'tab\there', 'dot.ted']) {
    expectError(await d.kms(R, 'create-key', { key_alias: alias }), 400, 'KMS.1101');
  }
});

test('create-key: alias ending in /default is reserved -> 400 KMS.1101', async () => {
  expectError(await d.kms(R, 'create-key', { key_alias: 'obs/default' }), 400, 'KMS.1101');
  expectError(await d.kms(R, 'create-key', { key_alias: `${uniqueAlias()}/default` }), 400, 'KMS.1101');
});

test('create-key: duplicate alias -> 400 KMS.1104 (also when the holder is disabled)', async () => {
  const alias = uniqueAlias('dup');
  const id = await createKey({ key_alias: alias });
  expectError(await d.kms(R, 'create-key', { key_alias: alias }), 400, 'KMS.1104');
  expectError(await d.kms(R, 'create-key', { key_alias: alias, key_spec: 'SM4' }), 400, 'KMS.1104');
  ok(await d.kms(R, 'disable-key', { key_id: id }));
  expectError(await d.kms(R, 'create-key', { key_alias: alias }), 400, 'KMS.1104');
});

test('create-key: key_description up to 255 characters is accepted, 256 -> 400 KMS.1103', async () => {
  const max = 'd'.repeat(255);
  assert.equal((await describe(await createKey({ key_description: max }))).key_description, max);
  // the limit is characters, not bytes
  const wide = 'é'.repeat(255);
  assert.equal((await describe(await createKey({ key_description: wide }))).key_description, wide);
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), key_description: 'd'.repeat(256) }), 400, 'KMS.1103');
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), key_description: 'é'.repeat(256) }), 400, 'KMS.1103');
});

test('create-key: unknown key_spec -> 400 KMS.0308', async () => {
  for (const spec of ['AES_512', 'aes_256', 'NOPE', '', 'ALL']) {
    expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), key_spec: spec }), 400, 'KMS.0308');
  }
});

test('create-key: key_usage not allowed for the spec -> 400 KMS.0308', async () => {
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), key_usage: 'SIGN_VERIFY' }), 400, 'KMS.0308');
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), key_spec: 'SM4', key_usage: 'GENERATE_VERIFY_MAC' }), 400, 'KMS.0308');
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), key_usage: 'BOGUS' }), 400, 'KMS.0308');
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), key_usage: 'encrypt_decrypt' }), 400, 'KMS.0308');
});

test('create-key: bad origin -> 400 KMS.0308', async () => {
  for (const origin of ['hsm', 'KMS', 'EXTERNAL', '']) {
    expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), origin }), 400, 'KMS.0308');
  }
});

test('create-key: keystore_id other than "0" -> 400 KMS.0340', async () => {
  for (const keystore_id of ['1', '2', randomUUID(), '']) {
    expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), keystore_id }), 400, 'KMS.0340');
  }
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), keystore_id: 0 }), 400, 'KMS.0340');
});

test('create-key: fields of the wrong JSON type get the field code', async () => {
  expectError(await d.kms(R, 'create-key', { key_alias: 12345 }), 400, 'KMS.1101');
  expectError(await d.kms(R, 'create-key', { key_alias: ['a'] }), 400, 'KMS.1101');
  expectError(await d.kms(R, 'create-key', { key_alias: { a: 1 } }), 400, 'KMS.1101');
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), key_spec: 256 }), 400, 'KMS.0308');
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), key_usage: true }), 400, 'KMS.0308');
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), key_description: 42 }), 400, 'KMS.1103');
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), origin: 1 }), 400, 'KMS.0308');
  expectError(await d.kms(R, 'create-key', { key_alias: uniqueAlias(), enterprise_project_id: 0 }), 400, 'KMS.0308');
});

test('create-key: a rejected create leaves nothing behind (the alias stays free, no key is counted)', async () => {
  const before = ok(await d.kms(R, 'list-keys', { key_spec: 'ALL' })).total as number;
  const alias = uniqueAlias('ghost');
  expectError(await d.kms(R, 'create-key', { key_alias: alias, key_spec: 'ED25519', key_usage: 'ENCRYPT_DECRYPT' }), 400, 'KMS.0308');
  expectError(await d.kms(R, 'create-key', { key_alias: alias, keystore_id: '7' }), 400, 'KMS.0340');
  expectError(await d.kms(R, 'create-key', { key_alias: alias, key_description: 'x'.repeat(300) }), 400, 'KMS.1103');
  assert.equal(ok(await d.kms(R, 'list-keys', { key_spec: 'ALL' })).total, before);
  const id = await createKey({ key_alias: alias });
  assert.equal((await describe(id)).key_alias, alias);
  assert.equal(ok(await d.kms(R, 'list-keys', { key_spec: 'ALL' })).total, before + 1);
});

test('create-key via an IAM token works like the signed call', async () => {
  const alias = uniqueAlias('token');
  const reply = await viaToken(R, 'create-key', { key_alias: alias, key_spec: 'SM4' });
  const body = ok(reply);
  assert.equal(body.key_info.domain_id, d.boot.domain_id);
  assert.equal(body.key_info.region_id, R);
  const described = ok(await viaToken(R, 'describe-key', { key_id: body.key_info.key_id }));
  assert.equal(described.key_info.key_alias, alias);
  assert.equal(described.key_info.key_spec, 'SM4');
  expectError(await viaToken(R, 'create-key', { key_alias: alias }), 400, 'KMS.1104');
});

test('create-key: quota exceeded -> 400 KMS.1105; the quota is per project and counts keys pending deletion', async () => {
  const q = await startTestDeployment({ keyQuota: 2, regions: ['cn-north-4', 'cn-south-1'] });
  try {
    const first = ok(await q.kms('cn-north-4', 'create-key', { key_alias: 'q1' })).key_info.key_id;
    ok(await q.kms('cn-north-4', 'create-key', { key_alias: 'q2', origin: 'external' }));
    expectError(await q.kms('cn-north-4', 'create-key', { key_alias: 'q3' }), 400, 'KMS.1105');
    expectError(await q.kms('cn-north-4', 'create-key', { key_alias: 'q3', key_spec: 'SM4' }), 400, 'KMS.1105');
    // a key waiting for deletion still exists
    ok(await q.kms('cn-north-4', 'schedule-key-deletion', { key_id: first, pending_days: '7' }));
    expectError(await q.kms('cn-north-4', 'create-key', { key_alias: 'q3' }), 400, 'KMS.1105');
    // nothing was created by the refused calls
    assert.equal(ok(await q.kms('cn-north-4', 'list-keys', { key_spec: 'ALL' })).total, 2);
    // another region's project has its own quota
    ok(await q.kms('cn-south-1', 'create-key', { key_alias: 'q3' }));
  } finally {
    await q.stop();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// describe-key

test('describe-key: every KeyDetails field, as strings of the documented form', async () => {
  const alias = uniqueAlias('desc');
  const t0 = Date.now();
  const id = await createKey({ key_alias: alias, key_description: 'described' });
  const t1 = Date.now();
  const body = ok(await d.kms(R, 'describe-key', { key_id: id }));
  assert.deepEqual(Object.keys(body), ['key_info']);
  const info = body.key_info;
  assert.deepEqual(Object.keys(info).sort(), KEY_DETAILS_FIELDS);
  for (const f of KEY_DETAILS_FIELDS) assert.equal(typeof info[f], 'string', `${f} must be a string`);
  assert.equal(info.key_id, id);
  assert.equal(info.domain_id, d.boot.domain_id);
  assert.equal(info.key_alias, alias);
  assert.equal(info.realm, R);
  assert.equal(info.key_spec, 'AES_256');
  assert.equal(info.key_usage, 'ENCRYPT_DECRYPT');
  assert.equal(info.key_description, 'described');
  assert.match(info.creation_date, /^\d{13}$/, 'creation_date is epoch milliseconds');
  const created = Number(info.creation_date);
  assert.ok(created >= t0 && created <= t1, `creation_date ${created} not within [${t0}, ${t1}]`);
  assert.equal(info.scheduled_deletion_date, '');
  assert.equal(info.key_state, '2');
  assert.equal(info.default_key_flag, '0');
  assert.equal(info.key_type, '1');
  assert.equal(info.expiration_time, '');
  assert.equal(info.origin, 'kms');
  assert.equal(info.key_rotation_enabled, 'false');
  assert.equal(info.sys_enterprise_project_id, '0');
  assert.equal(info.keystore_id, '0');
  // Fields every real key carries (docs/reference/observed-huawei-answers.md).
  assert.equal(info.keystore_type, 'DEFAULT');
  assert.equal(info.multi_region_key_type, 'SINGLE');
  assert.equal(info.pending_days, '');
});

test('describe-key: missing key_id -> 400 KMS.0204', async () => {
  expectError(await d.kms(R, 'describe-key', {}), 400, 'KMS.0204');
  expectError(await d.kms(R, 'describe-key', { key_id: null }), 400, 'KMS.0204');
});

test('describe-key: malformed key_id -> 400 KMS.0205', async () => {
  for (const keyId of ['', 'not-a-key', '00000000-0000-4000-8000-00000000000', '00000000-0000-4000-8000-0000000000000', '00000000_0000_4000_8000_000000000000', 'AAAAAAAA-0000-4000-8000-000000000000']) {
    expectError(await d.kms(R, 'describe-key', { key_id: keyId }), 400, 'KMS.0205');
  }
  expectError(await d.kms(R, 'describe-key', { key_id: 12345 }), 400, 'KMS.0205');
});

test('describe-key: unknown key -> 404 KMS.0207; keys of another project are invisible', async () => {
  expectError(await d.kms(R, 'describe-key', { key_id: UNKNOWN_KEY }), 404, 'KMS.0207');
  expectError(await d.kms(R, 'describe-key', { key_id: randomUUID() }), 404, 'KMS.0207');
  const id = await createKey();
  expectError(await d.kms('cn-south-1', 'describe-key', { key_id: id }), 404, 'KMS.0207');
});

// ---------------------------------------------------------------------------------------------------------------
// list-keys (in LIST_R, where nothing else creates keys)

const listed: { aes: string[]; sm4: string[]; external: string; disabled: string } = { aes: [], sm4: [], external: '', disabled: '' };

test('list-keys: an empty project lists nothing', async () => {
  const body = ok(await d.kms(LIST_R, 'list-keys', {}));
  assert.deepEqual(body, { keys: [], key_details: [], next_marker: '', truncated: 'false', total: 0 });
});

test('list-keys: the default key_spec filter is AES_256; key_spec ALL lists every key', async () => {
  for (let i = 0; i < 3; i++) listed.aes.push(await createKey({}, LIST_R));
  for (let i = 0; i < 2; i++) listed.sm4.push(await createKey({ key_spec: 'SM4' }, LIST_R));
  listed.external = await createKey({ origin: 'external' }, LIST_R);
  listed.disabled = listed.aes[1]!;
  ok(await d.kms(LIST_R, 'disable-key', { key_id: listed.disabled }));
  const allAes = [...listed.aes, listed.external];

  const byDefault = ok(await d.kms(LIST_R, 'list-keys', {}));
  assert.deepEqual([...byDefault.keys].sort(), [...allAes].sort());
  assert.equal(byDefault.total, 4);
  assert.equal(byDefault.next_marker, '');
  assert.equal(byDefault.truncated, 'false');
  assert.deepEqual(byDefault.key_details.map((k: { key_id: string }) => k.key_id), byDefault.keys);
  for (const k of byDefault.key_details) {
    assert.equal(k.key_spec, 'AES_256');
    assert.deepEqual(Object.keys(k).sort(), KEY_DETAILS_FIELDS);
  }

  const aesExplicit = ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'AES_256' }));
  assert.deepEqual(aesExplicit.keys, byDefault.keys);

  const all = ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'ALL' }));
  assert.equal(all.total, 6);
  assert.deepEqual([...all.keys].sort(), [...allAes, ...listed.sm4].sort());

  const sm4 = ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'SM4' }));
  assert.equal(sm4.total, 2);
  assert.deepEqual([...sm4.keys].sort(), [...listed.sm4].sort());

  // a documented spec that no key has
  assert.deepEqual(ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'RSA_2048' })), { keys: [], key_details: [], next_marker: '', truncated: 'false', total: 0 });
});

test('list-keys: key_state filter', async () => {
  const disabled = ok(await d.kms(LIST_R, 'list-keys', { key_state: '3', key_spec: 'ALL' }));
  assert.deepEqual(disabled.keys, [listed.disabled]);
  assert.equal(disabled.total, 1);
  assert.equal(disabled.key_details[0].key_state, '3');

  const pendingImport = ok(await d.kms(LIST_R, 'list-keys', { key_state: '5' }));
  assert.deepEqual(pendingImport.keys, [listed.external]);

  const enabledAes = ok(await d.kms(LIST_R, 'list-keys', { key_state: '2' }));
  assert.deepEqual([...enabledAes.keys].sort(), [listed.aes[0], listed.aes[2]].sort());
  assert.equal(enabledAes.total, 2);

  const enabledAll = ok(await d.kms(LIST_R, 'list-keys', { key_state: '2', key_spec: 'ALL' }));
  assert.equal(enabledAll.total, 4);

  const pendingDeletion = ok(await d.kms(LIST_R, 'list-keys', { key_state: '4', key_spec: 'ALL' }));
  assert.deepEqual(pendingDeletion, { keys: [], key_details: [], next_marker: '', truncated: 'false', total: 0 });
});

test('list-keys: paging with limit/marker until next_marker is "" and truncated "false"', async () => {
  const seen: string[] = [];
  let marker: string | undefined;
  const pages: number[] = [];
  for (let i = 0; i < 10; i++) {
    const page = ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'ALL', limit: '4', ...(marker === undefined ? {} : { marker }) }));
    assert.equal(page.total, 6);
    pages.push(page.keys.length);
    seen.push(...page.keys);
    assert.deepEqual(page.key_details.map((k: { key_id: string }) => k.key_id), page.keys);
    if (page.next_marker === '') {
      assert.equal(page.truncated, 'false');
      break;
    }
    assert.equal(page.truncated, 'true');
    assert.equal(page.next_marker, String(6 - seen.length), 'the number of keys older than the page');
    marker = page.next_marker;
  }
  assert.deepEqual(pages, [4, 2]);
  // Newest first, as the real service lists.
  const created = await Promise.all(seen.map(async (id) => Number(ok(await d.kms(LIST_R, 'describe-key', { key_id: id })).key_info.creation_date)));
  assert.deepEqual(created, [...created].sort((a, b) => b - a));
  assert.equal(new Set(seen).size, 6);
  assert.deepEqual([...seen].sort(), [...listed.aes, ...listed.sm4, listed.external].sort());

  // the same walk one key at a time, with numbers instead of strings, gives the same order
  const single: string[] = [];
  for (let m: number | undefined; ; ) {
    const page = ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'ALL', limit: 1, ...(m === undefined ? {} : { marker: m }) }));
    single.push(...page.keys);
    if (page.next_marker === '') break;
    m = Number(page.next_marker);
    assert.ok(single.length <= 6);
  }
  assert.deepEqual(single, seen);

  // a limit that exactly fits leaves nothing to page
  const exact = ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'ALL', limit: '6' }));
  assert.equal(exact.keys.length, 6);
  assert.equal(exact.next_marker, '');
  assert.equal(exact.truncated, 'false');

  const maxLimit = ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'ALL', limit: '2000' }));
  assert.equal(maxLimit.keys.length, 6);

  // marker 0: no key is older than that: an empty last page
  const beyond = ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'ALL', marker: '0' }));
  assert.deepEqual(beyond, { keys: [], key_details: [], next_marker: '', truncated: 'false', total: 6 });
  // a marker larger than the number of keys starts from the newest
  assert.deepEqual(ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'ALL', marker: '100', limit: '2' })).keys, seen.slice(0, 2));
});

test('list-keys: a key created while a client pages through the list neither repeats nor hides a key', async () => {
  const first = ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'ALL', limit: '3' }));
  const extra = await createKey({}, LIST_R);
  const rest: string[] = [];
  for (let marker = first.next_marker as string; marker !== ''; ) {
    const page = ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'ALL', limit: '2', marker }));
    rest.push(...page.keys);
    marker = page.next_marker;
  }
  const walked = [...first.keys, ...rest];
  assert.equal(new Set(walked).size, walked.length, 'no key twice');
  assert.equal(walked.length, 6, 'every key that existed when the walk began');
  assert.ok(!walked.includes(extra), 'the new key is on the first page of a new walk');
  assert.equal(ok(await d.kms(LIST_R, 'list-keys', { key_spec: 'ALL', limit: '1' })).keys[0], extra);
  ok(await d.kms(LIST_R, 'schedule-key-deletion', { key_id: extra, pending_days: '7' }));
  const pending = ok(await d.kms(LIST_R, 'describe-key', { key_id: extra })).key_info;
  assert.deepEqual([pending.key_state, pending.pending_days], ['4', '7'], 'pending_days while deletion is pending');
});

test('list-keys: invalid limit -> 400 KMS.1601', async () => {
  for (const limit of ['0', '2001', 'abc', '-1', '1.5', '', 0, 2001, true]) {
    expectError(await d.kms(LIST_R, 'list-keys', { limit }), 400, 'KMS.1601');
  }
});

test('list-keys: invalid marker -> 400 KMS.1602', async () => {
  for (const marker of ['-1', 'abc', '1.5', -1]) {
    expectError(await d.kms(LIST_R, 'list-keys', { marker }), 400, 'KMS.1602');
  }
});

test('list-keys: invalid key_state or key_spec filter -> 400 KMS.0308', async () => {
  for (const key_state of ['9', '0', '7', '22', 'enabled', 2]) {
    expectError(await d.kms(LIST_R, 'list-keys', { key_state }), 400, 'KMS.0308');
  }
  for (const key_spec of ['NOPE', 'all', 'aes_256', 3]) {
    expectError(await d.kms(LIST_R, 'list-keys', { key_spec }), 400, 'KMS.0308');
  }
});

// ---------------------------------------------------------------------------------------------------------------
// enable-key / disable-key

test('disable-key and enable-key: state transitions and the key_info{key_id,key_state} shape', async () => {
  const id = await createKey();
  assert.deepEqual(ok(await d.kms(R, 'disable-key', { key_id: id })), { key_info: { key_id: id, key_state: '3' } });
  assert.equal((await describe(id)).key_state, '3');
  assert.deepEqual(ok(await d.kms(R, 'enable-key', { key_id: id })), { key_info: { key_id: id, key_state: '2' } });
  assert.equal((await describe(id)).key_state, '2');
  // and once more, via IAM tokens
  assert.deepEqual(ok(await viaToken(R, 'disable-key', { key_id: id })), { key_info: { key_id: id, key_state: '3' } });
  assert.deepEqual(ok(await viaToken(R, 'enable-key', { key_id: id })), { key_info: { key_id: id, key_state: '2' } });
});

test('enable-key on a key that is not disabled -> 400 KMS.1201', async () => {
  const id = await createKey();
  expectError(await d.kms(R, 'enable-key', { key_id: id }), 400, 'KMS.1201');
  assert.equal((await describe(id)).key_state, '2');
  const external = await createKey({ origin: 'external' });
  expectError(await d.kms(R, 'enable-key', { key_id: external }), 400, 'KMS.1201');
  assert.equal((await describe(external)).key_state, '5');
  const pending = await createKey();
  ok(await d.kms(R, 'schedule-key-deletion', { key_id: pending, pending_days: '7' }));
  expectError(await d.kms(R, 'enable-key', { key_id: pending }), 400, 'KMS.1201');
  assert.equal((await describe(pending)).key_state, '4');
});

test('disable-key on a key that is not enabled -> 400 KMS.1301', async () => {
  const id = await createKey();
  ok(await d.kms(R, 'disable-key', { key_id: id }));
  expectError(await d.kms(R, 'disable-key', { key_id: id }), 400, 'KMS.1301');
  assert.equal((await describe(id)).key_state, '3');
  const external = await createKey({ origin: 'external' });
  expectError(await d.kms(R, 'disable-key', { key_id: external }), 400, 'KMS.1301');
  const pending = await createKey();
  ok(await d.kms(R, 'schedule-key-deletion', { key_id: pending, pending_days: '7' }));
  expectError(await d.kms(R, 'disable-key', { key_id: pending }), 400, 'KMS.1301');
  assert.equal((await describe(pending)).key_state, '4');
});

test('enable-key / disable-key: key_id errors (KMS.0204, KMS.0205, 404 KMS.0207)', async () => {
  for (const op of ['enable-key', 'disable-key']) {
    expectError(await d.kms(R, op, {}), 400, 'KMS.0204');
    expectError(await d.kms(R, op, { key_id: 'nope' }), 400, 'KMS.0205');
    expectError(await d.kms(R, op, { key_id: UNKNOWN_KEY }), 404, 'KMS.0207');
  }
});

// ---------------------------------------------------------------------------------------------------------------
// schedule-key-deletion / cancel-key-deletion

test('schedule-key-deletion: pending_days "7" gives a flat {key_id,key_state:"4"} and a deletion date 7 days out', async () => {
  const id = await createKey();
  const t0 = Date.now();
  const body = ok(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '7' }));
  const t1 = Date.now();
  assert.deepEqual(body, { key_id: id, key_state: '4' });
  const info = await describe(id);
  assert.equal(info.key_state, '4');
  assert.match(info.scheduled_deletion_date, /^\d{13}$/);
  const date = Number(info.scheduled_deletion_date);
  assert.ok(date >= t0 + 7 * DAY_MS && date <= t1 + 7 * DAY_MS, `scheduled_deletion_date ${date} is not 7 days after [${t0}, ${t1}]`);
  assert.ok(date - Number(info.creation_date) >= 7 * DAY_MS);
});

test('schedule-key-deletion: the bounds 7 and 1096 are accepted, as strings or numbers; a disabled key can be scheduled', async () => {
  const id = await createKey();
  const t0 = Date.now();
  assert.deepEqual(ok(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '1096' })), { key_id: id, key_state: '4' });
  const date = Number((await describe(id)).scheduled_deletion_date);
  assert.ok(date >= t0 + 1096 * DAY_MS && date <= Date.now() + 1096 * DAY_MS);

  const disabled = await createKey();
  ok(await d.kms(R, 'disable-key', { key_id: disabled }));
  assert.deepEqual(ok(await d.kms(R, 'schedule-key-deletion', { key_id: disabled, pending_days: 30 })), { key_id: disabled, key_state: '4' });

  const external = await createKey({ origin: 'external' });
  assert.deepEqual(ok(await d.kms(R, 'schedule-key-deletion', { key_id: external, pending_days: '7' })), { key_id: external, key_state: '4' });
});

test('schedule-key-deletion: pending_days out of range or not an integer -> 400 KMS.1401', async () => {
  const id = await createKey();
  for (const pending_days of ['6', '1097', 'abc', '0', '-7', '7.5', '', '7d', 6, 1097, 7.5, true, ['7']]) {
    expectError(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days }), 400, 'KMS.1401');
  }
  const info = await describe(id);
  assert.equal(info.key_state, '2');
  assert.equal(info.scheduled_deletion_date, '');
});

test('schedule-key-deletion: missing pending_days or key_id -> 400 KMS.0204; bad and unknown key ids', async () => {
  const id = await createKey();
  expectError(await d.kms(R, 'schedule-key-deletion', { key_id: id }), 400, 'KMS.0204');
  expectError(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: null }), 400, 'KMS.0204');
  expectError(await d.kms(R, 'schedule-key-deletion', { pending_days: '7' }), 400, 'KMS.0204');
  expectError(await d.kms(R, 'schedule-key-deletion', { key_id: 'bad', pending_days: '7' }), 400, 'KMS.0205');
  expectError(await d.kms(R, 'schedule-key-deletion', { key_id: UNKNOWN_KEY, pending_days: '7' }), 404, 'KMS.0207');
  assert.equal((await describe(id)).key_state, '2');
});

test('schedule-key-deletion on a key already pending deletion -> 400 KMS.1402, and the date does not move', async () => {
  const id = await createKey();
  ok(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '7' }));
  const before = await describe(id);
  expectError(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '30' }), 400, 'KMS.1402');
  expectError(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '7' }), 400, 'KMS.1402');
  assert.deepEqual(await describe(id), before);
});

test('cancel-key-deletion: back to "3" (disabled) with a flat {key_id,key_state}, deletion date cleared; enable works again', async () => {
  const id = await createKey();
  ok(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '7' }));
  assert.deepEqual(ok(await d.kms(R, 'cancel-key-deletion', { key_id: id })), { key_id: id, key_state: '3' });
  const info = await describe(id);
  assert.equal(info.key_state, '3');
  assert.equal(info.scheduled_deletion_date, '');
  assert.deepEqual(ok(await d.kms(R, 'enable-key', { key_id: id })), { key_info: { key_id: id, key_state: '2' } });
  // a cancelled key can be scheduled again
  assert.deepEqual(ok(await viaToken(R, 'schedule-key-deletion', { key_id: id, pending_days: '8' })), { key_id: id, key_state: '4' });
  assert.deepEqual(ok(await viaToken(R, 'cancel-key-deletion', { key_id: id })), { key_id: id, key_state: '3' });
});

test('cancel-key-deletion of an external key without material returns it to "5" (pending import)', async () => {
  const id = await createKey({ origin: 'external' });
  ok(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '7' }));
  assert.deepEqual(ok(await d.kms(R, 'cancel-key-deletion', { key_id: id })), { key_id: id, key_state: '5' });
  assert.equal((await describe(id)).key_state, '5');
});

test('cancel-key-deletion on a key not pending deletion -> 400 KMS.1501', async () => {
  const id = await createKey();
  expectError(await d.kms(R, 'cancel-key-deletion', { key_id: id }), 400, 'KMS.1501');
  ok(await d.kms(R, 'disable-key', { key_id: id }));
  expectError(await d.kms(R, 'cancel-key-deletion', { key_id: id }), 400, 'KMS.1501');
  assert.equal((await describe(id)).key_state, '3');
  expectError(await d.kms(R, 'cancel-key-deletion', { key_id: await createKey({ origin: 'external' }) }), 400, 'KMS.1501');
  expectError(await d.kms(R, 'cancel-key-deletion', {}), 400, 'KMS.0204');
  expectError(await d.kms(R, 'cancel-key-deletion', { key_id: 'x' }), 400, 'KMS.0205');
  expectError(await d.kms(R, 'cancel-key-deletion', { key_id: UNKNOWN_KEY }), 404, 'KMS.0207');
});

// ---------------------------------------------------------------------------------------------------------------
// update-key-alias / update-key-description

test('update-key-alias: renames the key, answers key_info{key_id,key_alias}, and frees the old alias', async () => {
  const oldAlias = uniqueAlias('old');
  const id = await createKey({ key_alias: oldAlias });
  const newAlias = uniqueAlias('new');
  assert.deepEqual(ok(await d.kms(R, 'update-key-alias', { key_id: id, key_alias: newAlias })), { key_info: { key_id: id, key_alias: newAlias } });
  assert.equal((await describe(id)).key_alias, newAlias);
  expectError(await d.kms(R, 'create-key', { key_alias: newAlias }), 400, 'KMS.1104');
  const other = await createKey({ key_alias: oldAlias });
  assert.equal((await describe(other)).key_alias, oldAlias);
  // disabled and pending-import keys can be renamed
  ok(await d.kms(R, 'disable-key', { key_id: id }));
  const third = uniqueAlias('third');
  assert.deepEqual(ok(await viaToken(R, 'update-key-alias', { key_id: id, key_alias: third })), { key_info: { key_id: id, key_alias: third } });
  const external = await createKey({ origin: 'external' });
  ok(await d.kms(R, 'update-key-alias', { key_id: external, key_alias: uniqueAlias('ext') }));
});

test('update-key-alias: invalid alias or /default suffix -> 400 KMS.1101; missing -> KMS.0204', async () => {
  const id = await createKey();
  const before = await describe(id);
  for (const key_alias of ['', 'has space', 'x'.repeat(256), 'kms/default', `${uniqueAlias()}/default`, 'ü', 123, ['a']]) {
    expectError(await d.kms(R, 'update-key-alias', { key_id: id, key_alias }), 400, 'KMS.1101');
  }
  expectError(await d.kms(R, 'update-key-alias', { key_id: id }), 400, 'KMS.0204');
  expectError(await d.kms(R, 'update-key-alias', { key_alias: uniqueAlias() }), 400, 'KMS.0204');
  expectError(await d.kms(R, 'update-key-alias', { key_id: 'bad', key_alias: uniqueAlias() }), 400, 'KMS.0205');
  expectError(await d.kms(R, 'update-key-alias', { key_id: UNKNOWN_KEY, key_alias: uniqueAlias() }), 404, 'KMS.0207');
  assert.deepEqual(await describe(id), before);
});

test('update-key-alias to an alias another key holds -> 400 KMS.1104, nothing changes', async () => {
  const takenAlias = uniqueAlias('taken');
  const holder = await createKey({ key_alias: takenAlias });
  const id = await createKey();
  const before = await describe(id);
  expectError(await d.kms(R, 'update-key-alias', { key_id: id, key_alias: takenAlias }), 400, 'KMS.1104');
  assert.deepEqual(await describe(id), before);
  assert.equal((await describe(holder)).key_alias, takenAlias);
  // an alias held by a key pending deletion is still taken
  ok(await d.kms(R, 'schedule-key-deletion', { key_id: holder, pending_days: '7' }));
  expectError(await d.kms(R, 'update-key-alias', { key_id: id, key_alias: takenAlias }), 400, 'KMS.1104');
});

test('update-key-alias on a key pending deletion -> 400 KMS.0210', async () => {
  const id = await createKey();
  ok(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '7' }));
  const before = await describe(id);
  expectError(await d.kms(R, 'update-key-alias', { key_id: id, key_alias: uniqueAlias() }), 400, 'KMS.0210');
  assert.deepEqual(await describe(id), before);
});

test('update-key-description: changes the description (also to ""), answers key_info{key_id,key_description}', async () => {
  const id = await createKey({ key_description: 'first' });
  assert.deepEqual(ok(await d.kms(R, 'update-key-description', { key_id: id, key_description: 'second' })), { key_info: { key_id: id, key_description: 'second' } });
  assert.equal((await describe(id)).key_description, 'second');
  const max = 'é'.repeat(255);
  assert.deepEqual(ok(await viaToken(R, 'update-key-description', { key_id: id, key_description: max })), { key_info: { key_id: id, key_description: max } });
  assert.equal((await describe(id)).key_description, max);
  assert.deepEqual(ok(await d.kms(R, 'update-key-description', { key_id: id, key_description: '' })), { key_info: { key_id: id, key_description: '' } });
  assert.equal((await describe(id)).key_description, '');
  // a disabled key's description can change
  ok(await d.kms(R, 'disable-key', { key_id: id }));
  ok(await d.kms(R, 'update-key-description', { key_id: id, key_description: 'disabled now' }));
  assert.equal((await describe(id)).key_description, 'disabled now');
});

test('update-key-description: too long or not a string -> 400 KMS.1103; missing -> KMS.0204; bad key ids', async () => {
  const id = await createKey({ key_description: 'keep me' });
  const before = await describe(id);
  for (const key_description of ['d'.repeat(256), 'é'.repeat(256), 7, false, { a: 1 }]) {
    expectError(await d.kms(R, 'update-key-description', { key_id: id, key_description }), 400, 'KMS.1103');
  }
  expectError(await d.kms(R, 'update-key-description', { key_id: id }), 400, 'KMS.0204');
  expectError(await d.kms(R, 'update-key-description', { key_description: 'x' }), 400, 'KMS.0204');
  expectError(await d.kms(R, 'update-key-description', { key_id: 'bad', key_description: 'x' }), 400, 'KMS.0205');
  expectError(await d.kms(R, 'update-key-description', { key_id: UNKNOWN_KEY, key_description: 'x' }), 404, 'KMS.0207');
  assert.deepEqual(await describe(id), before);
});

test('update-key-description on a key pending deletion -> 400 KMS.0210', async () => {
  const id = await createKey({ key_description: 'before' });
  ok(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '7' }));
  const before = await describe(id);
  expectError(await d.kms(R, 'update-key-description', { key_id: id, key_description: 'after' }), 400, 'KMS.0210');
  expectError(await d.kms(R, 'update-key-description', { key_id: id, key_description: '' }), 400, 'KMS.0210');
  assert.deepEqual(await describe(id), before);
});

// ---------------------------------------------------------------------------------------------------------------
// cross-cutting

test('a sequence of rejected requests changes nothing on the key', async () => {
  const takenAlias = uniqueAlias('held');
  await createKey({ key_alias: takenAlias });
  const id = await createKey({ key_description: 'stable' });
  const before = await describe(id);
  expectError(await d.kms(R, 'update-key-alias', { key_id: id, key_alias: 'bad alias' }), 400, 'KMS.1101');
  expectError(await d.kms(R, 'update-key-alias', { key_id: id, key_alias: takenAlias }), 400, 'KMS.1104');
  expectError(await d.kms(R, 'update-key-description', { key_id: id, key_description: 'x'.repeat(256) }), 400, 'KMS.1103');
  expectError(await d.kms(R, 'enable-key', { key_id: id }), 400, 'KMS.1201');
  expectError(await d.kms(R, 'cancel-key-deletion', { key_id: id }), 400, 'KMS.1501');
  expectError(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '6' }), 400, 'KMS.1401');
  expectError(await d.kms(R, 'update-key-alias', { key_id: id, key_alias: uniqueAlias(), sequence: 'bad' }), 400, 'KMS.0206');
  expectError(await d.kms(R, 'update-key-description', { key_id: id, key_description: 'changed', sequence: 1 }), 400, 'KMS.0206');
  assert.deepEqual(await describe(id), before);
  assert.equal(before.key_state, '2');
  assert.equal(before.key_description, 'stable');
});

test('encrypt-data follows the key state: disabled -> KMS.0209, pending deletion -> KMS.0210', async () => {
  const id = await createKey();
  const cipher = ok(await d.kms(R, 'encrypt-data', { key_id: id, plain_text: 'hello' })).cipher_text as string;

  ok(await d.kms(R, 'disable-key', { key_id: id }));
  expectError(await d.kms(R, 'encrypt-data', { key_id: id, plain_text: 'hello' }), 400, 'KMS.0209');
  expectError(await d.kms(R, 'decrypt-data', { cipher_text: cipher }), 400, 'KMS.0209');

  ok(await d.kms(R, 'enable-key', { key_id: id }));
  assert.equal(ok(await d.kms(R, 'decrypt-data', { cipher_text: cipher })).plain_text, 'hello');

  ok(await d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: '7' }));
  expectError(await d.kms(R, 'encrypt-data', { key_id: id, plain_text: 'hello' }), 400, 'KMS.0210');
  expectError(await d.kms(R, 'decrypt-data', { cipher_text: cipher }), 400, 'KMS.0210');

  ok(await d.kms(R, 'cancel-key-deletion', { key_id: id }));
  expectError(await d.kms(R, 'encrypt-data', { key_id: id, plain_text: 'hello' }), 400, 'KMS.0209');
  ok(await d.kms(R, 'enable-key', { key_id: id }));
  assert.equal(ok(await d.kms(R, 'decrypt-data', { cipher_text: cipher })).plain_text, 'hello');
});

test('keys are destroyed when their deletion date passes, and only then', async () => {
  const t0 = Date.UTC(2031, 0, 15, 12, 0, 0);
  let now = t0;
  const c = await startTestDeployment({ clock: () => now, regions: ['cn-north-4'] });
  try {
    const region = 'cn-north-4';
    const keys = c.regions.get(region)!.api.keys;
    const create = async (alias: string) => ok(await c.kms(region, 'create-key', { key_alias: alias })).key_info.key_id as string;
    const doomed = await create('doomed');
    const later = await create('later');
    const kept = await create('kept');
    const info = ok(await c.kms(region, 'describe-key', { key_id: doomed })).key_info;
    assert.equal(info.creation_date, String(t0));

    const cipher = ok(await c.kms(region, 'encrypt-data', { key_id: doomed, plain_text: 'secret' })).cipher_text as string;
    now = t0 + 1000;
    ok(await c.kms(region, 'schedule-key-deletion', { key_id: doomed, pending_days: '7' }));
    ok(await c.kms(region, 'schedule-key-deletion', { key_id: later, pending_days: '30' }));
    const scheduled = ok(await c.kms(region, 'describe-key', { key_id: doomed })).key_info;
    assert.equal(scheduled.scheduled_deletion_date, String(t0 + 1000 + 7 * DAY_MS));

    assert.deepEqual(await keys.destroyDueKeys(), []);
    now = t0 + 1000 + 7 * DAY_MS - 1; // one millisecond early
    assert.deepEqual(await keys.destroyDueKeys(), []);
    assert.equal(ok(await c.kms(region, 'describe-key', { key_id: doomed })).key_info.key_state, '4');

    now = t0 + 1000 + 7 * DAY_MS; // exactly the deletion date: due
    assert.deepEqual(await keys.destroyDueKeys(), [doomed]);
    now = t0 + 8 * DAY_MS;
    expectError(await c.kms(region, 'describe-key', { key_id: doomed }), 404, 'KMS.0207');
    expectError(await c.kms(region, 'cancel-key-deletion', { key_id: doomed }), 404, 'KMS.0207');
    expectError(await c.kms(region, 'decrypt-data', { cipher_text: cipher }), 404, 'KMS.0207');
    // the key not yet due survives, still pending; the unscheduled key is untouched
    const laterInfo = ok(await c.kms(region, 'describe-key', { key_id: later })).key_info;
    assert.equal(laterInfo.key_state, '4');
    assert.equal(laterInfo.scheduled_deletion_date, String(t0 + 1000 + 30 * DAY_MS));
    assert.equal(ok(await c.kms(region, 'describe-key', { key_id: kept })).key_info.key_state, '2');
    // a second sweep has nothing to do
    assert.deepEqual(await keys.destroyDueKeys(), []);

    const list = ok(await c.kms(region, 'list-keys', { key_spec: 'ALL' }));
    assert.equal(list.total, 2);
    assert.deepEqual([...list.keys].sort(), [later, kept].sort());

    // the alias is free again
    const reborn = await create('doomed');
    assert.notEqual(reborn, doomed);
    const rebornInfo = ok(await c.kms(region, 'describe-key', { key_id: reborn })).key_info;
    assert.equal(rebornInfo.key_alias, 'doomed');
    assert.equal(rebornInfo.creation_date, String(t0 + 8 * DAY_MS));
    // the old ciphertext does not open under the new key of the same alias
    expectError(await c.kms(region, 'decrypt-data', { cipher_text: cipher }), 404, 'KMS.0207');
  } finally {
    await c.stop();
  }
});

test('a cancel-key-deletion racing the destruction sweep is never lost: a key reported cancelled survives', async () => {
  let now = Date.UTC(2031, 5, 1);
  const c = await startTestDeployment({ clock: () => now, regions: ['cn-north-4'] });
  try {
    const region = 'cn-north-4';
    const keys = c.regions.get(region)!.api.keys;
    const ctx = {
      projectId: c.projectId(region), projectName: region, domainId: c.boot.domain_id, region,
      caller: { userId: 'test', userName: 'test', domainId: c.boot.domain_id, domainName: c.boot.domain_name, authMethod: 'token' as const },
    };
    for (let round = 0; round < 2; round++) {
      const id = ok(await c.kms(region, 'create-key', { key_alias: `race-${round}` })).key_info.key_id as string;
      ok(await c.kms(region, 'schedule-key-deletion', { key_id: id, pending_days: '7' }));
      now += 8 * DAY_MS;
      // both orders of the two calls; the core calls interleave on the store's lock
      const cancel = () => keys.cancelDeletion(ctx, id).then((k) => k.state as string, (e: { code: string }) => e.code);
      const [cancelled, destroyed] = round === 0 ? await Promise.all([cancel(), keys.destroyDueKeys()]) : await Promise.all([keys.destroyDueKeys(), cancel()]).then(([a, b]) => [b, a] as const);
      const described = await c.kms(region, 'describe-key', { key_id: id });
      if (cancelled === '3') {
        assert.deepEqual(destroyed, [], 'the sweep destroyed a key whose deletion was cancelled');
        assert.equal(ok(described).key_info.key_state, '3');
      } else {
        assert.equal(cancelled, 'KMS.0207');
        assert.deepEqual(destroyed, [id]);
        expectError(described, 404, 'KMS.0207');
      }
    }
  } finally {
    await c.stop();
  }
});

test('concurrent state changes on one key: exactly one wins, the others get the state error', async () => {
  const id = await createKey();
  const disables = await Promise.all(Array.from({ length: 6 }, () => d.kms(R, 'disable-key', { key_id: id })));
  assert.equal(disables.filter((r) => r.status === 200).length, 1);
  for (const r of disables.filter((x) => x.status !== 200)) expectError(r, 400, 'KMS.1301');
  const schedules = await Promise.all(Array.from({ length: 6 }, (_, i) => d.kms(R, 'schedule-key-deletion', { key_id: id, pending_days: String(7 + i) })));
  assert.equal(schedules.filter((r) => r.status === 200).length, 1);
  for (const r of schedules.filter((x) => x.status !== 200)) expectError(r, 400, 'KMS.1402');
  const alias = uniqueAlias('race');
  const creates = await Promise.all(Array.from({ length: 6 }, () => d.kms(R, 'create-key', { key_alias: alias })));
  assert.equal(creates.filter((r) => r.status === 200).length, 1);
  for (const r of creates.filter((x) => x.status !== 200)) expectError(r, 400, 'KMS.1104');
});

test('the key quota holds under concurrent creates', async () => {
  const q = await startTestDeployment({ keyQuota: 3, regions: ['cn-north-4'] });
  try {
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => q.kms('cn-north-4', 'create-key', { key_alias: `par-${i}` })));
    assert.equal(replies.filter((r) => r.status === 200).length, 3);
    for (const r of replies.filter((x) => x.status !== 200)) expectError(r, 400, 'KMS.1105');
    assert.equal(ok(await q.kms('cn-north-4', 'list-keys', { key_spec: 'ALL' })).total, 3);
  } finally {
    await q.stop();
  }
});

test('unknown path -> 404 APIGW.0101', async () => {
  const token = await d.token(R);
  expectError(await tokenRequest(d.endpoint(R), token, 'POST', kmsPath(R, 'no-such-operation'), {}), 404, 'APIGW.0101');
  expectError(await tokenRequest(d.endpoint(R), token, 'POST', '/v1.0/kms/create-key', {}), 404, 'APIGW.0101');
  expectError(await tokenRequest(d.endpoint(R), token, 'GET', '/nothing/here'), 404, 'APIGW.0101');
  expectError(await d.kms(R, 'describe-keys', { key_id: UNKNOWN_KEY }), 404, 'APIGW.0101');
});

test('a path the router cannot decode -> 400 KMS.0201 in Huawei form, with an X-Request-Id', async () => {
  const token = await d.token(R);
  for (const path of ['/v1.0/%zz/kms/list-keys', `/v1.0/${'a'.repeat(150)}/kms/list-keys`, `/v1.0/${d.projectId(R)}/kms/%E0%A4%A`]) {
    expectError(await tokenRequest(d.endpoint(R), token, 'POST', path, {}), 400, 'KMS.0201');
  }
});

test('GET on a POST-only operation -> 405 KMS.0215', async () => {
  const token = await d.token(R);
  for (const op of ['create-key', 'describe-key', 'list-keys', 'schedule-key-deletion', 'update-key-alias']) {
    expectError(await tokenRequest(d.endpoint(R), token, 'GET', kmsPath(R, op)), 405, 'KMS.0215');
  }
  expectError(await signedRequest(d.endpoint(R), d.admin, d.projectId(R), 'GET', kmsPath(R, 'describe-key')), 405, 'KMS.0215');
  expectError(await tokenRequest(d.endpoint(R), token, 'PUT', kmsPath(R, 'enable-key'), { key_id: UNKNOWN_KEY }), 405, 'KMS.0215');
});

test('malformed JSON and non-object bodies -> 400 KMS.0202', async () => {
  const token = await d.token(R);
  for (const raw of ['{bad', '{"key_alias": "x"', "{'key_alias': 'x'}", '[]', '[{"key_alias":"x"}]', '"key"', '42', 'null', 'true']) {
    expectError(await tokenRequest(d.endpoint(R), token, 'POST', kmsPath(R, 'create-key'), raw), 400, 'KMS.0202');
  }
  expectError(await tokenRequest(d.endpoint(R), token, 'POST', kmsPath(R, 'describe-key'), '{bad'), 400, 'KMS.0202');
});

test('a body over 64 KiB -> 400 KMS.0203', async () => {
  const token = await d.token(R);
  const big = JSON.stringify({ key_alias: uniqueAlias('big'), key_description: 'x'.repeat(64 * 1024) });
  assert.ok(Buffer.byteLength(big) > 64 * 1024);
  expectError(await tokenRequest(d.endpoint(R), token, 'POST', kmsPath(R, 'create-key'), big), 400, 'KMS.0203');
  const bigGarbage = '{' + ' '.repeat(70 * 1024);
  expectError(await tokenRequest(d.endpoint(R), token, 'POST', kmsPath(R, 'list-keys'), bigGarbage), 400, 'KMS.0203');
});

test('invalid sequence -> 400 KMS.0206; a valid one is accepted and ignored', async () => {
  for (const sequence of ['abc', randomUUID().slice(0, 35), randomUUID() + 'a', '919c82d4-8046-4722-9094-35c3c6524ff!', 36, true]) {
    expectError(await d.kms(R, 'list-keys', { sequence }), 400, 'KMS.0206');
  }
  expectError(await viaToken(R, 'describe-key', { key_id: UNKNOWN_KEY, sequence: 'short' }), 400, 'KMS.0206');
  const id = await createKey({ sequence: '919c82d4-8046-4722-9094-35c3c6524cff' });
  assert.equal(ok(await d.kms(R, 'describe-key', { key_id: id, sequence: randomUUID() })).key_info.key_id, id);
});

test('every response, success or error, carries a distinct X-Request-Id', async () => {
  const token = await d.token(R);
  const replies: Reply[] = [
    await d.kms(R, 'create-key', { key_alias: uniqueAlias('rid') }),
    await d.kms(R, 'list-keys', {}),
    await viaToken(R, 'list-keys', {}),
    await d.kms(R, 'describe-key', { key_id: UNKNOWN_KEY }),
    await d.kms(R, 'create-key', {}),
    await tokenRequest(d.endpoint(R), token, 'POST', kmsPath(R, 'nope'), {}),
    await tokenRequest(d.endpoint(R), token, 'GET', kmsPath(R, 'create-key')),
    await tokenRequest(d.endpoint(R), token, 'POST', kmsPath(R, 'create-key'), '{bad'),
    await tokenRequest(d.endpoint(R), token, 'POST', kmsPath(R, 'create-key'), 'x'.repeat(70 * 1024)),
    await tokenRequest(d.endpoint(R), undefined, 'POST', kmsPath(R, 'list-keys'), {}),
  ];
  assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 404, 400, 404, 405, 400, 400, 401]);
  const ids = replies.map((r) => r.headers.get('x-request-id'));
  // 32 lowercase hex characters, as Huawei's (docs/reference/observed-huawei-answers.md).
  for (const id of ids) assert.match(id ?? '', /^[0-9a-f]{32}$/);
  assert.equal(new Set(ids).size, ids.length);
});

test('a key past its deletion date is gone before the sweep runs', async () => {
  let now = Date.now();
  const c = await startTestDeployment({ regions: ['cn-north-4'], clock: () => now });
  try {
    const keyId = (await c.kms('cn-north-4', 'create-key', { key_alias: 'unswept' })).body.key_info.key_id;
    const cipher = (await c.kms('cn-north-4', 'encrypt-data', { key_id: keyId, plain_text: 'x' })).body.cipher_text;
    assert.equal((await c.kms('cn-north-4', 'schedule-key-deletion', { key_id: keyId, pending_days: '7' })).status, 200);
    now += 7 * 86_400_000;
    expectError(await c.kms('cn-north-4', 'describe-key', { key_id: keyId }), 404, 'KMS.0207');
    expectError(await c.kms('cn-north-4', 'cancel-key-deletion', { key_id: keyId }), 404, 'KMS.0207');
    expectError(await c.kms('cn-north-4', 'decrypt-data', { cipher_text: cipher }), 404, 'KMS.0207');
    const listed = await c.kms('cn-north-4', 'list-keys', { key_spec: 'ALL' });
    assert.deepEqual(listed.body.keys, []);
    assert.equal(listed.body.total, 0);
  } finally {
    await c.stop();
  }
});
