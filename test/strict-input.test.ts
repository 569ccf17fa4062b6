/**
 * Strict request bodies (src/api/strict-json.ts, src/api/validation.ts) on EVERY operation of both catalogues that
 * takes a JSON body (the catalogues are iterated, nothing is hand-listed):
 *
 * (a) bytes that are not UTF-8 (Latin-1 é, an overlong sequence, a truncated sequence, an encoded surrogate, 0xFF),
 *     in a field of the operation, in an ignored field and in a field name: 400 KMS.0202 (IAM.0001 on IAM);
 * (b) JSON strings holding a lone surrogate ("\ud800" written as the JSON escape), in a field, in a field name and
 *     deep inside an ignored value: refused the same way;
 * (c) every `x-integer` field of a body schema (found by walking it): padded, signed, decimal, exponent and empty
 *     digit strings are refused with the field's `x-error-code`, a plain digit string in range is accepted.
 *
 * Every refusal is shown to change nothing (list-keys of every spec with its total, the key's rotation settings; on
 * IAM the users, groups, custom policies and access keys), and the same request without the bad bytes is shown
 * not to be refused as malformed (on IAM: to succeed), so the refusal is the bytes' doing. Well-formed non-ASCII
 * text (é, 中, an emoji = a surrogate pair) is accepted and round-trips byte for byte.
 *
 * Malformed bodies go out with token auth (X-Auth-Token) and raw bytes (fetch with a Buffer), so that neither a
 * signature nor a client-side encoder stands between the bytes and the server.
 */
