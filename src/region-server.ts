/** Composition of one KMS region: its store, root key, core services, IAM client and HTTP API. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from './api/http.js';
import { dataKeyRoutes } from './api/kms/data-keys.js';
import { lifecycleRoutes } from './api/kms/lifecycle.js';
import { regionRoutes } from './api/kms/regions.js';
import type { RegionApi } from './api/kms/routes.js';
import { smallDataRoutes } from './api/kms/small-data.js';
import { versionRoutes } from './api/kms/versions.js';
import type { Clock } from './core/context.js';
import { CryptoOps } from './core/crypto-ops.js';
import { KeyMaterial } from './core/key-material.js';
import { KeyService } from './core/keys.js';
import { LocalFileRootKey } from './keystore/local-file.js';
import { IamClient } from './regions/iam-client.js';
import type { Topology } from './regions/topology.js';
import { SqliteKmsStore } from './storage/sqlite/kms-sqlite-store.js';

export interface RegionServerOptions {
  region: string;
  /** The region's own data directory (database, root key). */
  dataDir: string;
  topology: Topology;
  iamEndpoint: string;
  internalSecret: Buffer;
  keyQuota: number;
  host: string;
  port: number;
  logger: boolean | { level: string; file?: string };
  clock?: Clock;
  /** How often keys past their deletion date are destroyed. */
  deletionSweepMs?: number;
  revocationPollMs?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startRegion(o: RegionServerOptions): Promise<RunningServer & { api: RegionApi }> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const clock = o.clock ?? Date.now;
  const store = new SqliteKmsStore(join(o.dataDir, 'kms.db'));
  const rootKey = new LocalFileRootKey(join(o.dataDir, 'master.key'));
  const material = new KeyMaterial(store, rootKey);
  const iam = new IamClient({
    endpoint: o.iamEndpoint, secret: o.internalSecret, nodeId: o.region,
    pollMs: o.revocationPollMs ?? 1000, timeoutMs: 5000, maxStalenessMs: 30_000, clock,
  });
  const api: RegionApi = {
    region: o.region,
    keys: new KeyService(store, material, clock, { keyQuota: o.keyQuota }),
    crypto: new CryptoOps(store, material, clock),
    iam,
    topology: o.topology,
    clock,
  };
  const app = createHttpApp({ logger: o.logger });
  versionRoutes(app);
  lifecycleRoutes(app, api);
  smallDataRoutes(app, api);
  dataKeyRoutes(app, api);
  regionRoutes(app, api);

  await iam.start();
  const sweep = setInterval(() => void api.keys.destroyDueKeys().catch((err) => app.log.error({ err }, 'deletion sweep failed')), o.deletionSweepMs ?? 60_000);
  sweep.unref();
  await api.keys.destroyDueKeys();
  const url = await app.listen({ host: o.host, port: o.port });
  return {
    app,
    api,
    url,
    async close() {
      clearInterval(sweep);
      iam.stop();
      await app.close();
      await store.close();
      await rootKey.close();
    },
  };
}
