/**
 * The statements of the KMS store on PostgreSQL (kms-pg-store.ts), translated from the SQLite store's: `PgKmsOps`
 * runs them over a Queryable, the pool (each statement its own transaction) or the client of one transaction.
 * Text is ordered and compared with `COLLATE "C"` wherever SQLite orders or compares it, so that both stores list
 * in the same bytewise order whatever the database's collation. Every write of a key's row, versions or grants
 * also sends `pg_notify(channel, '<node id> <key id>')` in the same transaction, which PostgreSQL delivers to the
 * other nodes when (and only if) that transaction commits.
 */
import type { AuditAnchor, AuditEntry, AuditQuery, AuditSeal } from '../../audit/audit-store.js';
import type { KeyRecord, KeyVersionRecord } from '../../core/key.js';
import type { KeystoreRecord } from '../../core/keystores.js';
import {
  aliasFromRow, COLUMNS, KEYSTORE_COLUMNS, keystoreFromRow, keystoreToRow, type KeystoreRow, fromRow, GRANT_COLUMNS, grantFromRow, grantToRow, importParametersFromRow, outboxFromRow, toRow, versionFromRow,
  type AliasRow, type GrantRow, type ImportParametersRow, type KeyRow, type OutboxRow, type VersionRow,
} from '../kms-rows.js';
import {
  DuplicateAliasError, DuplicateKeystoreError, type AliasRecord, type GrantRecord, type ImportParametersRecord, type KeyFilter, type KeyPage, type KeyTag, type KmsStore,
  type NewOutboxMessage, type OutboxMessage, type OutboxStats,
} from '../kms-store.js';
import { ACQUIRE_LEASE_SQL, CLAIM_REQUEST_SQL } from '../leases.js';
import type { PgAuditTables } from './audit-tables.js';
import { PgKeySpaceTables } from './key-space-pg.js';
import type { AccessPointRecord, KeyPolicyRecord } from '../key-space-store.js';
import { isUniqueViolation, type PgDatabase, type Queryable } from './database.js';

/** What every PgKmsOps of one store shares. */
export interface PgOpsContext {
  readonly db: PgDatabase;
  readonly audit: PgAuditTables;
  /** The NOTIFY channel of the store's key changes (`<schema>_keys`). */
  readonly channel: string;
  /** This node's id, the first word of every notification it sends. */
  readonly nodeId: string;
  /** Called with a key's id before and after an autocommit write of its row (outside transactions only). */
  readonly keyWritten: (keyId: string) => void;
  /** The store's `transaction`, for an autocommit PgKmsOps asked to run one. */
  readonly transaction: <T>(fn: (store: KmsStore) => Promise<T>) => Promise<T>;
}

const p = (i: number) => `$${i}`;

/** list-keys' filter over parameters $1 project, $2 state, $3 spec, $4 aliveAt; a null one leaves its condition out. */
const LIST_FILTER = `project_id = $1 AND pending_attempt IS NULL
  AND ($2::text IS NULL OR state = $2::text) AND ($3::text IS NULL OR spec = $3::text)
  AND ($4::bigint IS NULL OR NOT (state = '4' AND deletion_date <= $4::bigint))`;

/** A key's row: parameters $1… are COLUMNS in order. */
const INSERT_KEY = `INSERT INTO keys (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => p(i + 1)).join(', ')})`;
/** Columns an update writes: $1 is the id, then these, then the expected revision, the channel and the payload. */
const UPDATE_COLUMNS = COLUMNS.filter((c) => c !== 'id' && c !== 'revision');
const REV = UPDATE_COLUMNS.length + 2;
const UPDATE_KEY = `WITH changed AS (
    UPDATE keys SET ${UPDATE_COLUMNS.map((c, i) => `${c} = ${p(i + 2)}`).join(', ')}, revision = ${p(REV)}::integer + 1
    WHERE id = $1 AND revision = ${p(REV)}::integer RETURNING id)
  SELECT pg_notify(${p(REV + 1)}, ${p(REV + 2)}) FROM changed`;
