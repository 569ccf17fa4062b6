/**
 * The deployment file (`DIR/deployment.json`, mode 0600): where IAM and every region listen, which regions may
 * replicate to which, and the secret Strongroom's own processes sign internal calls with. Written once by the
 * launcher at first start; every process reads it. Each process keeps its data below DIR:
 * `DIR/iam/` and `DIR/regions/<region>/` (database and root key).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkThrottling, type ThrottlingSetting } from './api/throttling.js';
import { checkStore, describeStore, STORE_ENV } from './composition.js';
import { checkRootKeyConfig, DEFAULT_ROOT_KEY, sameRootKey, type RootKeyConfig } from './keystore/root-key-config.js';
import { redactUrl } from './storage/postgres/database.js';
import { Topology } from './regions/topology.js';
import { checkHsmClusterConfig, type HsmClusterConfig } from './keystore/hsm-cluster-config.js';

export interface DeploymentFile {
  version: 1;
  /** Random (16 hex); each process answers it on `/healthz`, so the launcher knows its own processes. */
  deployment_id?: string;
  host: string;
  /** `root_key`: IAM's own root key when it differs from the deployment's (see `root_key` below). */
  iam: { port: number; endpoint: string; root_key?: RootKeyConfig };
  /**
   * Each region's nodes: `port` and `endpoint` are the first node's (the one other regions call), `ports` and
   * `endpoints` every node's, on consecutive ports (one entry without `--nodes`).
   */
  regions: { id: string; port: number; endpoint: string; ports: number[]; endpoints: string[]; root_key?: RootKeyConfig; root_key_next?: RootKeyConfig }[];
  /**
   * The root key of every component (keystore/root-key-config.ts): absent for the key file `master.key` in each
   * component's data directory; `{"type": "pkcs11", …}` for a key per component in an HSM token (label
   * `strongroom-root-<component>`). Set by `start --root-key` at first start. A region moved to another root key by
   * `strongroom root-key rotate` has its own `root_key` in its entry, and while the rotation runs the key it moves to
   * as `root_key_next` (the only place a region node takes a new root key from: the store names ids only).
   */
  root_key?: RootKeyConfig;
  /**
   * Where IAM and the regions keep their data: absent for SQLite files under DIR, else a `postgres://…` URL (each
   * component in its own schema). Set by `start --store`; `STRONGROOM_STORE` overrides it without being kept here.
   */
  store?: string;
  /** Nodes (processes) per region, on one shared store; more than one needs PostgreSQL. */
  nodes?: number;
  /**
   * HTTPS for every process and every call between them (tls.ts): the certificate and key files (absolute paths),
   * `self_signed` when `start --tls` generated them under DIR/tls/. Absent: plain HTTP.
   */
  tls?: { cert: string; key: string; self_signed: boolean };
  /** Optional restriction: primary region → regions that may hold its replicas. */
  replication?: Record<string, string[]>;
  /** Hex; signs calls between Strongroom's processes. */
  internal_secret: string;
  /** Keys a project may hold in one region. */
  key_quota: number;
  /** Grants one key may hold (default 100, Huawei's). */
  grant_quota?: number;
  /** Optional tuning: timeout of region-to-region calls, longest outbox backoff (milliseconds). */
  peer_timeout_ms?: number;
  outbox_max_backoff_ms?: number;
  /**
   * Optional tuning of background work (milliseconds): how long a job's lease outlives the last renewal of a node
   * that stopped answering (core/scheduler.ts; default 3 × the job's interval, at least 10 s) and how often keys
   * due for deletion are destroyed (default 60 s).
   */
  lease_ms?: number;
  deletion_sweep_ms?: number;
  /**
   * Per-user request rates of every region (api/throttling.ts): `"off"` (the default), `"huawei"` (Huawei's
   * published rates), or N requests per second per user and operation class. Set by `start --throttling`, kept
   * until changed.
   */
  throttling?: ThrottlingSetting;
  /**
   * HSM clusters that dedicated keystores may use (core/keystores.ts), by id: each a PKCS#11 token with its PIN in
   * a file or an environment variable (`strongroom hsm register`). Regions read them at start; kept across starts.
   */
  hsm_clusters?: Record<string, HsmClusterConfig>;
}

