/**
 * Test harness: a whole deployment (IAM and regions) on loopback ports with its data in a temporary directory,
 * and clients for it. Requests are signed with the official Huawei signer (@huaweicloud/huaweicloud-sdk-core)
 * or carry IAM tokens; every response is returned whole (status, headers, JSON body).
 */
import type { LoggerOptions } from '../../src/api/http.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { after } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap, type BootstrapFile } from '../../src/cli/bootstrap.js';
import type { Clock } from '../../src/core/context.js';
import { deploymentPath, iamDir, planDeployment, readDeployment, regionDir, rootKeyOf, topologyOf, writeDeployment, type DeploymentFile } from '../../src/deployment.js';
import type { RootKeyConfig } from '../../src/keystore/root-key-config.js';
import { softHsm } from './softhsm.js';
import type { HsmClusterConfig } from '../../src/keystore/hsm-cluster-config.js';
import type { Scheduler } from '../../src/core/scheduler.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { freePortRange } from './ports.js';

export { freePortRange };
import { passwordToken, signedRequest, type Credentials, type Reply } from './signing.js';

export * from './signing.js';
import { startIam } from '../../src/iam-server.js';
import { startRegion, type RunningServer } from '../../src/region-server.js';
import type { RegionServices } from '../../src/api/kms/operations/common.js';
import type { ThrottlingSetting } from '../../src/api/throttling.js';
import type { PlatformAttestation } from '../../src/core/attestation.js';

export type RegionNode = RunningServer & { api: RegionServices; scheduler: Scheduler };

export interface TestDeployment {
  dir: string;
  deployment: DeploymentFile;
  boot: BootstrapFile;
  iamUrl: string;
  /** Each region's first node. */
  regions: Map<string, RegionNode>;
  /** Node `n` (from 0) of a region, and its endpoint. */
  node(region: string, n: number): RegionNode;
  nodeEndpoint(region: string, n: number): string;
  stopNode(region: string, n: number): Promise<void>;
  startNode(region: string, n: number): Promise<void>;
  endpoint(region: string): string;
  projectId(region: string): string;
  admin: Credentials;
  /** A project-scoped token of the admin user. */
  token(region: string): Promise<string>;
  /** AK/SK-signed KMS call by the admin in the region's project. */
  kms(region: string, op: string, body?: object): Promise<Reply>;
  stopRegion(region: string): Promise<void>;
  startRegion(region: string): Promise<void>;
  /** Stops the IAM process (the regions go on with what they hold). */
  stopIam(): Promise<void>;
  stop(): Promise<void>;
}

export interface DeploymentOptions {
  regions?: string[];
  clock?: Clock;
  keyQuota?: number;
  grantQuota?: number;
  /** Keep the data directory after stop (for restart tests). */
  dir?: string;
  /** How often regions poll IAM's revocation and permission feed (default 100 ms here; null: the product's default). */
  revocationPollMs?: number | null;
  /** Check every answer against its response schema (default true; the benchmark measures without). */
  checkResponses?: boolean;
  /** `--throttling` as `npm start` takes it (kept in deployment.json; default: the file's, else off). */
  throttling?: ThrottlingSetting;
  /** The regions' rate-limit clock (ms), for tests that move it by hand. */
  throttleClock?: () => number;
  /**
   * `postgres`: IAM and the regions keep their data in a new PostgreSQL database (dropped when the test file ends);
   * default `STRONGROOM_TEST_STORE` (CI runs the API suite once with `postgres`), else SQLite.
   */
  store?: 'sqlite' | 'postgres';
  /** Nodes per region on the shared store (more than one needs `store: 'postgres'`). */
  nodes?: number;
  /** Background jobs' lease time (core/scheduler.ts), for tests of a node taking over another's work. */
  leaseMs?: number;
  /** How often the regions' deletion sweep runs (default: hourly, tests call it). */
  deletionSweepMs?: number;
  /** The processes' logger (default none). */
  logger?: LoggerOptions;
  /**
   * `softhsm`: IAM's and the regions' root keys in a SoftHSM2 token (test/helpers/softhsm.ts) instead of key files;
   * default `STRONGROOM_TEST_ROOT_KEY` (test/region-on-softhsm.test.ts runs API suites with `softhsm`), else files.
   */
  rootKey?: 'file' | 'softhsm';
  /** HSM clusters of dedicated keystores, written to deployment.json `hsm_clusters` (SOFTHSM2_CONF: test/helpers/softhsm.ts). */
  hsmClusters?: Record<string, HsmClusterConfig>;
  /** What attests ECS/CCE workloads and enclaves in the regions (core/attestation.ts; default none). */
  platformAttestation?: PlatformAttestation;
}

