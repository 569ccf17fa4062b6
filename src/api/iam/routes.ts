/**
 * The IAM endpoint (Keystone v3 style, huawei-auth.md §1–2): tokens, project lookup, temporary access keys, and
 * the internal API regions use to follow IAM (token key, revocations, signature verification).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KmsError } from '../../errors.js';
import type { IamService, Principal } from '../../iam/iam-service.js';
import type { TokenClaims } from '../../iam/tokens.js';
import { verifyInternal } from '../../internal-auth.js';
import { header, signAnswers, signatureCandidates } from '../http.js';
import type { Topology } from '../../regions/topology.js';
import { optionalInteger, type Body } from '../fields.js';

export interface IamApi {
  iam: IamService;
  topology: Topology;
  /** The deployment secret regions sign internal calls with. */
  internalSecret: Buffer;
  iamEndpoint: string;
}

/** Keystone's timestamp form: UTC with microseconds. */
const keystoneTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

function at(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const p of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}

function optText(obj: unknown, ...path: string[]): string | undefined {
  const v = at(obj, ...path);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new KmsError('IAM.0001', `${path.join('.')} must be a string.`);
  return v;
}

function text(obj: unknown, ...path: string[]): string {
  const v = optText(obj, ...path);
  if (v === undefined || v === '') throw new KmsError('IAM.0001', `${path.join('.')} is required.`);
  return v;
}