export const deploymentPath = (dir: string) => join(dir, 'deployment.json');
export const iamDir = (dir: string) => join(dir, 'iam');
export const regionDir = (dir: string, region: string) => join(dir, 'regions', region);
export const REGION_ID_RE = /^[a-z][a-z0-9-]{1,62}$/;

/** Creates a folder (and its parents) and makes it the owner's only (0700), also when it existed before. */
export function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

/** Writes a file atomically with mode 0600. */
export function writePrivateFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function readDeployment(dir: string): DeploymentFile {
  const file = JSON.parse(readFileSync(deploymentPath(dir), 'utf8')) as DeploymentFile;
  if (file.version !== 1) throw new Error(`unsupported deployment file version ${String(file.version)}`);
  checkThrottling(file.throttling);
  if (file.root_key !== undefined) file.root_key = checkRootKeyConfig(file.root_key, 'deployment.json root_key');
  if (file.iam.root_key !== undefined) file.iam.root_key = checkRootKeyConfig(file.iam.root_key, 'deployment.json iam.root_key');
  for (const r of file.regions) {
    if (r.root_key !== undefined) r.root_key = checkRootKeyConfig(r.root_key, `deployment.json root_key of region ${r.id}`);
    if (r.root_key_next !== undefined) r.root_key_next = checkRootKeyConfig(r.root_key_next, `deployment.json root_key_next of region ${r.id}`);
  }
  for (const [id, c] of Object.entries(file.hsm_clusters ?? {})) checkHsmClusterConfig(id, c);
  // Files written before regions had several nodes name one port and endpoint per region.
  for (const r of file.regions) {
    r.ports ??= [r.port];
    r.endpoints ??= [r.endpoint];
  }
  return file;
}

