/**
 * IAM users (Huawei IAM API "User Management"): create (Keystone `POST /v3/users` and the recommended
 * `POST /v3.0/OS-USER/users`), list, show, update (enable/disable with `enabled`), delete, change one's own
 * password, and the groups of a user. Paths, fields and status codes as Huawei's SDK models.
 */
import { Type } from 'typebox';
import { KmsError } from '../../../errors.js';
import { Answer } from '../../operation.js';
import { answer, body, bool, text } from '../../schema.js';
import { group, groupSchema, guardAdministrators, iamOperation, id32, keystoneUser, keystoneUserSchema, links, listOf, osUser, osUserSchema, ownDomain } from './common.js';

const userParams = Type.Object({ user_id: id32('User') });
const name = () => text({ minChars: 1, maxChars: 64 });
const password = () => Type.Optional(text({ minChars: 1, maxChars: 32 }));
const description = () => Type.Optional(text({ maxChars: 255 }));
const email = () => Type.Optional(text({ maxChars: 255 }));

export const userOperations = [
  iamOperation({
    name: 'KeystoneCreateUser',
    method: 'POST',
    path: '/v3/users',
    action: 'iam:users:createUser',
    summary: 'Create a user of the account (no permissions until a group of theirs is granted some).',
    mutates: true,
    status: 201,
    body: body({ user: Type.Object({ name: name(), domain_id: Type.Optional(text({ maxChars: 64 })), password: password(), enabled: Type.Optional(bool()), description: description() }) }),
    response: answer({ user: keystoneUserSchema }),
    handler: async (s, ctx, { body: b }) => {
      const u = await s.directory.createUser(ownDomain(ctx, b.user.domain_id), b.user);
      return { user: keystoneUser(s, u) };
    },
  }),

  iamOperation({
    name: 'CreateUser',
    method: 'POST',
    path: '/v3.0/OS-USER/users',
    action: 'iam:users:createUser',
    summary: 'Create a user of the account (the recommended form, with e-mail).',
    mutates: true,
    status: 201,
    body: body({
      user: Type.Object({
        name: name(), domain_id: text({ maxChars: 64 }), password: password(), email: email(), enabled: Type.Optional(bool()),
        description: description(), access_mode: Type.Optional(Type.String()), pwd_status: Type.Optional(Type.Boolean()),
        areacode: Type.Optional(Type.String()), phone: Type.Optional(Type.String()), xuser_type: Type.Optional(Type.String()), xuser_id: Type.Optional(Type.String()),
      }),
    }),
    response: answer({ user: osUserSchema }),
    handler: async (s, ctx, { body: b }) => {
      const u = await s.directory.createUser(ownDomain(ctx, b.user.domain_id), b.user);
      return { user: osUser(s, u) };
    },
  }),

  iamOperation({
    name: 'KeystoneListUsers',
    method: 'GET',
    path: '/v3/users',
    action: 'iam:users:listUsers',
    summary: 'Users of the account, by name or enabled state.',
    mutates: false,
    query: Type.Object({ domain_id: Type.Optional(text({ maxChars: 64 })), name: Type.Optional(text({ maxChars: 64 })), enabled: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }),
    response: listOf('users', keystoneUserSchema),
    handler: async (s, ctx, { query: q }) => {
      const users = await s.directory.listUsers(ownDomain(ctx, q.domain_id), { name: q.name, enabled: q.enabled === undefined ? undefined : q.enabled === 'true' });
      return { users: users.map((u) => keystoneUser(s, u)), links: links(`${s.endpoint}/v3/users`) };
    },
  }),

  iamOperation({
    name: 'KeystoneShowUser',
    method: 'GET',
    path: '/v3/users/{user_id}',
    action: 'iam:users:getUser',
    summary: 'One user (Keystone form).',
    mutates: false,
    params: userParams,
    response: answer({ user: keystoneUserSchema }),
    handler: async (s, ctx, { params: p }) => ({ user: keystoneUser(s, await s.directory.user(ctx.caller.domainId, p.user_id)) }),
  }),

  iamOperation({
    name: 'ShowUser',
    method: 'GET',
    path: '/v3.0/OS-USER/users/{user_id}',
    action: 'iam:users:getUser',
    summary: 'One user (the recommended form).',
    mutates: false,
    params: userParams,
    response: answer({ user: osUserSchema }),
    handler: async (s, ctx, { params: p }) => ({ user: osUser(s, await s.directory.user(ctx.caller.domainId, p.user_id)) }),
  }),

  iamOperation({
    name: 'UpdateUser',
    method: 'PUT',
    path: '/v3.0/OS-USER/users/{user_id}',
    action: 'iam:users:updateUser',
    summary: 'Change a user\'s name, password, e-mail, description, or enable or disable them (a disabled user\'s credentials stop working everywhere within a second).',
    mutates: true,
    params: userParams,
    body: body({
      user: Type.Object({
        name: Type.Optional(name()), password: password(), email: email(), enabled: Type.Optional(bool()), description: description(),
        access_mode: Type.Optional(Type.String()), pwd_status: Type.Optional(Type.Boolean()), areacode: Type.Optional(Type.String()),
        phone: Type.Optional(Type.String()), xuser_type: Type.Optional(Type.String()), xuser_id: Type.Optional(Type.String()),
      }),
    }),
    response: answer({ user: osUserSchema }),
    handler: async (s, ctx, { params: p, body: b }) => {
      await guardAdministrators(s, ctx, { userId: p.user_id });
      return { user: osUser(s, await s.directory.updateUser(ctx.caller.domainId, p.user_id, b.user)) };
    },
  }),

  iamOperation({
    name: 'KeystoneUpdateUserByAdmin',
    method: 'PATCH',
    path: '/v3/users/{user_id}',
    action: 'iam:users:updateUser',
    summary: 'Change a user (Keystone form).',
    mutates: true,
    params: userParams,
    body: body({
      user: Type.Object({
        name: Type.Optional(name()), password: password(), enabled: Type.Optional(bool()), description: description(),
        domain_id: Type.Optional(text({ maxChars: 64 })), pwd_status: Type.Optional(Type.Boolean()),
      }),
    }),
    response: answer({ user: keystoneUserSchema }),
    handler: async (s, ctx, { params: p, body: b }) => {
      ownDomain(ctx, b.user.domain_id);
      await guardAdministrators(s, ctx, { userId: p.user_id });
      return { user: keystoneUser(s, await s.directory.updateUser(ctx.caller.domainId, p.user_id, b.user)) };
    },
  }),

  iamOperation({
    name: 'KeystoneDeleteUser',
    method: 'DELETE',
    path: '/v3/users/{user_id}',
    action: 'iam:users:deleteUser',
    summary: 'Delete a user with their memberships and access keys (not the account owner: 1107).',
    mutates: true,
    status: 204,
    params: userParams,
    handler: async (s, ctx, { params: p }) => {
      await guardAdministrators(s, ctx, { userId: p.user_id });
      await s.directory.deleteUser(ctx.caller.domainId, p.user_id);
    },
  }),

  iamOperation({
    name: 'KeystoneUpdateUserPassword',
    method: 'POST',
    path: '/v3/users/{user_id}/password',
    action: 'iam:users:updateUserPassword',
    summary: 'A user changes their own password, giving the current one.',
    mutates: true,
    status: 204,
    params: userParams,
    body: body({ user: Type.Object({ password: text({ minChars: 1, maxChars: 32 }), original_password: text({ minChars: 1, maxChars: 128 }) }) }),
    selfService: ({ params: p }) => ({ userId: p.user_id }),
    handler: async (s, ctx, { params: p, body: b }) => {
      if (p.user_id !== ctx.caller.userId) throw new KmsError('IAM.0004', 'Users change their own password; an administrator sets another user\'s with UpdateUser.');
      await s.directory.changeOwnPassword(ctx.caller.domainId, p.user_id, b.user.original_password, b.user.password);
      return new Answer(undefined);
    },
  }),

  iamOperation({
    name: 'KeystoneListGroupsForUser',
    method: 'GET',
    path: '/v3/users/{user_id}/groups',
    action: 'iam:groups:listGroupsForUser',
    summary: 'The groups a user belongs to.',
    mutates: false,
    params: userParams,
    response: listOf('groups', groupSchema),
    handler: async (s, ctx, { params: p }) => ({
      groups: (await s.directory.groupsOf(ctx.caller.domainId, p.user_id)).map((g) => group(s, g)),
      links: links(`${s.endpoint}/v3/users/${p.user_id}/groups`),
    }),
  }),
];
