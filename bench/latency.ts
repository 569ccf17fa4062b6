/**
 * The latency scenarios, on the paced (open-loop) sender of load.ts:
 * - half-load: each `halfLoad` API scenario at 50 % of the maximum measured for it in this run (measured first
 *   when it was not), then the bare encrypt server at the same rate (what this machine and sender cost without the
 *   KMS); the project's target is p99 < 5 ms.
 * - keygen-interference: encrypt-data 4 KiB (token) at 25 % of its maximum, first alone, then while one more
 *   connection creates RSA_4096 keys back to back; the target is p99 < 20 ms with the key generation.
 */
import { performance } from 'node:perf_hooks';
import { rsa4096Primitive } from './baselines.js';
import { ProbeFailed, type BenchContext } from './context.js';
import type { LoadResult } from './load.js';
import { API_SCENARIOS, type ApiScenario } from './scenarios.js';
import type { AuthMode } from './signer.js';

export const HALF_LOAD_P99_TARGET_MS = 5;
export const KEYGEN_P99_TARGET_MS = 20;

const verdict = (p99: number, target: number) => (p99 < target ? `meets the target p99 < ${target} ms` : `MISSES the target p99 < ${target} ms`);

/** The maximum of `scenario` with `auth` from this run, measured now (unreported) if it was not. */
async function maximumOf(ctx: BenchContext, scenario: ApiScenario, auth: AuthMode): Promise<LoadResult> {
  const known = ctx.maxima.get(`${scenario.name}/${auth}`);
  if (known) return known;
  ctx.log(`${scenario.operation} (${auth}): measuring its maximum first`);
  const spec = await scenario.prepare(ctx.env);
  const result = await ctx.measureMax(ctx.deployment.region.endpoint, auth, spec);
  ctx.maxima.set(`${scenario.name}/${auth}`, result);
  return result;
}

/** Runs the half-load scenario with the first selected auth mode. */
export async function halfLoad(ctx: BenchContext): Promise<void> {
  const auth = ctx.options.auth[0]!;
  const endpoint = ctx.deployment.region.endpoint;
  for (const scenario of API_SCENARIOS.filter((s) => s.halfLoad)) {
    const max = await maximumOf(ctx, scenario, auth);
    if (max.aborted || max.ok === 0) {
      ctx.rows.push({ section: 'half-load', operation: `${scenario.operation} @ 50 %`, auth, mode: 'paced', result: { ...max, aborted: `no maximum to pace at: ${max.aborted ?? 'no answer'}` }, notes: [] });
      continue;
    }
    const rate = Math.max(1, Math.round(max.requestsPerSecond / 2));
    ctx.log(`${scenario.operation} (${auth}) at ${rate} req/s (50 % of ${max.requestsPerSecond.toFixed(0)})`);
    const spec = await scenario.prepare(ctx.env);
    const result = await ctx.measurePaced(endpoint, auth, spec, rate);
    ctx.rows.push({
      section: 'half-load', operation: `${scenario.operation} @ 50 % = ${rate} req/s`, auth, mode: 'paced', targetRate: rate, result,
      notes: result.ok > 0 ? [verdict(result.p99Ms, HALF_LOAD_P99_TARGET_MS)] : [],
    });
    // The floor of this machine at that rate: the bare server, same payload size, same sender.
    if (scenario.baseline.kind === 'bare-encrypt') {
      const bare = ctx.bareEncryptSpec(scenario.baseline.plaintextBytes);
      const floor = await ctx.measurePaced(ctx.bare.encrypt, auth, bare.spec, rate);
      ctx.rows.push({ section: 'half-load', operation: `  ${bare.name} (node:http, no KMS) @ ${rate} req/s`, auth, mode: 'paced', targetRate: rate, result: floor, notes: [] });
    }
  }
}

/** Runs the keygen-interference scenario (token auth when selected, else AK/SK). */
export async function keygenInterference(ctx: BenchContext): Promise<void> {
  const auth: AuthMode = ctx.options.auth.includes('token') ? 'token' : ctx.options.auth[0]!;
  const endpoint = ctx.deployment.region.endpoint;
  const encrypt = API_SCENARIOS.find((s) => s.name === 'encrypt-4k')!;
  const max = await maximumOf(ctx, encrypt, auth);
  if (max.aborted || max.ok === 0) throw new ProbeFailed(`encrypt-data 4 KiB has no maximum to pace at: ${max.aborted ?? 'no answer'}`);
  const rate = Math.max(1, Math.round(max.requestsPerSecond / 4));
  // Long enough for several RSA-4096 generations (each takes a good fraction of a second of one core).
  const seconds = Math.max(4, ctx.options.seconds * 2);
  const spec = await encrypt.prepare(ctx.env);

  ctx.log(`keygen-interference: encrypt-data 4 KiB at ${rate} req/s for ${seconds} s, alone`);
  const alone = await ctx.measurePaced(endpoint, auth, spec, rate, seconds);
  ctx.rows.push({
    section: 'keygen-interference', operation: `encrypt-data 4 KiB @ ${rate} req/s, no key generation`, auth, mode: 'paced', targetRate: rate, result: alone, notes: [],
  });

  ctx.log(`keygen-interference: the same while creating RSA_4096 keys`);
  let stop = false;
  const durations: number[] = [];
  let failures = 0;
  let firstError: string | undefined;
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      const t = performance.now();
      try {
        await ctx.call('create-key', { key_alias: `bench-rsa4096-${Date.now()}-${i}`, key_spec: 'RSA_4096' });
        durations.push(performance.now() - t);
      } catch (err) {
        failures++;
        firstError ??= (err as Error).message;
        if (failures > 3) return;
      }
    }
  })();
  const busy = await ctx.measurePaced(endpoint, auth, spec, rate, seconds);
  stop = true;
  await loop;
  const mean = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : Number.NaN;
  const notes = [
    `${durations.length} RSA_4096 keys created during the pass (create-key took ${mean.toFixed(0)} ms on average)`,
    ...(busy.ok > 0 ? [verdict(busy.p99Ms, KEYGEN_P99_TARGET_MS)] : []),
    ...(failures > 0 ? [`create-key RSA_4096 failed ${failures} times: ${firstError}`] : []),
  ];
  ctx.rows.push({
    section: 'keygen-interference', operation: `encrypt-data 4 KiB @ ${rate} req/s, RSA_4096 create-key loop`, auth, mode: 'paced', targetRate: rate, result: busy, notes,
  });
  const primitive = rsa4096Primitive('RSA-4096 key pair generation (direct)');
  ctx.reference(primitive.name, primitive.op, 0.5, false); // each takes seconds on a slow core: one or two are enough
}
