/**
 * The steps of a KMS request that belong to a region (mount.ts runs them): authentication (authenticate.ts),
 * throttling when it is on (throttling.ts: per user and operation class, 429 APIGW.0308), the permission check, and
 * the audit trail.
 *
 * The permission check evaluates the operation's IAM action against the policies the caller's groups hold in the
 * project and on all projects (fetched once from IAM, then cached and kept current by IAM's change feed: no IAM
 * round trip per call). Each key the call names is a resource `kms:<region>:<domain_id>:KeyId:<key_id>`; the key's
 * attributes are condition values (`kms:KeySpec`, `kms:KeyUsage`, `kms:KeyOrigin`, `kms:MultiRegionKeyType`,
 * `kms:PrimaryRegion`), loaded only when a policy asks for them; create-key's come from its request. Global keys:
 * `g:ProjectName`, `g:ProjectId`, `g:UserName`, `g:UserId`, `g:DomainName`, `g:CurrentTime`, `g:SourceIp`
 * (docs/reference/huawei-auth.md §4.4). A call is refused with 403 KMS.0306 unless every key is allowed. A call that
 * also acts in another project (replicate creates a key in the replica's project) needs its action there too.
 *
 * Grants (core/grants.ts) are decided at the same point: where the policies allow nothing (no explicit Deny), the
 * operation's `resourcePermission` (the caller's grants on every key it names) may allow the call; a caller of
 * another account (authentication marks it `foreign`) gets in through grants only.
 */
import type { AuditLog } from '../../audit/audit-log.js';
import type { CallerContext } from '../../core/context.js';
import type { KeyRecord } from '../../core/key.js';
import { KmsError, ThrottledError } from '../../errors.js';
import type { ConditionValue } from '../../iam/policy-document.js';
import { conditionKeysFor, contextFrom, evaluate } from '../../iam/policy-evaluation.js';
import type { IamClient } from '../../regions/iam-client.js';
import type { CallerPermissions } from '../../regions/permission-cache.js';
import { auditSteps } from '../audit-trail.js';
import type { Pipeline } from '../mount.js';
import type { Throttle } from '../throttling.js';
import { authenticate } from './authenticate.js';
import { TokenBuckets, type MonotonicClock } from '../../token-buckets.js';
import type { ReplayGuard } from '../replay-guard.js';
import { KMS_OPERATIONS } from './catalogue.js';
import type { RegionServices } from './operations/common.js';

/** Operations whose body `key_id` names an existing key and may be given as an alias (core/aliases.ts `resolve`). */
const ALIAS_KEY_ID_OPS = new Set(KMS_OPERATIONS.filter((op) => !op.path.includes('{key_id}') && !op.name.endsWith('Alias')
  && typeof (op.body as { properties?: Record<string, unknown> } | undefined)?.properties?.key_id === 'object').map((op) => op.name));

export interface KmsPipelineOptions {
  services: RegionServices;
  iam: IamClient;
  audit: AuditLog;
  checkResponses: boolean;
  /** Per-user rate limits (throttling.ts); none when throttling is off. */
  throttle?: Throttle;
  /** Refuses copies of signed requests that changed state (replay-guard.ts). */
  replay?: ReplayGuard;
  /** The clock of the failed-authentication limit (FAILED_AUTH_LIMITS), in milliseconds; default performance.now(). */
  authClock?: MonotonicClock;
}

/** The condition values a key carries. */
export function keyConditions(key: KeyRecord, region: string): Record<string, string> {
  const type = key.primaryRegion === null ? 'SINGLE' : key.primaryRegion === region ? 'PRIMARY' : 'REPLICA'; // as multi_region_key_type
  return {
    'kms:KeySpec': key.spec,
    'kms:KeyUsage': key.usage,
    'kms:KeyOrigin': key.origin,
    'kms:MultiRegionKeyType': type,
    ...(key.primaryRegion !== null ? { 'kms:PrimaryRegion': key.primaryRegion } : {}),
  };
}

/**
 * The resource URN of a key (docs/reference/huawei-auth.md §4.4:
 * service:region:account-id:resource-type:resource-path).
 */
export const keyUrn = (region: string, domainId: string, keyId: string): string => `kms:${region}:${domainId}:KeyId:${keyId}`;

/**
 * Failed authentications a source address may have (per second, and in a burst) before the region refuses its
 * calls for a while without checking them (429 APIGW.0308): made-up credentials sent at line rate cost a check each
 * only up to this rate.
 */
export const FAILED_AUTH_LIMITS = { ratePerSecond: 50, burst: 200 } as const;

