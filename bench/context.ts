/**
 * State shared by the parts of one benchmark run: the deployment and the bare servers, the auth header makers,
 * keys made for scenarios, the baselines measured so far (each once per run), maxima other scenarios build on,
 * and the report's rows.
 */
import { performance } from 'node:perf_hooks';
import type { BareServers } from './baselines.js';
import type { Deployment } from './deployment.js';
import { measureDirect, measureMax, measureMaxParallel, measurePaced, probe, type LoadResult, type RequestSpec } from './load.js';
import type { Options } from './options.js';
import type { Row } from './report.js';
import { plaintext, type ApiScenario, type BaselineRef, type ScenarioEnv } from './scenarios.js';
import { seedKeys, type SeedResult } from './seed.js';
import { headerMaker, type AuthMode, type HeaderMaker } from './signer.js';

/** A failed probe: the request was not accepted, so it is not measured. */
export class ProbeFailed extends Error {}

export class BenchContext {
  readonly rows: Row[] = [];
  /** Maximum-throughput results by `<scenario>/<auth>`, for the scenarios that pace at a share of them. */
  readonly maxima = new Map<string, LoadResult>();
  readonly #makers = new Map<string, HeaderMaker>();
  readonly #keys = new Map<string, Promise<string>>();
  readonly #baselines = new Map<string, Promise<{ name: string; requestsPerSecond: number }>>();
  #aliasCounter = 0;
  readonly env: ScenarioEnv;

  constructor(
    readonly options: Options,
    readonly deployment: Deployment,
    readonly bare: BareServers,
    /** Progress lines (stderr), so stdout keeps the table. */
    readonly log: (line: string) => void,
  ) {
    this.env = {
      projectId: deployment.region.projectId,
      call: (op, body) => this.call(op, body),
      key: (spec, usage) => this.#key(spec, usage),
      ensureKeys: async (count) => (await this.ensureKeys(count, 'bench-list')).total,
    };
  }

  /** Header maker for `auth` against `endpoint` (one per pair: the signer binds the endpoint's host). */
  maker(auth: AuthMode, endpoint: string): HeaderMaker {
    const id = `${auth} ${endpoint}`;
    let m = this.#makers.get(id);
    if (!m) {
      const d = this.deployment;
      m = headerMaker(endpoint, auth === 'token' ? { mode: 'token', token: d.token } : { mode: 'aksk', accessKey: d.boot.access_key, secretKey: d.boot.secret_key, projectId: d.region.projectId });
      this.#makers.set(id, m);
    }
    return m;
  }

