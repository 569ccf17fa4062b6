/**
 * The scale scenario (opt-in): with 1,000, then 100,000, then 1,000,000 keys stored in the project (seeded by
 * bench/seed.ts while the region runs), describe-key and encrypt-data 4 KiB at maximum throughput and at one fixed
 * moderate rate (50 % of the lower of the two maxima at the first level, kept for every level), create-key's
 * maximum, and the region process's resident memory (VmRSS) and database size after each level.
 *
 * Each request names a key drawn at random from 1,000 keys spread over everything seeded for that level: fewer
 * than the region's 1,024-entry key-material cache, so the levels differ in the size of the tables alone.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { residentBytes } from './deployment.js';
import type { RequestSpec } from './load.js';
import { plaintext } from './scenarios.js';

export const SCALE_LEVELS = [1_000, 100_000, 1_000_000] as const;
/** Keys each level's requests are drawn from. */
const HOT_KEYS = 1000;

const mib = (bytes: number | null) => (bytes === null ? 'unknown' : `${(bytes / 1048576).toFixed(0)} MiB`);

function databaseBytes(regionDataDir: string): number {
  return ['kms.db', 'kms.db-wal'].map((f) => join(regionDataDir, f)).filter(existsSync).reduce((n, f) => n + statSync(f).size, 0);
}

/** Runs the scale scenario with the first selected auth mode. */
export async function scale(ctx: BenchContext): Promise<void> {
  const auth = ctx.options.auth[0]!;
  const d = ctx.deployment;
  const endpoint = d.region.endpoint;
  const kms = (op: string) => `/v1.0/${d.region.projectId}/kms/${op}`;
  const text = plaintext(4096);
  let rate: number | undefined;
  let alias = 0;
  for (const level of SCALE_LEVELS) {
    const label = `${level.toLocaleString('en')} keys`;
    const { total, seeded } = await ctx.ensureKeys(level, `bench-scale-${level}`, HOT_KEYS);
    const hot = seeded?.sample ?? [];
    if (hot.length === 0) throw new Error(`scale: the project already held ${total} keys before the ${label} level; nothing new to draw from`);
    const pick = () => hot[Math.floor(Math.random() * hot.length)]!;
    const describe: RequestSpec = { method: 'POST', path: kms('describe-key'), body: () => ({ key_id: pick() }) };
    const encrypt: RequestSpec = { method: 'POST', path: kms('encrypt-data'), body: () => ({ key_id: pick(), plain_text: text }) };
    const createKey: RequestSpec = { method: 'POST', path: kms('create-key'), body: () => ({ key_alias: `bench-scale-ck-${Date.now()}-${alias++}`, key_spec: 'AES_256' }) };
    const seedNote = seeded ? [`${seeded.count.toLocaleString('en')} keys seeded for this level in ${seeded.seconds.toFixed(1)} s (${(seeded.count / seeded.seconds).toFixed(0)} keys/s)`] : [];

    ctx.log(`scale ${label}: describe-key and encrypt-data maxima`);
    await ctx.probe(endpoint, auth, describe);
    await ctx.probe(endpoint, auth, encrypt);
    const describeMax = await ctx.measureMax(endpoint, auth, describe);
    const encryptMax = await ctx.measureMax(endpoint, auth, encrypt);
    rate ??= Math.max(1, Math.round(Math.min(describeMax.requestsPerSecond, encryptMax.requestsPerSecond) / 2));
    ctx.log(`scale ${label}: both at ${rate} req/s`);
    const describePaced = await ctx.measurePaced(endpoint, auth, describe, rate);
    const encryptPaced = await ctx.measurePaced(endpoint, auth, encrypt, rate);
    ctx.log(`scale ${label}: create-key maximum`);
    const createMax = await ctx.measureMax(endpoint, auth, createKey);
    const pid = d.regionPid();
    const memory = `region process RSS ${mib(pid === null ? null : residentBytes(pid))} (pid ${pid ?? 'not found'}), database ${mib(databaseBytes(d.region.dataDir))}, ${total.toLocaleString('en')} keys in the project`;
    ctx.rows.push(
      { section: 'scale', operation: `describe-key, ${label}`, auth, mode: 'max', result: describeMax, notes: seedNote },
      { section: 'scale', operation: `describe-key, ${label} @ ${rate} req/s`, auth, mode: 'paced', targetRate: rate, result: describePaced, notes: [] },
      { section: 'scale', operation: `encrypt-data 4 KiB, ${label}`, auth, mode: 'max', result: encryptMax, notes: [] },
      { section: 'scale', operation: `encrypt-data 4 KiB, ${label} @ ${rate} req/s`, auth, mode: 'paced', targetRate: rate, result: encryptPaced, notes: [] },
      { section: 'scale', operation: `create-key AES_256, ${label}`, auth, mode: 'max', result: createMax, notes: [memory] },
    );
    ctx.log(`scale ${label}: ${memory}`);
  }
}
