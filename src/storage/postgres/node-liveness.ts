/**
 * A node's liveness lease (`node:<id>` in the store's `leases` table, storage/leases.ts), renewed every 5 s for
 * 30 s ahead while the process runs and given up at close. Other nodes read it to tell a live node's pending audit
 * entries from a dead one's (audit-tables.ts).
 */
import { ACQUIRE_LEASE_SQL } from '../leases.js';
import { nodeLease } from './audit-tables.js';
import type { Queryable } from './database.js';

export const NODE_LEASE_RENEW_MS = 5_000;
export const NODE_LEASE_TTL_MS = 30_000;

export class NodeLiveness {
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Queryable,
    readonly nodeId: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Takes the lease, then keeps renewing it. */
  async start(): Promise<void> {
    await this.#renew();
    this.#timer = setInterval(() => void this.#renew().catch(() => {}), NODE_LEASE_RENEW_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.db.run('DELETE FROM leases WHERE name = $1 AND holder = $2', [nodeLease(this.nodeId), this.nodeId]).catch(() => {});
  }

  async #renew(): Promise<void> {
    const now = this.clock();
    await this.db.rows(ACQUIRE_LEASE_SQL((i) => `$${i}`), [nodeLease(this.nodeId), this.nodeId, now, now + NODE_LEASE_TTL_MS]);
  }
}
