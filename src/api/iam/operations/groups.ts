/**
 * User groups and their members (Huawei IAM API "User Group Management"): create, list, show, update, delete;
 * add a user (PUT, 204), remove them (DELETE, 204), check membership (HEAD, 204 or 404), list members.
 * The built-in `admin` group cannot be deleted or renamed, and keeps the account owner.
 */
import { Type } from 'typebox';
import { KmsError } from '../../../errors.js';
import { answer, body, text } from '../../schema.js';
import { group, groupSchema, guardAdministrators, iamOperation, id32, keystoneUser, keystoneUserSchema, links, listOf, ownDomain } from './common.js';

const groupParams = Type.Object({ group_id: id32('Group') });
const memberParams = Type.Object({ group_id: id32('Group'), user_id: id32('User') });

export const groupOperations = [
  iamOperation({
    name: 'KeystoneCreateGroup',
    method: 'POST',
    path: '/v3/groups',
    action: 'iam:groups:createGroup',
    summary: 'Create a user group.',
    mutates: true,
    status: 201,
    body: body({ group: Type.Object({ name: text({ minChars: 1, maxChars: 128 }), description: Type.Optional(text({ maxChars: 255 })), domain_id: Type.Optional(text({ maxChars: 64 })) }) }),
    response: answer({ group: groupSchema }),
    handler: async (s, ctx, { body: b }) => ({ group: group(s, await s.directory.createGroup(ownDomain(ctx, b.group.domain_id), b.group.name, b.group.description ?? '')) }),
  }),

  iamOperation({
    name: 'KeystoneListGroups',
    method: 'GET',
    path: '/v3/groups',
    action: 'iam:groups:listGroups',
    summary: 'User groups of the account, by name.',
    mutates: false,
    query: Type.Object({ domain_id: Type.Optional(text({ maxChars: 64 })), name: Type.Optional(text({ maxChars: 128 })) }),
    response: listOf('groups', groupSchema),
    handler: async (s, ctx, { query: q }) => ({
      groups: (await s.directory.listGroups(ownDomain(ctx, q.domain_id), q.name)).map((g) => group(s, g)),
      links: links(`${s.endpoint}/v3/groups`),
    }),
  }),

  iamOperation({
    name: 'KeystoneShowGroup',
    method: 'GET',
    path: '/v3/groups/{group_id}',
    action: 'iam:groups:getGroup',
    summary: 'One user group.',
    mutates: false,
    params: groupParams,
    response: answer({ group: groupSchema }),
    handler: async (s, ctx, { params: p }) => ({ group: group(s, await s.directory.group(ctx.caller.domainId, p.group_id)) }),
  }),

  iamOperation({
    name: 'KeystoneUpdateGroup',
    method: 'PATCH',
    path: '/v3/groups/{group_id}',
    action: 'iam:groups:updateGroup',
    summary: 'Rename a user group or change its description.',
    mutates: true,
    params: groupParams,
    body: body({ group: Type.Object({ name: Type.Optional(text({ minChars: 1, maxChars: 128 })), description: Type.Optional(text({ maxChars: 255 })), domain_id: Type.Optional(text({ maxChars: 64 })) }) }),
    response: answer({ group: groupSchema }),
    handler: async (s, ctx, { params: p, body: b }) => {
      ownDomain(ctx, b.group.domain_id);
      await guardAdministrators(s, ctx, { groupId: p.group_id });
      return { group: group(s, await s.directory.updateGroup(ctx.caller.domainId, p.group_id, b.group)) };
    },
  }),

  iamOperation({
    name: 'KeystoneDeleteGroup',
    method: 'DELETE',
    path: '/v3/groups/{group_id}',
    action: 'iam:groups:deleteGroup',
    summary: 'Delete a user group with its memberships and grants.',
    mutates: true,
    status: 204,
    params: groupParams,
    handler: async (s, ctx, { params: p }) => {
      await s.directory.deleteGroup(ctx.caller.domainId, p.group_id);
    },
  }),

  iamOperation({
    name: 'KeystoneAddUserToGroup',
    method: 'PUT',
    path: '/v3/groups/{group_id}/users/{user_id}',
    action: 'iam:permissions:addUserToGroup',
    summary: 'Add a user to a group (in force in every region within a second).',
    mutates: true,
    status: 204,
    params: memberParams,
    handler: async (s, ctx, { params: p }) => {
      await guardAdministrators(s, ctx, { groupId: p.group_id, userId: p.user_id });
      await s.directory.addMember(ctx.caller.domainId, p.group_id, p.user_id);
    },
  }),

  iamOperation({
    name: 'KeystoneRemoveUserFromGroup',
    method: 'DELETE',
    path: '/v3/groups/{group_id}/users/{user_id}',
    action: 'iam:permissions:removeUserFromGroup',
    summary: 'Remove a user from a group (404 when they were not a member).',
    mutates: true,
    status: 204,
    params: memberParams,
    handler: async (s, ctx, { params: p }) => {
      await guardAdministrators(s, ctx, { groupId: p.group_id, userId: p.user_id });
      await s.directory.removeMember(ctx.caller.domainId, p.group_id, p.user_id);
    },
  }),

  iamOperation({
    name: 'KeystoneCheckUserInGroup',
    method: 'HEAD',
    path: '/v3/groups/{group_id}/users/{user_id}',
    action: 'iam:permissions:checkUserInGroup',
    summary: 'Whether a user belongs to a group: 204, or 404.',
    mutates: false,
    status: 204,
    params: memberParams,
    handler: async (s, ctx, { params: p }) => {
      if (!(await s.directory.isMember(ctx.caller.domainId, p.group_id, p.user_id))) throw new KmsError('IAM.0003', 'The user is not a member of the group.');
    },
  }),

  iamOperation({
    name: 'KeystoneListUsersForGroupByAdmin',
    method: 'GET',
    path: '/v3/groups/{group_id}/users',
    action: 'iam:users:listUsersForGroup',
    summary: 'The members of a group.',
    mutates: false,
    params: groupParams,
    response: listOf('users', keystoneUserSchema),
    handler: async (s, ctx, { params: p }) => ({
      users: (await s.directory.members(ctx.caller.domainId, p.group_id)).map((u) => keystoneUser(s, u)),
      links: links(`${s.endpoint}/v3/groups/${p.group_id}/users`),
    }),
  }),
];
