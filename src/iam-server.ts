/** Composition of the IAM endpoint: its store, root key (for secret keys and the token key) and HTTP API. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHttpApp } from './api/http.js';
import { iamRoutes } from './api/iam/routes.js';
import { IamService } from './iam/iam-service.js';
import { LocalFileRootKey } from './keystore/local-file.js';
import type { RunningServer } from './region-server.js';
import type { Topology } from './regions/topology.js';
import { SqliteIamStore } from './storage/sqlite/iam-sqlite-store.js';

/** Opens IAM's data (creating it on first use); used by the server and by the admin CLI. */
export async function openIam(dataDir: string): Promise<{ iam: IamService; close(): Promise<void> }> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = new SqliteIamStore(join(dataDir, 'iam.db'));
  const rootKey = new LocalFileRootKey(join(dataDir, 'master.key'));
  const iam = new IamService(store, rootKey);
  await iam.init();
  return { iam, close: async () => (await store.close(), await rootKey.close()) };
}

export interface IamServerOptions {
  dataDir: string;
  topology: Topology;
  internalSecret: Buffer;
  iamEndpoint: string;
  host: string;
  port: number;
  logger: boolean | { level: string; file?: string };
}

export async function startIam(o: IamServerOptions): Promise<RunningServer> {
  const { iam, close } = await openIam(o.dataDir);
  const app = createHttpApp({ logger: o.logger, service: 'iam' });
  iamRoutes(app, { iam, topology: o.topology, internalSecret: o.internalSecret, iamEndpoint: o.iamEndpoint });
  const url = await app.listen({ host: o.host, port: o.port });
  return { app, url, close: async () => (await app.close(), await close()) };
}
