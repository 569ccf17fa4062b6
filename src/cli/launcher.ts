/**
 * `strongroom start`: a complete local deployment. IAM and each region run as their own process, as they would
 * on separate machines, and talk over HTTP on loopback. Prints the endpoints, the credentials and a first call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ThrottlingSetting } from '../api/throttling.js';
import { describeStore } from '../composition.js';
import { planDeployment, storeOf, type DeploymentFile } from '../deployment.js';
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
  const { file, created } = await bootstrap(dir, deployment);
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true, mode: 0o700 });

  const children: { name: string; child: ChildProcess; log: string; url: string }[] = [];
  const launch = (name: string, args: string[], url: string) => {
    const log = join(logs, `${name}.log`);
    const fd = openSync(log, 'a', 0o600);
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args, '--data-dir', dir], { stdio: ['ignore', fd, fd] });
    children.push({ name, child, log, url });
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
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.child.exitCode === null ? new Promise((r) => c.child.once('exit', r)) : undefined)));
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  for (const c of children) {
    c.child.once('exit', (code) => {
      if (stopping) return;
      console.error(`strongroom: ${c.name} stopped unexpectedly (exit ${code}); see ${c.log}\n${tail(c.log)}`);
      void stop(1);
    });
  }

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
