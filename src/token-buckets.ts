/**
 * Token buckets by key: the rate limiter behind KMS throttling (api/throttling.ts: one bucket per user and
 * operation class) and IAM's per-source login limit (iam/login-guard.ts: one bucket per source address).
 *
 * A bucket holds at most `burst` tokens and gains `ratePerSecond` tokens a second; a call takes one token or is
 * refused. Each key costs one small object, created on its first call and reused afterwards (no allocation per
 * call); buckets that have refilled completely are forgotten when the map grows past `maxKeys`.
 */

/** Milliseconds from any fixed origin; must not go backwards by much (`performance.now()` by default). */
export type MonotonicClock = () => number;

interface Bucket {
  tokens: number;
  /** Clock reading (ms) of the last refill. */
  at: number;
}

export interface TokenBucketOptions {
  /** Tokens gained per second (the sustained rate, requests per second). A positive number. */
  ratePerSecond: number;
  /** Tokens a full bucket holds (the largest burst); at least 1. Default: one second's worth, `ratePerSecond`. */
  burst?: number;
  /** Reading in milliseconds; injectable for tests. Default `performance.now()`. */
  clock?: MonotonicClock;
  /** Beyond this many keys, idle (full) buckets are dropped before a new one is made. Default 100 000. */
  maxKeys?: number;
}

export class TokenBuckets {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #perMs: number;
  readonly #clock: MonotonicClock;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();
  /** When idle buckets were last looked for (a full scan, at most once a second). */
  #sweptAt = -Infinity;

  constructor(o: TokenBucketOptions) {
    if (!(o.ratePerSecond > 0) || !Number.isFinite(o.ratePerSecond)) throw new Error('a token bucket needs a positive rate');
    this.ratePerSecond = o.ratePerSecond;
    this.burst = Math.max(1, o.burst ?? o.ratePerSecond);
    this.#perMs = o.ratePerSecond / 1000;
    this.#clock = o.clock ?? (() => performance.now());
    this.#maxKeys = o.maxKeys ?? 100_000;
  }

  /**
   * Takes one token from `key`'s bucket. Returns 0 when the call may go ahead, otherwise the whole number of
   * seconds (at least 1) until the bucket holds a token again: the value of a `Retry-After` header.
   */
  take(key: string): number {
    const now = this.#clock();
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#makeRoom(now);
      b = { tokens: this.burst, at: now };
      this.#buckets.set(key, b);
    } else if (now > b.at) {
      b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.#perMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSecond));
  }

  /** Whether `key`'s bucket is empty now (without taking anything): the whole seconds until it is not, else 0. */
  waitFor(key: string): number {
    const b = this.#buckets.get(key);
    if (b === undefined) return 0;
    const tokens = Math.min(this.burst, b.tokens + Math.max(0, this.#clock() - b.at) * this.#perMs);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.ratePerSecond));
  }

  /** Gives back a token taken by `take` (a call that turned out not to count), never beyond `burst`. */
  refund(key: string): void {
    const b = this.#buckets.get(key);
    if (b !== undefined) b.tokens = Math.min(this.burst, b.tokens + 1);
  }

  /** How many keys have a bucket (tests, and to show the map stays bounded). */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Keeps the map within `maxKeys`: idle buckets go first (a scan at most once a second), then, while it is still
   * full, the oldest buckets (a key that comes back starts with a full bucket), so many keys at once cost neither a
   * scan per call nor memory without bound.
   */
  #makeRoom(now: number): void {
    if (now - this.#sweptAt >= 1000) {
      this.#sweptAt = now;
      this.#forgetIdle(now);
    }
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size < this.#maxKeys) break;
      this.#buckets.delete(key);
    }
  }

  /** Drops every bucket that has refilled completely: it would be made again exactly as it is. */
  #forgetIdle(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#perMs >= this.burst) this.#buckets.delete(key);
    }
  }
}
