/**
 * The one place that maps configuration names to implementations: which store a region or IAM keeps its data in,
 * and which root key wraps it. `store` unset (the default) means SQLite files in the component's data directory;
 * `postgres://…` means that PostgreSQL database, each component in its own schema (`iam`, `region_<id>`), so one
 * database can serve a whole deployment and any number of nodes of each region. The root key is the key file
 * `master.key` in the component's data directory (every node of a region needs the same one).
 */
import { basename, join } from 'node:path';
import { privateDir } from './deployment.js';
import { DEFAULT_ROOT_KEY, openRootKeyFrom, type RootKeyConfig } from './keystore/root-key-config.js';
import type { RootKey } from './keystore/root-key.js';
import type { IamStore } from './storage/iam-store.js';
import type { KmsStore } from './storage/kms-store.js';
import { isPostgresUrl, redactUrl, schemaName } from './storage/postgres/database.js';
import { SqliteIamStore } from './storage/sqlite/iam-sqlite-store.js';
import { SqliteKmsStore } from './storage/sqlite/kms-sqlite-store.js';

/** The environment variable that names the store when `--store` is not given (not kept in deployment.json). */
export const STORE_ENV = 'STRONGROOM_STORE';

/** Where a component keeps its data. */
export interface StoreLocation {
  /** The component's own data directory (SQLite database, root key file). */
  dataDir: string;
  /** Undefined or `sqlite`: SQLite in `dataDir`; `postgres://…`: that database. */
  store?: string;
  /** This process's node id among the nodes sharing a PostgreSQL store (random when unset). */
  nodeId?: string;
  /** How long a dead node's liveness lease lasts on a PostgreSQL store (milliseconds; default 30 s). */
  leaseMs?: number;
  /** The component's root key (deployment.ts rootKeyOf); the key file `master.key` in `dataDir` when unset. */
  rootKey?: RootKeyConfig;
}

/** Checks a `--store` value: unset, `sqlite`, or a PostgreSQL URL. Throws with a message for the command line. */
export function checkStore(store: string | undefined): string | undefined {
  if (store === undefined || store === '' || store === 'sqlite') return undefined;
  if (!isPostgresUrl(store)) throw new Error(`--store must be sqlite or a postgres://… URL, not ${JSON.stringify(store)}`);
  try {
    new URL(store);
  } catch {
    throw new Error(`--store is not a valid URL: ${redactUrl(store)}`);
  }
  return store;
}

/** Describes a store for people (no password). */
export const describeStore = (store: string | undefined): string => (store === undefined ? 'SQLite' : `PostgreSQL ${redactUrl(store)}`);

/** Opens (creating and migrating) a region's store. */
export async function openKmsStore(region: string, at: StoreLocation): Promise<KmsStore> {
  privateDir(at.dataDir);
  if (at.store === undefined || at.store === 'sqlite') return new SqliteKmsStore(join(at.dataDir, 'kms.db'));
  const { PgKmsStore } = await import('./storage/postgres/kms-pg-store.js');
  return PgKmsStore.open(at.store, schemaName('region', region), { nodeId: at.nodeId, nodeLeaseMs: at.leaseMs });
}

/** Opens (creating and migrating) IAM's store. */
export async function openIamStore(at: StoreLocation): Promise<IamStore> {
  privateDir(at.dataDir);
  if (at.store === undefined || at.store === 'sqlite') return new SqliteIamStore(join(at.dataDir, 'iam.db'));
  const { PgIamStore } = await import('./storage/postgres/iam-pg-store.js');
  return PgIamStore.open(at.store, schemaName('iam'), { nodeId: at.nodeId });
}

/**
 * The root key of a component (`iam` or a region id): `at.rootKey`, by default the key file in its data directory.
 * (`component` defaults to the data directory's name, which is the component's in a deployment's layout.) A missing
 * key is made (a key file at first start; a token key, which the launcher makes before the processes
 * that share it start).
 */
export function openRootKey(at: StoreLocation, component = basename(at.dataDir)): RootKey {
  privateDir(at.dataDir);
  return openRootKeyFrom(at.rootKey ?? DEFAULT_ROOT_KEY, at.dataDir, component, { create: true });
}
