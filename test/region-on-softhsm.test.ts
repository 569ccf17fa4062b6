/**
 * A region (and IAM) whose root key is in an HSM: the key lifecycle and cryptographic API suites run again with
 * every root key in a SoftHSM2 token (STRONGROOM_TEST_ROOT_KEY=softhsm, test/helpers/deployment.ts), in a process of
 * their own, since a process sees only the SoftHSM2 tokens that existed when it loaded the module; and a whole
 * deployment started with `start --root-key pkcs11` as the README shows.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pkcs11Token } from '../src/keystore/pkcs11.js';
import { freePortRange, signedRequest } from './helpers/deployment.js';
import { softHsm } from './helpers/softhsm.js';

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

// -----------------------------------------------------------------------------------------------------------------
// `npm start -- --root-key pkcs11 …`: the README's five commands, as a user runs them.
// -----------------------------------------------------------------------------------------------------------------

const hsm = softHsm('launcher');
const root = mkdtempSync(join(tmpdir(), 'strongroom-hsm-start-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
  hsm.remove();
});

function launch(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...hsm.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, output: () => out };
}

async function untilUp(run: ReturnType<typeof launch>): Promise<void> {
  for (const deadline = Date.now() + 90_000; !run.output().includes('Press Ctrl-C to stop.'); await sleep(100)) {
    assert.ok(run.child.exitCode === null && Date.now() < deadline, `did not start:\n${run.output()}`);
  }
}

test('start --root-key pkcs11: root keys made in the token, kept in deployment.json without the PIN, used again on restart', { timeout: 300_000 }, async () => {
  const dir = join(root, 'data');
  const port = await freePortRange(3);
  const pkcs11 = ['--root-key', 'pkcs11', '--pkcs11-module', hsm.module, '--pkcs11-token', 'launcher'];

  // A wrong PIN is refused before anything is written.
  const badPin = join(root, 'bad-pin');
  writeFileSync(badPin, '9999\n', { mode: 0o600 });
  const refused = launch(['start', '--data-dir', dir, '--port', String(port), '--regions', 'cn-north-4,cn-south-1', ...pkcs11, '--pkcs11-pin-file', badPin]);
  assert.equal(await refused.exited, 1);
  assert.match(refused.output(), /cannot log in to the PKCS#11 token "launcher": CKR_PIN_INCORRECT/);
  assert.equal(existsSync(join(dir, 'deployment.json')), false, 'nothing written');

  const first = launch(['start', '--data-dir', dir, '--port', String(port), '--regions', 'cn-north-4,cn-south-1', ...pkcs11, '--pkcs11-pin-file', hsm.pinFile]);
  await untilUp(first);
  const deployment = JSON.parse(readFileSync(join(dir, 'deployment.json'), 'utf8'));
  assert.deepEqual(deployment.root_key, { type: 'pkcs11', module: hsm.module, token: 'launcher', pin_file: hsm.pinFile });
  assert.match(first.output(), /root keys PKCS#11 token "launcher"/);
  assert.equal(readFileSync(join(dir, 'deployment.json'), 'utf8').includes(hsm.pin + '"'), false, 'the PIN itself is not kept');
  for (const component of ['iam', 'regions/cn-north-4', 'regions/cn-south-1']) assert.equal(existsSync(join(dir, component, 'master.key')), false, `${component} has no key file`);
  const token = Pkcs11Token.open({ module: hsm.module, token: 'launcher', pin: hsm.pin });
  for (const label of ['strongroom-root-iam', 'strongroom-root-cn-north-4', 'strongroom-root-cn-south-1']) assert.ok(token.findSecretKey(label), `${label} is in the token`);
  token.close();

  const boot = JSON.parse(readFileSync(join(dir, 'bootstrap.json'), 'utf8'));
  const north = boot.regions.find((r: { id: string }) => r.id === 'cn-north-4');
  const creds = { ak: boot.access_key, sk: boot.secret_key };
  const call = (op: string, body: object) => signedRequest(north.endpoint, creds, north.project_id, 'POST', `/v1.0/${north.project_id}/kms/${op}`, body);
  const key = (await call('create-key', { key_alias: 'in-hsm' })).body as { key_info: { key_id: string } };
  const enc = (await call('encrypt-data', { key_id: key.key_info.key_id, plain_text: 'aHNt' })).body as { cipher_text: string };
  assert.ok(enc.cipher_text);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);

  // The token of the root keys is not lent to the accounts' keystores.
  const lent = launch(['hsm', 'register', 'hsm-root', '--module', hsm.module, '--token', 'launcher', '--pin-file', hsm.pinFile, '--data-dir', dir]);
  assert.equal(await lent.exited, 1);
  assert.match(lent.output(), /the token launcher holds this deployment's root keys/);
  assert.equal(JSON.parse(readFileSync(join(dir, 'deployment.json'), 'utf8')).hsm_clusters, undefined);

  // Another --root-key on this deployment would leave its keys unreadable: refused.
  const conflicting = launch(['start', '--data-dir', dir, '--root-key', 'file']);
  assert.equal(await conflicting.exited, 1);
  assert.match(conflicting.output(), /root keys in the PKCS#11 token "launcher"; --root-key would leave them unreadable/);

  const again = launch(['start', '--data-dir', dir]);
  await untilUp(again);
  await sleep(50);
  const dec = await call('decrypt-data', { cipher_text: enc.cipher_text });
  assert.equal(dec.status, 200, JSON.stringify(dec.body));
  assert.equal((dec.body as { plain_text: string }).plain_text, 'aHNt');
  again.child.kill('SIGTERM');
  assert.equal(await again.exited, 0);
});
