/**
 * A store's whole content as data (what `strongroom backup` writes and `strongroom restore` loads): every table the
 * migrations made, row by row, read in one read transaction so the tables agree with each other. The dump is generic
 * over tables: a table a later migration adds is in the next snapshot with no code here. Rows are column name → cell
 * per table; a cell is a string, a number, null, or `{ "b64": … }` for bytes (BLOB / BYTEA), so a snapshot is JSON.
 *
 * Left out: `schema_migrations` (the snapshot carries its version instead) and `leases` (who runs which background
 * job and which PostgreSQL node is alive: they belong to the processes of the store's deployment, and a restored
 * store starts with none). A snapshot loads into a store of the same schema version or a newer one (columns the
 * snapshot lacks take their defaults); a later migration that derives rows from existing ones (as the key counts of
 * migration 8 did) would have to derive them after a load too. Both drivers implement `exportSnapshot` / `importSnapshot` over these helpers
 * (sqlite/snapshot.ts, postgres/snapshot.ts); test/contracts/*-store-contract.ts check them on both.
 */

/** One value of a row: text, an integer, null, or bytes as base64. */
export type SnapshotCell = string | number | null | { b64: string };

/** One table: its columns and its rows (each row lists one cell per column, in `columns`' order). */
export interface TableSnapshot {
  name: string;
  columns: string[];
  rows: SnapshotCell[][];
}

/** A store's content at one moment. */
export interface StoreSnapshot {
  /** The driver that wrote it. */
  dialect: 'sqlite' | 'postgres';
  /** How many migrations (storage/migration.ts) the store had applied: tables and columns are those of that version. */
  schemaVersion: number;
  /** Parents before children (a table comes after every table its foreign keys name). */
  tables: TableSnapshot[];
}

/** Tables never dumped nor loaded (see the module's comment). */
export const NOT_IN_SNAPSHOTS: ReadonlySet<string> = new Set(['schema_migrations', 'leases']);

/**
 * What one dialect's schema has and the other's has not (the migrations otherwise make the same tables and columns
 * in both): PostgreSQL's `audit_head` row (the chain's head, postgres/audit-tables.ts; SQLite reads the head from the
 * last record) and the node that wrote a pending audit entry. Loading a snapshot into the other dialect skips them;
 * PostgreSQL then sets `audit_head` from the loaded trail.
 */
export const DIALECT_ONLY_TABLES: ReadonlySet<string> = new Set(['audit_head']);
export const DIALECT_ONLY_COLUMNS: ReadonlySet<string> = new Set(['audit_pending.node']);

/** Tables a fresh schema already holds rows in (a migration inserts them): loading replaces those rows. */
export const SEEDED_TABLES: ReadonlySet<string> = new Set(['audit_head']);

/** Raised when a snapshot cannot be loaded into a store (not empty, unknown table or column, newer schema). */
export class SnapshotLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotLoadError';
  }
}

/** A database value as a snapshot cell. Throws on a type no migration uses (real numbers, booleans). */
export function toCell(value: unknown): SnapshotCell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`a snapshot holds integers only, not ${value}`);
    return value;
  }
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error(`integer ${value} is too large for a snapshot`);
    return Number(value);
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { b64: Buffer.from(value).toString('base64') };
  throw new Error(`a snapshot cannot hold a ${typeof value} value`);
}

/** A snapshot cell as a value to bind in SQL (bytes as a Buffer). */
export function fromCell(cell: SnapshotCell): string | number | null | Buffer {
  if (cell === null || typeof cell === 'string' || typeof cell === 'number') return cell;
  if (typeof cell === 'object' && typeof cell.b64 === 'string') return Buffer.from(cell.b64, 'base64');
  throw new SnapshotLoadError(`not a snapshot cell: ${JSON.stringify(cell)}`);
}

/**
 * Orders tables so each comes after the tables its foreign keys reference (`references`: table → tables it names),
 * ties by name; a cycle (none in the migrations) keeps the remaining tables by name.
 */
export function parentsFirst(tables: readonly string[], references: ReadonlyMap<string, readonly string[]>): string[] {
  const left = new Set(tables);
  const out: string[] = [];
  while (left.size > 0) {
    const ready = [...left].filter((t) => (references.get(t) ?? []).every((p) => p === t || !left.has(p))).sort();
    const next = ready.length > 0 ? ready : [...left].sort();
    for (const t of next) {
      left.delete(t);
      out.push(t);
    }
  }
  return out;
}

/**
 * Checks a snapshot against the target's tables and columns before anything is loaded, and returns, per table to
 * load, the columns to write (dialect-only ones of the other dialect dropped). Throws SnapshotLoadError naming what
 * does not fit.
 */
export function planLoad(snapshot: StoreSnapshot, knownVersion: number, target: ReadonlyMap<string, readonly string[]>): { table: TableSnapshot; columns: number[] }[] {
  if (!Number.isInteger(snapshot.schemaVersion) || snapshot.schemaVersion > knownVersion) {
    throw new SnapshotLoadError(`the snapshot's schema is at version ${snapshot.schemaVersion}, newer than this Strongroom knows (${knownVersion}): restore it with that version or newer`);
  }
  const plan: { table: TableSnapshot; columns: number[] }[] = [];
  for (const table of snapshot.tables) {
    if (NOT_IN_SNAPSHOTS.has(table.name)) continue;
    const have = target.get(table.name);
    if (!have) {
      if (DIALECT_ONLY_TABLES.has(table.name)) continue;
      throw new SnapshotLoadError(`the snapshot has a table ${table.name} that this store has not`);
    }
    const columns: number[] = [];
    table.columns.forEach((c, i) => {
      if (have.includes(c)) columns.push(i);
      else if (!DIALECT_ONLY_COLUMNS.has(`${table.name}.${c}`)) throw new SnapshotLoadError(`the snapshot has a column ${table.name}.${c} that this store has not`);
    });
    for (const row of table.rows) {
      if (!Array.isArray(row) || row.length !== table.columns.length) throw new SnapshotLoadError(`a row of ${table.name} does not have ${table.columns.length} cells`);
    }
    plan.push({ table, columns });
  }
  return plan;
}

/** Counts rows per table (for a backup's header and for reports). */
export const rowCounts = (s: StoreSnapshot): Record<string, number> => Object.fromEntries(s.tables.map((t) => [t.name, t.rows.length]));

/**
 * The audit chain's head after loading `snapshot` (PostgreSQL keeps it in `audit_head`): the last record's sequence
 * number and MAC, else the anchor's, else null (the genesis).
 */
export function auditHeadOf(snapshot: StoreSnapshot): { seq: number; mac: string } | null {
  const records = snapshot.tables.find((t) => t.name === 'audit_records');
  if (records && records.rows.length > 0) {
    const recordAt = records.columns.indexOf('record');
    let last: { seq: number; mac: string } | null = null;
    for (const row of records.rows) {
      const r = JSON.parse(String(row[recordAt])) as { seq: number; mac: string };
      if (last === null || r.seq > last.seq) last = { seq: r.seq, mac: r.mac };
    }
    return last;
  }
  const anchor = snapshot.tables.find((t) => t.name === 'audit_anchor');
  const row = anchor?.rows[0];
  if (anchor && row) return { seq: Number(row[anchor.columns.indexOf('seq')]), mac: String(row[anchor.columns.indexOf('mac')]) };
  return null;
}
