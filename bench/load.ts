/**
 * Load generation from the bench process: closed-loop maximum throughput with autocannon (N connections, each
 * sending its next request when the answer arrives), and an open-loop paced sender for latency at a fixed rate.
 *
 * Why not autocannon's `overallRate` for the fixed-rate passes: autocannon limits each connection to
 * rate/connections requests per *second* and sends them back to back at the start of every second, so a "50 %"
 * pass is a full-speed burst followed by idle time and its latencies are those of full load. The paced sender
 * here spreads the requests evenly (one every 1/rate s, timer resolution about 1 ms) and measures each latency
 * from the moment the request was due, not from when it went out, so a stalled server is charged for the
 * requests it delayed (no coordinated omission).
 *
 * Every answer is counted: non-2xx statuses and connection errors are failures; a pass stops early when more
 * than 1 % of its answers fail, and the first failing answer is kept for the report.
 */
import autocannon from 'autocannon';
import { Agent, request as httpRequest, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { HeaderMaker } from './signer.js';

/** One kind of request of a pass; `body` is either the same object every time or made afresh per request. */
export interface RequestSpec {
  method: 'GET' | 'POST';
  /** Path with the query, e.g. `/v1.0/<project>/kms/encrypt-data`. */
  path: string;
  body?: object | (() => object);
}

/** What a pass measured. Latencies are milliseconds; rates are requests per second. */
export interface LoadResult {
  /** Successful (2xx) answers per second over the pass. */
  requestsPerSecond: number;
  /** Median and 99th percentile latency of the successful answers, ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  ok: number;
  /** Non-2xx answers plus connection errors and timeouts. */
  failed: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  /** Seconds the pass ran. */
  seconds: number;
  /**
   * Paced passes: requests still unanswered PACED_GRACE_SECONDS after the last one was due. They are counted in the
   * latencies at how long they had waited, so percentiles above 1 − unansweredShare are lower bounds.
   */
  unanswered?: number;
  /** unanswered ÷ latency samples (of the measured part). */
  unansweredShare?: number;
  /** Paced passes: 99th percentile of how late (ms) the sender put requests on the wire after they were due. */
  senderLagP99Ms?: number;
  /** Set when the pass stopped early (more than 1 % failed) or could not run. */
  aborted?: string;
  /** Status and body start of the first failing answer. */
  firstFailure?: string;
}

/** A result for a row that could not be measured (`reason` goes to the report's notes). */
export function notMeasured(reason: string): LoadResult {
  return { requestsPerSecond: Number.NaN, p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN, ok: 0, failed: 0, statuses: {}, errors: 0, seconds: 0, aborted: reason };
}

/** Largest share of failed answers a pass may have before it is stopped and reported as aborted. */
export const MAX_FAILURE_RATIO = 0.01;
/** Seconds a paced pass waits for answers after its last request was due; later answers count as failed. */
export const PACED_GRACE_SECONDS = 5;
/** Answers seen before the failure ratio is judged (so one early failure does not abort a pass). */
const MIN_ANSWERS_FOR_ABORT = 50;

/** The p-th percentile (0–100) of ascending `sorted` values (nearest rank), or NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** p50, p99 and max (ms) of latency samples (sorted in place). */
function summarise(values: Float64Array): { p50Ms: number; p99Ms: number; maxMs: number } {
  values.sort();
  return { p50Ms: percentile(values, 50), p99Ms: percentile(values, 99), maxMs: values.length ? values[values.length - 1]! : Number.NaN };
}

/** A growable array of latency samples (ms). */
class Samples {
  #data = new Float64Array(1 << 16);
  #n = 0;
  push(v: number): void {
    if (this.#n === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#n++] = v;
  }
  get values(): Float64Array {
    return this.#data.subarray(0, this.#n);
  }
}

/** The body bytes of one request, and its headers (signed over exactly those bytes). */
function materialise(spec: RequestSpec, maker: HeaderMaker): { headers: Record<string, string>; body: string | undefined } {
  const obj = typeof spec.body === 'function' ? spec.body() : spec.body;
  return { headers: maker.headers(spec.method, spec.path, obj), body: obj === undefined ? undefined : JSON.stringify(obj) };
}

/**
 * Sends `spec` once (outside any measurement) and returns the status and parsed JSON body: a probe that the
 * request is accepted before it is measured.
 */
export async function probe(endpoint: string, maker: HeaderMaker, spec: RequestSpec): Promise<{ status: number; body: any }> {
  const send = () => {
    const { headers: h, body } = materialise(spec, maker);
    return fetch(endpoint + spec.path, { method: spec.method, headers: h, body, signal: AbortSignal.timeout(30_000) });
  };
  let res: Response;
  try {
    res = await send();
  } catch (err) {
    // A pooled keep-alive connection the server closed while this process was busy fails at once ("fetch
    // failed"): one more try on a new connection. Timeouts are not retried.
    if ((err as Error).name === 'TimeoutError') throw err;
    res = await send();
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

export interface MaxOptions {
  connections: number;
  /** Seconds measured. */
  seconds: number;
  /** Seconds of unmeasured load first (JIT, caches, connections). */
  warmupSeconds: number;
}

/**
 * Maximum throughput of `spec` against `endpoint` with autocannon: `connections` keep-alive connections, each
 * sending its next request as soon as the previous one is answered. Static requests are built once; a body
 * function or a signing header maker rebuilds (and re-signs) every request in autocannon's `setupRequest`.
 */
export async function measureMax(endpoint: string, maker: HeaderMaker, spec: RequestSpec, o: MaxOptions): Promise<LoadResult> {
  if (o.warmupSeconds > 0) {
    const warm = await autocannonPass(endpoint, maker, spec, o.connections, o.warmupSeconds);
    if (warm.aborted) return warm;
  }
  return autocannonPass(endpoint, maker, spec, o.connections, o.seconds);
}

/** One endpoint of a parallel pass and the header maker bound to it (AK/SK signatures cover the host). */
export interface Target {
  endpoint: string;
  maker: HeaderMaker;
}

/**
 * Maximum throughput of `spec` against several endpoints at once: one autocannon pass per target, all in this
 * process and started together, each with `o.connections` connections. The result is their sum: successful
 * answers over the longest pass (req/s), and p50/p99/max of every latency sample of every pass taken together;
 * failures and statuses are added up, and the first target's failure note is kept.
 */
export async function measureMaxParallel(targets: readonly Target[], spec: RequestSpec, o: MaxOptions): Promise<LoadResult> {
  const run = (seconds: number) => Promise.all(targets.map((t) => autocannonRun(t.endpoint, t.maker, spec, o.connections, seconds)));
  if (o.warmupSeconds > 0) {
    const warm = combine(await run(o.warmupSeconds));
    if (warm.aborted) return warm;
  }
  return combine(await run(o.seconds));
}

/** The sum of passes that ran at the same time (see measureMaxParallel). */
function combine(passes: readonly { result: LoadResult; latencies: Float64Array }[]): LoadResult {
  const all = new Float64Array(passes.reduce((n, p) => n + p.latencies.length, 0));
  let at = 0;
  for (const p of passes) {
    all.set(p.latencies, at);
    at += p.latencies.length;
  }
  const results = passes.map((p) => p.result);
  const statuses: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const seconds = Math.max(...results.map((r) => r.seconds));
  const ok = results.reduce((n, r) => n + r.ok, 0);
  const aborted = results.map((r) => r.aborted).filter(Boolean).join('; ');
  const firstFailure = results.find((r) => r.firstFailure)?.firstFailure;
  return {
    requestsPerSecond: ok / seconds, ...summarise(all), ok, failed: results.reduce((n, r) => n + r.failed, 0), statuses,
    errors: results.reduce((n, r) => n + r.errors, 0), seconds, ...(aborted ? { aborted } : {}), ...(firstFailure ? { firstFailure } : {}),
  };
}

async function autocannonPass(endpoint: string, maker: HeaderMaker, spec: RequestSpec, connections: number, seconds: number): Promise<LoadResult> {
  return (await autocannonRun(endpoint, maker, spec, connections, seconds)).result;
}

/** One autocannon pass; returns its result and its latency samples (ms, sorted). */
function autocannonRun(endpoint: string, maker: HeaderMaker, spec: RequestSpec, connections: number, seconds: number): Promise<{ result: LoadResult; latencies: Float64Array }> {
  const dynamic = maker.perRequest || typeof spec.body === 'function';
  const first = materialise(spec, maker);
  const req: autocannon.Request = { method: spec.method, path: spec.path, headers: { ...first.headers }, ...(first.body !== undefined ? { body: first.body } : {}) };
  const latencies = new Samples();
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let errors = 0;
  let firstFailure: string | undefined;
  let aborted: string | undefined;
  req.onResponse = (status, body) => {
    if ((status < 200 || status > 299) && firstFailure === undefined) firstFailure = `${status} ${body.slice(0, 300)}`;
  };
  if (dynamic) {
    req.setupRequest = (r) => {
      const m = materialise(spec, maker);
      return { ...r, headers: { ...m.headers }, ...(m.body !== undefined ? { body: m.body } : {}) };
    };
  }
  return new Promise((resolve, reject) => {
    let started = 0;
    const instance = autocannon(
      // sampleInt 100 ms: autocannon notices the end of the duration (and a stop) at its next sample, not up to 1 s late.
      { url: endpoint, connections, duration: seconds, sampleInt: 100, timeout: 30, requests: [req], excludeErrorStats: true },
      (err) => {
        if (err) return reject(err);
        const elapsed = (performance.now() - started) / 1000;
        const values = latencies.values;
        const result: LoadResult = {
          requestsPerSecond: ok / elapsed, ...summarise(values),
          ok, failed, statuses, errors, seconds: elapsed, ...(aborted ? { aborted } : {}), ...(firstFailure ? { firstFailure } : {}),
        };
        resolve({ result, latencies: values });
      },
    );
    started = performance.now();
    const judge = () => {
      const answers = ok + failed;
      if (!aborted && answers >= MIN_ANSWERS_FOR_ABORT && failed / answers > MAX_FAILURE_RATIO) {
        aborted = `stopped: ${failed} of ${answers} requests failed`;
        instance.stop();
      }
    };
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status >= 200 && status <= 299) {
        ok++;
        latencies.push(ms);
      } else {
        failed++;
        judge();
      }
    });
    instance.on('reqError', (err: Error) => {
      errors++;
      failed++;
      if (firstFailure === undefined) firstFailure = `connection error: ${err.message}`;
      judge();
    });
  });
}

export interface PacedOptions {
  /** Requests per second, spread evenly. */
  rate: number;
  /** Seconds of sending. */
  seconds: number;
  /** Keep-alive connections at most; requests due while all are busy wait (and that wait counts as latency). */
  connections: number;
  /** Seconds sent at the same rate first and not measured (connections, JIT). */
  warmupSeconds: number;
}

/**
 * Latency of `spec` at a fixed rate: an open-loop sender on node:http keep-alive connections, one request due
 * every 1/rate s, each latency measured from when it was due to the end of its answer (ms). Reports the
 * achieved rate of successful answers (req/s) after the warm-up; failures are counted over the whole pass.
 */
export async function measurePaced(endpoint: string, maker: HeaderMaker, spec: RequestSpec, o: PacedOptions): Promise<LoadResult> {
  const url = new URL(endpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  const latencies = new Samples();
  const lag = new Samples();
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let errors = 0;
  let firstFailure: string | undefined;
  let aborted: string | undefined;
  const total = Math.max(1, Math.round(o.rate * (o.warmupSeconds + o.seconds)));
  const interval = 1000 / o.rate;
  let sent = 0;
  let done = 0;
  const start = performance.now() + 5;
  const measuredFrom = start + o.warmupSeconds * 1000;
  let measured = 0;

  const answered = (due: number, status: number, body: string) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status >= 200 && status <= 299) {
      ok++;
      if (due >= measuredFrom) {
        measured++;
        latencies.push(performance.now() - due);
      }
    } else {
      failed++;
      if (firstFailure === undefined) firstFailure = `${status} ${body.slice(0, 300)}`;
    }
  };

  /** Requests sent and not answered yet, with when each was due. */
  const inFlight = new Map<ClientRequest, number>();
  let unanswered = 0;
  let graceTimer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    const finishOne = () => {
      done++;
      const answers = ok + failed;
      if (!aborted && answers >= MIN_ANSWERS_FOR_ABORT && failed / answers > MAX_FAILURE_RATIO) aborted = `stopped: ${failed} of ${answers} requests failed`;
      if (done === sent && (sent === total || aborted)) resolve();
    };
    // Sending is over: whatever is still unanswered PACED_GRACE_SECONDS later is given up. Those requests are not
    // failures but very slow answers: each counts as a latency of at least how long it waited (a lower bound).
    const sendingOver = () => {
      graceTimer = setTimeout(() => {
        const now = performance.now();
        for (const [req, due] of [...inFlight]) {
          inFlight.delete(req);
          unanswered++;
          if (due >= measuredFrom) latencies.push(now - due);
          req.destroy();
          finishOne();
        }
      }, PACED_GRACE_SECONDS * 1000);
      if (done === sent) resolve();
    };
    const send = (due: number) => {
      if (due >= measuredFrom) lag.push(performance.now() - due);
      const m = materialise(spec, maker);
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: spec.path, method: spec.method, agent, headers: m.body !== undefined ? { ...m.headers, 'content-length': String(Buffer.byteLength(m.body)) } : m.headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', () => {}); // a request given up mid-answer; counted where it was given up
          res.on('end', () => {
            if (!inFlight.delete(req)) return;
            answered(due, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
            finishOne();
          });
        },
      );
      inFlight.set(req, due);
      req.on('error', (err) => {
        if (!inFlight.delete(req)) return; // already answered
        errors++;
        failed++;
        if (firstFailure === undefined) firstFailure = `connection error: ${err.message}`;
        finishOne();
      });
      req.end(m.body);
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && !aborted && start + sent * interval <= now) send(start + sent++ * interval);
      if (sent < total && !aborted) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      else sendingOver();
    };
    setTimeout(tick, 5);
  });
  clearTimeout(graceTimer);
  agent.destroy();
  const elapsed = (performance.now() - measuredFrom) / 1000;
  return {
    requestsPerSecond: measured / elapsed, ...summarise(latencies.values), senderLagP99Ms: summarise(lag.values).p99Ms,
    ok, failed, statuses, errors, seconds: elapsed, ...(unanswered ? { unanswered, unansweredShare: unanswered / latencies.values.length } : {}),
    ...(aborted ? { aborted } : {}), ...(firstFailure ? { firstFailure } : {}),
  };
}

/**
 * Operations per second of `op` called directly on this thread for `seconds` (after a short warm-up unless
 * `warmUp` is false; at least one call is measured), with the
 * median and 99th percentile time of one call in ms.
 */
export function measureDirect(op: () => unknown, seconds: number, warmUp = true): LoadResult {
  const warmUntil = performance.now() + Math.min(200, seconds * 100);
  while (warmUp && performance.now() < warmUntil) op();
  const samples = new Samples();
  const start = performance.now();
  const until = start + seconds * 1000;
  let now = start;
  while (now < until) {
    const t = performance.now();
    op();
    now = performance.now();
    samples.push(now - t);
  }
  const n = samples.values.length;
  const elapsed = (now - start) / 1000;
  return { requestsPerSecond: n / elapsed, ...summarise(samples.values), ok: n, failed: 0, statuses: {}, errors: 0, seconds: elapsed };
}
