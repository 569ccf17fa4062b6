/** Composition of the IAM endpoint: its store, root key (secret keys, the token key, the audit key) and HTTP API. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog } from './audit/audit-log.js';
import { createHttpApp } from './api/http.js';
import { IAM_OPERATIONS } from './api/iam/catalogue.js';
import { iamInternalRoutes } from './api/iam/internal.js';
import type { IamServices } from './api/iam/operations/common.js';
import { iamPipeline } from './api/iam/pipeline.js';
import { mountOperations } from './api/mount.js';
import { openApiRoute } from './api/openapi.js';
import { IamService } from './iam/iam-service.js';
import { Permissions } from './iam/permissions.js';
import { LocalFileRootKey } from './keystore/local-file.js';
import type { RootKey } from './keystore/root-key.js';
import type { RunningServer } from './region-server.js';
import type { Topology } from './regions/topology.js';
import type { IamStore } from './storage/iam-store.js';
import { SqliteIamStore } from './storage/sqlite/iam-sqlite-store.js';

export interface OpenIam {
  iam: IamService;
  permissions: Permissions;
  store: IamStore;
  rootKey: RootKey;
  close(): Promise<void>;
}

/** Opens IAM's data (creating it on first use); used by the server and by the admin CLI. */
export async function openIam(dataDir: string): Promise<OpenIam> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = new SqliteIamStore(join(dataDir, 'iam.db'));
  const rootKey = new LocalFileRootKey(join(dataDir, 'master.key'));
  const iam = new IamService(store, rootKey);
  await iam.init();
  return { iam, permissions: new Permissions(store), store, rootKey, close: async () => (await store.close(), await rootKey.close()) };
}

export interface IamServerOptions {
  dataDir: string;
  topology: Topology;
  internalSecret: Buffer;
  iamEndpoint: string;
  host: string;
  port: number;
  logger: boolean | { level: string; file?: string };
  /** Check every answer against its response schema (tests). */
  checkResponses?: boolean;
}

export async function startIam(o: IamServerOptions): Promise<RunningServer> {
  const opened = await openIam(o.dataDir);
  const audit = await AuditLog.open(opened.store, opened.rootKey);
  const services: IamServices = { iam: opened.iam, directory: opened.iam.directory, permissions: opened.permissions, topology: o.topology, endpoint: o.iamEndpoint };
  const app = createHttpApp({ logger: o.logger, service: 'iam' });
  mountOperations(app, IAM_OPERATIONS, iamPipeline({ services, audit, checkResponses: o.checkResponses ?? false }));
  openApiRoute(app, IAM_OPERATIONS, { title: 'Strongroom IAM', description: 'Huawei Cloud IAM (Keystone v3 and v3.0 extensions) as Strongroom serves it.' });
  iamInternalRoutes(app, { iam: opened.iam, permissions: opened.permissions, store: opened.store, secret: o.internalSecret });
  const url = await app.listen({ host: o.host, port: o.port });
  return { app, url, close: async () => (await app.close(), await opened.close()) };
}
