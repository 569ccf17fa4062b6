/**
 * A real Strongroom deployment for the benchmark, started through the same code path as `npm start`:
 * `node --import tsx src/cli/main.ts start --data-dir <tmp> --port <base> --regions <region>` (the launcher then runs
 * IAM and the region as their own processes), by default on SQLite under <tmp>; with `store` and `nodes`, adding
 * `--store <url> --nodes <n>` (the region's n nodes on ports base+1 …, every process on that PostgreSQL database).
 * Before the start the bench writes `deployment.json` with src/deployment.ts's planDeployment (store and nodes
 * included), only to raise the key quota (the launcher keeps it; the default of 10,000 keys per project is below
 * what list-keys and the scale scenario store). Credentials come from `<tmp>/bootstrap.json`, the token from
 * IAM's POST /v3/auth/tokens. `stop` ends it with SIGTERM and removes <tmp>.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BootstrapFile } from '../src/cli/bootstrap.js';
import { planDeployment, regionDir } from '../src/deployment.js';
import { freePortRange } from '../test/helpers/ports.js';
import { onCleanUp } from './cleanup.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface Deployment {
  /** The data directory (removed by stop). */
  dir: string;
  boot: BootstrapFile;
  /** `endpoint` is node 0's; `endpoints` every node's (one entry unless started with `nodes`). */
  region: { id: string; endpoint: string; endpoints: string[]; projectId: string; dataDir: string };
  iamEndpoint: string;
  /** A project-scoped token of the bootstrap admin for the region's project. */
  token: string;
  /** The launcher's process id. */
  launcherPid: number;
  /** Process id of the region's `serve-region` process (found in /proc by its command line). */
  regionPid(): number | null;
  /** What the launcher printed lately and the ends of the IAM and region logs, for an error report. */
  diagnostics(): string;
  /** SIGTERM to the launcher (which stops IAM and the region), waits for it, removes the data directory. */
  stop(): Promise<void>;
}

/** Builds the SM2/digest-signing addon if it is missing, as `npm start`'s prestart does. */
export function buildNativeIfNeeded(): void {
  const r = spawnSync(process.execPath, ['native/sm2/build.mjs', '--if-needed'], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`native/sm2/build.mjs failed:\n${r.stdout}\n${r.stderr}`);
}

/** Process ids whose command line has every one of `parts`, from /proc. */
export function findProcesses(parts: readonly string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (parts.every((p) => cmd.includes(p))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Resident memory of a process in bytes (VmRSS of /proc/<pid>/status), or null when it cannot be read. */
export function residentBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function tailOf(text: string, lines = 20): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** What the launcher printed after its start banner (which holds the credentials). */
function afterBanner(output: string): string {
  const end = output.indexOf('Press Ctrl-C to stop.');
  return tailOf(end < 0 ? output : output.slice(end + 'Press Ctrl-C to stop.'.length));
}

function logsOf(dir: string): string {
  const logs = join(dir, 'logs');
  if (!existsSync(logs)) return '';
  // pino lines: the warnings and errors (level ≥ 40) matter; per-request info lines (level 30) are left out.
  return readdirSync(logs).map((f) => {
    const lines = readFileSync(join(logs, f), 'utf8').split('\n').filter((l) => l !== '' && !l.includes('"level":30'));
    return `--- logs/${f} (warnings and errors, last 15)\n${lines.slice(-15).join('\n')}`;
  }).join('\n');
}

async function passwordToken(boot: BootstrapFile, projectId: string): Promise<string> {
  const res = await fetch(`${boot.iam_endpoint}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: boot.user_name, password: boot.password, domain: { name: boot.domain_name } } } },
        scope: { project: { id: projectId } },
      },
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token) throw new Error(`POST /v3/auth/tokens answered ${res.status}: ${await res.text()}`);
  return token;
}

export interface StartOptions {
  region: string;
  /** Keys a project may hold (deployment.json key_quota). */
  keyQuota: number;
  /** Milliseconds to wait for "Strongroom is up". */
  timeoutMs?: number;
  /** `--store`: a `postgres://…` URL; absent: SQLite files in the data directory (the launcher's default). */
  store?: string;
  /** `--nodes`: processes of the region (more than one needs `store`); absent: one. */
  nodes?: number;
}

/** Starts the deployment in a new temporary directory and waits until IAM and the region answer. */
export async function startDeployment(o: StartOptions): Promise<Deployment> {
  buildNativeIfNeeded();
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-bench-'));
  let child: ChildProcess | undefined;
  let stopping = false;
  const stop = async () => {
    stopping = true;
    forget();
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const forget = onCleanUp(stop);
  try {
    const base = await freePortRange(1 + (o.nodes ?? 1));
    const topology = [...(o.store !== undefined ? ['--store', o.store] : []), ...(o.nodes !== undefined ? ['--nodes', String(o.nodes)] : [])];
    planDeployment(dir, { host: '127.0.0.1', basePort: base, regions: [o.region], keyQuota: o.keyQuota, store: o.store, nodes: o.nodes });
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--data-dir', dir, '--port', String(base), '--regions', o.region, ...topology], {
      cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (c: Buffer) => (output = (output + c.toString('utf8')).slice(-20_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const launcher = child;
    launcher.once('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`bench: strongroom start exited during the run (code ${code}, signal ${signal})\n${afterBanner(output)}\n${logsOf(dir)}\n`);
    });
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`the deployment did not come up within ${(o.timeoutMs ?? 60_000) / 1000} s`)), o.timeoutMs ?? 60_000);
      const check = setInterval(() => {
        if (output.includes('Strongroom is up')) {
          clearTimeout(deadline);
          clearInterval(check);
          resolve();
        }
      }, 50);
      child!.once('exit', (code) => {
        clearTimeout(deadline);
        clearInterval(check);
        reject(new Error(`strongroom start exited with code ${code}`));
      });
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${tailOf(output)}\n${logsOf(dir)}`);
    });
    const boot = JSON.parse(readFileSync(join(dir, 'bootstrap.json'), 'utf8')) as BootstrapFile;
    const r = boot.regions.find((x) => x.id === o.region);
    if (!r) throw new Error(`bootstrap.json has no region ${o.region}`);
    const token = await passwordToken(boot, r.project_id);
    const launcherPid = child.pid!;
    return {
      dir, boot, token, launcherPid, iamEndpoint: boot.iam_endpoint,
      region: { id: r.id, endpoint: r.endpoint, endpoints: r.endpoints ?? [r.endpoint], projectId: r.project_id, dataDir: regionDir(dir, r.id) },
      regionPid: () => findProcesses(['serve-region', '--region', o.region, dir])[0] ?? null,
      diagnostics: () => `launcher (${launcher.exitCode === null && launcher.signalCode === null ? 'running' : `exited: ${launcher.exitCode ?? launcher.signalCode}`}), after its banner:\n${afterBanner(output)}\n${logsOf(dir)}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
