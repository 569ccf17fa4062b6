/** The region's permission cache (regions/permission-cache.ts): hits, invalidation per account, races, bounds, age. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PermissionCache, type CallerPermissions } from '../src/regions/permission-cache.js';

const allowAll: CallerPermissions = { enabled: true, policies: [{ name: 'p', document: { Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['*'] }] } }] };

function counting(answer: () => CallerPermissions = () => allowAll) {
  const calls: string[] = [];
  return { calls, fetch: async (u: string, p: string) => (calls.push(`${u}/${p}`), answer()) };
}

test('a hit asks IAM nothing; invalidating the account asks again; other accounts keep their entries', async () => {
  const f = counting();
  const c = new PermissionCache(f.fetch);
  await c.get('u1', 'p1', 'd1');
  await c.get('u1', 'p1', 'd1');
  await c.get('u2', 'p2', 'd2');
  assert.deepEqual(f.calls, ['u1/p1', 'u2/p2']);
  c.invalidate(['d1']);
  await c.get('u1', 'p1', 'd1');
  await c.get('u2', 'p2', 'd2');
  assert.deepEqual(f.calls, ['u1/p1', 'u2/p2', 'u1/p1']);
  c.clear();
  await c.get('u2', 'p2', 'd2');
  assert.equal(f.calls.length, 4);
});

test('a fetch that raced an invalidation is answered but not kept', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls: number[] = [];
  const c = new PermissionCache(async () => (calls.push(1), await gate, allowAll));
  const pending = c.get('u1', 'p1', 'd1');
  c.invalidate(['d1']); // a change arrives while IAM answers
  release();
  await pending;
  assert.equal(c.size, 0);
  const again = c.get('u1', 'p1', 'd1');
  await again;
  assert.equal(calls.length, 2);
  assert.equal(c.size, 1);
});

test('the cache is bounded (least recently used first) and entries expire', async () => {
  const f = counting();
  const c = new PermissionCache(f.fetch, 2, 50);
  await c.get('a', 'p', 'd');
  await c.get('b', 'p', 'd');
  await c.get('a', 'p', 'd'); // a is now the most recent
  await c.get('c', 'p', 'd'); // evicts b
  assert.equal(c.size, 2);
  await c.get('a', 'p', 'd');
  await c.get('b', 'p', 'd');
  assert.deepEqual(f.calls, ['a/p', 'b/p', 'c/p', 'b/p']);
  await new Promise((r) => setTimeout(r, 60));
  await c.get('b', 'p', 'd');
  assert.equal(f.calls.at(-1), 'b/p');
  assert.equal(f.calls.length, 5, 'fetched again once too old');
  await c.get('b', 'p', 'd', { fresh: true });
  assert.equal(f.calls.length, 6, 'fresh asks IAM');
});
