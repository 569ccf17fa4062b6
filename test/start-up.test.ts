/**
 * A start-up that tells the truth (`strongroom start`, `npm start`): busy ports refused before anything is written,
 * options kept in deployment.json and reused, conflicting options refused, one launcher per data directory,
 * credentials printed on the first start only, the banner's example working when pasted twice, and SIGTERM to
 * `npm start` or to any one process of the tree stopping the whole deployment.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePortRange } from './helpers/deployment.js';

const root = mkdtempSync(join(tmpdir(), 'strongroom-startup-'));
after(() => rmSync(root, { recursive: true, force: true }));
const MAIN = ['--import', 'tsx', 'src/cli/main.ts'];

interface Run {
  child: ChildProcess;
  output: () => string;
}

function launch(command: string, args: string[]): Run {
  const child = spawn(command, args, { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  return { child, output: () => out };
}

const startArgs = (dir: string, extra: string[] = []) => [...MAIN, 'start', '--data-dir', dir, ...extra];

async function untilUp(run: Run): Promise<void> {
  for (const deadline = Date.now() + 90_000; !run.output().includes('Press Ctrl-C to stop.'); await sleep(100)) {
    assert.ok(run.child.exitCode === null && Date.now() < deadline, `did not start:\n${run.output()}`);
  }
}

const exited = (run: Run) => new Promise<number | null>((r) => (run.child.exitCode !== null ? r(run.child.exitCode) : run.child.once('exit', (code) => r(code))));

/** Runs `start` that is expected to refuse: its exit code and output. */
function refused(args: string[]): { status: number; output: string } {
  try {
    execFileSync(process.execPath, args, { cwd: process.cwd(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    return { status: 0, output: '' };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { status: e.status, output: e.stdout + e.stderr };
  }
}

/** Pids of processes whose command line names `dir`. */
function processesOf(dir: string): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
    try {
      return readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(dir);
    } catch {
      return false;
    }
  }).map(Number);
}

async function noneLeft(dir: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; processesOf(dir).length > 0; await sleep(100)) {
    assert.ok(Date.now() < deadline, `processes left running: ${processesOf(dir).join(', ')}`);
  }
}

const listen = (port: number) => new Promise<Server>((resolve, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(port, '127.0.0.1', () => resolve(s));
});

test('busy ports are refused before anything is written; nothing is left behind', async () => {
  const dir = join(root, 'busy');
  const base = await freePortRange(4);
  const squatter = await listen(base + 2);
  try {
    const r = refused(startArgs(dir, ['--port', String(base)]));
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, new RegExp(`port ${base + 2} \\(region cn-south-1\\) on 127\\.0\\.0\\.1 is in use`));
    assert.match(r.output, /nothing was started or written/);
    assert.equal(existsSync(dir), false, 'the data directory was not even created');
    assert.doesNotMatch(r.output, /is up/);
  } finally {
    squatter.close();
  }
});

test('a seed file with a mistake is refused before anything is started or written', () => {
  const dir = join(root, 'bad-seed');
  const file = join(root, 'bad-seed.yaml');
  writeFileSync(file, 'keys:\n  - region: cn-north-4\n    key_id: 6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a6b\n    key_spec: AES_999\n');
  const r = refused(startArgs(dir, ['--seed', file]));
  assert.equal(r.status, 1, r.output);
  assert.match(r.output, /keys\[0\]\.key_spec/);
  assert.equal(existsSync(dir), false);
});

