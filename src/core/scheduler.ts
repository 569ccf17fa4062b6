/**
 * Background work of a region (deletion when due, expiry of imported material, scheduled rotation, outbox
 * delivery): each job runs on one node at a time across every node sharing the region's store. A node runs a job
 * only while it holds the job's lease (`job:<name>`, storage/leases.ts), which it takes when the lease is free or
 * has lapsed, renews on every run and while a run lasts, and gives up when it stops. When the node doing a job dies,
 * its lease lapses (`leaseMs`) and another node takes the job over. Each item of work is also guarded by its own
 * transaction (the item is re-read and still due, or the write is conditional on the key's revision), so even two
 * runs that overlap (a paused node whose lease lapsed) change each item once.
 *
 * Lease times use the wall clock (Date.now), not a region's injectable clock: they measure how long a process has
 * been silent, not key lifetimes.
 */
import type { KmsStore } from '../storage/kms-store.js';
import type { LeaseStore } from '../storage/leases.js';

/**
 * How background work records each key it changes: `inTransaction` inside the transaction that changes the key
 * (with that transaction's store; it may run again if the transaction is retried), `committed` once that
 * transaction has committed. The region writes the audit record as pending in the first and chains it in the
 * second; a node that dies in between leaves it to another node's recovery, so each change is recorded once.
 */
export interface WorkRecorder {
  inTransaction(tx: KmsStore, keyId: string): Promise<void>;
  committed(keyId: string): Promise<void>;
}

export interface Job {
  /** Unique among the region's jobs; the lease is `job:<name>`. */
  name: string;
  /** Milliseconds between runs on the node holding the lease. */
  everyMs: number;
  run(): Promise<unknown>;
}

export interface SchedulerOptions {
  /** This node's id (the leases' holder). */
  nodeId: string;
  /** How long a lease outlives its last renewal, in milliseconds (default: 3 × the job's interval, at least 10 s). */
  leaseMs?: number;
  /** Reports a failed run or lease renewal (the job is tried again at its next interval). */
  onError(err: unknown, job: string): void;
}

export class Scheduler {
  readonly #jobs: Job[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #running = new Map<string, Promise<void>>();
  readonly #held = new Set<string>();
  #stopped = false;

  constructor(
    private readonly leases: LeaseStore,
    private readonly options: SchedulerOptions,
  ) {}

  add(job: Job): this {
    this.#jobs.push(job);
    return this;
  }

  /** Starts every job's timer; the first runs happen one interval from now (see runNow). */
  start(): void {
    for (const job of this.#jobs) {
      const timer = setInterval(() => void this.runNow(job.name), job.everyMs);
      timer.unref();
      this.#timers.push(timer);
    }
  }

  /**
   * Runs a job now if this node holds (or can take) its lease and it is not running already; resolves when that
   * run ends. Resolves to whether it ran.
   */
  runNow(name: string): Promise<boolean> {
    const job = this.#jobs.find((j) => j.name === name);
    if (!job) throw new Error(`no job ${name}`);
    if (this.#stopped || this.#running.has(name)) return Promise.resolve(false);
    let ran = false;
    const run = (async () => {
      try {
        if (!(await this.#renew(job))) return;
        ran = true;
        const leaseMs = this.#leaseMs(job);
        // A long run keeps its lease: renewed a few times per lease period until the run ends.
        const keep = setInterval(() => void this.#renew(job).catch((err) => this.options.onError(err, job.name)), Math.max(100, leaseMs / 3));
        keep.unref();
        try {
          await job.run();
        } finally {
          clearInterval(keep);
        }
      } catch (err) {
        this.options.onError(err, job.name);
      }
    })().finally(() => this.#running.delete(name));
    this.#running.set(name, run);
    return run.then(() => ran);
  }

  /** Whether this node held the job's lease at its last attempt (for tests and status). */
  holds(name: string): boolean {
    return this.#held.has(name);
  }

  /** Stops the timers, waits for runs in progress and gives up the leases this node holds. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    await Promise.all(this.#running.values());
    for (const name of this.#held) await this.leases.releaseLease(`job:${name}`, this.options.nodeId).catch(() => {});
    this.#held.clear();
  }

  async #renew(job: Job): Promise<boolean> {
    const now = Date.now();
    const held = await this.leases.acquireLease(`job:${job.name}`, this.options.nodeId, now, now + this.#leaseMs(job));
    if (held) this.#held.add(job.name);
    else this.#held.delete(job.name);
    return held;
  }

  #leaseMs(job: Job): number {
    return this.options.leaseMs ?? Math.max(10_000, 3 * job.everyMs);
  }
}
