/**
 * IAM's data opened for use: its store, its root key (secret keys, the token key, the audit key) and the services
 * over them. Used by the IAM server and by the admin CLI, which works on the same data beside a running server.
 */
import { IamService } from './iam/iam-service.js';
import { Permissions } from './iam/permissions.js';
import { openIamStore, openRootKey } from './composition.js';
import type { RootKey } from './keystore/root-key.js';
import type { RootKeyConfig } from './keystore/root-key-config.js';
import type { IamStore } from './storage/iam-store.js';

export interface OpenIam {
  iam: IamService;
  permissions: Permissions;
  store: IamStore;
  rootKey: RootKey;
  close(): Promise<void>;
}

/**
 * Opens IAM's data in `dataDir` (creating it on first use), in the store `store` names (composition.ts; SQLite in
 * `dataDir` when unset), under the root key `rootKey` names (its key file by default); `clock` (epoch ms) is for tests.
 */
export async function openIam(dataDir: string, options: { clock?: () => number; store?: string; rootKey?: RootKeyConfig } = {}): Promise<OpenIam> {
  const store = await openIamStore({ dataDir, store: options.store });
  let rootKey: RootKey;
  try {
    rootKey = openRootKey({ dataDir, rootKey: options.rootKey }, 'iam');
    const recorded = (await store.putSettingIfAbsent('root_key_id', Buffer.from(rootKey.id))).toString();
    if (recorded !== rootKey.id) throw new Error(`IAM's secrets are wrapped by root key ${recorded}, but ${dataDir} holds ${rootKey.id}`);
  } catch (err) {
    await store.close();
    throw err;
  }
  const iam = new IamService(store, rootKey, options.clock);
  await iam.init();
  return { iam, permissions: new Permissions(store), store, rootKey, close: async () => (await store.close(), await rootKey.close()) };
}
