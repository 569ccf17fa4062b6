/** Key rotation (docs/reference/huawei-kms-api.md §4 H 31–35). Settings answer with an empty object. */
import { Type } from 'typebox';
import { answer, body, integer, keyId, sequence } from '../../schema.js';
import { kmsOperation, operateKey, projectParams } from './common.js';

const empty = answer({});

export const rotationOperations = [
  kmsOperation({
    name: 'EnableKeyRotation',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/enable-key-rotation',
    action: 'kms:cmk:enableRotation',
    summary: 'Turn on scheduled rotation (default interval 365 days).',
    mutates: true,
    params: projectParams,
    body: operateKey,
    response: empty,
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => (await s.rotation.enable(ctx, b.key_id), {}),
  }),

  kmsOperation({
    name: 'DisableKeyRotation',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/disable-key-rotation',
    action: 'kms:cmk:disableRotation',
    summary: 'Turn off scheduled rotation.',
    mutates: true,
    params: projectParams,
    body: operateKey,
    response: empty,
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => (await s.rotation.disable(ctx, b.key_id), {}),
  }),

  kmsOperation({
    name: 'UpdateKeyRotationInterval',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/update-key-rotation-interval',
    action: 'kms:cmk:updateRotation',
    summary: 'Set the rotation interval, 30–365 days.',
    mutates: true,
    params: projectParams,
    body: body({ key_id: keyId(), rotation_interval: integer({ code: 'KMS.3001', minimum: 30, maximum: 365, description: 'Days, 30–365.' }), sequence: sequence() }),
    response: empty,
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => (await s.rotation.updateInterval(ctx, b.key_id, b.rotation_interval), {}),
  }),

  kmsOperation({
    name: 'ShowKeyRotationStatus',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/get-key-rotation-status',
    action: 'kms:cmk:getRotation',
    summary: 'Rotation setting, interval, last rotation (epoch ms) and number of rotations.',
    mutates: false,
    params: projectParams,
    body: operateKey,
    response: answer({
      key_rotation_enabled: Type.Boolean(),
      rotation_interval: Type.Integer(),
      last_rotation_time: Type.String(),
      number_of_rotations: Type.Integer(),
    }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const st = await s.rotation.status(ctx, b.key_id);
      return {
        key_rotation_enabled: st.enabled,
        rotation_interval: st.intervalDays,
        last_rotation_time: st.lastRotationAt === null ? '' : String(st.lastRotationAt),
        number_of_rotations: st.rotations,
      };
    },
  }),

  kmsOperation({
    name: 'RotateOnDemand',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/rotate-on-demand',
    action: 'kms:cmk:rotate',
    actionSource: 'strongroom',
    summary: 'Rotate now: a new key version for new encryptions; every older version still decrypts.',
    mutates: true,
    params: projectParams,
    body: operateKey,
    response: answer({ key_id: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => ({ key_id: (await s.rotation.rotateNow(ctx, b.key_id)).id }),
  }),
];
