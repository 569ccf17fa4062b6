/**
 * examples/official-sdk.mjs, the README's official-signer example, run as a user runs it (`node
 * examples/official-sdk.mjs [--data-dir DIR]` in another process, from another folder) against a test deployment:
 * it creates an SM4 key, encrypts and decrypts with the official SDK core and prints the results (exit 0, and again
 * on a second run); a relative --data-dir is taken from the current directory; output into a closed pipe ends it quietly; a folder without bootstrap.json, an
 * API error and a connection refused exit 1 with one clear line; a usage error exits 2.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KEY_ID, startTestDeployment, type TestDeployment } from './helpers/deployment.js';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'official-sdk.mjs');

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the example in `cwd` (asynchronously: the deployment answers from this process). */
function run(cwd: string, args: string[], home: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd, env: { ...process.env, HOME: home }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** The last line of stderr: the example's own message, after whatever the SDK logged. */
const lastLine = (s: string) => s.trim().split('\n').at(-1) ?? '';

describe('examples/official-sdk.mjs', () => {
  let d: TestDeployment;
  let scratch: string;
  let home: string;

  before(async () => {
    d = await startTestDeployment();
    scratch = mkdtempSync(join(tmpdir(), 'strongroom-example-'));
    home = join(scratch, 'home'); // the SDK core writes ~/.huaweicloud
    mkdirSync(home);
  });
  after(async () => {
    await d?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** The three lines of a successful run, checked against the deployment. */
  async function expectSuccess(r: Run, region = 'cn-north-4'): Promise<void> {
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    const created = /^create-key +(\S+) +key_id (\S+) +alias (official-sdk-\S+)$/.exec(lines[0]!);
    assert.ok(created, lines[0]);
    const [, printedRegion, keyId, alias] = created;
    assert.equal(printedRegion, region);
    assert.match(keyId!, KEY_ID);
    const described = await d.kms(region, 'describe-key', { key_id: keyId });
    assert.equal(described.status, 200);
    assert.equal(described.body.key_info.key_alias, alias);
    assert.equal(described.body.key_info.key_spec, 'SM4');
    const encrypted = /^encrypt-data +cipher_text (\S+)$/.exec(lines[1]!);
    assert.ok(encrypted, lines[1]);
    const decrypted = await d.kms(region, 'decrypt-data', { cipher_text: encrypted[1] });
    assert.equal(decrypted.status, 200);
    assert.equal(decrypted.body.plain_text, 'hello from the official SDK');
    assert.equal(lines[2], 'decrypt-data  plain_text hello from the official SDK');
  }

  test('creates a key, encrypts and decrypts through the official SDK, and runs again as well', async () => {
    const first = await run(scratch, ['--data-dir', d.dir], home);
    await expectSuccess(first);
    const second = await run(scratch, ['--data-dir', d.dir], home);
    await expectSuccess(second);
    assert.notEqual(first.stdout.split('\n')[0], second.stdout.split('\n')[0], 'a new key each run');
  });

  test('a relative --data-dir is taken from the current directory; --region picks another region', async () => {
    await expectSuccess(await run(dirname(d.dir), ['--data-dir', basename(d.dir), '--region', 'cn-south-1'], home), 'cn-south-1');
  });

  test('without bootstrap.json (a folder with no deployment): exit 1 and where it looked', async () => {
    const empty = mkdtempSync(join(scratch, 'empty-'));
    const r = await run(empty, [], home);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^No bootstrap\\.json in ${join(empty, 'data').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: start a deployment`));
  });

  test('an API error (a wrong secret key) and an unreachable region: exit 1 with what failed', async () => {
    const boot = JSON.parse(readFileSync(join(d.dir, 'bootstrap.json'), 'utf8'));
    const wrongKey = mkdtempSync(join(scratch, 'wrong-key-'));
    writeFileSync(join(wrongKey, 'bootstrap.json'), JSON.stringify({ ...boot, secret_key: 'x'.repeat(boot.secret_key.length) }));
    const refused = await run(scratch, ['--data-dir', wrongKey], home);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(lastLine(refused.stderr), /^create-key: 401 APIGW\.0301 /);
    // --verbose lets the SDK's own log of the failed exchange through.
    const verbose = await run(scratch, ['--data-dir', wrongKey, '--verbose'], home);
    assert.equal(verbose.code, 1);
    assert.match(verbose.stdout, /Some error found/);
    assert.match(lastLine(verbose.stderr), /^create-key: 401 APIGW\.0301 /);

    const down = mkdtempSync(join(scratch, 'down-'));
    const regions = boot.regions.map((r: { endpoint: string }, i: number) => (i === 0 ? { ...r, endpoint: 'http://127.0.0.1:9' } : r));
    writeFileSync(join(down, 'bootstrap.json'), JSON.stringify({ ...boot, regions }));
    const unreachable = await run(scratch, ['--data-dir', down], home);
    assert.equal(unreachable.code, 1);
    assert.match(lastLine(unreachable.stderr), /^create-key: cannot reach http:\/\/127\.0\.0\.1:9 .*Is the deployment of .* running\?$/);
  });

  test('output into a pipe closed early (`| head -1`): exit 0, no stack trace', async () => {
    const child = spawn(process.execPath, [script, '--data-dir', d.dir], { cwd: scratch, env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // closed before the script's first line (it is written after create-key answers)
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  });

  test('usage errors: exit 2', async () => {
    const unknown = await run(scratch, ['--data-dir', d.dir, '--bogus'], home);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--bogus'\nusage: node examples\/official-sdk\.mjs/);
    const region = await run(scratch, ['--data-dir', d.dir, '--region', 'xx-nowhere-1'], home);
    assert.equal(region.code, 2);
    assert.match(region.stderr, /^No region xx-nowhere-1 in .*bootstrap\.json \(it has: cn-north-4, cn-south-1, cn-east-3\)/);
    const help = await run(scratch, ['--help'], home);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: node examples\/official-sdk\.mjs/);
  });
});
