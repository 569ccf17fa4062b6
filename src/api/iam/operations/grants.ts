/**
 * Grants of roles and policies to user groups (Huawei IAM API "Permissions Management"): on one project, on the
 * account (domain: global services, IAM) or on all projects (`OS-INHERIT ... inherited_to_projects`); each with
 * grant (PUT, 204), list, check (HEAD, 204 or 404) and revoke (DELETE, 204), and the account-wide listing of
 * assignments. A change is in force in every region within a second.
 */
import { Type } from 'typebox';
import { KmsError } from '../../../errors.js';
import type { GrantScope } from '../../../iam/permissions.js';
import { answer, integer, text } from '../../schema.js';
import { guardAdministrators, iamOperation, id32, links, linksSchema, role, roleSchema, type IamContext } from './common.js';

interface ScopeSpec {
  scope: GrantScope;
  /** The path up to the group, e.g. `/v3/projects/{project_id}`. */
  base: string;
  /** What follows the role id (and the list path). */
  suffix: string;
  scopeParam: 'project_id' | 'domain_id';
  names: { grant: string; list: string; check: string; revoke: string };
  actions: { grant: string; list: string; check: string; revoke: string };
  source: 'huawei' | 'strongroom';
  what: string;
}

const SCOPES: ScopeSpec[] = [
  {
    scope: 'project', base: '/v3/projects/{project_id}', suffix: '', scopeParam: 'project_id', source: 'huawei', what: 'on a project',
    names: { grant: 'KeystoneAssociateGroupWithProjectPermission', list: 'KeystoneListProjectPermissionsForGroup', check: 'KeystoneCheckProjectPermissionForGroup', revoke: 'KeystoneRemoveProjectPermissionFromGroup' },
    actions: { grant: 'iam:permissions:grantRoleToGroupOnProject', list: 'iam:permissions:listRolesForGroupOnProject', check: 'iam:permissions:checkRoleForGroupOnProject', revoke: 'iam:permissions:revokeRoleFromGroupOnProject' },
  },
  {
    scope: 'domain', base: '/v3/domains/{domain_id}', suffix: '', scopeParam: 'domain_id', source: 'huawei', what: 'on the account (global services such as IAM)',
    names: { grant: 'KeystoneAssociateGroupWithDomainPermission', list: 'KeystoneListDomainPermissionsForGroup', check: 'KeystoneCheckDomainPermissionForGroup', revoke: 'KeystoneRemoveDomainPermissionFromGroup' },
    actions: { grant: 'iam:permissions:grantRoleToGroupOnDomain', list: 'iam:permissions:listRolesForGroupOnDomain', check: 'iam:permissions:checkRoleForGroupOnDomain', revoke: 'iam:permissions:revokeRoleFromGroupOnDomain' },
  },
  {
    scope: 'inherited', base: '/v3/OS-INHERIT/domains/{domain_id}', suffix: '/inherited_to_projects', scopeParam: 'domain_id', source: 'strongroom', what: 'on all projects of the account',
    names: { grant: 'UpdateDomainGroupInheritRole', list: 'KeystoneListAllProjectPermissionsForGroup', check: 'KeystoneCheckroleForGroup', revoke: 'DeleteDomainGroupInheritedRole' },
    actions: { grant: 'iam:permissions:grantRoleToGroup', list: 'iam:permissions:listRolesForGroup', check: 'iam:permissions:checkRoleForGroup', revoke: 'iam:permissions:revokeRoleFromGroup' },
  },
];

function scopeOperations(sc: ScopeSpec) {
  const params = Type.Object({ [sc.scopeParam]: id32(sc.scopeParam === 'project_id' ? 'Project' : 'Domain'), group_id: id32('Group'), role_id: id32('Role') });
  const listParams = Type.Object({ [sc.scopeParam]: id32(sc.scopeParam === 'project_id' ? 'Project' : 'Domain'), group_id: id32('Group') });
  const scopeId = (p: Record<string, string>) => p[sc.scopeParam]!;
  const one = `${sc.base}/groups/{group_id}/roles/{role_id}${sc.suffix}`;
  return [
    iamOperation({
      name: sc.names.grant, method: 'PUT', path: one, action: sc.actions.grant, actionSource: sc.source, mutates: true, status: 204, params,
      summary: `Grant a role or policy to a group ${sc.what}.`,
      handler: async (s, ctx: IamContext, { params: p }) => {
        await guardAdministrators(s, ctx, { groupId: p.group_id as string });
        await s.permissions.grant(ctx.caller.domainId, p.group_id as string, p.role_id as string, sc.scope, scopeId(p as Record<string, string>));
      },
    }),
    iamOperation({
      name: sc.names.list, method: 'GET', path: `${sc.base}/groups/{group_id}/roles${sc.suffix}`, action: sc.actions.list, actionSource: sc.source, mutates: false, params: listParams,
      summary: `The roles and policies granted to a group ${sc.what}.`,
      response: answer({ roles: Type.Array(roleSchema), links: linksSchema }),
      handler: async (s, ctx, { params: p }) => ({
        roles: (await s.permissions.rolesOfGroup(ctx.caller.domainId, p.group_id as string, sc.scope, scopeId(p as Record<string, string>))).map((r) => role(s, r)),
        links: links(`${s.endpoint}${sc.base.replace(`{${sc.scopeParam}}`, scopeId(p as Record<string, string>))}/groups/${p.group_id as string}/roles${sc.suffix}`),
      }),
    }),
    iamOperation({
      name: sc.names.check, method: 'HEAD', path: one, action: sc.actions.check, actionSource: sc.source, mutates: false, status: 204, params,
      summary: `Whether a group holds a role ${sc.what}: 204, or 404.`,
      handler: async (s, ctx, { params: p }) => {
        if (!(await s.permissions.hasGrant(ctx.caller.domainId, p.group_id as string, p.role_id as string, sc.scope, scopeId(p as Record<string, string>)))) {
          throw new KmsError('IAM.0003', 'The group does not hold that role there.');
        }
      },
    }),
    iamOperation({
      name: sc.names.revoke, method: 'DELETE', path: one, action: sc.actions.revoke, actionSource: sc.source, mutates: true, status: 204, params,
      summary: `Remove a role or policy from a group ${sc.what} (404 when it was not granted).`,
      handler: async (s, ctx, { params: p }) => {
        await guardAdministrators(s, ctx, { groupId: p.group_id as string });
        await s.permissions.revoke(ctx.caller.domainId, p.group_id as string, p.role_id as string, sc.scope, scopeId(p as Record<string, string>));
      },
    }),
  ];
}

