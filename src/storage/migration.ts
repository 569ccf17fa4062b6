/**
 * Versioned, forward-only schema migrations shared by both stores: migration N (counted from 1) is written once per
 * dialect, side by side, so a SQLite database and a PostgreSQL schema at version N hold the same tables. A store
 * applies those it lacks in order at open and refuses a database whose version is newer than it knows.
 */

/** One schema step, in SQLite's and in PostgreSQL's SQL. */
export interface Migration {
  /** What the step adds, in a few words (kept in the database's `schema_migrations` for operators). */
  description: string;
  sqlite: string;
  postgres: string;
}

/** Raised at open when the database was migrated by a newer Strongroom: an older node must not write to it. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly where: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `${where}: the database schema is at version ${found}, newer than this Strongroom knows (${known}); ` +
        'it was upgraded by a newer Strongroom. Run that version (or newer) against it; an older one would corrupt it.',
    );
    this.name = 'SchemaTooNewError';
  }
}
