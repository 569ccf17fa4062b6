/**
 * `npm run bench`: requests per second and latency of a real Strongroom deployment (started as `npm start` starts
 * it: launcher, IAM and one region as separate processes; audit trail and permission checks on), each operation
 * beside a baseline measured in the same run, with token and AK/SK authentication. `--list` names the scenarios;
 * `--help` the options. The table goes to stdout and to bench/results/ (JSON and Markdown); progress to stderr.
 * Loopback only; every measurement is bounded in time. The `postgres` scenario (bench/postgres.ts) adds a second
 * deployment on PostgreSQL with two nodes; in the default set it is skipped, with a line saying why, when no
 * PostgreSQL server answers.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { startBareServers } from './baselines.js';
import { cleanUp } from './cleanup.js';
import { BenchContext, ProbeFailed } from './context.js';
import { startDeployment, type Deployment } from './deployment.js';
import { halfLoad, keygenInterference } from './latency.js';
import { notMeasured } from './load.js';
import { parseOptions, scenarioListing } from './options.js';
import { postgres, postgresNotes } from './postgres.js';
import { chooseServer, unreachable, type PostgresServer } from './postgres-server.js';
import { rowNotes, textTable, writeResults, type Row, type RunInfo } from './report.js';
import { scale } from './scale.js';
import { API_SCENARIOS, REFERENCE_PRIMITIVES } from './scenarios.js';

const REGION = 'cn-north-4';
/** deployment.json key_quota for the run: above the 1,000,000 keys of the scale scenario and what create-key adds. */
const KEY_QUOTA = 2_000_000;

const started = performance.now();
const startedAt = new Date().toISOString();
const options = parseOptions(process.argv);
if (options.list) {
  console.log(scenarioListing());
  process.exit(0);
}

const log = (line: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the deployment and the baseline servers`);
    void cleanUp().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

/**
 * The PostgreSQL server of the postgres scenario when it is selected and answers. Without one, a scenario that came
 * with the default set is dropped with one line; one asked for by name gets a row saying why (and the run fails).
 */
let postgresServer: PostgresServer | undefined;
let postgresMissing: string | undefined;
const postgresSkipped: string[] = [];
if (options.scenarios.includes('postgres')) {
  const server = chooseServer();
  const why = await unreachable(server);
  if (why === null) postgresServer = server;
  else if (options.named.includes('postgres')) postgresMissing = why;
  else {
    options.scenarios = options.scenarios.filter((s) => s !== 'postgres');
    postgresSkipped.push(`postgres scenario skipped: ${why}`);
    log(postgresSkipped[0]!);
  }
}

const args = process.argv.slice(2);
const info: RunInfo = {
  command: `${process.env.BENCH_SECONDS ? `BENCH_SECONDS=${process.env.BENCH_SECONDS} ` : ''}npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
  node: process.version,
  openssl: process.versions.openssl,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  seconds: options.seconds,
  connections: options.connections,
  auth: options.auth,
  scenarios: options.scenarios,
  startedAt,
  notes: [],
};

/** Seconds of load before the first measured row (not measured). */
const WARM_UP_SECONDS = 3;

