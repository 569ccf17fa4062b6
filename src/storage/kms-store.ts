/**
 * The storage contract of a KMS region. Implementations only ever see key material already wrapped by the
 * root of trust. Every implementation passes the shared contract suite in test/storage-contract.test.ts.
 */
import type { AuditStore } from '../audit/audit-store.js';
import type { KeyRecord, KeyState, KeyVersionRecord } from '../core/key.js';
import type { KeystoreRecord } from '../core/keystores.js';
import type { AppliedRequestStore, LeaseStore } from './leases.js';
import type { StoreSnapshot } from './snapshot.js';
import type { KeySpaceStore } from './key-space-store.js';

export interface KeyFilter {
  state?: KeyState;
  /** Undefined lists every spec. */
  spec?: string;
  /** Leaves out keys whose deletion date is at or before this time (destroyed, not yet swept). */
  aliveAt?: number;
}

export interface KeyPage {
  keys: KeyRecord[];
  /** Number of keys that match the filter, over all pages. */
  total: number;
}

/** A change to deliver to another region, written in the same transaction as the change itself. */
export interface OutboxMessage {
  id: number;
  /** Region to deliver to. */
  target: string;
  kind: string;
  keyId: string;
  payload: Record<string, unknown>;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  /** Epoch ms when the change was enqueued (set by the store). */
  createdAt: number;
}

/** What a caller gives to enqueue: the store numbers and dates it. */
export type NewOutboxMessage = Omit<OutboxMessage, 'id' | 'attempts' | 'lastError' | 'createdAt'>;

/** Undelivered outbox messages to one region (metrics: depth and age). */
export interface OutboxStats {
  target: string;
  messages: number;
  /** Epoch ms when the oldest of them was enqueued. */
  oldestCreatedAt: number;
}

/**
 * What get-parameters-for-import leaves behind for one key (docs/reference/huawei-kms-api.md §4 I 36): the private half
 * of the wrapping key pair, already wrapped by the root key, and the import token it answers to. At most one per key.
 */
export interface ImportParametersRecord {
  keyId: string;
  /** Identifies the import token these parameters answer to (hex). */
  tokenId: string;
  /** Huawei's wrapping_algorithm name. */
  wrappingAlgorithm: string;
  /** PKCS#8 DER private wrapping key, wrapped by the root key; never stored unwrapped. */
  wrappingKey: Buffer;
  /** Epoch milliseconds after which the token and the key are no longer accepted. */
  expiresAt: number;
}

/** A tag of a key (docs/reference/huawei-kms-api.md §3.5 TagItem). */
export interface KeyTag {
  key: string;
  value: string;
}

/**
 * An alias of a key (docs/reference/huawei-kms-api.md §4 B, the AliasEntity): unique in the account (domain) within the
 * region, pointing at one key of the account; times in epoch milliseconds.
 */
export interface AliasRecord {
  domainId: string;
  alias: string;
  keyId: string;
  createdAt: number;
  updatedAt: number;
}

