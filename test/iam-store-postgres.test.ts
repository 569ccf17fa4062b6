/**
 * The IAM store contract (test/contracts/iam-store-contract.ts) on PostgreSQL, one schema per store in one test
 * database, and what only a store shared by several nodes can get wrong: migrating once when nodes start together,
 * refusing a newer schema, one audit chain whichever node appends, feeds whose numbers commit in order, pending
 * audit entries taken over only from a dead node. Also the refusal of a newer schema by the SQLite store. Without
 * STRONGROOM_TEST_POSTGRES_URL the PostgreSQL part is skipped, and says so.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { GENESIS_MAC, seal, verifyChain } from '../src/audit/audit-chain.js';
import type { AuditEntry, AuditSeal } from '../src/audit/audit-store.js';
import { IAM_MIGRATIONS } from '../src/storage/iam-migrations.js';
import type { IamStore } from '../src/storage/iam-store.js';
import { SchemaTooNewError } from '../src/storage/migration.js';
import { PgIamStore } from '../src/storage/postgres/iam-pg-store.js';
import { SqliteIamStore } from '../src/storage/sqlite/iam-sqlite-store.js';
import { iamStoreContract } from './contracts/iam-store-contract.js';
import { createTestDatabase, skipPostgres, type TestDatabase } from './helpers/postgres.js';

const T0 = Date.UTC(2024, 0, 1);
const NEWER = IAM_MIGRATIONS.length + 1;

const auditKey = randomBytes(32);
const sealRecord: AuditSeal = (entry, seq, prevMac) => seal(auditKey, entry, seq, prevMac);
const auditEntry = (requestId: string, i: number): AuditEntry => ({
  time: new Date(T0 + i).toISOString(), request_id: requestId, service: 'iam', region: 'global', caller: null, source_ip: '127.0.0.1',
  operation: 'CreateUser', action: 'iam:users:createUser', key_ids: [], status: 201, error_code: null, duration_ms: 1,
});

if (skipPostgres) {
  // Tests, not suites, so that the summary counts them as skipped.
  it('IamStore contract: PgIamStore', { skip: skipPostgres }, () => {});
  it('PgIamStore shared by several nodes', { skip: skipPostgres }, () => {});
} else {
  let database: Promise<TestDatabase> | undefined;
  before(() => {
    database = createTestDatabase();
    return database;
  });
  after(async () => {
    await (await database)?.drop();
  });
  /** The test database's URL, once `before` has made it (describe callbacks run before hooks do). */
  const url = async (): Promise<string> => (await database!).url;
  /** One statement on a connection of its own (names are schema-qualified: no search_path). */
  const sql = async <R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> => {
    const client = new pg.Client({ connectionString: await url() });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as R[];
    } finally {
      await client.end();
    }
  };
  const open = async (schema: string, options: Parameters<typeof PgIamStore.open>[2] = {}) =>
    PgIamStore.open(await url(), schema, { poolSize: 4, ...options });

  let count = 0;
  const schemas = new WeakMap<IamStore, string>();
  iamStoreContract('PgIamStore', async (reopen) => {
    const schema = reopen ? schemas.get(reopen)! : `iam_${++count}`;
    assert.ok(schema);
    const s = await open(schema);
    schemas.set(s, schema);
    return s;
  });

  describe('PgIamStore shared by several nodes', () => {
    it('two nodes opening a new schema together both succeed and apply each migration once', async () => {
      const [a, b] = await Promise.all([open('iam_together'), open('iam_together')]);
      try {
        const rows = await sql<{ version: number; n: string }>(
          'SELECT version, COUNT(*) AS n FROM iam_together.schema_migrations GROUP BY version ORDER BY version',
        );
        assert.deepEqual(rows.map((r) => r.version), IAM_MIGRATIONS.map((_, i) => i + 1));
        assert.ok(rows.every((r) => r.n === '1'));
        assert.equal(await a.insertDomain({ id: 'd1', name: 'alpha', createdAt: T0 }), true);
        assert.deepEqual(await b.getDomain('d1'), { id: 'd1', name: 'alpha', createdAt: T0 });
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('refuses a schema migrated by a newer Strongroom with SchemaTooNewError, changing nothing', async () => {
      const s = await open('iam_newer');
      await s.insertDomain({ id: 'd1', name: 'alpha', createdAt: T0 });
      await s.close();
      await sql("INSERT INTO iam_newer.schema_migrations (version, description, applied_at) VALUES ($1, 'from the future', 0)", [NEWER]);
      const snapshot = async () => ({
        tables: await sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'iam_newer' ORDER BY 1"),
        migrations: await sql('SELECT * FROM iam_newer.schema_migrations ORDER BY version'),
        domains: await sql('SELECT * FROM iam_newer.domains'),
        leases: await sql('SELECT * FROM iam_newer.leases'),
      });
      const before = await snapshot();
      await assert.rejects(open('iam_newer'), (err) => {
        assert.ok(err instanceof SchemaTooNewError);
        assert.equal(err.found, NEWER);
        assert.equal(err.known, IAM_MIGRATIONS.length);
        return true;
      });
      assert.deepEqual(await snapshot(), before);
      assert.deepEqual(before.leases, [], 'no liveness lease left behind');
    });

    it('two nodes appending audit records concurrently make one chain', async () => {
      const [a, b] = [await open('iam_audit'), await open('iam_audit')];
      try {
        await Promise.all(
          [a, b].flatMap((s, node) => Array.from({ length: 50 }, (_, i) => s.appendAudit([], [auditEntry(`n${node}-${i}`, i)], sealRecord))),
        );
        const records = await b.auditRecords({ limit: 1000 });
        assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 100 }, (_, i) => i + 1));
        records.forEach((r, i) => assert.equal(r.prev_mac, i === 0 ? GENESIS_MAC : records[i - 1]!.mac, `record ${r.seq}`));
        assert.equal(new Set(records.map((r) => r.request_id)).size, 100);
        assert.deepEqual(verifyChain(auditKey, records, { seq: 0 }), { ok: true, records: 100, head: { seq: 100, mac: records[99]!.mac } });
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('feeds commit in the order of their numbers: a follower misses nothing while two nodes write', async () => {
      const [a, b] = [await open('iam_feeds'), await open('iam_feeds')];
      const follower = await open('iam_feeds');
      try {
        await a.insertDomain({ id: 'd1', name: 'alpha', createdAt: T0 });
        const start = await follower.latestPermissionChangeSeq();
        const revoked = new Set<string>();
        const changes: number[] = [];
        let writing = true;
        const follow = (async () => {
          let revocationSeq = 0;
          let changeSeq = start;
          for (;;) {
            const last = !writing; // one more round after the writers are done
            for (const r of await follower.revokedSince(revocationSeq, 0)) (revoked.add(r.tokenId), (revocationSeq = r.seq));
            for (const c of await follower.permissionChangesSince(changeSeq, 1000)) (changes.push(c.seq), (changeSeq = c.seq));
            if (last) return;
          }
        })();
        await Promise.all(
          [a, b].flatMap((s, node) =>
            Array.from({ length: 100 }, async (_, i) => {
              await s.revokeToken(`t${node}-${i}`, T0 + 1000);
              await s.recordPermissionChange('d1');
            }),
          ),
        );
        writing = false;
        await follow;
        assert.equal(revoked.size, 200, 'every revocation was seen');
        assert.equal(changes.length, 200, 'every permission change was seen');
      } finally {
        await a.close();
        await b.close();
        await follower.close();
      }
    });

    it('pending audit entries pass to another node only once their node is dead', async () => {
      const a = await open('iam_pending', { nodeId: 'node-a' });
      const b = await open('iam_pending', { nodeId: 'node-b' });
      const later = await open('iam_pending', { nodeId: 'node-c', clock: () => Date.now() + 60_000 });
      try {
        const entry = auditEntry('in-flight', 0);
        await a.appendAudit([entry], [], sealRecord);
        assert.deepEqual(await a.pendingAudit(), [], "a node's own calls are still in flight");
        assert.deepEqual(await b.pendingAudit(), [], 'node-a is alive');
        assert.deepEqual(await later.pendingAudit(), [entry], "a minute later node-a's lease has lapsed");
        assert.deepEqual(await b.pendingAudit(), [], 'handed over once');
      } finally {
        await a.close();
        await b.close();
        await later.close();
      }
    });
  });
}

describe('SqliteIamStore schema version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-iam-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a database migrated by a newer Strongroom with SchemaTooNewError, changing nothing', async () => {
    const path = join(dir, 'iam.db');
    const s = new SqliteIamStore(path);
    await s.insertDomain({ id: 'd1', name: 'alpha', createdAt: T0 });
    await s.close();
    const snapshot = () => {
      const db = new Database(path, { readonly: true });
      try {
        return {
          schema: db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all(),
          migrations: db.prepare('SELECT * FROM schema_migrations ORDER BY version').all(),
          domains: db.prepare('SELECT * FROM domains').all(),
        };
      } finally {
        db.close();
      }
    };
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(NEWER);
    db.close();
    const before = snapshot();
    assert.throws(() => new SqliteIamStore(path), (err) => {
      assert.ok(err instanceof SchemaTooNewError);
      assert.equal(err.found, NEWER);
      assert.equal(err.known, IAM_MIGRATIONS.length);
      return true;
    });
    assert.deepEqual(snapshot(), before);
  });
});
