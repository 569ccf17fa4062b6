/**
 * The API regions use among themselves (never clients): transport key, the two phases of replicate, syncs of
 * shared properties, promotion to primary, detaching a destroyed replica, and export of versions to a replica.
 * Every call must come from a region of the deployment (internal-auth.ts) and every answer is signed. Every call is
 * in the region's audit trail (`internal:<call>`, with the calling region as `peer`); one that changes state is
 * recorded as pending first, as a client's would be.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../audit/audit-log.js';
import type { AuditEntry } from '../../audit/audit-store.js';
import type { KeySnapshot, PrepareReplica, PromoteReplica, ReplicationService } from '../../core/replication.js';
import { KmsError } from '../../errors.js';
import { verifyInternal } from '../../internal-auth.js';
import { auditedInternalHooks } from './audited-internal.js';
import type { Topology } from '../../regions/topology.js';
import type { AppliedRequestStore } from '../../storage/leases.js';

export interface InternalApi {
  region: string;
  topology: Topology;
  secret: Buffer;
  replication: ReplicationService;
  audit: AuditLog;
  /** Where the signatures of applied calls that change state are kept (the region's store), to refuse copies. */
  applied: AppliedRequestStore;
}

/** The internal calls that change state (the others only read). */
const CHANGES = new Set(['replicas/prepare', 'replicas/commit', 'replicas/abort', 'keys/sync', 'keys/promote', 'keys/detach']);

export function internalRoutes(app: FastifyInstance, api: InternalApi): void {
  app.register(async (internal) => {
    internal.addHook('preHandler', async (req) => {
      const node = verifyInternal(api.secret, req.headers.authorization, req.method, req.url, req.rawBody);
      if (!node || !api.topology.regions.some((r) => r.id === node)) {
        throw new KmsError('KMS.0306', 'Internal API: the caller is not a region of this deployment.');
      }
      (req as FastifyRequest & { peer: string }).peer = node;
    });
    const peer = (req: FastifyRequest) => (req as FastifyRequest & { peer: string }).peer;
    auditedInternalHooks(internal, {
      ...api, name: 'Internal API',
      // A call that changes state is taken once, so an older sync replayed from the network cannot undo a newer
      // one. Senders sign every attempt afresh.
      changes: (req) => CHANGES.has(req.url.replace(/^\/internal\/v1\//, '').split('?')[0]!),
      entry: (req, status, startedAt): AuditEntry => {
        const call = req.url.replace(/^\/internal\/v1\//, '').split('?')[0]!;
        // The key a call is about: `key_id`, a snapshot's `keyId` (sync), or the snapshot inside prepare and promote.
        const b = (req.json ?? {}) as { key_id?: unknown; keyId?: unknown; snapshot?: { keyId?: unknown } };
        const keyId = b.key_id ?? b.keyId ?? b.snapshot?.keyId;
        return {
          time: new Date(startedAt).toISOString(), request_id: req.id, service: 'kms', region: api.region, caller: null,
          ...((req as FastifyRequest & { peer?: string }).peer ? { peer: peer(req) } : {}), source_ip: req.ip, operation: `internal:${call}`,
          action: null, key_ids: typeof keyId === 'string' && /^[0-9a-z-]{36}$/.test(keyId) ? [keyId] : [], status,
          error_code: null, duration_ms: Date.now() - startedAt,
        };
      },
    });
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
