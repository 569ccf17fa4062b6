/**
 * The `postgres` scenario: a second deployment beside the run's SQLite one, started the same way but with
 * `--store <its own database> --nodes 2` (IAM and two region nodes as separate processes, all on one PostgreSQL
 * database, each component in its own schema). encrypt-data 4 KiB, describe-key and create-key are measured at
 * maximum throughput with every selected auth mode, first against node 0 alone, then against both nodes at once
 * (one load generator per node, the run's connections shared out between them, results summed and latencies
 * taken together). Each row gets the usual ratio to the bare node:http baseline and `vs SQLite`: its requests/s
 * over the same operation's on the SQLite deployment in this run (the API row when the run measured it, else
 * measured here and shown as a row of this section). The database is dropped at the end (bench/postgres-server.ts).
 */
import { BenchContext, ProbeFailed } from './context.js';
import { startDeployment, type Deployment } from './deployment.js';
import { notMeasured, type LoadResult, type RequestSpec } from './load.js';
import type { Options } from './options.js';
import { createBenchDatabase, type PostgresServer } from './postgres-server.js';
import type { Row } from './report.js';
import { API_SCENARIOS, type ApiScenario } from './scenarios.js';
import type { AuthMode } from './signer.js';

/** Nodes of the PostgreSQL deployment's region. */
export const POSTGRES_NODES = 2;
/** The API scenarios measured on PostgreSQL, by name. */
const MEASURED = ['encrypt-4k', 'describe-key', 'create-key'] as const;
/** Seconds of unmeasured load on both nodes before the first row (JIT, caches, pools). */
const WARM_UP_SECONDS = 3;

/** The report's notes about this scenario (added when it ran). */
export function postgresNotes(options: Options, server: PostgresServer): string[] {
  const each = Math.max(1, Math.round(options.connections / POSTGRES_NODES));
  return [
    `postgres: a second deployment, \`strongroom start --store <url> --nodes ${POSTGRES_NODES}\` (IAM and ${POSTGRES_NODES} region nodes as separate processes, audit trail and permission checks on) ` +
      `on a database of its own created on ${server.source === 'default' ? 'the local server' : `the server of ${server.source}`} and dropped at the end. ` +
      `"node 0" rows load the first node alone with ${options.connections} connections; "both nodes" rows run one autocannon per node at the same time in the bench process, ` +
      `${each} connections each (${each * POSTGRES_NODES} in all), req/s summed, p50/p99 over the latencies of both taken together. ` +
      'vs SQLite = req/s ÷ req/s of the same operation and auth on the SQLite deployment (one region process) in this run.',
    'postgres: this machine has 2 cores, shared by the load generator, PostgreSQL, IAM and both region nodes (and the idle SQLite deployment), ' +
      'so a second node has no core of its own and the rows cannot show scaling: they show what the PostgreSQL store and a second node cost here.',
  ];
}

interface Measured {
  scenario: ApiScenario;
  /** The request on the PostgreSQL deployment (its keys) and on the SQLite one (made only when needed). */
  spec: RequestSpec;
  sqliteSpec?: Promise<RequestSpec>;
}

/**
 * Runs the scenario: database, deployment, rows into `ctx.rows`; stops the deployment and drops the database
 * whatever happens (and bench/cleanup.ts does both on Ctrl-C).
 */
export async function postgres(ctx: BenchContext, server: PostgresServer, keyQuota: number): Promise<void> {
  ctx.log(`postgres: creating a database on ${server.source === 'default' ? 'the local server' : server.source}`);
  const db = await createBenchDatabase(server);
  let deployment: Deployment | undefined;
  try {
    ctx.log(`postgres: starting a deployment with ${POSTGRES_NODES} nodes on database ${db.name} ...`);
    deployment = await startDeployment({ region: ctx.deployment.region.id, keyQuota, store: db.url, nodes: POSTGRES_NODES });
    const endpoints = deployment.region.endpoints;
    if (endpoints.length !== POSTGRES_NODES) throw new Error(`bootstrap.json lists ${endpoints.length} endpoints for ${deployment.region.id}, not ${POSTGRES_NODES}`);
    ctx.log(`postgres: up, IAM ${deployment.iamEndpoint}, nodes ${endpoints.join(' ')}`);
    const pg = new BenchContext(ctx.options, deployment, ctx.bare, ctx.log);
    await measureAll(ctx, pg, endpoints);
  } catch (err) {
    if (deployment) ctx.log(`postgres: ${deployment.diagnostics()}`);
    throw err;
  } finally {
    ctx.log('postgres: stopping the deployment and dropping the database');
    await deployment?.stop();
    await db.drop();
  }
}

