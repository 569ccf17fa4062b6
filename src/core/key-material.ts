/**
 * Key material of key versions: generated, wrapped by the root key before it reaches the store, and unwrapped on
 * use. Unwrapped versions are kept in a small bounded cache so the hot path does not unwrap on every request.
 */
import { randomBytes } from 'node:crypto';
import { forgetParsedKeys } from '../crypto/key-cache.js';
import type { RootKey } from '../keystore/root-key.js';
import { LruMap } from '../lru-map.js';
import type { KmsStore } from '../storage/kms-store.js';
import type { KeyVersionRecord } from './key.js';

const CACHE_ENTRIES = 1024;

/** What a wrapped version is bound to: a blob moved to another key or version row no longer unwraps. */
export function wrapContext(keyId: string, version: number): Buffer {
  return Buffer.from(`strongroom key version\0${keyId}\0${version}`);
}

export class KeyMaterial {
  /** `keyId/version` → unwrapped material; an evicted version's parsed forms are dropped and its bytes zeroed. */
  readonly #cache = new LruMap<string, Buffer>(CACHE_ENTRIES, (material) => {
    forgetParsedKeys(material); // the public-key engines' parsed copies of a private key go with it
    material.fill(0);
  });

  /** Bumped by every forget: a read that started before one does not fill the cache. */
  #generation = 0;

  constructor(
    private readonly store: KmsStore,
    private readonly rootKey: RootKey,
  ) {}

  /** New random material for a version, returned wrapped and ready to store. */
  async newVersion(keyId: string, version: number, bytes: number, now: number): Promise<KeyVersionRecord> {
    const material = randomBytes(bytes);
    try {
      return { ...(await this.wrap(keyId, version, material)), createdAt: now };
    } finally {
      material.fill(0);
    }
  }

  /** Wraps given material (received from another region) for storage as one version. */
  async wrap(keyId: string, version: number, material: Buffer): Promise<Omit<KeyVersionRecord, 'createdAt'>> {
    return { keyId, version, wrapped: await this.rootKey.wrap(material, wrapContext(keyId, version)) };
  }

  /** The unwrapped material of one version, or null when the store has no such version. */
  async unwrapped(keyId: string, version: number): Promise<Buffer | null> {
    const id = `${keyId}/${version}`;
    const hit = this.#cache.get(id);
    if (hit) return hit;
    const generation = this.#generation;
    const record = await this.store.getVersion(keyId, version);
    if (!record) return null;
    const material = await this.rootKey.unwrap(record.wrapped, wrapContext(keyId, version));
    // Kept only when nothing was forgotten while it was read: a read that raced a forget may hold what was destroyed.
    if (generation === this.#generation) this.#cache.set(id, material);
    return material;
  }

  /** Drops every cached version of a key (after its material is destroyed). */
  forget(keyId: string): void {
    this.#generation++;
    this.#cache.deleteWhere((_material, id) => id.startsWith(keyId + '/'));
  }

  /** Drops every cached version of every key (another node's changes may have been missed). */
  forgetAll(): void {
    this.#generation++;
    this.#cache.deleteWhere(() => true);
  }
}
