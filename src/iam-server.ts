/** Composition of the IAM endpoint: its store, root key (secret keys, the token key, the audit key) and HTTP API. */
import { AuditLog } from './audit/audit-log.js';
import { healthRoutes, rootKeyCheck } from './api/health.js';
import type { RootKeyConfig } from './keystore/root-key-config.js';
import { Metrics, metricsRoutes } from './api/metrics.js';
import { createHttpApp, type ConnectionLimits, type LoggerOptions } from './api/http.js';
import { IAM_OPERATIONS } from './api/iam/catalogue.js';
import { iamInternalRoutes } from './api/iam/internal.js';
import type { IamServices } from './api/iam/operations/common.js';
import { iamPipeline } from './api/iam/pipeline.js';
import { mountOperations } from './api/mount.js';
import { openApiRoute } from './api/openapi.js';
import { mountConsole } from './console/serve.js';
import { openIam } from './iam-data.js';
import type { RunningServer } from './region-server.js';
import type { Clock } from './core/context.js';
import type { Topology } from './regions/topology.js';
import type { TlsMaterial } from './tls.js';

export { openIam, type OpenIam } from './iam-data.js';

export interface IamServerOptions {
  dataDir: string;
  /** `postgres://…` to keep IAM in PostgreSQL (composition.ts); SQLite in `dataDir` when unset. */
  store?: string;
  /** IAM's root key (deployment.ts rootKeyOf); the key file `master.key` in `dataDir` when unset. */
  rootKey?: RootKeyConfig;
  topology: Topology;
  internalSecret: Buffer;
  iamEndpoint: string;
  host: string;
  port: number;
  logger: boolean | LoggerOptions;
  /** Check every answer against its response schema (tests). */
  checkResponses?: boolean;
  /** Epoch milliseconds for tokens and login lockout; injectable so tests can move time forward. */
  clock?: Clock;
  /** Timeouts and connection cap of the HTTP server (api/http.ts; default DEFAULT_LIMITS). */
  limits?: Partial<ConnectionLimits>;
  /** The deployment's id (deployment.json), answered by `/healthz`. */
  deploymentId?: string;
  /** Serve HTTPS with this certificate and key (tls.ts). */
  tls?: TlsMaterial;
}

export async function startIam(o: IamServerOptions): Promise<RunningServer> {
  const opened = await openIam(o.dataDir, { clock: o.clock, store: o.store, rootKey: o.rootKey });
  const audit = await AuditLog.open(opened.store, opened.rootKey);
  const services: IamServices = { iam: opened.iam, directory: opened.iam.directory, permissions: opened.permissions, topology: o.topology, endpoint: o.iamEndpoint };
  const app = createHttpApp({ logger: o.logger, service: 'iam', limits: o.limits, tls: o.tls });
  mountOperations(app, IAM_OPERATIONS, iamPipeline({ services, audit, checkResponses: o.checkResponses ?? false }));
  openApiRoute(app, IAM_OPERATIONS, { title: 'Strongroom IAM', description: 'Huawei Cloud IAM (Keystone v3 and v3.0 extensions) as Strongroom serves it.' });
  const metrics = new Metrics({ component: 'iam' });
  audit.onWritten = (seconds) => metrics.auditWrite.observe(seconds);
  metricsRoutes(app, metrics);
  healthRoutes(app, { component: 'iam', deploymentId: o.deploymentId }, {
    store: async () => void (await opened.store.getSetting('token_signing_key')),
    root_key: rootKeyCheck(opened.rootKey),
  });
  mountConsole(app, { topology: o.topology });
  iamInternalRoutes(app, { iam: opened.iam, permissions: opened.permissions, store: opened.store, secret: o.internalSecret });
  // Where IAM's store may be shared (PostgreSQL), calls a stopped process left pending are collected periodically
  // too (at open they are only those of processes whose liveness lease has lapsed).
  const recovery = o.store !== undefined ? setInterval(() => void audit.recoverPending().catch((err) => app.log.error({ err }, 'audit recovery failed')), 30_000) : undefined;
  recovery?.unref();
  const url = await app.listen({ host: o.host, port: o.port });
  return { app, url, close: async () => (clearInterval(recovery), await app.close(), await opened.close()) };
}
