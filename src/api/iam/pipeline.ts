/**
 * The steps of an IAM request that belong to IAM (mount.ts runs them): who is calling (an access-key signature or
 * an X-Auth-Token, checked here where the secrets are), whether they may (the action of the operation evaluated
 * against what their groups were granted on the account), and the audit trail.
 * Password logins are limited per source address first (429 APIGW.0308).
 * Errors: APIGW.0301/0307 (401) for credentials, IAM.0004 (403) for a missing permission.
 */
import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../../audit/audit-log.js';
import { KmsError } from '../../errors.js';
import type { IamService, Principal } from '../../iam/iam-service.js';
import { auditSteps } from '../audit-trail.js';
import { header, signatureCandidates } from '../http.js';
import type { Pipeline } from '../mount.js';
import type { Operation, OperationInput } from '../operation.js';
import { decideOnAccount, type IamContext, type IamServices } from './operations/common.js';

/** What a temporary access key of a project-scoped token may call on IAM: reading its own project. */
const TEMPORARY_KEY_OPERATIONS = new Set(['KeystoneListProjects']);

/**
 * Password logins: limited per source address before anything else is done with them (iam/login-guard.ts). The
 * source is the connection's peer: fastify does not trust X-Forwarded-For here (no trustProxy).
 */
const PASSWORD_LOGIN_OPERATIONS = new Set(['KeystoneCreateUserTokenByPassword']);

async function caller(req: FastifyRequest, iam: IamService): Promise<IamContext> {
  const authorization = header(req, 'authorization');
  let p: Principal;
  if (authorization?.startsWith('SDK-HMAC-SHA256')) {
    const pre = signatureCandidates(req, Date.now());
    p = await iam.verifySignature(pre.auth.accessKey, pre.candidates, pre.auth.signature, header(req, 'x-security-token'));
  } else if (authorization !== undefined) {
    throw new KmsError('APIGW.0301', 'Only the SDK-HMAC-SHA256 signature algorithm is supported.');
  } else {
    const token = header(req, 'x-auth-token');
    if (!token) throw new KmsError('APIGW.0301', 'Send an X-Auth-Token or sign the request with an access key.');
    const claims = await iam.validateToken(token);
    p = { user: claims.user, domain: claims.domain, method: 'token', tokenProject: claims.project, token: { id: claims.jti, expiresAt: claims.exp } };
  }
  return {
    principal: p,
    caller: {
      userId: p.user.id, userName: p.user.name, domainId: p.domain.id, domainName: p.domain.name,
      authMethod: p.method === 'token' ? 'token' : p.temporary ? 'temporary-access-key' : 'access-key',
      ...(p.accessKey ? { accessKeyId: p.accessKey } : {}),
      ...(p.token ? { tokenId: p.token.id } : p.sourceTokenId ? { tokenId: p.sourceTokenId } : {}),
    },
    ...(p.scopeProjectId !== undefined ? { scopeProjectId: p.scopeProjectId } : {}),
  };
}

export interface IamPipelineOptions {
  services: IamServices;
  audit: AuditLog;
  checkResponses: boolean;
}

export function iamPipeline(o: IamPipelineOptions): Pipeline<IamServices, IamContext> {
  const s = o.services;

  /** A user acting on their own entry (their password, their access keys) needs no permission. */
  async function actsOnSelf(ctx: IamContext, op: Operation<IamServices, IamContext>, input: OperationInput<unknown, unknown, unknown>): Promise<boolean> {
    if (!op.selfService) return false;
    const target = op.selfService(input);
    if (target.accessKey !== undefined) {
      const key = await s.iam.accessKey(ctx.caller.domainId, target.accessKey).catch(() => null);
      return key !== null && key.userId === ctx.caller.userId;
    }
    return target.userId === undefined || target.userId === ctx.caller.userId;
  }

  return {
    services: s,
    checkResponses: o.checkResponses,
    authenticate: (req) => caller(req, s.iam),
    admission: (op) => (PASSWORD_LOGIN_OPERATIONS.has(op.name) ? (_ctx, req) => s.iam.loginGuard.admitSource(req.socket.remoteAddress ?? '') : undefined),
    authorize: async (ctx, op, input, req) => {
      if (op.action === null) return;
      if (ctx.scopeProjectId !== undefined && !TEMPORARY_KEY_OPERATIONS.has(op.name)) {
        throw new KmsError('IAM.0004', 'A temporary access key issued for a project-scoped token acts only on that project.');
      }
      const decision = await decideOnAccount(s, ctx, op.action, req.ip);
      // Acting on one's own entry is allowed without a grant, but an explicit Deny still wins.
      if (decision.effect === 'implicit-deny' && (await actsOnSelf(ctx, op, input))) return;
      if (decision.effect !== 'allow') {
        throw new KmsError('IAM.0004', `Policy doesn't allow ${op.action} to be performed${decision.effect === 'explicit-deny' ? ` (denied by ${decision.statement?.policy ?? 'a policy'})` : ''}.`);
      }
    },
    audit: auditSteps(o.audit, { service: 'iam', region: 'global', who: (ctx) => ({ caller: ctx.caller, project: ctx.principal.tokenProject ? { id: ctx.principal.tokenProject.id, name: ctx.principal.tokenProject.name } : null }) }),
  };
}
