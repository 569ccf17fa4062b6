/**
 * Tokens, temporary access keys, projects and the version document of the IAM endpoint (docs/reference/huawei-auth.md
 * §1–2): `POST /v3/auth/tokens` (password, 201 + X-Subject-Token), `GET`/`HEAD`/`DELETE /v3/auth/tokens` on someone's
 * token (their own, or anyone's of the account for a caller allowed `iam:tokens:validate` / `iam:tokens:revoke`),
 * `GET /v3/projects`, `/v3/auth/projects`, `/v3/auth/domains` and `POST /v3.0/OS-CREDENTIAL/securitytokens`.
 */
import { Type } from 'typebox';
import { KmsError } from '../../../errors.js';
import type { TokenClaims } from '../../../iam/tokens.js';
import type { Project } from '../../../storage/iam-store.js';
import { Answer, type HttpInfo } from '../../operation.js';
import { answer, body, integer, text } from '../../schema.js';
import { iamOperation, linksSchema, links, mayOnAccount, ownDomain, type IamContext, type IamServices } from './common.js';

/** Keystone's timestamp form: UTC with microseconds. */
const keystoneTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

const named = answer({ id: Type.String(), name: Type.String() });
const tokenSchema = answer({
  token: answer({
    methods: Type.Array(Type.String()),
    expires_at: Type.String(),
    issued_at: Type.String(),
    user: answer({ id: Type.String(), name: Type.String(), domain: named, password_expires_at: Type.String() }),
    project: Type.Optional(answer({ id: Type.String(), name: Type.String(), domain: named })),
    domain: Type.Optional(named),
    roles: Type.Array(named),
    catalog: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
  }),
});

function tokenBody(s: IamServices, claims: TokenClaims, withCatalog: boolean) {
  const domain = { id: claims.domain.id, name: claims.domain.name };
  return {
    token: {
      methods: claims.methods,
      expires_at: keystoneTime(claims.exp),
      issued_at: keystoneTime(claims.iat),
      user: { id: claims.user.id, name: claims.user.name, domain, password_expires_at: '' },
      ...(claims.project ? { project: { id: claims.project.id, name: claims.project.name, domain } } : {}),
      ...(claims.domainScoped ? { domain } : {}),
      roles: [{ id: '0', name: 'op_fine_grained' }],
      ...(withCatalog
        ? {
            catalog: [
              { type: 'kms', id: 'kms', name: 'kms', endpoints: s.topology.regions.map((r) => ({ id: `kms-${r.id}`, interface: 'public', region: r.id, region_id: r.id, url: r.endpoint })) },
              { type: 'identity', id: 'iam', name: 'iam', endpoints: [{ id: 'iam', interface: 'public', region: '*', region_id: '*', url: s.endpoint }] },
            ],
          }
        : {}),
    },
  };
}

const projectSchema = answer({
  id: Type.String(), name: Type.String(), domain_id: Type.String(), enabled: Type.Boolean(), is_domain: Type.Boolean(),
  parent_id: Type.String(), description: Type.String(), links: Type.Optional(linksSchema),
});
const project = (s: IamServices, p: Project) => ({
  id: p.id, name: p.name, domain_id: p.domainId, enabled: true, is_domain: false, parent_id: p.domainId, description: '',
  links: links(`${s.endpoint}/v3/projects/${p.id}`),
});

/** A temporary access key of a project-scoped token sees only that project (on IAM as in KMS). */
const inScope = (ctx: IamContext, projects: Project[]) => (ctx.scopeProjectId === undefined ? projects : projects.filter((p) => p.id === ctx.scopeProjectId));

/**
 * The token named by X-Subject-Token, for a caller who may see it: its owner, or (within the account) a caller
 * allowed `action`. A token of another account does not exist for the caller (IAM.0003).
 */
async function subject(s: IamServices, ctx: IamContext, http: HttpInfo, action: string, allowExpired: boolean): Promise<{ token: string; claims: TokenClaims }> {
  const token = http.header('x-subject-token');
  if (!token) throw new KmsError('IAM.0001', 'X-Subject-Token is required.');
  let claims: TokenClaims;
  try {
    claims = allowExpired ? s.iam.tokenClaims(token) : await s.iam.validateToken(token);
  } catch {
    throw new KmsError('IAM.0003', 'The token is invalid, expired or revoked.');
  }
  // Another account's token: nothing about it is answered (not its user, project or account).
  if (claims.domain.id !== ctx.caller.domainId) throw new KmsError('IAM.0004', 'The token belongs to another account.');
  if (ctx.scopeProjectId !== undefined && claims.project?.id !== ctx.scopeProjectId) {
    throw new KmsError('IAM.0004', 'A temporary access key acts only on its token\'s project.');
  }
  if (claims.user.id !== ctx.caller.userId && !(await mayOnAccount(s, ctx, action, http.ip))) {
    throw new KmsError('IAM.0004', `Only the token's owner, or a caller allowed ${action}, may do this.`);
  }
  return { token, claims };
}

