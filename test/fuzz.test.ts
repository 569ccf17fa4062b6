/**
 * Fuzzing every KMS operation from its catalogue schema with fast-check (issue: proven under faults). From a body
 * holding the schema's required fields, each run breaks it one way: a required field dropped, a field of the wrong
 * type, a huge or empty value, deep nesting, invalid UTF-8, a signature computed over another body. Every such
 * request must be refused with a 4xx and a Huawei error body, never a 5xx, and leave the region's keys as they
 * were. Variants a server may accept (an unknown extra field, an odd Content-Type) must never get a 5xx.
 * `FUZZ_RUNS` sets the runs per operation (default 4 here; `npm run fuzz` runs 200).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { KMS_OPERATIONS } from '../src/api/kms/catalogue.js';
import type { Operation } from '../src/api/operation.js';
import { sendSigned, signRequest, startTestDeployment, type Reply, type SignedParts, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
const RUNS = Number(process.env.FUZZ_RUNS ?? 4);
type Json = Record<string, any>;
type Op = Operation<unknown, unknown>;

let d: TestDeployment;
let keyId: string;
let token: string;

before(async () => {
  d = await startTestDeployment({ regions: [R] });
  const r = await d.kms(R, 'create-key', { key_alias: 'fuzz-target' });
  keyId = r.body.key_info.key_id;
  token = await d.token(R);
});
after(async () => {
  await d?.stop();
});

const plain = (schema: unknown): Json => JSON.parse(JSON.stringify(schema ?? {})) as Json;

/** A best-effort valid value for a schema (the fuzzing breaks it). */
function base(schema: Json, name: string): unknown {
  if (schema['x-integer'] !== undefined) return (schema['x-integer'] as { minimum?: number }).minimum ?? 1;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case 'boolean': return true;
    case 'integer': case 'number': return schema.minimum ?? 1;
    case 'array': return Array.from({ length: schema.minItems ?? 0 }, () => base((schema.items ?? {}) as Json, name));
    case 'object': {
      const out: Json = {};
      for (const f of (schema.required ?? []) as string[]) out[f] = base((schema.properties?.[f] ?? {}) as Json, f);
      return out;
    }
    case 'string': return name === 'key_id' ? keyId : 'AAAA';
    default: return 'x';
  }
}

/** Fields of the body schema's top level with their schemas. */
const fieldsOf = (schema: Json): [string, Json][] => Object.entries((schema.properties ?? {}) as Record<string, Json>);

function pathOf(op: Op): string {
  return op.path.replace('{project_id}', d.projectId(R)).replace(/\{([a-z_]+)\}/g, () => keyId);
}

/** A value whose JSON type is not the schema's (integers may come as digit strings: never one of those). */
function wrongTypeFor(schema: Json): fc.Arbitrary<unknown> {
  const type = schema['x-integer'] !== undefined ? 'integer' : (schema.type as string);
  const candidates: Record<string, fc.Arbitrary<unknown>> = {
    string: fc.string({ minLength: 1, maxLength: 8 }).filter((v) => !/^\d+$/.test(v)),
    number: fc.double({ noNaN: true, noDefaultInfinity: true }),
    boolean: fc.boolean(),
    array: fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
    object: fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.integer(), { minKeys: 1, maxKeys: 2 }),
  };
  const wrong = Object.entries(candidates).filter(([t]) => t !== type && !(type === 'integer' && t === 'number')).map(([, a]) => a);
  return fc.oneof(...wrong);
}

interface Broken {
  what: string;
  body: Buffer;
  /** Sign this body instead (a signature over another body). */
  signedBody?: Json;
}

/** One way to break a valid body of `op` (each one must be refused). */
function broken(op: Op): fc.Arbitrary<Broken> {
  const schema = plain(op.body);
  const valid = base(schema, '') as Json;
  const fields = fieldsOf(schema);
  const required = (schema.required ?? []) as string[];
  const json = (what: string, body: unknown): Broken => ({ what, body: Buffer.from(JSON.stringify(body)) });
  const ways: fc.Arbitrary<Broken>[] = [
    fc.nat({ max: 1000 }).map((n) => json(`nested ${40 + n % 20} deep`, { ...valid, deep: Array.from({ length: 40 + (n % 20) }).reduce((inner) => ({ a: inner }), 1) })),
    fc.constantFrom([0xe9], [0xc0, 0xaf], [0xe4, 0xb8], [0xed, 0xa0, 0x80], [0xff]).map((bytes) => ({
      what: `invalid UTF-8 (${bytes.map((b) => b.toString(16)).join(' ')}) in a string`,
      body: Buffer.concat([Buffer.from(JSON.stringify({ ...valid, note: 'x' }).slice(0, -2)), Buffer.from(bytes), Buffer.from('"}')]),
    })),
    fc.string({ minLength: 1, maxLength: 20 }).map((noise) => ({ what: 'signed over another body', body: Buffer.from(JSON.stringify(valid)), signedBody: { ...valid, noise } })),
    fc.constantFrom('{', '[]', '"text"', '42', 'null', '{"a":}').map((text) => ({ what: `not a JSON object: ${text}`, body: Buffer.from(text) })),
  ];
  if (required.length > 0) ways.push(fc.constantFrom(...required).map((f) => json(`without ${f}`, Object.fromEntries(Object.entries(valid).filter(([k]) => k !== f)))));
  const typed = fields.filter(([, s]) => s.type !== undefined || s['x-integer'] !== undefined);
  if (typed.length > 0) {
    ways.push(fc.constantFrom(...typed).chain(([f, s]) => wrongTypeFor(s).map((v) => json(`${f} as ${JSON.stringify(v).slice(0, 30)}`, { ...valid, [f]: v }))));
  }
  const bounded = fields.filter(([, s]) => s.type === 'string' && typeof s.maxLength === 'number');
  if (bounded.length > 0) {
    ways.push(fc.constantFrom(...bounded).chain(([f, s]) => fc.integer({ min: 1, max: 70_000 }).map((extra) => json(`${f} of ${s.maxLength + extra} characters`, { ...valid, [f]: 'a'.repeat(s.maxLength + extra) }))));
  }
  const nonEmpty = fields.filter(([f, s]) => s.type === 'string' && (s.minLength ?? 0) > 0 && required.includes(f));
  if (nonEmpty.length > 0) ways.push(fc.constantFrom(...nonEmpty).map(([f]) => json(`${f} empty`, { ...valid, [f]: '' })));
  return fc.oneof(...ways);
}