const INSERT_GRANT = `WITH added AS (
    INSERT INTO grants (${GRANT_COLUMNS.join(', ')}) VALUES (${GRANT_COLUMNS.map((_, i) => p(i + 1)).join(', ')}) RETURNING key_id)
  SELECT pg_notify(${p(GRANT_COLUMNS.length + 1)}, ${p(GRANT_COLUMNS.length + 2)}::text || key_id) FROM added`;
const DUE_FOR_ROTATION = `SELECT * FROM keys WHERE rotation_enabled = 1 AND pending_attempt IS NULL AND handover_to IS NULL
  AND (primary_region IS NULL OR primary_region = region) AND state IN ('2', '3')
  AND COALESCE(last_rotation_at, created_at) + rotation_interval_days::bigint * 86400000 <= $1`;
const EXPIRED_MATERIAL = `SELECT * FROM keys WHERE state IN ('2', '3') AND pending_attempt IS NULL
  AND material_expires_at IS NOT NULL AND material_expires_at <= $1`;
const GRANTS_ORDER = 'ORDER BY g.created_at, g.id COLLATE "C"';
const RETIRABLE = `FROM grants g JOIN keys k ON k.id = g.key_id WHERE g.retiring_principal = $1 AND k.pending_attempt IS NULL`;

/** Runs `write` and turns a unique violation (the alias of the account) into DuplicateAliasError. */
async function aliasUnique<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateAliasError();
    throw err;
  }
}

/**
 * The KmsStore's operations over one Queryable: the pool (`written` null: each statement commits alone, and the
 * operations SQLite runs as several statements in a transaction run in a READ COMMITTED transaction of their own),
 * or one transaction's client (`written` collects the ids of the keys whose rows it wrote, for the store to drop
 * from its cache once the transaction has committed; `transaction` then just runs `fn` in it). Times are epoch
 * milliseconds; errors are node-postgres', but for DuplicateAliasError.
 */
export class PgKmsOps implements KmsStore {
  constructor(
    private readonly ctx: PgOpsContext,
    private readonly q: Queryable,
    private readonly written: Set<string> | null,
  ) {}

