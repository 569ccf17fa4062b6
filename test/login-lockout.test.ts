/**
 * Password login protection (src/iam/login-guard.ts) on a running IAM endpoint whose clock the tests move:
 * Huawei's account lockout (5 wrong passwords within 15 minutes lock the user for 15 minutes; while locked even the
 * right password is `401 IAM.0061`), failures outside the window not counting, a success forgetting them, the lock
 * kept across an IAM restart and lifted by an administrator's new password; and the per-source limit: a flood of
 * wrong logins over 32 connections from 127.0.0.2 is answered quickly with `429 APIGW.0308` while a user's right
 * password from 127.0.0.1 still gets a token well within a second.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { bootstrap, type BootstrapFile } from '../src/cli/bootstrap.js';
import { iamDir, planDeployment, topologyOf, type DeploymentFile } from '../src/deployment.js';
import { LOGIN_LOCKOUT, LOGIN_SOURCE_LIMITS, FairGate } from '../src/iam/login-guard.js';
import { startIam } from '../src/iam-server.js';
import type { RunningServer } from '../src/region-server.js';
import { expectError, freePortRange, signedRequest, type Reply } from './helpers/deployment.js';

const MINUTE = 60_000;

let dir: string;
let deployment: DeploymentFile;
let boot: BootstrapFile;
let iam: RunningServer | undefined;
/** IAM's clock: real time plus an offset the tests move forward. */
let offset = 0;
const clock = () => Date.now() + offset;

