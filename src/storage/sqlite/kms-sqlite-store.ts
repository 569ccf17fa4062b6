/** The KMS store on SQLite (better-sqlite3 12.x): the embedded default, one database file per region. */
import type { KeyRecord, KeyVersionRecord } from '../../core/key.js';
import { DuplicateAliasError, DuplicateKeystoreError, type AliasRecord, type GrantRecord, type ImportParametersRecord, type KeyFilter, type KeyPage, type KeyTag, type KmsStore, type NewOutboxMessage, type OutboxMessage, type OutboxStats } from '../kms-store.js';
import type { AuditAnchor, AuditEntry, AuditQuery, AuditSeal } from '../../audit/audit-store.js';
import { SqliteAuditTables } from './audit-tables.js';
import { KMS_MIGRATIONS } from '../kms-migrations.js';
import { GroupCommit, Lock, openDatabase, type Db } from './database.js';
import { LruMap } from '../../lru-map.js';
import { AuditWriterThread } from './audit-writer.js';
import { exportSqliteSnapshot, importSqliteSnapshot } from './snapshot.js';
import type { StoreSnapshot } from '../snapshot.js';
import { SqliteKeySpaceTables } from './key-space-sqlite.js';
import type { AccessPointRecord, KeyPolicyRecord } from '../key-space-store.js';
import { ACQUIRE_LEASE_SQL, CLAIM_REQUEST_SQL } from '../leases.js';
import { aliasFromRow, COLUMNS, fromRow, grantFromRow, KEY_RECORD_CACHE, KEYSTORE_COLUMNS, keystoreFromRow, keystoreToRow, toRow, type AliasRow, type GrantRow, type KeyRow, type KeystoreRow, outboxFromRow, type OutboxRow } from '../kms-rows.js';
import type { KeystoreRecord } from '../../core/keystores.js';


function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** list-keys' filter; a null parameter leaves its condition out (one statement, prepared once). */
const LIST_FILTER = `project_id = @projectId AND pending_attempt IS NULL
  AND (@state IS NULL OR state = @state) AND (@spec IS NULL OR spec = @spec)
  AND (@aliveAt IS NULL OR NOT (state = '4' AND deletion_date <= @aliveAt))`;