let ctx: BenchContext | undefined;
let deployment: Deployment | undefined;
let failed = false;
try {
  log(`starting the deployment (strongroom start, region ${REGION}) ...`);
  deployment = await startDeployment({ region: REGION, keyQuota: KEY_QUOTA });
  log(`deployment up: IAM ${deployment.iamEndpoint}, ${REGION} ${deployment.region.endpoint} (launcher pid ${deployment.launcherPid}, region pid ${deployment.regionPid() ?? '?'})`);
  const bare = await startBareServers();
  ctx = new BenchContext(options, deployment, bare, log);
  const endpoint = deployment.region.endpoint;

  const apiScenarios = API_SCENARIOS.filter((s) => options.scenarios.includes(s.name));
  const warmUpWith = apiScenarios[0] ?? (options.scenarios.some((s) => s !== 'scale') ? API_SCENARIOS.find((s) => s.name === 'encrypt-4k') : undefined);
  if (warmUpWith) {
    log(`warming the region up: ${WARM_UP_SECONDS} s of ${warmUpWith.operation}`);
    await ctx.warmUp(endpoint, options.auth[0]!, await warmUpWith.prepare(ctx.env), WARM_UP_SECONDS);
  }
  for (const scenario of apiScenarios) {
    let spec;
    try {
      spec = await scenario.prepare(ctx.env);
    } catch (err) {
      for (const auth of options.auth) ctx.rows.push({ section: 'api', operation: scenario.operation, auth, mode: 'max', result: notMeasured(`setup failed: ${(err as Error).message}`), notes: [] });
      continue;
    }
    for (const auth of options.auth) {
      log(`${scenario.operation} (${auth})`);
      let note: string | undefined;
      try {
        note = await ctx.probe(endpoint, auth, spec, scenario.check);
      } catch (err) {
        if (!(err instanceof ProbeFailed)) throw err;
        ctx.rows.push({ section: 'api', operation: scenario.operation, auth, mode: 'max', result: notMeasured(err.message), notes: [] });
        continue;
      }
      const result = await ctx.measureMax(endpoint, auth, spec);
      ctx.maxima.set(`${scenario.name}/${auth}`, result);
      const baseline = await ctx.baseline(scenario.baseline, auth);
      ctx.rows.push({
        section: 'api', operation: scenario.operation, auth, mode: 'max', result, baseline,
        ...(result.ok > 0 ? { ratio: result.requestsPerSecond / baseline.requestsPerSecond } : {}), notes: note ? [note] : [],
      });
    }
  }
  if (apiScenarios.length > 0) {
    for (const auth of options.auth) await ctx.hello(auth);
    for (const make of REFERENCE_PRIMITIVES) {
      const p = make();
      ctx.reference(p.name, p.op);
    }
  }
  if (options.scenarios.includes('half-load')) await halfLoad(ctx);
  if (options.scenarios.includes('keygen-interference')) {
    try {
      await keygenInterference(ctx);
    } catch (err) {
      if (!(err instanceof ProbeFailed)) throw err;
      ctx.rows.push({ section: 'keygen-interference', operation: 'encrypt-data 4 KiB with RSA_4096 create-key loop', auth: 'token', mode: 'paced', result: notMeasured(err.message), notes: [] });
    }
  }
  if (options.scenarios.includes('scale')) await scale(ctx);
  if (postgresServer) await postgres(ctx, postgresServer, KEY_QUOTA);
  if (postgresMissing) ctx.rows.push({ section: 'postgres', operation: 'postgres scenario', auth: '-', mode: 'max', result: notMeasured(postgresMissing), notes: [] });
} catch (err) {
  failed = true;
  log(`bench failed: ${(err as Error).stack ?? String(err)}`);
  if (deployment) log(deployment.diagnostics());
} finally {
  log('stopping the deployment');
  await cleanUp();
}

const order: Row['section'][] = ['api', 'half-load', 'keygen-interference', 'scale', 'postgres', 'baseline'];
const rows = [...(ctx?.rows ?? [])].sort((a, b) => order.indexOf(a.section) - order.indexOf(b.section));
info.totalSeconds = (performance.now() - started) / 1000;
info.notes.push(
  'Deployment: `strongroom start` (launcher, IAM and region processes, audit trail and permission checks on) in a temporary directory, ' +
    `key quota raised to ${KEY_QUOTA.toLocaleString('en')} in deployment.json before the start; removed at the end.`,
  `Load: autocannon in the bench process, ${options.connections} keep-alive connections, closed loop, ${options.seconds} s per row after a warm-up of ${Math.min(1, options.seconds / 4)} s (and ${WARM_UP_SECONDS} s of load before the first row); ` +
    'load generator, region, IAM and the bare servers share the same machine. Latencies in ms per response; failed = non-2xx answers plus connection errors (a row stops when more than 1 % fail).',
  'Paced rows: an open-loop sender at a fixed rate, one request every 1/rate s; latency counted from when the request was due.',
  'ratio = requests/s ÷ baseline requests/s of the same run. bare encrypt = node:http in its own process: parse JSON, AES-256-GCM (fresh random key and IV), answer Base64 — no auth, lookup, validation or audit. ' +
    `(direct) = the same primitive called in a loop for ${Math.min(options.seconds, 1)} s on one core in the bench process, DER keys as the KMS holds them.`,
  'AK/SK rows: every request gets a fresh X-Sdk-Date and SDK-HMAC-SHA256 signature from the official signer (@huaweicloud/huaweicloud-sdk-core) in the load generator; ' +
    'their bare-server baselines are signed the same way (the bare server ignores the signature), so both sides carry the same signing cost.',
  ...(postgresServer ? postgresNotes(options, postgresServer) : []),
  ...postgresSkipped,
);
const notes = [...info.notes, ...rowNotes(rows)];
console.log(`\n${info.command} — node ${info.node}, ${info.cpus} CPUs, ${options.seconds} s per row, ${options.connections} connections, auth ${options.auth.join('+')}, whole run ${info.totalSeconds.toFixed(0)} s\n`);
console.log(textTable(rows));
console.log('\n' + notes.map((n) => `- ${n}`).join('\n'));
const paths = writeResults(info, rows);
console.log(`\nwritten: ${paths.slice(0, 2).join(', ')} (and timestamped copies)`);
const rowsFailed = rows.some((r) => r.result.failed > 0 || r.result.aborted);
process.exit(failed ? 2 : rowsFailed ? 1 : 0);
