/** API version discovery (docs/reference/huawei-kms-api.md §7): GET / and GET /{version_id}. No credentials needed. */
import { Type } from 'typebox';
import { KmsError } from '../../../errors.js';
import type { HttpInfo } from '../../operation.js';
import { answer, text } from '../../schema.js';
import { kmsOperation } from './common.js';

const VERSIONS = [
  { id: 'v1.0', status: 'CURRENT', updated: '2018-09-05T08:18:05Z' },
  { id: 'v2', status: 'SUPPORTED', updated: '2024-07-01T00:00:00Z' },
];

const versionSchema = answer({
  id: Type.String(),
  links: Type.Array(answer({ href: Type.String(), rel: Type.String() })),
  version: Type.String(),
  min_version: Type.String(),
  status: Type.String(),
  updated: Type.String(),
});

function describe(http: HttpInfo, v: (typeof VERSIONS)[number]) {
  return { id: v.id, links: [{ href: `${http.protocol}://${http.host}/${v.id}/`, rel: 'self' }], version: '', min_version: '', status: v.status, updated: v.updated };
}

export const versionOperations = [
  kmsOperation({
    name: 'ShowVersions',
    method: 'GET',
    path: '/',
    action: 'kms::getVersions',
    summary: 'The API versions of this endpoint.',
    mutates: false,
    authentication: 'none',
    response: answer({ versions: Type.Array(versionSchema) }),
    handler: async (_s, _ctx, _input, http) => ({ versions: VERSIONS.map((v) => describe(http, v)) }),
  }),

  kmsOperation({
    name: 'ShowVersion',
    method: 'GET',
    path: '/{version_id}',
    action: 'kms::getVersions',
    summary: 'One API version.',
    mutates: false,
    authentication: 'none',
    params: Type.Object({ version_id: text({ code: 'KMS.0201', maxChars: 16 }) }),
    response: answer({ version: versionSchema }),
    handler: async (_s, _ctx, { params: p }, http) => {
      const v = VERSIONS.find((x) => x.id === p.version_id);
      if (!v) throw new KmsError('APIGW.0101', 'Unknown API version.');
      return { version: describe(http, v) };
    },
  }),
];