import assert from 'node:assert/strict';
import { constants, createHash, createPublicKey, publicEncrypt, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { IAM_OPERATIONS } from '../src/api/iam/catalogue.js';
import { KMS_OPERATIONS } from '../src/api/kms/catalogue.js';
import { ALIAS_PATTERN, BASE64_PATTERN, HEX_PATTERN, KEY_ID_PATTERN, SEQUENCE_PATTERN, UUID_PATTERN } from '../src/api/schema.js';
import { REGION_ID_RE } from '../src/deployment.js';
import { expectError, KEY_ID, passwordToken, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
const REQUEST_ID = /^[0-9a-f]{32}$/;
const PROJECT_PATTERN = '^[0-9a-zA-Z_-]{1,64}$';
const CIPHERTEXT_PATTERN = '^[0-9a-zA-Z+/=]{128,5648}$';

type Json = Record<string, any>;
/** What these tests read of a catalogue entry. */
interface Op {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  query?: unknown;
  status: number;
}

const plain = (schema: unknown): Json => JSON.parse(JSON.stringify(schema)) as Json;
const KMS_BODY_OPS: readonly Op[] = KMS_OPERATIONS.filter((o) => o.body !== undefined);
const IAM_BODY_OPS: readonly Op[] = IAM_OPERATIONS.filter((o) => o.body !== undefined);

let d: TestDeployment;
let kmsToken: string;
let iamToken: string;
/** A key the read-only samples use, and a ciphertext of it. */
let mainKey: string;
let mainCipher: string;
/** An IAM user the update samples act on (with one access key), and one who changes their own password. */
let target: { id: string; accessKey: string };
let pwUser: { id: string; name: string; password: string; token: string };
let groupId: string;
let role: { id: string; display_name: string };

let counter = 0;
const uniq = (prefix: string) => `${prefix}-${++counter}-${randomUUID().slice(0, 8)}`;
const kmsBase = () => d.endpoint(R);
const kmsPath = (op: string) => `/v1.0/${d.projectId(R)}/kms/${op}`;

// ---------------------------------------------------------------------------------------------------------------
// HTTP

/** Sends exactly these bytes (a Buffer), a string as UTF-8, or an object as JSON, with an X-Auth-Token. */
async function send(base: string, method: string, path: string, body: Buffer | string | object | undefined, token: string | undefined): Promise<Reply> {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { 'X-Auth-Token': token } : {}) },
    body: payload,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: kept as text, and the assertions say so
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

const kms = (op: string, body: Buffer | string | object) => send(kmsBase(), 'POST', kmsPath(op), body, kmsToken);
const iam = (method: string, path: string, body?: Buffer | string | object, token = iamToken) => send(d.iamUrl, method, path, body, token);

function ok(reply: Reply, status = 200): any {
  assert.equal(reply.status, status, `expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  assert.match(reply.headers.get('x-request-id') ?? '', REQUEST_ID);
  return reply.body;
}

/** Huawei's error body with this status and code, and a 32-hex X-Request-Id. */
function expectRefused(reply: Reply, status: number, code: string, what: string): void {
  const body = reply.body as { error?: { error_code?: unknown; error_msg?: unknown } } | undefined;
  assert.ok(
    reply.status === status && body?.error?.error_code === code && typeof body.error.error_msg === 'string',
    `${what}: expected ${status} ${code}, got ${reply.status} ${JSON.stringify(reply.body)}`,
  );
  assert.match(reply.headers.get('x-request-id') ?? '', REQUEST_ID, `${what}: X-Request-Id`);
}

const codeOf = (reply: Reply): string | undefined => (reply.body as { error?: { error_code?: string } } | undefined)?.error?.error_code;

// ---------------------------------------------------------------------------------------------------------------
// Schemas: the fields of a body, and a sample body built from them

/** Every string field of an object schema (nested objects included), in schema order; `free` when no pattern or enum restricts it. */
function stringFields(schema: Json, at: string[] = []): { path: string[]; free: boolean }[] {
  const out: { path: string[]; free: boolean }[] = [];
  for (const [name, prop] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
    if (prop.type === 'string' && prop.enum === undefined) out.push({ path: [...at, name], free: prop.pattern === undefined });
    else if (prop.type === 'object' && prop.properties) out.push(...stringFields(prop, [...at, name]));
  }
  return out;
}

/** Every field marked `x-integer` (nested objects included), with its schema. */
function integerFields(schema: Json, at: string[] = []): { path: string[]; node: Json }[] {
  const out: { path: string[]; node: Json }[] = [];
  for (const [name, prop] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
    if (prop['x-integer'] !== undefined) out.push({ path: [...at, name], node: prop });
    else if (prop.type === 'object' && prop.properties) out.push(...integerFields(prop, [...at, name]));
  }
  return out;
}

/** The field the bad bytes go into: the first free-text string field, else the first string field. */
function chosenField(bodySchema: unknown): string[] {
  const fields = stringFields(plain(bodySchema));
  const pick = fields.find((f) => f.free) ?? fields[0];
  assert.ok(pick, 'the body schema has a string field');
  return pick.path;
}

/** A value inside the integer rule: its minimum rounded up to its step. */
function validInteger(node: Json): number {
  const rule = node['x-integer'] as { minimum?: number; maximum?: number; multipleOf?: number };
  let v = rule.minimum ?? 0;
  if (rule.multipleOf) v = Math.ceil(v / rule.multipleOf) * rule.multipleOf;
  return v;
}

interface SampleContext {
  keyId: string;
}

/** A value for one schema: the required fields of objects, values that match the catalogue's patterns. */
function sample(schema: Json, name: string, ctx: SampleContext): unknown {
  if (schema['x-integer'] !== undefined) return validInteger(schema);
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case 'boolean':
      return true;
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample((schema.items ?? {}) as Json, name, ctx));
    case 'object': {
      const out: Json = {};
      for (const field of (schema.required ?? []) as string[]) out[field] = sample((schema.properties?.[field] ?? {}) as Json, field, ctx);
      return out;
    }
    case 'string':
      switch (schema.pattern) {
        case KEY_ID_PATTERN: return ctx.keyId;
        case ALIAS_PATTERN: return uniq('strict');
        case BASE64_PATTERN: return 'AAAA';
        case HEX_PATTERN: return '00';
        case SEQUENCE_PATTERN: return randomUUID();
        case UUID_PATTERN: return randomUUID();
        case CIPHERTEXT_PATTERN: return mainCipher;
        case PROJECT_PATTERN: return d.projectId(R);
        case REGION_ID_RE.source: return R;
        case undefined: break;
        default: return schema.pattern.startsWith('^$|') ? '' : 'sample';
      }
      if (name === 'domain_id') return d.boot.domain_id;
      if (name === 'user_id') return target.id;
      if (name === 'password') return 'Sample-pass-1';
      return `${uniq(name)}`.slice(0, schema.maxLength ?? 64);
    default:
      return undefined;
  }
}

function setAt(body: Json, path: string[], value: unknown): Json {
  const copy = structuredClone(body);
  let node = copy;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Json;
  node[path[path.length - 1]!] = value;
  return copy;
}

/** Path parameters by name, for a KMS operation on `keyId`. */
function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const v = values[name];
    assert.ok(v !== undefined, `no sample for path parameter ${name} of ${path}`);
    return encodeURIComponent(v);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Malformed variants: bytes spliced into the JSON text of a sample body

const MARK = '@@BAD@@';

function splice(body: Json, replacement: Buffer): Buffer {
  const parts = JSON.stringify(body).split(MARK);
  assert.equal(parts.length, 2, 'exactly one marker in the sample');
  return Buffer.concat([Buffer.from(parts[0]!, 'utf8'), replacement, Buffer.from(parts[1]!, 'utf8')]);
}

const BAD_BYTES: [string, Buffer][] = [
  ['Latin-1 é (0xE9)', Buffer.from([0xe9])],
  ['an overlong "/" (0xC0 0xAF)', Buffer.from([0xc0, 0xaf])],
  ['a truncated 中 (0xE4 0xB8)', Buffer.from([0xe4, 0xb8])],
  ['a UTF-8-encoded surrogate (0xED 0xA0 0x80)', Buffer.from([0xed, 0xa0, 0x80])],
  ['the byte 0xFF', Buffer.from([0xff])],
];
/** JSON escapes (plain ASCII on the wire) that decode to strings that are not well-formed Unicode. */
const LONE_SURROGATES: [string, string][] = [
  ['a lone high surrogate \\ud800', '\\ud800'],
  ['a lone low surrogate \\udc00', '\\udc00'],
  ['a reversed pair \\ude00\\ud83d', '\\ude00\\ud83d'],
];

/** Every malformed body for a sample and the field of the operation the bad text goes into. */
function malformedBodies(sampleBody: Json, field: string[]): { what: string; bytes: Buffer }[] {
  const out: { what: string; bytes: Buffer }[] = [];
  const inField = setAt(sampleBody, field, `caf${MARK}`);
  const inIgnored = { ...sampleBody, x_note: `caf${MARK}` };
  const inName = { ...sampleBody, [`caf${MARK}`]: 'v' };
  const deep = { ...sampleBody, x_note: { list: ['fine', { deeper: `x${MARK}` }] } };
  for (const [what, bytes] of BAD_BYTES) {
    out.push({ what: `${what} at the end of ${field.join('.')}`, bytes: splice(inField, bytes) });
    out.push({ what: `${what} in an ignored field`, bytes: splice(inIgnored, bytes) });
    out.push({ what: `${what} in a field name`, bytes: splice(inName, bytes) });
  }
  for (const [what, escape] of LONE_SURROGATES) {
    const ascii = Buffer.from(escape, 'latin1');
    out.push({ what: `${what} in ${field.join('.')}`, bytes: splice(inField, ascii) });
    out.push({ what: `${what} in a field name`, bytes: splice(inName, ascii) });
    out.push({ what: `${what} inside an array of an ignored field`, bytes: splice(deep, ascii) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// State: what a refused request must not have changed

async function kmsState(keyId: string): Promise<unknown> {
  const list = ok(await kms('list-keys', { key_spec: 'ALL', limit: 2000 }));
  const rotation = await kms('get-key-rotation-status', { key_id: keyId });
  return { total: list.total, keys: list.keys, details: list.key_details, rotation: rotation.body };
}

async function iamState(): Promise<unknown> {
  const users = ok(await iam('GET', '/v3/users')).users;
  const groups = ok(await iam('GET', '/v3/groups')).groups;
  const roles = ok(await iam('GET', '/v3.0/OS-ROLE/roles')).roles;
  const own = ok(await iam('GET', '/v3.0/OS-CREDENTIAL/credentials')).credentials;
  const targets = ok(await iam('GET', `/v3.0/OS-CREDENTIAL/credentials?user_id=${target.id}`)).credentials;
  const pwLogin = (await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name: pwUser.name, password: pwUser.password })).status;
  return { users, groups, roles, own, targets, pwLogin };
}

async function createKey(body: Json = {}): Promise<string> {
  const id = ok(await kms('create-key', { key_alias: uniq('strict'), ...body })).key_info.key_id as string;
  assert.match(id, KEY_ID);
  return id;
}

async function domainToken(user: { name: string; password: string }): Promise<{ token: string; userId: string }> {
  const r = await passwordToken(d.iamUrl, { domain: d.boot.domain_name, ...user }, { domain: { name: d.boot.domain_name } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { token: r.headers.get('x-subject-token')!, userId: r.body.token.user.id as string };
}

before(async () => {
  d = await startTestDeployment({ regions: [R] });
  kmsToken = await d.token(R);
  const admin = await domainToken({ name: d.boot.user_name, password: d.boot.password });
  iamToken = admin.token;
  mainKey = await createKey({ key_description: 'main' });
  mainCipher = ok(await kms('encrypt-data', { key_id: mainKey, plain_text: 'strict input' })).cipher_text;

  const t = ok(await iam('POST', '/v3/users', { user: { name: uniq('target'), password: 'Target-pass-1' } }), 201).user;
  const ak = ok(await iam('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: t.id } }), 201).credential;
  target = { id: t.id, accessKey: ak.access };
  const pwName = uniq('pw');
  const pw = ok(await iam('POST', '/v3/users', { user: { name: pwName, password: 'Pw-user-pass-1' } }), 201).user;
  pwUser = { id: pw.id, name: pwName, password: 'Pw-user-pass-1', token: (await domainToken({ name: pwName, password: 'Pw-user-pass-1' })).token };
  groupId = ok(await iam('POST', '/v3/groups', { group: { name: uniq('group') } }), 201).group.id;
  const r = ok(await iam('POST', '/v3.0/OS-ROLE/roles', { role: policyRole(uniq('policy')) }), 201).role;
  role = { id: r.id, display_name: r.display_name };
});
after(() => d?.stop());

function policyRole(displayName: string) {
  return { display_name: displayName, type: 'AX', description: 'strict input', policy: { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['kms:cmk:list'] }] } };
}

// ---------------------------------------------------------------------------------------------------------------
// Requests per operation: the path, a sample body and the token

interface Prepared {
  path: string;
  body: Json;
  token?: string;
  /** True when the body is known to be accepted as it is (the request then succeeds with the entry's status). */
  valid: boolean;
}

function kmsRequest(op: Op, keyId: string): Prepared {
  return {
    path: fillPath(op.path, { project_id: d.projectId(R), key_id: keyId, access_point_id: randomUUID(), policy_id: randomUUID() }),
    body: sample(plain(op.body), 'body', { keyId }) as Json,
    valid: false,
  };
}

/** Bodies IAM accepts as they are, for the operations this file knows; the others get a schema sample. */
const IAM_VALID: Partial<Record<string, () => Prepared>> = {
  KeystoneCreateUserTokenByPassword: () => ({
    path: '/v3/auth/tokens',
    body: { auth: { identity: { methods: ['password'], password: { user: { domain: { name: d.boot.domain_name }, name: d.boot.user_name, password: d.boot.password } } }, scope: { domain: { name: d.boot.domain_name } } } },
    token: '',
    valid: true,
  }),
  CreateTemporaryAccessKeyByToken: () => ({ path: '/v3.0/OS-CREDENTIAL/securitytokens', body: { auth: { identity: { methods: ['token'] } } }, valid: true }),
  KeystoneCreateUser: () => ({ path: '/v3/users', body: { user: { name: uniq('created'), password: 'Created-pass-1' } }, valid: true }),
  CreateUser: () => ({ path: '/v3.0/OS-USER/users', body: { user: { name: uniq('created'), domain_id: d.boot.domain_id } }, valid: true }),
  UpdateUser: () => ({ path: `/v3.0/OS-USER/users/${target.id}`, body: { user: {} }, valid: true }),
  KeystoneUpdateUserByAdmin: () => ({ path: `/v3/users/${target.id}`, body: { user: {} }, valid: true }),
  KeystoneUpdateUserPassword: () => ({
    path: `/v3/users/${pwUser.id}/password`,
    body: { user: { password: `New-${randomUUID().slice(0, 8)}-1`, original_password: pwUser.password } },
    token: pwUser.token,
    valid: true,
  }),
  KeystoneCreateGroup: () => ({ path: '/v3/groups', body: { group: { name: uniq('group') } }, valid: true }),
  KeystoneUpdateGroup: () => ({ path: `/v3/groups/${groupId}`, body: { group: {} }, valid: true }),
  CreateCloudServiceCustomPolicy: () => ({ path: '/v3.0/OS-ROLE/roles', body: { role: policyRole(uniq('policy')) }, valid: true }),
  UpdateCloudServiceCustomPolicy: () => ({ path: `/v3.0/OS-ROLE/roles/${role.id}`, body: { role: policyRole(role.display_name) }, valid: true }),
  CreatePermanentAccessKey: () => ({ path: '/v3.0/OS-CREDENTIAL/credentials', body: { credential: { user_id: target.id } }, valid: true }),
  UpdatePermanentAccessKey: () => ({ path: `/v3.0/OS-CREDENTIAL/credentials/${target.accessKey}`, body: { credential: {} }, valid: true }),
};

function iamRequest(op: Op): Prepared {
  const known = IAM_VALID[op.name];
  if (known) return known();
  return {
    path: fillPath(op.path, { user_id: target.id, group_id: groupId, role_id: role.id, access_key: target.accessKey, domain_id: d.boot.domain_id, project_id: d.projectId(R) }),
    body: sample(plain(op.body), 'body', { keyId: mainKey }) as Json,
    valid: false,
  };
}

const tokenOf = (p: Prepared) => (p.token === undefined ? iamToken : p.token || undefined);

// ---------------------------------------------------------------------------------------------------------------

test('the catalogues have operations with JSON bodies and integer fields (the loops below are not empty)', () => {
  assert.ok(KMS_BODY_OPS.length >= 30, `KMS operations with a body: ${KMS_BODY_OPS.length}`);
  assert.ok(IAM_BODY_OPS.length >= 10, `IAM operations with a body: ${IAM_BODY_OPS.length}`);
  assert.ok(KMS_BODY_OPS.some((o) => integerFields(plain(o.body)).length > 0));
  assert.ok(IAM_BODY_OPS.some((o) => integerFields(plain(o.body)).length > 0));
});

describe('(a)+(b) KMS: bytes that are not UTF-8 and lone surrogates are 400 KMS.0202, and nothing changes', () => {
  for (const op of KMS_BODY_OPS) {
    test(`${op.name} (${op.method} ${op.path})`, async () => {
      const keyId = await createKey();
      const req = kmsRequest(op, keyId);
      const field = chosenField(op.body);
      const state = await kmsState(keyId);
      for (const m of malformedBodies(req.body, field)) {
        expectRefused(await send(kmsBase(), op.method, req.path, m.bytes, kmsToken), 400, 'KMS.0202', `${op.name}: ${m.what}`);
      }
      assert.deepEqual(await kmsState(keyId), state, `${op.name}: a refused body changed the keys`);
      // The same request in well-formed UTF-8 is not refused as malformed: the refusal was the bytes' doing.
      const control = await send(kmsBase(), op.method, req.path, { ...setAt(req.body, field, 'café'), x_note: 'café 中 😀', 'clé': 'v' }, kmsToken);
      assert.ok(control.status !== 400 || codeOf(control) !== 'KMS.0202', `${op.name}: well-formed UTF-8 refused: ${JSON.stringify(control.body)}`);
      assert.notEqual(control.status, 500, `${op.name}: ${JSON.stringify(control.body)}`);
    });
  }
});

describe('(a)+(b) IAM: bytes that are not UTF-8 and lone surrogates are 400 IAM.0001, and nothing changes', () => {
  for (const op of IAM_BODY_OPS) {
    test(`${op.name} (${op.method} ${op.path})`, async () => {
      const req = iamRequest(op);
      const field = chosenField(op.body);
      const state = await iamState();
      for (const m of malformedBodies(req.body, field)) {
        expectRefused(await send(d.iamUrl, op.method, req.path, m.bytes, tokenOf(req)), 400, 'IAM.0001', `${op.name}: ${m.what}`);
      }
      assert.deepEqual(await iamState(), state, `${op.name}: a refused body changed IAM`);
      if (req.valid) {
        // The sample itself (with well-formed non-ASCII in an ignored field) succeeds: the refusals were the bytes'.
        const control = await send(d.iamUrl, op.method, req.path, { ...req.body, x_note: 'café 中 😀' }, tokenOf(req));
        assert.equal(control.status, op.status, `${op.name}: the well-formed request: ${JSON.stringify(control.body)}`);
        if (op.name === 'KeystoneUpdateUserPassword') pwUser.password = (req.body.user as { password: string }).password;
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// (c) integers

/** Strings that are not plain digits (for a valid value v), and JSON values that are not integers. */
/** Strings and values that are not an integer; '' too, unless the field takes it as "not sent" (`emptyIsAbsent`). */
function notIntegers(v: number, emptyIsAbsent = false): unknown[] {
  return [
    ...new Set([' 32', '32 ', '+32', '3.0', '1e3', '-1', ...(emptyIsAbsent ? [] : ['']), ` ${v}`, `${v} `, `+${v}`, `${v}.0`, `-${v}`, `0x${v.toString(16)}`, `${v}\n`, `\t${v}`, '٣٢', `${v}abc`]),
    3.5,
    true,
  ];
}

const emptyIsAbsent = (node: Json): boolean => (node['x-integer'] as Json | undefined)?.emptyIsAbsent === true;

interface IntegerFixture {
  path: string;
  body: Json;
  token?: string;
  /** Checks the answer of the accepted digit string. */
  check?: (answer: any, value: number) => void;
}

const KMS_INTEGER_FIXTURES: Record<string, () => Promise<IntegerFixture>> = {
  ListKeys: async () => ({
    path: kmsPath('list-keys'),
    body: { key_spec: 'ALL', limit: 2, marker: 1 },
    check: (a) => assert.ok(a.keys.length <= 2 && a.keys.length > 0),
  }),
  DeleteKey: async () => ({ path: kmsPath('schedule-key-deletion'), body: { key_id: await createKey(), pending_days: 7 }, check: (a) => assert.equal(a.key_state, '4') }),
  ReEncrypt: async () => {
    const dk = ok(await kms('create-datakey-without-plaintext', { key_id: mainKey, datakey_length: 256 }));
    return { path: kmsPath('re-encrypt'), body: { cipher_text: dk.cipher_text, datakey_cipher_length: 32, destination_key_id: mainKey, source_key_id: mainKey } };
  },
  CreateDatakey: async () => ({ path: kmsPath('create-datakey'), body: { key_id: mainKey, datakey_length: 256 }, check: (a, v) => assert.equal(a.plain_text.length, v / 4) }),
  CreateDatakeyWithoutPlaintext: async () => ({ path: kmsPath('create-datakey-without-plaintext'), body: { key_id: mainKey, datakey_length: 256 } }),
  EncryptDatakey: async () => {
    const dk = randomBytes(32);
    return {
      path: kmsPath('encrypt-datakey'),
      body: { key_id: mainKey, plain_text: Buffer.concat([dk, createHash('sha256').update(dk).digest()]).toString('hex'), datakey_plain_length: 32 },
      check: (a) => assert.equal(a.datakey_length, '32'),
    };
  },
  DecryptDatakey: async () => {
    const dk = ok(await kms('create-datakey', { key_id: mainKey, datakey_length: 256 }));
    return { path: kmsPath('decrypt-datakey'), body: { key_id: mainKey, cipher_text: dk.cipher_text, datakey_cipher_length: 32 }, check: (a) => assert.equal(a.data_key, dk.plain_text) };
  },
  CreateRandom: async () => ({ path: kmsPath('gen-random'), body: { random_data_length: 256 }, check: (a, v) => assert.equal(a.random_data.length, v / 4) }),
  UpdateKeyRotationInterval: async () => {
    const keyId = await createKey();
    ok(await kms('enable-key-rotation', { key_id: keyId }));
    return { path: kmsPath('update-key-rotation-interval'), body: { key_id: keyId, rotation_interval: 90 } };
  },
  ImportKeyMaterial: async () => {
    const keyId = await createKey({ origin: 'external' });
    const p = ok(await kms('get-parameters-for-import', { key_id: keyId, wrapping_algorithm: 'RSAES_OAEP_SHA_256' }));
    const key = createPublicKey({ key: Buffer.from(p.public_key, 'base64'), format: 'der', type: 'spki' });
    const wrapped = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32)).toString('base64');
    return {
      path: kmsPath('import-key-material'),
      body: { key_id: keyId, import_token: p.import_token, encrypted_key_material: wrapped, expiration_time: Math.floor(Date.now() / 1000) + 30 * 86_400 },
    };
  },
};

const IAM_INTEGER_FIXTURES: Record<string, () => Promise<IntegerFixture>> = {
  CreateTemporaryAccessKeyByToken: async () => ({
    path: '/v3.0/OS-CREDENTIAL/securitytokens',
    body: { auth: { identity: { methods: ['token'], token: { duration_seconds: 900 } } } },
    check: (a) => assert.ok(a.credential.access),
  }),
};

function getAt(body: Json, path: string[]): unknown {
  return path.reduce<any>((node, key) => node?.[key], body);
}

function integerTests(service: 'kms' | 'iam', ops: readonly Op[], fixtures: Partial<Record<string, () => Promise<IntegerFixture>>>) {
  for (const op of ops) {
    for (const { path: field, node } of integerFields(plain(op.body))) {
      const code = node['x-error-code'] as string;
      test(`${op.name}: ${field.join('.')} refuses non-digit strings with ${code}; a digit string is accepted as the number`, async () => {
        assert.match(code, /^(KMS|IAM)\.\d{4}$/, 'the integer field names its code');
        const base = service === 'kms' ? kmsBase() : d.iamUrl;
        const token = service === 'kms' ? kmsToken : iamToken;
        const known = fixtures[op.name];
        let fx: IntegerFixture;
        if (known) fx = await known();
        else {
          const req = service === 'kms' ? kmsRequest(op, mainKey) : iamRequest(op);
          fx = { path: req.path, body: req.body, ...(req.token !== undefined ? { token: req.token } : {}) };
        }
        const value = typeof getAt(fx.body, field) === 'number' ? (getAt(fx.body, field) as number) : validInteger(node);
        const state = service === 'kms' ? await kmsState(mainKey) : await iamState();
        for (const bad of notIntegers(value, emptyIsAbsent(node))) {
          expectRefused(await send(base, op.method, fx.path, setAt(fx.body, field, bad), fx.token ?? token), 400, code, `${op.name}.${field.join('.')} = ${JSON.stringify(bad)}`);
        }
        assert.deepEqual(service === 'kms' ? await kmsState(mainKey) : await iamState(), state, `${op.name}: a refused integer changed something`);

        const asString = await send(base, op.method, fx.path, setAt(fx.body, field, String(value)), fx.token ?? token);
        if (known) {
          assert.equal(asString.status, op.status, `${op.name}.${field.join('.')} = "${value}": ${JSON.stringify(asString.body)}`);
          fx.check?.(asString.body, value);
        } else {
          // No body this file knows to be valid: the digit string must be answered exactly as the JSON number.
          const asNumber = await send(base, op.method, fx.path, setAt(fx.body, field, value), fx.token ?? token);
          assert.equal(asString.status, asNumber.status, `${op.name}: "${value}" vs ${value}`);
          assert.equal(codeOf(asString), codeOf(asNumber), `${op.name}: "${value}" vs ${value}`);
        }
      });
    }
  }
}

describe('(c) KMS integer fields (x-integer) of every body', () => integerTests('kms', KMS_BODY_OPS, KMS_INTEGER_FIXTURES));
describe('(c) IAM integer fields (x-integer) of every body', () => integerTests('iam', IAM_BODY_OPS, IAM_INTEGER_FIXTURES));

/** The same rule for integers in query strings (every operation whose query schema has `x-integer` fields). */
describe('(c) integer query parameters (x-integer) of every operation', () => {
  const ops = [...KMS_OPERATIONS.map((o) => ({ op: o as Op, service: 'kms' as const })), ...IAM_OPERATIONS.map((o) => ({ op: o as Op, service: 'iam' as const }))]
    .filter(({ op }) => op.query !== undefined && integerFields(plain(op.query)).length > 0);
  test('there are such operations', () => assert.ok(ops.length >= 2));
  for (const { op, service } of ops) {
    for (const { path: field, node } of integerFields(plain(op.query))) {
      const code = node['x-error-code'] as string;
      test(`${op.name}: ?${field.join('.')}= refuses non-digit strings with ${code}; a digit string is accepted`, async () => {
        const base = service === 'kms' ? kmsBase() : d.iamUrl;
        const token = service === 'kms' ? kmsToken : iamToken;
        const path = fillPath(op.path, { project_id: d.projectId(R), key_id: mainKey, access_point_id: randomUUID(), policy_id: randomUUID(), user_id: target.id, group_id: groupId, role_id: role.id, domain_id: d.boot.domain_id, access_key: target.accessKey });
        // Every integer parameter at a valid value (page and per_page go together), with the required ones.
        const query: Record<string, string> = {};
        for (const [k, v] of Object.entries(sample(plain(op.query), 'query', { keyId: mainKey }) as Json)) query[k] = String(v);
        for (const f of integerFields(plain(op.query))) query[f.path[0]!] = String(validInteger(f.node));
        const url = (q: Record<string, string>) => `${path}?${new URLSearchParams(q).toString()}`;
        for (const bad of notIntegers(validInteger(node), emptyIsAbsent(node))) {
          expectRefused(await send(base, op.method, url({ ...query, [field[0]!]: String(bad) }), undefined, token), 400, code, `${op.name} ?${field[0]}=${JSON.stringify(String(bad))}`);
        }
        const accepted = await send(base, op.method, url(query), undefined, token);
        assert.equal(accepted.status, op.status, `${op.name} ?${new URLSearchParams(query).toString()}: ${JSON.stringify(accepted.body)}`);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The cases the brief names, and well-formed non-ASCII text

const enc = (s: string) => Buffer.from(s, 'utf8');

test('encrypt-data: the byte 0xE9 is refused (KMS.0202) and never encrypted as U+FFFD; café round-trips as exactly its UTF-8 bytes', async () => {
  const raw = Buffer.concat([enc(`{"key_id":"${mainKey}","plain_text":"caf`), Buffer.from([0xe9]), enc('"}')]);
  const refused = await kms('encrypt-data', raw);
  expectError(refused, 400, 'KMS.0202');
  assert.equal((refused.body as Json).cipher_text, undefined);

  const sent = enc(`{"key_id":"${mainKey}","plain_text":"café"}`);
  assert.deepEqual([...sent.subarray(-4, -2)], [0xc3, 0xa9], 'the request carries é as C3 A9');
  const cipher = ok(await kms('encrypt-data', sent)).cipher_text;
  const plainOut = ok(await kms('decrypt-data', { cipher_text: cipher }));
  assert.equal(plainOut.plain_text, 'café');
  const bytes = Buffer.from(plainOut.plain_text_base64, 'base64');
  assert.deepEqual(bytes, Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9]));
  assert.equal(bytes.indexOf(Buffer.from([0xef, 0xbf, 0xbd])), -1, 'no U+FFFD in the plaintext');
});

