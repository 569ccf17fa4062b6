/**
 * A PostgreSQL database the way every Strongroom store needs it (node-postgres 8): a pool of connections whose
 * `search_path` is the store's own schema (one database can hold IAM and every region, each in its schema), BIGINT
 * read as numbers (epoch milliseconds and sequence numbers stay below 2^53), the numbered migrations of
 * storage/migration.ts applied once even when several nodes start together, SERIALIZABLE transactions retried on a
 * serialization failure, and a listening connection for NOTIFY that reconnects by itself.
 */
import pg from 'pg';
import { SchemaTooNewError, type Migration } from '../migration.js';

/** What a store's statements run on: the pool (each statement its own transaction) or one transaction's client. */
export interface Queryable {
  /** Rows of one statement with `$1`… parameters. */
  rows<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Rows changed by one statement. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

const BEGIN = {
  serializable: 'BEGIN ISOLATION LEVEL SERIALIZABLE',
  readCommitted: 'BEGIN',
  snapshot: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
} as const;

/** SQLSTATEs after which a transaction can run again unchanged (PostgreSQL appendix A). */
const RETRYABLE = new Set(['40001', '40P01']);
/** A unique or primary-key constraint violated (23505). */
export const isUniqueViolation = (err: unknown): boolean => (err as { code?: string }).code === '23505';

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Limits every session of a node sets (PostgreSQL's runtime settings): a node that dies inside a transaction, or a
 * statement stuck behind a lock, must not hold rows others need (the audit chain's head) for long.
 */
const SESSION_LIMITS = '-c idle_in_transaction_session_timeout=30000 -c lock_timeout=15000 -c statement_timeout=60000';

/** How often the listening connection proves it is alive, and how long its last proof counts (milliseconds). */
export const LISTENER_PING_MS = 250;
export const LISTENER_FRESH_MS = 750;

/** A schema name from a component name (`cn-north-4` → `region_cn_north_4`). */
export function schemaName(prefix: string, id = ''): string {
  const name = (id === '' ? prefix : `${prefix}_${id}`).toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!SCHEMA_RE.test(name)) throw new Error(`cannot name a PostgreSQL schema after ${prefix} ${id}`);
  return name;
}

/** Whether a store location names PostgreSQL (`postgres://…` or `postgresql://…`). */
export const isPostgresUrl = (url: string | undefined): url is string => url !== undefined && /^postgres(ql)?:\/\//.test(url);

/** Where a URL points, without its password (for messages and logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

function queryable(q: pg.Pool | pg.PoolClient): Queryable {
  return {
    async rows<R>(sql: string, params: readonly unknown[] = []) {
      return (await q.query(sql, params as unknown[])).rows as R[];
    },
    async run(sql: string, params: readonly unknown[] = []) {
      return (await q.query(sql, params as unknown[])).rowCount ?? 0;
    },
  };
}

export interface PgOpenOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

export class PgDatabase implements Queryable {
  readonly #pool: pg.Pool;
  readonly #auto: Queryable;
  readonly #listeners: PgListener[] = [];

  private constructor(
    readonly url: string,
    readonly schema: string,
    options: PgOpenOptions,
  ) {
    this.#pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      options: `-c search_path=${schema} ${SESSION_LIMITS}`,
      types,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // An idle connection the server dropped (a restart, a failover) is discarded by the pool, not fatal here.
    this.#pool.on('error', () => {});
    this.#auto = queryable(this.#pool);
  }

  /**
   * Connects to `url`, creates `schema` when missing and applies the migrations it lacks, all in one transaction
   * under an advisory lock, so that nodes starting together migrate once. Throws SchemaTooNewError when the schema
   * was migrated further than `migrations` goes (nothing is changed then).
   */
  static async open(url: string, schema: string, migrations: readonly Migration[], options: PgOpenOptions = {}): Promise<PgDatabase> {
    if (!SCHEMA_RE.test(schema)) throw new Error(`invalid schema name ${schema}`);
    const db = new PgDatabase(url, schema, options);
    try {
      await db.#migrate(migrations);
    } catch (err) {
      await db.#pool.end();
      throw err;
    }
    return db;
  }

  async #migrate(migrations: readonly Migration[]): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`strongroom-migrate:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const newest = Math.max(0, ...applied);
      if (newest > migrations.length) throw new SchemaTooNewError(`${redactUrl(this.url)} schema ${this.schema}`, newest, migrations.length);
      for (const [i, m] of migrations.entries()) {
        if (applied.has(i + 1)) continue;
        await client.query(m.postgres);
        await client.query('INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [i + 1, m.description, Date.now()]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** One statement in its own transaction, run again after a serialization failure. */
  rows<R>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    return retrying(() => this.#auto.rows<R>(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return retrying(() => this.#auto.run(sql, params));
  }

  /**
   * Runs `fn` in one transaction on one connection: all of its writes commit, or none. SERIALIZABLE by default, so
   * that transactions of several nodes behave as if they ran one after another (as SQLite's do); on a
   * serialization failure or a deadlock the whole of `fn` runs again (so `fn` must do nothing outside the database
   * that cannot be repeated). `readCommitted` is for transactions that lock what they depend on themselves;
   * `snapshot` (REPEATABLE READ, READ ONLY) reads the whole database as of one moment without holding up any writer
   * (a backup, storage/snapshot.ts).
   */
  transaction<T>(fn: (q: Queryable) => Promise<T>, isolation: 'serializable' | 'readCommitted' | 'snapshot' = 'serializable'): Promise<T> {
    return retrying(async () => {
      const client = await this.#pool.connect();
      let broken = false;
      try {
        await client.query(BEGIN[isolation]);
        const value = await fn(queryable(client));
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw err;
      } finally {
        client.release(broken);
      }
    });
  }

  /**
   * Listens on `channel` on a connection of its own: `onMessage` gets each payload; `onGap` is called whenever
   * notifications may have been missed (the connection was lost, and again once it is back), so callers drop
   * whatever they cache. `connected()` says whether notifications are arriving now.
   */
  async listen(channel: string, onMessage: (payload: string) => void, onGap: () => void): Promise<PgListener> {
    const listener = new PgListener(this.url, channel, onMessage, onGap);
    try {
      await listener.start();
    } catch (err) {
      await listener.close();
      throw err;
    }
    this.#listeners.push(listener);
    return listener;
  }

  async close(): Promise<void> {
    for (const l of this.#listeners) await l.close();
    await this.#pool.end();
  }
}

/**
 * Retries `attempt` after serialization failures and deadlocks (at most 40 tries), with a random backoff that grows
 * with each try up to 250 ms: transactions of other nodes that keep touching the same row (a project's key count
 * while keys are created through every node) must not starve one that lost a few times.
 */
async function retrying<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (!RETRYABLE.has((err as { code?: string }).code ?? '') || tries >= 40) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(250, 2 ** Math.min(tries, 8))));
    }
  }
}

