/**
 * Roles and policies (Huawei IAM API "Permissions Management" and "Custom Policy Management"): the system roles and
 * policies (`GET /v3/roles`, filtered as Huawei filters them), and an account's custom policies
 * (`/v3.0/OS-ROLE/roles`: Version 1.1 documents, type AX or XA). Deleting a custom policy answers 200.
 */
import { Type } from 'typebox';
import { KmsError } from '../../../errors.js';
import type { RoleView } from '../../../iam/permissions.js';
import { answer, body, integer, oneOf, text } from '../../schema.js';
import { guardAdministrators, iamOperation, id32, links, linksSchema, ownDomain, role, roleSchema, type IamServices } from './common.js';

const roleParams = Type.Object({ role_id: id32('Role') });
const paging = {
  page: Type.Optional(integer({ code: 'IAM.0001', minimum: 1 })),
  per_page: Type.Optional(integer({ code: 'IAM.0001', minimum: 1, maximum: 300 })),
};
const roleInput = body({
  role: Type.Object({
    display_name: text({ minChars: 1, maxChars: 64 }),
    type: oneOf(['AX', 'XA'], { code: 'IAM.0001' }),
    description: text({ maxChars: 256 }),
    description_cn: Type.Optional(text({ maxChars: 256 })),
    policy: Type.Record(Type.String(), Type.Unknown(), { description: 'A Version 1.1 policy document: Version, Statement (1–8).' }),
  }),
});

/** `page` and `per_page` go together (Huawei: both or neither). */
function page<T>(items: T[], q: { page?: number; per_page?: number }): T[] {
  if ((q.page === undefined) !== (q.per_page === undefined)) throw new KmsError('IAM.0001', 'page and per_page must be given together.');
  if (q.page === undefined) return items;
  return items.slice((q.page - 1) * q.per_page!, q.page * q.per_page!);
}

/** Huawei's `type` filter: `domain` → AA and AX, `project` → AA and XA, `all` → every type. */
const typeMatches = (r: RoleView, type: string | undefined) => type === undefined || type === 'all' || r.type === 'AA' || (type === 'domain' ? r.type === 'AX' : r.type === 'XA');

function filterSystem(s: IamServices, q: { name?: string; display_name?: string; permission_type?: string; type?: string; catalog?: string }): RoleView[] {
  let roles = s.permissions.systemRoles();
  if (q.name !== undefined) roles = roles.filter((r) => r.name === q.name);
  if (q.display_name !== undefined) {
    const exact = roles.filter((r) => r.display_name === q.display_name);
    roles = exact.length > 0 ? exact : roles.filter((r) => r.display_name.includes(q.display_name!));
  }
  if (q.permission_type !== undefined) roles = roles.filter((r) => (q.permission_type === 'policy') === (r.policy.Version === '1.1'));
  if (q.catalog !== undefined) roles = roles.filter((r) => r.catalog === q.catalog);
  return roles.filter((r) => typeMatches(r, q.type));
}

