/**
 * A deployment of separate processes on loopback, as `strongroom start` runs it: one IAM process and one process
 * per region, each started with `strongroom serve-*`, so region-to-region calls cross real sockets between
 * processes. A region can be stopped and started again; its port can be taken by a server that never answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap, type BootstrapFile } from '../../src/cli/bootstrap.js';
import { deploymentPath, planDeployment, writePrivateFile, type DeploymentFile } from '../../src/deployment.js';
import { freePortRange } from './ports.js';
import { signedRequest, type Reply } from './signing.js';

export interface ProcessDeployment {
  dir: string;
  deployment: DeploymentFile;
  boot: BootstrapFile;
  endpoint(region: string): string;
  projectId(region: string): string;
  kms(region: string, op: string, body?: object): Promise<Reply>;
  /** A /v2 call on a key: `keyOp(region, 'POST', keyId, 'replicate', body)`. */
  keyOp(region: string, method: string, keyId: string, op: string, body: object): Promise<Reply>;
  /** Stops a region's process (SIGTERM: a clean stop; SIGKILL: a crash). */
  stopRegion(region: string, signal?: NodeJS.Signals): Promise<void>;
  startRegion(region: string): Promise<void>;
  /** Takes a stopped region's port with a server that accepts connections and never answers. */
  hang(region: string): Promise<() => Promise<void>>;
  log(name: string): string;
  stop(): Promise<void>;
}

const MAIN = join(process.cwd(), 'src', 'cli', 'main.ts');

async function waitUp(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}):\n${readFileSync(log, 'utf8')}`);
    try {
      if ((await fetch(url + '/', { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up:\n${readFileSync(log, 'utf8')}`);
}

export async function startProcesses(o: { regions?: string[]; replication?: Record<string, string[]>; peerTimeoutMs?: number; grantQuota?: number } = {}): Promise<ProcessDeployment> {
  const regionIds = o.regions ?? ['cn-north-4', 'cn-south-1', 'cn-east-3'];
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-procs-'));
  const base = await freePortRange(regionIds.length + 1);
  const planned = planDeployment(dir, { host: '127.0.0.1', basePort: base, regions: regionIds, grantQuota: o.grantQuota });
  const deployment: DeploymentFile = {
    ...planned,
    ...(o.replication ? { replication: o.replication } : {}),
    peer_timeout_ms: o.peerTimeoutMs ?? 1500,
    outbox_max_backoff_ms: 500,
  };
  writePrivateFile(deploymentPath(dir), JSON.stringify(deployment, null, 2));
  const { file: boot } = await bootstrap(dir, deployment);
  const children = new Map<string, ChildProcess>();
  const logPath = (name: string) => join(dir, `${name}.log`);
  const launch = async (name: string, args: string[], url: string) => {
    const fd = openSync(logPath(name), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args, '--data-dir', dir], { stdio: ['ignore', fd, fd] });
    children.set(name, child);
    await waitUp(url, child, logPath(name));
  };
  const regionEndpoint = (id: string) => deployment.regions.find((r) => r.id === id)!.endpoint;
  const regionPort = (id: string) => deployment.regions.find((r) => r.id === id)!.port;
  const kill = async (name: string, signal: NodeJS.Signals = 'SIGTERM') => {
    const child = children.get(name);
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    children.delete(name);
  };
  await launch('iam', ['serve-iam'], deployment.iam.endpoint);
  await Promise.all(regionIds.map((id) => launch(id, ['serve-region', '--region', id], regionEndpoint(id))));
  const projectId = (region: string) => boot.regions.find((r) => r.id === region)!.project_id;
  const admin = { ak: boot.access_key, sk: boot.secret_key };
  return {
    dir, deployment, boot, endpoint: regionEndpoint, projectId,
    kms: (region, op, body) => signedRequest(regionEndpoint(region), admin, projectId(region), 'POST', `/v1.0/${projectId(region)}/kms/${op}`, body ?? {}),
    keyOp: (region, method, keyId, op, body) =>
      signedRequest(regionEndpoint(region), admin, projectId(region), method, `/v2/${projectId(region)}/kms/keys/${keyId}/${op}`, body),
    stopRegion: (region, signal) => kill(region, signal),
    startRegion: (region) => launch(region, ['serve-region', '--region', region], regionEndpoint(region)),
    async hang(region) {
      const sockets = new Set<Socket>();
      const server: Server = createServer((s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
      await new Promise<void>((r) => server.listen(regionPort(region), '127.0.0.1', () => r()));
      return async () => {
        for (const s of sockets) s.destroy();
        await new Promise((r) => server.close(r));
      };
    },
    log: (name) => readFileSync(logPath(name), 'utf8'),
    async stop() {
      await Promise.all([...children.keys()].map((name) => kill(name)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns true, or fails after `ms`. */
export async function eventually(what: string, probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting until ${what}`);
}