const idRef = answer({ id: Type.String() });

export const grantOperations = [
  ...SCOPES.flatMap(scopeOperations),

  iamOperation({
    name: 'ShowDomainRoleAssignments',
    method: 'GET',
    path: '/v3.0/OS-PERMISSION/role-assignments',
    action: 'iam:permissions:listRoleAssignments',
    actionSource: 'strongroom',
    summary: 'Every grant of the account, filtered by role, group, user (through their groups), scope and inheritance; paged by page and per_page (≤ 50).',
    mutates: false,
    query: Type.Object({
      domain_id: text({ maxChars: 64 }),
      role_id: Type.Optional(text({ maxChars: 64 })),
      subject: Type.Optional(text({ maxChars: 16 })),
      'subject.user_id': Type.Optional(text({ maxChars: 64 })),
      'subject.group_id': Type.Optional(text({ maxChars: 64 })),
      'subject.agency_id': Type.Optional(text({ maxChars: 64 })),
      scope: Type.Optional(text({ maxChars: 32 })),
      'scope.project_id': Type.Optional(text({ maxChars: 64 })),
      'scope.domain_id': Type.Optional(text({ maxChars: 64 })),
      'scope.enterprise_projects_id': Type.Optional(text({ maxChars: 64 })),
      is_inherited: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
      include_group: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
      page: Type.Optional(integer({ code: 'IAM.0001', minimum: 1 })),
      per_page: Type.Optional(integer({ code: 'IAM.0001', minimum: 1, maximum: 50 })),
    }),
    response: answer({
      total_num: Type.Integer(),
      role_assignments: Type.Array(answer({
        role: idRef, group: Type.Optional(idRef), user: Type.Optional(idRef),
        scope: answer({ project: Type.Optional(idRef), domain: Type.Optional(idRef) }),
        is_inherited: Type.Boolean(),
      })),
    }),
    handler: async (s, ctx, { query: q }) => {
      if (q.domain_id !== ctx.caller.domainId) throw new KmsError('IAM.0004', 'You can only list the assignments of your own account.');
      if ((q.page === undefined) !== (q.per_page === undefined)) throw new KmsError('IAM.0001', 'page and per_page must be given together.');
      // Agencies and enterprise projects do not exist here: asked for, they hold no grant.
      if (q.subject === 'agency' || q['subject.agency_id'] !== undefined || q.scope === 'enterprise_project' || q['scope.enterprise_projects_id'] !== undefined) {
        return { total_num: 0, role_assignments: [] };
      }
      // A user holds grants only through groups here: with include_group=false, a user has none of their own.
      const memberOf = q['subject.user_id'] !== undefined
        ? new Set(q.include_group === 'false' ? [] : (await s.directory.groupsOf(ctx.caller.domainId, q['subject.user_id'])).map((g) => g.id))
        : null;
      // is_inherited defaults to false where it applies (the account scope): account grants, not all-projects ones.
      const accountScope = q.scope === 'domain' || q['scope.domain_id'] !== undefined;
      const inherited = q.is_inherited !== undefined ? q.is_inherited === 'true' : accountScope ? false : undefined;
      const all = (await s.permissions.grantsOfDomain(ctx.caller.domainId)).filter((g) =>
        (q.role_id === undefined || g.roleId === q.role_id) &&
        (q['subject.group_id'] === undefined || g.groupId === q['subject.group_id']) &&
        (memberOf === null || memberOf.has(g.groupId)) &&
        (q['scope.project_id'] === undefined || (g.scope === 'project' && g.scopeId === q['scope.project_id'])) &&
        (q['scope.domain_id'] === undefined || (g.scope !== 'project' && g.scopeId === q['scope.domain_id'])) &&
        (q.scope === undefined || (q.scope === 'project') === (g.scope === 'project')) &&
        (inherited === undefined || inherited === (g.scope === 'inherited')));
      const shown = q.page === undefined ? all : all.slice((q.page - 1) * q.per_page!, q.page * q.per_page!);
      return {
        total_num: all.length,
        role_assignments: shown.map((g) => ({
          role: { id: g.roleId },
          group: { id: g.groupId },
          scope: g.scope === 'project' ? { project: { id: g.scopeId } } : { domain: { id: g.scopeId } },
          is_inherited: g.scope === 'inherited',
        })),
      };
    },
  }),
];
