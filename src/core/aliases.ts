/**
 * Aliases of keys (docs/reference/huawei-kms-api.md §2 B, §4 B 11–14; the DEW user guide's "Key Alias"): names of the
 * form `alias/<name>` that are unique in the account within a region, each pointing at one key, at most 50 per key,
 * never renamed (an alias is created, moved to another key, or deleted). They are records of their own, apart from
 * a key's `key_alias` (its name, which the guide says the alias API does not use): the two never collide and
 * neither changes the other. A key's aliases go when the key is destroyed; replicas have aliases of their own.
 */
import { KmsError } from '../errors.js';
import { DuplicateAliasError, type AliasRecord, type KmsStore } from '../storage/kms-store.js';
import type { CallerContext, Clock } from './context.js';
import { assertNotPendingDeletion, isDefaultKey, type KeyRecord } from './key.js';
import type { KeyService } from './keys.js';

/** Aliases one key may have (DEW user guide, Key Alias: "A maximum of 50 aliases can be created for a key"). */
export const MAX_ALIASES_PER_KEY = 50;

export interface AliasPage {
  aliases: AliasRecord[];
  /** The last alias of this page when more follow, '' on the last page. */
  nextMarker: string;
}

export class AliasService {
  constructor(
    private readonly store: KmsStore,
    private readonly keys: KeyService,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates `alias` for a key of the caller's project. KMS.0207 (404) unknown key, KMS.0210 pending deletion,
   * KMS.0211 default key, KMS.1104 alias taken in the account, KMS.0308 the key has 50 aliases already.
   */
  async create(ctx: CallerContext, keyId: string, alias: string): Promise<AliasRecord> {
    const key = usable(await this.keys.get(ctx, keyId));
    const now = this.clock();
    const record: AliasRecord = { domainId: key.domainId, alias, keyId, createdAt: now, updatedAt: now };
    try {
      await this.store.transaction(async (tx) => {
        if ((await tx.countAliases(keyId)) >= MAX_ALIASES_PER_KEY) {
          throw new KmsError('KMS.0308', `A key has at most ${MAX_ALIASES_PER_KEY} aliases.`);
        }
        await tx.insertAlias(record);
      });
    } catch (err) {
      if (err instanceof DuplicateAliasError) throw new KmsError('KMS.1104', `The alias ${alias} is already in use in this account and region.`);
      throw err;
    }
    return record;
  }

  /** A page of the project's aliases (of one key when `keyId` is given: KMS.0207 when it is not the caller's). */
  async list(ctx: CallerContext, keyId: string | undefined, limit: number, marker: string): Promise<AliasPage> {
    if (keyId !== undefined) await this.keys.get(ctx, keyId);
    const rows = await this.store.listAliases(ctx.projectId, keyId, marker, limit + 1);
    const aliases = rows.slice(0, limit);
    return { aliases, nextMarker: rows.length > limit ? aliases.at(-1)!.alias : '' };
  }

  /**
   * Points an alias of a key of the caller's project at another key of the project (AssociateAlias). KMS.0308 when
   * the project has no such alias; for the target, the checks of `create`. Moving an alias to its own key changes
   * nothing.
   */
  async associate(ctx: CallerContext, alias: string, targetKeyId: string): Promise<AliasRecord> {
    const target = usable(await this.keys.get(ctx, targetKeyId));
    return this.store.transaction(async (tx) => {
      const current = await tx.getAlias(target.domainId, alias);
      if (!current || !(await tx.getKey(ctx.projectId, current.keyId))) throw new KmsError('KMS.0308', `The project has no alias ${alias}.`);
      if (current.keyId === targetKeyId) return current;
      if ((await tx.countAliases(targetKeyId)) >= MAX_ALIASES_PER_KEY) {
        throw new KmsError('KMS.0308', `A key has at most ${MAX_ALIASES_PER_KEY} aliases.`);
      }
      const now = this.clock();
      await tx.moveAlias(target.domainId, alias, targetKeyId, now);
      return { ...current, keyId: targetKeyId, updatedAt: now };
    });
  }

  /** The key of the caller's project an alias points at now, or null. */
  async holder(ctx: CallerContext, alias: string): Promise<string | null> {
    const found = await this.store.getAlias(ctx.domainId, alias);
    return found && (await this.keys.find(ctx, found.keyId)) ? found.keyId : null;
  }

  /**
   * The key an alias names, for a `key_id` given as `alias/<name>` or as its URN `kms:<region>:<domain_id>:alias:
   * <alias>` (the DEW guide: "you can use the alias as the key ID during API calling"): KMS.0207 (404) when the
   * caller's project has no such alias (or the URN is of another region or account); null when `keyId` is neither
   * form (a key id, left to validation).
   */
  async resolve(ctx: CallerContext, keyId: string): Promise<string | null> {
    const urn = /^kms:([^:]*):([^:]*):alias:(alias\/.+)$/.exec(keyId);
    const alias = urn ? urn[3]! : keyId.startsWith('alias/') ? keyId : null;
    if (alias === null) return null;
    const found = urn && (urn[1] !== ctx.region || urn[2] !== ctx.domainId) ? null : await this.holder(ctx, alias);
    if (found === null) throw new KmsError('KMS.0207', `No key of the project has the alias ${alias}.`);
    return found;
  }

  /**
   * Deletes aliases of a key, all or none: KMS.0207 unknown key, KMS.0308 when one of them is not an alias of
   * that key.
   */
  async delete(ctx: CallerContext, keyId: string, aliases: readonly string[]): Promise<void> {
    const key = await this.keys.get(ctx, keyId);
    await this.store.transaction(async (tx) => {
      for (const a of aliases) {
        const found = await tx.getAlias(key.domainId, a);
        if (!found || found.keyId !== keyId) throw new KmsError('KMS.0308', `${a} is not an alias of key ${keyId}.`);
      }
      await tx.deleteAliases(key.domainId, aliases);
    });
  }
}

/** A key an alias may point at: not pending deletion (KMS.0210), not a default key (KMS.0211). */
function usable(key: KeyRecord): KeyRecord {
  assertNotPendingDeletion(key);
  if (isDefaultKey(key)) throw new KmsError('KMS.0211');
  return key;
}