/** Variants a server may accept; they must not make it fail. */
function tolerated(op: Op): fc.Arbitrary<{ what: string; body: Buffer; contentType: string }> {
  const valid = base(plain(op.body), '') as Json;
  return fc.record({
    extra: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !(k in valid) && k !== '__proto__'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
    contentType: fc.constantFrom('application/json', 'text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', ''),
  }).map(({ extra, contentType }) => ({ what: `extra ${JSON.stringify(Object.keys(extra))} as ${contentType || 'no content type'}`, body: Buffer.from(JSON.stringify({ ...valid, ...extra })), contentType }));
}

/** Sends raw bytes with the admin's token (the body is not covered by a signature then). */
async function sendRaw(op: Op, body: Buffer, contentType = 'application/json'): Promise<Reply> {
  const res = await fetch(d.endpoint(R) + pathOf(op), {
    method: op.method,
    headers: { 'X-Auth-Token': token, ...(contentType ? { 'content-type': contentType } : {}) },
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // left as text: the check below reports it
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Sends `body` under an AK/SK signature computed over another body. */
function sendSignedOver(op: Op, body: Buffer, signedBody: Json): Promise<Reply> {
  const parts: SignedParts = signRequest(d.endpoint(R), d.admin, d.projectId(R), op.method, pathOf(op), signedBody);
  return sendSigned({ ...parts, body: body.toString('utf8') });
}

async function state(): Promise<unknown> {
  const list = await d.kms(R, 'list-keys', { key_spec: 'ALL', limit: '1000' });
  const target = await d.kms(R, 'describe-key', { key_id: keyId });
  const grants = await d.kms(R, 'list-grants', { key_id: keyId });
  return { total: list.body.total, keys: list.body.keys, target: target.body, grants: grants.body };
}

function isHuaweiError(r: Reply): boolean {
  const b = r.body as { error?: { error_code?: unknown; error_msg?: unknown }; error_code?: unknown; error_msg?: unknown } | undefined;
  return (typeof b?.error?.error_code === 'string' && typeof b.error.error_msg === 'string') || (typeof b?.error_code === 'string' && typeof b.error_msg === 'string');
}

const BODY_OPS = (KMS_OPERATIONS as readonly Op[]).filter((o) => o.body !== undefined);

describe('fuzzing every KMS operation with a body from its schema', () => {
  test('there are operations to fuzz', () => assert.ok(BODY_OPS.length >= 30, String(BODY_OPS.length)));

  for (const op of BODY_OPS) {
    test(`${op.name}: broken requests are refused with a 4xx Huawei error and change nothing; tolerated variants never get a 5xx`, async () => {
      const before = await state();
      await fc.assert(
        fc.asyncProperty(broken(op), async (b) => {
          const r = b.signedBody ? await sendSignedOver(op, b.body, b.signedBody) : await sendRaw(op, b.body);
          assert.ok(r.status >= 400 && r.status < 500, `${op.name} ${b.what}: ${r.status} ${String(JSON.stringify(r.body)).slice(0, 300)}`);
          assert.ok(isHuaweiError(r), `${op.name} ${b.what}: not a Huawei error body: ${String(JSON.stringify(r.body)).slice(0, 300)}`);
        }),
        { numRuns: RUNS },
      );
      assert.deepEqual(await state(), before, `${op.name}: a refused request changed the region`);
      await fc.assert(
        fc.asyncProperty(tolerated(op), async (t) => {
          const r = await sendRaw(op, t.body, t.contentType);
          assert.ok(r.status < 500, `${op.name} ${t.what}: ${r.status} ${String(JSON.stringify(r.body)).slice(0, 300)}`);
          if (r.status >= 400) assert.ok(isHuaweiError(r), `${op.name} ${t.what}: not a Huawei error body`);
        }),
        { numRuns: RUNS },
      );
    });
  }
});
