/**
 * The steps of a KMS request that belong to a region (mount.ts runs them): authentication (authenticate.ts), the
 * permission check, and the audit trail.
 *
 * The permission check evaluates the operation's IAM action against the policies the caller's groups hold in the
 * project and on all projects (fetched once from IAM, then cached and kept current by IAM's change feed: no IAM
 * round trip per call). Each key the call names is a resource `kms:<region>:<domain_id>:KeyId:<key_id>`; the key's
 * attributes are condition values (`kms:KeySpec`, `kms:KeyUsage`, `kms:KeyOrigin`, `kms:MultiRegionKeyType`,
 * `kms:PrimaryRegion`), loaded only when a policy asks for them; create-key's come from its request. Global keys:
 * `g:ProjectName`, `g:ProjectId`, `g:UserName`, `g:UserId`, `g:DomainName`, `g:CurrentTime`, `g:SourceIp`
 * (huawei-auth.md §4.4). A call is refused with 403 KMS.0306 unless every key is allowed.
 */
import type { AuditLog } from '../../audit/audit-log.js';
import type { CallerContext } from '../../core/context.js';
import type { KeyRecord } from '../../core/key.js';
import { KmsError } from '../../errors.js';
import type { ConditionValue } from '../../iam/policy-document.js';
import { conditionKeysFor, contextFrom, evaluate } from '../../iam/policy-evaluation.js';
import type { IamClient } from '../../regions/iam-client.js';
import { auditSteps } from '../audit-trail.js';
import type { Pipeline } from '../mount.js';
import { authenticate } from './authenticate.js';
import type { RegionServices } from './operations/common.js';

export interface KmsPipelineOptions {
  services: RegionServices;
  iam: IamClient;
  audit: AuditLog;
  checkResponses: boolean;
}

/** The condition values a key carries. */
export function keyConditions(key: KeyRecord, region: string): Record<string, string> {
  const type = key.primaryRegion === null ? 'SINGLE' : key.primaryRegion === region ? 'PRIMARY' : 'REPLICA';
  return {
    'kms:KeySpec': key.spec,
    'kms:KeyUsage': key.usage,
    'kms:KeyOrigin': key.origin,
    'kms:MultiRegionKeyType': type,
    ...(key.primaryRegion !== null ? { 'kms:PrimaryRegion': key.primaryRegion } : {}),
  };
}

/** The resource URN of a key (huawei-auth.md §4.4: service:region:account-id:resource-type:resource-path). */
export const keyUrn = (region: string, domainId: string, keyId: string): string => `kms:${region}:${domainId}:KeyId:${keyId}`;

export function kmsPipeline(o: KmsPipelineOptions): Pipeline<RegionServices, CallerContext> {
  const region = o.services.region;
  return {
    services: o.services,
    checkResponses: o.checkResponses,
    authenticate: (req) => authenticate(req, o.iam, region, (req.params as { project_id?: string }).project_id ?? '', Date.now()),
    authorize: async (ctx, op, input, req) => {
      if (op.action === null) return;
      const action = op.action;
      const perms = await o.iam.permissions(ctx.caller.userId, ctx.projectId, ctx.domainId);
      if (!perms.enabled) throw new KmsError('APIGW.0301', 'The user is disabled or no longer exists.');
      const fromRequest = Object.fromEntries(Object.entries(op.conditions?.(input) ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string>;
      const asked = [...conditionKeysFor(perms.policies, action)];
      const needsKey = asked.some((k) => k.startsWith('kms:') && !Object.keys(fromRequest).some((r) => r.toLowerCase() === k));
      const base: Record<string, ConditionValue | undefined> = {
        'g:ProjectName': ctx.projectName, 'g:ProjectId': ctx.projectId, 'g:UserId': ctx.caller.userId, 'g:UserName': ctx.caller.userName,
        'g:DomainName': ctx.caller.domainName, 'g:CurrentTime': new Date().toISOString(), 'g:SourceIp': req.ip, ...fromRequest,
      };
      const keyIds = op.keyIds(input);
      for (const keyId of keyIds.length > 0 ? keyIds : [null]) {
        let values = base;
        if (keyId !== null && needsKey) {
          const key = await o.services.keys.find(ctx, keyId);
          if (key) values = { ...keyConditions(key, region), ...base };
        }
        const resource = keyId === null ? null : keyUrn(region, ctx.domainId, keyId);
        const decision = evaluate(perms.policies, { action, resource, context: contextFrom(values) });
        if (decision.effect !== 'allow') {
          const on = keyId === null ? '' : ` on key ${keyId}`;
          const why = decision.effect === 'explicit-deny' ? `: denied by ${decision.statement?.policy ?? 'a policy'}` : '';
          throw new KmsError('KMS.0306', `${action} is not allowed${on}${why}.`);
        }
      }
    },
    audit: auditSteps(o.audit, { service: 'kms', region, who: (ctx) => ({ caller: ctx.caller, project: { id: ctx.projectId, name: ctx.projectName } }) }),
  };
}
