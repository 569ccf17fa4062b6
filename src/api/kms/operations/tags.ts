/**
 * Tags and the query of keys by tags (docs/reference/huawei-kms-api.md §2 K, §4 K 44–49). Tag keys have 1–36
 * characters, values 0–43, neither with an ASCII control character or any of `* < > \ =` (KMS.0406/0411 for keys,
 * KMS.0405/0410 for values); writes answer 204. `resource_instances/action` answers `{"total_count", "resources":
 * [...]}` (or `total_count` alone for count), each resource with `key_details` (the service's answer recorded in
 * docs/reference/observed-huawei-answers.md, which cloud-custodian reads) and `resource_id`, `resource_name`,
 * `resource_detail` (which Terraform's data source asserts against the real cloud), and `tags`.
 */
import { Type } from 'typebox';
import { KmsError } from '../../../errors.js';
import { answer, body, integer, keyId, oneOf, sequence, text } from '../../schema.js';
import { keyDetails } from '../present.js';
import { keyDetailsSchema, kmsOperation, projectParams } from './common.js';

const FORBIDDEN = '^[^\\u0000-\\u001f*<>\\\\=]*$';
/** A tag key: its length (KMS.0411) and its characters (KMS.0406) fail with their own codes. */
const tagKey = () => Type.Unsafe<string>({
  type: 'string', 'x-error-code': 'KMS.0406', description: 'Tag key: 1–36 characters, no control character nor * < > \\ =.',
  allOf: [{ minLength: 1, maxLength: 36, 'x-error-code': 'KMS.0411' }, { pattern: FORBIDDEN }],
});
const tagValue = () => Type.Unsafe<string>({
  type: 'string', 'x-error-code': 'KMS.0405', description: 'Tag value: 0–43 characters, no control character nor * < > \\ =.',
  allOf: [{ maxLength: 43, 'x-error-code': 'KMS.0410' }, { pattern: FORBIDDEN }],
});
/** One tag of a request: `key` and an optional `value` (empty when absent). */
export const tagItem = () => Type.Object({ key: tagKey(), value: Type.Optional(tagValue()) });
const tagSchema = answer({ key: Type.String(), value: Type.String() });

const keyTagsParams = Type.Object({ project_id: projectParams.properties.project_id, key_id: keyId() });

/** A list of tags in which a tag key appears once (KMS.0412 otherwise). */
export function distinctTags<T extends { key: string }>(tags: T[]): T[] {
  if (new Set(tags.map((t) => t.key)).size !== tags.length) throw new KmsError('KMS.0412', 'A tag key appears more than once.');
  return tags;
}

