/**
 * IAM's internal API, for Strongroom's own regions only (authenticated with the deployment secret, every answer
 * signed): IAM's token-signing public key, project owners, whether a user or account exists, the feed of token revocations and permission changes,
 * callers' permissions in a project, and the verification of access-key signatures; with a verified signature, the
 * access key's verifier (its secret key) sealed for the asking region's transport key, so that the region checks
 * that key's next signatures itself (regions/iam-client.ts; docs/ARCHITECTURE.md says why that is safe).
 */
import type { FastifyInstance } from 'fastify';
import { KmsError } from '../../errors.js';
import type { IamService } from '../../iam/iam-service.js';
import type { Permissions } from '../../iam/permissions.js';
import { verifierContext } from '../../iam/aksk.js';
import { sealFor } from '../../crypto/transport.js';
import { verifyInternal } from '../../internal-auth.js';
import type { IamStore } from '../../storage/iam-store.js';
import { header, signAnswers } from '../http.js';

/** At most this many permission changes per answer; a region that is further behind drops its whole cache. */
const MAX_CHANGES = 1000;

export interface IamInternalApi {
  iam: IamService;
  permissions: Permissions;
  store: IamStore;
  secret: Buffer;
}

/** The node (region id) each internal request came from. */
const internalNode = new WeakMap<object, string>();

const int = (v: unknown, fallback: number): number => (typeof v === 'string' && /^-?\d{1,15}$/.test(v) ? Number(v) : fallback);

export function iamInternalRoutes(app: FastifyInstance, api: IamInternalApi): void {
  const { iam } = api;
  app.register(async (internal) => {
    // Answers are signed too, so a region never acts on an answer that did not come from IAM.
    signAnswers(internal, api.secret, 'iam');
    internal.addHook('preHandler', async (req) => {
      const node = verifyInternal(api.secret, header(req, 'authorization'), req.method, req.url, req.rawBody);
      if (!node) throw new KmsError('KMS.0306', 'Internal API: the caller is not a node of this deployment.');
      internalNode.set(req, node);
    });
    const quiet = { logLevel: 'warn' as const }; // polled several times a second: not one log line each

    internal.get('/internal/v1/token-key', quiet, async () => ({ public_key: iam.tokenPublicKeyPem }));

    internal.get('/internal/v1/projects/:project_id', quiet, async (req) => {
      const p = await iam.getProject((req.params as { project_id: string }).project_id);
      return { project: p && { id: p.id, name: p.name, domain_id: p.domainId, region: p.region } };
    });

    // Whether a grantee exists (KMS create-grant): a user, or an account.
    internal.get('/internal/v1/principals', quiet, async (req) => {
      const q = req.query as Record<string, unknown>;
      if (typeof q.id !== 'string' || (q.kind !== 'user' && q.kind !== 'domain')) throw new KmsError('IAM.0001', 'kind (user or domain) and id are required.');
      return { exists: (q.kind === 'user' ? await api.store.getUser(q.id) : await api.store.getDomain(q.id)) !== null };
    });

    internal.get('/internal/v1/updates', quiet, async (req) => {
      const q = req.query as Record<string, unknown>;
      const revoked = await iam.revocationsSince(Math.max(0, int(q.after, 0)));
      const changesAfter = int(q.changes_after, -1);
      const latestChange = await api.store.latestPermissionChangeSeq();
      const changes = changesAfter < 0 ? [] : await api.store.permissionChangesSince(changesAfter, MAX_CHANGES);
      return {
        ...revoked,
        changes,
        latest_change: changes.length === MAX_CHANGES ? changes.at(-1)!.seq : latestChange,
        changes_complete: changesAfter >= 0,
      };
    });

    internal.get('/internal/v1/permissions', quiet, async (req) => {
      const q = req.query as Record<string, unknown>;
      if (typeof q.user_id !== 'string' || typeof q.project_id !== 'string') throw new KmsError('IAM.0001', 'user_id and project_id are required.');
      const project = await iam.getProject(q.project_id);
      if (!project) return { enabled: true, policies: [] };
      const { user, policies } = await api.permissions.policiesFor(q.user_id, { projectId: project.id, domainId: project.domainId });
      return { enabled: user !== null && user.enabled && user.domainId === project.domainId, policies, tokens_not_before: user?.tokensNotBefore ?? 0 };
    });

    internal.post('/internal/v1/verify-signature', quiet, async (req) => {
      const b = req.json as Record<string, unknown>;
      const candidates = b.candidates;
      if (!Array.isArray(candidates) || candidates.length > 8 || !candidates.every((c) => typeof c === 'string')) throw new KmsError('IAM.0001');
      const principal = await iam.verifySignature(String(b.access_key), candidates as string[], String(b.signature), typeof b.security_token === 'string' ? b.security_token : undefined);
      const project = typeof b.project_id === 'string' ? await iam.getProject(b.project_id) : null;
      const inScope = principal.scopeProjectId === undefined || principal.scopeProjectId === project?.id;
      const owned = project && project.domainId === principal.domain.id && inScope ? project : null;
      // Another account's project: the region lets the caller in through that account's grants only.
      const foreign = project && project.domainId !== principal.domain.id && principal.scopeProjectId === undefined ? project : null;
      const view = (p: NonNullable<typeof project>) => ({ id: p.id, name: p.name, region: p.region, domainId: p.domainId });
      // The region may check this key's next signatures itself: its verifier, sealed for the region's transport key.
      let verifier: string | undefined;
      if (typeof b.seal_for === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(b.seal_for)) {
        const v = await iam.accessKeyVerifier(String(b.access_key));
        if (v) verifier = sealFor(Buffer.from(b.seal_for, 'base64'), Buffer.from(JSON.stringify(v)), verifierContext(internalNode.get(req)!, String(b.access_key))).toString('base64');
      }
      return { principal, project: owned && view(owned), foreignProject: foreign && view(foreign), ...(verifier ? { verifier } : {}) };
    });
  });
}
