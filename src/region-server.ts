/** Composition of one KMS region: its store, root key, core services, IAM client and HTTP API. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createHttpApp, type LoggerOptions, newRequestId } from './api/http.js';
import { KMS_OPERATIONS } from './api/kms/catalogue.js';
import { internalRoutes } from './api/kms/internal.js';
import type { RegionServices } from './api/kms/operations/common.js';
import { kmsPipeline } from './api/kms/pipeline.js';
import { mountOperations } from './api/mount.js';
import { openApiRoute } from './api/openapi.js';
import { ratesOf, Throttle, type ThrottlingSetting } from './api/throttling.js';
import { AuditLog } from './audit/audit-log.js';
import { AsymmetricOps } from './core/asymmetric-ops.js';
import type { Clock } from './core/context.js';
import { CryptoOps } from './core/crypto-ops.js';
import { KeyImportService } from './core/key-import.js';
import { KeyMaterial } from './core/key-material.js';
import { KeyService } from './core/keys.js';
import { ReplicationService } from './core/replication.js';
import { RotationService } from './core/rotation.js';
import { TagService } from './core/tags.js';
import { LocalFileRootKey } from './keystore/local-file.js';
import type { MonotonicClock } from './token-buckets.js';
import { IamClient } from './regions/iam-client.js';
import { PeerClient } from './regions/peer-client.js';
import type { Topology } from './regions/topology.js';
import { SqliteKmsStore } from './storage/sqlite/kms-sqlite-store.js';
import { AliasService } from './core/aliases.js';
import { DEFAULT_GRANT_QUOTA, GrantService } from './core/grants.js';

export interface RegionServerOptions {
  region: string;
  /** The region's own data directory (database, root key). */
  dataDir: string;
  topology: Topology;
  iamEndpoint: string;
  internalSecret: Buffer;
  keyQuota: number;
  /** Grants a key may hold (default 100, Huawei's). */
  grantQuota?: number;
  host: string;
  port: number;
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
  /** The clock of those rate limits, in milliseconds (tests move it by hand); default `performance.now()`. */
  throttleClock?: MonotonicClock;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startRegion(o: RegionServerOptions): Promise<RunningServer & { api: RegionServices }> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const clock = o.clock ?? Date.now;
  const store = new SqliteKmsStore(join(o.dataDir, 'kms.db'));
  const rootKey = new LocalFileRootKey(join(o.dataDir, 'master.key'));
  const material = new KeyMaterial(store, rootKey);
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
  const keys = new KeyService(store, material, clock, { keyQuota: o.keyQuota });
  const api: RegionServices = {
    region: o.region,
    keys,
    tags: new TagService(store, keys, clock),
    aliases: new AliasService(store, keys, clock),
    grants: new GrantService(store, keys, iam, clock, { grantQuota: o.grantQuota ?? DEFAULT_GRANT_QUOTA }),
    crypto: new CryptoOps(store, material, clock, (key) => replication.pullFromPrimary(key)),
    topology: o.topology,
    clock,
    replication,
    rotation: new RotationService(store, material, replication, clock),
    asymmetric: new AsymmetricOps(store, material, clock),
    imports,
  };
  const audit = await AuditLog.open(store, rootKey);
  const app = createHttpApp({ logger: o.logger });
  const rates = ratesOf(o.throttling ?? 'off');
  const throttle = rates ? new Throttle(rates, o.throttleClock) : undefined;
  mountOperations(app, KMS_OPERATIONS, kmsPipeline({ services: api, iam, audit, checkResponses: o.checkResponses ?? false, throttle }));
  openApiRoute(app, KMS_OPERATIONS, { title: `Strongroom KMS (${o.region})`, description: 'Huawei Cloud KMS (DEW) v1.0 and v2 as Strongroom serves it, in one region.' });
  internalRoutes(app, { region: o.region, topology: o.topology, secret: o.internalSecret, replication, audit });

  await iam.start();
  // The deletion sweep: keys past their deletion date are destroyed, expired imported material is deleted.
  // The region's own work is in its audit trail too: one `system:` record per key it changed.
  const recordWork = async (operation: string, work: () => Promise<string[]>) => {
    const started = Date.now();
    const keyIds = await work();
    for (const keyId of keyIds) {
      await audit.record({
        time: new Date(started).toISOString(), request_id: newRequestId(), service: 'kms', region: o.region, caller: null, source_ip: '',
        operation, action: null, key_ids: [keyId], status: 200, error_code: null, duration_ms: Date.now() - started,
      });
    }
    return keyIds;
  };
  const destroyDue = () => recordWork('system:DestroyKey', () => api.keys.destroyDueKeys());
  const expireMaterial = () => recordWork('system:ExpireKeyMaterial', () => imports.expireMaterial());
  const sweep = setInterval(() => {
    void destroyDue().catch((err) => app.log.error({ err }, 'deletion sweep failed'))
      .then(() => expireMaterial()).catch((err) => app.log.error({ err }, 'imported material expiry failed'));
  }, o.deletionSweepMs ?? 60_000);
  sweep.unref();
  await destroyDue();
  await expireMaterial();
  const background = (name: string, ms: number, work: () => Promise<unknown>) => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      work().catch((err) => app.log.error({ err }, `${name} failed`)).finally(() => (running = false));
    }, ms);
    timer.unref();
    return timer;
  };
  const outbox = background('outbox delivery', o.outboxIntervalMs ?? 500, () => replication.deliverDue());
  const rotation = background('scheduled rotation', o.rotationCheckMs ?? 60_000, () => recordWork('system:RotateKey', () => api.rotation.rotateDue()));
  const url = await app.listen({ host: o.host, port: o.port });
  return {
    app,
    api,
    url,
    async close() {
      clearInterval(sweep);
      clearInterval(outbox);
      clearInterval(rotation);
      iam.stop();
      await app.close();
      await store.close();
      await rootKey.close();
    },
  };
}
