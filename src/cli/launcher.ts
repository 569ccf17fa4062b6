/**
 * `strongroom start`: a complete local deployment. IAM and each region run as their own process, as they would
 * on separate machines, and talk over HTTP on loopback. Prints the endpoints, the credentials and a first call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ThrottlingSetting } from '../api/throttling.js';
import { describeStore, STORE_ENV } from '../composition.js';
import { iamDir, privateDir, regionDir, resolvePlan, rootKeyOf, storeOf, writeDeployment, writePrivateFile, type DeploymentFile } from '../deployment.js';
import { openRootKeyFrom, type RootKeyConfig } from '../keystore/root-key-config.js';
import { httpCall } from '../http-client.js';
import { fingerprint, generateSelfSigned, loadTls } from '../tls.js';
import { bootstrap, bootstrapPath, type BootstrapFile } from './bootstrap.js';
import { rotateIfLarge } from './log-rotation.js';

export interface StartOptions {
  dataDir: string;
  /** `--port`, `--regions`, `--host`: undefined keeps deployment.json's (defaults at first start). */
  basePort?: number;
  regions?: string[];
  host?: string;
  /** `--throttling`; undefined keeps deployment.json's setting. */
  throttling?: ThrottlingSetting;
  /** `--store` (`sqlite` or `postgres://…`); undefined keeps deployment.json's. */
  store?: string;
  /** `--nodes` per region; undefined keeps deployment.json's. */
  nodes?: number;
  /** `--seed FILE`: a seed file (src/seed/) applied once every process answers, before "up" is printed. */
  seed?: string;
  /** `--tls` (a generated self-signed certificate) or `--tls-cert`/`--tls-key`; undefined keeps deployment.json's. */
  tls?: 'self-signed' | { cert: string; key: string };
  /** `--root-key pkcs11 --pkcs11-…`: root keys in an HSM token (first start only); undefined keeps deployment.json's. */
  rootKey?: RootKeyConfig;
}

/**
 * Opens every component's root key in a PKCS#11 token once, making the ones that do not exist yet, before any
 * process starts: a wrong module, token or PIN is reported before anything is written, and nodes of a region
 * starting together never make two keys under one label. (Key files are made by their process at first start.)
 */
async function prepareRootKeys(dir: string, deployment: DeploymentFile): Promise<void> {
  for (const component of ['iam', ...deployment.regions.map((r) => r.id)]) {
    const config = rootKeyOf(deployment, component);
    if (config.type !== 'pkcs11') continue;
    const key = openRootKeyFrom(config, component === 'iam' ? iamDir(dir) : regionDir(dir, component), component, { create: true });
    await key.close();
  }
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
  component: 'iam' | 'region';
  region?: string;
  child: ChildProcess;
  /** Epoch ms of the current child's start. */
  startedAt: number;
  /** Quick failures in a row (reset by a child that ran longer than FAST_FAILURE_MS). */
  fastFailures: number;
}

/**
 * Waits until the process answers `/healthz` as itself: the component and region it was started as, this
 * deployment's id and the child's own pid (a port answered by another deployment's process does not count).
 */
