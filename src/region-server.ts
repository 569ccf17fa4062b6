/**
 * One KMS region: `buildRegionApp` wires core services, IAM client, HTTP API and background jobs on a store and root
 * key without listening (tests drive it in-process); `startRegion` opens those through composition.ts and listens.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createHttpApp, type ConnectionLimits, type LoggerOptions, newRequestId } from './api/http.js';
import { KMS_OPERATIONS } from './api/kms/catalogue.js';
import { healthRoutes, rootKeyCheck } from './api/health.js';
import { Metrics, metricsRoutes } from './api/metrics.js';
import { internalRoutes } from './api/kms/internal.js';
import { seedRoutes } from './api/kms/seed-routes.js';
import type { RegionServices } from './api/kms/operations/common.js';
import { kmsPipeline } from './api/kms/pipeline.js';
import { mountOperations } from './api/mount.js';
import { openApiRoute } from './api/openapi.js';
import { ReplayGuard } from './api/replay-guard.js';
import { ratesOf, Throttle, type ThrottlingSetting } from './api/throttling.js';
import { AuditLog } from './audit/audit-log.js';
import type { AuditEntry } from './audit/audit-store.js';
import { AsymmetricOps } from './core/asymmetric-ops.js';
import type { Clock } from './core/context.js';
import { CryptoOps } from './core/crypto-ops.js';
import { KeyImportService } from './core/key-import.js';
import { KeyMaterial } from './core/key-material.js';
import { NO_PLATFORM_ATTESTATION, type PlatformAttestation } from './core/attestation.js';
import { KeySpaceService } from './core/key-space.js';
import { KeyService } from './core/keys.js';
import { KeystoreService } from './core/keystores.js';
import { NO_HSM_CLUSTERS, type HsmClusters } from './core/hsm.js';
import type { HsmClusterConfig } from './keystore/hsm-clusters.js';
import { ReplicationService } from './core/replication.js';
import { RotationService } from './core/rotation.js';
import { SeedService } from './core/seeding.js';
import { TagService } from './core/tags.js';
import type { RootKey } from './keystore/root-key.js';
import { RootKeyRing } from './keystore/root-key-ring.js';
import { attachRootKeyRotation } from './root-rotation.js';
import { DEFAULT_ROOT_KEY, type RootKeyConfig } from './keystore/root-key-config.js';
import { deploymentPath, localRootKeys, readDeployment } from './deployment.js';
import type { TlsMaterial } from './tls.js';
import { openKmsStore, openRootKey } from './composition.js';
import { Scheduler, type WorkRecorder } from './core/scheduler.js';
import type { MonotonicClock } from './token-buckets.js';
import { IamClient } from './regions/iam-client.js';
import { PeerClient } from './regions/peer-client.js';
import type { Topology } from './regions/topology.js';
import type { KmsStore } from './storage/kms-store.js';
import { AliasService } from './core/aliases.js';
import { DEFAULT_GRANT_QUOTA, GrantService } from './core/grants.js';

export interface RegionAppOptions {
  region: string;
  topology: Topology;
  iamEndpoint: string;
  internalSecret: Buffer;
  keyQuota: number;
  /** Grants a key may hold (default 100, Huawei's). */
  grantQuota?: number;
  logger: boolean | LoggerOptions;
  clock?: Clock;
  /** How often keys past their deletion date are destroyed and expired imported material is deleted. */
  deletionSweepMs?: number;
  revocationPollMs?: number;
  /** Timeout of each call to another region (default 5 s). */
  peerTimeoutMs?: number;
  /** How often the outbox is delivered (default 500 ms) and its longest backoff (default 30 s). */
  outboxIntervalMs?: number;
  outboxMaxBackoffMs?: number;
  /** How often keys due for rotation are rotated (default 60 s). */
  rotationCheckMs?: number;
  /** Check every answer against its response schema (tests). */
  checkResponses?: boolean;
  /** Per-user request rates per operation class (api/throttling.ts); default `off`. */
  throttling?: ThrottlingSetting;
  /** The clock of those rate limits and of the failed-authentication limit, in milliseconds (tests move it by hand); default `performance.now()`. */
  throttleClock?: MonotonicClock;
  /** How long a background job's lease outlives its holder's last renewal (core/scheduler.ts); tests shorten it. */
  leaseMs?: number;
  /** Timeouts and connection cap of the HTTP server (api/http.ts; default DEFAULT_LIMITS). */
  limits?: Partial<ConnectionLimits>;
  /** The deployment's id (deployment.json), answered by `/healthz`. */
  deploymentId?: string;
  /** Serve HTTPS with this certificate and key (tls.ts). */
  tls?: TlsMaterial;
  /** The HSM clusters dedicated keystores may use (core/hsm.ts); none when unset. Closed with the region. */
  hsmClusters?: HsmClusters;
  /**
   * What attests ECS and CCE workloads and enclaves (core/attestation.ts); default none: only Custom access points
   * open capsules, and recipients are refused. Tests give a TestPlatformAttestation.
   */
  platformAttestation?: PlatformAttestation;
}

