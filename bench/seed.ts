/**
 * Stores many real AES_256 keys in a region quickly, for list-keys and the scale scenario: creating them through
 * the API costs one HTTP call, one audit record and one COUNT(*) of the project's keys (the quota check) each.
 * The seeder writes them straight into the region's database through the store's own API
 * (src/storage/sqlite/kms-sqlite-store.ts `transaction` + `insertKey`), in batched transactions, with material made
 * and wrapped by src/core/key-material.ts under the region's root key (src/keystore/local-file.ts): keys the
 * running region can describe, list and encrypt with, exactly as if create-key had made them in the project.
 * SQLite's locking serialises these writes with the region process's own; the region keeps no copy of key records
 * in memory, so it sees them at once.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { KeyRecord, KeyVersionRecord } from '../src/core/key.js';
import { KeyMaterial } from '../src/core/key-material.js';
import { LocalFileRootKey } from '../src/keystore/local-file.js';
import { SqliteKmsStore } from '../src/storage/sqlite/kms-sqlite-store.js';

export interface SeedTarget {
  /** The region's data directory (kms.db and master.key), `<data-dir>/regions/<region>`. */
  regionDataDir: string;
  region: string;
  projectId: string;
  domainId: string;
}

export interface SeedResult {
  /** Keys written. */
  count: number;
  /** Wall-clock seconds it took. */
  seconds: number;
  /** Up to `sampleSize` of the new key ids, spread over the whole run. */
  sample: string[];
}

/**
 * A new enabled AES_256 key of the project, as KeyService.create (src/core/keys.ts) makes one for
 * `{"key_alias": alias, "key_spec": "AES_256"}` with every other field at its default.
 */
function aesKeyRecord(t: SeedTarget, id: string, alias: string, now: number): KeyRecord {
  return {
    id, projectId: t.projectId, domainId: t.domainId, region: t.region, alias, description: '', spec: 'AES_256', usage: 'ENCRYPT_DECRYPT',
    origin: 'kms', state: '2', createdAt: now, deletionDate: null, enterpriseProjectId: '0', keystoreId: '0', currentVersion: 1,
    rotationEnabled: false, rotationIntervalDays: 365, lastRotationAt: null, rotationCount: 0, materialExpiresAt: null,
    primaryRegion: null, revision: 0, replicas: [], handoverTo: null, term: 0, pendingAttempt: null, publicKey: null, materialFingerprint: null,
  };
}

/**
 * Writes `count` AES_256 keys with aliases `<aliasPrefix>-<n>` into the region's store, `batch` keys per
 * transaction. `onProgress` is called after each batch with the keys written so far.
 */
export async function seedKeys(t: SeedTarget, count: number, o: { aliasPrefix: string; batch?: number; sampleSize?: number; onProgress?: (done: number) => void }): Promise<SeedResult> {
  const started = performance.now();
  const batch = o.batch ?? 50_000;
  const sampleSize = o.sampleSize ?? 10_000;
  const sampleEvery = Math.max(1, Math.floor(count / sampleSize));
  const sample: string[] = [];
  const store = new SqliteKmsStore(join(t.regionDataDir, 'kms.db'));
  const rootKey = new LocalFileRootKey(join(t.regionDataDir, 'master.key'));
  const material = new KeyMaterial(store, rootKey);
  try {
    for (let done = 0; done < count; ) {
      const n = Math.min(batch, count - done);
      const now = Date.now();
      // Material is made and wrapped before the transaction, as KeyService.create does, so the write lock is short.
      const rows: { key: KeyRecord; version: KeyVersionRecord }[] = [];
      for (let i = 0; i < n; i++) {
        const id = randomUUID();
        const seq = done + i;
        if (seq % sampleEvery === 0 && sample.length < sampleSize) sample.push(id);
        rows.push({ key: aesKeyRecord(t, id, `${o.aliasPrefix}-${String(seq).padStart(9, "0")}`, now), version: await material.newVersion(id, 1, 32, now) });
      }
      rows.sort((x, y) => (x.key.id < y.key.id ? -1 : 1)); // ascending ids: fewer index pages touched per batch
      await store.transaction(async (tx) => {
        for (const r of rows) await tx.insertKey(r.key, r.version);
      });
      done += n;
      o.onProgress?.(done);
    }
  } finally {
    await store.close();
    await rootKey.close();
  }
  return { count, seconds: (performance.now() - started) / 1000, sample };
}