export const roleOperations = [
  iamOperation({
    name: 'KeystoneListPermissions',
    method: 'GET',
    path: '/v3/roles',
    action: 'iam:roles:listRoles',
    summary: 'System roles and policies (or, with domain_id, the account\'s custom policies), filtered by name, display_name, permission_type, type and catalog.',
    mutates: false,
    query: Type.Object({
      name: Type.Optional(text({ maxChars: 64 })),
      domain_id: Type.Optional(text({ maxChars: 64 })),
      display_name: Type.Optional(text({ maxChars: 64 })),
      permission_type: Type.Optional(oneOf(['policy', 'role'], { code: 'IAM.0001' })),
      type: Type.Optional(oneOf(['domain', 'project', 'all'], { code: 'IAM.0001' })),
      catalog: Type.Optional(text({ maxChars: 64 })),
      ...paging,
    }),
    response: answer({ roles: Type.Array(roleSchema), links: linksSchema, total_number: Type.Integer() }),
    handler: async (s, ctx, { query: q }) => {
      const all = q.domain_id !== undefined
        ? (await s.permissions.customRoles(ownDomain(ctx, q.domain_id))).filter((r) => typeMatches(r, q.type) && (q.display_name === undefined || r.display_name === q.display_name))
        : filterSystem(s, q);
      return { roles: page(all, q).map((r) => role(s, r)), links: links(`${s.endpoint}/v3/roles`), total_number: all.length };
    },
  }),

  iamOperation({
    name: 'KeystoneShowPermission',
    method: 'GET',
    path: '/v3/roles/{role_id}',
    action: 'iam:roles:getRole',
    summary: 'One system role or policy, or a custom policy of the account.',
    mutates: false,
    params: roleParams,
    response: answer({ role: roleSchema }),
    handler: async (s, ctx, { params: p }) => ({ role: role(s, await s.permissions.role(ctx.caller.domainId, p.role_id)) }),
  }),

  iamOperation({
    name: 'CreateCloudServiceCustomPolicy',
    method: 'POST',
    path: '/v3.0/OS-ROLE/roles',
    action: 'iam:roles:createRole',
    summary: 'Create a custom policy: Version 1.1, type AX (account) or XA (projects), 1–8 statements, at most 6144 characters.',
    mutates: true,
    status: 201,
    body: roleInput,
    response: answer({ role: roleSchema }),
    handler: async (s, ctx, { body: b }) => ({ role: role(s, await s.permissions.createCustomRole(ctx.caller.domainId, b.role), '/v3.0/OS-ROLE/roles') }),
  }),

  iamOperation({
    name: 'ListCustomPolicies',
    method: 'GET',
    path: '/v3.0/OS-ROLE/roles',
    action: 'iam:roles:listRoles',
    summary: 'The account\'s custom policies.',
    mutates: false,
    query: Type.Object(paging),
    response: answer({ roles: Type.Array(roleSchema), links: linksSchema, total_number: Type.Integer() }),
    handler: async (s, ctx, { query: q }) => {
      const all = await s.permissions.customRoles(ctx.caller.domainId);
      return { roles: page(all, q).map((r) => role(s, r, '/v3.0/OS-ROLE/roles')), links: links(`${s.endpoint}/v3.0/OS-ROLE/roles`), total_number: all.length };
    },
  }),

  iamOperation({
    name: 'ShowCustomPolicy',
    method: 'GET',
    path: '/v3.0/OS-ROLE/roles/{role_id}',
    action: 'iam:roles:getRole',
    summary: 'One custom policy, with the number of its grants (references).',
    mutates: false,
    params: roleParams,
    response: answer({ role: roleSchema }),
    handler: async (s, ctx, { params: p }) => {
      const r = await s.permissions.customRole(ctx.caller.domainId, p.role_id);
      return { role: { ...role(s, r, '/v3.0/OS-ROLE/roles'), references: await s.permissions.references(r.id) } };
    },
  }),

  iamOperation({
    name: 'UpdateCloudServiceCustomPolicy',
    method: 'PATCH',
    path: '/v3.0/OS-ROLE/roles/{role_id}',
    action: 'iam:roles:updateRole',
    summary: 'Replace a custom policy (in force in every region within a second, wherever it is granted).',
    mutates: true,
    params: roleParams,
    body: roleInput,
    response: answer({ role: roleSchema }),
    handler: async (s, ctx, { params: p, body: b }) => {
      await guardAdministrators(s, ctx, { roleId: p.role_id });
      return { role: role(s, await s.permissions.updateCustomRole(ctx.caller.domainId, p.role_id, b.role), '/v3.0/OS-ROLE/roles') };
    },
  }),

  iamOperation({
    name: 'DeleteCustomPolicy',
    method: 'DELETE',
    path: '/v3.0/OS-ROLE/roles/{role_id}',
    action: 'iam:roles:deleteRole',
    summary: 'Delete a custom policy that is no longer granted; answers 200 as Huawei does.',
    mutates: true,
    params: roleParams,
    handler: async (s, ctx, { params: p }) => {
      await s.permissions.deleteCustomRole(ctx.caller.domainId, p.role_id);
    },
  }),
];
