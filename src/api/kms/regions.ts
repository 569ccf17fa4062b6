/**
 * GET /v2/{project_id}/kms/regions (the seed page, huawei-kms-api.md §6.1): the regions a key of this region can be
 * replicated to, paged by `limit` (default 10, 1–100) and `offset` (default 0); past the end, an empty list.
 */
import type { FastifyInstance } from 'fastify';
import { optionalInteger } from '../fields.js';
import { operation, type RegionApi } from './routes.js';

export function regionRoutes(app: FastifyInstance, api: RegionApi): void {
  operation(app, api, 'GET', '/v2/:project_id/kms/regions', async (_ctx, _body, req) => {
    const query = req.query as Record<string, unknown>;
    const limit = optionalInteger(query, 'limit', { code: 'KMS.1601', min: 1, max: 100 }) ?? 10;
    const offset = optionalInteger(query, 'offset', { code: 'KMS.1603', min: 0 }) ?? 0;
    return { regions: api.topology.replicaTargets(api.region).slice(offset, offset + limit) };
  });
}
