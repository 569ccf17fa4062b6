/**
 * The KMS store of a region on PostgreSQL: the region's schema in a shared database, written by any number of
 * stateless nodes of the region at once. It behaves as the SQLite store does (the same contract suite), with what
 * several processes on one schema need besides:
 * - transactions are SERIALIZABLE (retried whole after a serialization failure, database.ts); those of one node
 *   run one after another in the order they were asked for, as SQLite's do;
 * - every write of a key's row, versions or grants notifies the other nodes (`<schema>_keys`, payload
 *   `<node id> <key id>`) when it commits; a node drops that key from its cache and tells its `onKeyChanged`
 *   listeners, and when notifications may have been missed (the listening connection was lost) it drops its whole
 *   cache, tells them `null`, and reads every key from the database until it listens again;
 * - each node keeps a liveness lease (node-liveness.ts) so that others take over its pending audit entries only
 *   once it is gone (audit-tables.ts).
 */
import { randomUUID } from 'node:crypto';
import type { AuditAnchor, AuditEntry, AuditQuery, AuditSeal } from '../../audit/audit-store.js';
import type { KeyRecord, KeyVersionRecord } from '../../core/key.js';
import { LruMap } from '../../lru-map.js';
import { KMS_MIGRATIONS } from '../kms-migrations.js';
import { frozenKey, KEY_RECORD_CACHE } from '../kms-rows.js';
import type { KeystoreRecord } from '../../core/keystores.js';
import type { AliasRecord, GrantRecord, ImportParametersRecord, KeyFilter, KeyTag, KmsStore, NewOutboxMessage } from '../kms-store.js';
import { PgAuditTables } from './audit-tables.js';
import { PgDatabase, type PgListener } from './database.js';
import { PgKmsOps, type PgOpsContext } from './kms-pg-ops.js';
import { NodeLiveness } from './node-liveness.js';
import { exportPgSnapshot, importPgSnapshot } from './snapshot.js';
import type { StoreSnapshot } from '../snapshot.js';
import type { AccessPointRecord, KeyPolicyRecord } from '../key-space-store.js';

/** PostgreSQL's longest identifier (NAMEDATALEN - 1), which a NOTIFY channel name must fit. */
const MAX_IDENTIFIER = 63;

/** How a node opens its region's store. */
export interface PgKmsStoreOptions {
  /** This process's id among the nodes of the region (no whitespace); a random UUID when unset. */
  nodeId?: string;
  /** Connections in the pool (default 10), besides the one that listens for notifications. */
  poolSize?: number;
  /** Epoch milliseconds, for the node's liveness lease and for telling lapsed leases of other nodes (default Date.now). */
  clock?: () => number;
  /** How long this node's liveness lease outlives its last renewal (milliseconds, default 30 s). */
  nodeLeaseMs?: number;
}

/**
 * One node's KmsStore on a region's PostgreSQL schema (open with `PgKmsStore.open`). Reads of a key by id
 * (getKey, getKeyById) outside transactions come from a cache of committed records (frozen, at most
 * KEY_RECORD_CACHE of them) that never holds a record older than a write this node has committed, and loses a
 * record another node changed as soon as its notification arrives; every other read goes to the database.
 */
export class PgKmsStore implements KmsStore {
  readonly #db: PgDatabase;
  readonly #liveness: NodeLiveness;
  /** Autocommit operations: each statement on the pool. */
  readonly #ops: PgKmsOps;
  readonly #ctx: PgOpsContext;
  /**
   * The end of this node's last transaction asked for: transactions of a node run one at a time in call order, as
   * SQLite's do (each sees the ones asked for before it; it also spares them serialization failures between them).
   */
  #lastTransaction: Promise<unknown> = Promise.resolve();
  /** Committed key records by id: the hot path reads a key without SQL. */
  readonly #keys = new LruMap<string, Readonly<KeyRecord>>(KEY_RECORD_CACHE);
  /**
   * Bumped by every invalidation (a write of this node, a notification, a gap): a read caches what it read only when
   * no invalidation happened while it was reading, so it never caches a record older than a change it missed.
   */
  #generation = 0;
  #listener: PgListener | null = null;
  readonly #changeListeners: ((keyId: string | null) => void)[] = [];
  #closing: Promise<void> | null = null;

