/**
 * The steps of a KMS request that belong to a region (mount.ts runs them): authentication (authenticate.ts),
 * the permission check, and the audit trail.
 */
import type { CallerContext } from '../../core/context.js';
import type { IamClient } from '../../regions/iam-client.js';
import type { Pipeline } from '../mount.js';
import { authenticate } from './authenticate.js';
import type { RegionServices } from './operations/common.js';

export interface KmsPipelineOptions {
  services: RegionServices;
  iam: IamClient;
  checkResponses: boolean;
}

export function kmsPipeline(o: KmsPipelineOptions): Pipeline<RegionServices, CallerContext> {
  return {
    services: o.services,
    checkResponses: o.checkResponses,
    authenticate: (req) => authenticate(req, o.iam, o.services.region, (req.params as { project_id?: string }).project_id ?? '', Date.now()),
    authorize: async () => undefined,
    audit: { open: async () => undefined, close: async () => undefined },
  };
}
