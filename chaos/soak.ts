/**
 * `npm run soak -- --minutes M --rate R`: a long mixed load at a fixed rate against a deployment started as
 * `npm start` starts it (bench/deployment.ts: launcher, IAM and one region as processes, in a temporary directory),
 * to see whether anything grows that should not (issue: proven under faults). Each request is due at a fixed time
 * (R per second, open loop: latency counts from when it was due): 60 % encrypt-data 256 B, 20 % decrypt-data,
 * 15 % describe-key, 5 % create-key, with a token. Every `--every` seconds it prints one line: requests, errors,
 * p50/p99/max latency (ms), the region's and IAM's resident memory (MiB) and open file descriptors, the size of the
 * logs and of the region's database with its WAL (MiB). The last lines compare the last interval with the first.
 * At most `--max-in-flight` requests wait for an answer at once (default 512): a request due while that many are
 * waiting is not sent and counts as shed (reported with the errors), so a server that falls behind shows up as
 * shed requests instead of exhausting the load generator's file descriptors.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUp } from '../bench/cleanup.js';
import { findProcesses, residentBytes, startDeployment } from '../bench/deployment.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '30' }, rate: { type: 'string', default: '400' }, every: { type: 'string', default: '60' }, 'max-in-flight': { type: 'string', default: '512' } } });
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const every = Number(values.every);
const maxInFlight = Number(values['max-in-flight']);
if (!(minutes > 0) || !(rate > 0) || !(every >= 5) || !(maxInFlight >= 1)) {
  console.error('usage: npm run soak -- --minutes M --rate R (requests/s) [--every S (seconds between report lines, at least 5)] [--max-in-flight N (default 512)]');
  process.exit(2);
}

const REGION = 'cn-north-4';
const MiB = 1024 * 1024;
const fds = (pid: number | null) => (pid === null ? NaN : readdirSync(`/proc/${pid}/fd`).length);
const mib = (bytes: number | null) => (bytes === null ? NaN : bytes / MiB);
function sizeOf(path: string): number {
  try {
    const st = statSync(path);
    return st.isDirectory() ? readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0) : st.size;
  } catch {
    return 0;
  }
}
const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

interface Line {
  at: number;
  requests: number;
  errors: number;
  shed: number;
  p50: number;
  p99: number;
  max: number;
  regionRss: number;
  iamRss: number;
  regionFds: number;
  iamFds: number;
  logs: number;
  db: number;
}

process.on('SIGINT', () => void cleanUp().then(() => process.exit(130)));
const deployment = await startDeployment({ region: REGION, keyQuota: 10_000_000 });
try {
  const { endpoint, projectId } = deployment.region;
  const post = (op: string, body: object) =>
    fetch(`${endpoint}/v1.0/${projectId}/kms/${op}`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-Auth-Token': deployment.token }, body: JSON.stringify(body) });
  const created = await (await post('create-key', { key_alias: 'soak-main' })).json() as { key_info: { key_id: string } };
  const keyId = created.key_info.key_id;
  const cipher = ((await (await post('encrypt-data', { key_id: keyId, plain_text: 'x'.repeat(256) })).json()) as { cipher_text: string }).cipher_text;
  let made = 0;
  const one = (): Promise<Response> => {
    const roll = Math.random();
    if (roll < 0.6) return post('encrypt-data', { key_id: keyId, plain_text: 'y'.repeat(256) });
    if (roll < 0.8) return post('decrypt-data', { cipher_text: cipher });
    if (roll < 0.95) return post('describe-key', { key_id: keyId });
    return post('create-key', { key_alias: `soak-${process.pid}-${++made}` });
  };

  const iamPid = () => findProcesses(['serve-iam', deployment.dir])[0] ?? null;
  const dbPath = join(deployment.region.dataDir, 'kms.db');
  const lines: Line[] = [];
  let latencies: number[] = [];
  let errors = 0;
  let shed = 0;
  const started = performance.now();
  const end = started + minutes * 60_000;
  let next = started;
  let nextReport = started + every * 1000;
  let inFlight = 0;
  console.log(`soak: ${minutes} min at ${rate} requests/s against ${endpoint} (data in ${deployment.dir})`);
  console.log('   min  requests  errors  shed  p50 ms  p99 ms  max ms  region MiB  IAM MiB  region fds  IAM fds  logs MiB  db MiB');
  while (performance.now() < end) {
    const now = performance.now();
    while (next <= now) {
      const due = next;
      next += 1000 / rate;
      if (inFlight >= maxInFlight) {
        shed++;
        continue;
      }
      inFlight++;
      one()
        .then(async (res) => {
          await res.arrayBuffer();
          if (res.status >= 400) errors++;
        }, () => errors++)
        .finally(() => {
          inFlight--;
          latencies.push(performance.now() - due);
        });
    }
    if (now >= nextReport) {
      const sorted = latencies.sort((a, b) => a - b);
      const line: Line = {
        at: (now - started) / 60_000, requests: sorted.length, errors, shed, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN,
        regionRss: mib(residentBytes(deployment.regionPid() ?? -1)), iamRss: mib(residentBytes(iamPid() ?? -1)),
        regionFds: fds(deployment.regionPid()), iamFds: fds(iamPid()), logs: sizeOf(join(deployment.dir, 'logs')) / MiB,
        db: (sizeOf(dbPath) + sizeOf(`${dbPath}-wal`)) / MiB,
      };
      lines.push(line);
      console.log(
        [line.at.toFixed(1).padStart(6), String(line.requests).padStart(9), String(line.errors).padStart(7), String(line.shed).padStart(5), line.p50.toFixed(1).padStart(7), line.p99.toFixed(1).padStart(7),
          line.max.toFixed(0).padStart(7), line.regionRss.toFixed(0).padStart(11), line.iamRss.toFixed(0).padStart(8), String(line.regionFds).padStart(11),
          String(line.iamFds).padStart(8), line.logs.toFixed(2).padStart(9), line.db.toFixed(1).padStart(7)].join(' '),
      );
      latencies = [];
      errors = 0;
      shed = 0;
      nextReport += every * 1000;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next, nextReport) - performance.now())));
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 10));
  const first = lines[0];
  const last = lines.at(-1);
  if (first && last && lines.length > 1) {
    console.log(`first interval → last: region RSS ${first.regionRss.toFixed(0)} → ${last.regionRss.toFixed(0)} MiB, IAM RSS ${first.iamRss.toFixed(0)} → ${last.iamRss.toFixed(0)} MiB, ` +
      `region fds ${first.regionFds} → ${last.regionFds}, p99 ${first.p99.toFixed(1)} → ${last.p99.toFixed(1)} ms, logs ${first.logs.toFixed(2)} → ${last.logs.toFixed(2)} MiB, ` +
      `database ${first.db.toFixed(1)} → ${last.db.toFixed(1)} MiB (${made} keys created)`);
  }
  console.log(`errors in all: ${lines.reduce((n, l) => n + l.errors, 0)}, shed in all: ${lines.reduce((n, l) => n + l.shed, 0)}`);
} finally {
  await cleanUp();
}
