/**
 * A node's liveness lease (`node:<id>` in the store's `leases` table, storage/leases.ts), renewed every sixth of its
 * time to live (default 30 s) while the process runs and given up at close. Other nodes read it to tell a live
 * node's pending audit entries from a dead one's (audit-tables.ts).
 */
import { ACQUIRE_LEASE_SQL } from '../leases.js';
import { nodeLease } from './audit-tables.js';
import type { Queryable } from './database.js';

export const NODE_LEASE_TTL_MS = 30_000;

export class NodeLiveness {
  #timer: NodeJS.Timeout | null = null;
  #renewing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Queryable,
    readonly nodeId: string,
    private readonly clock: () => number = Date.now,
    /** How long the lease outlives the node's last renewal (milliseconds). */
    private readonly ttlMs: number = NODE_LEASE_TTL_MS,
  ) {}

  /** Takes the lease, then keeps renewing it. */
  async start(): Promise<void> {
    await this.#renew();
    this.#timer = setInterval(() => void this.#renew().catch(() => {}), Math.max(100, this.ttlMs / 6));
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#renewing.catch(() => {}); // a renewal in flight must not bring the lease back after the delete
    await this.db.run('DELETE FROM leases WHERE name = $1 AND holder = $2', [nodeLease(this.nodeId), this.nodeId]).catch(() => {});
  }

  #renew(): Promise<void> {
    const now = this.clock();
    this.#renewing = this.db.rows(ACQUIRE_LEASE_SQL((i) => `$${i}`), [nodeLease(this.nodeId), this.nodeId, now, now + this.ttlMs]).then(() => {});
    return this.#renewing;
  }
}
