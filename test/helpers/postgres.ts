/**
 * PostgreSQL for tests: `STRONGROOM_TEST_POSTGRES_URL` names a server (any database on it; the role must be able to
 * create databases), e.g. `postgres://postgres@127.0.0.1:5432/postgres`. Each test file makes its own database and
 * drops it at the end. Without the variable the PostgreSQL tests are skipped, and say so.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_POSTGRES_URL = process.env.STRONGROOM_TEST_POSTGRES_URL || undefined;

/** The reason PostgreSQL tests are skipped, or false when they run (for `describe(..., { skip })`). */
export const skipPostgres: string | false = TEST_POSTGRES_URL
  ? false
  : 'PostgreSQL tests skipped: STRONGROOM_TEST_POSTGRES_URL is not set (.ci/run sets it)';


export interface TestDatabase {
  /** A URL of the new, empty database. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates an empty database named `strongroom_test_<random>` on the test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!TEST_POSTGRES_URL) throw new Error(skipPostgres as string);
  const name = `strongroom_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