/** The root keys of a test deployment: undefined for key files, a PKCS#11 configuration on SoftHSM2. */
function testRootKey(o: DeploymentOptions): RootKeyConfig | undefined {
  const kind = o.rootKey ?? (process.env.STRONGROOM_TEST_ROOT_KEY === 'softhsm' ? 'softhsm' : 'file');
  if (kind === 'file') return undefined;
  const hsm = softHsm('strongroom-test');
  return { type: 'pkcs11', module: hsm.module, token: 'strongroom-test', pin_file: hsm.pinFile };
}

/** Databases made by deployments of this test file, dropped when it ends. */
const testDatabases: TestDatabase[] = [];
after(async () => {
  for (const db of testDatabases.splice(0)) await db.drop().catch(() => {});
});

/** The store a test deployment uses: a new PostgreSQL database, or SQLite (undefined). */
async function testStore(o: DeploymentOptions): Promise<string | undefined> {
  const kind = o.store ?? (process.env.STRONGROOM_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite');
  if (kind === 'sqlite') return undefined;
  const db = await createTestDatabase();
  testDatabases.push(db);
  return db.url;
}

export async function startTestDeployment(o: DeploymentOptions = {}): Promise<TestDeployment> {
  const regionIds = o.regions ?? ['cn-north-4', 'cn-south-1', 'cn-east-3'];
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'strongroom-test-'));
  const nodes = o.nodes ?? 1;
  const base = await freePortRange(regionIds.length * nodes + 1);
  const reused = o.dir !== undefined && existsSync(deploymentPath(o.dir));
  const store = reused ? undefined : await testStore(o);
  const deployment = planDeployment(dir, { host: '127.0.0.1', basePort: base, regions: regionIds, keyQuota: o.keyQuota, grantQuota: o.grantQuota, throttling: o.throttling, store, nodes, rootKey: reused ? undefined : testRootKey(o) });
  if (o.hsmClusters) {
    deployment.hsm_clusters = o.hsmClusters;
    writeDeployment(dir, deployment);
  }
  const { file: boot } = await bootstrap(dir, deployment);
  const secret = Buffer.from(deployment.internal_secret, 'hex');
  const topology = topologyOf(deployment);
  let iamRunning = true;
  const iam = await startIam({ dataDir: iamDir(dir), store: deployment.store, rootKey: rootKeyOf(deployment, 'iam'), topology, internalSecret: secret, iamEndpoint: deployment.iam.endpoint, host: '127.0.0.1', port: deployment.iam.port, logger: o.logger ?? false, checkResponses: o.checkResponses ?? true });
  const regions = new Map<string, RegionNode>();
  const allNodes = new Map<string, RegionNode>();
  const launchNode = async (id: string, n: number) => {
    const r = deployment.regions.find((x) => x.id === id)!;
    const node = await startRegion({
      region: id, dataDir: regionDir(dir, id), store: deployment.store, rootKey: rootKeyOf(readDeployment(dir), id) /* re-read: `root-key rotate` may have moved it */, topology, iamEndpoint: deployment.iam.endpoint, internalSecret: secret,
      keyQuota: deployment.key_quota, grantQuota: deployment.grant_quota, host: '127.0.0.1', port: r.ports[n]!, logger: o.logger ?? false, clock: o.clock,
      revocationPollMs: o.revocationPollMs === null ? undefined : (o.revocationPollMs ?? 100), deletionSweepMs: o.deletionSweepMs ?? 3_600_000, checkResponses: o.checkResponses ?? true,
      throttling: deployment.throttling, throttleClock: o.throttleClock, leaseMs: o.leaseMs, hsmClusterConfigs: deployment.hsm_clusters, platformAttestation: o.platformAttestation,
    });
    allNodes.set(`${id}/${n}`, node);
    if (n === 0) regions.set(id, node);
  };
  const launch = async (id: string) => {
    for (let n = 0; n < nodes; n++) await launchNode(id, n);
  };
  for (const id of regionIds) await launch(id);
  const admin = { ak: boot.access_key, sk: boot.secret_key };
  const endpoint = (region: string) => deployment.regions.find((r) => r.id === region)!.endpoint;
  const projectId = (region: string) => boot.regions.find((r) => r.id === region)!.project_id;
  return {
    dir, deployment, boot, iamUrl: deployment.iam.endpoint, regions, endpoint, projectId, admin,
    async token(region) {
      const r = await passwordToken(deployment.iam.endpoint, { domain: boot.domain_name, name: boot.user_name, password: boot.password }, { project: { id: projectId(region) } });
      if (r.status !== 201) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
      return r.headers.get('x-subject-token')!;
    },
    kms(region, op, body) {
      return signedRequest(endpoint(region), admin, projectId(region), 'POST', `/v1.0/${projectId(region)}/kms/${op}`, body ?? {});
    },
    node(region, n) {
      const node = allNodes.get(`${region}/${n}`);
      if (!node) throw new Error(`node ${n} of ${region} is not running`);
      return node;
    },
    nodeEndpoint(region, n) {
      return deployment.regions.find((r) => r.id === region)!.endpoints[n]!;
    },
    async stopNode(region, n) {
      await allNodes.get(`${region}/${n}`)?.close();
      allNodes.delete(`${region}/${n}`);
      if (n === 0) regions.delete(region);
    },
    async startNode(region, n) {
      await launchNode(region, n);
    },
    async stopRegion(region) {
      for (let n = 0; n < nodes; n++) {
        await allNodes.get(`${region}/${n}`)?.close();
        allNodes.delete(`${region}/${n}`);
      }
      regions.delete(region);
    },
    async startRegion(region) {
      await launch(region);
    },
    async stopIam() {
      if (iamRunning) await iam.close();
      iamRunning = false;
    },
    async stop() {
      for (const r of allNodes.values()) await r.close();
      if (iamRunning) await iam.close();
      if (!o.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Asserts Huawei's error body with an exact code and status: nested `{"error": {error_code, error_msg}}` for KMS and
 * IAM codes, the API gateway's flat `{error_code, error_msg, request_id}` for `APIGW.*` codes.
 */
export function expectError(reply: Reply, status: number, code: string): void {
  const rid = reply.headers.get('x-request-id');
  if (!rid) throw new Error('the error response has no X-Request-Id');
  if (code.startsWith('APIGW.')) {
    const flat = reply.body as { error_code?: string; error_msg?: string; request_id?: string; error?: unknown };
    if (reply.status !== status || flat?.error_code !== code || typeof flat.error_msg !== 'string' || flat.request_id !== rid || flat.error !== undefined) {
      throw new Error(`expected ${status} ${code} (flat, with request_id ${rid}), got ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return;
  }
  const body = reply.body as { error?: { error_code?: string; error_msg?: string } };
  if (reply.status !== status || body?.error?.error_code !== code || typeof body.error.error_msg !== 'string') {
    throw new Error(`expected ${status} ${code}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  }
}

/** The error code of a Huawei error body, nested or flat. */
export const errorCodeOf = (reply: Reply): string | undefined =>
  (reply.body as { error?: { error_code?: string }; error_code?: string } | undefined)?.error?.error_code ?? (reply.body as { error_code?: string } | undefined)?.error_code;
