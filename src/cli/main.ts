/**
 * The `strongroom` command: `start` (the whole local deployment), `serve-iam` / `serve-region` (one process each,
 * as the launcher runs them), `iam ...` administration (iam-commands.ts) and `audit ...` (audit-commands.ts).
 * Administration commands print JSON on stdout; errors go to stderr with exit code 1.
 */
import { randomUUID } from 'node:crypto';
import { Command, CommanderError } from 'commander';
import { parseThrottling } from '../api/throttling.js';
import { STORE_ENV } from '../composition.js';
import { DEFAULT_BASE_PORT, DEFAULT_HOST, DEFAULT_REGIONS, iamDir, readDeployment, regionDir, storeOf, topologyOf } from '../deployment.js';
import { KmsError } from '../errors.js';
import type { RunningServer } from '../region-server.js';
import { auditCommands } from './audit-commands.js';
import { iamCommands } from './iam-commands.js';

// The servers load on demand: administration commands start in a fraction of the time without them.

/**
 * Serves until SIGINT or SIGTERM (exit 0 after a clean close). A process the launcher started also stops when the
 * launcher is gone (STRONGROOM_LAUNCHER_PID no longer its parent), so that no server outlives its deployment.
 */
async function serveUntilSignal(server: RunningServer): Promise<void> {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  const launcher = Number(process.env.STRONGROOM_LAUNCHER_PID);
  if (Number.isInteger(launcher) && launcher > 0) {
    setInterval(() => {
      if (process.ppid !== launcher) void stop();
    }, 500).unref();
  }
}

/** Errors and events at `info`; a line per request only with STRONGROOM_LOG_REQUESTS=1 (the audit trail records every call). */
function serverLogger() {
  return { level: process.env.STRONGROOM_LOG_LEVEL ?? 'info', requests: process.env.STRONGROOM_LOG_REQUESTS === '1' };
}

function program(): Command {
  const p = new Command('strongroom').exitOverride().description('A self-hosted key management service speaking the Huawei Cloud KMS and IAM APIs').showHelpAfterError();

  p.command('start').description('IAM on BASE, regions on BASE+1..BASE+N, data in DIR; options given once are kept in DIR/deployment.json')
    .option('--data-dir <dir>', 'data directory', './data').option('--port <base>', `base port (first start: ${DEFAULT_BASE_PORT}; kept)`)
    .option('--regions <ids>', `comma-separated region ids (first start: ${DEFAULT_REGIONS.join(',')}; kept, more can be added after them)`).option('--host <host>', `address to listen on (first start: ${DEFAULT_HOST}; kept)`)
    .option('--throttling <rate>', 'per-user request rates: huawei, off, or N requests/s per user and operation class (kept in deployment.json; default: as before, off at first start)')
    .option('--store <url>', `where the data lives: sqlite (files under DIR) or postgres://… (kept in deployment.json; or set ${STORE_ENV})`)
    .option('--nodes <n>', 'processes per region on consecutive ports, sharing the store (needs PostgreSQL; kept in deployment.json)')
    .action(async (o: { dataDir: string; port?: string; regions?: string; host?: string; throttling?: string; store?: string; nodes?: string }) => {
      const port = o.port === undefined ? undefined : Number(o.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65000)) throw new Error('--port must be a port number');
      const regions = o.regions?.split(',').map((r) => r.trim()).filter(Boolean);
      if (regions !== undefined && regions.length === 0) throw new Error('--regions needs at least one region id');
      const throttling = o.throttling === undefined ? undefined : parseThrottling(o.throttling);
      const nodes = o.nodes === undefined ? undefined : Number(o.nodes);
      if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1 || nodes > 64)) throw new Error('--nodes must be a whole number from 1 to 64');
      const { start } = await import('./launcher.js');
      await start({ dataDir: o.dataDir, basePort: port, regions, host: o.host, throttling, store: o.store, nodes });
    });

  p.command('serve-iam').description('run the IAM process of a deployment').option('--data-dir <dir>', 'data directory', './data')
    .action(async (o: { dataDir: string }) => {
      const d = readDeployment(o.dataDir);
      const { startIam } = await import('../iam-server.js');
      await serveUntilSignal(await startIam({
        dataDir: iamDir(o.dataDir), store: storeOf(d), topology: topologyOf(d), internalSecret: Buffer.from(d.internal_secret, 'hex'),
        iamEndpoint: d.iam.endpoint, host: d.host, port: d.iam.port, logger: serverLogger(), deploymentId: d.deployment_id,
      }));
    });

  p.command('serve-region').description('run one region process (node) of a deployment').option('--data-dir <dir>', 'data directory', './data').requiredOption('--region <id>')
    .option('--node <n>', "which of the region's nodes (0 is the first), listening on its port", '0')
    .action(async (o: { dataDir: string; region: string; node: string }) => {
      const d = readDeployment(o.dataDir);
      const r = d.regions.find((x) => x.id === o.region);
      if (!r) throw new Error(`region ${o.region} is not in the deployment`);
      const node = Number(o.node);
      const port = r.ports[node];
      if (!Number.isInteger(node) || port === undefined) throw new Error(`region ${o.region} has ${r.ports.length} node(s): --node 0 to ${r.ports.length - 1}`);
      const { startRegion } = await import('../region-server.js');
      await serveUntilSignal(await startRegion({
        region: r.id, dataDir: regionDir(o.dataDir, r.id), topology: topologyOf(d), iamEndpoint: d.iam.endpoint,
        internalSecret: Buffer.from(d.internal_secret, 'hex'), keyQuota: d.key_quota, grantQuota: d.grant_quota, host: d.host, port, logger: serverLogger(),
        store: storeOf(d), nodeId: `${r.id}-${node}-${randomUUID().slice(0, 8)}`, leaseMs: d.lease_ms, deletionSweepMs: d.deletion_sweep_ms,
        peerTimeoutMs: d.peer_timeout_ms, outboxMaxBackoffMs: d.outbox_max_backoff_ms, throttling: d.throttling, deploymentId: d.deployment_id,
      }));
    });

  iamCommands(p);
  auditCommands(p);
  return p;
}

program().parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  console.error(`strongroom: ${err instanceof KmsError ? `${err.code} ${err.message}` : err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
