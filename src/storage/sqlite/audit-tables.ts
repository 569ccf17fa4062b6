/**
 * The audit trail's tables in a SQLite store (audit/audit-store.ts): chained records as their JSON, an index of
 * the keys each record names, pending entries of calls that change state, and the anchor of a pruned trail.
 * Methods are synchronous and run in one SQLite transaction; the owning store serialises them with its other
 * transactions.
 */
import { GENESIS_MAC } from '../../audit/audit-chain.js';
import type { AuditAnchor, AuditEntry, AuditQuery, AuditRecord, AuditSeal } from '../../audit/audit-store.js';
import type { Db } from './database.js';


/** Where the chain ends: the last record's seq and MAC (an anchor's after a prune; seq 0 and the genesis MAC when empty). */
export interface AuditHead {
  seq: number;
  mac: string;
}

export class SqliteAuditTables {
  readonly #s;

  constructor(private readonly db: Db) {
    this.#s = {
      head: db.prepare('SELECT record FROM audit_records ORDER BY seq DESC LIMIT 1'),
      anchor: db.prepare('SELECT seq, mac, anchor_mac FROM audit_anchor WHERE id = 1'),
      insert: db.prepare('INSERT INTO audit_records (seq, time_ms, record) VALUES (?, ?, ?)'),
      insertKey: db.prepare('INSERT OR IGNORE INTO audit_record_keys (seq, key_id) VALUES (?, ?)'),
      insertPending: db.prepare('INSERT INTO audit_pending (request_id, entry) VALUES (?, ?)'),
      deletePending: db.prepare('DELETE FROM audit_pending WHERE request_id = ?'),
      pending: db.prepare('SELECT entry FROM audit_pending'),
      prune: db.prepare('DELETE FROM audit_records WHERE seq <= ?'),
      putAnchor: db.prepare('INSERT OR REPLACE INTO audit_anchor (id, seq, mac, anchor_mac) VALUES (1, ?, ?, ?)'),
    };
  }

  append(pending: readonly AuditEntry[], records: readonly AuditEntry[], sealRecord: AuditSeal): void {
    this.db.transaction(() => {
      for (const p of pending) this.#s.insertPending.run(p.request_id, JSON.stringify(p));
      let head = this.#head();
      for (const entry of records) {
        const r = sealRecord(entry, head.seq + 1, head.mac);
        this.#s.insert.run(r.seq, Date.parse(r.time) || 0, JSON.stringify(r));
        for (const k of r.key_ids) this.#s.insertKey.run(r.seq, k);
        this.#s.deletePending.run(r.request_id);
        head = { seq: r.seq, mac: r.mac };
      }
    }).immediate(); // IMMEDIATE: another process (the CLI) may append too; the head is read under the write lock
  }

  /**
   * Appends records sealed elsewhere (audit-writer.ts) after `expected`, the head they were sealed on: null once
   * written, or the actual head, writing nothing, when another writer appended first (then seal again on it).
   */
  appendSealed(pending: readonly AuditEntry[], sealed: readonly AuditRecord[], expected: AuditHead): AuditHead | null {
    return this.db.transaction(() => {
      if (sealed.length > 0) {
        const head = this.#head();
        if (head.seq !== expected.seq || head.mac !== expected.mac) return head;
      }
      for (const p of pending) this.#s.insertPending.run(p.request_id, JSON.stringify(p));
      for (const r of sealed) {
        this.#s.insert.run(r.seq, Date.parse(r.time) || 0, JSON.stringify(r));
        for (const k of r.key_ids) this.#s.insertKey.run(r.seq, k);
        this.#s.deletePending.run(r.request_id);
      }
      return null;
    }).immediate();
  }

  /** The seq and MAC the next record chains to. */
  head(): AuditHead {
    return this.#head();
  }

  pending(): AuditEntry[] {
    return (this.#s.pending.all() as { entry: string }[]).map((r) => JSON.parse(r.entry) as AuditEntry);
  }

  records(q: AuditQuery): AuditRecord[] {
    const where = ['r.seq > ?'];
    const args: unknown[] = [q.afterSeq ?? 0];
    if (q.sinceMs !== undefined) (where.push('r.time_ms >= ?'), args.push(q.sinceMs));
    const from = q.keyId !== undefined ? 'audit_records r JOIN audit_record_keys k ON k.seq = r.seq AND k.key_id = ?' : 'audit_records r';
    if (q.keyId !== undefined) args.unshift(q.keyId);
    const rows = this.db.prepare(`SELECT r.record FROM ${from} WHERE ${where.join(' AND ')} ORDER BY r.seq LIMIT ?`).all(...args, q.limit) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as AuditRecord);
  }

  anchor(): AuditAnchor | null {
    return (this.#s.anchor.get() as AuditAnchor | undefined) ?? null;
  }

  prune(anchor: AuditAnchor): number {
    return this.db.transaction(() => {
      const n = this.#s.prune.run(anchor.seq).changes;
      this.#s.putAnchor.run(anchor.seq, anchor.mac, anchor.anchor_mac);
      return n;
    })();
  }

  /** The last record's seq and MAC; after a prune with nothing left, the anchor's; else the genesis. */
  #head(): AuditHead {
    const last = this.#s.head.get() as { record: string } | undefined;
    if (last) {
      const r = JSON.parse(last.record) as AuditRecord;
      return { seq: r.seq, mac: r.mac };
    }
    return this.anchor() ?? { seq: 0, mac: GENESIS_MAC };
  }
}