async function startIamOnly(): Promise<void> {
  iam = await startIam({
    dataDir: iamDir(dir), topology: topologyOf(deployment), internalSecret: Buffer.from(deployment.internal_secret, 'hex'),
    iamEndpoint: deployment.iam.endpoint, host: '127.0.0.1', port: deployment.iam.port, logger: false, checkResponses: true, clock,
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strongroom-lockout-'));
  deployment = planDeployment(dir, { host: '127.0.0.1', basePort: await freePortRange(2), regions: ['cn-north-4'] });
  boot = (await bootstrap(dir, deployment)).file;
  await startIamOnly();
});
after(async () => {
  await iam?.close();
  rmSync(dir, { recursive: true, force: true });
});

const admin = () => ({ ak: boot.access_key, sk: boot.secret_key });
const iamCall = (method: string, path: string, body?: object) => signedRequest(deployment.iam.endpoint, admin(), undefined, method, path, body);

/** A new user of the bootstrap account (no permissions needed to log in). */
async function newUser(name: string): Promise<{ id: string; name: string; password: string }> {
  const password = `${name}-Passw0rd!`;
  const r = await iamCall('POST', '/v3.0/OS-USER/users', { user: { name, domain_id: boot.domain_id, password } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.user.id, name, password };
}

/** A password login sent from a loopback address of the caller's choice (the per-source limit is per address). */
function loginFrom(localAddress: string, user: { domain?: string; name: string; password: string }, agent?: Agent): Promise<Reply> {
  const url = new URL(deployment.iam.endpoint);
  const body = JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { domain: { name: user.domain ?? boot.domain_name }, name: user.name, password: user.password } } } } });
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname, port: url.port, path: '/v3/auth/tokens', method: 'POST', localAddress, agent: agent ?? false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve({ status: res.statusCode!, headers, body: text === '' ? undefined : JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Each lockout test logs in from its own loopback address, so the wrong passwords of one test do not use up the
 * per-source budget of the next (that budget is tested below).
 */
let source = '127.0.0.1';
let sources = 10;
const nextSource = () => (source = `127.0.1.${sources++}`);

const login = (u: { name: string; password: string }, password = u.password): Promise<Reply> => loginFrom(source, { name: u.name, password });

async function wrong(u: { name: string; password: string }, times: number): Promise<void> {
  for (let i = 0; i < times; i++) expectError(await login(u, `${u.password}-wrong-${i}`), 401, 'IAM.0002');
}

describe('account lockout (Huawei: 5 failures within 15 minutes lock for 15 minutes)', () => {
  beforeEach(nextSource);
  test('the policy numbers are Huawei\'s', () => {
    assert.deepEqual({ ...LOGIN_LOCKOUT }, { maxFailures: 5, windowMs: 15 * MINUTE, durationMs: 15 * MINUTE });
  });

  test('5 wrong passwords, then the right one: 401 IAM.0061 (nested IAM body); other users are not affected', async () => {
    const u = await newUser('lock-basic');
    const bystander = await newUser('lock-bystander');
    await wrong(u, 5);
    const locked = await login(u);
    expectError(locked, 401, 'IAM.0061');
    assert.match(locked.body.error.error_msg, /^Account locked\. /);
    assert.equal(locked.headers.get('x-subject-token'), null);
    expectError(await login(u, 'still-wrong-1'), 401, 'IAM.0061');
    assert.equal((await login(bystander)).status, 201);
  });

  test('parallel wrong passwords cannot outrun the lockout: at most 5 are checked, then the right one is locked out too', async () => {
    const u = await newUser('lock-parallel');
    // From several addresses at once (the per-source limits are not what stops them here).
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => loginFrom(`127.0.2.${i + 1}`, { name: u.name, password: `${u.password}-guess-${i}` })));
    const codes = answers.map((r) => r.body?.error?.error_code ?? r.body?.error_code);
    assert.ok(codes.filter((c) => c === 'IAM.0002').length <= LOGIN_LOCKOUT.maxFailures, JSON.stringify(codes));
    assert.equal(codes.filter((c) => c === 'IAM.0002').length + codes.filter((c) => c === 'IAM.0061').length, 12, JSON.stringify(codes));
    expectError(await login(u), 401, 'IAM.0061');
  });

  test('a wrong original password when changing one\'s own password counts as a failed login', async () => {
    const u = await newUser('lock-change');
    const t = await login(u);
    assert.equal(t.status, 201);
    const token = t.headers.get('x-subject-token')!;
    for (let i = 0; i < LOGIN_LOCKOUT.maxFailures; i++) {
      const r = await fetch(`${deployment.iam.endpoint}/v3/users/${u.id}/password`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'X-Auth-Token': token },
        body: JSON.stringify({ user: { original_password: `${u.password}-wrong-${i}`, password: `${u.password}-New1` } }),
      });
      assert.equal(r.status, 400, await r.text()); // Huawei's 1103: original_password is wrong
    }
    expectError(await login(u), 401, 'IAM.0061');
  });

  test('the lock lasts 15 minutes: a second before, still locked; after, the right password works', async () => {
    const u = await newUser('lock-duration');
    await wrong(u, 5);
    expectError(await login(u), 401, 'IAM.0061');
    offset += LOGIN_LOCKOUT.durationMs - 1000;
    expectError(await login(u), 401, 'IAM.0061');
    offset += 2000;
    const ok = await login(u);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.ok(ok.headers.get('x-subject-token'));
  });

  test('failures older than 15 minutes do not count; five within 15 minutes do', async () => {
    const u = await newUser('lock-window');
    await wrong(u, 4);
    offset += LOGIN_LOCKOUT.windowMs + 1000;
    await wrong(u, 4); // 8 failures, 4 within the window
    assert.equal((await login(u)).status, 201);

    await wrong(u, 4);
    offset += 14 * MINUTE;
    await wrong(u, 1); // the 5th within 15 minutes
    expectError(await login(u), 401, 'IAM.0061');
  });

  test('a successful login forgets the failures', async () => {
    const u = await newUser('lock-reset');
    await wrong(u, 4);
    assert.equal((await login(u)).status, 201);
    await wrong(u, 4);
    assert.equal((await login(u)).status, 201);
  });

  test('unknown users and accounts never lock (always IAM.0002)', async () => {
    const ghost = { name: 'nobody-here', password: 'x' };
    await wrong(ghost, 7);
    expectError(await loginFrom(source, { domain: 'no-such-account', name: 'x', password: 'y' }), 401, 'IAM.0002');
  });

  test('the lock survives an IAM restart; an administrator\'s new password lifts it', async () => {
    const u = await newUser('lock-restart');
    await wrong(u, 5);
    expectError(await login(u), 401, 'IAM.0061');
    await iam!.close();
    iam = undefined;
    await new Promise((r) => setTimeout(r, 100)); // clients see their pooled connections to the old server close
    await startIamOnly();
    expectError(await login(u), 401, 'IAM.0061');

    const reset = await iamCall('PUT', `/v3.0/OS-USER/users/${u.id}`, { user: { password: 'Fresh-passw0rd!' } });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    assert.equal((await login(u, 'Fresh-passw0rd!')).status, 201);
  });
});

