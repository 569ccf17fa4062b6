/**
 * Parsed-key caches of the public-key engines. OpenSSL 3.0 decodes a DER key far more slowly than it signs with
 * it (P-256: ~1.4k parses/s against ~27k signatures/s on one core), so the engines keep what they parsed — node
 * KeyObjects (pkey.ts) and addon key handles (native.ts) — in small bounded LRU maps, in memory only.
 *
 * An entry is found by the SHA-256 of the DER bytes (never the bytes themselves, which may be a private key) plus
 * a tag naming what was parsed and checked (private or public, key type), so an entry only ever answers the same
 * bytes asked for as the same kind of key. Because the lookup hashes the bytes on every call, a Buffer that the
 * caller changes or zeroes afterwards no longer finds the old entry. Nothing is cached for bytes that failed to
 * parse or check: those throw on every call.
 *
 * A key is only kept from its second use on (the first parse is remembered by hash alone), so one-off keys —
 * an import's wrapping key, a peer's ECDH public key, a key checked once on import — are not held in memory after
 * the call. forgetParsedKeys drops a key's entries from every cache, e.g. when its material is destroyed.
 */
import { createHash } from 'node:crypto';

/** Entries per cache (and as many remembered first uses). */
export const PARSED_KEY_CACHE_ENTRIES = 512;

const caches = new Set<ParsedKeyCache<unknown>>();

function fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64');
}

export class ParsedKeyCache<V> {
  /** fingerprint + ' ' + tag → parsed key; Map order is the LRU order (oldest first). */
  readonly #entries = new Map<string, V>();
  /** fingerprint + ' ' + tag of keys parsed once and not (yet) kept. */
  readonly #seen = new Set<string>();

  constructor(readonly limit: number = PARSED_KEY_CACHE_ENTRIES) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('a parsed-key cache holds at least one entry');
    caches.add(this as ParsedKeyCache<unknown>);
  }

  /**
   * The parsed key for `der` as `tag`: from the cache, or from `parse` (which throws for bytes that are not such a
   * key; nothing is cached then).
   */
  get(der: Uint8Array, tag: string, parse: () => V): V {
    const id = `${fingerprint(der)} ${tag}`;
    const hit = this.#entries.get(id);
    if (hit !== undefined) {
      this.#entries.delete(id); // refresh its place in the LRU order
      this.#entries.set(id, hit);
      return hit;
    }
    const value = parse();
    if (this.#seen.delete(id)) {
      this.#entries.set(id, value);
      if (this.#entries.size > this.limit) this.#entries.delete(this.#entries.keys().next().value as string);
    } else {
      this.#seen.add(id);
      if (this.#seen.size > this.limit) this.#seen.delete(this.#seen.values().next().value as string);
    }
    return value;
  }

  /** Number of parsed keys held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Drops every entry (and remembered first use) of these DER bytes, whatever its tag. */
  forget(der: Uint8Array): void {
    const prefix = `${fingerprint(der)} `;
    for (const id of [...this.#entries.keys()]) if (id.startsWith(prefix)) this.#entries.delete(id);
    for (const id of [...this.#seen]) if (id.startsWith(prefix)) this.#seen.delete(id);
  }

  clear(): void {
    this.#entries.clear();
    this.#seen.clear();
  }
}

/**
 * Drops the parsed forms of a DER key from every engine cache (its KeyObjects and addon handles are then freed by
 * the garbage collector; OpenSSL clears private key material when it frees a key).
 */
export function forgetParsedKeys(der: Uint8Array): void {
  for (const cache of caches) cache.forget(der);
}

/** Empties every engine cache. */
export function clearParsedKeys(): void {
  for (const cache of caches) cache.clear();
}