test('encrypt-data: a lone surrogate in plain_text is refused (KMS.0202), not encrypted as EF BF BD', async () => {
  const refused = await kms('encrypt-data', `{"key_id":"${mainKey}","plain_text":"a\\ud800b"}`);
  expectError(refused, 400, 'KMS.0202');
  assert.equal((refused.body as Json).cipher_text, undefined);
});

test('create-key: a body with 0xE9, an overlong sequence or a lone surrogate creates no key (list-keys ALL and its total unchanged)', async () => {
  const list = async () => {
    const l = ok(await kms('list-keys', { key_spec: 'ALL' }));
    return { total: l.total, keys: l.keys };
  };
  const beforeList = await list();
  const alias = uniq('never');
  const bodies: (Buffer | string)[] = [
    Buffer.concat([enc(`{"key_alias":"${alias}","key_description":"caf`), Buffer.from([0xe9]), enc('"}')]),
    Buffer.concat([enc(`{"key_alias":"${alias}","key_description":"`), Buffer.from([0xc0, 0xaf]), enc('"}')]),
    Buffer.concat([enc(`{"key_alias":"caf`), Buffer.from([0xe9]), enc('"}')]),
    `{"key_alias":"${alias}","key_description":"\\ud800"}`,
    `{"key_alias":"${alias}","\\udfff":"x"}`,
  ];
  for (const b of bodies) expectError(await kms('create-key', b), 400, 'KMS.0202');
  assert.deepEqual(await list(), beforeList);
  // The alias is still free: none of the refused bodies took it.
  assert.match(ok(await kms('create-key', { key_alias: alias })).key_info.key_id, KEY_ID);
  assert.equal((await list()).total, beforeList.total + 1);
});

