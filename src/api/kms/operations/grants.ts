/**
 * Grants (docs/reference/huawei-kms-api.md §2 J, §4 J 39–43; core/grants.ts for the rules). Grant ids are 64 hex
 * characters; `creation_date` is a string of epoch milliseconds (Terraform divides it by 1000); list answers carry
 * `next_marker` (an offset as a string, '' on the last page), `truncated` ("true"/"false") and `total`. `limit` and
 * `marker` come as numbers or strings of digits, and an empty string is no value (OTC's examples send `""`).
 */
import { Type } from 'typebox';
import { GRANT_OPERATIONS } from '../../../core/grants.js';
import type { GrantRecord } from '../../../storage/kms-store.js';
import { answer, body, integer, keyId, oneOf, sequence, text } from '../../schema.js';
import { kmsOperation, projectParams, viaGrant } from './common.js';

const PRINCIPAL = '^[a-zA-Z0-9]{1,64}$';
const GRANT_ID = '^[A-Fa-f0-9]{64}$';

const grantSchema = answer({
  key_id: Type.String(), grant_id: Type.String(), grantee_principal: Type.String(), grantee_principal_type: Type.String(),
  operations: Type.Array(Type.String()), issuing_principal: Type.String(), creation_date: Type.String(), name: Type.String(),
  retiring_principal: Type.String(),
});
const grantPage = answer({ grants: Type.Array(grantSchema), next_marker: Type.String(), truncated: Type.String(), total: Type.Integer() });

const paging = {
  limit: Type.Optional(integer({ code: 'KMS.1601', minimum: 1, maximum: 1000, emptyIsAbsent: true, description: 'Page size 1–1000 (default 100).' })),
  marker: Type.Optional(integer({ code: 'KMS.1602', minimum: 0, emptyIsAbsent: true, description: 'next_marker of the previous page (default 0).' })),
};

const grantBody = body({ key_id: keyId(), grant_id: text({ code: 'KMS.2501', pattern: GRANT_ID, description: 'Grant ID (64 hex characters).' }), sequence: sequence() });

function present(g: GrantRecord) {
  return {
    key_id: g.keyId, grant_id: g.id, grantee_principal: g.grantee, grantee_principal_type: g.granteeType, operations: g.operations,
    issuing_principal: g.issuer, creation_date: String(g.createdAt), name: g.name, retiring_principal: g.retiringPrincipal,
  };
}

const presentPage = (p: { grants: GrantRecord[]; total: number; nextMarker: string }) => ({
  grants: p.grants.map(present), next_marker: p.nextMarker, truncated: p.nextMarker === '' ? 'false' : 'true', total: p.total,
});

export const grantOperations = [
  kmsOperation({
    name: 'CreateGrant',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/create-grant',
    action: 'kms:grant:create',
    summary: 'Let a user (or every user of an account) run the listed operations on one key; at most 100 grants per key (KMS.2404).',
    mutates: true,
    params: projectParams,
    body: body({
      key_id: keyId(),
      grantee_principal: text({ code: 'KMS.2402', pattern: PRINCIPAL, description: 'A user id, or an account id with grantee_principal_type domain.' }),
      operations: Type.Array(oneOf(GRANT_OPERATIONS), { minItems: 1, maxItems: GRANT_OPERATIONS.length, 'x-error-code': 'KMS.0308', description: 'Operations the grant allows.' }),
      name: Type.Optional(text({ pattern: '^[a-zA-Z0-9:/_-]{0,255}$', description: 'Grant name (empty: none).' })),
      retiring_principal: Type.Optional(text({ code: 'KMS.2402', pattern: '^[a-zA-Z0-9]{0,64}$', description: 'A user who may retire the grant (empty: none).' })),
      grantee_principal_type: Type.Optional(oneOf(['user', 'domain'], { description: 'user (default) or domain.' })),
      sequence: sequence(),
    }),
    response: answer({ grant_id: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    // What a policy may restrict (as AWS KMS names them): the operations granted, and to whom.
    conditions: ({ body: b }) => ({ 'kms:GrantOperations': b.operations, 'kms:GranteePrincipal': b.grantee_principal }),
    // A grantee holding create-grant may grant onward, only what it holds.
    resourcePermission: viaGrant('create-grant'),
    handler: async (s, ctx, { body: b }) => {
      const grant = await s.grants.create(ctx, {
        keyId: b.key_id, grantee: b.grantee_principal, granteeType: b.grantee_principal_type ?? 'user', operations: b.operations,
        name: b.name ?? '', retiringPrincipal: b.retiring_principal ?? '',
      }, ctx.grants?.operations);
      return { grant_id: grant.id };
    },
  }),

  kmsOperation({
    name: 'CancelGrant',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/revoke-grant',
    action: 'kms:grant:revoke',
    summary: 'Revoke a grant of a key of the project (the key\'s account).',
    mutates: true,
    params: projectParams,
    body: grantBody,
    response: answer({}),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => (await s.grants.revoke(ctx, b.key_id, b.grant_id.toLowerCase()), {}),
  }),

  kmsOperation({
    name: 'CancelSelfGrant',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/retire-grant',
    action: 'kms:grant:retire',
    summary: 'Retire a grant: its retiring principal, its issuer, its grantee when it lists retire-grant, or the key\'s account.',
    mutates: true,
    params: projectParams,
    body: grantBody,
    response: answer({}),
    keyIds: ({ body: b }) => [b.key_id],
    resourcePermission: async (s, ctx, { body: b }) => {
      const id = b.grant_id.toLowerCase();
      return (await s.grants.isRetirer(ctx, b.key_id, id)) ? { by: [id], operations: [] } : null;
    },
    handler: async (s, ctx, { body: b }) => (await s.grants.retire(ctx, b.key_id, b.grant_id.toLowerCase()), {}),
  }),

  kmsOperation({
    name: 'ListGrants',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/list-grants',
    action: 'kms:grant:list',
    summary: 'The grants of a key, oldest first, paged by limit and marker.',
    mutates: false,
    params: projectParams,
    body: body({ key_id: keyId(), ...paging, sequence: sequence() }),
    response: grantPage,
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => presentPage(await s.grants.list(ctx, b.key_id, b.limit ?? 100, b.marker ?? 0)),
  }),

  kmsOperation({
    name: 'ListRetirableGrants',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/list-retirable-grants',
    action: 'kms:grant:list',
    summary: 'The grants of this region the caller may retire as their retiring principal, oldest first (their own: no permission needed, unless a policy denies kms:grant:list).',
    mutates: false,
    params: projectParams,
    body: body({ ...paging, sequence: sequence() }),
    response: grantPage,
    // The answer holds only grants naming the caller: a retiring principal of the account needs no policy to find
    // them (one of another account lists them in a project of its own).
    resourcePermission: async (_s, ctx) => (ctx.foreign ? null : { by: [], operations: [] }),
    handler: async (s, ctx, { body: b }) => presentPage(await s.grants.listRetirable(ctx, b.limit ?? 100, b.marker ?? 0)),
  }),
];