export function kmsPipeline(o: KmsPipelineOptions): Pipeline<RegionServices, CallerContext> {
  const region = o.services.region;
  const failures = new TokenBuckets({ ...FAILED_AUTH_LIMITS, clock: o.authClock });
  return {
    services: o.services,
    checkResponses: o.checkResponses,
    authenticate: async (req, op) => {
      const wait = failures.waitFor(req.ip);
      if (wait > 0) throw new ThrottledError('policy ip over ratelimit: too many failed authentications', wait);
      let ctx: CallerContext;
      try {
        ctx = await authenticate(req, o.iam, region, (req.params as { project_id?: string }).project_id ?? '', Date.now());
      } catch (err) {
        if (err instanceof KmsError && (err.code === 'APIGW.0301' || err.code === 'APIGW.0307')) failures.take(req.ip);
        throw err;
      }
      // An alias (or its URN) in place of a body's key_id names the key it points at, before validation and the
      // permission check see the call (core/aliases.ts).
      const b = req.body as Record<string, unknown> | undefined;
      if (ALIAS_KEY_ID_OPS.has(op.name) && typeof b?.key_id === 'string') {
        const keyId = await o.services.aliases.resolve(ctx, b.key_id);
        if (keyId !== null) b.key_id = keyId;
      }
      return ctx;
    },
    // Counted per user (a token's user, an access key's owner) and operation class, after authentication.
    ...(o.throttle ? { admission: (op) => o.throttle!.admission<CallerContext>(op, (ctx) => ctx.caller.userId) } : {}),
    ...(o.replay ? { replay: o.replay } : {}),
    authorize: async (ctx, op, input, req, keyIds) => {
      if (op.action === null) return;
      /** Grants (or another permission of the resource) in place of the policies; KMS.0306 with `why` when none. */
      const byResource = async (why: string) => {
        const granted = await op.resourcePermission?.(o.services, ctx, input, keyIds);
        if (!granted) {
          // Another account's project is refused as one that does not exist: nothing is said of it.
          if (ctx.foreign && ctx.caller.authMethod === 'token') throw new KmsError('KMS.0321', 'The token is scoped to another project.');
          if (ctx.foreign) throw new KmsError('KMS.0306', 'The project does not exist or does not belong to your account.');
          throw new KmsError('KMS.0306', why);
        }
        ctx.grants = { ids: granted.by, operations: granted.operations };
      };
      /** The caller is still enabled, and a token of theirs newer than their last password change or disable. */
      const current = (perms: CallerPermissions) => {
        if (!perms.enabled) throw new KmsError('APIGW.0301', 'The user is disabled or no longer exists.');
        if (ctx.caller.tokenIssuedAt !== undefined && ctx.caller.tokenIssuedAt < (perms.tokens_not_before ?? 0)) {
          throw new KmsError('APIGW.0301', 'The token was issued before the user\'s password changed or the user was disabled.');
        }
      };
      if (ctx.foreign) {
        // A caller of another account: only what the key's own grants allow, whatever its own policies say; a token's
        // user must still be enabled in its own account (an access key's is checked when IAM verifies the signature).
        if (ctx.caller.tokenProjectId !== undefined) current(await o.iam.permissions(ctx.caller.userId, ctx.caller.tokenProjectId, ctx.caller.domainId));
        await byResource('');
        return;
      }
      const fromRequest = Object.fromEntries(Object.entries(op.conditions?.(input) ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string | readonly string[]>;
      let key: KeyRecord | null | undefined; // loaded once, only if a policy asks for its attributes
      const keyValues = async (keyId: string) => {
        if (key === undefined || key?.id !== keyId) key = await o.services.keys.find(ctx, keyId);
        return key ? keyConditions(key, region) : {};
      };

      /**
       * Decides `action` in one project (the call's, or another it acts in) on every key the call names: null when
       * allowed, else why not and whether a policy denied it explicitly.
       */
      const decide = async (where: { projectId: string; projectName?: string; region: string }, action: string) => {
        const own = where.projectId === ctx.projectId;
        const perms = await o.iam.permissions(ctx.caller.userId, where.projectId, ctx.domainId);
        if (own) current(perms);
        if (!perms.enabled) {
          return { why: `${action} is not allowed in project ${where.projectId}.`, explicit: false };
        }
        const asked = [...conditionKeysFor(perms.policies, action)];
        const needsKey = asked.some((k) => k.startsWith('kms:') && !Object.keys(fromRequest).some((r) => r.toLowerCase() === k));
        const base: Record<string, ConditionValue | readonly ConditionValue[] | undefined> = {
          'g:ProjectName': where.projectName, 'g:ProjectId': where.projectId, 'g:UserId': ctx.caller.userId, 'g:UserName': ctx.caller.userName,
          'g:DomainName': ctx.caller.domainName, 'g:CurrentTime': new Date().toISOString(), 'g:SourceIp': req.ip, ...fromRequest,
        };
        for (const keyId of keyIds.length > 0 ? keyIds : [null]) {
          const values = keyId !== null && needsKey ? { ...(await keyValues(keyId)), ...base } : base;
          const resource = keyId === null ? null : keyUrn(where.region, ctx.domainId, keyId);
          const decision = evaluate(perms.policies, { action, resource, context: contextFrom(values) });
          if (decision.effect !== 'allow') {
            const on = keyId === null ? '' : ` on key ${keyId}`;
            const there = own ? '' : ` in project ${where.projectId} (${where.region})`;
            const explicit = decision.effect === 'explicit-deny';
            const why = explicit ? `: denied by ${decision.statement?.policy ?? 'a policy'}` : '';
            return { why: `${action} is not allowed${on}${there}${why}.`, explicit };
          }
        }
        return null;
      };

      const refused = await decide({ projectId: ctx.projectId, projectName: ctx.projectName, region }, op.action);
      if (refused?.explicit) throw new KmsError('KMS.0306', refused.why);
      if (refused) await byResource(refused.why); // a grant on the key allows what the policies do not
      for (const other of (await op.otherProjects?.(o.services, ctx, input)) ?? []) {
        // A temporary key of a project-scoped token acts in that project only.
        if (ctx.caller.projectScope !== undefined && other.projectId !== ctx.caller.projectScope) {
          throw new KmsError('KMS.0306', 'A temporary access key acts only in the project of the token it was issued for.');
        }
        const there = await decide({ projectId: other.projectId, region: other.region }, other.action);
        if (there) throw new KmsError('KMS.0306', there.why);
      }
    },
    audit: auditSteps(o.audit, { service: 'kms', region, who: (ctx) => ({ caller: ctx.caller, project: { id: ctx.projectId, name: ctx.projectName }, grantIds: ctx.grants?.ids }) }),
  };
}
