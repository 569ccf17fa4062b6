/**
 * Snapshots of a SQLite store (storage/snapshot.ts): every table read in one read transaction (in WAL mode it sees
 * the database as of its first read and blocks no writer, so a serving region goes on while it is taken), and loaded
 * into an empty store in one write transaction with the triggers set aside (a row's derived rows, such as a
 * project's key count, come from the snapshot as they were).
 */
import { NOT_IN_SNAPSHOTS, SEEDED_TABLES, SnapshotLoadError, fromCell, parentsFirst, planLoad, toCell, type StoreSnapshot, type TableSnapshot } from '../snapshot.js';
import type { Db } from './database.js';

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The store's tables (not SQLite's own, not those left out of snapshots) with their columns and the tables they reference. */
function schemaOf(db: Db): { columns: Map<string, string[]>; references: Map<string, string[]> } {
  const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[])
    .map((r) => r.name)
    .filter((n) => !NOT_IN_SNAPSHOTS.has(n));
  const columns = new Map<string, string[]>();
  const references = new Map<string, string[]>();
  for (const n of names) {
    columns.set(n, (db.prepare(`PRAGMA table_info(${quote(n)})`).all() as { name: string }[]).map((c) => c.name));
    references.set(n, (db.prepare(`PRAGMA foreign_key_list(${quote(n)})`).all() as { table: string }[]).map((f) => f.table));
  }
  return { columns, references };
}

const schemaVersion = (db: Db): number => (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;

/** Every table's rows, read in one read transaction (synchronous: nothing of this connection runs in between). */
export function exportSqliteSnapshot(db: Db): StoreSnapshot {
  return db.transaction((): StoreSnapshot => {
    const { columns, references } = schemaOf(db);
    const tables: TableSnapshot[] = parentsFirst([...columns.keys()], references).map((name) => {
      const cols = columns.get(name)!;
      const rows = (db.prepare(`SELECT ${cols.map(quote).join(', ')} FROM ${quote(name)}`).raw().all() as unknown[][]).map((r) => r.map(toCell));
      return { name, columns: cols, rows };
    });
    return { dialect: 'sqlite', schemaVersion: schemaVersion(db), tables };
  }).deferred();
}

/**
 * Loads a snapshot into an empty store (migrated to `knownVersion`), in one transaction: all of it or nothing.
 * Throws SnapshotLoadError when the store holds data or the snapshot does not fit its schema.
 */
export function importSqliteSnapshot(db: Db, snapshot: StoreSnapshot, knownVersion: number): void {
  db.transaction(() => {
    const { columns, references } = schemaOf(db);
    const plan = planLoad(snapshot, knownVersion, columns);
    for (const name of columns.keys()) {
      if (SEEDED_TABLES.has(name)) continue;
      const { n } = db.prepare(`SELECT COUNT(*) AS n FROM ${quote(name)}`).get() as { n: number };
      if (n > 0) throw new SnapshotLoadError(`the store already holds data (${name} has ${n} row(s)): restore into an empty store`);
    }
    const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as { name: string; sql: string }[];
    for (const t of triggers) db.exec(`DROP TRIGGER ${quote(t.name)}`);
    db.pragma('defer_foreign_keys = ON');
    const order = parentsFirst(plan.map((p) => p.table.name), references);
    for (const name of order) {
      const { table, columns: keep } = plan.find((p) => p.table.name === name)!;
      db.exec(`DELETE FROM ${quote(name)}`);
      if (table.rows.length === 0) continue;
      const insert = db.prepare(`INSERT INTO ${quote(name)} (${keep.map((i) => quote(table.columns[i]!)).join(', ')}) VALUES (${keep.map(() => '?').join(', ')})`);
      for (const row of table.rows) insert.run(...keep.map((i) => fromCell(row[i]!)));
    }
    for (const t of triggers) db.exec(t.sql);
  }).immediate();
}
