/**
 * The crash-safety harness (chaos/harness.ts), short: a mixed load against a region process killed with SIGKILL at
 * random moments and started again; every acknowledged key, state, ciphertext, grant, rotation and replica must be
 * there after each restart. `npm run chaos -- --seconds N` runs it longer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChaos } from '../chaos/harness.js';

test('SIGKILL of a region under a mixed load loses no acknowledged write and no ciphertext', { timeout: 180_000 }, async () => {
  const result = await runChaos({ seconds: 15, workers: 3, killEveryMs: [2000, 4000], minKills: 2, log: (line) => console.log(`# ${line}`) });
  console.log(`# kills ${result.kills}, acknowledged ${result.acknowledged}, lost ${result.lost}`);
  assert.ok(result.kills >= 2, `${result.kills} kills`);
  assert.ok(result.acknowledged > 100, `${result.acknowledged} acknowledged`);
  assert.deepEqual(result.problems, []);
});
