/**
 * Grants (docs/reference/huawei-kms-api.md §2 J, §4 J 39–43; OTC "Managing a Grant"): a key's owner lets a user, or
 * every user of an account (`grantee_principal_type` domain), run the listed operations on that one key, until the
 * grant is revoked (by the key's account) or retired (by its retiring principal, its issuer, or the grantee when the
 * grant lists `retire-grant`). A grantee of another account reaches the key through the key's own project. Grants are
 * checked where the IAM policies are (api/kms/pipeline.ts): a grant allows what the policies do not, an explicit
 * Deny of the key's account still refuses. A grantee holding `create-grant` may grant onward only what it holds.
 */
import { randomBytes } from 'node:crypto';
import { KmsError } from '../errors.js';
import type { GrantRecord, KmsStore } from '../storage/kms-store.js';
import type { CallerContext, Clock } from './context.js';
import { assertNotPendingDeletion, isDefaultKey } from './key.js';
import type { KeyService } from './keys.js';

/** The operations a grant may list (docs/reference/huawei-kms-api.md §3.3, CreateGrantRequestBody.operations). */
export const GRANT_OPERATIONS = [
  'create-datakey', 'create-datakey-without-plaintext', 'encrypt-datakey', 'decrypt-datakey', 'describe-key',
  'create-grant', 'retire-grant', 'encrypt-data', 'decrypt-data',
] as const;
export type GrantOperation = (typeof GRANT_OPERATIONS)[number];

/** Grants a key may hold by default (OTC user guide: "A maximum of 100 grants can be created for a custom key"). */
export const DEFAULT_GRANT_QUOTA = 100;

/** Whether an IAM user or account exists (IAM answers; KMS.2402 otherwise). */
export interface PrincipalDirectory {
  principalExists(kind: 'user' | 'domain', id: string): Promise<boolean>;
}

export interface CreateGrantInput {
  keyId: string;
  grantee: string;
  granteeType: 'user' | 'domain';
  operations: GrantOperation[];
  name: string;
  retiringPrincipal: string;
}

export interface GrantPage {
  grants: GrantRecord[];
  total: number;
  /** The offset of the next page as a string, '' on the last page (Huawei's `next_marker`). */
  nextMarker: string;
}

export class GrantService {
  constructor(
    private readonly store: KmsStore,
    private readonly keys: KeyService,
    private readonly principals: PrincipalDirectory,
    private readonly clock: Clock,
    private readonly options: { grantQuota: number },
  ) {}

  /** Grants per key (ShowUserQuotas `grant_per_CMK` quota). */
  get quota(): number {
    return this.options.grantQuota;
  }

  /**
   * Creates a grant on a key of the caller's project. KMS.0207 unknown key, KMS.0210 pending deletion, KMS.0211
   * default key, KMS.2401 `create-grant` alone, KMS.2402 no such grantee or retiring principal, KMS.2404 the key
   * holds its quota of grants. `heldOperations`: when the caller acts through grants of its own, what they allow
   * (a grantee grants onward only those; KMS.0306 otherwise).
   */
  async create(ctx: CallerContext, input: CreateGrantInput, heldOperations?: readonly string[]): Promise<GrantRecord> {
    const key = await this.keys.get(ctx, input.keyId);
    assertNotPendingDeletion(key);
    if (isDefaultKey(key)) throw new KmsError('KMS.0211');
    const operations = [...new Set(input.operations)];
    if (operations.length === 1 && operations[0] === 'create-grant') throw new KmsError('KMS.2401');
    if (heldOperations) {
      const beyond = operations.filter((op) => !heldOperations.includes(op));
      if (beyond.length > 0) throw new KmsError('KMS.0306', `A grantee may grant only operations its grants allow; not ${beyond.join(', ')}.`);
    }
    if (!(await this.principals.principalExists(input.granteeType, input.grantee))) {
      throw new KmsError('KMS.2402', `No ${input.granteeType === 'domain' ? 'account' : 'user'} has the id ${input.grantee}.`);
    }
    if (input.retiringPrincipal !== '' && !(await this.principals.principalExists('user', input.retiringPrincipal))) {
      throw new KmsError('KMS.2402', `No user has the id ${input.retiringPrincipal} (retiring_principal).`);
    }
    const grant: GrantRecord = {
      id: randomBytes(32).toString('hex'), keyId: key.id, name: input.name, grantee: input.grantee, granteeType: input.granteeType,
      operations, issuer: ctx.caller.userId, retiringPrincipal: input.retiringPrincipal, createdAt: this.clock(),
    };
    await this.store.transaction(async (tx) => {
      if ((await tx.countGrants(key.id)) >= this.options.grantQuota) {
        throw new KmsError('KMS.2404', `A key holds at most ${this.options.grantQuota} grants.`);
      }
      await tx.insertGrant(grant);
    });
    return grant;
  }

