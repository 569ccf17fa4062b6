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

/** The one statement of acquireLease, the same in SQLite and PostgreSQL: parameters name, holder, now, until. */
export const ACQUIRE_LEASE_SQL = (p: (i: number) => string) => `INSERT INTO leases (name, holder, expires_at) VALUES (${p(1)}, ${p(2)}, ${p(4)})
  ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
  WHERE leases.holder = excluded.holder OR leases.expires_at <= ${p(3)}
  RETURNING holder`;