describe('per-source limits of password login', () => {
  test('the fair gate serves sources in turn and refuses a source with too many waiting', async () => {
    const gate = new FairGate(1, 2, 100);
    const order: string[] = [];
    let release!: () => void;
    const first = gate.run('flood', () => new Promise<void>((r) => (release = r)));
    const work = (source: string, tag: string) => gate.run(source, async () => void order.push(tag));
    const queued = [work('flood', 'f1'), work('flood', 'f2')];
    await assert.rejects(work('flood', 'f3'), (e: { code?: string; status?: number }) => e.code === 'APIGW.0308' && e.status === 429);
    queued.push(work('user', 'u1'));
    assert.deepEqual(gate.load, { active: 1, queued: 3 });
    release();
    await first;
    await Promise.all(queued);
    assert.deepEqual(order, ['f1', 'u1', 'f2'], 'the user waited for one call of the flood, not for all of them');
    assert.deepEqual(gate.load, { active: 0, queued: 0 });
  });

  test('the budget of a source: 20 wrong passwords at once, then 429 with Retry-After; right passwords cost nothing', async () => {
    const from = '127.0.2.1';
    const u = await newUser('budget-user');
    for (let i = 0; i < 12; i++) assert.equal((await loginFrom(from, u)).status, 201, 'right passwords are given back');
    const ghost = { name: 'budget-ghost', password: 'wrong' };
    const answers = await Promise.all(Array.from({ length: LOGIN_SOURCE_LIMITS.burst + 5 }, () => loginFrom(from, ghost)));
    const refused = answers.filter((a) => a.status === 429);
    assert.ok(refused.length >= 5, `${refused.length} refused`);
    for (const r of refused) {
      expectError(r, 429, 'APIGW.0308');
      assert.match(r.body.error_msg, /^The throttling threshold has been reached: policy ip over ratelimit,limit:10,time:1 second$/);
      assert.match(r.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
    }
    for (const a of answers.filter((x) => x.status !== 429)) expectError(a, 401, 'IAM.0002');
    // Another source is not affected.
    assert.equal((await loginFrom('127.0.2.2', u)).status, 201);
    // A second later the source has ratePerSecond tokens again.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await loginFrom(from, u)).status, 201);
  });

  test('127.0.0.2 floods wrong logins over 32 connections: it gets quick 429s; a right password from 127.0.0.1 gets its token well within a second', async () => {
    const victim = await newUser('flood-normal');
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const target = { name: 'flood-target', password: 'wrong-password' };
    const statuses = new Map<string, number>();
    const latencies429: number[] = [];
    let retryAfterSeen: string | null = null;
    let stop = false;
    const flood = Promise.all(Array.from({ length: 32 }, async () => {
      while (!stop) {
        const started = performance.now();
        const r = await loginFrom('127.0.0.2', target, agent);
        const key = `${r.status} ${r.body?.error_code ?? r.body?.error?.error_code}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (r.status === 429) {
          latencies429.push(performance.now() - started);
          retryAfterSeen ??= r.headers.get('retry-after');
        }
      }
    }));
    try {
      await new Promise((r) => setTimeout(r, 1000)); // the flood is under way, past its burst
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const ok = await loginFrom('127.0.0.1', victim);
        times.push(performance.now() - started);
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
        await new Promise((r) => setTimeout(r, 200));
      }
      stop = true;
      await flood;
      const refused = statuses.get('429 APIGW.0308') ?? 0;
      const sorted = [...latencies429].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
      console.log(`# flood answers ${JSON.stringify(Object.fromEntries(statuses))}; median 429 latency ${median.toFixed(1)} ms; right-password logins from 127.0.0.1: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
      // Well within a second even on a loaded 2-core machine, with the flooding client in this same process
      // (about 100 ms on an idle one; without the limits every login took about a second).
      for (const t of times) assert.ok(t < 750, `a login from another source took ${t.toFixed(0)} ms`);
      assert.ok(refused > 0, 'the flood was refused');
      assert.match(String(retryAfterSeen), /^[1-9][0-9]*$/, 'Retry-After');
      assert.ok(median < 200, `429 answers are quick (median ${median.toFixed(1)} ms)`);
      // Only what the per-source budget lets through was checked: the burst, then about ratePerSecond a second.
      const checked = statuses.get('401 IAM.0002') ?? 0;
      assert.ok(checked <= LOGIN_SOURCE_LIMITS.burst + LOGIN_SOURCE_LIMITS.ratePerSecond * 3, `${checked} wrong passwords were checked`);
    } finally {
      stop = true;
      await flood.catch(() => undefined);
      agent.destroy();
    }
  });
});
