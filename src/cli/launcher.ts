/**
 * `strongroom start`: a complete local deployment. IAM and each region run as their own process, as they would
 * on separate machines, and talk over HTTP on loopback. Prints the endpoints, the credentials and a first call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ThrottlingSetting } from '../api/throttling.js';
import { describeStore, STORE_ENV } from '../composition.js';
import { iamDir, planDeployment, privateDir, storeOf, type DeploymentFile } from '../deployment.js';
import { bootstrap, bootstrapPath, type BootstrapFile } from './bootstrap.js';
import { rotateIfLarge } from './log-rotation.js';

export interface StartOptions {
  dataDir: string;
  basePort: number;
  regions: string[];
  host: string;
  /** `--throttling`; undefined keeps deployment.json's setting. */
  throttling?: ThrottlingSetting;
  /** `--store` (`sqlite` or `postgres://…`); undefined keeps deployment.json's. */
  store?: string;
  /** `--nodes` per region; undefined keeps deployment.json's. */
  nodes?: number;
}

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** A child that stops within this many milliseconds of its start counts as a quick failure. */
const FAST_FAILURE_MS = 10_000;
/** Quick failures in a row after which the launcher stops restarting and stops the deployment. */
const RESTART_GIVE_UP = 5;

/** One process of the deployment, restarted by the launcher when it stops. */
interface Supervised {
  name: string;
  args: string[];
  log: string;
  url: string;
  child: ChildProcess;
  /** Epoch ms of the current child's start. */
  startedAt: number;
  /** Quick failures in a row (reset by a child that ran longer than FAST_FAILURE_MS). */
  fastFailures: number;
}

async function waitUntilUp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url + '/', { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`did not answer on ${url} within ${timeoutMs / 1000} s`);
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

export async function start(o: StartOptions): Promise<void> {
  const dir = resolve(o.dataDir);
  const deployment = planDeployment(dir, { host: o.host, basePort: o.basePort, regions: o.regions, throttling: o.throttling, store: o.store, nodes: o.nodes });
  if (storeOf(deployment) === undefined && existsSync(bootstrapPath(dir)) && !existsSync(join(iamDir(dir), 'iam.db'))) {
    throw new Error(`${dir} holds a deployment whose data is not in SQLite files here: it was started with ${STORE_ENV}=postgres://…; start it with the same ${STORE_ENV}`);
  }
  const { file, created } = await bootstrap(dir, deployment);
  const logs = join(dir, 'logs');
  privateDir(logs);

  const spawnChild = (args: string[], log: string): ChildProcess => {
    const fd = openSync(log, 'a', 0o600);
    try {
      return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args, '--data-dir', dir], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
  };
  const children: Supervised[] = [];
  const launch = (name: string, args: string[], url: string) => {
    const log = join(logs, `${name}.log`);
    const c: Supervised = { name, args, log, url, child: spawnChild(args, log), startedAt: Date.now(), fastFailures: 0 };
    children.push(c);
  };
  launch('iam', ['serve-iam'], deployment.iam.endpoint);
  for (const r of deployment.regions) {
    r.endpoints.forEach((endpoint, n) =>
      launch(r.endpoints.length > 1 ? `region-${r.id}-${n}` : `region-${r.id}`, ['serve-region', '--region', r.id, '--node', String(n)], endpoint));
  }

  // Logs are capped (log-rotation.ts): checked every 10 s.
  const rotation = setInterval(() => {
    for (const c of children) rotateIfLarge(c.log);
  }, 10_000);
  rotation.unref();

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.child.exitCode === null && c.child.signalCode === null ? new Promise((r) => c.child.once('exit', r)) : undefined)));
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // A process that stops is started again, after a pause that doubles with each quick failure (1 s … 30 s); the
  // others go on serving meanwhile. After RESTART_GIVE_UP failures in a row, each within FAST_FAILURE_MS of its start,
  // the launcher gives up and stops the deployment.
  const supervise = (c: Supervised) => {
    c.child.once('exit', (code, signal) => {
      if (stopping) return;
      const lived = Date.now() - c.startedAt;
      c.fastFailures = lived < FAST_FAILURE_MS ? c.fastFailures + 1 : 0;
      const why = signal ? `signal ${signal}` : `exit ${code}`;
      if (c.fastFailures >= RESTART_GIVE_UP) {
        console.error(`strongroom: ${c.name} stopped ${c.fastFailures} times in a row within ${FAST_FAILURE_MS / 1000} s of starting (last: ${why}); giving up. See ${c.log}\n${tail(c.log)}`);
        void stop(1);
        return;
      }
      const delay = Math.min(30_000, 1000 * 2 ** Math.max(0, c.fastFailures - 1));
      console.error(`strongroom: ${c.name} stopped unexpectedly (${why}) after ${Math.round(lived / 1000)} s; starting it again in ${delay / 1000} s (see ${c.log})`);
      setTimeout(() => {
        if (stopping) return;
        c.child = spawnChild(c.args, c.log);
        c.startedAt = Date.now();
        supervise(c);
      }, delay);
    });
  };
  for (const c of children) supervise(c);

  try {
    for (const c of children) await waitUntilUp(c.url, c.child, 30_000).catch((err: Error) => {
      throw new Error(`${c.name} ${err.message}; see ${c.log}\n${tail(c.log)}`);
    });
  } catch (err) {
    console.error(`strongroom: ${(err as Error).message}`);
    await stop(1);
    return;
  }
  console.log(banner(dir, deployment, file, created));
}

function banner(dir: string, d: DeploymentFile, b: BootstrapFile, created: boolean): string {
  const first = b.regions[0]!;
  const auth = JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: b.user_name, password: b.password, domain: { name: b.domain_name } } } },
      scope: { project: { id: first.project_id } },
    },
  });
  return [
    `Strongroom is up (${created ? 'new deployment' : 'existing data'} in ${dir}).`,
    '',
    `  IAM       ${d.iam.endpoint}`,
    ...b.regions.map((r) => `  ${r.id.padEnd(9)} ${r.endpoints.join(' ')}   project ${r.project_id}`),
    `  store     ${describeStore(storeOf(d))}${(d.nodes ?? 1) > 1 ? `, ${d.nodes} nodes per region` : ''}`,
    '',
    `  account   ${b.domain_name} (${b.domain_id})`,
    `  user      ${b.user_name}   password ${b.password}`,
    `  AK/SK     ${b.access_key} / ${b.secret_key}`,
    `  (all of this is in ${bootstrapPath(dir)})`,
    ...(d.throttling !== undefined && d.throttling !== 'off' ? [`  throttling ${d.throttling === 'huawei' ? "Huawei's rates" : `${d.throttling} requests/s`} per user and operation class`] : []),
    '',
    'Try it:',
    `  TOKEN=$(curl -si -X POST ${d.iam.endpoint}/v3/auth/tokens -H 'Content-Type: application/json' \\`,
    `    -d '${auth}' | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\\r')`,
    `  curl -s -X POST ${first.endpoint}/v1.0/${first.project_id}/kms/create-key -H "X-Auth-Token: $TOKEN" \\`,
    `    -H 'Content-Type: application/json' -d '{"key_alias": "my-first-key"}'`,
    '',
    'Press Ctrl-C to stop.',
  ].join('\n');
}
