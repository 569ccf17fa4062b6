/**
 * The OpenAPI 3.1 documents (src/api/openapi.ts) served at `GET /openapi.json` by a region and by IAM, without
 * credentials: valid against the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator) and against the rules of
 * the specification the schema cannot express (unique operationIds, no two paths that differ only in parameter
 * names, every path template parameter declared); exactly the operations of the endpoint's catalogue (method, path,
 * operationId = the SDK operation name, x-iam-action = the catalogue's action, request body, success status,
 * security), nothing else; and every path of the document is actually routed (never 404 APIGW.0101 or
 * 405 KMS.0215; without credentials an authenticated operation answers 401).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { IAM_OPERATIONS } from '../src/api/iam/catalogue.js';
import { KMS_OPERATIONS } from '../src/api/kms/catalogue.js';
import { startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
const REQUEST_ID = /^[0-9a-f]{32}$/;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** What these tests read of a catalogue entry. */
interface Op {
  name: string;
  method: string;
  path: string;
  action: string | null;
  authentication: 'required' | 'none';
  body?: unknown;
  status: number;
}

let d: TestDeployment;
before(async () => (d = await startTestDeployment({ regions: [R] })));
after(() => d?.stop());

async function get(base: string, path: string): Promise<Reply & { text: string }> {
  const res = await fetch(base + path);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Every operation of a document: path, lower-case method and the operation object. */
function documentOperations(doc: any): { path: string; method: string; op: any }[] {
  const out: { path: string; method: string; op: any }[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {}) as [string, Record<string, unknown>][]) {
    for (const [key, op] of Object.entries(item)) if (METHODS.includes(key)) out.push({ path, method: key, op });
  }
  return out;
}

/** A value for a path parameter that every endpoint's pattern for it accepts. */
function paramValue(name: string): string {
  if (name === 'project_id') return d.projectId(R);
  if (name === 'key_id') return '0b6f2c1e-1111-4222-8333-444455556666';
  if (name === 'version_id') return 'v1.0';
  if (name === 'domain_id') return d.boot.domain_id;
  return 'ABC123';
}

const ENDPOINTS: { name: string; base: () => string; operations: readonly Op[] }[] = [
  { name: 'region', base: () => d.endpoint(R), operations: KMS_OPERATIONS },
  { name: 'IAM', base: () => d.iamUrl, operations: IAM_OPERATIONS },
];

