/** Key rotation operations (huawei-kms-api.md §4 H 31–35). Settings answer with an empty body. */
import type { FastifyInstance } from 'fastify';
import type { RotationService } from '../../core/rotation.js';
import { keyIdField, requiredInteger } from '../fields.js';
import { kmsPost, type RegionApi } from './routes.js';

export function rotationRoutes(app: FastifyInstance, api: RegionApi & { rotation: RotationService }): void {
  const r = api.rotation;
  kmsPost(app, api, 'enable-key-rotation', async (ctx, body) => (await r.enable(ctx, keyIdField(body)), {}));
  kmsPost(app, api, 'disable-key-rotation', async (ctx, body) => (await r.disable(ctx, keyIdField(body)), {}));
  kmsPost(app, api, 'update-key-rotation-interval', async (ctx, body) => {
    const keyId = keyIdField(body);
    await r.updateInterval(ctx, keyId, requiredInteger(body, 'rotation_interval', { code: 'KMS.3001', min: 30, max: 365 }));
    return {};
  });
  kmsPost(app, api, 'get-key-rotation-status', async (ctx, body) => {
    const s = await r.status(ctx, keyIdField(body));
    return {
      key_rotation_enabled: s.enabled,
      rotation_interval: s.intervalDays,
      last_rotation_time: s.lastRotationAt === null ? '' : String(s.lastRotationAt),
      number_of_rotations: s.rotations,
    };
  });
  kmsPost(app, api, 'rotate-on-demand', async (ctx, body) => {
    const key = await r.rotateNow(ctx, keyIdField(body));
    return { key_id: key.id };
  });
}
