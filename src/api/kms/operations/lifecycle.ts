/**
 * Key lifecycle (docs/reference/huawei-kms-api.md §2 A, §4 A 1–3, 5–10): create, list, describe, state changes, alias,
 * description.
 */
import { Type } from 'typebox';
import { KEY_SPECS } from '../../../core/key-specs.js';
import type { KeySpec } from '../../../core/key-specs.js';
import type { KeyState } from '../../../core/key.js';
import { ALIAS_PATTERN, answer, body, integer, keyId, oneOf, sequence, text } from '../../schema.js';
import { keyDetails } from '../present.js';
import { keystoreTypeName } from '../../../core/keystores.js';
import { keyDetailsSchema, keyState, kmsOperation, operateKey, projectParams, viaGrant } from './common.js';

const SPECS = Object.keys(KEY_SPECS) as KeySpec[];
const alias = () => text({ code: 'KMS.1101', pattern: ALIAS_PATTERN, description: 'Alias: 1–255 of a-z A-Z 0-9 : / _ - (not ending in /default).' });
const description = () => text({ code: 'KMS.1103', maxChars: 255, description: 'Description, at most 255 characters.' });

export const lifecycleOperations = [
  kmsOperation({
    name: 'CreateKey',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/create-key',
    action: 'kms:cmk:create',
    summary: 'Create a customer master key (symmetric, key pair or HMAC; made by KMS or awaiting imported material).',
    mutates: true,
    params: projectParams,
    body: body({
      key_alias: alias(),
      key_spec: Type.Optional(oneOf(SPECS, { description: 'Key spec (default AES_256).' })),
      key_usage: Type.Optional(oneOf(['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'])),
      key_description: Type.Optional(description()),
      origin: Type.Optional(oneOf(['kms', 'external'])),
      enterprise_project_id: Type.Optional(text({ maxBytes: 64 })),
      keystore_id: Type.Optional(text({ code: 'KMS.0340', maxBytes: 64, description: 'The default keystore "0", or a dedicated keystore of the account (create-keystore): the key\'s material is then made and kept in its HSM.' })),
      sequence: sequence(),
    }),
    response: answer({ key_info: answer({ key_id: Type.String(), domain_id: Type.String(), region_id: Type.String() }) }),
    conditions: ({ body: b }) => {
      const spec = b.key_spec ?? 'AES_256';
      return { 'kms:KeySpec': spec, 'kms:KeyUsage': b.key_usage ?? KEY_SPECS[spec].defaultUsage, 'kms:KeyOrigin': b.origin ?? 'kms', 'kms:MultiRegionKeyType': 'SINGLE' };
    },
    handler: async (s, ctx, { body: b }) => {
      const key = await s.keys.create(ctx, {
        alias: b.key_alias, spec: b.key_spec, usage: b.key_usage, description: b.key_description, origin: b.origin,
        enterpriseProjectId: b.enterprise_project_id, keystoreId: b.keystore_id,
      });
      return { key_info: { key_id: key.id, domain_id: key.domainId, region_id: key.region } };
    },
  }),

  kmsOperation({
    name: 'ListKeys',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/list-keys',
    action: 'kms:cmk:list',
    summary: 'List the keys of the project, newest first, filtered by state and spec (default AES_256; ALL for every spec); next_marker counts the keys older than the page, so pages stay put when keys are created meanwhile.',
    mutates: false,
    params: projectParams,
    body: body({
      limit: Type.Optional(integer({ code: 'KMS.1601', minimum: 1, maximum: 2000, description: 'Page size 1–2000 (default 2000).' })),
      marker: Type.Optional(integer({ code: 'KMS.1602', minimum: 0, description: 'The previous page\'s next_marker (the number of keys older than that page).' })),
      key_state: Type.Optional(text({ pattern: '^[1-5]$' })),
      key_spec: Type.Optional(oneOf([...SPECS, 'ALL'])),
      enterprise_project_id: Type.Optional(text({ maxBytes: 64 })),
      keystore_type: Type.Optional(oneOf(['DEFAULT', 'DHSM', 'CDMS', '0', '1', '2'], { code: 'KMS.0308', description: 'Only keys of the default keystore (DEFAULT, 0) or of dedicated ones (DHSM, 1).' })),
      sequence: sequence(),
    }),
    response: answer({
      keys: Type.Array(Type.String()),
      key_details: Type.Array(keyDetailsSchema),
      next_marker: Type.String(),
      truncated: Type.String(),
      total: Type.Integer(),
    }),
    handler: async (s, ctx, { body: b }) => {
      const limit = b.limit ?? 2000;
      const specName = b.key_spec ?? 'AES_256'; // Huawei's default filter
      const filter = {
        state: b.key_state as KeyState | undefined, spec: specName === 'ALL' ? undefined : specName,
        keystoreType: b.keystore_type === undefined ? undefined : (keystoreTypeName(b.keystore_type) ?? undefined),
      };
      // Newest first, as the real service lists (docs/reference/observed-huawei-answers.md). A page is the newest
      // `limit` keys among those older than the marker, counted from the oldest end: keys created between two calls
      // come before the first page and move nothing.
      const page = await s.keys.listNewest(ctx, { ...filter, before: b.marker, limit });
      const { keys, start } = page;
      const now = s.clock();
      return {
        keys: keys.map((k) => k.id),
        key_details: keys.map((k) => keyDetails(k, now)),
        next_marker: start > 0 ? String(start) : '',
        truncated: String(start > 0),
        total: page.total,
      };
    },
  }),

  kmsOperation({
    name: 'ListKeyDetail',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/describe-key',
    action: 'kms:cmk:get',
    summary: 'Describe one key.',
    mutates: false,
    params: projectParams,
    body: operateKey,
    response: answer({ key_info: keyDetailsSchema }),
    keyIds: ({ body: b }) => [b.key_id],
    resourcePermission: viaGrant('describe-key'),
    handler: async (s, ctx, { body: b }) => ({ key_info: keyDetails(await s.keys.get(ctx, b.key_id), s.clock()) }),
  }),

  kmsOperation({
    name: 'EnableKey',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/enable-key',
    action: 'kms:cmk:enable',
    summary: 'Enable a disabled key (state 3 → 2).',
    mutates: true,
    params: projectParams,
    body: operateKey,
    response: answer({ key_info: keyState }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const key = await s.keys.enable(ctx, b.key_id);
      return { key_info: { key_id: key.id, key_state: key.state } };
    },
  }),

  kmsOperation({
    name: 'DisableKey',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/disable-key',
    action: 'kms:cmk:disable',
    summary: 'Disable an enabled key (state 2 → 3).',
    mutates: true,
    params: projectParams,
    body: operateKey,
    response: answer({ key_info: keyState }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const key = await s.keys.disable(ctx, b.key_id);
      return { key_info: { key_id: key.id, key_state: key.state } };
    },
  }),

  kmsOperation({
    name: 'DeleteKey',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/schedule-key-deletion',
    action: 'kms:cmk:update',
    summary: 'Schedule the destruction of a key in 7–1096 days (state → 4).',
    mutates: true,
    params: projectParams,
    body: body({ key_id: keyId(), pending_days: integer({ code: 'KMS.1401', minimum: 7, maximum: 1096, description: 'Days until destruction, 7–1096.' }), sequence: sequence() }),
    response: keyState,
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const key = await s.keys.scheduleDeletion(ctx, b.key_id, b.pending_days);
      return { key_id: key.id, key_state: key.state };
    },
  }),

  kmsOperation({
    name: 'CancelKeyDeletion',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/cancel-key-deletion',
    action: 'kms:cmk:update',
    summary: 'Cancel a scheduled deletion; the key comes back disabled (state 4 → 3).',
    mutates: true,
    params: projectParams,
    body: operateKey,
    response: keyState,
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const key = await s.keys.cancelDeletion(ctx, b.key_id);
      return { key_id: key.id, key_state: key.state };
    },
  }),

  kmsOperation({
    name: 'UpdateKeyAlias',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/update-key-alias',
    action: 'kms:cmk:update',
    summary: 'Change the alias of a key.',
    mutates: true,
    params: projectParams,
    body: body({ key_id: keyId(), key_alias: alias(), sequence: sequence() }),
    response: answer({ key_info: answer({ key_id: Type.String(), key_alias: Type.String() }) }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const key = await s.keys.updateAlias(ctx, b.key_id, b.key_alias);
      return { key_info: { key_id: key.id, key_alias: key.alias } };
    },
  }),

  kmsOperation({
    name: 'UpdateKeyDescription',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/update-key-description',
    action: 'kms:cmk:update',
    summary: 'Change the description of a key.',
    mutates: true,
    params: projectParams,
    body: body({ key_id: keyId(), key_description: description(), sequence: sequence() }),
    response: answer({ key_info: answer({ key_id: Type.String(), key_description: Type.String() }) }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const key = await s.keys.updateDescription(ctx, b.key_id, b.key_description);
      return { key_info: { key_id: key.id, key_description: key.description } };
    },
  }),
];
