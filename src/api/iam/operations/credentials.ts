/**
 * Permanent access keys of users (Huawei IAM API "Access Key Management"): create (the secret is answered once),
 * list, show, enable/disable (`status` active or inactive) and delete. A user manages their own keys without a
 * permission; anyone else's needs the `iam:credentials:*` action. At most two keys per user (akSkNumExceed).
 */
import { Type } from 'typebox';
import type { AccessKeyRecord } from '../../../storage/iam-store.js';
import { answer, body, oneOf, text } from '../../schema.js';
import { credentialTime, guardAdministrators, iamOperation, type IamServices } from './common.js';

const akParams = Type.Object({ access_key: text({ code: 'IAM.0003', pattern: '^[A-Z0-9]{1,64}$', description: 'Access key id.' }) });
const credentialSchema = answer({ user_id: Type.String(), access: Type.String(), status: Type.String(), create_time: Type.String(), description: Type.String() });
const shown = (k: AccessKeyRecord) => ({ user_id: k.userId, access: k.accessKey, status: k.enabled ? 'active' : 'inactive', create_time: credentialTime(k.createdAt), description: k.description });

/** Whose keys a list call means: `user_id` when given (another user of the account), else the caller's. */
async function owner(s: IamServices, domainId: string, userId: string): Promise<string> {
  return (await s.directory.user(domainId, userId)).id;
}

export const credentialOperations = [
  iamOperation({
    name: 'CreatePermanentAccessKey',
    method: 'POST',
    path: '/v3.0/OS-CREDENTIAL/credentials',
    action: 'iam:credentials:createCredential',
    summary: 'A new permanent access key for a user; the secret key is in this answer only.',
    mutates: true,
    status: 201,
    body: body({ credential: Type.Object({ user_id: text({ minChars: 1, maxChars: 64 }), description: Type.Optional(text({ maxChars: 255 })) }) }),
    response: answer({ credential: answer({ ...credentialSchema.properties, secret: Type.String() }) }),
    selfService: ({ body: b }) => ({ userId: b.credential.user_id }),
    handler: async (s, ctx, { body: b }) => {
      const userId = await owner(s, ctx.caller.domainId, b.credential.user_id);
      await guardAdministrators(s, ctx, { userId });
      const key = await s.iam.createAccessKey(userId, b.credential.description ?? '');
      return { credential: { ...shown(key.record), secret: key.secretKey } };
    },
  }),

  iamOperation({
    name: 'ListPermanentAccessKeys',
    method: 'GET',
    path: '/v3.0/OS-CREDENTIAL/credentials',
    action: 'iam:credentials:listCredentials',
    summary: 'The permanent access keys of a user (the caller\'s own without user_id); never their secrets.',
    mutates: false,
    query: Type.Object({ user_id: Type.Optional(text({ minChars: 1, maxChars: 64 })) }),
    response: answer({ credentials: Type.Array(credentialSchema) }),
    selfService: ({ query: q }) => ({ userId: q.user_id }),
    handler: async (s, ctx, { query: q }) => {
      const userId = await owner(s, ctx.caller.domainId, q.user_id ?? ctx.caller.userId);
      return { credentials: (await s.iam.listAccessKeys(userId)).map(shown) };
    },
  }),

  iamOperation({
    name: 'ShowPermanentAccessKey',
    method: 'GET',
    path: '/v3.0/OS-CREDENTIAL/credentials/{access_key}',
    action: 'iam:credentials:getCredential',
    summary: 'One permanent access key.',
    mutates: false,
    params: akParams,
    response: answer({ credential: answer({ ...credentialSchema.properties, last_use_time: Type.String() }) }),
    selfService: ({ params: p }) => ({ accessKey: p.access_key }),
    handler: async (s, ctx, { params: p }) => {
      const k = await s.iam.accessKey(ctx.caller.domainId, p.access_key);
      return { credential: { ...shown(k), last_use_time: '' } };
    },
  }),

  iamOperation({
    name: 'UpdatePermanentAccessKey',
    method: 'PUT',
    path: '/v3.0/OS-CREDENTIAL/credentials/{access_key}',
    action: 'iam:credentials:updateCredential',
    summary: 'Enable or disable (status active/inactive) a permanent access key, or change its description.',
    mutates: true,
    params: akParams,
    body: body({ credential: Type.Object({ status: Type.Optional(oneOf(['active', 'inactive'], { code: 'IAM.0001' })), description: Type.Optional(text({ maxChars: 255 })) }) }),
    response: answer({ credential: credentialSchema }),
    selfService: ({ params: p }) => ({ accessKey: p.access_key }),
    handler: async (s, ctx, { params: p, body: b }) => {
      const status = b.credential.status;
      await guardAdministrators(s, ctx, { userId: (await s.iam.accessKey(ctx.caller.domainId, p.access_key)).userId });
      const k = await s.iam.updateAccessKey(ctx.caller.domainId, p.access_key, { enabled: status === undefined ? undefined : status === 'active', description: b.credential.description });
      return { credential: shown(k) };
    },
  }),

  iamOperation({
    name: 'DeletePermanentAccessKey',
    method: 'DELETE',
    path: '/v3.0/OS-CREDENTIAL/credentials/{access_key}',
    action: 'iam:credentials:deleteCredential',
    summary: 'Delete a permanent access key: requests signed with it are refused from then on.',
    mutates: true,
    status: 204,
    params: akParams,
    selfService: ({ params: p }) => ({ accessKey: p.access_key }),
    handler: async (s, ctx, { params: p }) => {
      await guardAdministrators(s, ctx, { userId: (await s.iam.accessKey(ctx.caller.domainId, p.access_key)).userId });
      await s.iam.deleteAccessKey(ctx.caller.domainId, p.access_key);
    },
  }),
];