async function waitUntilUp(c: Supervised, deploymentId: string | undefined, ca: Buffer | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let other = '';
  while (Date.now() < deadline) {
    if (c.child.exitCode !== null || c.child.signalCode !== null) throw new Error(`exited (${c.child.signalCode ?? `code ${c.child.exitCode}`})${other}`);
    try {
      const res = await httpCall(c.url + '/healthz', { ca, timeoutMs: 1000 });
      const body = JSON.parse(res.body.toString('utf8')) as { component?: string; region?: string; deployment_id?: string; pid?: number };
      if (res.status === 200 && body.pid === c.child.pid && body.component === c.component && body.region === c.region && body.deployment_id === deploymentId) return;
      other = `; ${c.url} is answered by another process (pid ${String(body.pid)}${body.deployment_id !== deploymentId ? ', another deployment' : ''})`;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`did not answer on ${c.url} within ${timeoutMs / 1000} s${other}`);
}

/** Throws, naming each, when a port the deployment needs is taken on its host. */
async function checkPortsFree(d: DeploymentFile): Promise<void> {
  const wanted = [{ port: d.iam.port, who: 'IAM' }, ...d.regions.flatMap((r) => r.ports.map((port) => ({ port, who: `region ${r.id}` })))];
  const busy: string[] = [];
  for (const w of wanted) {
    const free = await new Promise<boolean>((done) => {
      const probe = createServer();
      probe.once('error', () => done(false));
      probe.listen({ host: d.host, port: w.port, exclusive: true }, () => probe.close(() => done(true)));
    });
    if (!free) busy.push(`${w.port} (${w.who})`);
  }
  if (busy.length > 0) {
    throw new Error(`port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} on ${d.host} ${busy.length > 1 ? 'are' : 'is'} in use, perhaps by another deployment; nothing was started or written. Stop it, or start this one elsewhere with --port N (at first start) or another --data-dir`);
  }
}

const pidPath = (dir: string) => join(dir, 'launcher.pid');

/** The pid of a launcher still running on this data directory, or null. */
function runningLauncher(dir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(pidPath(dir), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
  } catch {
    return null;
  }
  // A pid can be reused: only a Strongroom launcher counts.
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmd.includes('start') ? pid : null;
  } catch {
    return pid;
  }
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts the deployment in `o.dataDir` and supervises it. Before anything is written it refuses a second launcher
 * on the same directory, options that contradict the stored deployment (deployment.ts, DeploymentConflict) and
 * ports that are taken. "up" is printed once every process answers `/healthz` as itself. SIGINT or SIGTERM to the
 * launcher, the end of the process that started it (`npm start` killed), or a child stopped cleanly (exit 0 after
 * its own SIGTERM) stops every process; a child that crashes is restarted (see `supervise`).
 */
export async function start(o: StartOptions): Promise<void> {
  const dir = resolve(o.dataDir);
  // A seed file is read and checked whole before anything starts (SeedFileError names the item at fault).
  const seedKeys = o.seed === undefined ? undefined : (await import('../seed/seed-file.js')).readSeedFile(resolve(o.seed));
  const other = runningLauncher(dir);
  if (other !== null) throw new Error(`a deployment from ${dir} is already running (launcher pid ${other}): stop it first (Ctrl-C where it runs, or kill ${other})`);
  // A generated certificate lives in DIR/tls/ (made below, once the ports are known to be free); a given one is
  // checked now, before anything is written.
  const tlsDir = join(dir, 'tls');
  const tls = o.tls === 'self-signed' ? { cert: join(tlsDir, 'cert.pem'), key: join(tlsDir, 'key.pem'), self_signed: true }
    : o.tls ? (loadTls(o.tls), { ...o.tls, self_signed: false }) : undefined;
  const { file: deployment } = resolvePlan(dir, { host: o.host, basePort: o.basePort, regions: o.regions, throttling: o.throttling, store: o.store, nodes: o.nodes, tls, rootKey: o.rootKey });
  if (storeOf(deployment) === undefined && existsSync(bootstrapPath(dir)) && !existsSync(join(iamDir(dir), 'iam.db'))) {
    throw new Error(`${dir} holds a deployment whose data is not in SQLite files here: it was started with ${STORE_ENV}=postgres://…; start it with the same ${STORE_ENV}`);
  }
  await checkPortsFree(deployment);
  await prepareRootKeys(dir, deployment);
  if (deployment.tls?.self_signed && !existsSync(deployment.tls.cert)) generateSelfSigned(tlsDir, deployment.host);
  const tlsMaterial = deployment.tls ? loadTls(deployment.tls) : undefined;
  writeDeployment(dir, deployment);
  writePrivateFile(pidPath(dir), `${process.pid}\n`);
  const { file, created } = await bootstrap(dir, deployment).catch((err: unknown) => {
    unlinkSync(pidPath(dir));
    throw err;
  });
  const logs = join(dir, 'logs');
  privateDir(logs);
  if (!isLoopback(deployment.host) && !deployment.tls) {
    console.error(`strongroom: WARNING: listening on ${deployment.host} with plain HTTP: tokens, signatures and answers cross the network unencrypted. Keep it on 127.0.0.1, or start it with --tls (or --tls-cert/--tls-key).`);
  }
  const regionCount = deployment.regions.length;
  console.log(`Starting Strongroom in ${dir}: IAM and ${regionCount} region${regionCount > 1 ? 's' : ''} (${deployment.regions.map((r) => r.id).join(', ')})…`);

  const spawnChild = (args: string[], log: string): ChildProcess => {
    const fd = openSync(log, 'a', 0o600);
    try {
      return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args, '--data-dir', dir], {
        stdio: ['ignore', fd, fd],
        // The processes call each other over HTTPS when TLS is on: they trust the deployment's certificate.
        env: { ...process.env, STRONGROOM_LAUNCHER_PID: String(process.pid), ...(deployment.tls ? { NODE_EXTRA_CA_CERTS: deployment.tls.cert } : {}) },
      });
    } finally {
      closeSync(fd);
    }
  };
  const children: Supervised[] = [];
  const launch = (name: string, args: string[], url: string, component: 'iam' | 'region', region?: string) => {
    const log = join(logs, `${name}.log`);
    children.push({ name, args, log, url, component, region, child: spawnChild(args, log), startedAt: Date.now(), fastFailures: 0 });
  };
  launch('iam', ['serve-iam'], deployment.iam.endpoint, 'iam');
  for (const r of deployment.regions) {
    r.endpoints.forEach((endpoint, n) =>
      launch(r.endpoints.length > 1 ? `region-${r.id}-${n}` : `region-${r.id}`, ['serve-region', '--region', r.id, '--node', String(n)], endpoint, 'region', r.id));
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
    try {
      if (readFileSync(pidPath(dir), 'utf8').trim() === String(process.pid)) unlinkSync(pidPath(dir));
    } catch {
      // already gone
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // `npm start` killed (or the terminal closed) ends the launcher's parent: the launcher then stops too, instead of
  // leaving the deployment running without anyone to stop it.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      console.error('strongroom: the process that started this deployment has ended; stopping it');
      void stop(0);
    }
  }, 500).unref();
  // A process that stops is started again, after a pause that doubles with each quick failure (1 s … 30 s); the
  // others go on serving meanwhile. After RESTART_GIVE_UP failures in a row, each within FAST_FAILURE_MS of its start,
  // the launcher gives up and stops the deployment. A process that stopped cleanly (exit 0: someone sent it SIGTERM
  // or SIGINT) was stopped on purpose: the whole deployment stops with it.
  const supervise = (c: Supervised) => {
    c.child.once('exit', (code, signal) => {
      if (stopping) return;
      if (code === 0 || signal === 'SIGTERM' || signal === 'SIGINT') {
        console.error(`strongroom: ${c.name} was stopped (${signal ?? 'exit 0'}); stopping the deployment`);
        void stop(0);
        return;
      }
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
    await Promise.all(children.map((c) => waitUntilUp(c, deployment.deployment_id, tlsMaterial?.cert, 60_000).catch((err: Error) => {
      throw new Error(`${c.name} ${err.message}; see ${c.log}\n${tail(c.log)}`);
    })));
  } catch (err) {
    console.error(`strongroom: ${(err as Error).message}`);
    await stop(1);
    return;
  }
  let seeded = '';
  if (seedKeys !== undefined) {
    try {
      const report = await (await import('../seed/seed-client.js')).applySeed(dir, seedKeys);
      seeded = `  seed      ${o.seed}: ${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged`;
    } catch (err) {
      console.error(`strongroom: the seed file ${o.seed} could not be applied: ${(err as Error).message}`);
      await stop(1);
      return;
    }
  }
  console.log(banner(dir, deployment, file, created, tlsMaterial?.cert, seeded));
}

function banner(dir: string, d: DeploymentFile, b: BootstrapFile, created: boolean, cert: Buffer | undefined, seeded: string): string {
  const first = b.regions[0]!;
  const cacert = d.tls ? ` --cacert ${d.tls.cert}` : '';
  const boot = bootstrapPath(dir);
  const auth = (password: string) => JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: b.user_name, password, domain: { name: b.domain_name } } } },
      scope: { project: { id: first.project_id } },
    },
  });
  // The password is read from bootstrap.json when the example runs: the banner never repeats it after the first start.
  const bodyWithPassword = auth('PASSWORD_HERE').replace('"PASSWORD_HERE"', `'"$(node -p 'JSON.stringify(require(${JSON.stringify(boot)}).password)')"'`);
  return [
    `Strongroom is up (${created ? 'new deployment' : 'existing data'} in ${dir}).`,
    '',
    `  IAM       ${d.iam.endpoint}`,
    ...b.regions.map((r) => `  ${r.id.padEnd(9)} ${r.endpoints.join(' ')}   project ${r.project_id}`),
    `  store     ${describeStore(storeOf(d))}${(d.nodes ?? 1) > 1 ? `, ${d.nodes} nodes per region` : ''}`,
    ...(d.root_key?.type === 'pkcs11' ? [`  root keys PKCS#11 token ${JSON.stringify(d.root_key.token)} (${d.root_key.module}), one per process: strongroom-root-<iam|region>`] : []),
    `  health    ${d.iam.endpoint}/healthz, /readyz and /metrics on every endpoint`,
    ...(seeded ? [seeded] : []),
    ...(d.tls && cert ? [`  TLS       ${d.tls.self_signed ? 'self-signed certificate' : 'certificate'} ${d.tls.cert}`, `            SHA-256 ${fingerprint(cert)}`] : []),
    '',
    `  account   ${b.domain_name} (${b.domain_id})`,
    ...(created
      ? [
          `  user      ${b.user_name}   password ${b.password}`,
          `  AK/SK     ${b.access_key} / ${b.secret_key}`,
          `  (shown this once; all of it is kept in ${boot}, mode 0600)`,
        ]
      : [`  user      ${b.user_name}; password and AK/SK in ${boot}`]),
    ...(d.throttling !== undefined && d.throttling !== 'off' ? [`  throttling ${d.throttling === 'huawei' ? "Huawei's rates" : `${d.throttling} requests/s`} per user and operation class`] : []),
    '',
    'Try it:',
    `  TOKEN=$(curl -si${cacert} -X POST ${d.iam.endpoint}/v3/auth/tokens -H 'Content-Type: application/json' \\`,
    `    -d '${bodyWithPassword}' | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\\r')`,
    `  curl -s${cacert} -X POST ${first.endpoint}/v1.0/${first.project_id}/kms/create-key -H "X-Auth-Token: $TOKEN" \\`,
    `    -H 'Content-Type: application/json' -d '{"key_alias": "my-key-'$(date +%s%N)'"}'`,
    `  npx strongroom kms list-keys --data-dir ${dir}        (the client CLI; npx strongroom kms --help)`,
    '',
    'Press Ctrl-C to stop.',
  ].join('\n');
}