test('options are kept and reused, conflicting ones refused; one launcher per directory; credentials shown once; the example pastes twice', async () => {
  const dir = join(root, 'kept');
  const base = await freePortRange(3);
  const first = launch(process.execPath, startArgs(dir, ['--port', String(base), '--regions', 'cn-north-4,cn-south-1']));
  await untilUp(first);
  const boot = JSON.parse(readFileSync(join(dir, 'bootstrap.json'), 'utf8'));
  assert.ok(first.output().includes(boot.password) && first.output().includes(boot.secret_key), 'the first start shows the credentials');

  // A second launcher on the same directory: refused, the running one untouched.
  const second = refused(startArgs(dir));
  assert.equal(second.status, 1);
  assert.match(second.output, /already running \(launcher pid \d+\)/);

  // The banner's example, pasted twice into bash: a token, then a new key each time.
  const tryIt = first.output().split('Try it:\n')[1]!.split('\n\nPress Ctrl-C')[0]!.split('\n');
  const snippet = tryIt.filter((l) => !l.includes('npx strongroom')).join('\n');
  for (let i = 0; i < 2; i++) {
    const answer = JSON.parse(execFileSync('bash', ['-c', snippet], { encoding: 'utf8' }));
    assert.match(answer.key_info.key_id, /^[0-9a-f-]{36}$/, JSON.stringify(answer));
  }
  const endpoints = readFileSync(join(dir, 'deployment.json'), 'utf8');
  first.child.kill('SIGINT');
  assert.equal(await exited(first), 0);
  await noneLeft(dir);
  assert.equal(existsSync(join(dir, 'launcher.pid')), false);

  // Conflicting options: refused with what the deployment keeps, nothing rewritten.
  for (const [args, says] of [
    [['--port', String(base + 10)], `uses ports from ${base}`],
    [['--regions', 'cn-north-4'], 'would stop serving cn-south-1 and its keys'],
    [['--regions', 'cn-south-1,cn-north-4'], 'in that order'],
    [['--host', '127.0.0.2'], 'listens on 127.0.0.1'],
  ] as const) {
    const r = refused(startArgs(dir, [...args]));
    assert.equal(r.status, 1, r.output);
    assert.ok(r.output.includes(says), `${args.join(' ')}: ${r.output}`);
    assert.equal(readFileSync(join(dir, 'deployment.json'), 'utf8'), endpoints);
  }

  // Without bootstrap.json (lost), a start says so instead of making a second account.
  renameSync(join(dir, 'bootstrap.json'), join(dir, 'bootstrap.saved'));
  const lost = refused(startArgs(dir));
  assert.equal(lost.status, 1);
  assert.match(lost.output, /bootstrap\.json is missing, but this deployment's IAM already holds the account strongroom/);
  assert.equal(existsSync(join(dir, 'launcher.pid')), false);
  renameSync(join(dir, 'bootstrap.saved'), join(dir, 'bootstrap.json'));

  // A restart without options: the same ports and regions; the password is not shown again.
  const again = launch(process.execPath, startArgs(dir));
  await untilUp(again);
  assert.match(again.output(), /existing data/);
  assert.ok(again.output().includes(`http://127.0.0.1:${base + 2}`), again.output());
  assert.ok(!again.output().includes(boot.password) && !again.output().includes(boot.secret_key), 'no credentials on a later start');
  assert.ok(again.output().includes(join(dir, 'bootstrap.json')), 'it says where they are');
  for (const port of [base, base + 1, base + 2]) {
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json() as { component: string };
    assert.equal(health.component, port === base ? 'iam' : 'region');
  }

  // SIGTERM to one process of the tree (a region) stops the whole deployment.
  const region = processesOf(dir).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('serve-region'))!;
  process.kill(region, 'SIGTERM');
  assert.equal(await exited(again), 0);
  assert.match(again.output(), /region-cn-\S+ was stopped \(exit 0\); stopping the deployment/);
  await noneLeft(dir);
});

test('SIGTERM to the `npm start` process stops the launcher and every server', async () => {
  const dir = join(root, 'npm');
  const base = await freePortRange(2);
  const run = launch('npm', ['start', '--', '--data-dir', dir, '--port', String(base), '--regions', 'cn-north-4']);
  await untilUp(run);
  assert.ok(processesOf(dir).length >= 3, 'npm, the launcher, IAM and the region run');
  run.child.kill('SIGTERM');
  await noneLeft(dir);
  await assert.rejects(fetch(`http://127.0.0.1:${base}/healthz`), 'IAM is gone');
  await assert.rejects(fetch(`http://127.0.0.1:${base + 1}/healthz`), 'the region is gone');
  assert.equal(existsSync(join(dir, 'launcher.pid')), false);
});
