/**
 * The audit trail of one key, over HTTP (Strongroom's own operation; Huawei keeps KMS's trail in Cloud Trace
 * Service): the records of this region's trail that name the key (README "The audit trail"), oldest first, paged by
 * `limit` (1–100, default 50) and `marker` (the previous page's `next_marker`: the sequence number of its last
 * record). The key must be one of the caller's project in this region (KMS.0207 otherwise); the answer is every
 * record naming it, whoever the caller was, as `npx strongroom audit export --key-id` writes them.
 */
import { Type } from 'typebox';
import { answer, integer, keyId } from '../../schema.js';
import { kmsOperation, projectParams } from './common.js';

const keyParams = Type.Object({ project_id: projectParams.properties.project_id, key_id: keyId() });

export const auditTrailOperations = [
  kmsOperation({
    name: 'ListKeyAuditTrail',
    method: 'GET',
    path: '/v2/{project_id}/kms/keys/{key_id}/audit-trail',
    action: 'kms:cmk:getAuditTrail',
    actionSource: 'strongroom',
    summary: 'The records of this region\'s audit trail that name the key, oldest first, paged by limit (1–100, default 50) and marker (next_marker of the previous page).',
    mutates: false,
    params: keyParams,
    query: Type.Object({
      limit: Type.Optional(integer({ code: 'KMS.1601', minimum: 1, maximum: 100, description: 'Page size 1–100 (default 50).' })),
      marker: Type.Optional(integer({ code: 'KMS.1602', minimum: 0, description: 'next_marker of the previous page (default 0).' })),
    }),
    response: answer({
      records: Type.Array(Type.Record(Type.String(), Type.Unknown())),
      next_marker: Type.String(),
      truncated: Type.String(),
    }),
    keyIds: ({ params: p }) => [p.key_id],
    handler: async (s, ctx, { params: p, query: q }) => {
      await s.keys.get(ctx, p.key_id);
      const limit = q.limit ?? 50;
      const found = await s.auditTrail.auditRecords({ keyId: p.key_id, afterSeq: q.marker ?? 0, limit: limit + 1 });
      const records = found.slice(0, limit);
      const more = found.length > limit;
      return { records: records as unknown as Record<string, unknown>[], next_marker: more ? String(records.at(-1)!.seq) : '', truncated: String(more) };
    },
  }),
];
