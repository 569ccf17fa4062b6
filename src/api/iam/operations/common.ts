/**
 * What every IAM catalogue entry shares: the services, the caller's context, Huawei's IAM response shapes
 * (Keystone-style `links`, the time formats real clients parse) and the check a handler makes when the caller
 * acts on their own entry or someone else's.
 */
import { Type, type TSchema } from 'typebox';
import type { Caller } from '../../../core/context.js';
import type { Directory } from '../../../iam/directory.js';
import type { IamService, Principal } from '../../../iam/iam-service.js';
import type { Permissions, RoleView } from '../../../iam/permissions.js';
import { contextFrom, evaluate, type Decision } from '../../../iam/policy-evaluation.js';
import type { Topology } from '../../../regions/topology.js';
import type { Group, User } from '../../../storage/iam-store.js';
import { KmsError } from '../../../errors.js';
import { defineOperation } from '../../operation.js';
import { answer, text } from '../../schema.js';

export interface IamServices {
  iam: IamService;
  directory: Directory;
  permissions: Permissions;
  topology: Topology;
  /** IAM's public endpoint, for `links.self`. */
  endpoint: string;
}

/** The caller of an IAM API. */
export interface IamContext {
  principal: Principal;
  caller: Caller;
  /** A temporary access key issued for a project-scoped token acts on that project only, on IAM too. */
  scopeProjectId?: string;
}

export const iamOperation = defineOperation<IamServices, IamContext>();

export const id32 = (what: string) => text({ code: 'IAM.0003', pattern: '^[0-9a-zA-Z_-]{1,64}$', description: `${what} ID.` });

const nullableString = () => Type.Union([Type.String(), Type.Null()]);
export const linksSchema = answer({ self: Type.String(), previous: nullableString(), next: nullableString() });
export const selfLink = answer({ self: Type.String() });

/** Keystone's `links` of a collection or item: `next` must be null, or Terraform's client keeps paging. */
export const links = (self: string) => ({ self, previous: null, next: null });

/** `2020-01-06T08:05:16.000000`: the OS-USER time format (microseconds, no zone; Terraform's client parses it so). */
export const osUserTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000');
/** `2020-01-08T06:25:19.014000Z`: the credential time format. */
export const credentialTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** A user as the Keystone-style `/v3/users` APIs answer it. */
export const keystoneUserSchema = answer({
  id: Type.String(),
  name: Type.String(),
  domain_id: Type.String(),
  enabled: Type.Boolean(),
  description: Type.String(),
  pwd_status: Type.Boolean(),
  password_expires_at: nullableString(),
  links: linksSchema,
});

export function keystoneUser(s: IamServices, u: User) {
  return {
    id: u.id, name: u.name, domain_id: u.domainId, enabled: u.enabled, description: u.description, pwd_status: false,
    password_expires_at: null, links: links(`${s.endpoint}/v3/users/${u.id}`),
  };
}

/** A user as the OS-USER APIs (`/v3.0/OS-USER/users`) answer it. */
export const osUserSchema = answer({
  id: Type.String(),
  name: Type.String(),
  domain_id: Type.String(),
  enabled: Type.Boolean(),
  description: Type.String(),
  email: Type.String(),
  areacode: Type.String(),
  phone: Type.String(),
  access_mode: Type.String(),
  pwd_status: Type.Boolean(),
  is_domain_owner: Type.Boolean(),
  xuser_id: Type.String(),
  xuser_type: Type.String(),
  create_time: Type.String(),
  update_time: Type.String(),
  last_login_time: nullableString(),
  password_expires_at: nullableString(),
  links: linksSchema,
});

export function osUser(s: IamServices, u: User) {
  return {
    id: u.id, name: u.name, domain_id: u.domainId, enabled: u.enabled, description: u.description, email: u.email,
    areacode: '', phone: '', access_mode: 'default', pwd_status: false, is_domain_owner: u.domainOwner, xuser_id: '',
    xuser_type: '', create_time: osUserTime(u.createdAt), update_time: osUserTime(u.updatedAt), last_login_time: null,
    password_expires_at: null, links: links(`${s.endpoint}/v3.0/OS-USER/users/${u.id}`),
  };
}

/** A user group; `create_time` is epoch milliseconds as a number (Huawei's KeystoneGroupResult). */
export const groupSchema = answer({
  id: Type.String(),
  name: Type.String(),
  domain_id: Type.String(),
  description: Type.String(),
  create_time: Type.Integer(),
  links: linksSchema,
});

export function group(s: IamServices, g: Group) {
  return { id: g.id, name: g.name, domain_id: g.domainId, description: g.description, create_time: g.createdAt, links: links(`${s.endpoint}/v3/groups/${g.id}`) };
}

