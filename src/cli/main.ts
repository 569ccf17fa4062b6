/**
 * The `strongroom` command: `start` (the whole local deployment), `serve-iam` / `serve-region` (one process each,
 * as the launcher runs them), `iam ...` administration (iam-commands.ts), `audit ...` (audit-commands.ts),
 * `backup` / `restore` (backup-commands.ts), `root-key ...` (root-key-commands.ts), `hsm ...` (the HSM clusters of
 * dedicated keystores, hsm-commands.ts) and the client CLI `kms <operation> ...` (kms-commands.ts, with its own exit
 * codes: 1 API error, 2 usage error).
 * Administration commands print JSON on stdout; errors go to stderr with exit code 1.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { parseThrottling } from '../api/throttling.js';
import { STORE_ENV } from '../composition.js';
import { DEFAULT_BASE_PORT, DEFAULT_HOST, DEFAULT_REGIONS, iamDir, readDeployment, regionDir, rootKeyOf, storeOf, topologyOf } from '../deployment.js';
import { KmsError } from '../errors.js';
import { loadTls } from '../tls.js';
import type { RunningServer } from '../region-server.js';
import { auditCommands } from './audit-commands.js';
import { backupCommands } from './backup-commands.js';
import { iamCommands } from './iam-commands.js';
import { kmsCommands } from './kms-commands.js';
import { seedCommands } from './seed-commands.js';
import { rootKeyCommands } from './root-key-commands.js';
import { pkcs11Options, rootKeyOption, type Pkcs11Options } from './root-key-options.js';
import { hsmCommands } from './hsm-commands.js';

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

/**
 * Warnings, errors and events at `info` (STRONGROOM_LOG_LEVEL); a concise line per call at `debug`
 * (STRONGROOM_LOG_LEVEL=debug, or STRONGROOM_LOG_REQUESTS=1 as before). The audit trail records every call.
 */
function serverLogger() {
  return { level: process.env.STRONGROOM_LOG_LEVEL ?? (process.env.STRONGROOM_LOG_REQUESTS === '1' ? 'debug' : 'info') };
}

function program(): Command {
  const p = new Command('strongroom').exitOverride().description('A self-hosted key management service speaking the Huawei Cloud KMS and IAM APIs').showHelpAfterError();

  pkcs11Options(p.command('start').description('IAM on BASE, regions on BASE+1..BASE+N, data in DIR; options given once are kept in DIR/deployment.json')
    .option('--data-dir <dir>', 'data directory', './data').option('--port <base>', `base port (first start: ${DEFAULT_BASE_PORT}; kept)`)
    .option('--regions <ids>', `comma-separated region ids (first start: ${DEFAULT_REGIONS.join(',')}; kept, more can be added after them)`).option('--host <host>', `address to listen on (first start: ${DEFAULT_HOST}; kept)`)
    .option('--throttling <rate>', 'per-user request rates: huawei, off, or N requests/s per user and operation class (kept in deployment.json; default: as before, off at first start)')
    .option('--store <url>', `where the data lives: sqlite (files under DIR) or postgres://… (kept in deployment.json; or set ${STORE_ENV})`)
    .option('--nodes <n>', 'processes per region on consecutive ports, sharing the store (needs PostgreSQL; kept in deployment.json)')
    .option('--seed <file>', 'a seed file (YAML: keys with fixed ids, material, aliases, tags, replicas, grants) applied once the deployment is up')
    .option('--tls', 'HTTPS everywhere with a generated self-signed certificate (local use; kept in deployment.json)')
    .option('--tls-cert <file>', 'HTTPS with this PEM certificate (with --tls-key; kept in deployment.json)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--root-key <kind>', 'where root keys live: file (master.key per component, the default) or pkcs11 (a key per component in an HSM token, with --pkcs11-*; first start, kept in deployment.json)'))
    .action(async (o: { dataDir: string; port?: string; regions?: string; host?: string; throttling?: string; store?: string; nodes?: string; tls?: boolean; tlsCert?: string; tlsKey?: string; seed?: string } & Pkcs11Options) => {
      const port = o.port === undefined ? undefined : Number(o.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65000)) throw new Error('--port must be a port number');
      const regions = o.regions?.split(',').map((r) => r.trim()).filter(Boolean);
      if (regions !== undefined && regions.length === 0) throw new Error('--regions needs at least one region id');
      const throttling = o.throttling === undefined ? undefined : parseThrottling(o.throttling);
      const nodes = o.nodes === undefined ? undefined : Number(o.nodes);
      if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1 || nodes > 64)) throw new Error('--nodes must be a whole number from 1 to 64');
      if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
      if (o.tls && o.tlsCert !== undefined) throw new Error('--tls generates a certificate; --tls-cert gives one: use one or the other');
      const tls = o.tlsCert !== undefined ? { cert: resolve(o.tlsCert), key: resolve(o.tlsKey!) } : o.tls ? ('self-signed' as const) : undefined;
      const rootKey = rootKeyOption(o);
      const { start } = await import('./launcher.js');
      await start({ dataDir: o.dataDir, basePort: port, regions, host: o.host, throttling, store: o.store, nodes, tls, seed: o.seed, rootKey });
    });

  p.command('serve-iam').description('run the IAM process of a deployment').option('--data-dir <dir>', 'data directory', './data')
    .action(async (o: { dataDir: string }) => {
      const d = readDeployment(o.dataDir);
      const { startIam } = await import('../iam-server.js');
      await serveUntilSignal(await startIam({
        dataDir: iamDir(o.dataDir), store: storeOf(d), topology: topologyOf(d), internalSecret: Buffer.from(d.internal_secret, 'hex'),
        iamEndpoint: d.iam.endpoint, host: d.host, port: d.iam.port, rootKey: rootKeyOf(d, 'iam'), logger: serverLogger(), deploymentId: d.deployment_id, tls: d.tls ? loadTls(d.tls) : undefined,
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
        store: storeOf(d), rootKey: rootKeyOf(d, r.id), nodeId: `${r.id}-${node}-${randomUUID().slice(0, 8)}`, leaseMs: d.lease_ms, deletionSweepMs: d.deletion_sweep_ms,
        peerTimeoutMs: d.peer_timeout_ms, outboxMaxBackoffMs: d.outbox_max_backoff_ms, throttling: d.throttling, deploymentId: d.deployment_id, tls: d.tls ? loadTls(d.tls) : undefined,
        hsmClusterConfigs: d.hsm_clusters,
      }));
    });

  iamCommands(p);
  auditCommands(p);
  kmsCommands(p);
  seedCommands(p);
  rootKeyCommands(p);
  backupCommands(p);
  hsmCommands(p);
  return p;
}

program().parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  console.error(`strongroom: ${err instanceof KmsError ? `${err.code} ${err.message}` : err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