export interface PlanInput {
  /** Address to listen on; when not given, the file's (127.0.0.1 at first start). */
  host?: string;
  /** IAM's port, regions on the next ones; when not given, the file's (8100 at first start). */
  basePort?: number;
  /** Region ids; when not given, the file's (DEFAULT_REGIONS at first start). */
  regions?: string[];
  keyQuota?: number;
  grantQuota?: number;
  /** `--throttling`; when not given, the file's earlier setting stays (`"off"` at first start). */
  throttling?: ThrottlingSetting;
  /** `--store`: `sqlite` or a PostgreSQL URL; when not given, the file's store stays (SQLite at first start). */
  store?: string;
  /** `--nodes` per region; when not given, the file's count stays (1 at first start). */
  nodes?: number;
  /** `--tls` / `--tls-cert` and `--tls-key`: the files to serve; when not given, the file's (none at first start). */
  tls?: { cert: string; key: string; self_signed: boolean };
  /** `--root-key` and its `--pkcs11-*` options at first start; when not given, the file's (key files at first start). */
  rootKey?: RootKeyConfig;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_BASE_PORT = 8100;
export const DEFAULT_REGIONS = ['cn-north-4', 'cn-south-1', 'cn-east-3'];

/** A restart whose options contradict what the deployment was created with (nothing is changed). */
export class DeploymentConflict extends Error {}

/**
 * The deployment file a start would write, without writing anything: the file's settings where options are not
 * given (defaults at first start). An existing deployment keeps its host, ports, regions, node count and store: an
 * option that contradicts them throws DeploymentConflict naming the stored value (regions may only be added, after
 * the existing ones, which moves no port). Its secret, replication settings and quotas are kept unless given.
 */
export function resolvePlan(dir: string, input: PlanInput): { file: DeploymentFile; previous: DeploymentFile | null } {
  const previous = existsSync(deploymentPath(dir)) ? readDeployment(dir) : null;
  if (previous) checkConsistent(previous, input);
  const host = input.host ?? previous?.host ?? DEFAULT_HOST;
  const basePort = input.basePort ?? previous?.iam.port ?? DEFAULT_BASE_PORT;
  const regions = input.regions ?? previous?.regions.map((r) => r.id) ?? DEFAULT_REGIONS;
  for (const r of regions) if (!REGION_ID_RE.test(r)) throw new Error(`invalid region id ${r}`);
  if (new Set(regions).size !== regions.length) throw new Error('region ids must be distinct');
  if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65000) throw new Error('--port must be a port number');
  const store = chooseStore(previous, input.store);
  const nodes = input.nodes ?? previous?.nodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64) throw new Error('--nodes must be a whole number from 1 to 64');
  if (nodes > 1 && store === undefined && !process.env.STRONGROOM_STORE) {
    throw new Error('--nodes above 1 needs a shared store: give --store postgres://… (SQLite is one process per region)');
  }
  const tls = input.tls ?? previous?.tls;
  const rootKey = previous ? (previous.root_key ?? DEFAULT_ROOT_KEY) : (input.rootKey ?? DEFAULT_ROOT_KEY);
  const url = (port: number) => `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const file: DeploymentFile = {
    version: 1,
    deployment_id: previous?.deployment_id ?? randomBytes(8).toString('hex'),
    host,
    iam: { port: basePort, endpoint: url(basePort), ...(previous?.iam.root_key ? { root_key: previous.iam.root_key } : {}) },
    regions: regions.map((id, i) => {
      const ports = Array.from({ length: nodes }, (_, n) => basePort + 1 + i * nodes + n);
      const had = previous?.regions.find((r) => r.id === id);
      return {
        id, port: ports[0]!, endpoint: url(ports[0]!), ports, endpoints: ports.map(url),
        ...(had?.root_key ? { root_key: had.root_key } : {}), ...(had?.root_key_next ? { root_key_next: had.root_key_next } : {}),
      };
    }),
    ...(rootKey.type !== 'file' || rootKey.file !== undefined ? { root_key: rootKey } : {}),
    ...(store !== undefined ? { store } : {}),
    ...(nodes > 1 ? { nodes } : {}),
    ...(tls ? { tls } : {}),
    ...(previous?.replication ? { replication: previous.replication } : {}),
    ...(previous?.peer_timeout_ms ? { peer_timeout_ms: previous.peer_timeout_ms } : {}),
    ...(previous?.outbox_max_backoff_ms ? { outbox_max_backoff_ms: previous.outbox_max_backoff_ms } : {}),
    ...(previous?.lease_ms ? { lease_ms: previous.lease_ms } : {}),
    ...(previous?.deletion_sweep_ms ? { deletion_sweep_ms: previous.deletion_sweep_ms } : {}),
    ...(previous?.hsm_clusters ? { hsm_clusters: previous.hsm_clusters } : {}),
    internal_secret: previous?.internal_secret ?? randomBytes(32).toString('hex'),
    key_quota: input.keyQuota ?? previous?.key_quota ?? 10000,
    grant_quota: input.grantQuota ?? previous?.grant_quota ?? 100,
    throttling: input.throttling ?? previous?.throttling ?? 'off',
  };
  return { file, previous };
}

/** Options that would move an existing deployment: refused with the value it keeps. */
function checkConsistent(previous: DeploymentFile, input: PlanInput): void {
  const keep = 'start it without the option to keep it, or give another --data-dir for a new deployment';
  if (input.host !== undefined && input.host !== previous.host) {
    throw new DeploymentConflict(`this deployment listens on ${previous.host}; --host ${input.host} would move it (${keep})`);
  }
  if (input.basePort !== undefined && input.basePort !== previous.iam.port) {
    throw new DeploymentConflict(`this deployment uses ports from ${previous.iam.port}; --port ${input.basePort} would move it (${keep})`);
  }
  if (input.nodes !== undefined && input.nodes !== (previous.nodes ?? 1)) {
    throw new DeploymentConflict(`this deployment runs ${previous.nodes ?? 1} node(s) per region; --nodes ${input.nodes} would move its ports (${keep})`);
  }
  if (input.rootKey !== undefined && !sameRootKey(input.rootKey, previous.root_key ?? DEFAULT_ROOT_KEY, 'any')) {
    throw new DeploymentConflict(`this deployment's keys are wrapped by ${previous.root_key?.type === 'pkcs11' ? `root keys in the PKCS#11 token ${JSON.stringify(previous.root_key.token)}` : 'the key files master.key'}; --root-key would leave them unreadable (start it without --root-key; \`strongroom root-key rotate --region R\` moves a region to another root key while it runs)`);
  }
  if (input.regions !== undefined) {
    const had = previous.regions.map((r) => r.id);
    const dropped = had.filter((r) => !input.regions!.includes(r));
    if (dropped.length > 0) {
      throw new DeploymentConflict(`this deployment serves ${had.join(',')}; --regions ${input.regions.join(',')} would stop serving ${dropped.join(', ')} and ${dropped.length > 1 ? 'their' : 'its'} keys (${keep}; regions can be added after the existing ones)`);
    }
    if (had.some((r, i) => input.regions![i] !== r)) {
      throw new DeploymentConflict(`this deployment serves ${had.join(',')} in that order (their ports follow it); give --regions ${had.join(',')} followed by the regions to add`);
    }
  }
}