export interface RegionServerOptions extends RegionAppOptions {
  /** deployment.json `hsm_clusters`: opened over PKCS#11 (keystore/hsm-clusters.ts) when `hsmClusters` is not given. */
  hsmClusterConfigs?: Readonly<Record<string, HsmClusterConfig>>;
  /** The region's own data directory (SQLite database, root key). */
  dataDir: string;
  /** `postgres://…` to keep the region in PostgreSQL (composition.ts); SQLite in `dataDir` when unset. */
  store?: string;
  /** This node's id (random when unset). */
  nodeId?: string;
  /** The region's root key (deployment.ts rootKeyOf); the key file `master.key` in `dataDir` when unset. */
  rootKey?: RootKeyConfig;
  /**
   * The deployment's directory, whose deployment.json names the key a rotation moves to (root-rotation.ts);
   * default: two levels above `dataDir` (DIR/regions/<id>).
   */
  deploymentDir?: string;
  host: string;
  port: number;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** What a region is built from (composition.ts opens them). */
export interface RegionDeps {
  store: KmsStore;
  rootKey: RootKey;
  /** This node's id among the nodes sharing the store (leases, audit ownership). */
  nodeId: string;
  /** True when other nodes may share the store (PostgreSQL): orphaned audit entries are then collected periodically. */
  shared: boolean;
}

/** A region's HTTP app with its services and background work, built but not listening. */
export interface RegionApp {
  app: FastifyInstance;
  api: RegionServices;
  scheduler: Scheduler;
  /** Starts following IAM and the background work (the first deletion sweep runs before it resolves). */
  start(): Promise<void>;
  /** Stops the background work and closes the app, the store and the root key. */
  close(): Promise<void>;
}

/**
 * Refuses a root key other than the one the region's keys are wrapped with (a node of a shared store given another
 * key file would fail every call instead): the first node records the key's id in the store. During a rotation
 * (root-rotation.ts) the node holds both keys, and the recorded one is either.
 */
async function checkRootKey(store: KmsStore, rootKey: RootKey): Promise<void> {
  const recorded = (await store.putSettingIfAbsent('root_key_id', Buffer.from(rootKey.id))).toString();
  const held = rootKey instanceof RootKeyRing ? rootKey.ids : [rootKey.id];
  if (!held.includes(recorded)) {
    throw new Error(`the region's keys are wrapped by root key ${recorded}, but this node has ${rootKey.id}: give every node of the region the same master.key`);
  }
}

/** Builds a region on an open store and root key: services, routes, background jobs. Nothing listens yet. */
export async function buildRegionApp(o: RegionAppOptions, deps: RegionDeps): Promise<RegionApp> {
  const { store, rootKey } = deps;
  const clock = o.clock ?? Date.now;
  await checkRootKey(store, rootKey);
  const material = new KeyMaterial(store, rootKey);
  // Material another node destroyed or replaced (expired and imported again) leaves this node's cache too.
  store.onKeyChanged((keyId) => (keyId === null ? material.forgetAll() : material.forget(keyId)));
  const iam = new IamClient({
    endpoint: o.iamEndpoint, secret: o.internalSecret, nodeId: o.region,
    pollMs: o.revocationPollMs ?? 250, timeoutMs: 5000, maxStalenessMs: 30_000, clock,
  });
  const peers = new PeerClient({ self: o.region, topology: o.topology, secret: o.internalSecret, timeoutMs: o.peerTimeoutMs ?? 5000 });
  const replication = new ReplicationService(store, material, rootKey, peers, iam, clock, {
    region: o.region,
    targets: (r) => o.topology.replicaTargets(r),
    maxBackoffMs: o.outboxMaxBackoffMs ?? 30_000,
    handoverWaitMs: 2 * (o.peerTimeoutMs ?? 5000),
  });
  await replication.init();
  iam.useTransportKey({ publicRaw: replication.transportPublicKey, open: (sealed, context) => replication.openSealed(sealed, context) });
  const imports = new KeyImportService(store, material, rootKey, clock, (tx, key) => replication.syncReplicas(tx, key));
  await imports.init();
  const hsm = o.hsmClusters ?? NO_HSM_CLUSTERS;
  const keystores = new KeystoreService(store, hsm, clock);
  const keys = new KeyService(store, material, clock, { keyQuota: o.keyQuota }, keystores);
  const crypto = new CryptoOps(store, material, clock, (key) => replication.pullFromPrimary(key), keystores);
  const platform = o.platformAttestation ?? NO_PLATFORM_ATTESTATION;
  const api: RegionServices = {
    region: o.region,
    keys,
    keystores,
    tags: new TagService(store, keys, clock),
    aliases: new AliasService(store, keys, clock),
    grants: new GrantService(store, keys, iam, clock, { grantQuota: o.grantQuota ?? DEFAULT_GRANT_QUOTA }),
    crypto,
    keySpace: new KeySpaceService(store, rootKey, crypto, clock, platform),
    platform,
    topology: o.topology,
    clock,
    replication,
    rotation: new RotationService(store, material, replication, clock),
    asymmetric: new AsymmetricOps(store, material, clock, keystores),
    imports,
    auditTrail: store,
  };
  const audit = await AuditLog.open(store, rootKey);
  const app = createHttpApp({ logger: o.logger, limits: o.limits, tls: o.tls });
  const rates = ratesOf(o.throttling ?? 'off');
  const throttle = rates ? new Throttle(rates, o.throttleClock) : undefined;
  mountOperations(app, KMS_OPERATIONS, kmsPipeline({ services: api, iam, audit, checkResponses: o.checkResponses ?? false, throttle, replay: new ReplayGuard(store), authClock: o.throttleClock }));
  openApiRoute(app, KMS_OPERATIONS, { title: `Strongroom KMS (${o.region})`, description: 'Huawei Cloud KMS (DEW) v1.0 and v2 as Strongroom serves it, in one region.' });
  const metrics = new Metrics({ component: 'region', region: o.region });
  audit.onWritten = (seconds) => metrics.auditWrite.observe(seconds);
  const delay = metrics.histogram('strongroom_replication_delay_seconds', 'Time from a change to its delivery to another region (seconds).', ['target']);
  replication.onDelivered = (target, seconds) => delay.observe({ target }, seconds);
  // Every other region is listed, at 0 when nothing waits for it.
  const outbox = async () => {
    const stats = new Map((await store.outboxStats()).map((x) => [x.target, x]));
    return o.topology.regions.filter((r) => r.id !== o.region).map((r) => ({ target: r.id, stat: stats.get(r.id) }));
  };
  metrics.gauge('strongroom_outbox_messages', 'Changes not yet delivered to each region.', ['target'], async () =>
    (await outbox()).map(({ target, stat }) => ({ labels: { target }, value: stat?.messages ?? 0 })));
  metrics.gauge('strongroom_outbox_oldest_age_seconds', 'Age of the oldest change not yet delivered to each region (seconds).', ['target'], async () =>
    (await outbox()).map(({ target, stat }) => ({ labels: { target }, value: stat ? Math.max(0, (Date.now() - stat.oldestCreatedAt) / 1000) : 0 })));
  metrics.counterFrom('strongroom_token_cache_total', 'Token checks answered from the verified-token cache (hit) or verified afresh (miss).', ['result'], () => [
    { labels: { result: 'hit' }, value: iam.cacheStats.tokenHits }, { labels: { result: 'miss' }, value: iam.cacheStats.tokenMisses }]);
  metrics.counterFrom('strongroom_decision_cache_total', 'Permission decisions answered from the cache (hit) or fetched from IAM (miss).', ['result'], () => [
    { labels: { result: 'hit' }, value: iam.cacheStats.decisionHits() }, { labels: { result: 'miss' }, value: iam.cacheStats.decisionMisses() }]);
  metricsRoutes(app, metrics);
  healthRoutes(app, { component: 'region', region: o.region, deploymentId: o.deploymentId }, {
    store: async () => void (await store.getSetting('root_key_id')),
    root_key: rootKeyCheck(rootKey),
    iam: () => iam.checkLink(),
  });
  internalRoutes(app, { region: o.region, topology: o.topology, secret: o.internalSecret, replication, audit, applied: store });
  const seeding = new SeedService(store, material, api.grants, iam, replication, clock, { region: o.region, keyQuota: o.keyQuota });
  seedRoutes(app, { region: o.region, secret: o.internalSecret, seeding, replication, audit, applied: store });

  // The region's own work is in its audit trail too: one `system:` record per key it changed. The record is written
  // pending, with its outcome, in the transaction that changes the key (no lock on the chain's head there, so the
  // work does not contend with every call's record), and chained once that commits; a node that dies in between
  // leaves it to another node's recovery, which chains it as it is. Each change is recorded exactly once.
  const recordWork = (operation: string): WorkRecorder => {
    const started = Date.now();
    const entries = new Map<string, AuditEntry>();
    const entryOf = (keyId: string): AuditEntry => {
      let entry = entries.get(keyId);
      if (!entry) {
        entry = {
          time: new Date(started).toISOString(), request_id: newRequestId(), service: 'kms', region: o.region, caller: null, source_ip: '',
          operation, action: null, key_ids: [keyId], status: 200, error_code: null, duration_ms: Date.now() - started,
        };
        entries.set(keyId, entry);
      }
      return entry;
    };
    return {
      inTransaction: (tx, keyId) => audit.pendingWithin(tx, entryOf(keyId)),
      committed: (keyId) => audit.record(entryOf(keyId)),
    };
  };
  // One process owns a SQLite store: its jobs' holder is the same across restarts, so a restart after a crash takes
  // its leases back at once instead of waiting for them to lapse.
  const holder = deps.shared ? deps.nodeId : 'local';
  const scheduler = new Scheduler(store, { nodeId: holder, leaseMs: o.leaseMs, onError: (err, job) => app.log.error({ err }, `${job} failed`) });
  // The deletion sweep: keys past their deletion date are destroyed, expired imported material is deleted.
  scheduler.add({
    name: 'deletion', everyMs: o.deletionSweepMs ?? 60_000,
    run: async () => {
      try {
        await api.keys.destroyDueKeys(recordWork('system:DestroyKey')); // throws when an HSM cluster was unreachable (retried next sweep)
      } finally {
        await imports.expireMaterial(recordWork('system:ExpireKeyMaterial'));
        await store.purgeRequests(Date.now()); // replay claims whose signatures can no longer be used
      }
    },
  });
  scheduler.add({ name: 'outbox', everyMs: o.outboxIntervalMs ?? 500, run: () => replication.deliverDue() });
  scheduler.add({ name: 'rotation', everyMs: o.rotationCheckMs ?? 60_000, run: () => api.rotation.rotateDue(recordWork('system:RotateKey')) });
  if (deps.shared) scheduler.add({ name: 'audit-recovery', everyMs: Math.min(30_000, o.leaseMs ?? 30_000), run: () => audit.recoverPending() });

  return {
    app,
    api,
    scheduler,
    async start() {
      await iam.start();
      await scheduler.runNow('deletion');
      scheduler.start();
    },
    async close() {
      await scheduler.stop();
      iam.stop();
      await app.close();
      await store.close();
      await rootKey.close();
      await hsm.close();
    },
  };
}

/** Opens the region's store and root key (composition.ts), builds it, starts its work and listens on host:port. */
export async function startRegion(o: RegionServerOptions): Promise<RunningServer & { api: RegionServices; scheduler: Scheduler }> {
  const at = { dataDir: o.dataDir, store: o.store, nodeId: o.nodeId ?? randomUUID(), leaseMs: o.leaseMs, rootKey: o.rootKey };
  const store = await openKmsStore(o.region, at);
  let rootKey: RootKey | undefined;
  let region: RegionApp;
  let stopWatch = (): void => {};
  let log = (err: unknown): void => console.error(err);
  try {
    const ring = new RootKeyRing(openRootKey(at, o.region));
    rootKey = ring;
    const deploymentDir = o.deploymentDir ?? resolve(o.dataDir, '..', '..');
    const local = (): RootKeyConfig[] => (existsSync(deploymentPath(deploymentDir)) ? localRootKeys(readDeployment(deploymentDir), o.region) : [o.rootKey ?? DEFAULT_ROOT_KEY]);
    stopWatch = await attachRootKeyRotation(store, ring, o.dataDir, o.region, local, (err) => log(err));
    const configs = o.hsmClusterConfigs ?? {};
    const hsmClusters = o.hsmClusters ?? (Object.keys(configs).length > 0 ? new (await import('./keystore/hsm-clusters.js')).Pkcs11Clusters(configs) : undefined);
    region = await buildRegionApp({ ...o, hsmClusters }, { store, rootKey, nodeId: at.nodeId, shared: at.store !== undefined && at.store !== 'sqlite' });
  } catch (err) {
    stopWatch();
    await store.close();
    await rootKey?.close();
    throw err;
  }
  log = (err) => region.app.log.error({ err }, 'following a rotation of the root key failed');
  try {
    await region.start();
    const url = await region.app.listen({ host: o.host, port: o.port });
    return { app: region.app, api: region.api, scheduler: region.scheduler, url, close: () => (stopWatch(), region.close()) };
  } catch (err) {
    stopWatch();
    await region.close();
    throw err;
  }
}
