/**
 * Stores many real AES_256 keys in a region quickly, for list-keys and the scale scenario: creating them through
 * the API costs one HTTP call, one audit record and one COUNT(*) of the project's keys (the quota check) each.
 * The seeder writes them straight into the region's database through the store's own API
 * (src/storage/sqlite/kms-sqlite-store.ts `transaction` + `insertKey`), in batched transactions, with material made
 * and wrapped by src/core/key-material.ts under the region's root key (src/keystore/local-file.ts): keys the
 * running region can describe, list and encrypt with, exactly as if create-key had made them in the project.
 * The material of the next batch is made on a worker thread (bench/seed-material.ts) while a batch is written.
 * SQLite's locking serialises these writes with the region process's own; new keys are in none of the region's
 * caches, so it finds them at once. The bench seeds while no request is in flight: a batch holds the write lock for
 * seconds, longer than the region's busy timeout.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { KeyRecord, KeyVersionRecord } from '../src/core/key.js';
import { SqliteKmsStore } from '../src/storage/sqlite/kms-sqlite-store.js';
import type { MaterialAnswer, MaterialRequest } from './seed-material.js';

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
  /** Up to `sampleSize` of the new key ids, spread evenly over the whole run. */
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

/** The worker of bench/seed-material.ts, loaded through tsx like the rest of the bench. */
class MaterialWorker {
  readonly #worker: Worker;
  #pending: { resolve: (a: { ids: string[]; versions: Buffer[] }) => void; reject: (e: Error) => void } | null = null;

  constructor(regionDataDir: string) {
    const url = new URL('./seed-material.ts', import.meta.url).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    this.#worker = new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); })`, { eval: true, workerData: { regionDataDir } });
    this.#worker.on('message', (a: MaterialAnswer) => {
      if (a === 'closed') return this.#worker.emit('closed');
      const p = this.#pending;
      this.#pending = null;
      if ('error' in a) return p?.reject(new Error(`seed worker: ${a.error}`));
      const blob = Buffer.from(a.blob);
      p?.resolve({ ids: a.ids.split('\n'), versions: Array.from({ length: a.offsets.length - 1 }, (_, i) => blob.subarray(a.offsets[i]!, a.offsets[i + 1]!)) });
    });
    this.#worker.on('error', (err) => {
      this.#pending?.reject(err);
      this.#pending = null;
    });
  }

  /** `count` new key ids with their wrapped version-1 material, created at `now`. One request at a time. */
  make(count: number, now: number): Promise<{ ids: string[]; versions: Buffer[] }> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.postMessage({ count, now } satisfies MaterialRequest);
    });
  }

  /** Closes the worker's store and root key, then ends the worker (at most 5 s). */
  async close(): Promise<void> {
    const closed = new Promise((r) => this.#worker.once('closed', r));
    this.#worker.postMessage('close');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    await this.#worker.terminate();
  }
}

/**
 * Writes `count` AES_256 keys with aliases `<aliasPrefix>-<n>` into the region's store, `batch` keys per
 * transaction. `onProgress` is called after each batch with the keys written so far.
 */
export async function seedKeys(t: SeedTarget, count: number, o: { aliasPrefix: string; batch?: number; sampleSize?: number; onProgress?: (done: number) => void }): Promise<SeedResult> {
  const started = performance.now();
  // Large batches with ascending ids: each index page is visited about once per batch, not once per key.
  const batch = o.batch ?? 50_000;
  const sampleSize = o.sampleSize ?? 10_000;
  const sampleEvery = Math.max(1, Math.floor(count / sampleSize));
  const sample: string[] = [];
  const store = new SqliteKmsStore(join(t.regionDataDir, 'kms.db'));
  const worker = new MaterialWorker(t.regionDataDir);
  try {
    let now = Date.now();
    let next = worker.make(Math.min(batch, count), now);
    for (let done = 0; done < count; ) {
      const { ids, versions } = await next;
      const createdAt = now;
      const n = ids.length;
      if (done + n < count) next = worker.make(Math.min(batch, count - done - n), (now = Date.now()));
      const rows: { key: KeyRecord; version: KeyVersionRecord }[] = ids.map((id, i) => {
        const seq = done + i;
        if (seq % sampleEvery === 0 && sample.length < sampleSize) sample.push(id);
        return { key: aesKeyRecord(t, id, `${o.aliasPrefix}-${String(seq).padStart(9, '0')}`, createdAt), version: { keyId: id, version: 1, wrapped: versions[i]!, createdAt } };
      });
      rows.sort((x, y) => (x.key.id < y.key.id ? -1 : 1));
      await store.transaction(async (tx) => {
        for (const r of rows) await tx.insertKey(r.key, r.version);
      });
      done += n;
      o.onProgress?.(done);
      // Let the event loop run between batches: the rest of the bench process (its keep-alive sockets) must not
      // go unattended for the minutes a large seeding takes.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    await worker.close();
    await store.close();
  }
  return { count, seconds: (performance.now() - started) / 1000, sample };
}
