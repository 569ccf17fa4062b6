/**
 * The PostgreSQL server of the `postgres` scenario: which one (STRONGROOM_BENCH_POSTGRES_URL, else
 * STRONGROOM_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres), whether it answers, and a
 * database of the bench's own on it (`strongroom_bench_<random>`, created with the `pg` package and dropped at the
 * end, also on a failure or Ctrl-C through bench/cleanup.ts). The role of the URL must be able to create databases.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactUrl } from '../src/storage/postgres/database.js';
import { onCleanUp } from './cleanup.js';

/** The server tried when neither variable is set. */
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/** Milliseconds a server has to accept a connection and answer `SELECT 1`. */
const REACH_TIMEOUT_MS = 3000;

/** The server URL and where it came from (for the report). */
export interface PostgresServer {
  url: string;
  /** The variable that named it, or `default`. */
  source: string;
}

/** The URL the scenario uses, from the environment or the default. */
export function chooseServer(): PostgresServer {
  for (const name of ['STRONGROOM_BENCH_POSTGRES_URL', 'STRONGROOM_TEST_POSTGRES_URL']) {
    const url = process.env[name];
    if (url) return { url, source: name };
  }
  return { url: DEFAULT_POSTGRES_URL, source: 'default' };
}

async function withClient<T>(url: string, use: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: REACH_TIMEOUT_MS });
  client.on('error', () => {}); // a server going away after the query; the query's own error is what counts
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** null when the server answers `SELECT 1`; otherwise why not (one line, password redacted). */
export async function unreachable(server: PostgresServer): Promise<string | null> {
  try {
    await withClient(server.url, (c) => c.query({ text: 'SELECT 1', query_timeout: REACH_TIMEOUT_MS } as pg.QueryConfig));
    return null;
  } catch (err) {
    const e = err as Error & { code?: string };
    return `no PostgreSQL server answers at ${redactUrl(server.url)} (${server.source}): ${e.code ? `${e.code} ` : ''}${e.message.split('\n')[0]}`;
  }
}

export interface BenchDatabase {
  /** URL of the new, empty database (the server URL with its name as path). */
  url: string;
  name: string;
  /** Drops it (WITH (FORCE): connections a killed node left are ended); once. */
  drop(): Promise<void>;
}

/** Creates `strongroom_bench_<random>` on `server` and registers its drop with bench/cleanup.ts. */
export async function createBenchDatabase(server: PostgresServer): Promise<BenchDatabase> {
  const name = `strongroom_bench_${randomBytes(6).toString('hex')}`;
  await withClient(server.url, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    forget();
    await withClient(server.url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  };
  const forget = onCleanUp(drop);
  return { url: url.toString(), name, drop };
}