test('U+0000 in a body string or field name (KMS.0202) or in the URL (%00, KMS.0201) is refused and creates nothing', async () => {
  const before = ok(await kms('list-keys', { key_spec: 'ALL' })).total;
  const alias = uniq('nul');
  expectError(await kms('create-key', `{"key_alias":"${alias}","key_description":"a\\u0000b"}`), 400, 'KMS.0202');
  expectError(await kms('create-key', `{"key_alias":"${alias}","x\\u0000":"y"}`), 400, 'KMS.0202');
  expectError(await send(kmsBase(), 'GET', `/v1.0/${d.projectId(R)}/kms/aliases?marker=a%00b`, undefined, kmsToken), 400, 'KMS.0201');
  assert.equal(ok(await kms('list-keys', { key_spec: 'ALL' })).total, before);
  // An escaped backslash before "u0000" is ordinary text.
  const keyId = ok(await kms('create-key', { key_alias: alias, key_description: 'a\\u0000b' })).key_info.key_id;
  assert.match(keyId, KEY_ID);
  // A plaintext is never stored: it may hold U+0000, and decrypts to the same characters.
  const cipher = ok(await kms('encrypt-data', { key_id: keyId, plain_text: 'a\u0000b' })).cipher_text;
  assert.equal(ok(await kms('decrypt-data', { cipher_text: cipher })).plain_text, 'a\u0000b');
});