/** Statements of one connection; used directly inside a transaction and through the lock outside one. */
function prepareStatements(db: Db) {
  return {
    db,
    audit: new SqliteAuditTables(db),
    keySpace: new SqliteKeySpaceTables(db),
    getTags: db.prepare('SELECT tag_key AS key, tag_value AS value FROM key_tags WHERE key_id = ? ORDER BY tag_key'),
    setTag: db.prepare('INSERT INTO key_tags (key_id, tag_key, tag_value) VALUES (?, ?, ?) ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value'),
    deleteTag: db.prepare('DELETE FROM key_tags WHERE key_id = ? AND tag_key = ?'),
    projectTags: db.prepare(`SELECT t.key_id AS keyId, t.tag_key AS key, t.tag_value AS value FROM key_tags t JOIN keys k ON k.id = t.key_id
      WHERE k.project_id = ? AND k.pending_attempt IS NULL ORDER BY t.key_id, t.tag_key`),
    insertAlias: db.prepare('INSERT INTO key_aliases (domain_id, alias, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'),
    getAlias: db.prepare('SELECT * FROM key_aliases WHERE domain_id = ? AND alias = ?'),
    listAliases: db.prepare(`SELECT a.* FROM key_aliases a JOIN keys k ON k.id = a.key_id
      WHERE k.project_id = @projectId AND k.pending_attempt IS NULL AND (@keyId IS NULL OR a.key_id = @keyId) AND a.alias > @after
      ORDER BY a.alias LIMIT @limit`),
    countAliases: db.prepare('SELECT COUNT(*) AS n FROM key_aliases WHERE key_id = ?'),
    moveAlias: db.prepare('UPDATE key_aliases SET key_id = ?, updated_at = ? WHERE domain_id = ? AND alias = ?'),
    deleteAlias: db.prepare('DELETE FROM key_aliases WHERE domain_id = ? AND alias = ?'),
    insertGrant: db.prepare(`INSERT INTO grants (id, key_id, name, grantee, grantee_type, operations, issuer, retiring_principal, created_at)
      VALUES (@id, @key_id, @name, @grantee, @grantee_type, @operations, @issuer, @retiring_principal, @created_at)`),
    getGrant: db.prepare('SELECT * FROM grants WHERE id = ?'),
    listGrants: db.prepare('SELECT * FROM grants WHERE key_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?'),
    countGrants: db.prepare('SELECT COUNT(*) AS n FROM grants WHERE key_id = ?'),
    listRetirable: db.prepare(`SELECT g.* FROM grants g JOIN keys k ON k.id = g.key_id WHERE g.retiring_principal = ? AND k.pending_attempt IS NULL
      ORDER BY g.created_at, g.id LIMIT ? OFFSET ?`),
    countRetirable: db.prepare(`SELECT COUNT(*) AS n FROM grants g JOIN keys k ON k.id = g.key_id WHERE g.retiring_principal = ? AND k.pending_attempt IS NULL`),
    grantsFor: db.prepare(`SELECT * FROM grants WHERE key_id = ? AND ((grantee_type = 'user' AND grantee = ?) OR (grantee_type = 'domain' AND grantee = ?))
      ORDER BY created_at, id`),
    maxGrantsPerKey: db.prepare(`SELECT COALESCE(MAX(n), 0) AS n FROM (SELECT COUNT(*) AS n FROM grants g JOIN keys k ON k.id = g.key_id
      WHERE k.project_id = ? GROUP BY g.key_id)`),
    deleteGrant: db.prepare('DELETE FROM grants WHERE id = ?'),
    insertKeystore: db.prepare(`INSERT INTO keystores (${KEYSTORE_COLUMNS.join(', ')}) VALUES (${KEYSTORE_COLUMNS.map((c) => '@' + c).join(', ')})`),
    getKeystore: db.prepare('SELECT * FROM keystores WHERE domain_id = ? AND id = ?'),
    keystoreOfCluster: db.prepare('SELECT * FROM keystores WHERE hsm_cluster_id = ?'),
    listKeystores: db.prepare('SELECT * FROM keystores WHERE domain_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?'),
    countKeystores: db.prepare('SELECT COUNT(*) AS n FROM keystores WHERE domain_id = ?'),
    setKeystoreState: db.prepare('UPDATE keystores SET state = ? WHERE id = ?'),
    setKeystorePin: db.prepare('UPDATE keystores SET pin_hash = ? WHERE id = ?'),
    deleteKeystore: db.prepare('DELETE FROM keystores WHERE id = ?'),
    countKeystoreKeys: db.prepare(`SELECT COUNT(*) AS n FROM keys WHERE keystore_id = ? AND keystore_id <> '0'`),
    getKey: db.prepare('SELECT * FROM keys WHERE project_id = ? AND id = ?'),
    insertKey: db.prepare(`INSERT INTO keys (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')})`),
    updateKey: db.prepare(
      `UPDATE keys SET ${COLUMNS.filter((c) => c !== 'id' && c !== 'revision').map((c) => `${c} = @${c}`).join(', ')},
         revision = @revision + 1 WHERE id = @id AND revision = @revision`,
    ),
    insertVersion: db.prepare('INSERT INTO key_versions (key_id, version, wrapped, created_at) VALUES (?, ?, ?, ?)'),
    getVersion: db.prepare('SELECT * FROM key_versions WHERE key_id = ? AND version = ?'),
    deleteVersions: db.prepare('DELETE FROM key_versions WHERE key_id = ?'),
    deleteKey: db.prepare('DELETE FROM keys WHERE id = ?'),
    countKeys: db.prepare('SELECT COALESCE((SELECT n FROM project_key_counts WHERE project_id = ?), 0) AS n'),
    dueForDeletion: db.prepare("SELECT * FROM keys WHERE state = '4' AND deletion_date <= ?"),
    getKeyById: db.prepare('SELECT * FROM keys WHERE id = ?'),
    countFiltered: db.prepare(`SELECT COUNT(*) AS n FROM keys WHERE ${LIST_FILTER}`),
    // The page's ids from the index, then their rows: the skipped keys are never read from the table.
    listFiltered: db.prepare(`SELECT k.* FROM keys k JOIN (SELECT id FROM keys WHERE ${LIST_FILTER} ORDER BY created_at, id LIMIT @limit OFFSET @offset) page
      ON page.id = k.id ORDER BY k.created_at, k.id`),
    listNewest: db.prepare(`SELECT k.* FROM keys k JOIN (SELECT id FROM keys WHERE ${LIST_FILTER} ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset) page
      ON page.id = k.id ORDER BY k.created_at DESC, k.id DESC`),
    insertVersionIfAbsent: db.prepare('INSERT OR IGNORE INTO key_versions (key_id, version, wrapped, created_at) VALUES (?, ?, ?, ?)'),
    versionNumbers: db.prepare('SELECT version FROM key_versions WHERE key_id = ? ORDER BY version'),
    dueForRotation: db.prepare(
      `SELECT * FROM keys INDEXED BY keys_rotating WHERE rotation_enabled = 1 AND pending_attempt IS NULL AND handover_to IS NULL
         AND (primary_region IS NULL OR primary_region = region) AND state IN ('2', '3')
         AND COALESCE(last_rotation_at, created_at) + rotation_interval_days * 86400000 <= ?`,
    ),
    enqueue: db.prepare('INSERT INTO outbox (target, kind, key_id, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    dueMessages: db.prepare('SELECT * FROM outbox WHERE next_attempt_at <= ? ORDER BY id LIMIT ?'),
    outboxStats: db.prepare('SELECT target, count(*) AS messages, min(created_at) AS oldest FROM outbox GROUP BY target ORDER BY target'),
    completeMessage: db.prepare('DELETE FROM outbox WHERE id = ?'),
    retryMessage: db.prepare('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?'),
    getSetting: db.prepare('SELECT value FROM settings WHERE name = ?'),
    putSetting: db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)'),
    replaceSetting: db.prepare('UPDATE settings SET value = ? WHERE name = ? AND value = ?'),
    deleteSettingIf: db.prepare('DELETE FROM settings WHERE name = ? AND value = ?'),
    versionBlobs: db.prepare(`SELECT key_id, version, wrapped FROM key_versions
      WHERE key_id > @keyId OR (key_id = @keyId AND version > @version) ORDER BY key_id, version LIMIT @limit`),
    countVersions: db.prepare('SELECT COUNT(*) AS n FROM key_versions'),
    replaceVersionBlob: db.prepare('UPDATE key_versions SET wrapped = ? WHERE key_id = ? AND version = ? AND wrapped = ?'),
    listImportParameters: db.prepare('SELECT * FROM import_parameters ORDER BY key_id'),
    replaceImportWrappingKey: db.prepare('UPDATE import_parameters SET wrapping_key = ? WHERE key_id = ? AND wrapping_key = ?'),
    expiredMaterial: db.prepare(
      `SELECT * FROM keys INDEXED BY keys_material_expiry WHERE state IN ('2', '3') AND pending_attempt IS NULL
         AND material_expires_at IS NOT NULL AND material_expires_at <= ?`,
    ),
    putImportParameters: db.prepare(
      `INSERT OR REPLACE INTO import_parameters (key_id, token_id, wrapping_algorithm, wrapping_key, expires_at)
         VALUES (?, ?, ?, ?, ?)`,
    ),
    getImportParameters: db.prepare('SELECT * FROM import_parameters WHERE key_id = ?'),
    deleteImportParameters: db.prepare('DELETE FROM import_parameters WHERE key_id = ?'),
    deleteExpiredImportParameters: db.prepare('DELETE FROM import_parameters WHERE expires_at <= ?'),
    acquireLease: db.prepare(ACQUIRE_LEASE_SQL((i) => ['@name', '@holder', '@now', '@until'][i - 1]!)),
    releaseLease: db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?'),
    claimRequest: db.prepare(CLAIM_REQUEST_SQL((i) => ['@signature', '@now', '@expiresAt'][i - 1]!)),
    releaseRequest: db.prepare('DELETE FROM applied_requests WHERE signature = ?'),
    purgeRequests: db.prepare('DELETE FROM applied_requests WHERE expires_at <= ?'),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

class SqliteOps implements KmsStore {
  constructor(
    protected readonly s: Statements,
    private readonly onTransaction: <T>(fn: (store: KmsStore) => Promise<T>) => Promise<T>,
    /** Called with the id of every key row written (inserted, updated or deleted), in a transaction or not. */
    private readonly keyChanged: (keyId: string) => void,
  ) {}

  async getKey(projectId: string, keyId: string): Promise<KeyRecord | null> {
    const row = this.s.getKey.get(projectId, keyId) as KeyRow | undefined;
    return row ? fromRow(row) : null;
  }

  async listKeys(projectId: string, filter: KeyFilter, offset: number, limit: number): Promise<KeyPage> {
    const params = { projectId, state: filter.state ?? null, spec: filter.spec ?? null, aliveAt: filter.aliveAt ?? null };
    const total = (this.s.countFiltered.get(params) as { n: number }).n;
    const rows = this.s.listFiltered.all({ ...params, limit, offset }) as KeyRow[];
    return { keys: rows.map(fromRow), total };
  }

  async listNewestKeys(projectId: string, filter: KeyFilter, before: number | undefined, limit: number): Promise<KeyPage & { start: number }> {
    const params = { projectId, state: filter.state ?? null, spec: filter.spec ?? null, aliveAt: filter.aliveAt ?? null };
    const total = (this.s.countFiltered.get(params) as { n: number }).n;
    const end = Math.min(before ?? total, total);
    const start = Math.max(0, end - limit);
    const rows = end > start ? (this.s.listNewest.all({ ...params, limit: end - start, offset: total - end }) as KeyRow[]) : [];
    return { keys: rows.map(fromRow), total, start };
  }

  async countKeys(projectId: string): Promise<number> {
    return (this.s.countKeys.get(projectId) as { n: number }).n;
  }

  async insertKey(key: KeyRecord, firstVersion: KeyVersionRecord | null): Promise<void> {
    this.keyChanged(key.id);
    try {
      this.s.db.transaction(() => {
        this.s.insertKey.run(toRow(key));
        if (firstVersion) this.s.insertVersion.run(firstVersion.keyId, firstVersion.version, firstVersion.wrapped, firstVersion.createdAt);
      })();
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateAliasError();
      throw err;
    }
  }

  async updateKey(key: KeyRecord, expectedRevision: number): Promise<boolean> {
    this.keyChanged(key.id);
    try {
      return this.s.updateKey.run({ ...toRow(key), revision: expectedRevision }).changes === 1;
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateAliasError();
      throw err;
    }
  }

  async getVersion(keyId: string, version: number): Promise<KeyVersionRecord | null> {
    const row = this.s.getVersion.get(keyId, version) as { key_id: string; version: number; wrapped: Buffer; created_at: number } | undefined;
    return row ? { keyId: row.key_id, version: row.version, wrapped: row.wrapped, createdAt: row.created_at } : null;
  }

  async insertVersion(v: KeyVersionRecord): Promise<boolean> {
    return this.s.insertVersionIfAbsent.run(v.keyId, v.version, v.wrapped, v.createdAt).changes === 1;
  }

  async versionNumbers(keyId: string): Promise<number[]> {
    return (this.s.versionNumbers.all(keyId) as { version: number }[]).map((r) => r.version);
  }

  async getKeyById(keyId: string): Promise<KeyRecord | null> {
    const row = this.s.getKeyById.get(keyId) as KeyRow | undefined;
    return row ? fromRow(row) : null;
  }

  async keysDueForRotation(now: number): Promise<KeyRecord[]> {
    return (this.s.dueForRotation.all(now) as KeyRow[]).map(fromRow);
  }

  async outboxStats(): Promise<OutboxStats[]> {
    return (this.s.outboxStats.all() as { target: string; messages: number; oldest: number }[]).map((r) => ({ target: r.target, messages: r.messages, oldestCreatedAt: r.oldest }));
  }

  async enqueue(m: NewOutboxMessage): Promise<void> {
    this.s.enqueue.run(m.target, m.kind, m.keyId, JSON.stringify(m.payload), m.nextAttemptAt, Date.now());
  }

  async dueMessages(now: number, limit: number): Promise<OutboxMessage[]> {
    return (this.s.dueMessages.all(now, limit) as OutboxRow[]).map(outboxFromRow);
  }

  async completeMessage(id: number): Promise<void> {
    this.s.completeMessage.run(id);
  }

  async retryMessage(id: number, nextAttemptAt: number, error: string): Promise<void> {
    this.s.retryMessage.run(nextAttemptAt, error.slice(0, 500), id);
  }

  async getSetting(name: string): Promise<Buffer | null> {
    const row = this.s.getSetting.get(name) as { value: Buffer } | undefined;
    return row ? row.value : null;
  }

  async putSettingIfAbsent(name: string, value: Buffer): Promise<Buffer> {
    this.s.putSetting.run(name, value);
    return (await this.getSetting(name))!;
  }

  async replaceSetting(name: string, expected: Buffer | null, replacement: Buffer | null): Promise<boolean> {
    if (expected === null) return replacement === null ? (await this.getSetting(name)) === null : this.s.putSetting.run(name, replacement).changes === 1;
    if (replacement === null) return this.s.deleteSettingIf.run(name, expected).changes === 1;
    return this.s.replaceSetting.run(replacement, name, expected).changes === 1;
  }

  async listVersionBlobs(after: { keyId: string; version: number } | null, limit: number) {
    const rows = this.s.versionBlobs.all({ keyId: after?.keyId ?? '', version: after?.version ?? -1, limit }) as { key_id: string; version: number; wrapped: Buffer }[];
    return rows.map((r) => ({ keyId: r.key_id, version: r.version, wrapped: r.wrapped }));
  }

  async countVersions(): Promise<number> {
    return (this.s.countVersions.get() as { n: number }).n;
  }

  async replaceVersionBlob(keyId: string, version: number, expected: Buffer, replacement: Buffer): Promise<boolean> {
    return this.s.replaceVersionBlob.run(replacement, keyId, version, expected).changes === 1;
  }

  async listImportParameters(): Promise<ImportParametersRecord[]> {
    return (this.s.listImportParameters.all() as { key_id: string; token_id: string; wrapping_algorithm: string; wrapping_key: Buffer; expires_at: number }[])
      .map((row) => ({ keyId: row.key_id, tokenId: row.token_id, wrappingAlgorithm: row.wrapping_algorithm, wrappingKey: row.wrapping_key, expiresAt: row.expires_at }));
  }

  async replaceImportWrappingKey(keyId: string, expected: Buffer, replacement: Buffer): Promise<boolean> {
    return this.s.replaceImportWrappingKey.run(replacement, keyId, expected).changes === 1;
  }

  async deleteKey(keyId: string): Promise<void> {
    this.keyChanged(keyId);
    this.s.db.transaction(() => {
      this.s.deleteVersions.run(keyId);
      this.s.deleteKey.run(keyId);
    })();
  }

  async keysDueForDeletion(now: number): Promise<KeyRecord[]> {
    return (this.s.dueForDeletion.all(now) as KeyRow[]).map(fromRow);
  }

  async deleteVersions(keyId: string): Promise<void> {
    this.s.deleteVersions.run(keyId);
  }

  async keysWithExpiredMaterial(now: number): Promise<KeyRecord[]> {
    return (this.s.expiredMaterial.all(now) as KeyRow[]).map(fromRow);
  }

  async putImportParameters(p: ImportParametersRecord): Promise<void> {
    this.s.putImportParameters.run(p.keyId, p.tokenId, p.wrappingAlgorithm, p.wrappingKey, p.expiresAt);
  }

  async getImportParameters(keyId: string): Promise<ImportParametersRecord | null> {
    const row = this.s.getImportParameters.get(keyId) as
      | { key_id: string; token_id: string; wrapping_algorithm: string; wrapping_key: Buffer; expires_at: number }
      | undefined;
    return row
      ? { keyId: row.key_id, tokenId: row.token_id, wrappingAlgorithm: row.wrapping_algorithm, wrappingKey: row.wrapping_key, expiresAt: row.expires_at }
      : null;
  }

  async deleteImportParameters(keyId: string): Promise<void> {
    this.s.deleteImportParameters.run(keyId);
  }

  async deleteExpiredImportParameters(now: number): Promise<number> {
    return this.s.deleteExpiredImportParameters.run(now).changes;
  }

  transaction<T>(fn: (store: KmsStore) => Promise<T>): Promise<T> {
    return this.onTransaction(fn);
  }

  async getTags(keyId: string): Promise<KeyTag[]> {
    return this.s.getTags.all(keyId) as KeyTag[];
  }
  async changeTags(keyId: string, set: readonly KeyTag[], remove: readonly string[]): Promise<void> {
    this.s.db.transaction(() => {
      for (const k of remove) this.s.deleteTag.run(keyId, k);
      for (const t of set) this.s.setTag.run(keyId, t.key, t.value);
    })();
  }
  async projectTags(projectId: string): Promise<(KeyTag & { keyId: string })[]> {
    return this.s.projectTags.all(projectId) as (KeyTag & { keyId: string })[];
  }

  async insertAlias(a: AliasRecord): Promise<void> {
    try {
      this.s.insertAlias.run(a.domainId, a.alias, a.keyId, a.createdAt, a.updatedAt);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || isUniqueViolation(err)) throw new DuplicateAliasError();
      throw err;
    }
  }
  async getAlias(domainId: string, alias: string): Promise<AliasRecord | null> {
    const row = this.s.getAlias.get(domainId, alias) as AliasRow | undefined;
    return row ? aliasFromRow(row) : null;
  }
  async listAliases(projectId: string, keyId: string | undefined, after: string, limit: number): Promise<AliasRecord[]> {
    return (this.s.listAliases.all({ projectId, keyId: keyId ?? null, after, limit }) as AliasRow[]).map(aliasFromRow);
  }
  async countAliases(keyId: string): Promise<number> {
    return (this.s.countAliases.get(keyId) as { n: number }).n;
  }
  async moveAlias(domainId: string, alias: string, keyId: string, updatedAt: number): Promise<boolean> {
    return this.s.moveAlias.run(keyId, updatedAt, domainId, alias).changes === 1;
  }
  async deleteAliases(domainId: string, aliases: readonly string[]): Promise<void> {
    this.s.db.transaction(() => {
      for (const a of aliases) this.s.deleteAlias.run(domainId, a);
    })();
  }
  async insertKeystore(k: KeystoreRecord): Promise<void> {
    try {
      this.s.insertKeystore.run(keystoreToRow(k));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || isUniqueViolation(err)) throw new DuplicateKeystoreError();
      throw err;
    }
  }
  async getKeystore(domainId: string, keystoreId: string): Promise<KeystoreRecord | null> {
    const row = this.s.getKeystore.get(domainId, keystoreId) as KeystoreRow | undefined;
    return row ? keystoreFromRow(row) : null;
  }
  async keystoreOfCluster(hsmClusterId: string): Promise<KeystoreRecord | null> {
    const row = this.s.keystoreOfCluster.get(hsmClusterId) as KeystoreRow | undefined;
    return row ? keystoreFromRow(row) : null;
  }
  async listKeystores(domainId: string, offset: number, limit: number): Promise<{ keystores: KeystoreRecord[]; total: number }> {
    return this.s.db.transaction(() => ({
      keystores: (this.s.listKeystores.all(domainId, limit, offset) as KeystoreRow[]).map(keystoreFromRow),
      total: (this.s.countKeystores.get(domainId) as { n: number }).n,
    }))();
  }
  async setKeystoreState(keystoreId: string, state: KeystoreRecord['state']): Promise<boolean> {
    return this.s.setKeystoreState.run(state, keystoreId).changes === 1;
  }
  async setKeystorePin(keystoreId: string, pinHash: string): Promise<boolean> {
    return this.s.setKeystorePin.run(pinHash, keystoreId).changes === 1;
  }
  async deleteKeystore(keystoreId: string): Promise<boolean> {
    return this.s.deleteKeystore.run(keystoreId).changes === 1;
  }
  async countKeystoreKeys(keystoreId: string): Promise<number> {
    return (this.s.countKeystoreKeys.get(keystoreId) as { n: number }).n;
  }
  async insertGrant(g: GrantRecord): Promise<void> {
    this.s.insertGrant.run({
      id: g.id, key_id: g.keyId, name: g.name, grantee: g.grantee, grantee_type: g.granteeType, operations: JSON.stringify(g.operations),
      issuer: g.issuer, retiring_principal: g.retiringPrincipal, created_at: g.createdAt,
    });
  }
  async getGrant(grantId: string): Promise<GrantRecord | null> {
    const row = this.s.getGrant.get(grantId) as GrantRow | undefined;
    return row ? grantFromRow(row) : null;
  }
  async listGrants(keyId: string, offset: number, limit: number): Promise<{ grants: GrantRecord[]; total: number }> {
    const total = (this.s.countGrants.get(keyId) as { n: number }).n;
    return { grants: (this.s.listGrants.all(keyId, limit, offset) as GrantRow[]).map(grantFromRow), total };
  }
  async listRetirableGrants(principal: string, offset: number, limit: number): Promise<{ grants: GrantRecord[]; total: number }> {
    const total = (this.s.countRetirable.get(principal) as { n: number }).n;
    return { grants: (this.s.listRetirable.all(principal, limit, offset) as GrantRow[]).map(grantFromRow), total };
  }
  async grantsFor(keyId: string, userId: string, domainId: string): Promise<GrantRecord[]> {
    return (this.s.grantsFor.all(keyId, userId, domainId) as GrantRow[]).map(grantFromRow);
  }
  async countGrants(keyId: string): Promise<number> {
    return (this.s.countGrants.get(keyId) as { n: number }).n;
  }
  async maxGrantsPerKey(projectId: string): Promise<number> {
    return (this.s.maxGrantsPerKey.get(projectId) as { n: number }).n;
  }
  async deleteGrant(grantId: string): Promise<void> {
    this.s.deleteGrant.run(grantId);
  }

  async appendAudit(pending: readonly AuditEntry[], records: readonly AuditEntry[], seal: AuditSeal): Promise<void> {
    this.s.audit.append(pending, records, seal);
  }
  async pendingAudit() {
    return this.s.audit.pending();
  }
  async auditRecords(query: AuditQuery) {
    return this.s.audit.records(query);
  }
  async auditAnchor() {
    return this.s.audit.anchor();
  }
  async pruneAudit(anchor: AuditAnchor) {
    return this.s.audit.prune(anchor);
  }

  async acquireLease(name: string, holder: string, now: number, until: number): Promise<boolean> {
    return this.s.acquireLease.get({ name, holder, now, until }) !== undefined;
  }
  async releaseLease(name: string, holder: string): Promise<void> {
    this.s.releaseLease.run(name, holder);
  }
  async claimRequest(signature: string, now: number, expiresAt: number): Promise<boolean> {
    return this.s.claimRequest.get({ signature, now, expiresAt }) !== undefined;
  }
  async releaseRequest(signature: string): Promise<void> {
    this.s.releaseRequest.run(signature);
  }
  async purgeRequests(now: number): Promise<number> {
    return this.s.purgeRequests.run(now).changes;
  }
  async insertAccessPoint(ap: AccessPointRecord): Promise<void> { this.s.keySpace.insertAccessPoint(ap); }
  async getAccessPoint(projectId: string, id: string) { return this.s.keySpace.getAccessPoint(projectId, id); }
  async accessPointByPublicKey(projectId: string, spki: Buffer) { return this.s.keySpace.accessPointByPublicKey(projectId, spki); }
  async listAccessPoints(projectId: string, keyspaceId: string, after: string, limit: number) { return this.s.keySpace.listAccessPoints(projectId, keyspaceId, after, limit); }
  async setAccessPointState(projectId: string, id: string, state: 0 | 1, updatedAt: number) { return this.s.keySpace.setAccessPointState(projectId, id, state, updatedAt); }
  async deleteAccessPoint(projectId: string, id: string) { return this.s.keySpace.deleteAccessPoint(projectId, id); }
  async listAccessPointKeys() { return this.s.keySpace.listAccessPointKeys(); }
  async replaceAccessPointKey(id: string, expected: Buffer, replacement: Buffer) { return this.s.keySpace.replaceAccessPointKey(id, expected, replacement); }
  async insertKeyPolicy(k: KeyPolicyRecord): Promise<void> { this.s.keySpace.insertKeyPolicy(k); }
  async getKeyPolicy(projectId: string, id: string) { return this.s.keySpace.getKeyPolicy(projectId, id); }
  async listKeyPolicies(projectId: string, keyspaceId: string, after: string, limit: number) { return this.s.keySpace.listKeyPolicies(projectId, keyspaceId, after, limit); }
  async updateKeyPolicy(projectId: string, id: string, document: string, description: string | undefined, updatedAt: number) { return this.s.keySpace.updateKeyPolicy(projectId, id, document, description, updatedAt); }
  async deleteKeyPolicy(projectId: string, id: string) { return this.s.keySpace.deleteKeyPolicy(projectId, id); }
  async touchKeyPolicy(id: string, at: number): Promise<void> { this.s.keySpace.touchKeyPolicy(id, at); }
  /** One process writes a SQLite database: no other node changes its keys. */
  onKeyChanged(): void {}
  /** Snapshots are of the whole store, never from inside a transaction. */
  exportSnapshot(): never {
    throw new Error('exportSnapshot is not available inside a transaction');
  }
  importSnapshot(): never {
    throw new Error('importSnapshot is not available inside a transaction');
  }

  async close(): Promise<void> {}
}

