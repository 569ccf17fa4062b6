/**
 * Cross-region keys (docs/reference/huawei-kms-api.md §6): the regions a key can be replicated to
 * (docs/reference/seed-kms-regions-api.txt), replicate a key to another region, and move its primary. Replicate and
 * update-primary-region are called on the primary's region.
 */
import { Type } from 'typebox';
import { REGION_ID_RE } from '../../../deployment.js';
import { KmsError } from '../../../errors.js';
import { ALIAS_PATTERN, answer, body, integer, keyId, text } from '../../schema.js';
import { MAX_TAGS_PER_KEY } from '../../../core/tags.js';
import { kmsOperation, projectParams } from './common.js';
import { distinctTags, tagItem } from './tags.js';

const keyParams = Type.Object({ project_id: projectParams.properties.project_id, key_id: keyId() });
const regionId = () => text({ pattern: REGION_ID_RE.source, description: 'Region id, e.g. cn-north-4.' });

/** A `key_id` in the body, when sent, must be the key of the path. */
function samePathKey(pathKeyId: string, bodyKeyId: string | undefined): void {
  if (bodyKeyId !== undefined && bodyKeyId !== pathKeyId) throw new KmsError('KMS.0205', 'key_id in the body differs from the key id in the path.');
}

export const multiRegionOperations = [
  kmsOperation({
    name: 'ListSupportRegions',
    method: 'GET',
    path: '/v2/{project_id}/kms/regions',
    action: 'kms:region:list',
    actionSource: 'strongroom',
    summary: 'The regions a key of this region can be replicated to, paged by limit (default 10) and offset; past the end, an empty list.',
    mutates: false,
    params: projectParams,
    query: Type.Object({
      limit: Type.Optional(integer({ code: 'KMS.1601', minimum: 1, maximum: 100, description: 'Page size 1–100 (default 10).' })),
      offset: Type.Optional(integer({ code: 'KMS.1603', minimum: 0, description: 'Regions to skip (default 0).' })),
    }),
    response: answer({ regions: Type.Array(Type.String()) }),
    handler: async (s, _ctx, { query: q }) => {
      const limit = q.limit ?? 10;
      const offset = q.offset ?? 0;
      return { regions: s.topology.replicaTargets(s.region).slice(offset, offset + limit) };
    },
  }),

  kmsOperation({
    name: 'ReplicateKey',
    method: 'POST',
    path: '/v2/{project_id}/kms/keys/{key_id}/replicate',
    action: 'kms:cmk:replicate',
    summary: 'Create a replica of the key (same key id, same material) in another region.',
    mutates: true,
    params: keyParams,
    body: body({
      key_id: Type.Optional(keyId()),
      replica_region: regionId(),
      key_alias: text({ code: 'KMS.1101', pattern: ALIAS_PATTERN }),
      key_description: Type.Optional(text({ code: 'KMS.1103', maxChars: 255 })),
      enterprise_project_id: Type.Optional(text({ maxBytes: 64 })),
      replica_project_id: text({ pattern: '^[0-9a-zA-Z_-]{1,64}$', description: 'Project of the replica in the target region.' }),
      tags: Type.Optional(Type.Array(tagItem(), { maxItems: MAX_TAGS_PER_KEY, 'x-error-code': 'KMS.0409', description: 'Tags of the replica (at most 10).' })),
    }),
    response: answer({ key_id: Type.String(), domain_id: Type.String(), region: Type.String() }),
    keyIds: ({ params: p }) => [p.key_id],
    // The replica is a new key in the replica's project: creating it there is the caller's to be allowed.
    otherProjects: async (_s, _ctx, { body: b }) => [{ projectId: b.replica_project_id, region: b.replica_region, action: 'kms:cmk:create' }],
    handler: async (s, ctx, { params: p, body: b }) => {
      samePathKey(p.key_id, b.key_id);
      if (b.key_alias.endsWith('/default')) throw new KmsError('KMS.1101', 'Aliases ending in /default are reserved for default keys.');
      const key = await s.replication.replicate(ctx, p.key_id, {
        region: b.replica_region, projectId: b.replica_project_id, alias: b.key_alias,
        description: b.key_description ?? '', enterpriseProjectId: b.enterprise_project_id ?? '0',
        tags: distinctTags(b.tags ?? []).map((t) => ({ key: t.key, value: t.value ?? '' })),
      });
      return { key_id: key.id, domain_id: key.domainId, region: b.replica_region };
    },
  }),

  kmsOperation({
    name: 'UpdatePrimaryRegion',
    method: 'PUT',
    path: '/v2/{project_id}/kms/keys/{key_id}/update-primary-region',
    action: 'kms:cmk:updatePrimaryRegion',
    summary: 'Make the replica in another region the primary; this region\'s copy becomes a replica.',
    mutates: true,
    params: keyParams,
    body: body({ key_id: Type.Optional(keyId()), primary_region: regionId() }),
    response: answer({ key_id: Type.String(), primary_region: Type.String() }),
    keyIds: ({ params: p }) => [p.key_id],
    // The new primary's region changes too: the caller needs the action in the replica's project there.
    otherProjects: async (s, ctx, { params: p, body: b }) => {
      const replica = (await s.keys.find(ctx, p.key_id))?.replicas.find((r) => r.region === b.primary_region);
      return replica ? [{ projectId: replica.projectId, region: replica.region, action: 'kms:cmk:updatePrimaryRegion' }] : [];
    },
    handler: async (s, ctx, { params: p, body: b }) => {
      samePathKey(p.key_id, b.key_id);
      const key = await s.replication.updatePrimaryRegion(ctx, p.key_id, b.primary_region);
      return { key_id: key.id, primary_region: key.primaryRegion ?? b.primary_region };
    },
  }),
];