test('update-key-description: a lone surrogate (or 0xE9) leaves the description unchanged', async () => {
  const keyId = await createKey({ key_description: 'original é' });
  const describe = async () => ok(await kms('describe-key', { key_id: keyId })).key_info.key_description as string;
  assert.equal(await describe(), 'original é');
  expectError(await kms('update-key-description', `{"key_id":"${keyId}","key_description":"new \\ud800"}`), 400, 'KMS.0202');
  expectError(await kms('update-key-description', `{"key_id":"${keyId}","key_description":"\\udc00new"}`), 400, 'KMS.0202');
  expectError(await kms('update-key-description', Buffer.concat([enc(`{"key_id":"${keyId}","key_description":"new caf`), Buffer.from([0xe9]), enc('"}')])), 400, 'KMS.0202');
  assert.equal(await describe(), 'original é');
  // A well-formed surrogate pair written as escapes is a character like any other.
  ok(await kms('update-key-description', `{"key_id":"${keyId}","key_description":"new \\ud83d\\ude00"}`));
  assert.equal(await describe(), 'new 😀');
});

test('non-ASCII UTF-8 (é, 中, an emoji = a surrogate pair) is accepted and round-trips exactly through encrypt-data/decrypt-data', async () => {
  const text = 'é 中文 😀 Ωmega ﬁ \u00a0end';
  const expected = enc(text);
  const roundTrip = async (encryptReply: Reply) => {
    const cipher = ok(encryptReply).cipher_text;
    const out = ok(await kms('decrypt-data', { cipher_text: cipher }));
    assert.equal(out.plain_text, text);
    assert.deepEqual(Buffer.from(out.plain_text_base64, 'base64'), expected);
  };
  // raw UTF-8 bytes, token auth
  await roundTrip(await kms('encrypt-data', enc(`{"key_id":"${mainKey}","plain_text":${JSON.stringify(text)}}`)));
  // the same text as \u escapes (pure ASCII on the wire), the emoji as an escaped surrogate pair
  const escaped = JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  assert.ok(escaped.includes('\\ud83d\\ude00'));
  await roundTrip(await kms('encrypt-data', `{"key_id":"${mainKey}","plain_text":${escaped}}`));
  // signed with the official Huawei signer
  await roundTrip(await d.kms(R, 'encrypt-data', { key_id: mainKey, plain_text: text }));
  // non-ASCII in AAD too: the same AAD decrypts, a different one does not
  const aad = '中文-é-😀';
  const c = ok(await kms('encrypt-data', { key_id: mainKey, plain_text: text, additional_authenticated_data: aad })).cipher_text;
  assert.equal(ok(await kms('decrypt-data', { cipher_text: c, additional_authenticated_data: aad })).plain_text, text);
  assert.notEqual((await kms('decrypt-data', { cipher_text: c, additional_authenticated_data: '中文-e-😀' })).status, 200);
});

