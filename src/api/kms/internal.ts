/**
 * The API regions use among themselves (never clients): transport key, the two phases of replicate, syncs of
 * shared properties, promotion to primary, detaching a destroyed replica, and export of versions to a replica.
 * Every call must come from a region of the deployment (internal-auth.ts) and every answer is signed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KeySnapshot, PrepareReplica, PromoteReplica, ReplicationService } from '../../core/replication.js';
import { KmsError } from '../../errors.js';
import { verifyInternal } from '../../internal-auth.js';
import { signAnswers } from '../http.js';
import type { Topology } from '../../regions/topology.js';

export interface InternalApi {
  region: string;
  topology: Topology;
  secret: Buffer;
  replication: ReplicationService;
}

export function internalRoutes(app: FastifyInstance, api: InternalApi): void {
  app.register(async (internal) => {
    signAnswers(internal, api.secret, api.region);
    internal.addHook('preHandler', async (req) => {
      const node = verifyInternal(api.secret, req.headers.authorization, req.method, req.url, req.rawBody);
      if (!node || !api.topology.regions.some((r) => r.id === node)) {
        throw new KmsError('KMS.0306', 'Internal API: the caller is not a region of this deployment.');
      }
      (req as FastifyRequest & { peer: string }).peer = node;
    });
    const peer = (req: FastifyRequest) => (req as FastifyRequest & { peer: string }).peer;
    const body = <T>(req: FastifyRequest) => {
      if (req.json === null || typeof req.json !== 'object') throw new KmsError('KMS.0202');
      return req.json as T;
    };
    const r = api.replication;

    internal.get('/internal/v1/transport-key', async () => ({ region: api.region, public_key: r.transportPublicKey.toString('base64') }));
    internal.post('/internal/v1/replicas/prepare', async (req) => (await r.onPrepare(peer(req), body<PrepareReplica>(req)), {}));
    internal.post('/internal/v1/replicas/commit', async (req) => {
      const b = body<{ key_id: string; attempt: string }>(req);
      return (await r.onCommit(peer(req), String(b.key_id), String(b.attempt)), {});
    });
    internal.post('/internal/v1/replicas/abort', async (req) => {
      const b = body<{ key_id: string; attempt: string }>(req);
      return (await r.onAbort(peer(req), String(b.key_id), String(b.attempt)), {});
    });
    internal.post('/internal/v1/keys/sync', async (req) => (await r.onSync(peer(req), body<KeySnapshot>(req)), {}));
    internal.post('/internal/v1/keys/promote', async (req) => (await r.onPromote(peer(req), body<PromoteReplica>(req)), {}));
    internal.post('/internal/v1/keys/detach', async (req) => (await r.onDetach(peer(req), String(body<{ key_id: string }>(req).key_id)), {}));
    internal.post('/internal/v1/keys/export', async (req) => {
      const b = body<{ key_id: string; transport_key: string }>(req);
      return r.onExport(peer(req), String(b.key_id), Buffer.from(String(b.transport_key), 'base64'));
    });
  });
}
