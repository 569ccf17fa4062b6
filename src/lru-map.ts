/**
 * A Map bounded to `limit` entries that forgets the least recently used first (a read or a write counts as a
 * use). The in-memory caches of the hot path (verified tokens, key records, access keys' verifiers) are made of it.
 * `onEvict` sees each value the bound pushes out or `delete`/`clear` removes (to zero secret bytes, say).
 */
export class LruMap<K, V> {
  /** Map order is the LRU order: oldest first. */
  readonly #entries = new Map<K, V>();

  constructor(
    readonly limit: number,
    private readonly onEvict?: (value: V, key: K) => void,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('an LruMap holds at least one entry');
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** Stores the value as the most recently used, evicting the oldest entry past the bound. */
  set(key: K, value: V): void {
    const old = this.#entries.get(key);
    this.#entries.delete(key);
    if (old !== undefined && old !== value) this.onEvict?.(old, key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.limit) {
      const [oldestKey, oldest] = this.#entries.entries().next().value as [K, V];
      this.#entries.delete(oldestKey);
      this.onEvict?.(oldest, oldestKey);
    }
  }

  delete(key: K): boolean {
    const value = this.#entries.get(key);
    if (value === undefined) return false;
    this.#entries.delete(key);
    this.onEvict?.(value, key);
    return true;
  }

  /** Removes every entry for which `test` is true. */
  deleteWhere(test: (value: V, key: K) => boolean): void {
    for (const [key, value] of [...this.#entries]) if (test(value, key)) this.delete(key);
  }

  clear(): void {
    for (const [key, value] of [...this.#entries]) {
      this.#entries.delete(key);
      this.onEvict?.(value, key);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
