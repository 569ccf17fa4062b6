/**
 * Leases in a store's `leases` table: a named right, held by one holder until a time, that others may take once it
 * has lapsed. Background jobs (core/scheduler.ts) hold one each, so that across the nodes of a region each job runs
 * on one node at a time and moves to another when that node dies; PostgreSQL stores also keep a liveness lease per
 * node (`node:<id>`). Times are epoch milliseconds of the caller's clock (nodes keep their clocks in step, NTP).
 */
export interface LeaseStore {
  /**
   * Takes the lease `name` for `holder` until `until` when it is free, held by `holder` already (a renewal), or
   * lapsed at `now`. True when `holder` holds it afterwards.
   */
  acquireLease(name: string, holder: string, now: number, until: number): Promise<boolean>;
  /** Gives the lease up when `holder` holds it (nothing otherwise). */
  releaseLease(name: string, holder: string): Promise<void>;
}

/**
 * Signatures of signed requests that changed state (api/replay-guard.ts), kept until their validity window closes,
 * so that an exact copy is refused. Nodes sharing a store share them.
 */
export interface AppliedRequestStore {
  /**
   * Records `signature` (an access key and its request signature) until `expiresAt` (epoch ms). False when it is
   * recorded already and has not expired at `now`: the request is a copy of one applied before.
   */
  claimRequest(signature: string, now: number, expiresAt: number): Promise<boolean>;
  /** Forgets a claim: the request was refused, so an exact copy may be sent again. */
  releaseRequest(signature: string): Promise<void>;
  /** Deletes the claims expired at `now`; returns how many. */
  purgeRequests(now: number): Promise<number>;
}

/** The one statement of claimRequest in both dialects: parameters signature, now, expiresAt. */
export const CLAIM_REQUEST_SQL = (p: (i: number) => string) => `INSERT INTO applied_requests (signature, expires_at) VALUES (${p(1)}, ${p(3)})
  ON CONFLICT (signature) DO UPDATE SET expires_at = excluded.expires_at WHERE applied_requests.expires_at <= ${p(2)}
  RETURNING signature`;

/** The one statement of acquireLease, the same in SQLite and PostgreSQL: parameters name, holder, now, until. */
export const ACQUIRE_LEASE_SQL = (p: (i: number) => string) => `INSERT INTO leases (name, holder, expires_at) VALUES (${p(1)}, ${p(2)}, ${p(4)})
  ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
  WHERE leases.holder = excluded.holder OR leases.expires_at <= ${p(3)}
  RETURNING holder`;
