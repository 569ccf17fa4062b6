/** API version discovery: GET / and GET /{version_id} (huawei-kms-api.md §7). No credentials needed. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KmsError } from '../../errors.js';

const VERSIONS = [
  { id: 'v1.0', status: 'CURRENT', updated: '2018-09-05T08:18:05Z' },
  { id: 'v2', status: 'SUPPORTED', updated: '2024-07-01T00:00:00Z' },
];

function describe(req: FastifyRequest, v: (typeof VERSIONS)[number]) {
  const base = `${req.protocol}://${req.headers.host ?? 'localhost'}`;
  return { id: v.id, links: [{ href: `${base}/${v.id}/`, rel: 'self' }], version: '', min_version: '', status: v.status, updated: v.updated };
}

export function versionRoutes(app: FastifyInstance): void {
  app.get('/', async (req) => ({ versions: VERSIONS.map((v) => describe(req, v)) }));
  app.get('/:version_id', async (req) => {
    const v = VERSIONS.find((x) => x.id === (req.params as { version_id: string }).version_id);
    if (!v) throw new KmsError('APIGW.0101', 'Unknown API version.');
    return { version: describe(req, v) };
  });
}
