/** Key lifecycle operations (huawei-kms-api.md §4 A): create, describe, list, enable, disable, deletion, alias, description. */
import type { FastifyInstance } from 'fastify';
import type { KeyState } from '../../core/key.js';
import { isKeySpec, type KeySpec } from '../../core/key-specs.js';
import { KmsError } from '../../errors.js';
import { ALIAS_RE, keyIdField, optionalInteger, optionalString, requiredInteger, requiredString } from '../fields.js';
import { keyDetails } from './present.js';
import { kmsPost, type RegionApi } from './routes.js';

const DESCRIPTION = { code: 'KMS.1103', maxChars: 255 } as const;

export function lifecycleRoutes(app: FastifyInstance, api: RegionApi): void {
  const { keys } = api;

  kmsPost(app, api, 'create-key', async (ctx, body) => {
    const key = await keys.create(ctx, {
      alias: requiredString(body, 'key_alias', { code: 'KMS.1101', pattern: ALIAS_RE }),
      spec: optionalString(body, 'key_spec'),
      usage: optionalString(body, 'key_usage'),
      description: optionalString(body, 'key_description', DESCRIPTION),
      origin: optionalString(body, 'origin'),
      enterpriseProjectId: optionalString(body, 'enterprise_project_id', { maxBytes: 64 }),
      keystoreId: optionalString(body, 'keystore_id', { code: 'KMS.0340', maxBytes: 64 }),
    });
    return { key_info: { key_id: key.id, domain_id: key.domainId, region_id: key.region } };
  });

  kmsPost(app, api, 'describe-key', async (ctx, body) => ({ key_info: keyDetails(await keys.get(ctx, keyIdField(body))) }));

  kmsPost(app, api, 'list-keys', async (ctx, body) => {
    const limit = optionalInteger(body, 'limit', { code: 'KMS.1601', min: 1, max: 2000 }) ?? 2000;
    const offset = optionalInteger(body, 'marker', { code: 'KMS.1602', min: 0 }) ?? 0;
    const state = optionalString(body, 'key_state', { pattern: /^[1-5]$/ }) as KeyState | undefined;
    const specName = optionalString(body, 'key_spec') ?? 'AES_256'; // Huawei's default filter
    if (specName !== 'ALL' && !isKeySpec(specName)) throw new KmsError('KMS.0308', `Unknown key_spec ${specName}.`);
    const spec = specName === 'ALL' ? undefined : (specName as KeySpec);
    const page = await keys.list(ctx, { offset, limit, state, spec });
    const more = offset + page.keys.length < page.total;
    return {
      keys: page.keys.map((k) => k.id),
      key_details: page.keys.map(keyDetails),
      next_marker: more ? String(offset + page.keys.length) : '',
      truncated: String(more),
      total: page.total,
    };
  });

  kmsPost(app, api, 'enable-key', async (ctx, body) => {
    const key = await keys.enable(ctx, keyIdField(body));
    return { key_info: { key_id: key.id, key_state: key.state } };
  });

  kmsPost(app, api, 'disable-key', async (ctx, body) => {
    const key = await keys.disable(ctx, keyIdField(body));
    return { key_info: { key_id: key.id, key_state: key.state } };
  });

  kmsPost(app, api, 'schedule-key-deletion', async (ctx, body) => {
    const keyId = keyIdField(body);
    const key = await keys.scheduleDeletion(ctx, keyId, requiredInteger(body, 'pending_days', { code: 'KMS.1401', min: 7, max: 1096 }));
    return { key_id: key.id, key_state: key.state };
  });

  kmsPost(app, api, 'cancel-key-deletion', async (ctx, body) => {
    const key = await keys.cancelDeletion(ctx, keyIdField(body));
    return { key_id: key.id, key_state: key.state };
  });

  kmsPost(app, api, 'update-key-alias', async (ctx, body) => {
    const keyId = keyIdField(body);
    const key = await keys.updateAlias(ctx, keyId, requiredString(body, 'key_alias', { code: 'KMS.1101', pattern: ALIAS_RE }));
    return { key_info: { key_id: key.id, key_alias: key.alias } };
  });

  kmsPost(app, api, 'update-key-description', async (ctx, body) => {
    const keyId = keyIdField(body);
    const key = await keys.updateDescription(ctx, keyId, requiredString(body, 'key_description', DESCRIPTION));
    return { key_info: { key_id: key.id, key_description: key.description } };
  });
}
