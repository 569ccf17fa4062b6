/**
 * How KMS operations are mounted: every operation is `METHOD /v1.0/{project_id}/kms/<name>` (or a /v2 path),
 * authenticated first, then given the caller context and the body read as a JSON object.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallerContext, Clock } from '../../core/context.js';
import type { CryptoOps } from '../../core/crypto-ops.js';
import type { KeyService } from '../../core/keys.js';
import type { IamClient } from '../../regions/iam-client.js';
import type { Topology } from '../../regions/topology.js';
import { objectBody, type Body } from '../fields.js';
import { authenticate } from './authenticate.js';

export interface RegionApi {
  region: string;
  keys: KeyService;
  crypto: CryptoOps;
  iam: IamClient;
  topology: Topology;
  clock: Clock;
}

export type Handler = (ctx: CallerContext, body: Body, req: FastifyRequest, reply: FastifyReply) => Promise<unknown> | unknown;

export function operation(app: FastifyInstance, api: RegionApi, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, handler: Handler): void {
  app.route({
    method,
    url: path,
    handler: async (req, reply) => {
      const projectId = (req.params as { project_id: string }).project_id;
      const ctx = await authenticate(req, api.iam, api.region, projectId, Date.now());
      const result = await handler(ctx, objectBody(req.json), req, reply);
      if (result === undefined) return reply.send();
      return reply.header('Content-Type', 'application/json;charset=UTF-8').send(result);
    },
  });
}

/** POST /v1.0/{project_id}/kms/<name>: Huawei's "RPC over POST" operations. */
export function kmsPost(app: FastifyInstance, api: RegionApi, name: string, handler: Handler): void {
  operation(app, api, 'POST', `/v1.0/:project_id/kms/${name}`, handler);
}
