/**
 * Refuses an exact copy of a signed request that changed state (issue: replays). An SDK-HMAC-SHA256 signature
 * (docs/reference/huawei-auth.md §3) covers the method, path, query, signed headers, body and X-Sdk-Date, and the
 * signature is valid while X-Sdk-Date is within 15 minutes of the server's clock (aksk.ts MAX_SKEW_MS): within that
 * window the same bytes sent again would be accepted again. So before an operation that changes state runs, the region
 * claims the request's access key and signature in its store until the window closes (nodes sharing a store share the
 * claims); a copy finds the claim and is refused with 401 APIGW.0301. A request that was refused (4xx) or failed
 * before its handler finished gives its claim back, so a client may retry a call that did not happen with the same
 * signature. Reads may repeat; requests authenticated by token carry no signature and are not covered.
 */
import type { FastifyRequest } from 'fastify';
import { KmsError } from '../errors.js';
import { MAX_SKEW_MS, parseAuthorization, parseSdkDate } from '../iam/aksk.js';
import type { AppliedRequestStore } from '../storage/leases.js';
import { header } from './http.js';

export class ReplayGuard {
  constructor(
    private readonly store: AppliedRequestStore,
    /** Epoch milliseconds (the region's clock). */
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Claims a signed request about to change state; returns the claim (give it to `release` when the request is not
   * applied), or null for a request that carries no signature. Throws APIGW.0301 for a copy of an applied request.
   */
  async claim(req: FastifyRequest): Promise<string | null> {
    const authorization = header(req, 'authorization');
    const auth = authorization ? parseAuthorization(authorization) : null;
    const date = parseSdkDate(header(req, 'x-sdk-date') ?? '');
    if (!auth || date === null) return null;
    const claim = `${auth.accessKey}:${auth.signature}`;
    const now = this.clock();
    if (!(await this.store.claimRequest(claim, now, Math.max(now, date) + MAX_SKEW_MS))) {
      throw new KmsError('APIGW.0301', 'This signed request was applied already (a replay): sign the request again to repeat it.');
    }
    return claim;
  }

  release(claim: string): Promise<void> {
    return this.store.releaseRequest(claim);
  }
}
