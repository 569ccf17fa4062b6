/**
 * Tags of keys (docs/reference/huawei-kms-api.md §2 K, §4 K 44–49): at most 10 per key (KMS.0409), set and removed one
 * at a time or in a batch that lands whole or not at all, the project's tag keys with their values, and the query of
 * keys by tags (ListKmsByTags: every tag filter must match, a filter's values are alternatives; `matches` on
 * `resource_name` finds keys whose alias contains the value).
 */
import { KmsError } from '../errors.js';
import type { KeyTag, KmsStore } from '../storage/kms-store.js';
import type { CallerContext, Clock } from './context.js';
import { isDestroyed, type KeyRecord } from './key.js';
import type { KeyService } from './keys.js';

/** Tags a key may carry (Huawei's limit). */
export const MAX_TAGS_PER_KEY = 10;

export interface TagFilter {
  /** Each entry must match: the key carries the tag key, with one of `values` (any value when empty). */
  tags: { key: string; values: string[] }[];
  /** `resource_name` entries: the key's alias contains the value. */
  names: string[];
}

export interface TaggedKey {
  key: KeyRecord;
  tags: KeyTag[];
}

export class TagService {
  constructor(
    private readonly store: KmsStore,
    private readonly keys: KeyService,
    private readonly clock: Clock,
  ) {}

  /** A key's tags; KMS.0207 when the key is not the caller's. */
  async tags(ctx: CallerContext, keyId: string): Promise<KeyTag[]> {
    await this.keys.get(ctx, keyId);
    return this.store.getTags(keyId);
  }

  /**
   * Sets and removes tags of a key in one transaction. A removed tag key that the key does not carry is not an
   * error (Huawei's batch delete); more than 10 tags afterwards is KMS.0409 and changes nothing.
   */
  async change(ctx: CallerContext, keyId: string, set: readonly KeyTag[], remove: readonly string[]): Promise<void> {
    await this.keys.get(ctx, keyId);
    await this.store.transaction(async (tx) => {
      const current = new Map((await tx.getTags(keyId)).map((t) => [t.key, t.value]));
      for (const k of remove) current.delete(k);
      for (const t of set) current.set(t.key, t.value);
      if (current.size > MAX_TAGS_PER_KEY) throw new KmsError('KMS.0409', `A key carries at most ${MAX_TAGS_PER_KEY} tags.`);
      await tx.changeTags(keyId, set, remove);
    });
  }

  /** Removes one tag; KMS.0416 (404) when the key does not carry it. */
  async removeOne(ctx: CallerContext, keyId: string, tagKey: string): Promise<void> {
    await this.keys.get(ctx, keyId);
    await this.store.transaction(async (tx) => {
      if (!(await tx.getTags(keyId)).some((t) => t.key === tagKey)) throw new KmsError('KMS.0416', `The key has no tag ${tagKey}.`);
      await tx.changeTags(keyId, [], [tagKey]);
    });
  }

  /** Every tag key used in the project with its distinct values (ListKmsTags). */
  async projectTags(ctx: CallerContext): Promise<{ key: string; values: string[] }[]> {
    const byKey = new Map<string, Set<string>>();
    for (const t of await this.store.projectTags(ctx.projectId)) {
      let values = byKey.get(t.key);
      if (!values) byKey.set(t.key, (values = new Set()));
      values.add(t.value);
    }
    return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, values]) => ({ key, values: [...values].sort() }));
  }

  /** The keys of the project that match the filter, newest first, with their tags. */
  async find(ctx: CallerContext, filter: TagFilter): Promise<TaggedKey[]> {
    const now = this.clock();
    const tagsOf = new Map<string, KeyTag[]>();
    for (const t of await this.store.projectTags(ctx.projectId)) {
      const list = tagsOf.get(t.keyId) ?? [];
      list.push({ key: t.key, value: t.value });
      tagsOf.set(t.keyId, list);
    }
    const all = (await this.store.listKeys(ctx.projectId, { aliveAt: now }, 0, Number.MAX_SAFE_INTEGER)).keys.filter((k) => !isDestroyed(k, now));
    const matches = (key: KeyRecord, tags: KeyTag[]) =>
      filter.tags.every((f) => tags.some((t) => t.key === f.key && (f.values.length === 0 || f.values.includes(t.value)))) &&
      filter.names.every((n) => key.alias.includes(n));
    return all
      .map((key) => ({ key, tags: tagsOf.get(key.id) ?? [] }))
      .filter((k) => matches(k.key, k.tags))
      .sort((a, b) => b.key.createdAt - a.key.createdAt || (a.key.id < b.key.id ? 1 : -1));
  }
}