/**
 * Creates the deployment file at first start, or rewrites it on a restart with what resolvePlan decides (options
 * that contradict the stored deployment throw DeploymentConflict, and nothing is written).
 */
export function planDeployment(dir: string, input: PlanInput): DeploymentFile {
  const { file } = resolvePlan(dir, input);
  writeDeployment(dir, file);
  return file;
}

/** Writes the deployment file (0600, in a 0700 folder). */
export function writeDeployment(dir: string, file: DeploymentFile): void {
  privateDir(dir);
  writePrivateFile(deploymentPath(dir), JSON.stringify(file, null, 2) + '\n');
}

/**
 * The store of a deployment: the one it was created with. A different `--store` on an existing deployment is
 * refused (its keys are in the first store; Strongroom does not move them).
 */
function chooseStore(previous: DeploymentFile | null, given: string | undefined): string | undefined {
  const wanted = given === undefined ? undefined : (checkStore(given) ?? 'sqlite');
  if (previous === null) return wanted === 'sqlite' ? undefined : wanted;
  const had = previous.store ?? 'sqlite';
  if (wanted !== undefined && wanted !== had) {
    throw new Error(`this deployment keeps its data in ${describeStore(previous.store)}; --store ${wanted === 'sqlite' ? 'sqlite' : redactUrl(wanted)} would start it empty elsewhere (use another --data-dir for a new deployment)`);
  }
  return previous.store;
}

/** The store every process of a deployment opens: `STRONGROOM_STORE` when set, else the deployment file's. */
export function storeOf(file: DeploymentFile): string | undefined {
  return checkStore(process.env[STORE_ENV] || file.store);
}

/** A component's root key (`iam` or a region id): its own entry's, else the deployment's, else its key file. */
export function rootKeyOf(file: DeploymentFile, component: string): RootKeyConfig {
  const own = component === 'iam' ? file.iam.root_key : file.regions.find((r) => r.id === component)?.root_key;
  return own ?? file.root_key ?? DEFAULT_ROOT_KEY;
}

/** The root keys a region's node may open: its `root_key` and, during a rotation, its `root_key_next`. */
export function localRootKeys(file: DeploymentFile, region: string): RootKeyConfig[] {
  const next = file.regions.find((r) => r.id === region)?.root_key_next;
  return [rootKeyOf(file, region), ...(next ? [next] : [])];
}

export function topologyOf(file: DeploymentFile): Topology {
  return new Topology(file.regions.map((r) => ({ id: r.id, endpoint: r.endpoint, endpoints: r.endpoints })), file.replication);
}
