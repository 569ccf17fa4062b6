/**
 * The audit trail's tables in a PostgreSQL store (audit/audit-store.ts; created by storage/audit-migration.ts).
 * Several nodes append to one trail: an append locks the chain's head row (`audit_head`) for its transaction, so
 * appends chain one after another whichever node makes them, and the trail stays one verifiable chain. Pending
 * entries name the node that wrote them; a node takes over only those of nodes whose liveness lease
 * (`node:<id>` in `leases`) has lapsed, so it never closes a call another live node is still answering.
 */
import type { AuditAnchor, AuditEntry, AuditQuery, AuditRecord, AuditSeal } from '../../audit/audit-store.js';
import type { PgDatabase, Queryable } from './database.js';

/** The liveness lease of a node, in `leases`. */
export const nodeLease = (nodeId: string) => `node:${nodeId}`;

export class PgAuditTables {
  constructor(
    private readonly db: PgDatabase,
    /** This process's node id (random per start). */
    private readonly nodeId: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Stores `pending`, chains `records` after the head and removes the pending entries they complete: one transaction. */
  append(pending: readonly AuditEntry[], records: readonly AuditEntry[], seal: AuditSeal): Promise<void> {
    // READ COMMITTED with the head row locked: the lock, not serializable checks, orders the appends.
    return this.db.transaction((q) => this.appendOn(q, pending, records, seal), 'readCommitted');
  }

  /**
   * The same inside a transaction the caller holds (`q`), so that records commit with the change they describe
   * (background work: core/scheduler.ts). The head row stays locked until that transaction ends.
   */
  async appendOn(q: Queryable, pending: readonly AuditEntry[], records: readonly AuditEntry[], seal: AuditSeal): Promise<void> {
    // A batch is a few statements whatever its size (arrays unnested server-side): the head row is held for a few
    // round trips, not a few per record.
    if (pending.length > 0) {
      await q.run('INSERT INTO audit_pending (request_id, entry, node) SELECT r, e, $3 FROM unnest($1::text[], $2::text[]) AS p (r, e)', [
        pending.map((p) => p.request_id), pending.map((p) => JSON.stringify(p)), this.nodeId,
      ]);
    }
    if (records.length === 0) return;
    const [head] = await q.rows<{ seq: number; mac: string }>('SELECT seq, mac FROM audit_head WHERE id = 1 FOR UPDATE');
    let seq = head!.seq;
    let mac = head!.mac;
    const seqs: number[] = [];
    const times: number[] = [];
    const texts: string[] = [];
    const keySeqs: number[] = [];
    const keyIds: string[] = [];
    const requestIds: string[] = [];
    for (const entry of records) {
      const r = seal(entry, seq + 1, mac);
      seqs.push(r.seq);
      times.push(Date.parse(r.time) || 0);
      texts.push(JSON.stringify(r));
      for (const k of new Set(r.key_ids)) (keySeqs.push(r.seq), keyIds.push(k));
      requestIds.push(r.request_id);
      seq = r.seq;
      mac = r.mac;
    }
    await q.run(
      `WITH chained AS (
         INSERT INTO audit_records (seq, time_ms, record) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])),
       named AS (INSERT INTO audit_record_keys (seq, key_id) SELECT * FROM unnest($4::bigint[], $5::text[])),
       completed AS (DELETE FROM audit_pending WHERE request_id = ANY($6::text[]))
       UPDATE audit_head SET seq = $7, mac = $8 WHERE id = 1`,
      [seqs, times, texts, keySeqs, keyIds, requestIds, seq, mac],
    );
  }

  /**
   * Pending entries this node must close: those of nodes whose liveness lease has lapsed (they stopped between a
   * call's start and its record). They are handed to this node in the same statement, so two nodes never both
   * close one; this node's own entries are calls still in flight and are never returned.
   */
  async pending(): Promise<AuditEntry[]> {
    // The lapsed nodes are listed first (ARRAY(...) runs once): when another node takes a row at the same moment,
    // READ COMMITTED rechecks the condition on the row as that node left it, and its new owner is not in the list.
    // (With the lease test in the UPDATE's own WHERE, an anti-join, the recheck passed and both nodes took the row.)
    const rows = await this.db.rows<{ entry: string }>(
      `UPDATE audit_pending SET node = $1 WHERE node <> $1 AND node = ANY (ARRAY(
         SELECT DISTINCT p.node FROM audit_pending p
         WHERE NOT EXISTS (SELECT 1 FROM leases l WHERE l.name = 'node:' || p.node AND l.expires_at > $2)))
       RETURNING entry`,
      [this.nodeId, this.clock()],
    );
    // A lapsed node's liveness lease has served its purpose once its entries are taken: forget it.
    await this.db.run(
      `DELETE FROM leases l WHERE l.name LIKE 'node:%' AND l.expires_at <= $1
         AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE 'node:' || p.node = l.name)`,
      [this.clock()],
    );
    return rows.map((r) => JSON.parse(r.entry) as AuditEntry);
  }

  async records(query: AuditQuery, q: Queryable = this.db): Promise<AuditRecord[]> {
    const where = ['r.seq > $1'];
    const args: unknown[] = [query.afterSeq ?? 0];
    if (query.sinceMs !== undefined) (args.push(query.sinceMs), where.push(`r.time_ms >= $${args.length}`));
    let from = 'audit_records r';
    if (query.keyId !== undefined) (args.push(query.keyId), (from = `audit_records r JOIN audit_record_keys k ON k.seq = r.seq AND k.key_id = $${args.length}`));
    args.push(query.limit);
    const rows = await q.rows<{ record: string }>(`SELECT r.record FROM ${from} WHERE ${where.join(' AND ')} ORDER BY r.seq LIMIT $${args.length}`, args);
    return rows.map((r) => JSON.parse(r.record) as AuditRecord);
  }

  async anchor(): Promise<AuditAnchor | null> {
    const [row] = await this.db.rows<AuditAnchor>('SELECT seq, mac, anchor_mac FROM audit_anchor WHERE id = 1');
    return row ?? null;
  }

  prune(anchor: AuditAnchor): Promise<number> {
    return this.db.transaction(async (q) => {
      const n = await q.run('DELETE FROM audit_records WHERE seq <= $1', [anchor.seq]);
      await q.run(
        `INSERT INTO audit_anchor (id, seq, mac, anchor_mac) VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, mac = EXCLUDED.mac, anchor_mac = EXCLUDED.anchor_mac`,
        [anchor.seq, anchor.mac, anchor.anchor_mac],
      );
      return n;
    });
  }
}