const policySchema = Type.Object({ Version: Type.String(), Statement: Type.Array(Type.Unknown()), Depends: Type.Optional(Type.Array(Type.Unknown())) });

/** A role or policy (RoleResult); `created_time`/`updated_time` are strings of epoch ms (Terraform asserts strings). */
export const roleSchema = answer({
  id: Type.String(),
  name: Type.String(),
  display_name: Type.String(),
  type: Type.String(),
  catalog: Type.String(),
  description: Type.String(),
  description_cn: Type.String(),
  flag: Type.Optional(Type.String()),
  domain_id: nullableString(),
  policy: policySchema,
  references: Type.Optional(Type.Integer()),
  created_time: Type.Optional(Type.String()),
  updated_time: Type.Optional(Type.String()),
  links: linksSchema,
});

export function role(s: IamServices, r: RoleView, path = '/v3/roles') {
  return {
    id: r.id, name: r.name, display_name: r.display_name, type: r.type, catalog: r.catalog, description: r.description,
    description_cn: r.description_cn, ...(r.flag ? { flag: r.flag } : {}), domain_id: r.domain_id, policy: r.policy,
    ...(r.created_at !== undefined ? { created_time: String(r.created_at), updated_time: String(r.updated_at ?? r.created_at) } : {}),
    links: links(`${s.endpoint}${path}/${r.id}`),
  };
}

/** A list answer: `{<name>: items, links}`. */
export const listOf = <T extends TSchema>(name: string, item: T) => answer({ [name]: Type.Array(item), links: linksSchema });

/** The caller's own account: a `domain_id` in a path or query must name it (IAM.0004 otherwise). */
export function ownDomain(ctx: IamContext, domainId: string | undefined): string {
  if (domainId !== undefined && domainId !== ctx.caller.domainId) throw new KmsError('IAM.0004', 'You can only act on your own account.');
  return ctx.caller.domainId;
}

/**
 * Only an administrator acts on an administrator: changing, deleting or making access keys for a member of the
 * admin group (the account owner among them), changing that group (its members, its description, what is granted
 * to it) or a custom policy granted to it, needs the caller to be in it too, whatever IAM actions they hold (else
 * a narrow `iam:users:updateUser` grant, or Security Administrator outside the group, could take the account over
 * or lock its administrators out with a Deny).
 */
export async function guardAdministrators(s: IamServices, ctx: IamContext, target: { userId?: string; groupId?: string; roleId?: string }): Promise<void> {
  const adminGroups = async () => new Set((await s.directory.listGroups(ctx.caller.domainId)).filter((g) => g.builtin).map((g) => g.id));
  const sensitive = (target.userId !== undefined && target.userId !== ctx.caller.userId && (await s.directory.isAdmin(target.userId)))
    || (target.groupId !== undefined && (await s.directory.group(ctx.caller.domainId, target.groupId)).builtin)
    || (target.roleId !== undefined && await (async () => {
      const admins = await adminGroups();
      return (await s.permissions.grantsOfDomain(ctx.caller.domainId)).some((g) => g.roleId === target.roleId && admins.has(g.groupId));
    })());
  if (sensitive && !(await s.directory.isAdmin(ctx.caller.userId))) {
    throw new KmsError('IAM.0004', 'Only a member of the admin group may change administrators or the admin group.');
  }
}

/**
 * The decision on an IAM action for the caller: the policies their groups hold on the account, with the global
 * condition keys of the request (docs/reference/huawei-auth.md §4.4). The one place IAM decides; the pipeline and
 * handlers ask it.
 */
export async function decideOnAccount(s: IamServices, ctx: IamContext, action: string, sourceIp: string): Promise<Decision> {
  const { policies } = await s.permissions.policiesFor(ctx.caller.userId, { domainId: ctx.caller.domainId });
  return evaluate(policies, {
    action,
    resource: null,
    context: contextFrom({
      'g:UserId': ctx.caller.userId, 'g:UserName': ctx.caller.userName, 'g:DomainName': ctx.caller.domainName,
      'g:CurrentTime': new Date().toISOString(), 'g:SourceIp': sourceIp,
    }),
  });
}

/** Whether the caller may run `action` on the account: what handlers ask when the answer depends on the target. */
export async function mayOnAccount(s: IamServices, ctx: IamContext, action: string, sourceIp: string): Promise<boolean> {
  if (ctx.scopeProjectId !== undefined) return false;
  return (await decideOnAccount(s, ctx, action, sourceIp)).effect === 'allow';
}
