/**
 * Aliases (docs/reference/huawei-kms-api.md §2 B, §4 B 11–14; core/aliases.ts for the rules). An alias is `alias/` and
 * 1–249 letters, digits, `_ - : /` (the prefix as Terraform and OTC document it, the characters as the DEW user guide
 * does; KMS.1101 otherwise, also for the `/default` suffix of default keys). The AliasEntity answer carries
 * `alias_urn` `kms:<region>:<domain_id>:alias:<alias>` and ISO-8601 times. ListAliases answers one object
 * `{aliases, page_info: {next_marker, current_count}}`, as the real service does (Terraform's acceptance tests read
 * it so), not the top-level array of the SDK models (docs/reference/huawei-kms-api.md §9 #1).
 */
import { Type } from 'typebox';
import type { AliasRecord } from '../../../storage/kms-store.js';
import { KmsError } from '../../../errors.js';
import { answer, body, integer, keyId, text } from '../../schema.js';
import { kmsOperation, projectParams } from './common.js';

const ALIAS_NAME = '^alias/[a-zA-Z0-9:/_-]{1,249}$';
const aliasName = () => text({ code: 'KMS.1101', pattern: ALIAS_NAME, description: 'alias/ and 1–249 letters, digits, _ - : / (at most 255 characters).' });

const aliasEntity = answer({
  domain_id: Type.String(), key_id: Type.String(), alias: Type.String(), alias_urn: Type.String(), create_time: Type.String(), update_time: Type.String(),
});

/** ISO-8601 UTC to the second, as Huawei's examples write alias times (`2024-04-01T00:00:00Z`). */
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function present(region: string, a: AliasRecord) {
  return {
    domain_id: a.domainId, key_id: a.keyId, alias: a.alias, alias_urn: `kms:${region}:${a.domainId}:alias:${a.alias}`,
    create_time: isoSeconds(a.createdAt), update_time: isoSeconds(a.updatedAt),
  };
}

/** Aliases ending in /default name the default keys of cloud services (docs/reference/huawei-kms-api.md §8.5). */
function notReserved(alias: string): string {
  if (alias.endsWith('/default')) throw new KmsError('KMS.1101', 'Aliases ending in /default are reserved for default keys.');
  return alias;
}

export const aliasOperations = [
  kmsOperation({
    name: 'CreateAlias',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/aliases',
    action: 'kms:alias:create',
    summary: 'Give a key an alias (unique in the account and region; at most 50 per key).',
    mutates: true,
    status: 201,
    params: projectParams,
    body: body({ key_id: keyId(), alias: aliasName() }),
    response: aliasEntity,
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => present(s.region, await s.aliases.create(ctx, b.key_id, notReserved(b.alias))),
  }),

  kmsOperation({
    name: 'ListAliases',
    method: 'GET',
    path: '/v1.0/{project_id}/kms/aliases',
    action: 'kms:alias:list',
    summary: 'The aliases of the project\'s keys (of one key with key_id), by name, paged by limit (default 50) and marker (the previous page\'s next_marker).',
    mutates: false,
    params: projectParams,
    query: Type.Object({
      key_id: Type.Optional(keyId()),
      limit: Type.Optional(integer({ code: 'KMS.1601', minimum: 1, maximum: 1000, emptyIsAbsent: true, description: 'Page size 1–1000 (default 50).' })),
      marker: Type.Optional(text({ maxChars: 255, description: 'next_marker of the previous page (an alias); empty: the first page.' })),
    }),
    response: answer({
      aliases: Type.Array(aliasEntity),
      page_info: answer({ next_marker: Type.String(), current_count: Type.Integer() }),
    }),
    keyIds: ({ query: q }) => [q.key_id],
    handler: async (s, ctx, { query: q }) => {
      const page = await s.aliases.list(ctx, q.key_id, q.limit ?? 50, q.marker ?? '');
      return { aliases: page.aliases.map((a) => present(s.region, a)), page_info: { next_marker: page.nextMarker, current_count: page.aliases.length } };
    },
  }),

  kmsOperation({
    name: 'DeleteAlias',
    method: 'DELETE',
    path: '/v1.0/{project_id}/kms/aliases',
    action: 'kms:alias:delete',
    actionSource: 'strongroom',
    summary: 'Delete aliases of a key (JSON body): all of them, or none when one is not an alias of that key (KMS.0308).',
    mutates: true,
    status: 204,
    params: projectParams,
    body: body({ key_id: keyId(), aliases: Type.Array(aliasName(), { minItems: 1, maxItems: 50, 'x-error-code': 'KMS.0308' }) }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      await s.aliases.delete(ctx, b.key_id, [...new Set(b.aliases)]);
    },
  }),

  kmsOperation({
    name: 'AssociateAlias',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/alias/associate',
    action: 'kms:alias:associate',
    summary: 'Move an alias of the project to another key of the project (the action is needed on both keys).',
    mutates: true,
    params: projectParams,
    body: body({ alias: aliasName(), target_key_id: keyId() }),
    response: aliasEntity,
    keyIds: ({ body: b }) => [b.target_key_id],
    // The key losing the alias is acted on too: the caller needs the action on it as well, and the record names it.
    relatedKeyIds: async (s, ctx, { body: b }) => {
      const current = await s.aliases.holder(ctx, b.alias);
      return current === null ? [] : [current];
    },
    handler: async (s, ctx, { body: b }) => present(s.region, await s.aliases.associate(ctx, b.alias, b.target_key_id)),
  }),
];
