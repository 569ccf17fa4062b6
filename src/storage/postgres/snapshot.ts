/**
 * Snapshots of a PostgreSQL store's schema (storage/snapshot.ts): every table read in one REPEATABLE READ, READ ONLY
 * transaction (one snapshot of the database; the nodes serving the schema go on writing meanwhile), and loaded into
 * an empty schema in one transaction with the tables' own triggers disabled (derived rows such as a project's key
 * count come from the snapshot as they were); identity columns' sequences then continue after the loaded numbers,
 * and the audit chain's head row follows the loaded trail.
 */
import { GENESIS_MAC } from '../../audit/audit-chain.js';
import type { PgDatabase, Queryable } from './database.js';
import { NOT_IN_SNAPSHOTS, SEEDED_TABLES, SnapshotLoadError, auditHeadOf, fromCell, parentsFirst, planLoad, toCell, type StoreSnapshot, type TableSnapshot } from '../snapshot.js';

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
/** Rows per INSERT statement (PostgreSQL binds at most 65535 parameters per statement). */
const BATCH = 200;

async function schemaOf(q: Queryable): Promise<{ columns: Map<string, string[]>; references: Map<string, string[]>; identities: { table: string; column: string }[] }> {
  const cols = await q.rows<{ table_name: string; column_name: string; is_identity: string }>(
    `SELECT c.table_name, c.column_name, c.is_identity FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position`,
  );
  const columns = new Map<string, string[]>();
  const identities: { table: string; column: string }[] = [];
  for (const c of cols) {
    if (NOT_IN_SNAPSHOTS.has(c.table_name)) continue;
    columns.set(c.table_name, [...(columns.get(c.table_name) ?? []), c.column_name]);
    if (c.is_identity === 'YES') identities.push({ table: c.table_name, column: c.column_name });
  }
  const fks = await q.rows<{ child: string; parent: string }>(
    `SELECT ch.relname AS child, pa.relname AS parent FROM pg_constraint k
       JOIN pg_class ch ON ch.oid = k.conrelid JOIN pg_class pa ON pa.oid = k.confrelid JOIN pg_namespace n ON n.oid = ch.relnamespace
      WHERE k.contype = 'f' AND n.nspname = current_schema()`,
  );
  const references = new Map<string, string[]>();
  for (const f of fks) references.set(f.child, [...(references.get(f.child) ?? []), f.parent]);
  return { columns, references, identities };
}

const schemaVersion = async (q: Queryable): Promise<number> => (await q.rows<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations'))[0]!.v;

/** Every table's rows as of one moment. */
export function exportPgSnapshot(db: PgDatabase): Promise<StoreSnapshot> {
  return db.transaction(async (q) => {
    const { columns, references } = await schemaOf(q);
    const tables: TableSnapshot[] = [];
    for (const name of parentsFirst([...columns.keys()], references)) {
      const cols = columns.get(name)!;
      const rows = await q.rows<Record<string, unknown>>(`SELECT ${cols.map(quote).join(', ')} FROM ${quote(name)}`);
      tables.push({ name, columns: cols, rows: rows.map((r) => cols.map((c) => toCell(r[c]))) });
    }
    return { dialect: 'postgres' as const, schemaVersion: await schemaVersion(q), tables };
  }, 'snapshot');
}

/**
 * Loads a snapshot into an empty schema (migrated to `knownVersion`) in one transaction: all of it or nothing.
 * Throws SnapshotLoadError when the schema holds data or the snapshot does not fit it.
 */
export function importPgSnapshot(db: PgDatabase, snapshot: StoreSnapshot, knownVersion: number): Promise<void> {
  return db.transaction(async (q) => {
    const { columns, references, identities } = await schemaOf(q);
    const plan = planLoad(snapshot, knownVersion, columns);
    for (const name of columns.keys()) {
      if (SEEDED_TABLES.has(name)) continue;
      const [{ n }] = (await q.rows<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${quote(name)}`)) as [{ n: number }];
      if (n > 0) throw new SnapshotLoadError(`the store already holds data (${name} has ${n} row(s)): restore into an empty schema`);
    }
    for (const name of columns.keys()) await q.run(`ALTER TABLE ${quote(name)} DISABLE TRIGGER USER`);
    for (const name of parentsFirst(plan.map((p) => p.table.name), references)) {
      const { table, columns: keep } = plan.find((p) => p.table.name === name)!;
      await q.run(`DELETE FROM ${quote(name)}`);
      const names = keep.map((i) => quote(table.columns[i]!)).join(', ');
      for (let start = 0; start < table.rows.length; start += BATCH) {
        const batch = table.rows.slice(start, start + BATCH);
        const params: unknown[] = [];
        const tuples = batch.map((row) => `(${keep.map((i) => (params.push(fromCell(row[i]!)), `$${params.length}`)).join(', ')})`);
        await q.run(`INSERT INTO ${quote(name)} (${names}) VALUES ${tuples.join(', ')}`, params);
      }
    }
    if (columns.has('audit_head') && !snapshot.tables.some((t) => t.name === 'audit_head')) {
      const head = auditHeadOf(snapshot) ?? { seq: 0, mac: GENESIS_MAC };
      await q.run('UPDATE audit_head SET seq = $1, mac = $2 WHERE id = 1', [head.seq, head.mac]);
    }
    for (const { table, column } of identities) {
      await q.run(`SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX(${quote(column)}) FROM ${quote(table)}), 1), (SELECT COUNT(*) > 0 FROM ${quote(table)}))`, [quote(table), column]);
    }
    for (const name of columns.keys()) await q.run(`ALTER TABLE ${quote(name)} ENABLE TRIGGER USER`);
  });
}
