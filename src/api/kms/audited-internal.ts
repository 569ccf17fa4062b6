/**
 * What the region's internal route groups share (internal.ts between regions, seed-routes.ts for `strongroom
 * seed`/`export`): every call in the audit trail, one that changes state recorded pending first and taken once (a
 * copy of its signed bytes within the date window is refused: KMS.0306), and every answer signed with the
 * deployment's secret after the audit record, so the signature covers the final answer.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../audit/audit-log.js';
import type { AuditEntry } from '../../audit/audit-store.js';
import { KmsError } from '../../errors.js';
import { MAX_SKEW_MS } from '../../internal-auth.js';
import type { AppliedRequestStore } from '../../storage/leases.js';
import { signAnswers } from '../http.js';

export interface AuditedRoutes {
  region: string;
  secret: Buffer;
  audit: AuditLog;
  applied: AppliedRequestStore;
  /** Which API refuses a copy, for its message ("Internal API", "Seed API"). */
  name: string;
  /** Whether the call changes state (then it is recorded pending and claimed once). */
  changes(req: FastifyRequest): boolean;
  /** The call's audit record with this status (`time` and `duration_ms` from `startedAt`, epoch ms). */
  entry(req: FastifyRequest, status: number, startedAt: number): AuditEntry;
}

/** Adds the audit, replay and signing hooks to a route group (register them after its authentication hook). */
export function auditedInternalHooks(group: FastifyInstance, o: AuditedRoutes): void {
  const started = new WeakMap<FastifyRequest, number>();
  const entry = (req: FastifyRequest, status: number) => o.entry(req, status, started.get(req) ?? Date.now());
  group.addHook('onRequest', async (req) => void started.set(req, Date.now()));
  group.addHook('preHandler', async (req) => {
    if (!o.changes(req)) return;
    const signature = /signature=([0-9a-f]{64})$/.exec(req.headers.authorization ?? '')![1]!;
    const now = Date.now();
    if (!(await o.applied.claimRequest(`internal:${signature}`, now, now + 2 * MAX_SKEW_MS))) {
      throw new KmsError('KMS.0306', `${o.name}: this call was received already (a replay).`);
    }
    await o.audit.open(entry(req, 0));
  });
  group.addHook('onSend', async (req, reply, payload) => {
    try {
      await o.audit.record({ ...entry(req, reply.statusCode), error_code: reply.statusCode >= 400 ? (/"error_code":"([^"]+)"/.exec(String(payload))?.[1] ?? null) : null });
      return payload;
    } catch (err) {
      req.log.error({ err }, 'the audit record could not be written');
      reply.code(500);
      return JSON.stringify({ error: { error_code: 'KMS.0103', error_msg: 'The audit trail cannot be written.' } });
    }
  });
  signAnswers(group, o.secret, o.region);
}
