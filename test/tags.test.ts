/**
 * Tags of keys (docs/reference/huawei-kms-api.md §2 K, §4 K 44–49; issue #8): one tag, a batch create or delete, delete
 * one, a key's tags, the project's tags, tags on replicate, and the query of keys by tags (`resource_instances/action`)
 * checked against a brute-force filter of the same keys. Every error case asserts the exact status and code.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { expectError, signedRequest, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
/** A region only the brute-force test creates keys in, so its counts are exact. */
const QUERY_R = 'cn-east-3';
const UNKNOWN_KEY = '00000000-0000-4000-8000-000000000000';

let d: TestDeployment;
before(async () => (d = await startTestDeployment()));
after(() => d.stop());

let counter = 0;
const uniqueAlias = (prefix = 'tag') => `${prefix}-${++counter}-${randomUUID().slice(0, 8)}`;

function call(region: string, method: string, path: string, body?: object): Promise<Reply> {
  return signedRequest(d.endpoint(region), d.admin, d.projectId(region), method, `/v1.0/${d.projectId(region)}/kms/${path}`, body);
}

async function newKey(region = R, alias = uniqueAlias()): Promise<string> {
  const r = await d.kms(region, 'create-key', { key_alias: alias });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.key_info.key_id;
}

async function tagsOf(keyId: string, region = R): Promise<{ tags: { key: string; value: string }[]; existTagsNum: number }> {
  const r = await call(region, 'GET', `${keyId}/tags`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

function expectNoContent(r: Reply): void {
  assert.equal(r.status, 204, `expected 204, got ${r.status} ${JSON.stringify(r.body)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// CreateKmsTag, ShowKmsTags, DeleteTag

test('create-tag adds a tag (204), changes the value of a tag key the key carries, and show lists them with existTagsNum', async () => {
  const key = await newKey();
  assert.deepEqual(await tagsOf(key), { tags: [], existTagsNum: 0 });
  expectNoContent(await call(R, 'POST', `${key}/tags`, { tag: { key: 'env', value: 'test' } }));
  expectNoContent(await call(R, 'POST', `${key}/tags`, { tag: { key: 'team', value: '' } }));
  expectNoContent(await call(R, 'POST', `${key}/tags`, { tag: { key: 'env', value: 'prod' } }));
  expectNoContent(await call(R, 'POST', `${key}/tags`, { tag: { key: 'owner' } }));
  assert.deepEqual(await tagsOf(key), {
    tags: [{ key: 'env', value: 'prod' }, { key: 'owner', value: '' }, { key: 'team', value: '' }],
    existTagsNum: 3,
  });
});

test('create-tag refuses bad tag keys and values with their own codes, and changes nothing', async () => {
  const key = await newKey();
  const cases: [object, string][] = [
    [{ key: 'bad*key', value: 'x' }, 'KMS.0406'],
    [{ key: 'bad=key', value: 'x' }, 'KMS.0406'],
    [{ key: 'a<b', value: 'x' }, 'KMS.0406'],
    [{ key: 'tab\tkey', value: 'x' }, 'KMS.0406'],
    [{ key: '', value: 'x' }, 'KMS.0411'],
    [{ key: 'k'.repeat(37), value: 'x' }, 'KMS.0411'],
    [{ key: 'ok', value: 'v'.repeat(44) }, 'KMS.0410'],
    [{ key: 'ok', value: 'a=b' }, 'KMS.0405'],
    [{ key: 'ok', value: 'a\\b' }, 'KMS.0405'],
  ];
  for (const [tag, code] of cases) expectError(await call(R, 'POST', `${key}/tags`, { tag }), 400, code);
  // The longest allowed key and value pass.
  expectNoContent(await call(R, 'POST', `${key}/tags`, { tag: { key: 'k'.repeat(36), value: 'v'.repeat(43) } }));
  assert.equal((await tagsOf(key)).existTagsNum, 1);
});

test('a key carries at most 10 tags: the 11th is refused with KMS.0409, changing a carried one still works', async () => {
  const key = await newKey();
  for (let i = 0; i < 10; i++) expectNoContent(await call(R, 'POST', `${key}/tags`, { tag: { key: `k${i}`, value: `${i}` } }));
  expectError(await call(R, 'POST', `${key}/tags`, { tag: { key: 'k10', value: 'x' } }), 400, 'KMS.0409');
  expectNoContent(await call(R, 'POST', `${key}/tags`, { tag: { key: 'k3', value: 'changed' } }));
  const { tags, existTagsNum } = await tagsOf(key);
  assert.equal(existTagsNum, 10);
  assert.equal(tags.find((t) => t.key === 'k3')?.value, 'changed');
});

test('tag operations on a key that does not exist answer 404 KMS.0207; a malformed key id 400 KMS.0205', async () => {
  expectError(await call(R, 'POST', `${UNKNOWN_KEY}/tags`, { tag: { key: 'a', value: 'b' } }), 404, 'KMS.0207');
  expectError(await call(R, 'POST', `${UNKNOWN_KEY}/tags/action`, { action: 'create', tags: [{ key: 'a', value: 'b' }] }), 404, 'KMS.0207');
  expectError(await call(R, 'GET', `${UNKNOWN_KEY}/tags`), 404, 'KMS.0207');
  expectError(await call(R, 'DELETE', `${UNKNOWN_KEY}/tags/a`), 404, 'KMS.0207');
  expectError(await call(R, 'GET', 'not-a-key-id/tags'), 400, 'KMS.0205');
});

test('a key of another region is not found in this region (tags belong to a region)', async () => {
  const key = await newKey('cn-south-1');
  expectError(await call(R, 'GET', `${key}/tags`), 404, 'KMS.0207');
});

test('delete-tag removes one tag (204, the tag key URL-encoded); a tag the key does not carry is 404 KMS.0416', async () => {
  const key = await newKey();
  expectNoContent(await call(R, 'POST', `${key}/tags/action`, { action: 'create', tags: [{ key: 'cost center', value: '42' }, { key: 'env', value: 'x' }] }));
  expectNoContent(await call(R, 'DELETE', `${key}/tags/${encodeURIComponent('cost center')}`));
  assert.deepEqual((await tagsOf(key)).tags, [{ key: 'env', value: 'x' }]);
  expectError(await call(R, 'DELETE', `${key}/tags/${encodeURIComponent('cost center')}`), 404, 'KMS.0416');
  expectError(await call(R, 'DELETE', `${key}/tags/${encodeURIComponent('a*b')}`), 400, 'KMS.0406');
  assert.deepEqual((await tagsOf(key)).tags, [{ key: 'env', value: 'x' }]);
});

// ---------------------------------------------------------------------------------------------------------------
// BatchCreateKmsTags

test('batch create and delete tags (204), as Terraform calls it; deleting a tag key the key does not carry is not an error', async () => {
  const key = await newKey();
  expectNoContent(await call(R, 'POST', `${key}/tags/action`, { action: 'create', tags: [{ key: 'env', value: 'conformance' }, { key: 'run', value: 'c2cd2896' }] }));
  assert.deepEqual(await tagsOf(key), { tags: [{ key: 'env', value: 'conformance' }, { key: 'run', value: 'c2cd2896' }], existTagsNum: 2 });
  expectNoContent(await call(R, 'POST', `${key}/tags/action`, { action: 'delete', tags: [{ key: 'env', value: 'conformance' }, { key: 'never-set' }] }));
  assert.deepEqual(await tagsOf(key), { tags: [{ key: 'run', value: 'c2cd2896' }], existTagsNum: 1 });
});

test('batch errors: bad action KMS.0404, empty list KMS.0401, a repeated tag key KMS.0412, past 10 tags KMS.0409, a bad tag KMS.0406; none changes anything', async () => {
  const key = await newKey();
  expectNoContent(await call(R, 'POST', `${key}/tags/action`, { action: 'create', tags: Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, value: 'v' })) }));
  const before = await tagsOf(key);
  expectError(await call(R, 'POST', `${key}/tags/action`, { action: 'update', tags: [{ key: 'a', value: 'b' }] }), 400, 'KMS.0404');
  expectError(await call(R, 'POST', `${key}/tags/action`, { action: 'create', tags: [] }), 400, 'KMS.0401');
  expectError(await call(R, 'POST', `${key}/tags/action`, { action: 'delete', tags: Array.from({ length: 21 }, (_, i) => ({ key: `z${i}` })) }), 400, 'KMS.0409');
  expectError(await call(R, 'POST', `${key}/tags/action`, { action: 'create', tags: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] }), 400, 'KMS.0412');
  expectError(await call(R, 'POST', `${key}/tags/action`, { action: 'create', tags: [{ key: 'x1', value: '' }, { key: 'x2', value: '' }, { key: 'x3', value: '' }] }), 400, 'KMS.0409');
  expectError(await call(R, 'POST', `${key}/tags/action`, { action: 'create', tags: [{ key: 'fine', value: '' }, { key: 'no=pe', value: '' }] }), 400, 'KMS.0406');
  assert.deepEqual(await tagsOf(key), before);
  // Replacing two and adding two lands exactly at 10.
  expectNoContent(await call(R, 'POST', `${key}/tags/action`, { action: 'create', tags: [{ key: 'k0', value: 'new' }, { key: 'x1', value: '' }, { key: 'x2', value: '' }] }));
  assert.equal((await tagsOf(key)).existTagsNum, 10);
});

// ---------------------------------------------------------------------------------------------------------------
// ListKmsTags

test('list-tags answers every tag key of the project with its distinct values', async () => {
  const a = await newKey();
  const b = await newKey();
  const marker = `lt-${randomUUID().slice(0, 8)}`;
  expectNoContent(await call(R, 'POST', `${a}/tags/action`, { action: 'create', tags: [{ key: marker, value: 'one' }, { key: `${marker}-solo`, value: 'x' }] }));
  expectNoContent(await call(R, 'POST', `${b}/tags/action`, { action: 'create', tags: [{ key: marker, value: 'two' }] }));
  const c = await newKey();
  expectNoContent(await call(R, 'POST', `${c}/tags`, { tag: { key: marker, value: 'one' } }));
  const r = await call(R, 'GET', 'tags');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const mine = (r.body.tags as { key: string; values: string[] }[]).filter((t) => t.key.startsWith(marker));
  assert.deepEqual(mine, [{ key: marker, values: ['one', 'two'] }, { key: `${marker}-solo`, values: ['x'] }]);
});

// ---------------------------------------------------------------------------------------------------------------
// Tags on replicate

test('replicate with tags: the replica starts with them, and from then on each region keeps its own', async () => {
  const key = await newKey();
  expectNoContent(await call(R, 'POST', `${key}/tags`, { tag: { key: 'origin', value: 'primary' } }));
  const to = 'cn-south-1';
  const rep = await signedRequest(d.endpoint(R), d.admin, d.projectId(R), 'POST', `/v2/${d.projectId(R)}/kms/keys/${key}/replicate`, {
    replica_region: to, key_alias: uniqueAlias('rep'), replica_project_id: d.projectId(to), tags: [{ key: 'env', value: 'replica' }, { key: 'bare' }],
  });
  assert.equal(rep.status, 200, JSON.stringify(rep.body));
  assert.deepEqual(await tagsOf(key, to), { tags: [{ key: 'bare', value: '' }, { key: 'env', value: 'replica' }], existTagsNum: 2 });
  assert.deepEqual((await tagsOf(key, R)).tags, [{ key: 'origin', value: 'primary' }]);
  expectNoContent(await call(to, 'DELETE', `${key}/tags/env`));
  assert.deepEqual((await tagsOf(key, R)).tags, [{ key: 'origin', value: 'primary' }]);
});

test('replicate refuses bad tags with the tag codes and creates no replica', async () => {
  const key = await newKey();
  const to = 'cn-south-1';
  const replicate = (tags: object[]) => signedRequest(d.endpoint(R), d.admin, d.projectId(R), 'POST', `/v2/${d.projectId(R)}/kms/keys/${key}/replicate`, {
    replica_region: to, key_alias: uniqueAlias('rep'), replica_project_id: d.projectId(to), tags,
  });
  expectError(await replicate([{ key: 'a*', value: '' }]), 400, 'KMS.0406');
  expectError(await replicate([{ key: 'a', value: '1' }, { key: 'a', value: '2' }]), 400, 'KMS.0412');
  expectError(await replicate(Array.from({ length: 11 }, (_, i) => ({ key: `k${i}` }))), 400, 'KMS.0409');
  expectError(await call(to, 'GET', `${key}/tags`), 404, 'KMS.0207');
});

// ---------------------------------------------------------------------------------------------------------------
// ListKmsByTags (resource_instances/action)

test('resource_instances/action filter answers {total_count, resources:[{key_details, tags}]}, count answers total_count only', async () => {
  const run = randomUUID().slice(0, 8);
  const key = await newKey(R, `res-${run}`);
  expectNoContent(await call(R, 'POST', `${key}/tags/action`, { action: 'create', tags: [{ key: 'sdkcheck-run', value: run }] }));
  // The official SDK sends limit and offset as strings.
  const f = await call(R, 'POST', 'resource_instances/action', { limit: '10', offset: '0', action: 'filter', tags: [{ key: 'sdkcheck-run', values: [run] }] });
  assert.equal(f.status, 200, JSON.stringify(f.body));
  assert.deepEqual(Object.keys(f.body).sort(), ['resources', 'total_count']);
  assert.equal(f.body.total_count, 1);
  const [res] = f.body.resources;
  assert.deepEqual(Object.keys(res).sort(), ['key_details', 'resource_detail', 'resource_id', 'resource_name', 'tags']);
  assert.equal(res.key_details.key_id, key);
  assert.deepEqual(res.resource_detail, res.key_details, 'Terraform reads resource_detail, cloud-custodian key_details');
  assert.equal(res.resource_id, key);
  assert.equal(res.resource_name, `res-${run}`);
  assert.equal(res.key_details.key_alias, `res-${run}`);
  // The same KeyDetails describe-key answers, every field of it.
  const described = await d.kms(R, 'describe-key', { key_id: key });
  assert.deepEqual(res.key_details, described.body.key_info);
  assert.equal(res.key_details.keystore_type, 'DEFAULT');
  assert.equal(res.key_details.multi_region_key_type, 'SINGLE');
  assert.equal(res.key_details.pending_days, '');
  assert.deepEqual(res.tags, [{ key: 'sdkcheck-run', value: run }]);
  // Terraform sends offset as a number; OTC's examples send empty strings for none.
  assert.equal((await call(R, 'POST', 'resource_instances/action', { action: 'filter', limit: 1000, offset: 0, tags: [{ key: 'sdkcheck-run', values: [run] }] })).body.total_count, 1);
  assert.equal((await call(R, 'POST', 'resource_instances/action', { action: 'filter', limit: '', offset: '', tags: [{ key: 'sdkcheck-run', values: [run] }] })).body.resources.length, 1);
  const c = await call(R, 'POST', 'resource_instances/action', { action: 'count', tags: [{ key: 'sdkcheck-run', values: [run] }] });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.deepEqual(c.body, { total_count: 1 });
});

test('resource_instances/action errors: action KMS.0404, count with offset KMS.0418, limit KMS.1601, offset KMS.0417, match key KMS.0403, match value KMS.0402, too many filters KMS.0414/0415, too many values KMS.0413, repeated key KMS.0412', async () => {
  const q = (body: object) => call(R, 'POST', 'resource_instances/action', body);
  expectError(await q({ action: 'list' }), 400, 'KMS.0404');
  expectError(await q({ action: 'count', offset: '0' }), 400, 'KMS.0418');
  expectError(await q({ action: 'filter', limit: '0' }), 400, 'KMS.1601');
  expectError(await q({ action: 'filter', limit: '1001' }), 400, 'KMS.1601');
  expectError(await q({ action: 'filter', limit: 'ten' }), 400, 'KMS.1601');
  expectError(await q({ action: 'filter', offset: '-1' }), 400, 'KMS.0417');
  expectError(await q({ action: 'filter', matches: [{ key: 'resource_id', value: 'x' }] }), 400, 'KMS.0403');
  expectError(await q({ action: 'filter', matches: [{ key: 'resource_name', value: '' }] }), 400, 'KMS.0402');
  expectError(await q({ action: 'filter', tags: Array.from({ length: 11 }, (_, i) => ({ key: `k${i}`, values: [] })) }), 400, 'KMS.0414');
  expectError(await q({ action: 'filter', matches: Array.from({ length: 11 }, () => ({ key: 'resource_name', value: 'x' })) }), 400, 'KMS.0415');
  expectError(await q({ action: 'filter', tags: [{ key: 'k', values: Array.from({ length: 11 }, (_, i) => `${i}`) }] }), 400, 'KMS.0413');
  expectError(await q({ action: 'filter', tags: [{ key: 'k', values: [] }, { key: 'k', values: ['x'] }] }), 400, 'KMS.0412');
  expectError(await q({ action: 'filter', tags: [{ key: 'k=1', values: [] }] }), 400, 'KMS.0406');
});

test('resource_instances/action agrees with a brute-force filter for several tags, matches and every page', async () => {
  // A seeded generator: the same keys and queries on every run, so a failure can be reproduced.
  let seed = 0x5eed;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const vocabulary = { env: ['dev', 'test', 'prod'], team: ['a', 'b'], tier: ['1', '2', '3', '4'] } as Record<string, string[]>;
  const keys: { id: string; alias: string; tags: Map<string, string> }[] = [];
  for (let i = 0; i < 24; i++) {
    const alias = `${['red', 'green', 'blue'][rnd(3)]}-${i}-${randomUUID().slice(0, 6)}`;
    const id = await newKey(QUERY_R, alias);
    const tags = new Map<string, string>();
    for (const [k, values] of Object.entries(vocabulary)) if (rnd(3) > 0) tags.set(k, values[rnd(values.length)]);
    if (tags.size > 0) expectNoContent(await call(QUERY_R, 'POST', `${id}/tags/action`, { action: 'create', tags: [...tags].map(([key, value]) => ({ key, value })) }));
    keys.push({ id, alias, tags });
  }
  // One key scheduled for deletion still counts (it is not destroyed yet).
  assert.equal((await d.kms(QUERY_R, 'schedule-key-deletion', { key_id: keys[0].id, pending_days: '7' })).status, 200);

  const queries: { tags: { key: string; values: string[] }[]; matches?: { key: string; value: string }[] }[] = [
    { tags: [] },
    { tags: [{ key: 'env', values: ['prod'] }] },
    { tags: [{ key: 'env', values: ['dev', 'test'] }] },
    { tags: [{ key: 'env', values: [] }] },
    { tags: [{ key: 'env', values: ['prod', 'dev'] }, { key: 'team', values: ['a'] }] },
    { tags: [{ key: 'env', values: [] }, { key: 'team', values: [] }, { key: 'tier', values: ['1', '4'] }] },
    { tags: [{ key: 'tier', values: ['2'] }], matches: [{ key: 'resource_name', value: 'blue' }] },
    { tags: [], matches: [{ key: 'resource_name', value: 'red' }] },
    { tags: [{ key: 'absent', values: [] }] },
  ];
  for (const query of queries) {
    const expected = keys
      .filter((k) => query.tags.every((f) => k.tags.has(f.key) && (f.values.length === 0 || f.values.includes(k.tags.get(f.key)!))))
      .filter((k) => (query.matches ?? []).every((m) => k.alias.includes(m.value)))
      .reverse(); // newest first
    const label = JSON.stringify(query);
    const count = await call(QUERY_R, 'POST', 'resource_instances/action', { action: 'count', ...query });
    assert.deepEqual(count.body, { total_count: expected.length }, label);
    const got: string[] = [];
    for (let offset = 0; ; offset += 5) {
      const page = await call(QUERY_R, 'POST', 'resource_instances/action', { action: 'filter', limit: '5', offset: String(offset), ...query });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.equal(page.body.total_count, expected.length, label);
      for (const r of page.body.resources) {
        const k = keys.find((x) => x.id === r.key_details.key_id)!;
        assert.deepEqual(r.tags, [...k.tags].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({ key, value })), label);
        got.push(r.key_details.key_id);
      }
      if (page.body.resources.length < 5) break;
    }
    assert.deepEqual(got, expected.map((k) => k.id), label);
  }
});