export { KEY_RECORD_CACHE };

/** Opens (creating and migrating) the region database at `path`. */
export class SqliteKmsStore implements KmsStore {
  readonly #db: Db;
  readonly #lock = new Lock();
  readonly #ops: SqliteOps;
  /** Committed key records by id, shared by every caller: the hot path reads a key without SQL. */
  readonly #keys = new LruMap<string, Readonly<KeyRecord>>(KEY_RECORD_CACHE);
  readonly #auditWriter: AuditWriterThread;

  constructor(path: string) {
    this.#db = openDatabase(path, KMS_MIGRATIONS);
    this.#auditWriter = new AuditWriterThread(path);
    const statements = prepareStatements(this.#db);
    const changed = (keyId: string) => this.#keys.delete(keyId);
    const nested: SqliteOps = new SqliteOps(statements, <T>(fn: (store: KmsStore) => Promise<T>): Promise<T> => fn(nested), changed); // already inside the transaction
    const group = new GroupCommit(this.#db, this.#lock);
    this.#ops = new SqliteOps(statements, (fn) => group.run(() => fn(nested)), changed);
  }

  /**
   * A key record by id: from the cache of committed records, or read (under the lock, so never a transaction's
   * uncommitted state) and remembered. A write to the key's row, in a transaction or not, drops it first.
   */
  #cachedKey(keyId: string): Promise<KeyRecord | null> {
    const hit = this.#keys.get(keyId);
    if (hit !== undefined) return Promise.resolve(hit);
    return this.#locked(async (o) => {
      const key = await o.getKeyById(keyId);
      if (key) this.#keys.set(keyId, Object.freeze({ ...key, replicas: Object.freeze([...key.replicas]) as KeyRecord['replicas'] }));
      return this.#keys.get(keyId) ?? null;
    });
  }

  #locked<T>(fn: (ops: SqliteOps) => Promise<T>): Promise<T> {
    return this.#lock.run(() => fn(this.#ops));
  }

  async getKey(projectId: string, keyId: string) {
    const key = await this.#cachedKey(keyId);
    return key !== null && key.projectId === projectId ? key : null;
  }
  listKeys(projectId: string, filter: KeyFilter, offset: number, limit: number) { return this.#locked((o) => o.listKeys(projectId, filter, offset, limit)); }
  listNewestKeys(projectId: string, filter: KeyFilter, before: number | undefined, limit: number) { return this.#locked((o) => o.listNewestKeys(projectId, filter, before, limit)); }
  countKeys(projectId: string) { return this.#locked((o) => o.countKeys(projectId)); }
  insertKey(key: KeyRecord, v: KeyVersionRecord | null) { return this.#locked((o) => o.insertKey(key, v)); }
  updateKey(key: KeyRecord, expectedRevision: number) { return this.#locked((o) => o.updateKey(key, expectedRevision)); }
  getVersion(keyId: string, version: number) { return this.#locked((o) => o.getVersion(keyId, version)); }
  deleteKey(keyId: string) { return this.#locked((o) => o.deleteKey(keyId)); }
  keysDueForDeletion(now: number) { return this.#locked((o) => o.keysDueForDeletion(now)); }
  insertVersion(v: KeyVersionRecord) { return this.#locked((o) => o.insertVersion(v)); }
  versionNumbers(keyId: string) { return this.#locked((o) => o.versionNumbers(keyId)); }
  getKeyById(keyId: string) { return this.#cachedKey(keyId); }
  keysDueForRotation(now: number) { return this.#locked((o) => o.keysDueForRotation(now)); }
  enqueue(m: NewOutboxMessage) { return this.#locked((o) => o.enqueue(m)); }
  outboxStats() { return this.#locked((o) => o.outboxStats()); }
  dueMessages(now: number, limit: number) { return this.#locked((o) => o.dueMessages(now, limit)); }
  completeMessage(id: number) { return this.#locked((o) => o.completeMessage(id)); }
  retryMessage(id: number, at: number, error: string) { return this.#locked((o) => o.retryMessage(id, at, error)); }
  getSetting(name: string) { return this.#locked((o) => o.getSetting(name)); }
  putSettingIfAbsent(name: string, value: Buffer) { return this.#locked((o) => o.putSettingIfAbsent(name, value)); }
  replaceSetting(name: string, expected: Buffer | null, replacement: Buffer | null) { return this.#locked((o) => o.replaceSetting(name, expected, replacement)); }
  listVersionBlobs(after: { keyId: string; version: number } | null, limit: number) { return this.#locked((o) => o.listVersionBlobs(after, limit)); }
  countVersions() { return this.#locked((o) => o.countVersions()); }
  replaceVersionBlob(keyId: string, version: number, expected: Buffer, replacement: Buffer) { return this.#locked((o) => o.replaceVersionBlob(keyId, version, expected, replacement)); }
  listImportParameters() { return this.#locked((o) => o.listImportParameters()); }
  replaceImportWrappingKey(keyId: string, expected: Buffer, replacement: Buffer) { return this.#locked((o) => o.replaceImportWrappingKey(keyId, expected, replacement)); }
  deleteVersions(keyId: string) { return this.#locked((o) => o.deleteVersions(keyId)); }
  keysWithExpiredMaterial(now: number) { return this.#locked((o) => o.keysWithExpiredMaterial(now)); }
  putImportParameters(p: ImportParametersRecord) { return this.#locked((o) => o.putImportParameters(p)); }
  getImportParameters(keyId: string) { return this.#locked((o) => o.getImportParameters(keyId)); }
  deleteImportParameters(keyId: string) { return this.#locked((o) => o.deleteImportParameters(keyId)); }
  deleteExpiredImportParameters(now: number) { return this.#locked((o) => o.deleteExpiredImportParameters(now)); }
  transaction<T>(fn: (store: KmsStore) => Promise<T>): Promise<T> { return this.#ops.transaction(fn); }
  getTags(keyId: string) { return this.#locked((o) => o.getTags(keyId)); }
  changeTags(keyId: string, set: readonly KeyTag[], remove: readonly string[]) { return this.#locked((o) => o.changeTags(keyId, set, remove)); }
  projectTags(projectId: string) { return this.#locked((o) => o.projectTags(projectId)); }
  insertAlias(a: AliasRecord) { return this.#locked((o) => o.insertAlias(a)); }
  getAlias(domainId: string, alias: string) { return this.#locked((o) => o.getAlias(domainId, alias)); }
  listAliases(projectId: string, keyId: string | undefined, after: string, limit: number) { return this.#locked((o) => o.listAliases(projectId, keyId, after, limit)); }
  countAliases(keyId: string) { return this.#locked((o) => o.countAliases(keyId)); }
  moveAlias(domainId: string, alias: string, keyId: string, updatedAt: number) { return this.#locked((o) => o.moveAlias(domainId, alias, keyId, updatedAt)); }
  deleteAliases(domainId: string, aliases: readonly string[]) { return this.#locked((o) => o.deleteAliases(domainId, aliases)); }
  insertGrant(g: GrantRecord) { return this.#locked((o) => o.insertGrant(g)); }
  getGrant(grantId: string) { return this.#locked((o) => o.getGrant(grantId)); }
  listGrants(keyId: string, offset: number, limit: number) { return this.#locked((o) => o.listGrants(keyId, offset, limit)); }
  listRetirableGrants(principal: string, offset: number, limit: number) { return this.#locked((o) => o.listRetirableGrants(principal, offset, limit)); }
  grantsFor(keyId: string, userId: string, domainId: string) { return this.#locked((o) => o.grantsFor(keyId, userId, domainId)); }
  countGrants(keyId: string) { return this.#locked((o) => o.countGrants(keyId)); }
  maxGrantsPerKey(projectId: string) { return this.#locked((o) => o.maxGrantsPerKey(projectId)); }
  deleteGrant(grantId: string) { return this.#locked((o) => o.deleteGrant(grantId)); }
  insertKeystore(k: KeystoreRecord) { return this.#locked((o) => o.insertKeystore(k)); }
  getKeystore(domainId: string, keystoreId: string) { return this.#locked((o) => o.getKeystore(domainId, keystoreId)); }
  keystoreOfCluster(hsmClusterId: string) { return this.#locked((o) => o.keystoreOfCluster(hsmClusterId)); }
  listKeystores(domainId: string, offset: number, limit: number) { return this.#locked((o) => o.listKeystores(domainId, offset, limit)); }
  setKeystoreState(keystoreId: string, state: KeystoreRecord['state']) { return this.#locked((o) => o.setKeystoreState(keystoreId, state)); }
  setKeystorePin(keystoreId: string, pinHash: string) { return this.#locked((o) => o.setKeystorePin(keystoreId, pinHash)); }
  deleteKeystore(keystoreId: string) { return this.#locked((o) => o.deleteKeystore(keystoreId)); }
  countKeystoreKeys(keystoreId: string) { return this.#locked((o) => o.countKeystoreKeys(keystoreId)); }
  /** On the audit writer thread (audit-writer.ts), outside the store's lock: the commit's fsync stops no request. */
  appendAudit(pending: readonly AuditEntry[], records: readonly AuditEntry[], seal: AuditSeal) { return this.#auditWriter.append(pending, records, seal); }
  pendingAudit() { return this.#locked((o) => o.pendingAudit()); }
  auditRecords(query: AuditQuery) { return this.#locked((o) => o.auditRecords(query)); }
  auditAnchor() { return this.#locked((o) => o.auditAnchor()); }
  pruneAudit(anchor: AuditAnchor) { return this.#locked((o) => o.pruneAudit(anchor)); }
  acquireLease(name: string, holder: string, now: number, until: number) { return this.#locked((o) => o.acquireLease(name, holder, now, until)); }
  releaseLease(name: string, holder: string) { return this.#locked((o) => o.releaseLease(name, holder)); }
  /** In a group-committed transaction: concurrent claims share one durable commit. */
  claimRequest(signature: string, now: number, expiresAt: number) { return this.#ops.transaction((tx) => tx.claimRequest(signature, now, expiresAt)); }
  releaseRequest(signature: string) { return this.#ops.transaction((tx) => tx.releaseRequest(signature)); }
  purgeRequests(now: number) { return this.#locked((o) => o.purgeRequests(now)); }
  insertAccessPoint(ap: AccessPointRecord) { return this.#locked((o) => o.insertAccessPoint(ap)); }
  getAccessPoint(projectId: string, id: string) { return this.#locked((o) => o.getAccessPoint(projectId, id)); }
  accessPointByPublicKey(projectId: string, spki: Buffer) { return this.#locked((o) => o.accessPointByPublicKey(projectId, spki)); }
  listAccessPoints(projectId: string, keyspaceId: string, after: string, limit: number) { return this.#locked((o) => o.listAccessPoints(projectId, keyspaceId, after, limit)); }
  setAccessPointState(projectId: string, id: string, state: 0 | 1, updatedAt: number) { return this.#locked((o) => o.setAccessPointState(projectId, id, state, updatedAt)); }
  deleteAccessPoint(projectId: string, id: string) { return this.#locked((o) => o.deleteAccessPoint(projectId, id)); }
  listAccessPointKeys() { return this.#locked((o) => o.listAccessPointKeys()); }
  replaceAccessPointKey(id: string, expected: Buffer, replacement: Buffer) { return this.#locked((o) => o.replaceAccessPointKey(id, expected, replacement)); }
  insertKeyPolicy(k: KeyPolicyRecord) { return this.#locked((o) => o.insertKeyPolicy(k)); }
  getKeyPolicy(projectId: string, id: string) { return this.#locked((o) => o.getKeyPolicy(projectId, id)); }
  listKeyPolicies(projectId: string, keyspaceId: string, after: string, limit: number) { return this.#locked((o) => o.listKeyPolicies(projectId, keyspaceId, after, limit)); }
  updateKeyPolicy(projectId: string, id: string, document: string, description: string | undefined, updatedAt: number) { return this.#locked((o) => o.updateKeyPolicy(projectId, id, document, description, updatedAt)); }
  deleteKeyPolicy(projectId: string, id: string) { return this.#locked((o) => o.deleteKeyPolicy(projectId, id)); }
  touchKeyPolicy(id: string, at: number) { return this.#locked((o) => o.touchKeyPolicy(id, at)); }
  onKeyChanged(): void {}
  /** Read on this store's connection, under its lock, in one read transaction (storage/sqlite/snapshot.ts). */
  exportSnapshot() { return this.#lock.run(() => exportSqliteSnapshot(this.#db)); }
  /** Loaded under the lock in one transaction; cached key records are dropped. */
  importSnapshot(snapshot: StoreSnapshot) {
    return this.#lock.run(() => {
      importSqliteSnapshot(this.#db, snapshot, KMS_MIGRATIONS.length);
      this.#keys.clear();
    });
  }

  async close(): Promise<void> {
    await this.#auditWriter.close();
    await this.#lock.run(() => this.#db.close());
  }
}