for (const e of ENDPOINTS) {
  describe(`${e.name}: GET /openapi.json`, () => {
    let doc: any;
    before(async () => {
      const r = await get(e.base(), '/openapi.json');
      assert.equal(r.status, 200, r.text.slice(0, 300));
      doc = r.body;
    });

    test('is served without credentials, as JSON, with an X-Request-Id', async () => {
      const r = await get(e.base(), '/openapi.json');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.match(r.headers.get('x-request-id') ?? '', REQUEST_ID);
      assert.equal(typeof r.body, 'object');
    });

    test('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator), openapi "3.1.0", its $refs resolve', async () => {
      assert.equal(doc.openapi, '3.1.0');
      const validator = new Validator();
      const result = await validator.validate(structuredClone(doc));
      assert.ok(result.valid, `invalid OpenAPI: ${JSON.stringify(result.errors, null, 1)?.slice(0, 3000)}`);
      assert.equal(validator.version, '3.1');
      assert.doesNotThrow(() => validator.resolveRefs());
      assert.ok(typeof doc.info?.title === 'string' && doc.info.title.length > 0);
    });

    test('control: the validator refuses damaged copies of the document', async () => {
      const damaged = [
        (x: any) => delete x.info.version,
        (x: any) => (x.paths['no-leading-slash'] = {}),
        (x: any) => (x.openapi = '3.1'),
        (x: any) => (Object.values(x.paths as Record<string, any>)[0].get = { responses: { '200': { content: {} } } }),
      ];
      for (const damage of damaged) {
        const copy = structuredClone(doc);
        damage(copy);
        assert.equal((await new Validator().validate(copy)).valid, false, damage.toString());
      }
    });

    test('follows the rules the schema cannot check: unique operationIds, distinct path templates, declared path parameters', () => {
      const ops = documentOperations(doc);
      const ids = ops.map((o) => o.op.operationId);
      assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'operationIds must be unique (OpenAPI 3.1 §4.8.10.1)');
      const shapes = Object.keys(doc.paths).map((p) => p.replace(/\{[^}]+\}/g, '{}'));
      assert.deepEqual(shapes.filter((s, i) => shapes.indexOf(s) !== i), [], 'paths that differ only in parameter names are identical (§4.8.8.2)');
      for (const { path, method, op } of ops) {
        const declared = ((op.parameters ?? []) as { name: string; in: string; required?: boolean }[]);
        const keys = declared.map((p) => `${p.in}:${p.name}`);
        assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), [], `${method} ${path}: duplicate parameters`);
        const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
        const inPath = declared.filter((p) => p.in === 'path');
        assert.deepEqual(inPath.map((p) => p.name).sort(), [...templated].sort(), `${method} ${path}: path parameters`);
        for (const p of inPath) assert.equal(p.required, true, `${method} ${path}: path parameter ${p.name} is required`);
      }
    });

    test('lists every operation of the catalogue (method, path, operationId, x-iam-action, body, status, security) and nothing else', () => {
      assert.ok(e.operations.length > 5);
      const listed = documentOperations(doc);
      assert.deepEqual(
        listed.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort(),
        e.operations.map((o) => `${o.method} ${o.path}`).sort(),
        'the document has exactly the catalogue\'s operations',
      );
      for (const op of e.operations) {
        const entry = doc.paths[op.path]?.[op.method.toLowerCase()];
        assert.ok(entry, `${op.method} ${op.path} (${op.name}) is missing`);
        assert.equal(entry.operationId, op.name, `${op.method} ${op.path}`);
        assert.equal(entry['x-iam-action'], op.action, `${op.name}: x-iam-action`);
        assert.equal(entry.requestBody !== undefined, op.body !== undefined, `${op.name}: requestBody`);
        if (op.body !== undefined) assert.equal(typeof entry.requestBody.content?.['application/json']?.schema, 'object', `${op.name}: body schema`);
        assert.ok(entry.responses?.[String(op.status)], `${op.name}: success response ${op.status}`);
        assert.ok(entry.responses?.default, `${op.name}: the error response`);
        // No credentials needed exactly when the catalogue says so.
        if (op.authentication === 'none') assert.deepEqual(entry.security, [], `${op.name}: security []`);
        else assert.equal(entry.security, undefined, `${op.name}: the document's security applies`);
      }
      assert.ok(Array.isArray(doc.security) && doc.security.length > 0);
    });

    test('every path of the document is served: never 404 APIGW.0101 or 405 KMS.0215; without credentials, 401', async () => {
      const failures: string[] = [];
      const byPath = new Map(e.operations.map((o) => [`${o.method} ${o.path}`, o]));
      for (const { path, method } of documentOperations(doc)) {
        const url = e.base() + path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(paramValue(name)));
        const res = await fetch(url, {
          method: method.toUpperCase(),
          ...(['post', 'put', 'patch'].includes(method) ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
        });
        const text = await res.text();
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { error?: { error_code?: string }; error_code?: string }).error?.error_code ?? JSON.parse(text).error_code;
        } catch {
          code = undefined;
        }
        const what = `${method.toUpperCase()} ${path} → ${res.status} ${text.slice(0, 160)}`;
        if (res.status === 404 && (code === 'APIGW.0101' || method === 'head')) failures.push(`not routed: ${what}`);
        else if (res.status === 405 || code === 'KMS.0215') failures.push(`method not allowed: ${what}`);
        else if (res.status >= 500) failures.push(`server error: ${what}`);
        else if (byPath.get(`${method.toUpperCase()} ${path}`)?.authentication === 'required' && res.status !== 401) failures.push(`expected 401 without credentials: ${what}`);
        if (!REQUEST_ID.test(res.headers.get('x-request-id') ?? '')) failures.push(`no X-Request-Id: ${what}`);
      }
      assert.deepEqual(failures, []);
    });

    test('control: a path that is not in the document answers 404 APIGW.0101, a documented path with another method 405 KMS.0215', async () => {
      const missing = await get(e.base(), '/no-such-api/at-all');
      assert.equal(missing.status, 404);
      assert.equal((missing.body as any)?.error_code, 'APIGW.0101', 'the gateway\'s flat error body');
      const { path } = documentOperations(doc).find((o) => o.method === 'post' && !documentOperations(doc).some((x) => x.path === o.path && x.method === 'get'))!;
      const wrong = await get(e.base(), path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(paramValue(name))));
      assert.equal(wrong.status, 405, wrong.text);
      assert.equal((wrong.body as any)?.error?.error_code, 'KMS.0215');
    });
  });
}
