/**
 * Prometheus metrics of one Strongroom process (prom-client), served at `GET /metrics` without credentials in the
 * text exposition format. Every series carries `component` (`iam` or `region`) and, in a region, `region`:
 *
 * - `strongroom_requests_total{operation, code, status}`: calls by catalogue operation (Huawei's SDK name, e.g.
 *   `CreateKey`), error code (`KMS.0207`, or `none` for a success) and HTTP status; requests outside the catalogue
 *   count as operation `unknown`.
 * - `strongroom_request_duration_seconds{operation}`: latency histogram (seconds, from arrival to the last byte).
 * - `strongroom_audit_write_seconds`: how long an audit record took to become durable (seconds).
 * - regions: `strongroom_outbox_messages{target}` and `strongroom_outbox_oldest_age_seconds{target}` (changes not
 *   yet delivered to each region, and the age of the oldest), `strongroom_replication_delay_seconds{target}`
 *   (histogram: enqueue to delivery), `strongroom_token_cache_total{result}` and
 *   `strongroom_decision_cache_total{result}` (`hit` or `miss`: verified tokens and permission decisions).
 * - prom-client's default process metrics (`strongroom_process_cpu_seconds_total`, resident memory, event-loop lag,
 *   heap, open file descriptors …).
 *
 * Metrics name operations and codes, never keys, callers or secrets.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const NOT_MEASURED = new Set(['/metrics', '/healthz', '/readyz']);

/** The metrics of one process; `registry` is what `/metrics` serves. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'operation' | 'code' | 'status'>;
  readonly duration: Histogram<'operation'>;
  readonly auditWrite: Histogram;

  constructor(labels: { component: 'iam' | 'region'; region?: string }) {
    this.registry.setDefaultLabels(labels.region !== undefined ? { component: labels.component, region: labels.region } : { component: labels.component });
    collectDefaultMetrics({ register: this.registry, prefix: 'strongroom_' });
    const registers = [this.registry];
    this.requests = new Counter({ name: 'strongroom_requests_total', help: 'Calls by operation, error code (none for a success) and HTTP status.', labelNames: ['operation', 'code', 'status'], registers });
    this.duration = new Histogram({ name: 'strongroom_request_duration_seconds', help: 'Latency of calls by operation (seconds).', labelNames: ['operation'], buckets: LATENCY_BUCKETS, registers });
    this.auditWrite = new Histogram({ name: 'strongroom_audit_write_seconds', help: 'Time for an audit record to become durable (seconds).', buckets: LATENCY_BUCKETS, registers });
  }

  /** A gauge whose values are read when scraped (`read` returns one value per label set). */
  gauge<L extends string>(name: string, help: string, labelNames: L[], read: () => Promise<{ labels: Record<L, string>; value: number }[]>): void {
    new Gauge<L>({
      name, help, labelNames, registers: [this.registry],
      async collect() {
        this.reset();
        for (const { labels, value } of await read()) this.set(labels as never, value);
      },
    });
  }

  /** A counter kept elsewhere (a cache's own counts), read when scraped: one value per label set. */
  counterFrom<L extends string>(name: string, help: string, labelNames: L[], read: () => { labels: Record<L, string>; value: number }[]): void {
    // A gauge under the hood (prom-client counters cannot be set), exposed with the counter's `_total` name.
    new Gauge<L>({
      name, help, labelNames, registers: [this.registry],
      collect() {
        for (const { labels, value } of read()) this.set(labels as never, value);
      },
    });
  }

  /** A histogram of seconds with one label. */
  histogram<L extends string>(name: string, help: string, labelNames: L[]): Histogram<L> {
    return new Histogram<L>({ name, help, labelNames, buckets: [...LATENCY_BUCKETS, 30, 60, 300], registers: [this.registry] });
  }
}

/** Counts every answered request and serves `GET /metrics` on the app. */
export function metricsRoutes(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (NOT_MEASURED.has(path)) return;
    const operation = req.call?.operation.name ?? 'unknown';
    const code = req.call?.errorCode ?? (reply.statusCode >= 400 ? 'other' : 'none');
    metrics.requests.inc({ operation, code, status: String(reply.statusCode) });
    metrics.duration.observe({ operation }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_req, reply) =>
    reply.header('Content-Type', metrics.registry.contentType).header('Cache-Control', 'no-store').send(await metrics.registry.metrics()));
}