  /** The payload of a notification about `keyId`. */
  #payload(keyId: string): string {
    return `${this.ctx.nodeId} ${keyId}`;
  }

  #notify(q: Queryable, keyId: string): Promise<unknown> {
    return q.rows('SELECT pg_notify($1, $2)', [this.ctx.channel, this.#payload(keyId)]);
  }

  /** Runs a write of a key's row: remembered for the end of the transaction, or reported before and after. */
  async #keyWrite<T>(keyId: string, write: () => Promise<T>): Promise<T> {
    if (this.written) {
      this.written.add(keyId);
      return write();
    }
    this.ctx.keyWritten(keyId);
    try {
      return await write();
    } finally {
      this.ctx.keyWritten(keyId);
    }
  }

  /** Runs `fn` in this transaction, or in one of its own (READ COMMITTED: it writes without reading first). */
  #atomically<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.written ? fn(this.q) : this.ctx.db.transaction(fn, 'readCommitted');
  }

  /** Runs `fn` on one snapshot (for a count and the page it counted): this transaction, or a serializable one. */
  #snapshot<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.written ? fn(this.q) : this.ctx.db.transaction(fn);
  }

  async #count(q: Queryable, sql: string, params: readonly unknown[]): Promise<number> {
    const [row] = await q.rows<{ n: number }>(sql, params);
    return row!.n;
  }

  async getKey(projectId: string, keyId: string): Promise<KeyRecord | null> {
    const [row] = await this.q.rows<KeyRow>('SELECT * FROM keys WHERE project_id = $1 AND id = $2', [projectId, keyId]);
    return row ? fromRow(row) : null;
  }

  async listKeys(projectId: string, filter: KeyFilter, offset: number, limit: number): Promise<KeyPage> {
    const params = [projectId, filter.state ?? null, filter.spec ?? null, filter.aliveAt ?? null];
    return this.#snapshot(async (q) => {
      const total = await this.#count(q, `SELECT COUNT(*) AS n FROM keys WHERE ${LIST_FILTER}`, params);
      const rows = await q.rows<KeyRow>(
        `SELECT k.* FROM keys k JOIN (SELECT id FROM keys WHERE ${LIST_FILTER} ORDER BY created_at, id COLLATE "C" LIMIT $5 OFFSET $6) page
           ON page.id = k.id ORDER BY k.created_at, k.id COLLATE "C"`,
        [...params, limit, offset],
      );
      return { keys: rows.map(fromRow), total };
    });
  }

  async listNewestKeys(projectId: string, filter: KeyFilter, before: number | undefined, limit: number): Promise<KeyPage & { start: number }> {
    const params = [projectId, filter.state ?? null, filter.spec ?? null, filter.aliveAt ?? null];
    return this.#snapshot(async (q) => {
      const total = await this.#count(q, `SELECT COUNT(*) AS n FROM keys WHERE ${LIST_FILTER}`, params);
      const end = Math.min(before ?? total, total);
      const start = Math.max(0, end - limit);
      const rows = end > start
        ? await q.rows<KeyRow>(
          `SELECT k.* FROM keys k JOIN (SELECT id FROM keys WHERE ${LIST_FILTER} ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $5 OFFSET $6) page
             ON page.id = k.id ORDER BY k.created_at DESC, k.id COLLATE "C" DESC`,
          [...params, end - start, total - end],
        )
        : [];
      return { keys: rows.map(fromRow), total, start };
    });
  }

  countKeys(projectId: string): Promise<number> {
    return this.#count(this.q, 'SELECT COALESCE((SELECT n FROM project_key_counts WHERE project_id = $1), 0) AS n', [projectId]);
  }

  insertKey(key: KeyRecord, firstVersion: KeyVersionRecord | null): Promise<void> {
    const row = toRow(key);
    return this.#keyWrite(key.id, () => this.#atomically(async (q) => {
      await aliasUnique(() => q.run(INSERT_KEY, COLUMNS.map((c) => row[c])));
      if (firstVersion) {
        await q.run('INSERT INTO key_versions (key_id, version, wrapped, created_at) VALUES ($1, $2, $3, $4)',
          [firstVersion.keyId, firstVersion.version, firstVersion.wrapped, firstVersion.createdAt]);
      }
      await this.#notify(q, key.id);
    }));
  }

  updateKey(key: KeyRecord, expectedRevision: number): Promise<boolean> {
    const row = toRow(key);
    return this.#keyWrite(key.id, async () => {
      const params = [row.id, ...UPDATE_COLUMNS.map((c) => row[c]), expectedRevision, this.ctx.channel, this.#payload(key.id)];
      return (await aliasUnique(() => this.q.rows(UPDATE_KEY, params))).length === 1;
    });
  }

  async getVersion(keyId: string, version: number): Promise<KeyVersionRecord | null> {
    const [row] = await this.q.rows<VersionRow>('SELECT * FROM key_versions WHERE key_id = $1 AND version = $2', [keyId, version]);
    return row ? versionFromRow(row) : null;
  }

  async insertVersion(v: KeyVersionRecord): Promise<boolean> {
    const rows = await this.q.rows(
      `WITH added AS (INSERT INTO key_versions (key_id, version, wrapped, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING key_id)
       SELECT pg_notify($5, $6) FROM added`,
      [v.keyId, v.version, v.wrapped, v.createdAt, this.ctx.channel, this.#payload(v.keyId)],
    );
    return rows.length === 1;
  }

  async versionNumbers(keyId: string): Promise<number[]> {
    return (await this.q.rows<{ version: number }>('SELECT version FROM key_versions WHERE key_id = $1 ORDER BY version', [keyId])).map((r) => r.version);
  }

  async getKeyById(keyId: string): Promise<KeyRecord | null> {
    const [row] = await this.q.rows<KeyRow>('SELECT * FROM keys WHERE id = $1', [keyId]);
    return row ? fromRow(row) : null;
  }

  async keysDueForRotation(now: number): Promise<KeyRecord[]> {
    return (await this.q.rows<KeyRow>(DUE_FOR_ROTATION, [now])).map(fromRow);
  }

  async outboxStats(): Promise<OutboxStats[]> {
    return (await this.q.rows<{ target: string; messages: string; oldest: string }>('SELECT target, count(*) AS messages, min(created_at) AS oldest FROM outbox GROUP BY target ORDER BY target'))
      .map((r) => ({ target: r.target, messages: Number(r.messages), oldestCreatedAt: Number(r.oldest) }));
  }

  async enqueue(m: NewOutboxMessage): Promise<void> {
    await this.q.run('INSERT INTO outbox (target, kind, key_id, payload, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [m.target, m.kind, m.keyId, JSON.stringify(m.payload), m.nextAttemptAt, Date.now()]);
  }

  async dueMessages(now: number, limit: number): Promise<OutboxMessage[]> {
    return (await this.q.rows<OutboxRow>('SELECT * FROM outbox WHERE next_attempt_at <= $1 ORDER BY id LIMIT $2', [now, limit])).map(outboxFromRow);
  }

  async completeMessage(id: number): Promise<void> {
    await this.q.run('DELETE FROM outbox WHERE id = $1', [id]);
  }

  async retryMessage(id: number, nextAttemptAt: number, error: string): Promise<void> {
    await this.q.run('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3', [nextAttemptAt, error.slice(0, 500), id]);
  }

  async getSetting(name: string): Promise<Buffer | null> {
    const [row] = await this.q.rows<{ value: Buffer }>('SELECT value FROM settings WHERE name = $1', [name]);
    return row ? row.value : null;
  }

  async putSettingIfAbsent(name: string, value: Buffer): Promise<Buffer> {
    await this.q.run('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, value]);
    return (await this.getSetting(name))!;
  }

  async replaceSetting(name: string, expected: Buffer | null, replacement: Buffer | null): Promise<boolean> {
    if (expected === null) {
      if (replacement === null) return (await this.getSetting(name)) === null;
      return (await this.q.rows('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING name', [name, replacement])).length === 1;
    }
    if (replacement === null) return (await this.q.rows('DELETE FROM settings WHERE name = $1 AND value = $2 RETURNING name', [name, expected])).length === 1;
    return (await this.q.rows('UPDATE settings SET value = $1 WHERE name = $2 AND value = $3 RETURNING name', [replacement, name, expected])).length === 1;
  }

  async listVersionBlobs(after: { keyId: string; version: number } | null, limit: number) {
    const rows = await this.q.rows<{ key_id: string; version: number; wrapped: Buffer }>(
      `SELECT key_id, version, wrapped FROM key_versions WHERE (key_id, version) > ($1, $2) ORDER BY key_id, version LIMIT $3`,
      [after?.keyId ?? '', after?.version ?? -1, limit]);
    return rows.map((r) => ({ keyId: r.key_id, version: Number(r.version), wrapped: r.wrapped }));
  }

  async countVersions(): Promise<number> {
    const [row] = await this.q.rows<{ n: string }>('SELECT count(*) AS n FROM key_versions');
    return Number(row!.n);
  }

  async replaceVersionBlob(keyId: string, version: number, expected: Buffer, replacement: Buffer): Promise<boolean> {
    return (await this.q.rows('UPDATE key_versions SET wrapped = $1 WHERE key_id = $2 AND version = $3 AND wrapped = $4 RETURNING key_id', [replacement, keyId, version, expected])).length === 1;
  }

  async listImportParameters(): Promise<ImportParametersRecord[]> {
    const rows = await this.q.rows<{ key_id: string; token_id: string; wrapping_algorithm: string; wrapping_key: Buffer; expires_at: string }>('SELECT * FROM import_parameters ORDER BY key_id');
    return rows.map((row) => ({ keyId: row.key_id, tokenId: row.token_id, wrappingAlgorithm: row.wrapping_algorithm, wrappingKey: row.wrapping_key, expiresAt: Number(row.expires_at) }));
  }

  async replaceImportWrappingKey(keyId: string, expected: Buffer, replacement: Buffer): Promise<boolean> {
    return (await this.q.rows('UPDATE import_parameters SET wrapping_key = $1 WHERE key_id = $2 AND wrapping_key = $3 RETURNING key_id', [replacement, keyId, expected])).length === 1;
  }

  deleteKey(keyId: string): Promise<void> {
    return this.#keyWrite(keyId, () => this.#atomically(async (q) => {
      await q.run('DELETE FROM key_versions WHERE key_id = $1', [keyId]);
      await q.run('DELETE FROM keys WHERE id = $1', [keyId]);
      await this.#notify(q, keyId);
    }));
  }

  async keysDueForDeletion(now: number): Promise<KeyRecord[]> {
    return (await this.q.rows<KeyRow>("SELECT * FROM keys WHERE state = '4' AND deletion_date <= $1", [now])).map(fromRow);
  }

  async deleteVersions(keyId: string): Promise<void> {
    await this.q.rows('WITH gone AS (DELETE FROM key_versions WHERE key_id = $1) SELECT pg_notify($2, $3)', [keyId, this.ctx.channel, this.#payload(keyId)]);
  }

  async keysWithExpiredMaterial(now: number): Promise<KeyRecord[]> {
    return (await this.q.rows<KeyRow>(EXPIRED_MATERIAL, [now])).map(fromRow);
  }

  async putImportParameters(ip: ImportParametersRecord): Promise<void> {
    await this.q.run(
      `INSERT INTO import_parameters (key_id, token_id, wrapping_algorithm, wrapping_key, expires_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (key_id) DO UPDATE SET token_id = excluded.token_id, wrapping_algorithm = excluded.wrapping_algorithm,
         wrapping_key = excluded.wrapping_key, expires_at = excluded.expires_at`,
      [ip.keyId, ip.tokenId, ip.wrappingAlgorithm, ip.wrappingKey, ip.expiresAt],
    );
  }

  async getImportParameters(keyId: string): Promise<ImportParametersRecord | null> {
    const [row] = await this.q.rows<ImportParametersRow>('SELECT * FROM import_parameters WHERE key_id = $1', [keyId]);
    return row ? importParametersFromRow(row) : null;
  }

  async deleteImportParameters(keyId: string): Promise<void> {
    await this.q.run('DELETE FROM import_parameters WHERE key_id = $1', [keyId]);
  }

  deleteExpiredImportParameters(now: number): Promise<number> {
    return this.q.run('DELETE FROM import_parameters WHERE expires_at <= $1', [now]);
  }

  get #keySpace(): PgKeySpaceTables { return new PgKeySpaceTables(this.q); }
  insertAccessPoint(ap: AccessPointRecord) { return this.#keySpace.insertAccessPoint(ap); }
  getAccessPoint(projectId: string, id: string) { return this.#keySpace.getAccessPoint(projectId, id); }
  accessPointByPublicKey(projectId: string, spki: Buffer) { return this.#keySpace.accessPointByPublicKey(projectId, spki); }
  listAccessPoints(projectId: string, keyspaceId: string, after: string, limit: number) { return this.#keySpace.listAccessPoints(projectId, keyspaceId, after, limit); }
  setAccessPointState(projectId: string, id: string, state: 0 | 1, updatedAt: number) { return this.#keySpace.setAccessPointState(projectId, id, state, updatedAt); }
  deleteAccessPoint(projectId: string, id: string) { return this.#keySpace.deleteAccessPoint(projectId, id); }
  listAccessPointKeys() { return this.#keySpace.listAccessPointKeys(); }
  replaceAccessPointKey(id: string, expected: Buffer, replacement: Buffer) { return this.#keySpace.replaceAccessPointKey(id, expected, replacement); }
  insertKeyPolicy(k: KeyPolicyRecord) { return this.#keySpace.insertKeyPolicy(k); }
  getKeyPolicy(projectId: string, id: string) { return this.#keySpace.getKeyPolicy(projectId, id); }
  listKeyPolicies(projectId: string, keyspaceId: string, after: string, limit: number) { return this.#keySpace.listKeyPolicies(projectId, keyspaceId, after, limit); }
  updateKeyPolicy(projectId: string, id: string, document: string, description: string | undefined, updatedAt: number) { return this.#keySpace.updateKeyPolicy(projectId, id, document, description, updatedAt); }
  deleteKeyPolicy(projectId: string, id: string) { return this.#keySpace.deleteKeyPolicy(projectId, id); }
  touchKeyPolicy(id: string, at: number) { return this.#keySpace.touchKeyPolicy(id, at); }

  /** Inside a transaction: runs `fn` in it (nested transactions are the outer one). Outside: the store's. */
  transaction<T>(fn: (store: KmsStore) => Promise<T>): Promise<T> {
    return this.written ? fn(this) : this.ctx.transaction(fn);
  }

  getTags(keyId: string): Promise<KeyTag[]> {
    return this.q.rows<KeyTag>('SELECT tag_key AS key, tag_value AS value FROM key_tags WHERE key_id = $1 ORDER BY tag_key COLLATE "C"', [keyId]);
  }

  changeTags(keyId: string, set: readonly KeyTag[], remove: readonly string[]): Promise<void> {
    return this.#atomically(async (q) => {
      for (const k of remove) await q.run('DELETE FROM key_tags WHERE key_id = $1 AND tag_key = $2', [keyId, k]);
      for (const t of set) {
        await q.run(
          'INSERT INTO key_tags (key_id, tag_key, tag_value) VALUES ($1, $2, $3) ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value',
          [keyId, t.key, t.value],
        );
      }
    });
  }

  projectTags(projectId: string): Promise<(KeyTag & { keyId: string })[]> {
    return this.q.rows(
      `SELECT t.key_id AS "keyId", t.tag_key AS key, t.tag_value AS value FROM key_tags t JOIN keys k ON k.id = t.key_id
       WHERE k.project_id = $1 AND k.pending_attempt IS NULL ORDER BY t.key_id COLLATE "C", t.tag_key COLLATE "C"`,
      [projectId],
    );
  }

  async insertAlias(a: AliasRecord): Promise<void> {
    await aliasUnique(() => this.q.run('INSERT INTO key_aliases (domain_id, alias, key_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)',
      [a.domainId, a.alias, a.keyId, a.createdAt, a.updatedAt]));
  }

  async getAlias(domainId: string, alias: string): Promise<AliasRecord | null> {
    const [row] = await this.q.rows<AliasRow>('SELECT * FROM key_aliases WHERE domain_id = $1 AND alias = $2', [domainId, alias]);
    return row ? aliasFromRow(row) : null;
  }

  async listAliases(projectId: string, keyId: string | undefined, after: string, limit: number): Promise<AliasRecord[]> {
    const rows = await this.q.rows<AliasRow>(
      `SELECT a.* FROM key_aliases a JOIN keys k ON k.id = a.key_id
       WHERE k.project_id = $1 AND k.pending_attempt IS NULL AND ($2::text IS NULL OR a.key_id = $2::text) AND a.alias COLLATE "C" > $3
       ORDER BY a.alias COLLATE "C" LIMIT $4`,
      [projectId, keyId ?? null, after, limit],
    );
    return rows.map(aliasFromRow);
  }

  countAliases(keyId: string): Promise<number> {
    return this.#count(this.q, 'SELECT COUNT(*) AS n FROM key_aliases WHERE key_id = $1', [keyId]);
  }

  async moveAlias(domainId: string, alias: string, keyId: string, updatedAt: number): Promise<boolean> {
    return (await this.q.run('UPDATE key_aliases SET key_id = $1, updated_at = $2 WHERE domain_id = $3 AND alias = $4', [keyId, updatedAt, domainId, alias])) === 1;
  }

  deleteAliases(domainId: string, aliases: readonly string[]): Promise<void> {
    return this.#atomically(async (q) => {
      for (const a of aliases) await q.run('DELETE FROM key_aliases WHERE domain_id = $1 AND alias = $2', [domainId, a]);
    });
  }

  async insertGrant(g: GrantRecord): Promise<void> {
    const row = grantToRow(g);
    await this.q.rows(INSERT_GRANT, [...GRANT_COLUMNS.map((c) => row[c]), this.ctx.channel, this.#payload('')]);
  }

  async getGrant(grantId: string): Promise<GrantRecord | null> {
    const [row] = await this.q.rows<GrantRow>('SELECT * FROM grants WHERE id = $1', [grantId]);
    return row ? grantFromRow(row) : null;
  }

  listGrants(keyId: string, offset: number, limit: number): Promise<{ grants: GrantRecord[]; total: number }> {
    return this.#snapshot(async (q) => {
      const total = await this.#count(q, 'SELECT COUNT(*) AS n FROM grants WHERE key_id = $1', [keyId]);
      const rows = await q.rows<GrantRow>(`SELECT g.* FROM grants g WHERE g.key_id = $1 ${GRANTS_ORDER} LIMIT $2 OFFSET $3`, [keyId, limit, offset]);
      return { grants: rows.map(grantFromRow), total };
    });
  }

  listRetirableGrants(principal: string, offset: number, limit: number): Promise<{ grants: GrantRecord[]; total: number }> {
    return this.#snapshot(async (q) => {
      const total = await this.#count(q, `SELECT COUNT(*) AS n ${RETIRABLE}`, [principal]);
      const rows = await q.rows<GrantRow>(`SELECT g.* ${RETIRABLE} ${GRANTS_ORDER} LIMIT $2 OFFSET $3`, [principal, limit, offset]);
      return { grants: rows.map(grantFromRow), total };
    });
  }

  async grantsFor(keyId: string, userId: string, domainId: string): Promise<GrantRecord[]> {
    const rows = await this.q.rows<GrantRow>(
      `SELECT g.* FROM grants g WHERE g.key_id = $1 AND ((g.grantee_type = 'user' AND g.grantee = $2) OR (g.grantee_type = 'domain' AND g.grantee = $3))
       ${GRANTS_ORDER}`,
      [keyId, userId, domainId],
    );
    return rows.map(grantFromRow);
  }

  countGrants(keyId: string): Promise<number> {
    return this.#count(this.q, 'SELECT COUNT(*) AS n FROM grants WHERE key_id = $1', [keyId]);
  }

  maxGrantsPerKey(projectId: string): Promise<number> {
    return this.#count(
      this.q,
      `SELECT COALESCE(MAX(per_key.n), 0) AS n FROM (SELECT COUNT(*) AS n FROM grants g JOIN keys k ON k.id = g.key_id
         WHERE k.project_id = $1 GROUP BY g.key_id) per_key`,
      [projectId],
    );
  }

  async deleteGrant(grantId: string): Promise<void> {
    await this.q.rows('WITH gone AS (DELETE FROM grants WHERE id = $1 RETURNING key_id) SELECT pg_notify($2, $3::text || key_id) FROM gone',
      [grantId, this.ctx.channel, this.#payload('')]);
  }

  async insertKeystore(k: KeystoreRecord): Promise<void> {
    const row = keystoreToRow(k);
    try {
      await this.q.run(`INSERT INTO keystores (${KEYSTORE_COLUMNS.join(', ')}) VALUES (${KEYSTORE_COLUMNS.map((_, i) => p(i + 1)).join(', ')})`, KEYSTORE_COLUMNS.map((c) => row[c]));
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeystoreError();
      throw err;
    }
  }

  async getKeystore(domainId: string, keystoreId: string): Promise<KeystoreRecord | null> {
    const [row] = await this.q.rows<KeystoreRow>('SELECT * FROM keystores WHERE domain_id = $1 AND id = $2', [domainId, keystoreId]);
    return row ? keystoreFromRow(row) : null;
  }

  async keystoreOfCluster(hsmClusterId: string): Promise<KeystoreRecord | null> {
    const [row] = await this.q.rows<KeystoreRow>('SELECT * FROM keystores WHERE hsm_cluster_id = $1', [hsmClusterId]);
    return row ? keystoreFromRow(row) : null;
  }

  listKeystores(domainId: string, offset: number, limit: number): Promise<{ keystores: KeystoreRecord[]; total: number }> {
    return this.#snapshot(async (q) => {
      const total = await this.#count(q, 'SELECT COUNT(*) AS n FROM keystores WHERE domain_id = $1', [domainId]);
      const rows = await q.rows<KeystoreRow>('SELECT * FROM keystores WHERE domain_id = $1 ORDER BY created_at, id COLLATE "C" LIMIT $2 OFFSET $3', [domainId, limit, offset]);
      return { keystores: rows.map(keystoreFromRow), total };
    });
  }

  async setKeystoreState(keystoreId: string, state: KeystoreRecord['state']): Promise<boolean> {
    return (await this.q.run('UPDATE keystores SET state = $1 WHERE id = $2', [state, keystoreId])) === 1;
  }

  async setKeystorePin(keystoreId: string, pinHash: string): Promise<boolean> {
    return (await this.q.run('UPDATE keystores SET pin_hash = $1 WHERE id = $2', [pinHash, keystoreId])) === 1;
  }

  async deleteKeystore(keystoreId: string): Promise<boolean> {
    return (await this.q.run('DELETE FROM keystores WHERE id = $1', [keystoreId])) === 1;
  }

  countKeystoreKeys(keystoreId: string): Promise<number> {
    return this.#count(this.q, `SELECT COUNT(*) AS n FROM keys WHERE keystore_id = $1 AND keystore_id <> '0'`, [keystoreId]);
  }

  /**
   * Inside a transaction, in it (the records commit with the change they describe, and the trail's head row stays
   * locked until it ends); outside, in a READ COMMITTED transaction of its own.
   */
  appendAudit(pending: readonly AuditEntry[], records: readonly AuditEntry[], seal: AuditSeal): Promise<void> {
    return this.written ? this.ctx.audit.appendOn(this.q, pending, records, seal) : this.ctx.audit.append(pending, records, seal);
  }
  pendingAudit(): Promise<AuditEntry[]> {
    return this.ctx.audit.pending();
  }
  auditRecords(query: AuditQuery) {
    return this.ctx.audit.records(query, this.q);
  }
  auditAnchor(): Promise<AuditAnchor | null> {
    return this.ctx.audit.anchor();
  }
  pruneAudit(anchor: AuditAnchor): Promise<number> {
    return this.ctx.audit.prune(anchor);
  }

  async acquireLease(name: string, holder: string, now: number, until: number): Promise<boolean> {
    return (await this.q.rows(ACQUIRE_LEASE_SQL(p), [name, holder, now, until])).length > 0;
  }
  async releaseLease(name: string, holder: string): Promise<void> {
    await this.q.run('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]);
  }
  async claimRequest(signature: string, now: number, expiresAt: number): Promise<boolean> {
    return (await this.q.rows(CLAIM_REQUEST_SQL(p), [signature, now, expiresAt])).length > 0;
  }
  async releaseRequest(signature: string): Promise<void> {
    await this.q.run('DELETE FROM applied_requests WHERE signature = $1', [signature]);
  }
  async purgeRequests(now: number): Promise<number> {
    return this.q.run('DELETE FROM applied_requests WHERE expires_at <= $1', [now]);
  }

  /** Listeners are the store's (kms-pg-store.ts); an operations object has none of its own. */
  onKeyChanged(): void {}
  /** Snapshots are of the whole store, never from inside a transaction. */
  exportSnapshot(): never {
    throw new Error('exportSnapshot is not available inside a transaction');
  }
  importSnapshot(): never {
    throw new Error('importSnapshot is not available inside a transaction');
  }

  /** The store closes; an operations object holds nothing. */
  async close(): Promise<void> {}
}
