/**
 * Opening a SQLite database the way every Strongroom store needs it: WAL, durable commits (synchronous=FULL),
 * freed pages overwritten (secure_delete, so destroyed key material does not linger), numbered migrations, a
 * lock that serialises transactions across awaits on the single connection, and group commit of transactions.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SchemaTooNewError, type Migration } from '../migration.js';

export type Db = Database.Database;

/**
 * Makes the database file (created empty if missing) and its journal files readable by the owner only (0600): they
 * hold wrapped key material and the audit trail. SQLite creates `-wal` and `-shm` with the database file's mode;
 * existing ones are set too.
 */
function privateFile(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const p of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(p, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/**
 * Opens the database at `path` and applies the migrations it lacks, each in its own transaction (`null`: another
 * connection of a store that has already migrated it). Throws SchemaTooNewError when the database was migrated
 * further than `migrations` goes.
 */
export function openDatabase(path: string, migrations: readonly Migration[] | null): Db {
  privateFile(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  if (migrations === null) return db;
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
    const newest = Math.max(0, ...applied);
    if (newest > migrations.length) throw new SchemaTooNewError(path, newest, migrations.length);
    migrations.forEach((m, i) => {
      const version = i + 1;
      if (applied.has(version)) return;
      db.transaction(() => {
        db.exec(m.sqlite);
        db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now());
      }).immediate();
    });
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** A FIFO lock: one holder at a time, so a transaction's awaits never interleave with other statements. */
export class Lock {
  #tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}


interface QueuedTransaction {
  fn: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit of a store's transactions: those that arrive while others run wait, then run one after another in
 * one BEGIN IMMEDIATE … COMMIT, each in its own savepoint (one that throws is rolled back alone and rejects alone),
 * and all resolve once the COMMIT is durable, with one fsync for the group instead of one each. The group holds
 * the store's lock, so it runs in series with every other statement: each transaction still sees the ones before
 * it, as if they had run alone.
 */
export class GroupCommit {
  #queued: QueuedTransaction[] = [];
  #scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly lock: Lock,
  ) {}

  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queued.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        void this.lock.run(() => this.#commitGroup());
      }
    });
  }

  async #commitGroup(): Promise<void> {
    this.#scheduled = false;
    const group = this.#queued;
    this.#queued = [];
    const outcomes: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      for (const t of group) t.reject(err);
      return;
    }
    for (const t of group) {
      this.db.exec('SAVEPOINT grouped');
      try {
        const value = await t.fn();
        this.db.exec('RELEASE grouped');
        outcomes.push({ ok: true, value });
      } catch (err) {
        if (!this.db.inTransaction) {
          // SQLite itself rolled the whole transaction back (a full disk, say): nothing of the group was kept.
          for (const q of group) q.reject(err);
          return;
        }
        this.db.exec('ROLLBACK TO grouped; RELEASE grouped');
        outcomes.push({ ok: false, err });
      }
    }
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const t of group) t.reject(err);
      return;
    }
    group.forEach((t, i) => {
      const o = outcomes[i]!;
      if (o.ok) t.resolve(o.value);
      else t.reject(o.err);
    });
  }
}
