/**
 * Worker thread of bench/seed.ts: makes the key ids and the wrapped material of seeded keys (src/core/key-material.ts
 * `newVersion` under the region's root key) while the main thread writes the previous batch to the store.
 * Messages in: `{ count, now }`; out: `{ ids }` (newline-separated) with the wrapped blobs packed into one
 * transferred buffer (`blob`, `offsets`), or `{ error }`; `'close'` closes the store and root key and answers `'closed'`.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { KeyMaterial } from '../src/core/key-material.js';
import { LocalFileRootKey } from '../src/keystore/local-file.js';
import { SqliteKmsStore } from '../src/storage/sqlite/kms-sqlite-store.js';

/** What the main thread asks for: `count` new AES_256 versions created at `now` (epoch ms). */
export interface MaterialRequest {
  count: number;
  now: number;
}

/** The answer: key ids, and version 1 of each wrapped, blob i = blob[offsets[i] .. offsets[i + 1]). */
export type MaterialAnswer = { ids: string; blob: ArrayBuffer; offsets: Uint32Array } | { error: string } | 'closed';

const AES_256_BYTES = 32;
const { regionDataDir } = workerData as { regionDataDir: string };
// KeyMaterial takes the store for unwrapping only; newVersion never reads it.
const store = new SqliteKmsStore(join(regionDataDir, 'kms.db'));
const rootKey = new LocalFileRootKey(join(regionDataDir, 'master.key'));
const material = new KeyMaterial(store, rootKey);
const port = parentPort!;

port.on('message', (m: MaterialRequest | 'close') => {
  if (m === 'close') {
    void store.close().then(() => rootKey.close()).then(() => port.postMessage('closed'));
    return;
  }
  void (async () => {
    try {
      const ids: string[] = [];
      const parts: Buffer[] = [];
      for (let i = 0; i < m.count; i++) {
        const id = randomUUID();
        ids.push(id);
        parts.push((await material.newVersion(id, 1, AES_256_BYTES, m.now)).wrapped);
      }
      const offsets = new Uint32Array(m.count + 1);
      parts.forEach((p, i) => (offsets[i + 1] = offsets[i]! + p.length));
      const blob = new Uint8Array(offsets[m.count]!);
      parts.forEach((p, i) => blob.set(p, offsets[i]));
      const answer: MaterialAnswer = { ids: ids.join('\n'), blob: blob.buffer, offsets };
      port.postMessage(answer, [blob.buffer, offsets.buffer]);
    } catch (err) {
      port.postMessage({ error: (err as Error).stack ?? String(err) } satisfies MaterialAnswer);
    }
  })();
});
