/**
 * A region (and IAM) whose root key is in an HSM: the key lifecycle and cryptographic API suites run again with
 * every root key in a SoftHSM2 token (STRONGROOM_TEST_ROOT_KEY=softhsm, test/helpers/deployment.ts), in a process of
 * their own, since a process sees only the SoftHSM2 tokens that existed when it loaded the module.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const SUITES = ['test/kms-lifecycle.test.ts', 'test/kms-crypto.test.ts', 'test/asymmetric-api.test.ts', 'test/key-import.test.ts'];

test(`with root keys in SoftHSM2: ${SUITES.join(', ')} pass`, { timeout: 600_000 }, () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', ...SUITES], {
    // NODE_TEST_CONTEXT would make the inner runner report to this one instead of printing its results.
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, STRONGROOM_TEST_ROOT_KEY: 'softhsm' }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024,
  });
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(run.stdout)?.[1] ?? NaN);
  const failures = run.stdout.split('\n').filter((l) => /^\s*not ok /.test(l));
  assert.equal(run.status, 0, `the suites failed on SoftHSM2:\n${failures.join('\n')}\n${run.stderr.slice(-2000)}`);
  assert.ok(count('pass') > 100, `expected the suites' tests to run (${count('pass')} passed)`);
  assert.equal(count('fail'), 0);
});
