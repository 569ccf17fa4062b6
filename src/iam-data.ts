/**
 * IAM's data opened for use: its store, its root key (secret keys, the token key, the audit key) and the services
 * over them. Used by the IAM server and by the admin CLI, which works on the same data beside a running server.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { IamService } from './iam/iam-service.js';
import { Permissions } from './iam/permissions.js';
import { LocalFileRootKey } from './keystore/local-file.js';
import type { RootKey } from './keystore/root-key.js';
import type { IamStore } from './storage/iam-store.js';
import { SqliteIamStore } from './storage/sqlite/iam-sqlite-store.js';

export interface OpenIam {
  iam: IamService;
  permissions: Permissions;
  store: IamStore;
  rootKey: RootKey;
  close(): Promise<void>;
}

/** Opens IAM's data in `dataDir` (creating it on first use); `clock` (epoch ms) is for tests. */
export async function openIam(dataDir: string, options: { clock?: () => number } = {}): Promise<OpenIam> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = new SqliteIamStore(join(dataDir, 'iam.db'));
  const rootKey = new LocalFileRootKey(join(dataDir, 'master.key'));
  const iam = new IamService(store, rootKey, options.clock);
  await iam.init();
  return { iam, permissions: new Permissions(store), store, rootKey, close: async () => (await store.close(), await rootKey.close()) };
}