async function measureAll(ctx: BenchContext, pg: BenchContext, endpoints: readonly string[]): Promise<void> {
  const auths = ctx.options.auth;
  const ops: Measured[] = [];
  for (const name of MEASURED) {
    const scenario = API_SCENARIOS.find((s) => s.name === name)!;
    ops.push({ scenario, spec: await scenario.prepare(pg.env) });
  }
  ctx.log(`postgres: warming both nodes up: ${WARM_UP_SECONDS} s of ${ops[0]!.scenario.operation}`);
  await Promise.all(endpoints.map((e) => pg.warmUp(e, auths[0]!, ops[0]!.spec, WARM_UP_SECONDS)));
  for (const op of ops) {
    for (const auth of auths) {
      const label = op.scenario.operation;
      const add = (what: string, result: LoadResult, extra: Partial<Row> = {}) =>
        ctx.rows.push({ section: 'postgres', operation: `${label}, ${what}`, auth, mode: 'max', result, notes: [], ...extra });
      try {
        for (const e of endpoints) await pg.probe(e, auth, op.spec, op.scenario.check);
      } catch (err) {
        if (!(err instanceof ProbeFailed)) throw err;
        add('PostgreSQL', notMeasured(err.message));
        continue;
      }
      const sqlite = await sqliteFigure(ctx, op, auth, add);
      const baseline = await ctx.baseline(op.scenario.baseline, auth);
      const compare = (result: LoadResult): Partial<Row> => (result.ok > 0
        ? { baseline, ratio: result.requestsPerSecond / baseline.requestsPerSecond, ...(sqlite ? { vsSqlite: result.requestsPerSecond / sqlite.requestsPerSecond } : {}) }
        : { baseline });
      ctx.log(`postgres: ${label} (${auth}), node 0`);
      const single = await pg.measureMax(endpoints[0]!, auth, op.spec);
      add(`PostgreSQL, node 0 of ${endpoints.length}`, single, compare(single));
      ctx.log(`postgres: ${label} (${auth}), both nodes`);
      const both = await pg.measureMaxAcross(endpoints, auth, op.spec);
      add(`PostgreSQL, both nodes`, both, compare(both));
    }
  }
}

/**
 * The SQLite deployment's maximum for `op` and `auth`: the API row of this run when it was measured, else measured
 * now on the SQLite deployment and reported as a row of this section. undefined when it could not be measured.
 */
async function sqliteFigure(ctx: BenchContext, op: Measured, auth: AuthMode, add: (what: string, result: LoadResult, extra?: Partial<Row>) => void): Promise<LoadResult | undefined> {
  const known = ctx.maxima.get(`${op.scenario.name}/${auth}`);
  if (known) return known.ok > 0 ? known : undefined;
  const endpoint = ctx.deployment.region.endpoint;
  op.sqliteSpec ??= op.scenario.prepare(ctx.env);
  const spec = await op.sqliteSpec;
  try {
    await ctx.probe(endpoint, auth, spec, op.scenario.check);
  } catch (err) {
    if (!(err instanceof ProbeFailed)) throw err;
    add('SQLite', notMeasured(err.message));
    return undefined;
  }
  ctx.log(`postgres: ${op.scenario.operation} (${auth}) on the SQLite deployment, for comparison`);
  const result = await ctx.measureMax(endpoint, auth, spec);
  const baseline = await ctx.baseline(op.scenario.baseline, auth);
  add('SQLite (1 region process)', result, result.ok > 0 ? { baseline, ratio: result.requestsPerSecond / baseline.requestsPerSecond, vsSqlite: 1 } : { baseline });
  return result.ok > 0 ? result : undefined;
}