export function iamRoutes(app: FastifyInstance, api: IamApi): void {
  const { iam } = api;

  function tokenBody(claims: TokenClaims, withCatalog: boolean) {
    const domain = { id: claims.domain.id, name: claims.domain.name };
    return {
      token: {
        methods: claims.methods,
        expires_at: keystoneTime(claims.exp),
        issued_at: keystoneTime(claims.iat),
        user: { id: claims.user.id, name: claims.user.name, domain, password_expires_at: '' },
        ...(claims.project ? { project: { id: claims.project.id, name: claims.project.name, domain } } : {}),
        ...(claims.domainScoped ? { domain } : {}),
        roles: [{ id: '0', name: 'te_admin' }],
        ...(withCatalog
          ? {
              catalog: [
                {
                  type: 'kms', id: 'kms', name: 'kms',
                  endpoints: api.topology.regions.map((r) => ({ id: `kms-${r.id}`, interface: 'public', region: r.id, region_id: r.id, url: r.endpoint })),
                },
                { type: 'identity', id: 'iam', name: 'iam', endpoints: [{ id: 'iam', interface: 'public', region: '*', region_id: '*', url: api.iamEndpoint }] },
              ],
            }
          : {}),
      },
    };
  }

  /** The caller of an IAM API: an access-key signature or an X-Auth-Token. */
  async function caller(req: FastifyRequest): Promise<Principal> {
    const authorization = header(req, 'authorization');
    if (authorization?.startsWith('SDK-HMAC-SHA256')) {
      const pre = signatureCandidates(req, Date.now());
      return iam.verifySignature(pre.auth.accessKey, pre.candidates, pre.auth.signature, header(req, 'x-security-token'));
    }
    const token = header(req, 'x-auth-token');
    if (!token) throw new KmsError('APIGW.0301', 'Send an X-Auth-Token or sign the request with an access key.');
    const claims = await iam.validateToken(token);
    return { user: claims.user, domain: claims.domain, method: 'token', tokenProject: claims.project, token: { id: claims.jti, expiresAt: claims.exp } };
  }

  app.get('/', async (req) => ({
    versions: { values: [{ id: 'v3', status: 'stable', updated: '2013-03-06T00:00:00Z', links: [{ rel: 'self', href: `${req.protocol}://${req.headers.host}/v3/` }] }] },
  }));

  app.post('/v3/auth/tokens', async (req, reply) => {
    const body = req.json;
    const methods = at(body, 'auth', 'identity', 'methods');
    if (!Array.isArray(methods) || !methods.includes('password')) throw new KmsError('IAM.0001', 'auth.identity.methods must include "password".');
    const user = ['auth', 'identity', 'password', 'user'];
    const scope = at(body, 'auth', 'scope');
    const { token, claims } = await iam.passwordToken({
      domainName: text(body, ...user, 'domain', 'name'),
      userName: text(body, ...user, 'name'),
      password: text(body, ...user, 'password'),
      scope: scope === undefined
        ? undefined
        : {
            project: at(scope, 'project') !== undefined,
            domain: at(scope, 'domain') !== undefined,
            projectId: optText(scope, 'project', 'id'),
            projectName: optText(scope, 'project', 'name'),
            projectDomainName: optText(scope, 'project', 'domain', 'name'),
            projectDomainId: optText(scope, 'project', 'domain', 'id'),
            domainId: optText(scope, 'domain', 'id'),
            domainName: optText(scope, 'domain', 'name'),
          },
    });
    const nocatalog = (req.query as Record<string, string>).nocatalog;
    return reply.code(201).header('X-Subject-Token', token).send(tokenBody(claims, !nocatalog));
  });

  /** The token being checked (X-Subject-Token) after the caller is authenticated. */
  async function subject(req: FastifyRequest): Promise<{ token: string; claims: TokenClaims }> {
    await caller(req);
    const token = header(req, 'x-subject-token');
    if (!token) throw new KmsError('IAM.0001', 'X-Subject-Token is required.');
    try {
      return { token, claims: await iam.validateToken(token) };
    } catch {
      throw new KmsError('IAM.0003', 'The token is invalid, expired or revoked.');
    }
  }

  app.get('/v3/auth/tokens', async (req, reply) => {
    const { token, claims } = await subject(req);
    return reply.header('X-Subject-Token', token).send(tokenBody(claims, !(req.query as Record<string, string>).nocatalog));
  });
  app.head('/v3/auth/tokens', async (req, reply) => {
    await subject(req);
    return reply.code(200).send();
  });
  app.delete('/v3/auth/tokens', async (req, reply) => {
    const me = await caller(req);
    const token = header(req, 'x-subject-token');
    if (!token) throw new KmsError('IAM.0001', 'X-Subject-Token is required.');
    await iam.revokeToken(token, me.domain.id);
    return reply.code(204).send();
  });

  app.get('/v3/projects', async (req) => {
    const me = await caller(req);
    const name = (req.query as Record<string, unknown>).name;
    const projects = await iam.listProjects(me.domain.id, typeof name === 'string' ? name : undefined);
    return {
      projects: projects.map((p) => ({ id: p.id, name: p.name, domain_id: p.domainId, enabled: true, is_domain: false, parent_id: p.domainId, description: '', links: { self: `${api.iamEndpoint}/v3/projects/${p.id}` } })),
      links: { self: `${api.iamEndpoint}/v3/projects`, next: null, previous: null },
    };
  });

  app.get('/v3/auth/projects', async (req) => {
    const me = await caller(req);
    const projects = await iam.listProjects(me.domain.id);
    return { projects: projects.map((p) => ({ id: p.id, name: p.name, domain_id: p.domainId, enabled: true, is_domain: false, parent_id: p.domainId, description: '' })) };
  });

  app.get('/v3/auth/domains', async (req) => {
    const me = await caller(req);
    return { domains: [{ id: me.domain.id, name: me.domain.name, enabled: true, description: '' }] };
  });

  app.post('/v3.0/OS-CREDENTIAL/securitytokens', async (req, reply) => {
    const me = await caller(req);
    const identity = at(req.json, 'auth', 'identity');
    const methods = at(identity, 'methods');
    if (!Array.isArray(methods) || !methods.includes('token')) throw new KmsError('IAM.0001', 'auth.identity.methods must be ["token"].');
    if (me.method !== 'token') throw new KmsError('IAM.0004', 'Temporary access keys are issued for a token (X-Auth-Token).');
    const duration = optionalInteger((at(identity, 'token') ?? {}) as Body, 'duration_seconds', { code: 'IAM.0001', min: 900, max: 86400 }) ?? 900;
    const t = await iam.createTemporaryKey(me.user.id, duration, { id: me.token!.id, expiresAt: me.token!.expiresAt, projectId: me.tokenProject?.id ?? null });
    return reply.code(201).send({ credential: { access: t.accessKey, secret: t.secretKey, securitytoken: t.securityToken, expires_at: keystoneTime(t.expiresAt) } });
  });

  // Internal API: only Strongroom's own regions, authenticated with the deployment secret.
  app.register(async (internal) => {
    // Answers are signed too, so a region never acts on an answer that did not come from IAM.
    signAnswers(internal, api.internalSecret, 'iam');
    internal.addHook('preHandler', async (req) => {
      if (!verifyInternal(api.internalSecret, header(req, 'authorization'), req.method, req.url, req.rawBody)) {
        throw new KmsError('KMS.0306', 'Internal API: the caller is not a node of this deployment.');
      }
    });
    internal.get('/internal/v1/token-key', async () => ({ public_key: iam.tokenPublicKeyPem }));
    internal.get('/internal/v1/projects/:project_id', async (req) => {
      const p = await iam.getProject((req.params as { project_id: string }).project_id);
      return { project: p && { id: p.id, domain_id: p.domainId, region: p.region } };
    });
    internal.get('/internal/v1/revocations', async (req) => {
      const after = optionalInteger(req.query as Body, 'after', { code: 'IAM.0001', min: 0 }) ?? 0;
      return iam.revocationsSince(after);
    });
    internal.post('/internal/v1/verify-signature', async (req) => {
      const b = req.json as Body;
      const candidates = b.candidates;
      if (!Array.isArray(candidates) || candidates.length > 8 || !candidates.every((c) => typeof c === 'string')) throw new KmsError('IAM.0001');
      const principal = await iam.verifySignature(String(b.access_key), candidates as string[], String(b.signature), typeof b.security_token === 'string' ? b.security_token : undefined);
      const project = typeof b.project_id === 'string' ? await iam.getProject(b.project_id) : null;
      const inScope = principal.scopeProjectId === undefined || principal.scopeProjectId === project?.id;
      const owned = project && project.domainId === principal.domain.id && inScope ? project : null;
      return { principal, project: owned && { id: owned.id, name: owned.name, region: owned.region, domainId: owned.domainId } };
    });
  });
}
