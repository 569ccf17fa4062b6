/**
 * The store contracts (test/contracts/) run on the SQLite stores, the embedded default; the PostgreSQL stores run
 * them in test/kms-store-postgres.test.ts and test/iam-store-postgres.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
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
