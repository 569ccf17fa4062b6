/**
 * The KMS store on PostgreSQL: the shared contract (test/contracts/kms-store-contract.ts), then what several nodes
 * on one schema need: other nodes' changes leave a node's cache soon (LISTEN/NOTIFY), a node's own writes are never
 * hidden by its cache, leases, optimistic and serializable concurrency between nodes, migrations when nodes start
 * together and the refusal of a newer schema, one audit chain, pending audit entries of dead nodes only.
 * Skipped, saying so, without STRONGROOM_TEST_POSTGRES_URL (test/helpers/postgres.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { seal, verifyChain } from '../src/audit/audit-chain.js';
import type { AuditEntry, AuditSeal } from '../src/audit/audit-store.js';
import type { KmsStore } from '../src/storage/kms-store.js';
import { KMS_MIGRATIONS } from '../src/storage/kms-migrations.js';
import { SchemaTooNewError } from '../src/storage/migration.js';
import { PgKmsStore, type PgKmsStoreOptions } from '../src/storage/postgres/kms-pg-store.js';
import { SqliteKmsStore } from '../src/storage/sqlite/kms-sqlite-store.js';
import { kmsStoreContract, keyRecord, versionOf } from './contracts/kms-store-contract.js';
import { createTestDatabase, skipPostgres, type TestDatabase } from './helpers/postgres.js';

const AUDIT_KEY = randomBytes(32);
const sealer: AuditSeal = (entry, seq, prevMac) => seal(AUDIT_KEY, entry, seq, prevMac);

function auditEntry(operation = 'EncryptData'): AuditEntry {
  return {
    time: new Date().toISOString(), request_id: randomBytes(16).toString('hex'), service: 'kms', region: 'cn-north-4', caller: null,
    source_ip: '127.0.0.1', operation, action: null, key_ids: [], status: 200, error_code: null, duration_ms: 1,
  };
}

describe('SqliteKmsStore refuses a database migrated by a newer Strongroom', () => {
  it('a schema_migrations version above KMS_MIGRATIONS throws SchemaTooNewError at open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-kms-'));
    try {
      const path = join(dir, 'kms.db');
      await new SqliteKmsStore(path).close();
      const db = new Database(path);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(KMS_MIGRATIONS.length + 1, Date.now());
      db.close();
      assert.throws(() => new SqliteKmsStore(path), (err) =>
        err instanceof SchemaTooNewError && err.found === KMS_MIGRATIONS.length + 1 && err.known === KMS_MIGRATIONS.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

if (typeof skipPostgres === 'string') {
  describe('KmsStore contract: PgKmsStore', { skip: skipPostgres }, () => {});
  describe('PgKmsStore: several nodes on one schema', { skip: skipPostgres }, () => {});
} else {
  let database!: Promise<TestDatabase>;
  const opened: PgKmsStore[] = [];
  let schemas = 0;
  const newSchema = () => `kms_${++schemas}`;

  before(() => {
    database = createTestDatabase();
    return database.then(() => undefined);
  });
  // Each test's stores close when it ends (a store holds a listening connection and its pool's), so that the
  // file never holds more than a few connections; the last ones before the database goes.
  const closeOpened = async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  };
  afterEach(closeOpened);
  after(async () => {
    await closeOpened();
    await (await database).drop();
  });

  /** Opens a store (a node) on `schema` of the test database; closed at the end. */
  const open = async (schema: string, options: PgKmsStoreOptions = {}): Promise<PgKmsStore> => {
    const s = await PgKmsStore.open((await database).url, schema, { poolSize: 4, ...options });
    opened.push(s);
    return s;
  };

  /** One statement on the test database, behind the stores' backs. */
  const sql = async <R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> => {
    const client = new pg.Client({ connectionString: (await database).url });
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end();
    }
  };

  const schemaOf = new WeakMap<KmsStore, string>();
  kmsStoreContract('PgKmsStore', async (reopen) => {
    const schema = reopen ? schemaOf.get(reopen) : newSchema();
    assert.ok(schema);
    const s = await open(schema);
    schemaOf.set(s, schema);
    return s;
  });

  describe('PgKmsStore: several nodes on one schema', () => {
    it('a key another node updates or deletes leaves this node\'s cache within a second, and its listeners hear of it', async (t) => {
      const schema = newSchema();
      const a = await open(schema);
      const b = await open(schema);
      const heard: { keyId: string | null; at: number }[] = [];
      b.onKeyChanged((keyId) => heard.push({ keyId, at: performance.now() }));
      const waitHeard = async (keyId: string, from: number) => {
        for (const deadline = performance.now() + 1000; performance.now() < deadline; await sleep(5)) {
          const h = heard.find((x) => x.keyId === keyId && x.at >= from);
          if (h) return h;
        }
        assert.fail(`B did not hear of ${keyId} within 1 s`);
      };
      const k = keyRecord();
      await a.insertKey(k, versionOf(k));
      await waitHeard(k.id, 0);
      assert.deepEqual(await b.getKey('p1', k.id), k);
      assert.deepEqual(await b.getKey('p1', k.id), k);
      // B serves the key from its cache: a change made behind the stores' backs (no notification) is not seen.
      await sql(`UPDATE ${schema}.keys SET description = 'behind their backs' WHERE id = $1`, [k.id]);
      assert.equal((await b.getKey('p1', k.id))!.description, k.description, 'B reads its cache');

      const start = performance.now();
      assert.equal(await a.updateKey({ ...k, description: 'changed by A' }, 0), true);
      const written = performance.now();
      let seenAt = 0;
      for (const deadline = written + 1000; performance.now() < deadline; await sleep(20)) {
        if ((await b.getKey('p1', k.id))!.description === 'changed by A') {
          seenAt = performance.now();
          break;
        }
      }
      assert.ok(seenAt > 0, 'B saw the update within 1 s');
      const h = await waitHeard(k.id, start);
      assert.equal((await b.getKey('p1', k.id))!.revision, 1);
      t.diagnostic(`cross-node invalidation: B's listener heard ${(h.at - start).toFixed(1)} ms after A began the update ` +
        `(${(h.at - written).toFixed(1)} ms after it resolved); B's poll (every 20 ms) saw it ${(seenAt - written).toFixed(1)} ms after`);

      assert.deepEqual(await b.getKey('p1', k.id), { ...k, description: 'changed by A', revision: 1 });
      const deleting = performance.now();
      await a.deleteKey(k.id);
      let goneAt = 0;
      for (const deadline = performance.now() + 1000; performance.now() < deadline; await sleep(20)) {
        if ((await b.getKey('p1', k.id)) === null) {
          goneAt = performance.now();
          break;
        }
      }
      assert.ok(goneAt > 0, 'B saw the deletion within 1 s');
      await waitHeard(k.id, deleting);
      assert.equal(await b.getKeyById(k.id), null);
      t.diagnostic(`deletion seen by B ${(goneAt - deleting).toFixed(1)} ms after A began it`);

      // Versions and grants are announced too; a node hears nothing of its own writes.
      const aHeard: (string | null)[] = [];
      a.onKeyChanged((keyId) => aHeard.push(keyId));
      const k2 = keyRecord();
      await b.insertKey(k2, null);
      let from = performance.now();
      await a.insertVersion(versionOf(k2, 2));
      await waitHeard(k2.id, from);
      from = performance.now();
      const grantId = randomBytes(32).toString('hex');
      await a.insertGrant({ id: grantId, keyId: k2.id, name: 'g', grantee: 'u1', granteeType: 'user', operations: ['encrypt-data'], issuer: 'admin', retiringPrincipal: '', createdAt: 1 });
      await waitHeard(k2.id, from);
      from = performance.now();
      await a.deleteGrant(grantId);
      await waitHeard(k2.id, from);
      from = performance.now();
      await a.deleteVersions(k2.id);
      await waitHeard(k2.id, from);
      await sleep(50);
      assert.deepEqual(aHeard.filter((x) => x !== null), [k2.id], 'A heard of B\'s insert only, not of its own writes');
    });

    it('while its notification connection is lost a node reads keys from the database and its listeners hear null; once back, it caches again', async () => {
      const schema = newSchema();
      const b = await open(schema);
      const heard: (string | null)[] = [];
      b.onKeyChanged((keyId) => heard.push(keyId));
      const k = keyRecord();
      await b.insertKey(k, null);
      const behind = (description: string) => sql(`UPDATE ${schema}.keys SET description = $2 WHERE id = $1`, [k.id, description]);
      const description = async () => (await b.getKey('p1', k.id))!.description;
      await description();
      await behind('behind 1');
      assert.equal(await description(), k.description, 'cached');
      const [killed] = await sql<{ n: string }>(
        'SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND query = $1',
        [`LISTEN ${schema}_keys`],
      );
      assert.equal(Number(killed!.n), 1, 'the listening connection');
      const until = async (what: string, test: () => boolean, ms: number) => {
        for (const deadline = performance.now() + ms; !test(); await sleep(10)) if (performance.now() > deadline) assert.fail(what);
      };
      await until('listeners hear null', () => heard.includes(null), 1000);
      assert.equal(await description(), 'behind 1', 'the cache was dropped');
      await behind('behind 2');
      assert.equal(await description(), 'behind 2', 'nothing is cached while no notification can arrive');
      // It listens again after a second, and says so with another null (whatever happened meanwhile was missed).
      await until('listening again', () => heard.filter((x) => x === null).length >= 2, 3000);
      assert.equal(await description(), 'behind 2');
      await behind('behind 3');
      assert.equal(await description(), 'behind 2', 'cached again');
    });

    it('a store closed while its notification connection waits to reconnect stays closed', async () => {
      const schema = newSchema();
      const b = await open(schema);
      const listening = async () => Number((await sql<{ n: string }>(
        'SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query = $1', [`LISTEN ${schema}_keys`]))[0]!.n);
      let lost = false;
      b.onKeyChanged((keyId) => (lost ||= keyId === null));
      await sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = $1', [`LISTEN ${schema}_keys`]);
      for (const deadline = performance.now() + 1000; !lost && performance.now() < deadline;) await sleep(10);
      assert.ok(lost);
      await b.close();
      await sleep(1500); // past the reconnection delay
      assert.equal(await listening(), 0);
    });

    it('a node\'s own update is seen by its next read, even with reads of the old record in flight around the write', async () => {
      const schema = newSchema();
      const a = await open(schema);
      const b = await open(schema);
      const k = keyRecord();
      await a.insertKey(k, null);
      for (let i = 0; i < 200; i++) {
        const next = { ...k, description: `v${i}` };
        const early = [a.getKey('p1', k.id), b.getKey('p1', k.id)];
        const write = i % 2 === 0 ? a.updateKey(next, i) : a.transaction((tx) => tx.updateKey(next, i));
        await sleep(0);
        const during = [a.getKey('p1', k.id), b.getKey('p1', k.id)];
        assert.equal(await write, true, `write ${i}`);
        const seen = (await a.getKey('p1', k.id))!;
        assert.equal(seen.description, `v${i}`, `A's read after its write ${i}`);
        assert.equal(seen.revision, i + 1);
        await Promise.all([...early, ...during]);
        assert.equal((await a.getKey('p1', k.id))!.description, `v${i}`, `A's read after the reads in flight ${i}`);
      }
      // B follows too, through notifications.
      for (const deadline = performance.now() + 1000; performance.now() < deadline; await sleep(20)) {
        if ((await b.getKey('p1', k.id))!.revision === 200) break;
      }
      assert.equal((await b.getKey('p1', k.id))!.description, 'v199');
    });

    it('leases: of two nodes racing, one takes it; the other only once it has lapsed or was released', async () => {
      const schema = newSchema();
      const [a, b] = [await open(schema), await open(schema)];
      const now = Date.now();
      const got = await Promise.all([a.acquireLease('job', 'node-a', now, now + 1000), b.acquireLease('job', 'node-b', now, now + 1000)]);
      assert.deepEqual([...got].sort(), [false, true]);
      const [winner, loser] = got[0] ? [['node-a', a], ['node-b', b]] as const : [['node-b', b], ['node-a', a]] as const;
      assert.equal(await loser[1].acquireLease('job', loser[0], now + 999, now + 2000), false, 'still held');
      assert.equal(await winner[1].acquireLease('job', winner[0], now + 500, now + 1500), true, 'renewed by its holder');
      assert.equal(await loser[1].acquireLease('job', loser[0], now + 1499, now + 2500), false, 'held until the renewal lapses');
      assert.equal(await loser[1].acquireLease('job', loser[0], now + 1500, now + 2500), true, 'taken once lapsed');
      assert.equal(await winner[1].acquireLease('job', winner[0], now + 1600, now + 2600), false);
      await winner[1].releaseLease('job', winner[0]); // not the holder: nothing
      assert.equal(await winner[1].acquireLease('job', winner[0], now + 1600, now + 2600), false);
      await loser[1].releaseLease('job', loser[0]);
      assert.equal(await winner[1].acquireLease('job', winner[0], now + 1600, now + 2600), true, 'taken once released');
    });

    it('two nodes updating one key from the same revision: exactly one wins each round', async () => {
      const schema = newSchema();
      const [a, b] = [await open(schema), await open(schema)];
      const k = keyRecord();
      await a.insertKey(k, null);
      for (let round = 0; round < 20; round++) {
        const results = await Promise.all([
          a.updateKey({ ...k, description: `a${round}` }, round),
          b.updateKey({ ...k, description: `b${round}` }, round),
        ]);
        assert.deepEqual([...results].sort(), [false, true], `round ${round}`);
        const stored = (await a.transaction((tx) => tx.getKey('p1', k.id)))!;
        assert.equal(stored.revision, round + 1);
        assert.equal(stored.description, results[0] ? `a${round}` : `b${round}`);
      }
    });

    it('two nodes each adding an alias to a key that may have one: serializable transactions leave exactly one', async () => {
      const schema = newSchema();
      const [a, b] = [await open(schema), await open(schema)];
      for (let round = 0; round < 10; round++) {
        const k = keyRecord();
        await a.insertKey(k, null);
        const add = (s: KmsStore, name: string) => s.transaction(async (tx) => {
          const key = await tx.getKey('p1', k.id);
          assert.ok(key);
          if ((await tx.countAliases(k.id)) >= 1) return false;
          await sleep(2); // both have counted before either inserts
          await tx.insertAlias({ domainId: 'd1', alias: `alias/${name}-${round}`, keyId: k.id, createdAt: 1, updatedAt: 1 });
          return true;
        });
        const added = await Promise.all([add(a, 'a'), add(b, 'b')]);
        assert.deepEqual([...added].sort(), [false, true], `round ${round}`);
        assert.equal(await a.countAliases(k.id), 1);
      }
    });

    it('nodes opening a new schema together migrate it once; a schema migrated further is refused', async () => {
      const schema = newSchema();
      const both = await Promise.all([open(schema), open(schema), open(schema)]);
      assert.equal(both.length, 3);
      const versions = await sql<{ version: number; n: string }>(`SELECT version, COUNT(*) AS n FROM ${schema}.schema_migrations GROUP BY version ORDER BY version`);
      assert.deepEqual(versions.map((v) => [v.version, Number(v.n)]), KMS_MIGRATIONS.map((_, i) => [i + 1, 1]));
      await sql(`INSERT INTO ${schema}.schema_migrations (version, description, applied_at) VALUES ($1, 'from the future', 0)`, [KMS_MIGRATIONS.length + 1]);
      await assert.rejects(open(schema), (err) =>
        err instanceof SchemaTooNewError && err.found === KMS_MIGRATIONS.length + 1 && err.known === KMS_MIGRATIONS.length);
      // The nodes already open carry on.
      const k = keyRecord();
      await both[0]!.insertKey(k, null);
      assert.deepEqual(await both[1]!.getKeyById(k.id), k);
    });

    it('two nodes appending to the audit trail at once, in transactions or not, make one chain: each seq once, each prev_mac the previous mac', async () => {
      const schema = newSchema();
      const [a, b] = [await open(schema), await open(schema)];
      const appends = [];
      for (let i = 0; i < 50; i++) {
        appends.push(a.appendAudit([], [auditEntry('FromA')], sealer));
        appends.push(b.appendAudit([], [auditEntry('FromB')], sealer));
      }
      // Some inside transactions that change a key (the record commits with the change, or not at all).
      const k = keyRecord();
      await a.insertKey(k, null);
      for (let i = 0; i < 10; i++) {
        const s = i % 2 === 0 ? a : b;
        appends.push(s.transaction(async (tx) => {
          const key = (await tx.getKeyById(k.id))!;
          assert.equal(await tx.updateKey({ ...key, description: `tx ${i}` }, key.revision), true);
          await tx.appendAudit([], [auditEntry('InTransaction')], sealer);
        }));
      }
      await Promise.all(appends);
      await assert.rejects(a.transaction(async (tx) => {
        await tx.appendAudit([], [auditEntry('RolledBack')], sealer);
        throw new Error('roll back');
      }), /roll back/);
      const records = await b.auditRecords({ limit: 1000 });
      assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 110 }, (_, i) => i + 1));
      assert.equal(records.filter((r) => r.operation === 'InTransaction').length, 10);
      assert.equal(records.filter((r) => r.operation === 'RolledBack').length, 0);
      assert.equal((await a.getKeyById(k.id))!.revision, 10);
      for (let i = 1; i < records.length; i++) assert.equal(records[i]!.prev_mac, records[i - 1]!.mac, `prev_mac of ${i + 1}`);
      assert.equal(records.filter((r) => r.operation === 'FromA').length, 50);
      assert.equal(verifyChain(AUDIT_KEY, records, { seq: 0 }).ok, true);
    });

    it('pending audit entries of a live node are left to it; once its lease has lapsed, one other node takes them', async () => {
      const schema = newSchema();
      const [a, b, c] = [await open(schema), await open(schema), await open(schema)];
      const entry = auditEntry('DisableKey');
      await a.appendAudit([entry], [], sealer);
      assert.deepEqual((await b.pendingAudit()).map((e) => e.request_id), [], 'A is alive');
      assert.deepEqual((await a.pendingAudit()).map((e) => e.request_id), [], 'A\'s own are calls in flight');
      await a.close(); // gives its liveness lease up, leaves its pending entries
      const taken = (await Promise.all([b.pendingAudit(), c.pendingAudit()])).flat();
      assert.deepEqual(taken.map((e) => e.request_id), [entry.request_id], 'once, to one of them');
      for (let round = 0; round < 20; round++) {
        const orphans = [auditEntry('Orphan'), auditEntry('Orphan')];
        for (const o of orphans) {
          await sql(`INSERT INTO ${schema}.audit_pending (request_id, entry, node) VALUES ($1, $2, $3)`, [o.request_id, JSON.stringify(o), `dead-${round}`]);
        }
        const raced = (await Promise.all([b.pendingAudit(), c.pendingAudit()])).flat().map((e) => e.request_id);
        assert.deepEqual(raced.sort(), orphans.map((o) => o.request_id).sort(), `round ${round}: each once`);
      }
      // A node whose clock is past another's lease (here B's, renewed 30 s ahead) takes its entries.
      const later = auditEntry('EnableKey');
      await b.appendAudit([later], [], sealer);
      assert.ok(!(await c.pendingAudit()).some((e) => e.request_id === later.request_id), 'B is alive');
      const ahead = await open(schema, { clock: () => Date.now() + 60_000 });
      assert.ok((await ahead.pendingAudit()).some((e) => e.request_id === later.request_id));
    });
  });
}