test('plain_text and AAD are measured in UTF-8 bytes, descriptions in characters (an emoji is one)', async () => {
  // plain_text: 1–4096 bytes of UTF-8. 1365 × "中" = 4095 bytes; 1366 × "中" = 4098 bytes.
  ok(await kms('encrypt-data', { key_id: mainKey, plain_text: '中'.repeat(1365) }));
  expectError(await kms('encrypt-data', { key_id: mainKey, plain_text: '中'.repeat(1366) }), 400, 'KMS.2101');
  // AAD: at most 128 bytes. 32 × "😀" = 128 bytes; one "é" more = 130 bytes.
  ok(await kms('encrypt-data', { key_id: mainKey, plain_text: 'x', additional_authenticated_data: '😀'.repeat(32) }));
  assert.equal((await kms('encrypt-data', { key_id: mainKey, plain_text: 'x', additional_authenticated_data: '😀'.repeat(32) + 'é' })).status, 400);
  // key_description: at most 255 characters; 255 emoji are 510 UTF-16 units and 1020 bytes, and still 255 characters.
  const keyId = await createKey();
  ok(await kms('update-key-description', { key_id: keyId, key_description: '😀'.repeat(255) }));
  assert.equal(ok(await kms('describe-key', { key_id: keyId })).key_info.key_description, '😀'.repeat(255));
  expectError(await kms('update-key-description', { key_id: keyId, key_description: '😀'.repeat(256) }), 400, 'KMS.1103');
});

