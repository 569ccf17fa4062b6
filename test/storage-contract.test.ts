/**
 * The store contracts (test/contracts/) run on the SQLite stores, the embedded default; the PostgreSQL stores run
 * them in test/kms-store-postgres.test.ts and test/iam-store-postgres.test.ts.
 */
import assert from 'node:assert/strict';
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { IamStore } from '../src/storage/iam-store.js';
import type { KmsStore } from '../src/storage/kms-store.js';
import { SqliteIamStore } from '../src/storage/sqlite/iam-sqlite-store.js';
import { SqliteKmsStore } from '../src/storage/sqlite/kms-sqlite-store.js';
import { iamStoreContract } from './contracts/iam-store-contract.js';
import { kmsStoreContract } from './contracts/kms-store-contract.js';

// -----------------------------------------------------------------------------------------------------------------
// SQLite
// -----------------------------------------------------------------------------------------------------------------

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempFile(name: string): string {
  const d = mkdtempSync(join(tmpdir(), 'strongroom-store-'));
  dirs.push(d);
  return join(d, name);
}

const kmsPaths = new WeakMap<KmsStore, string>();
kmsStoreContract('SqliteKmsStore', async (reopen) => {
  const path = reopen ? kmsPaths.get(reopen)! : tempFile('kms.db');
  assert.ok(path);
  const s = new SqliteKmsStore(path);
  kmsPaths.set(s, path);
  return s;
});

const iamPaths = new WeakMap<IamStore, string>();
iamStoreContract('SqliteIamStore', async (reopen) => {
  const path = reopen ? iamPaths.get(reopen)! : tempFile('iam.db');
  assert.ok(path);
  const s = new SqliteIamStore(path);
  iamPaths.set(s, path);
  return s;
});

test('SQLite stores keep their database and journal files readable by the owner only (0600), also files made before', async () => {
  const kmsPath = tempFile('kms.db');
  closeSync(openSync(kmsPath, 'w', 0o644)); // as an older Strongroom (or the umask) left it
  chmodSync(kmsPath, 0o644);
  const kms = new SqliteKmsStore(kmsPath);
  const iamPath = tempFile('iam.db');
  const iam = new SqliteIamStore(iamPath);
  try {
    await kms.putSettingIfAbsent('probe', Buffer.from('x'));
    await iam.putSettingIfAbsent('probe', Buffer.from('x'));
    const files = [kmsPath, `${kmsPath}-wal`, `${kmsPath}-shm`, iamPath, `${iamPath}-wal`, `${iamPath}-shm`];
    for (const f of files) assert.equal((statSync(f).mode & 0o777).toString(8), '600', f);
  } finally {
    await kms.close();
    await iam.close();
  }
});
