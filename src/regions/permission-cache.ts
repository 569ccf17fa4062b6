/**
 * What a region remembers of its callers' permissions, so that a KMS call needs no IAM round trip: the policies
 * that apply to a user in a project, fetched from IAM on first use. Bounded (least recently used entries go first)
 * and invalidated per account by IAM's permission-change feed, which the region follows with the token
 * revocations (iam-client.ts): a change of membership, grant, policy or user is in force within one poll.
 */
import type { NamedPolicy } from '../iam/policy-evaluation.js';
import { LruMap } from '../lru-map.js';

/** A user's policies in one project; `enabled` false when the user is disabled or gone (their credentials fail). */
export interface CallerPermissions {
  enabled: boolean;
  policies: NamedPolicy[];
  /** Epoch ms: the user's tokens issued before it are invalid (a password change, a disable). */
  tokens_not_before?: number;
}

interface Entry {
  domainId: string;
  value: CallerPermissions;
  /** Epoch ms of the fetch: an entry is fetched again after `maxAgeMs` even without a change in the feed. */
  fetchedAt: number;
}

export class PermissionCache {
  readonly #entries: LruMap<string, Entry>;
  /** Bumped when an account's permissions change, so a fetch that raced the change is not kept. */
  readonly #generations = new Map<string, number>();
  /** Bumped by `clear`, for the same reason. */
  #epoch = 0;
  /** Answers from the cache, and fetches from IAM, since start (metrics). */
  hits = 0;
  misses = 0;

  constructor(
    private readonly fetch: (userId: string, projectId: string) => Promise<CallerPermissions>,
    maxEntries = 10_000,
    /** A bound on what a lost change could cost: entries older than this are fetched again (milliseconds). */
    private readonly maxAgeMs = 300_000,
  ) {
    this.#entries = new LruMap(maxEntries);
  }

  /** The user's permissions in the project (`domainId` is the account both belong to); from IAM on a miss. */
  async get(userId: string, projectId: string, domainId: string, options: { fresh?: boolean } = {}): Promise<CallerPermissions> {
    const key = `${userId}\0${projectId}`;
    const hit = this.#entries.get(key);
    if (hit && !options.fresh && Date.now() - hit.fetchedAt < this.maxAgeMs) {
      this.hits++;
      return hit.value;
    }
    this.misses++;
    const generation = this.#generations.get(domainId) ?? 0;
    const epoch = this.#epoch;
    const fetchedAt = Date.now();
    const value = await this.fetch(userId, projectId);
    if ((this.#generations.get(domainId) ?? 0) === generation && this.#epoch === epoch) this.#entries.set(key, { domainId, value, fetchedAt });
    return value;
  }

  /** Forgets everything about these accounts. */
  invalidate(domainIds: Iterable<string>): void {
    const gone = new Set(domainIds);
    if (gone.size === 0) return;
    for (const d of gone) this.#generations.set(d, (this.#generations.get(d) ?? 0) + 1);
    this.#entries.deleteWhere((e) => gone.has(e.domainId));
  }

  /** Forgets everything (the feed was lost or skipped entries). */
  clear(): void {
    this.#epoch++;
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
