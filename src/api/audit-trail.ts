/**
 * The audit record of a call (audit/audit-store.ts), built from what the request path learned: when it arrived,
 * who called (never their token, signature or secret), the operation and its IAM action, the keys it named, and how
 * it ended. Plaintext, key material, ciphertexts and bodies are never part of it.
 */
import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditCaller, AuditEntry } from '../audit/audit-store.js';
import type { Caller } from '../core/context.js';
import type { CallState, Pipeline } from './mount.js';

export interface AuditOptions<C> {
  service: 'kms' | 'iam';
  /** The region id, or `global` for IAM. */
  region: string;
  /**
   * The caller and the project the call acted on, from the context authentication produced, and the grants that
   * allowed the call when grants did.
   */
  who(ctx: C): { caller: Caller; project: { id: string; name: string } | null; grantIds?: string[] };
}

function entry<C>(o: AuditOptions<C>, call: CallState<C>, req: FastifyRequest, status: number): AuditEntry {
  let caller: AuditCaller | null = null;
  let grantIds: string[] | undefined;
  if (call.ctx !== undefined) {
    const { caller: c, project, grantIds: g } = o.who(call.ctx);
    grantIds = g;
    caller = {
      user_id: c.userId, user_name: c.userName, domain_id: c.domainId, domain_name: c.domainName,
      project_id: project?.id ?? null, project_name: project?.name ?? null, auth_method: c.authMethod, access_key_id: c.accessKeyId ?? null,
    };
  }
  return {
    time: new Date(call.startedAt).toISOString(),
    request_id: req.id,
    service: o.service,
    region: o.region,
    caller,
    ...(grantIds && grantIds.length > 0 ? { grant_ids: grantIds } : {}),
    source_ip: req.ip,
    operation: call.operation.name,
    action: call.operation.action,
    key_ids: call.keyIds,
    status,
    error_code: status >= 400 ? (call.errorCode ?? null) : null,
    duration_ms: Math.max(0, Date.now() - call.startedAt),
  };
}

/** The audit steps of a pipeline, writing to `log`. */
export function auditSteps<S, C>(log: AuditLog, o: AuditOptions<C>): Pipeline<S, C>['audit'] {
  return {
    open: (call, req) => log.open(entry(o, call, req, 0)),
    close: (call, req, status) => log.record(entry(o, call, req, status)),
  };
}