  private constructor(
    db: PgDatabase,
    /** This node's id: the holder of its liveness lease and the first word of its notifications. */
    readonly nodeId: string,
    clock: () => number,
    nodeLeaseMs: number | undefined,
  ) {
    this.#db = db;
    this.#liveness = new NodeLiveness(db, nodeId, clock, nodeLeaseMs);
    this.#ctx = {
      db,
      audit: new PgAuditTables(db, nodeId, clock),
      channel: `${db.schema}_keys`,
      nodeId,
      keyWritten: (keyId) => this.#invalidate(keyId),
      transaction: (fn) => this.transaction(fn),
    };
    this.#ops = new PgKmsOps(this.#ctx, db, null);
  }

  /**
   * Connects to the database at `url` (`postgres://…`), creates the schema `schema` (`[a-z_][a-z0-9_]*`, at most 58
   * characters: the channel `<schema>_keys` must be an identifier) when missing and migrates it (nodes opening it
   * together migrate once), takes this node's liveness lease and listens for the other nodes' key changes.
   * Throws SchemaTooNewError (storage/migration.ts) when the schema was migrated by a newer Strongroom, and
   * node-postgres' errors when the database cannot be reached.
   */
  static async open(url: string, schema: string, options: PgKmsStoreOptions = {}): Promise<PgKmsStore> {
    const nodeId = options.nodeId ?? randomUUID();
    if (nodeId === '' || /\s/.test(nodeId)) throw new Error(`invalid node id ${JSON.stringify(nodeId)}: it must be a non-empty word`);
    if (`${schema}_keys`.length > MAX_IDENTIFIER) throw new Error(`schema name ${schema} is too long (at most ${MAX_IDENTIFIER - 5} characters)`);
    const db = await PgDatabase.open(url, schema, KMS_MIGRATIONS, { poolSize: options.poolSize });
    const store = new PgKmsStore(db, nodeId, options.clock ?? Date.now, options.nodeLeaseMs);
    try {
      await store.#liveness.start();
      store.#listener = await db.listen(store.#ctx.channel, (payload) => store.#notified(payload), () => store.#gap());
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    return store;
  }

  /** Drops a key's cached record (a write of this node, or another's notification). */
  #invalidate(keyId: string): void {
    this.#generation++;
    this.#keys.delete(keyId);
  }

  /** A notification `<node id> <key id>`; this node's own were invalidated locally when written. */
  #notified(payload: string): void {
    const space = payload.indexOf(' ');
    if (space <= 0 || payload.slice(0, space) === this.nodeId) return;
    const keyId = payload.slice(space + 1);
    this.#invalidate(keyId);
    this.#tell(keyId);
  }

  /** Notifications may have been missed: nothing cached can be trusted. */
  #gap(): void {
    this.#generation++;
    this.#keys.clear();
    this.#tell(null);
  }

  #tell(keyId: string | null): void {
    for (const listener of this.#changeListeners) {
      try {
        listener(keyId);
      } catch (err) {
        // A listener's failure must not stop the others, nor the notification connection.
        process.emitWarning(`onKeyChanged listener failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * A key record by id, committed: from the cache while the node hears notifications, else read (and cached when
   * nothing was invalidated meanwhile and the node still hears them). Records returned are frozen.
   */
  async #cachedKey(keyId: string): Promise<Readonly<KeyRecord> | null> {
    const listening = this.#listener?.connected() === true;
    if (listening) {
      const hit = this.#keys.get(keyId);
      if (hit !== undefined) return hit;
    }
    const generation = this.#generation;
    const key = await this.#ops.getKeyById(keyId);
    if (key === null) return null;
    const frozen = frozenKey(key);
    if (generation === this.#generation && this.#listener?.connected() === true) this.#keys.set(keyId, frozen);
    return frozen;
  }

  /** A key of a project, committed (see #cachedKey); null for another project's. */
  async getKey(projectId: string, keyId: string): Promise<KeyRecord | null> {
    const key = await this.#cachedKey(keyId);
    return key !== null && key.projectId === projectId ? key : null;
  }

  getKeyById(keyId: string): Promise<KeyRecord | null> {
    return this.#cachedKey(keyId);
  }

  /**
   * Runs `fn` in one SERIALIZABLE transaction, after this node's earlier ones; `fn` runs again after a serialization
   * failure. The keys it wrote leave the cache once it has committed, before the returned promise resolves.
   */
  transaction<T>(fn: (store: KmsStore) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const written = new Set<string>();
      try {
        return await this.#db.transaction((q) => fn(new PgKmsOps(this.#ctx, q, written)));
      } finally {
        for (const keyId of written) this.#invalidate(keyId);
      }
    };
    const result = this.#lastTransaction.then(run);
    this.#lastTransaction = result.catch(() => {});
    return result;
  }

  /** Registers a listener of the keys other nodes change (`null`: any key; see KmsStore). */
  onKeyChanged(listener: (keyId: string | null) => void): void {
    this.#changeListeners.push(listener);
  }

  /** One REPEATABLE READ, READ ONLY transaction (postgres/snapshot.ts). */
  exportSnapshot(): Promise<StoreSnapshot> {
    return exportPgSnapshot(this.#db);
  }

  /** One transaction into an empty schema; this node's cached key records are dropped. */
  async importSnapshot(snapshot: StoreSnapshot): Promise<void> {
    await importPgSnapshot(this.#db, snapshot, KMS_MIGRATIONS.length);
    this.#gap();
  }

  /** Stops listening, gives up the liveness lease and closes the pool; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#liveness.stop();
      await this.#db.close();
    })();
    return this.#closing;
  }

  listKeys(projectId: string, filter: KeyFilter, offset: number, limit: number) { return this.#ops.listKeys(projectId, filter, offset, limit); }
  listNewestKeys(projectId: string, filter: KeyFilter, before: number | undefined, limit: number) { return this.#ops.listNewestKeys(projectId, filter, before, limit); }
  countKeys(projectId: string) { return this.#ops.countKeys(projectId); }
  insertKey(key: KeyRecord, v: KeyVersionRecord | null) { return this.#ops.insertKey(key, v); }
  updateKey(key: KeyRecord, expectedRevision: number) { return this.#ops.updateKey(key, expectedRevision); }
  getVersion(keyId: string, version: number) { return this.#ops.getVersion(keyId, version); }
  insertVersion(v: KeyVersionRecord) { return this.#ops.insertVersion(v); }
  versionNumbers(keyId: string) { return this.#ops.versionNumbers(keyId); }
  keysDueForRotation(now: number) { return this.#ops.keysDueForRotation(now); }
  enqueue(m: NewOutboxMessage) { return this.#ops.enqueue(m); }
  outboxStats() { return this.#ops.outboxStats(); }
  dueMessages(now: number, limit: number) { return this.#ops.dueMessages(now, limit); }
  completeMessage(id: number) { return this.#ops.completeMessage(id); }
  retryMessage(id: number, at: number, error: string) { return this.#ops.retryMessage(id, at, error); }
  getSetting(name: string) { return this.#ops.getSetting(name); }
  putSettingIfAbsent(name: string, value: Buffer) { return this.#ops.putSettingIfAbsent(name, value); }
  replaceSetting(name: string, expected: Buffer | null, replacement: Buffer | null) { return this.#ops.replaceSetting(name, expected, replacement); }
  listVersionBlobs(after: { keyId: string; version: number } | null, limit: number) { return this.#ops.listVersionBlobs(after, limit); }
  countVersions() { return this.#ops.countVersions(); }
  replaceVersionBlob(keyId: string, version: number, expected: Buffer, replacement: Buffer) { return this.#ops.replaceVersionBlob(keyId, version, expected, replacement); }
  insertAccessPoint(ap: AccessPointRecord) { return this.#ops.insertAccessPoint(ap); }
  getAccessPoint(projectId: string, id: string) { return this.#ops.getAccessPoint(projectId, id); }
  accessPointByPublicKey(projectId: string, spki: Buffer) { return this.#ops.accessPointByPublicKey(projectId, spki); }
  listAccessPoints(projectId: string, keyspaceId: string, after: string, limit: number) { return this.#ops.listAccessPoints(projectId, keyspaceId, after, limit); }
  setAccessPointState(projectId: string, id: string, state: 0 | 1, updatedAt: number) { return this.#ops.setAccessPointState(projectId, id, state, updatedAt); }
  deleteAccessPoint(projectId: string, id: string) { return this.#ops.deleteAccessPoint(projectId, id); }
  listAccessPointKeys() { return this.#ops.listAccessPointKeys(); }
  replaceAccessPointKey(id: string, expected: Buffer, replacement: Buffer) { return this.#ops.replaceAccessPointKey(id, expected, replacement); }
  insertKeyPolicy(k: KeyPolicyRecord) { return this.#ops.insertKeyPolicy(k); }
  getKeyPolicy(projectId: string, id: string) { return this.#ops.getKeyPolicy(projectId, id); }
  listKeyPolicies(projectId: string, keyspaceId: string, after: string, limit: number) { return this.#ops.listKeyPolicies(projectId, keyspaceId, after, limit); }
  updateKeyPolicy(projectId: string, id: string, document: string, description: string | undefined, updatedAt: number) { return this.#ops.updateKeyPolicy(projectId, id, document, description, updatedAt); }
  deleteKeyPolicy(projectId: string, id: string) { return this.#ops.deleteKeyPolicy(projectId, id); }
  touchKeyPolicy(id: string, at: number) { return this.#ops.touchKeyPolicy(id, at); }
  listImportParameters() { return this.#ops.listImportParameters(); }
  replaceImportWrappingKey(keyId: string, expected: Buffer, replacement: Buffer) { return this.#ops.replaceImportWrappingKey(keyId, expected, replacement); }
  deleteKey(keyId: string) { return this.#ops.deleteKey(keyId); }
  keysDueForDeletion(now: number) { return this.#ops.keysDueForDeletion(now); }
  deleteVersions(keyId: string) { return this.#ops.deleteVersions(keyId); }
  keysWithExpiredMaterial(now: number) { return this.#ops.keysWithExpiredMaterial(now); }
  putImportParameters(ip: ImportParametersRecord) { return this.#ops.putImportParameters(ip); }
  getImportParameters(keyId: string) { return this.#ops.getImportParameters(keyId); }
  deleteImportParameters(keyId: string) { return this.#ops.deleteImportParameters(keyId); }
  deleteExpiredImportParameters(now: number) { return this.#ops.deleteExpiredImportParameters(now); }
  getTags(keyId: string) { return this.#ops.getTags(keyId); }
  changeTags(keyId: string, set: readonly KeyTag[], remove: readonly string[]) { return this.#ops.changeTags(keyId, set, remove); }
  projectTags(projectId: string) { return this.#ops.projectTags(projectId); }
  insertAlias(a: AliasRecord) { return this.#ops.insertAlias(a); }
  getAlias(domainId: string, alias: string) { return this.#ops.getAlias(domainId, alias); }
  listAliases(projectId: string, keyId: string | undefined, after: string, limit: number) { return this.#ops.listAliases(projectId, keyId, after, limit); }
  countAliases(keyId: string) { return this.#ops.countAliases(keyId); }
  moveAlias(domainId: string, alias: string, keyId: string, updatedAt: number) { return this.#ops.moveAlias(domainId, alias, keyId, updatedAt); }
  deleteAliases(domainId: string, aliases: readonly string[]) { return this.#ops.deleteAliases(domainId, aliases); }
  insertGrant(g: GrantRecord) { return this.#ops.insertGrant(g); }
  getGrant(grantId: string) { return this.#ops.getGrant(grantId); }
  listGrants(keyId: string, offset: number, limit: number) { return this.#ops.listGrants(keyId, offset, limit); }
  listRetirableGrants(principal: string, offset: number, limit: number) { return this.#ops.listRetirableGrants(principal, offset, limit); }
  grantsFor(keyId: string, userId: string, domainId: string) { return this.#ops.grantsFor(keyId, userId, domainId); }
  countGrants(keyId: string) { return this.#ops.countGrants(keyId); }
  maxGrantsPerKey(projectId: string) { return this.#ops.maxGrantsPerKey(projectId); }
  deleteGrant(grantId: string) { return this.#ops.deleteGrant(grantId); }
  insertKeystore(k: KeystoreRecord) { return this.#ops.insertKeystore(k); }
  getKeystore(domainId: string, keystoreId: string) { return this.#ops.getKeystore(domainId, keystoreId); }
  keystoreOfCluster(hsmClusterId: string) { return this.#ops.keystoreOfCluster(hsmClusterId); }
  listKeystores(domainId: string, offset: number, limit: number) { return this.#ops.listKeystores(domainId, offset, limit); }
  setKeystoreState(keystoreId: string, state: KeystoreRecord['state']) { return this.#ops.setKeystoreState(keystoreId, state); }
  setKeystorePin(keystoreId: string, pinHash: string) { return this.#ops.setKeystorePin(keystoreId, pinHash); }
  deleteKeystore(keystoreId: string) { return this.#ops.deleteKeystore(keystoreId); }
  countKeystoreKeys(keystoreId: string) { return this.#ops.countKeystoreKeys(keystoreId); }
  /** Chained after the trail's head whichever node appends (audit-tables.ts). */
  appendAudit(pending: readonly AuditEntry[], records: readonly AuditEntry[], seal: AuditSeal) { return this.#ops.appendAudit(pending, records, seal); }
  /** This node's pending entries and those of nodes whose liveness lease has lapsed. */
  pendingAudit() { return this.#ops.pendingAudit(); }
  auditRecords(query: AuditQuery) { return this.#ops.auditRecords(query); }
  auditAnchor(): Promise<AuditAnchor | null> { return this.#ops.auditAnchor(); }
  pruneAudit(anchor: AuditAnchor) { return this.#ops.pruneAudit(anchor); }
  acquireLease(name: string, holder: string, now: number, until: number) { return this.#ops.acquireLease(name, holder, now, until); }
  releaseLease(name: string, holder: string) { return this.#ops.releaseLease(name, holder); }
  claimRequest(signature: string, now: number, expiresAt: number) { return this.#ops.claimRequest(signature, now, expiresAt); }
  releaseRequest(signature: string) { return this.#ops.releaseRequest(signature); }
  purgeRequests(now: number) { return this.#ops.purgeRequests(now); }
}