  /** A token-authenticated KMS call for setup; throws unless it answers 2xx. Returns the JSON body. */
  async call(operation: string, body: object): Promise<any> {
    const r = await probe(this.deployment.region.endpoint, this.maker('token', this.deployment.region.endpoint), { method: 'POST', path: `/v1.0/${this.deployment.region.projectId}/kms/${operation}`, body });
    if (r.status < 200 || r.status > 299) throw new Error(`${operation} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  #key(spec: string, usage: string): Promise<string> {
    const id = `${spec}/${usage}`;
    let p = this.#keys.get(id);
    if (!p) {
      p = this.call('create-key', { key_alias: `bench-${spec.toLowerCase()}-${usage.toLowerCase()}-${this.#aliasCounter++}-${Date.now()}`, key_spec: spec, key_usage: usage })
        .then((b: { key_info: { key_id: string } }) => b.key_info.key_id);
      this.#keys.set(id, p);
    }
    return p;
  }

  /** Keys the project holds in the region (every spec and state), as list-keys counts them. */
  async keyCount(): Promise<number> {
    return (await this.call('list-keys', { limit: '1', key_spec: 'ALL' })).total as number;
  }

  /**
   * Seeds AES_256 keys (bench/seed.ts) until the project holds at least `count`; returns the total and the seeding
   * (undefined when nothing was needed). `sampleSize` new key ids are returned in the seeding's sample.
   */
  async ensureKeys(count: number, aliasPrefix: string, sampleSize = 1000): Promise<{ total: number; seeded?: SeedResult }> {
    const have = await this.keyCount();
    if (have >= count) return { total: have };
    const d = this.deployment;
    const missing = count - have;
    this.log(`seeding ${missing.toLocaleString('en')} keys into ${d.region.id} ...`);
    let last = performance.now();
    const seeded = await seedKeys(
      { regionDataDir: d.region.dataDir, region: d.region.id, projectId: d.region.projectId, domainId: d.boot.domain_id },
      missing,
      {
        aliasPrefix: `${aliasPrefix}-${Date.now().toString(36)}`, sampleSize,
        onProgress: (done) => {
          if (performance.now() - last < 10_000) return;
          last = performance.now();
          this.log(`  ${done.toLocaleString('en')} of ${missing.toLocaleString('en')}`);
        },
      },
    );
    this.log(`seeded ${missing.toLocaleString('en')} keys in ${seeded.seconds.toFixed(1)} s (${(missing / seeded.seconds).toFixed(0)} keys/s)`);
    return { total: await this.keyCount(), seeded };
  }

  /** Checks that `spec` is accepted with `auth` (one request); returns the scenario's note, throws ProbeFailed. */
  async probe(endpoint: string, auth: AuthMode, spec: RequestSpec, check?: ApiScenario['check']): Promise<string | undefined> {
    const r = await probe(endpoint, this.maker(auth, endpoint), spec);
    if (r.status < 200 || r.status > 299) throw new ProbeFailed(`probe answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    try {
      return check?.(r.body);
    } catch (err) {
      throw new ProbeFailed((err as Error).message);
    }
  }

  /** Maximum throughput of `spec` on the region with `auth` (warm-up included: a quarter of the duration, ≤ 1 s). */
  measureMax(endpoint: string, auth: AuthMode, spec: RequestSpec): Promise<LoadResult> {
    const o = this.options;
    return measureMax(endpoint, this.maker(auth, endpoint), spec, { connections: o.connections, seconds: o.seconds, warmupSeconds: Math.min(1, o.seconds / 4) });
  }

  /**
   * Maximum throughput of `spec` against every one of `endpoints` at once (one load generator per endpoint, in
   * this process), with the run's connections shared out among them (at least one each), so the whole offered
   * concurrency is that of a single-endpoint row; the result is their sum (load.ts measureMaxParallel).
   */
  measureMaxAcross(endpoints: readonly string[], auth: AuthMode, spec: RequestSpec): Promise<LoadResult> {
    const o = this.options;
    const connections = Math.max(1, Math.round(o.connections / endpoints.length));
    return measureMaxParallel(endpoints.map((e) => ({ endpoint: e, maker: this.maker(auth, e) })), spec, { connections, seconds: o.seconds, warmupSeconds: Math.min(1, o.seconds / 4) });
  }

  /**
   * Warms the region up (JIT, caches, connections) with `seconds` of `spec` at full load, measured nowhere: without
   * it the first row of a run pays for the server's compilation.
   */
  async warmUp(endpoint: string, auth: AuthMode, spec: RequestSpec, seconds: number): Promise<void> {
    await measureMax(endpoint, this.maker(auth, endpoint), spec, { connections: this.options.connections, seconds, warmupSeconds: 0 });
  }

  /** `spec` at `rate` req/s for `seconds` (default: the run's duration). */
  measurePaced(endpoint: string, auth: AuthMode, spec: RequestSpec, rate: number, seconds = this.options.seconds): Promise<LoadResult> {
    return measurePaced(endpoint, this.maker(auth, endpoint), spec, { rate, seconds, connections: this.options.connections, warmupSeconds: Math.min(1, seconds / 4) });
  }

  /**
   * The baseline a scenario's rate is divided by, measured the first time it is asked for in this run (and
   * reported as a baseline row): the bare encrypt server at the same plaintext size, with the same auth headers
   * (AK/SK: signed per request, so the load side pays the same), or the direct primitive on this thread.
   */
  baseline(ref: BaselineRef, auth: AuthMode): Promise<{ name: string; requestsPerSecond: number }> {
    const id = ref.kind === 'direct' ? `direct ${ref.name}` : `bare ${ref.plaintextBytes} ${auth}`;
    let p = this.#baselines.get(id);
    if (!p) {
      p = ref.kind === 'direct' ? this.#direct(ref.name, ref.make) : this.#bareEncrypt(ref.plaintextBytes, auth);
      this.#baselines.set(id, p);
    }
    return p;
  }

  /**
   * A request to the bare encrypt server with a `bytes`-byte plaintext: the same path and body shape as
   * encrypt-data, so an AK/SK signature costs the load side the same.
   */
  bareEncryptSpec(bytes: number): { name: string; spec: RequestSpec } {
    return {
      name: `bare encrypt ${bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`}`,
      spec: { method: 'POST', path: `/v1.0/${this.deployment.region.projectId}/kms/encrypt-data`, body: { key_id: '00000000-0000-0000-0000-000000000000', plain_text: plaintext(bytes) } },
    };
  }

  async #bareEncrypt(bytes: number, auth: AuthMode): Promise<{ name: string; requestsPerSecond: number }> {
    const { name, spec } = this.bareEncryptSpec(bytes);
    this.log(`baseline: ${name} (${auth})`);
    await this.probe(this.bare.encrypt, auth, spec);
    const result = await this.measureMax(this.bare.encrypt, auth, spec);
    this.rows.push({ section: 'baseline', operation: `${name} (node:http, no KMS)`, auth, mode: 'max', result, notes: auth === 'aksk' ? ['requests signed per request like the API rows; the bare server ignores the signature'] : [] });
    return { name, requestsPerSecond: result.requestsPerSecond };
  }

  async #direct(name: string, make: () => { op: () => unknown }): Promise<{ name: string; requestsPerSecond: number }> {
    this.log(`baseline: ${name}`);
    const result = measureDirect(make().op, Math.min(this.options.seconds, 1));
    this.rows.push({ section: 'baseline', operation: name, auth: '-', mode: 'direct', result, notes: [] });
    return { name, requestsPerSecond: result.requestsPerSecond };
  }

  /** Measures a direct primitive for reference (no ratio uses it) and adds its row. */
  reference(name: string, op: () => unknown, seconds = Math.min(this.options.seconds, 1), warmUp = true): LoadResult {
    this.log(`reference: ${name}`);
    const result = measureDirect(op, seconds, warmUp);
    this.rows.push({ section: 'baseline', operation: name, auth: '-', mode: 'direct', result, notes: [] });
    return result;
  }

  /** The JSON hello-world reference (node:http), with `auth`'s headers (AK/SK: signed per request). */
  async hello(auth: AuthMode): Promise<void> {
    this.log(`reference: hello world (${auth})`);
    const spec: RequestSpec = { method: 'GET', path: `/v1.0/${this.deployment.region.projectId}/kms/regions` };
    await this.probe(this.bare.hello, auth, spec);
    const result = await this.measureMax(this.bare.hello, auth, spec);
    this.rows.push({ section: 'baseline', operation: 'hello world (node:http GET, JSON)', auth, mode: 'max', result, notes: [] });
  }
}
