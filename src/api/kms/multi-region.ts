/**
 * Cross-region keys (huawei-kms-api.md §6.2–6.3): replicate a key to another region, and move its primary.
 * Both are called on the region that holds the primary.
 */
import type { FastifyInstance } from 'fastify';
import type { ReplicationService } from '../../core/replication.js';
import { REGION_ID_RE } from '../../deployment.js';
import { KmsError } from '../../errors.js';
import { ALIAS_RE, KEY_ID_RE, optionalKeyId, optionalString, requiredString, type Body } from '../fields.js';
import { operation, type RegionApi } from './routes.js';

/** The key id of the path; a `key_id` in the body, when sent, must be the same. */
function pathKeyId(params: unknown, body: Body): string {
  const keyId = (params as { key_id: string }).key_id;
  if (!KEY_ID_RE.test(keyId)) throw new KmsError('KMS.0205');
  const inBody = optionalKeyId(body);
  if (inBody !== undefined && inBody !== keyId) throw new KmsError('KMS.0205', 'key_id in the body differs from the key id in the path.');
  return keyId;
}

export function multiRegionRoutes(app: FastifyInstance, api: RegionApi & { replication: ReplicationService }): void {
  operation(app, api, 'POST', '/v2/:project_id/kms/keys/:key_id/replicate', async (ctx, body, req) => {
    const keyId = pathKeyId(req.params, body);
    const region = requiredString(body, 'replica_region', { pattern: REGION_ID_RE });
    const alias = requiredString(body, 'key_alias', { code: 'KMS.1101', pattern: ALIAS_RE });
    if (alias.endsWith('/default')) throw new KmsError('KMS.1101', 'Aliases ending in /default are reserved for default keys.');
    const description = optionalString(body, 'key_description', { code: 'KMS.1103', maxChars: 255 }) ?? '';
    const projectId = requiredString(body, 'replica_project_id', { pattern: /^[0-9a-zA-Z_-]{1,64}$/ });
    const enterpriseProjectId = optionalString(body, 'enterprise_project_id', { maxBytes: 64 }) ?? '0';
    const tags = body.tags;
    if (tags !== undefined && tags !== null && !(Array.isArray(tags) && tags.length === 0)) {
      throw new KmsError('KMS.0308', 'Tags are not supported by this Strongroom version yet; replicate without tags.');
    }
    const key = await api.replication.replicate(ctx, keyId, { region, projectId, alias, description, enterpriseProjectId });
    return { key_id: key.id, domain_id: key.domainId, region };
  });

  operation(app, api, 'PUT', '/v2/:project_id/kms/keys/:key_id/update-primary-region', async (ctx, body, req) => {
    const keyId = pathKeyId(req.params, body);
    const region = requiredString(body, 'primary_region', { pattern: REGION_ID_RE });
    const key = await api.replication.updatePrimaryRegion(ctx, keyId, region);
    return { key_id: key.id, primary_region: key.primaryRegion };
  });
}