export const tagOperations = [
  kmsOperation({
    name: 'CreateKmsTag',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/{key_id}/tags',
    action: 'kms:cmkTag:create',
    summary: 'Add a tag to a key (or change the value of a tag key it carries); at most 10 tags per key.',
    mutates: true,
    status: 204,
    params: keyTagsParams,
    body: body({ tag: tagItem(), sequence: sequence() }),
    keyIds: ({ params: p }) => [p.key_id],
    handler: async (s, ctx, { params: p, body: b }) => {
      await s.tags.change(ctx, p.key_id, [{ key: b.tag.key, value: b.tag.value ?? '' }], []);
    },
  }),

  kmsOperation({
    name: 'BatchCreateKmsTags',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/{key_id}/tags/action',
    action: 'kms:cmkTag:batch',
    summary: 'Add (action create) or remove (action delete) several tags of a key at once: all or none.',
    mutates: true,
    status: 204,
    params: keyTagsParams,
    body: body({
      tags: Type.Array(tagItem(), { minItems: 1, 'x-error-code': 'KMS.0401', allOf: [{ maxItems: 20, 'x-error-code': 'KMS.0409' }] }),
      action: oneOf(['create', 'delete'], { code: 'KMS.0404' }),
      sequence: sequence(),
    }),
    keyIds: ({ params: p }) => [p.key_id],
    handler: async (s, ctx, { params: p, body: b }) => {
      const tags = distinctTags(b.tags).map((t) => ({ key: t.key, value: t.value ?? '' }));
      if (b.action === 'create') await s.tags.change(ctx, p.key_id, tags, []);
      else await s.tags.change(ctx, p.key_id, [], tags.map((t) => t.key));
    },
  }),

  kmsOperation({
    name: 'DeleteTag',
    method: 'DELETE',
    path: '/v1.0/{project_id}/kms/{key_id}/tags/{key}',
    action: 'kms:cmkTag:delete',
    summary: 'Remove one tag of a key (the tag key URL-encoded in the path); 404 KMS.0416 when the key does not carry it.',
    mutates: true,
    status: 204,
    params: Type.Object({ project_id: projectParams.properties.project_id, key_id: keyId(), key: tagKey() }),
    keyIds: ({ params: p }) => [p.key_id],
    handler: async (s, ctx, { params: p }) => {
      await s.tags.removeOne(ctx, p.key_id, p.key);
    },
  }),

  kmsOperation({
    name: 'ShowKmsTags',
    method: 'GET',
    path: '/v1.0/{project_id}/kms/{key_id}/tags',
    action: 'kms:cmkTag:list',
    summary: 'The tags of a key.',
    mutates: false,
    params: keyTagsParams,
    response: answer({ tags: Type.Array(tagSchema), existTagsNum: Type.Integer() }),
    keyIds: ({ params: p }) => [p.key_id],
    handler: async (s, ctx, { params: p }) => {
      const tags = await s.tags.tags(ctx, p.key_id);
      return { tags, existTagsNum: tags.length };
    },
  }),

  kmsOperation({
    name: 'ListKmsTags',
    method: 'GET',
    path: '/v1.0/{project_id}/kms/tags',
    action: 'kms:cmkTag:list',
    summary: 'Every tag key used in the project, with its values.',
    mutates: false,
    params: projectParams,
    response: answer({ tags: Type.Array(answer({ key: Type.String(), values: Type.Array(Type.String()) })) }),
    handler: async (s, ctx) => ({ tags: await s.tags.projectTags(ctx) }),
  }),

  kmsOperation({
    name: 'ListKmsByTags',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/resource_instances/action',
    action: 'kms:cmkTag:listInstance',
    summary: 'The keys matching tags (every filter; a filter\'s values are alternatives) and names (`matches` on resource_name: the alias contains the value), or their count.',
    mutates: false,
    params: projectParams,
    body: body({
      action: oneOf(['filter', 'count'], { code: 'KMS.0404' }),
      limit: Type.Optional(integer({ code: 'KMS.1601', minimum: 1, maximum: 1000, emptyIsAbsent: true, description: 'Page size 1–1000 (default 10); filter only.' })),
      offset: Type.Optional(integer({ code: 'KMS.0417', minimum: 0, emptyIsAbsent: true, description: 'Keys to skip (default 0); filter only.' })),
      tags: Type.Optional(Type.Array(
        Type.Object({ key: tagKey(), values: Type.Array(tagValue(), { maxItems: 10, 'x-error-code': 'KMS.0413' }) }),
        { maxItems: 10, 'x-error-code': 'KMS.0414' },
      )),
      matches: Type.Optional(Type.Array(
        Type.Object({ key: oneOf(['resource_name'], { code: 'KMS.0403' }), value: text({ code: 'KMS.0402', minChars: 1, maxChars: 255 }) }),
        { maxItems: 10, 'x-error-code': 'KMS.0415' },
      )),
      sequence: sequence(),
    }),
    response: answer({
      total_count: Type.Integer(),
      resources: Type.Optional(Type.Array(answer({
        resource_id: Type.String(), resource_name: Type.String(), resource_detail: keyDetailsSchema, key_details: keyDetailsSchema, tags: Type.Array(tagSchema),
      }))),
    }),
    handler: async (s, ctx, { body: b }) => {
      if (b.action === 'count' && b.offset !== undefined) throw new KmsError('KMS.0418');
      distinctTags(b.tags ?? []);
      const found = await s.tags.find(ctx, { tags: b.tags ?? [], names: (b.matches ?? []).map((m) => m.value) });
      if (b.action === 'count') return { total_count: found.length };
      const offset = b.offset ?? 0;
      const now = s.clock();
      return {
        total_count: found.length,
        resources: found.slice(offset, offset + (b.limit ?? 10)).map((f) => {
          const details = keyDetails(f.key, now);
          return { resource_id: f.key.id, resource_name: f.key.alias, resource_detail: details, key_details: details, tags: f.tags };
        }),
      };
    },
  }),
];