const optionalText = () => Type.Optional(text({ minChars: 1, maxChars: 255 }));
const nocatalog = Type.Object({ nocatalog: Type.Optional(Type.String()) });

export const tokenOperations = [
  iamOperation({
    name: 'KeystoneListVersions',
    method: 'GET',
    path: '/',
    action: null,
    summary: 'The Keystone API versions of this endpoint.',
    mutates: false,
    authentication: 'none',
    response: answer({ versions: answer({ values: Type.Array(Type.Record(Type.String(), Type.Unknown())) }) }),
    handler: async (_s, _ctx, _input, http) => ({
      versions: { values: [{ id: 'v3', status: 'stable', updated: '2013-03-06T00:00:00Z', links: [{ rel: 'self', href: `${http.protocol}://${http.host}/v3/` }] }] },
    }),
  }),

  iamOperation({
    name: 'KeystoneCreateUserTokenByPassword',
    method: 'POST',
    path: '/v3/auth/tokens',
    action: null,
    summary: 'A token for a user\'s name and password, scoped to a project or the account; 201 with X-Subject-Token.',
    mutates: true,
    authentication: 'none',
    query: nocatalog,
    body: body({
      auth: Type.Object({
        identity: Type.Object({
          methods: Type.Array(Type.String(), { minItems: 1, maxItems: 4 }),
          password: Type.Optional(Type.Object({
            user: Type.Object({
              name: text({ minChars: 1, maxChars: 64 }),
              password: text({ minChars: 1, maxChars: 128 }),
              domain: Type.Object({ name: text({ minChars: 1, maxChars: 64 }) }),
            }),
          })),
        }),
        scope: Type.Optional(Type.Object({
          project: Type.Optional(Type.Object({ id: optionalText(), name: optionalText(), domain: Type.Optional(Type.Object({ id: optionalText(), name: optionalText() })) })),
          domain: Type.Optional(Type.Object({ id: optionalText(), name: optionalText() })),
        })),
      }),
    }),
    status: 201,
    response: tokenSchema,
    handler: async (s, _ctx, { body: b, query: q }, http) => {
      const identity = b.auth.identity;
      if (!identity.methods.includes('password') || !identity.password) throw new KmsError('IAM.0001', 'auth.identity.methods must include "password", with auth.identity.password.');
      const user = identity.password.user;
      const scope = b.auth.scope;
      // A failed login is recorded with the name and account it tried (never the password).
      http.identify({
        principal: { user: { id: '', name: user.name }, domain: { id: '', name: user.domain.name }, method: 'token' },
        caller: { userId: '', userName: user.name, domainId: '', domainName: user.domain.name, authMethod: 'password' },
      } satisfies IamContext);
      const { token, claims } = await s.iam.passwordToken({
        domainName: user.domain.name,
        userName: user.name,
        password: user.password,
        source: http.ip,
        scope: scope === undefined ? undefined : {
          project: scope.project !== undefined, domain: scope.domain !== undefined,
          projectId: scope.project?.id, projectName: scope.project?.name, projectDomainName: scope.project?.domain?.name,
          projectDomainId: scope.project?.domain?.id, domainId: scope.domain?.id, domainName: scope.domain?.name,
        },
      });
      http.identify({
        principal: { user: claims.user, domain: claims.domain, method: 'token' },
        caller: { userId: claims.user.id, userName: claims.user.name, domainId: claims.domain.id, domainName: claims.domain.name, authMethod: 'password', tokenId: claims.jti },
      } satisfies IamContext);
      return new Answer(tokenBody(s, claims, !q.nocatalog), { headers: { 'X-Subject-Token': token } });
    },
  }),

  iamOperation({
    name: 'KeystoneValidateToken',
    method: 'GET',
    path: '/v3/auth/tokens',
    action: null,
    summary: 'The token named by X-Subject-Token: the caller\'s own, or any of the account\'s for a caller allowed iam:tokens:validate.',
    mutates: false,
    query: nocatalog,
    response: tokenSchema,
    handler: async (s, ctx, { query: q }, http) => {
      const { token, claims } = await subject(s, ctx, http, 'iam:tokens:validate', false);
      return new Answer(tokenBody(s, claims, !q.nocatalog), { headers: { 'X-Subject-Token': token } });
    },
  }),

  iamOperation({
    name: 'KeystoneCheckToken',
    method: 'HEAD',
    path: '/v3/auth/tokens',
    action: null,
    summary: 'Whether the token named by X-Subject-Token is valid (200), with the rules of KeystoneValidateToken.',
    mutates: false,
    handler: async (s, ctx, _input, http) => {
      await subject(s, ctx, http, 'iam:tokens:validate', false);
    },
  }),

  iamOperation({
    name: 'KeystoneRevokeToken',
    method: 'DELETE',
    path: '/v3/auth/tokens',
    action: null,
    summary: 'Revokes the token named by X-Subject-Token (expired or not): the caller\'s own, or any of the account\'s for a caller allowed iam:tokens:revoke.',
    mutates: true,
    status: 204,
    handler: async (s, ctx, _input, http) => {
      const { claims } = await subject(s, ctx, http, 'iam:tokens:revoke', true);
      await s.iam.revokeToken(claims);
    },
  }),

  iamOperation({
    name: 'KeystoneListProjects',
    method: 'GET',
    path: '/v3/projects',
    action: 'iam:projects:listProjects',
    summary: 'Projects of the caller\'s account, by name (the SDKs\' project lookup).',
    mutates: false,
    query: Type.Object({
      name: Type.Optional(text({ maxChars: 64 })), domain_id: Type.Optional(text({ maxChars: 64 })),
      enabled: Type.Optional(Type.String()), is_domain: Type.Optional(Type.String()), parent_id: Type.Optional(Type.String()),
      page: Type.Optional(Type.String()), per_page: Type.Optional(Type.String()),
    }),
    response: answer({ projects: Type.Array(projectSchema), links: linksSchema }),
    handler: async (s, ctx, { query: q }) => {
      const domainId = ownDomain(ctx, q.domain_id);
      const projects = inScope(ctx, await s.iam.listProjects(domainId, q.name));
      return { projects: projects.map((p) => project(s, p)), links: links(`${s.endpoint}/v3/projects`) };
    },
  }),

  iamOperation({
    name: 'KeystoneListAuthProjects',
    method: 'GET',
    path: '/v3/auth/projects',
    action: null,
    summary: 'The projects the caller can act on.',
    mutates: false,
    response: answer({ projects: Type.Array(projectSchema), links: answer({ self: Type.String() }) }),
    handler: async (s, ctx) => {
      const projects = inScope(ctx, await s.iam.listProjects(ctx.caller.domainId));
      return { projects: projects.map((p) => project(s, p)), links: { self: `${s.endpoint}/v3/auth/projects` } };
    },
  }),

  iamOperation({
    name: 'KeystoneListAuthDomains',
    method: 'GET',
    path: '/v3/auth/domains',
    action: null,
    summary: 'The caller\'s account.',
    mutates: false,
    response: answer({ domains: Type.Array(answer({ id: Type.String(), name: Type.String(), enabled: Type.Boolean(), description: Type.String() })) }),
    handler: async (_s, ctx) => ({ domains: [{ id: ctx.caller.domainId, name: ctx.caller.domainName, enabled: true, description: '' }] }),
  }),

  iamOperation({
    name: 'CreateTemporaryAccessKeyByToken',
    method: 'POST',
    path: '/v3.0/OS-CREDENTIAL/securitytokens',
    action: null,
    summary: 'A temporary access key with its security token for the calling token: never longer-lived than it, limited to its project.',
    mutates: true,
    status: 201,
    body: body({
      auth: Type.Object({
        identity: Type.Object({
          methods: Type.Array(Type.String(), { minItems: 1, maxItems: 4 }),
          token: Type.Optional(Type.Object({
            duration_seconds: Type.Optional(integer({ code: 'IAM.0001', minimum: 900, maximum: 86400, description: 'Seconds, 900–86400 (default 900).' })),
            id: Type.Optional(Type.String()),
          })),
        }),
      }),
    }),
    response: answer({ credential: answer({ access: Type.String(), secret: Type.String(), securitytoken: Type.String(), expires_at: Type.String() }) }),
    handler: async (s, ctx, { body: b }) => {
      if (!b.auth.identity.methods.includes('token')) throw new KmsError('IAM.0001', 'auth.identity.methods must be ["token"].');
      const me = ctx.principal;
      if (me.method !== 'token' || !me.token) throw new KmsError('IAM.0004', 'Temporary access keys are issued for a token (X-Auth-Token).');
      const t = await s.iam.createTemporaryKey(me.user.id, b.auth.identity.token?.duration_seconds ?? 900, { id: me.token.id, expiresAt: me.token.expiresAt, projectId: me.tokenProject?.id ?? null });
      return { credential: { access: t.accessKey, secret: t.secretKey, securitytoken: t.securityToken, expires_at: keystoneTime(t.expiresAt) } };
    },
  }),
];