test('IAM: a group name with é, 中 and an emoji is stored exactly; the same name with 0xE9 or a lone surrogate creates no group', async () => {
  const name = `グループ-é-中-😀-${randomUUID().slice(0, 6)}`;
  const created = ok(await iam('POST', '/v3/groups', { group: { name, description: '説明 é 😀' } }), 201).group;
  assert.equal(created.name, name);
  const shown = ok(await iam('GET', `/v3/groups/${created.id}`)).group;
  assert.equal(shown.name, name);
  assert.equal(shown.description, '説明 é 😀');
  const groups = async () => (ok(await iam('GET', '/v3/groups')).groups as { name: string }[]).map((g) => g.name).sort();
  const beforeGroups = await groups();
  const raw = Buffer.concat([enc(`{"group":{"name":"${name}-caf`), Buffer.from([0xe9]), enc('"}}')]);
  expectError(await iam('POST', '/v3/groups', raw), 400, 'IAM.0001');
  expectError(await iam('POST', '/v3/groups', `{"group":{"name":"${name}-\\ud800"}}`), 400, 'IAM.0001');
  assert.deepEqual(await groups(), beforeGroups);
});

test('JSON nested deeper than 32 levels is refused as malformed (never a 500), on KMS and IAM', async () => {
  for (const depth of [33, 5000]) {
    const body = `{"key_alias":"deep","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expectRefused(await kms('create-key', body), 400, 'KMS.0202', `depth ${depth} on KMS`);
    expectRefused(await iam('POST', '/v3/groups', `{"group":{"name":"deep"},"x":${'['.repeat(depth)}${']'.repeat(depth)}}`), 400, 'IAM.0001', `depth ${depth} on IAM`);
  }
  const shallow = await kms('create-key', `{"key_alias":"${uniq('shallow')}","x":${'['.repeat(20)}${']'.repeat(20)}}`);
  assert.equal(shallow.status, 200, JSON.stringify(shallow.body));
});
