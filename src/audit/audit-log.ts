/**
 * The audit trail of one endpoint (a region, or IAM): every call is recorded durably before its answer leaves,
 * and calls that change state are recorded as pending before they run, so a trail that cannot be written stops
 * the call (fail closed, as Vault does with its audit devices). Writes are group-committed: every entry queued
 * while a commit is running goes into the next one, in one transaction.
 */
import type { RootKey } from '../keystore/root-key.js';
import { seal } from './audit-chain.js';
import type { AuditEntry, AuditStore } from './audit-store.js';

interface Batch {
  pending: AuditEntry[];
  records: AuditEntry[];
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

const newBatch = (): Batch => ({ pending: [], records: [], waiters: [] });
export const KEY_CONTEXT = Buffer.from('strongroom audit key');

/** The audit key of a store: 32 random bytes, created at first use and kept wrapped by the root key. */
export async function auditKey(store: { getSetting(n: string): Promise<Buffer | null>; putSettingIfAbsent(n: string, v: Buffer): Promise<Buffer> }, rootKey: RootKey): Promise<Buffer> {
  let wrapped = await store.getSetting('audit_key');
  if (!wrapped) {
    const { randomBytes } = await import('node:crypto');
    wrapped = await store.putSettingIfAbsent('audit_key', await rootKey.wrap(randomBytes(32), KEY_CONTEXT));
  }
  return rootKey.unwrap(wrapped, KEY_CONTEXT);
}

export class AuditLog {
  #queued = newBatch();
  #running: Promise<void> | null = null;

  private constructor(
    private readonly store: AuditStore,
    private readonly key: Buffer,
  ) {}

  /**
   * Opens the trail of a store for the server that owns it: calls left pending by a stopped process are recorded
   * with status 0 (unknown). Only the owning server does this at its start (never a process that writes beside a
   * running server, whose calls in flight are pending too).
   */
  static async open(store: AuditStore & Parameters<typeof auditKey>[0], rootKey: RootKey): Promise<AuditLog> {
    const log = await AuditLog.attach(store, rootKey);
    await log.recoverPending();
    return log;
  }

  /**
   * Closes the pending entries the store hands over (calls whose process stopped before their answer was
   * recorded, as records with status 0; finished background changes as they are); returns how many. At open, and periodically where nodes share a store.
   */
  async recoverPending(): Promise<number> {
    const left = await this.store.pendingAudit();
    // A call's pending entry (status 0) stopped before its answer: its outcome is unknown. One written with its
    // outcome (background work, pendingWithin) is a change that committed: it is chained as it is.
    if (left.length > 0) await this.#write({ pending: [], records: left.map((e) => (e.status === 0 ? { ...e, error_code: null } : e)), waiters: [] });
    return left.length;
  }

  /** Writes to the trail of a store beside its server (the admin CLI): no recovery of pending calls. */
  static async attach(store: AuditStore & Parameters<typeof auditKey>[0], rootKey: RootKey): Promise<AuditLog> {
    return new AuditLog(store, await auditKey(store, rootKey));
  }

  /** Records a call that changes state before it runs; resolves once durable, rejects when the store refuses. */
  open(entry: AuditEntry): Promise<void> {
    return this.#enqueue((b) => b.pending.push(entry));
  }

  /** Records a finished call (completing its pending entry, if any); resolves once durable. */
  record(entry: AuditEntry): Promise<void> {
    return this.#enqueue((b) => b.records.push(entry));
  }

  /**
   * Writes `entry` pending through `tx`, a transaction of the trail's store the caller holds, so that it commits
   * with the change it describes or not at all; `record(entry)` chains it once that transaction has committed. An
   * entry with a status other than 0 is a finished change: recovery (recoverPending) chains it as it is.
   */
  pendingWithin(tx: AuditStore, entry: AuditEntry): Promise<void> {
    return tx.appendAudit([entry], [], (e, seq, prevMac) => seal(this.key, e, seq, prevMac));
  }

  /** Called with the seconds each `open`/`record` took to become durable (metrics: audit write latency). */
  onWritten?: (seconds: number) => void;

  #enqueue(add: (b: Batch) => void): Promise<void> {
    const started = performance.now();
    const written = new Promise<void>((resolve, reject) => {
      add(this.#queued);
      this.#queued.waiters.push({ resolve, reject });
      if (!this.#running) this.#running = this.#drain();
    });
    const observe = this.onWritten;
    return observe ? written.then(() => observe((performance.now() - started) / 1000)) : written;
  }

  /** Commits batches until the queue is empty; entries queued meanwhile go into the next batch. */
  async #drain(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r)); // let concurrent requests join this batch
    while (this.#queued.waiters.length > 0) {
      const batch = this.#queued;
      this.#queued = newBatch();
      try {
        await this.#write(batch);
        for (const w of batch.waiters) w.resolve();
      } catch (err) {
        for (const w of batch.waiters) w.reject(err);
      }
    }
    this.#running = null;
  }

  #write(batch: Batch): Promise<void> {
    return this.store.appendAudit(batch.pending, batch.records, (entry, seq, prevMac) => seal(this.key, entry, seq, prevMac));
  }
}