/**
 * A LISTEN connection that reconnects (every second) after it is lost. It pings the server on that connection every
 * LISTENER_PING_MS: PostgreSQL delivers the notifications committed before a query's answer ahead of it, so an
 * answer proves every change until then was heard. `connected()` holds only while the last answer is at most
 * LISTENER_FRESH_MS old, so a connection that died silently (a dropped route, a failover to another address) stops
 * vouching for caches within that time, and one that does not answer within it is replaced.
 */
export class PgListener {
  #client: pg.Client | null = null;
  #closed = false;
  #connected = false;
  /** performance.now() of the last ping's answer. */
  #freshAt = 0;
  #pinger: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onMessage: (payload: string) => void,
    private readonly onGap: () => void,
  ) {}

  connected(): boolean {
    return this.#connected && performance.now() - this.#freshAt <= LISTENER_FRESH_MS;
  }

  #ping(client: pg.Client, lost: () => void): void {
    const sent = performance.now();
    const timer = setTimeout(lost, LISTENER_FRESH_MS);
    client.query('SELECT 1').then(
      () => {
        clearTimeout(timer);
        if (this.#client === client) this.#freshAt = sent;
      },
      () => {
        clearTimeout(timer);
        lost();
      },
    );
  }

  async start(): Promise<void> {
    if (this.#closed) return; // closed while a reconnection was waiting
    const client = new pg.Client({ connectionString: this.url, types, keepAlive: true, keepAliveInitialDelayMillis: 5_000 });
    client.on('notification', (n) => {
      if (n.channel === this.channel && n.payload !== undefined) this.onMessage(n.payload);
    });
    const lost = () => {
      if (this.#client !== client) return;
      this.#client = null;
      this.#connected = false;
      if (this.#pinger) clearInterval(this.#pinger);
      this.#pinger = null;
      this.onGap();
      client.end().catch(() => {});
      if (!this.#closed) setTimeout(() => void this.start().catch(() => {}), 1000).unref();
    };
    client.on('error', lost);
    client.on('end', lost);
    this.#client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (err) {
      lost();
      throw err;
    }
    this.#connected = true;
    this.#freshAt = performance.now();
    this.#pinger = setInterval(() => this.#ping(client, lost), LISTENER_PING_MS);
    this.#pinger.unref();
    this.onGap(); // whatever happened before this connection listened was not heard
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pinger) clearInterval(this.#pinger);
    this.#pinger = null;
    const client = this.#client;
    this.#client = null;
    this.#connected = false;
    await client?.end().catch(() => {});
  }
}