  /** Grants on a key of the caller's project, oldest first; `marker` is the offset ('' = 0). KMS.0207. */
  async list(ctx: CallerContext, keyId: string, limit: number, marker: number): Promise<GrantPage> {
    await this.keys.get(ctx, keyId);
    return page(await this.store.listGrants(keyId, marker, limit), marker);
  }

  /** Grants of this region whose retiring principal is the caller. */
  async listRetirable(ctx: CallerContext, limit: number, marker: number): Promise<GrantPage> {
    return page(await this.store.listRetirableGrants(ctx.caller.userId, marker, limit), marker);
  }

  /** Revokes a grant of a key of the caller's project: KMS.0207 unknown key, KMS.2501 unknown grant, KMS.2502 another key's. */
  async revoke(ctx: CallerContext, keyId: string, grantId: string): Promise<void> {
    await this.keys.get(ctx, keyId);
    await this.#grantOf(ctx, keyId, grantId);
    await this.store.deleteGrant(grantId);
  }

  /** Retires a grant (who may was decided before: the IAM policies, or `isRetirer`); the errors of `revoke`. */
  async retire(ctx: CallerContext, keyId: string, grantId: string): Promise<void> {
    await this.revoke(ctx, keyId, grantId);
  }

  /**
   * The grants the caller holds on a key of `ctx`'s project (by user id, or by the caller's account for domain
   * grants); none for a key of another project.
   */
  async held(ctx: CallerContext, keyId: string): Promise<GrantRecord[]> {
    if (!(await this.keys.find(ctx, keyId))) return [];
    return this.store.grantsFor(keyId, ctx.caller.userId, ctx.caller.domainId);
  }

  /**
   * Whether the caller may retire a grant without an IAM permission: as its retiring principal, its issuer, or its
   * grantee when it lists `retire-grant` (OTC "Retiring a Grant"). False for an unknown grant (the handler answers it).
   */
  async isRetirer(ctx: CallerContext, keyId: string, grantId: string): Promise<boolean> {
    const grant = await this.store.getGrant(grantId);
    if (!grant || grant.keyId !== keyId || !(await this.keys.find(ctx, keyId))) return false;
    const u = ctx.caller.userId;
    const grantee = grant.granteeType === 'user' ? grant.grantee === u : grant.grantee === ctx.caller.domainId;
    return grant.retiringPrincipal === u || grant.issuer === u || (grantee && grant.operations.includes('retire-grant'));
  }

  /** The largest number of grants a key of the caller's project holds (ShowUserQuotas `grant_per_CMK` used). */
  maxGrantsPerKey(ctx: CallerContext): Promise<number> {
    return this.store.maxGrantsPerKey(ctx.projectId);
  }

  /** KMS.2501 for a grant that does not exist or is on a key of another project (nothing said of it), KMS.2502. */
  async #grantOf(ctx: CallerContext, keyId: string, grantId: string): Promise<GrantRecord> {
    const grant = await this.store.getGrant(grantId);
    if (!grant || !(await this.keys.find(ctx, grant.keyId))) throw new KmsError('KMS.2501', `No grant has the id ${grantId}.`);
    if (grant.keyId !== keyId) throw new KmsError('KMS.2502');
    return grant;
  }
}

function page(found: { grants: GrantRecord[]; total: number }, offset: number): GrantPage {
  const next = offset + found.grants.length;
  return { ...found, nextMarker: next < found.total ? String(next) : '' };
}
