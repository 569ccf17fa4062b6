/**
 * Who is calling a region, and on which project: an SDK-HMAC-SHA256 signature (checked by IAM, which holds the
 * secret keys) or an `X-Auth-Token` (checked here with IAM's public key). The project in the path must be the
 * token's project, or a project of the access key's account (and the one project of a temporary key issued for a
 * project-scoped token); and it must belong to this region. (docs/reference/huawei-auth.md §3.5, §4.5.) A project of
 * another account in this region is let through marked `foreign`: such a caller acts through that account's grants
 * only. Errors: APIGW.0301/0307 (401) for missing or wrong credentials, KMS.0321/KMS.0306 (403) for the wrong project.
 */
import type { FastifyRequest } from 'fastify';
import type { CallerContext } from '../../core/context.js';
import { KmsError } from '../../errors.js';
import { header, signatureCandidates } from '../http.js';
import type { IamClient } from '../../regions/iam-client.js';

export async function authenticate(req: FastifyRequest, iam: IamClient, region: string, projectId: string, now: number): Promise<CallerContext> {
  const authorization = header(req, 'authorization');
  if (authorization !== undefined) {
    if (!authorization.startsWith('SDK-HMAC-SHA256')) {
      throw new KmsError('APIGW.0301', 'Only the SDK-HMAC-SHA256 signature algorithm is supported.');
    }
    const pre = signatureCandidates(req, now);
    const xProject = header(req, 'x-project-id');
    if (xProject !== undefined && xProject !== projectId) throw new KmsError('KMS.0321', 'X-Project-Id differs from the project in the URL.');
    const verified = await iam.verifySignature({
      accessKey: pre.auth.accessKey, candidates: pre.candidates, signature: pre.auth.signature,
      securityToken: header(req, 'x-security-token'), projectId,
    });
    const project = verified.project ?? verified.foreignProject;
    if (!project) throw new KmsError('KMS.0306', 'The project does not exist or does not belong to your account.');
    if (project.region !== region) throw new KmsError('KMS.0306', `The project belongs to region ${project.region}, not ${region}.`);
    const p = verified.principal;
    return {
      projectId, projectName: project.name, domainId: project.domainId, region, ...(verified.project ? {} : { foreign: true }),
      caller: {
        userId: p.user.id, userName: p.user.name, domainId: p.domain.id, domainName: p.domain.name,
        authMethod: p.temporary ? 'temporary-access-key' : 'access-key', accessKeyId: p.accessKey ?? pre.auth.accessKey,
        ...(p.sourceTokenId ? { tokenId: p.sourceTokenId } : {}),
        ...(p.scopeProjectId !== undefined ? { projectScope: p.scopeProjectId } : {}),
      },
    };
  }
  const token = header(req, 'x-auth-token');
  if (token === undefined || token === '') {
    throw new KmsError('APIGW.0301', 'Send an X-Auth-Token or sign the request with an access key (SDK-HMAC-SHA256).');
  }
  const xProject = header(req, 'x-project-id');
  if (xProject !== undefined && xProject !== projectId) throw new KmsError('KMS.0321', 'X-Project-Id differs from the project in the URL.');
  const claims = iam.checkToken(token);
  if (!claims.project) throw new KmsError('KMS.0321', 'KMS needs a token scoped to a project.');
  const caller = { userId: claims.user.id, userName: claims.user.name, domainId: claims.domain.id, domainName: claims.domain.name, authMethod: 'token' as const, tokenId: claims.jti, tokenIssuedAt: claims.iat, tokenProjectId: claims.project.id };
  if (claims.project.id !== projectId) {
    // Another account's project in this region: the caller may act there through that account's grants only.
    const foreign = await iam.project(projectId);
    if (!foreign || foreign.domainId === claims.domain.id || foreign.region !== region || claims.project.region !== region) {
      throw new KmsError('KMS.0321', 'The token is scoped to another project.');
    }
    return { projectId, projectName: foreign.name, domainId: foreign.domainId, region, foreign: true, caller };
  }
  if (claims.project.region !== region) throw new KmsError('KMS.0306', `The project belongs to region ${claims.project.region}, not ${region}.`);
  return { projectId, projectName: claims.project.name, domainId: claims.domain.id, region, caller };
}
