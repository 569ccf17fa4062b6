/**
 * Audit records appended on a worker thread (audit-writer-worker.ts) with its own connection to the store's
 * database: every call's record is committed durably (synchronous=FULL) before its answer leaves, but the commit's
 * fsync (about 0.5 ms here) no longer stops the event loop. Records are sealed here, on the head the writer last
 * saw; when another writer (the admin CLI) appended meanwhile, the worker writes nothing and answers the actual
 * head, and the batch is sealed again on it. A worker that fails rejects the appends in flight (the audit log then
 * fails those calls closed, KMS.0103) and is started again for the next one.
 */
import { Worker } from 'node:worker_threads';
import type { AuditEntry, AuditRecord, AuditSeal } from '../../audit/audit-store.js';
import type { AuditHead } from './audit-tables.js';

export type WriterRequest =
  | { kind: 'head'; id: number }
  | { kind: 'append'; id: number; pending: readonly AuditEntry[]; sealed: readonly AuditRecord[]; expected: AuditHead }
  | { kind: 'close' };
type AskRequest = { kind: 'head' } | { kind: 'append'; pending: readonly AuditEntry[]; sealed: readonly AuditRecord[]; expected: AuditHead };
export type WriterReply = { id: number; head: AuditHead | null } | { id: number; error: string };

const WORKER = new URL('./audit-writer-worker.ts', import.meta.url);

export class AuditWriterThread {
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (r: AuditHead | null) => void; reject: (e: Error) => void }>();
  /** The head after this writer's last append, or null when unknown. */
  #head: AuditHead | null = null;

  constructor(private readonly path: string) {}

  /** Seals `records` after the trail's head and appends them with `pending`, in one transaction, durably. */
  async append(pending: readonly AuditEntry[], records: readonly AuditEntry[], seal: AuditSeal): Promise<void> {
    for (;;) {
      const expected = this.#head ?? (await this.#ask({ kind: 'head' }))!;
      const sealed: AuditRecord[] = [];
      let head = expected;
      for (const entry of records) {
        const r = seal(entry, head.seq + 1, head.mac);
        sealed.push(r);
        head = { seq: r.seq, mac: r.mac };
      }
      const actual = await this.#ask({ kind: 'append', pending, sealed, expected });
      this.#head = actual ?? head;
      if (actual === null) return;
    }
  }

  /** Finishes what is in flight, then stops the thread. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = null;
    worker.ref(); // until it has closed its connection
    const exited = new Promise((r) => worker.once('exit', r));
    worker.postMessage({ kind: 'close' } satisfies WriterRequest);
    await exited;
  }

  #ask(request: AskRequest): Promise<AuditHead | null> {
    const worker = this.#started();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      // The thread keeps the process alive while an append is in flight (a CLI that only awaits it), not when idle.
      if (this.#waiting.size === 0) worker.ref();
      this.#waiting.set(id, { resolve, reject });
      worker.postMessage({ ...request, id } as WriterRequest);
    });
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    // The worker runs TypeScript through tsx, as the server does: a worker does not inherit the loader, so it
    // registers it before importing its module.
    const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER.href)}); })`;
    const worker = new Worker(boot, { eval: true, workerData: { path: this.path } });
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const waiter = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if (this.#waiting.size === 0) worker.unref();
      if ('error' in reply) waiter?.reject(new Error(`the audit trail could not be written: ${reply.error}`));
      else waiter?.resolve(reply.head);
    });
    const fail = (err: Error) => {
      if (this.#worker === worker) this.#worker = null;
      this.#head = null;
      for (const w of this.#waiting.values()) w.reject(err);
      this.#waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the audit writer thread stopped (exit ${code})`)));
    this.#worker = worker;
    return worker;
  }
}