/** Which grant operations a principal holds on a key (docs/reference/huawei-kms-api.md §4 J, Grants). */
export interface GrantRecord {
  /** 64 lowercase hex characters. */
  id: string;
  keyId: string;
  name: string;
  /** A user id, or an account (domain) id when `granteeType` is `domain`. */
  grantee: string;
  granteeType: 'user' | 'domain';
  /** Huawei's operation names (`encrypt-data`, `describe-key`, ...). */
  operations: string[];
  /** The user who created the grant. */
  issuer: string;
  /** The user who may retire the grant besides the issuer; '' when none. */
  retiringPrincipal: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

/**
 * Raised when a keystore's alias is already used in the account, or its HSM cluster already backs a keystore of
 * the region (the unique constraints of `keystores`).
 */
export class DuplicateKeystoreError extends Error {
  constructor() {
    super('duplicate keystore alias or HSM cluster');
    this.name = 'DuplicateKeystoreError';
  }
}

/** Raised when a key alias is already used in the account (the unique constraint of the store). */
export class DuplicateAliasError extends Error {
  constructor() {
    super('duplicate key alias');
    this.name = 'DuplicateAliasError';
  }
}

/**
 * A region's store; it also holds the region's audit trail (audit/audit-store.ts) and the leases of its background
 * jobs (storage/leases.ts). Several nodes of a region may share one store (PostgreSQL): writes of one are visible
 * to all, and `onKeyChanged` tells each node of keys another node changed.
 */
export interface KmsStore extends AuditStore, LeaseStore, AppliedRequestStore, KeySpaceStore {
  /** A key of one project, or null: keys of other projects are invisible. */
  getKey(projectId: string, keyId: string): Promise<KeyRecord | null>;
  /** Keys of a project in creation order, filtered, from `offset`, at most `limit`; unconfirmed replicas never. */
  listKeys(projectId: string, filter: KeyFilter, offset: number, limit: number): Promise<KeyPage>;
  /**
   * Keys of a project newest first, as list-keys pages them: the newest `limit` among the `before` oldest matching
   * keys (all of them when `before` is undefined), with `total` and `start`, the page's position counted from the
   * oldest end (the next page's `before`). Counted and read at one moment; unconfirmed replicas never.
   */
  listNewestKeys(projectId: string, filter: KeyFilter, before: number | undefined, limit: number): Promise<KeyPage & { start: number }>;
  countKeys(projectId: string): Promise<number>;
  /** Inserts a key with its first version (if any); throws DuplicateAliasError. */
  insertKey(key: KeyRecord, firstVersion: KeyVersionRecord | null): Promise<void>;
  /**
   * Writes `key` if the stored revision still equals `expectedRevision` (the stored revision becomes
   * expectedRevision + 1). Returns false when another writer got there first. Throws DuplicateAliasError.
   */
  updateKey(key: KeyRecord, expectedRevision: number): Promise<boolean>;
  getVersion(keyId: string, version: number): Promise<KeyVersionRecord | null>;
  /** Adds a version; false when the key already has that version number. */
  insertVersion(version: KeyVersionRecord): Promise<boolean>;
  versionNumbers(keyId: string): Promise<number[]>;
  /** A key by id alone, whatever its project (for calls between regions). */
  getKeyById(keyId: string): Promise<KeyRecord | null>;
  /** Primaries with rotation enabled whose interval has passed at `now`. */
  keysDueForRotation(now: number): Promise<KeyRecord[]>;
  enqueue(message: NewOutboxMessage): Promise<void>;
  /** Undelivered messages per target region. */
  outboxStats(): Promise<OutboxStats[]>;
  /** Messages whose next attempt is due, oldest first. */
  dueMessages(now: number, limit: number): Promise<OutboxMessage[]>;
  completeMessage(id: number): Promise<void>;
  retryMessage(id: number, nextAttemptAt: number, error: string): Promise<void>;
  getSetting(name: string): Promise<Buffer | null>;
  /** Stores the value unless one exists; returns whichever is stored. */
  putSettingIfAbsent(name: string, value: Buffer): Promise<Buffer>;
  /**
   * Compare and set: replaces a setting's value when it still equals `expected` (`null`: when there is none);
   * `replacement` null deletes it. False when the stored value was another. (Root key rotation: root-rotation.ts.)
   */
  replaceSetting(name: string, expected: Buffer | null, replacement: Buffer | null): Promise<boolean>;
  /** Wrapped blobs of key versions, ordered by key id then version, those after `after`, at most `limit`. */
  listVersionBlobs(after: { keyId: string; version: number } | null, limit: number): Promise<{ keyId: string; version: number; wrapped: Buffer }[]>;
  /** How many key versions the store holds (all keys, replicas included). */
  countVersions(): Promise<number>;
  /** Replaces a version's wrapped blob when it still equals `expected` (the material is the same, re-wrapped); false otherwise. */
  replaceVersionBlob(keyId: string, version: number, expected: Buffer, replacement: Buffer): Promise<boolean>;
  /** Every stored import parameters record (at most one per key awaiting material). */
  listImportParameters(): Promise<ImportParametersRecord[]>;
  /** Replaces a record's wrapped wrapping key when it still equals `expected`; false otherwise. */
  replaceImportWrappingKey(keyId: string, expected: Buffer, replacement: Buffer): Promise<boolean>;
  /** Deletes a key, all its versions and everything attached to it. */
  deleteKey(keyId: string): Promise<void>;
  /** Keys in state 4 whose deletion date is at or before `now`. */
  keysDueForDeletion(now: number): Promise<KeyRecord[]>;
  /** Deletes every version of a key, leaving the key itself (its imported material is gone). */
  deleteVersions(keyId: string): Promise<void>;
  /** Keys in state 2 or 3 whose imported material expires at or before `now`; unconfirmed replicas never. */
  keysWithExpiredMaterial(now: number): Promise<KeyRecord[]>;
  /** Stores the import parameters of a key, replacing any it had. */
  putImportParameters(parameters: ImportParametersRecord): Promise<void>;
  getImportParameters(keyId: string): Promise<ImportParametersRecord | null>;
  /** Deletes the import parameters of a key (none is not an error). */
  deleteImportParameters(keyId: string): Promise<void>;
  /** Deletes every import parameters record whose expiry is at or before `now`; returns how many. */
  deleteExpiredImportParameters(now: number): Promise<number>;
  /** A key's tags, by tag key. */
  getTags(keyId: string): Promise<KeyTag[]>;
  /** Sets tags of a key (a tag key already present takes the new value) and removes others by tag key. */
  changeTags(keyId: string, set: readonly KeyTag[], remove: readonly string[]): Promise<void>;
  /** Every tag of every key of a project that clients can see (no unconfirmed replica), by key id then tag key. */
  projectTags(projectId: string): Promise<(KeyTag & { keyId: string })[]>;
  /** Inserts an alias; throws DuplicateAliasError when the account already has it. */
  insertAlias(alias: AliasRecord): Promise<void>;
  getAlias(domainId: string, alias: string): Promise<AliasRecord | null>;
  /**
   * Aliases of the keys of a project (of one key when `keyId` is given), by alias name, those after `after`
   * (exclusive; '' from the start), at most `limit`; unconfirmed replicas' never.
   */
  listAliases(projectId: string, keyId: string | undefined, after: string, limit: number): Promise<AliasRecord[]>;
  countAliases(keyId: string): Promise<number>;
  /** Points an alias at another key; false when the account has no such alias. */
  moveAlias(domainId: string, alias: string, keyId: string, updatedAt: number): Promise<boolean>;
  /** Deletes aliases of the account by name. */
  deleteAliases(domainId: string, aliases: readonly string[]): Promise<void>;
  insertGrant(grant: GrantRecord): Promise<void>;
  getGrant(grantId: string): Promise<GrantRecord | null>;
  /** Grants on a key, oldest first, from `offset`, at most `limit`, with how many there are over all pages. */
  listGrants(keyId: string, offset: number, limit: number): Promise<{ grants: GrantRecord[]; total: number }>;
  /** Grants of this region that `principal` (a user id) may retire as their retiring principal, oldest first. */
  listRetirableGrants(principal: string, offset: number, limit: number): Promise<{ grants: GrantRecord[]; total: number }>;
  /** Grants on a key held by a user, or by the user's account (`granteeType` domain). */
  grantsFor(keyId: string, userId: string, domainId: string): Promise<GrantRecord[]>;
  countGrants(keyId: string): Promise<number>;
  /** The largest number of grants any key of the project holds (ShowUserQuotas' `grant_per_CMK` used). */
  maxGrantsPerKey(projectId: string): Promise<number>;
  deleteGrant(grantId: string): Promise<void>;
  /** Inserts a dedicated keystore; throws DuplicateKeystoreError (alias of the account, or HSM cluster taken). */
  insertKeystore(keystore: KeystoreRecord): Promise<void>;
  /** A keystore of an account (domain), or null: other accounts' keystores are invisible. */
  getKeystore(domainId: string, keystoreId: string): Promise<KeystoreRecord | null>;
  /** The keystore an HSM cluster backs in this region, whatever its account, or null. */
  keystoreOfCluster(hsmClusterId: string): Promise<KeystoreRecord | null>;
  /** Keystores of an account, oldest first (then by id), from `offset`, at most `limit`, with how many there are. */
  listKeystores(domainId: string, offset: number, limit: number): Promise<{ keystores: KeystoreRecord[]; total: number }>;
  /** Sets a keystore's state (`2` enabled, `3` disabled); false when it does not exist. */
  setKeystoreState(keystoreId: string, state: KeystoreRecord['state']): Promise<boolean>;
  /** Sets the SHA-256 (hex) of a keystore's PIN; false when it does not exist. */
  setKeystorePin(keystoreId: string, pinHash: string): Promise<boolean>;
  /** Deletes a keystore; false when it does not exist. */
  deleteKeystore(keystoreId: string): Promise<boolean>;
  /** Keys whose material is in a keystore (rows in any state, unconfirmed replicas and keys awaiting the sweep included). */
  countKeystoreKeys(keystoreId: string): Promise<number>;
  /**
   * Runs `fn` in one transaction: all of its writes land, or none, and it sees no other transaction's writes half
   * done (SQLite runs transactions one at a time; PostgreSQL's are SERIALIZABLE and `fn` may run again after a
   * serialization failure, so it must do nothing outside the store that cannot be repeated).
   */
  transaction<T>(fn: (store: KmsStore) => Promise<T>): Promise<T>;
  /**
   * Registers a listener called with the id of every key that another node sharing this store changed (its row,
   * versions or grants), soon after that node committed (PostgreSQL: LISTEN/NOTIFY), and with `null` when such
   * changes may have been missed (the notification connection was lost), meaning "any key". A store no other node
   * writes to never calls it.
   */
  onKeyChanged(listener: (keyId: string | null) => void): void;
  /**
   * The store's whole content (every table of its migrations but `leases`) read in one read transaction, as of one
   * moment, while other writers go on (storage/snapshot.ts; what `strongroom backup` saves). Wrapped material stays
   * wrapped.
   */
  exportSnapshot(): Promise<StoreSnapshot>;
  /**
   * Loads a snapshot into this store, which must be empty (nothing but what its migrations made), in one
   * transaction: all of it or nothing. Throws SnapshotLoadError when the store holds data or the snapshot does not
   * fit its schema (a table or column it lacks, a newer schema version).
   */
  importSnapshot(snapshot: StoreSnapshot): Promise<void>;
  close(): Promise<void>;
}
