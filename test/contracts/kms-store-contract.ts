/**
 * The contract every KMS store (src/storage/kms-store.ts) passes: `kmsStoreContract(name, make)` declares its tests
 * for one implementation; test/storage-contract.test.ts runs it on SQLite, test/kms-store-postgres.test.ts on
 * PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import type { KeyRecord, KeyVersionRecord } from '../../src/core/key.js';
import { seal } from '../../src/audit/audit-chain.js';
import type { AuditEntry } from '../../src/audit/audit-store.js';
import { SnapshotLoadError, type StoreSnapshot } from '../../src/storage/snapshot.js';

/** A snapshot's tables as sorted row lists (row order is the store's, not part of the contract). */
export function snapshotContent(s: StoreSnapshot): Record<string, string[]> {
  return Object.fromEntries(s.tables.map((t) => [t.name, t.rows.map((r) => JSON.stringify(Object.fromEntries(t.columns.map((c, i) => [c, r[i]])))).sort()]));
}
import type { KeystoreRecord } from '../../src/core/keystores.js';
import { DuplicateAliasError, DuplicateKeystoreError, type GrantRecord, type KmsStore } from '../../src/storage/kms-store.js';
import type { AccessPointRecord, KeyPolicyRecord } from '../../src/storage/key-space-store.js';

const T0 = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;

export function keyRecord(over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: randomUUID(),
    projectId: 'p1',
    domainId: 'd1',
    region: 'cn-north-4',
    alias: 'alias-' + randomBytes(4).toString('hex'),
    description: 'a key',
    spec: 'AES_256',
    usage: 'ENCRYPT_DECRYPT',
    origin: 'kms',
    state: '2',
    createdAt: T0,
    deletionDate: null,
    enterpriseProjectId: '0',
    keystoreId: '0',
    currentVersion: 1,
    rotationEnabled: false,
    rotationIntervalDays: 365,
    lastRotationAt: null,
    rotationCount: 0,
    materialExpiresAt: null,
    primaryRegion: null,
    revision: 0,
    replicas: [],
    handoverTo: null,
    term: 0,
    pendingAttempt: null,
    publicKey: null,
    materialFingerprint: null,
    ...over,
  };
}

export function versionOf(key: KeyRecord, version = 1): KeyVersionRecord {
  return { keyId: key.id, version, wrapped: randomBytes(61), createdAt: key.createdAt };
}

/**
 * `make()` opens a new, empty store; `make(previous)` opens the same data again after `previous` was closed.
 */
export type MakeKmsStore = (reopen?: KmsStore) => Promise<KmsStore>;

export function kmsStoreContract(name: string, make: MakeKmsStore): void {
  describe(`KmsStore contract: ${name}`, () => {
    const stores: KmsStore[] = [];
    const fresh = async (reopen?: KmsStore): Promise<KmsStore> => {
      const s = await make(reopen);
      stores.push(s);
      return s;
    };
    after(async () => {
      for (const s of stores) await s.close().catch(() => undefined);
    });

    it('insertKey/getKey round-trips every field; another project sees null', async () => {
      const s = await fresh();
      const plain = keyRecord();
      const full = keyRecord({
        projectId: 'p1', spec: 'SM4', state: '4', deletionDate: T0 + 7 * DAY, rotationEnabled: true, rotationIntervalDays: 30,
        lastRotationAt: T0 + 5, rotationCount: 3, materialExpiresAt: T0 + 9, primaryRegion: 'cn-south-1', origin: 'external',
        currentVersion: 4, revision: 7, description: 'ünïcødé "quoted"', enterpriseProjectId: 'ep', keystoreId: 'ks',
        publicKey: randomBytes(91), materialFingerprint: 'fp',
      });
      await s.insertKey(plain, versionOf(plain));
      await s.insertKey(full, null);
      assert.deepEqual(await s.getKey('p1', plain.id), plain);
      assert.deepEqual(await s.getKey('p1', full.id), full);
      assert.equal(await s.getKey('p2', plain.id), null);
      assert.equal(await s.getKey('p1', randomUUID()), null);
    });

    it('a key read again after a change is the changed record, in and out of transactions; a rolled-back change is never seen; records read are frozen', async () => {
      const s = await fresh();
      const k = keyRecord();
      await s.insertKey(k, versionOf(k));
      const read = (await s.getKey('p1', k.id))!;
      assert.equal((await s.getKeyById(k.id))!.state, '2');
      assert.throws(() => { (read as { state: string }).state = '3'; }, TypeError, 'a record read is not changed in place');
      assert.ok(await s.updateKey({ ...read, state: '3', revision: 1 }, 0));
      assert.equal((await s.getKey('p1', k.id))!.state, '3');
      await s.transaction(async (tx) => {
        assert.ok(await tx.updateKey({ ...k, state: '2', revision: 2 }, 1));
        assert.equal((await tx.getKey('p1', k.id))!.state, '2', 'the transaction sees its own change');
      });
      assert.equal((await s.getKeyById(k.id))!.state, '2');
      await assert.rejects(s.transaction(async (tx) => {
        assert.ok(await tx.updateKey({ ...k, state: '3', revision: 3 }, 2));
        throw new Error('roll back');
      }), /roll back/);
      assert.equal((await s.getKey('p1', k.id))!.state, '2', 'the rolled-back change');
      assert.equal((await s.getKey('p1', k.id))!.revision, 2);
      await s.deleteKey(k.id);
      assert.equal(await s.getKey('p1', k.id), null);
      assert.equal(await s.getKeyById(k.id), null);
    });

    it('concurrent transactions each commit or roll back alone, and each sees the ones before it', async () => {
      const s = await fresh();
      const keys = Array.from({ length: 6 }, () => keyRecord());
      const outcomes = await Promise.allSettled(keys.map((k, i) => s.transaction(async (tx) => {
        const before = await tx.countKeys('p1');
        await tx.insertKey(k, versionOf(k));
        await sleep(1); // the transaction spans awaits
        if (i % 3 === 1) throw new Error(`refused ${i}`);
        return before;
      })));
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      assert.deepEqual(outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<number>).value), [0, 1, 2, 3]);
      for (const [i, k] of keys.entries()) {
        assert.equal((await s.getKey('p1', k.id)) !== null, i % 3 !== 1, `key ${i}`);
        assert.equal((await s.getVersion(k.id, 1)) !== null, i % 3 !== 1, `version of key ${i}`);
      }
      assert.equal(await s.countKeys('p1'), 4);
    });

    it('getVersion returns the first version, and null for another version or key', async () => {
      const s = await fresh();
      const k = keyRecord();
      const v = versionOf(k);
      await s.insertKey(k, v);
      const got = await s.getVersion(k.id, 1);
      assert.deepEqual(got, v);
      assert.ok(Buffer.isBuffer(got!.wrapped));
      assert.equal(await s.getVersion(k.id, 2), null);
      assert.equal(await s.getVersion(k.id, 0), null);
      assert.equal(await s.getVersion(randomUUID(), 1), null);
      const noMaterial = keyRecord({ state: '5', currentVersion: 0 });
      await s.insertKey(noMaterial, null);
      assert.equal(await s.getVersion(noMaterial.id, 1), null);
    });

    it('a duplicate alias within a domain throws DuplicateAliasError and writes nothing; another domain may use it', async () => {
      const s = await fresh();
      const a = keyRecord({ alias: 'shared' });
      await s.insertKey(a, versionOf(a));
      for (const projectId of ['p1', 'p2']) {
        const dup = keyRecord({ alias: 'shared', projectId });
        await assert.rejects(s.insertKey(dup, versionOf(dup)), DuplicateAliasError);
        assert.equal(await s.getKey(projectId, dup.id), null);
        assert.equal(await s.getVersion(dup.id, 1), null, 'the version of a refused key is not stored');
      }
      const elsewhere = keyRecord({ alias: 'shared', domainId: 'd2', projectId: 'p3' });
      await s.insertKey(elsewhere, versionOf(elsewhere));
      assert.deepEqual(await s.getKey('p3', elsewhere.id), elsewhere);
      assert.equal(await s.countKeys('p1'), 1);
    });

    it('updateKey with the current revision writes the key and bumps the revision', async () => {
      const s = await fresh();
      const k = keyRecord({ revision: 0 });
      await s.insertKey(k, versionOf(k));
      const next: KeyRecord = { ...k, alias: 'renamed', description: 'new', state: '3', rotationEnabled: true, lastRotationAt: T0 + 1, primaryRegion: 'r2' };
      assert.equal(await s.updateKey(next, 0), true);
      assert.deepEqual(await s.getKey('p1', k.id), { ...next, revision: 1 });
      assert.equal(await s.updateKey({ ...next, description: 'again', revision: 1 }, 1), true);
      assert.deepEqual(await s.getKey('p1', k.id), { ...next, description: 'again', revision: 2 });
    });

    it('the stored revision becomes expectedRevision + 1 whatever revision the record carries', async () => {
      const s = await fresh();
      const k = keyRecord({ revision: 5 });
      await s.insertKey(k, null);
      assert.equal(await s.updateKey({ ...k, revision: 99 }, 5), true);
      assert.equal((await s.getKey('p1', k.id))!.revision, 6);
    });

    it('updateKey with a stale revision returns false and changes nothing', async () => {
      const s = await fresh();
      const k = keyRecord({ revision: 3 });
      await s.insertKey(k, null);
      for (const stale of [2, 4, 0]) {
        assert.equal(await s.updateKey({ ...k, description: 'lost update' }, stale), false);
      }
      assert.deepEqual(await s.getKey('p1', k.id), k);
      assert.equal(await s.updateKey(keyRecord(), 0), false, 'a key that does not exist');
    });

    it('updateKey into a duplicate alias throws DuplicateAliasError and changes nothing', async () => {
      const s = await fresh();
      const a = keyRecord({ alias: 'a' });
      const b = keyRecord({ alias: 'b' });
      await s.insertKey(a, null);
      await s.insertKey(b, null);
      await assert.rejects(s.updateKey({ ...b, alias: 'a', description: 'x' }, 0), DuplicateAliasError);
      assert.deepEqual(await s.getKey('p1', b.id), b);
      // the same alias in another domain is fine
      const c = keyRecord({ alias: 'c', domainId: 'd2' });
      await s.insertKey(c, null);
      assert.equal(await s.updateKey({ ...c, alias: 'a' }, 0), true);
    });

    it('listKeys: creation order, filters, offset, limit and total', async () => {
      const s = await fresh();
      const mk = (createdAt: number, id: string, state: KeyRecord['state'], spec: KeyRecord['spec']): KeyRecord =>
        keyRecord({ id, createdAt, state, spec });
      // inserted out of order; ties on createdAt are ordered by id
      const k = [
        mk(T0 + 3, '00000000-0000-4000-8000-000000000005', '2', 'AES_256'),
        mk(T0 + 1, '00000000-0000-4000-8000-000000000002', '3', 'SM4'),
        mk(T0 + 1, '00000000-0000-4000-8000-000000000001', '2', 'AES_256'),
        mk(T0 + 2, '00000000-0000-4000-8000-000000000004', '2', 'SM4'),
        mk(T0 + 0, '00000000-0000-4000-8000-000000000009', '4', 'AES_256'),
      ];
      for (const key of k) await s.insertKey(key, null);
      await s.insertKey(keyRecord({ projectId: 'p2', createdAt: T0 - 1 }), null);
      const ids = (page: { keys: KeyRecord[] }) => page.keys.map((x) => x.id.slice(-1));

      const all = await s.listKeys('p1', {}, 0, 100);
      assert.deepEqual(ids(all), ['9', '1', '2', '4', '5']);
      assert.equal(all.total, 5);
      assert.deepEqual(all.keys[1], k[2]);

      assert.deepEqual(ids(await s.listKeys('p1', {}, 1, 2)), ['1', '2']);
      assert.equal((await s.listKeys('p1', {}, 1, 2)).total, 5);
      assert.deepEqual(ids(await s.listKeys('p1', {}, 4, 2)), ['5']);
      const beyond = await s.listKeys('p1', {}, 10, 2);
      assert.deepEqual(beyond.keys, []);
      assert.equal(beyond.total, 5);

      const enabled = await s.listKeys('p1', { state: '2' }, 0, 100);
      assert.deepEqual(ids(enabled), ['1', '4', '5']);
      assert.equal(enabled.total, 3);
      const sm4 = await s.listKeys('p1', { spec: 'SM4' }, 0, 1);
      assert.deepEqual(ids(sm4), ['2']);
      assert.equal(sm4.total, 2);
      const both = await s.listKeys('p1', { state: '2', spec: 'AES_256' }, 1, 10);
      assert.deepEqual(ids(both), ['5']);
      assert.equal(both.total, 2);
      const none = await s.listKeys('p1', { state: '5' }, 0, 10);
      assert.deepEqual(none, { keys: [], total: 0 });

      // Newest first, paged from the newest end by the position of the previous page's oldest key.
      const first = await s.listNewestKeys('p1', {}, undefined, 2);
      assert.deepEqual([ids(first), first.total, first.start], [['5', '4'], 5, 3]);
      const second = await s.listNewestKeys('p1', {}, first.start, 2);
      assert.deepEqual([ids(second), second.start], [['2', '1'], 1]);
      const last = await s.listNewestKeys('p1', {}, second.start, 2);
      assert.deepEqual([ids(last), last.start], [['9'], 0]);
      assert.deepEqual(ids(await s.listNewestKeys('p1', {}, 99, 10)), ['5', '4', '2', '1', '9'], 'a position past the end is the end');
      assert.deepEqual(ids(await s.listNewestKeys('p1', {}, 0, 10)), []);
      const newestEnabled = await s.listNewestKeys('p1', { state: '2', spec: 'AES_256' }, undefined, 10);
      assert.deepEqual([ids(newestEnabled), newestEnabled.total], [['5', '1'], 2]);

      const other = await s.listKeys('p2', {}, 0, 100);
      assert.equal(other.total, 1);
      assert.equal(other.keys[0]!.projectId, 'p2');
      assert.deepEqual(await s.listKeys('p9', {}, 0, 100), { keys: [], total: 0 });
    });

    it('countKeys counts the keys of one project', async () => {
      const s = await fresh();
      assert.equal(await s.countKeys('p1'), 0);
      for (let i = 0; i < 3; i++) await s.insertKey(keyRecord(), null);
      await s.insertKey(keyRecord({ projectId: 'p2' }), null);
      assert.equal(await s.countKeys('p1'), 3);
      assert.equal(await s.countKeys('p2'), 1);
      assert.equal(await s.countKeys('p3'), 0);
      // deletes, rolled-back inserts, and the data reopened
      const gone = keyRecord();
      await s.insertKey(gone, null);
      await s.deleteKey(gone.id);
      await assert.rejects(s.transaction(async (tx) => {
        await tx.insertKey(keyRecord(), null);
        throw new Error('roll back');
      }));
      assert.equal(await s.countKeys('p1'), 3);
      await s.close();
      const again = await fresh(s);
      assert.equal(await again.countKeys('p1'), 3);
      assert.equal(await again.countKeys('p2'), 1);
    });

    it('deleteKey removes the key and its versions, leaves other keys, and frees the alias', async () => {
      const s = await fresh();
      const k = keyRecord({ alias: 'doomed' });
      const keep = keyRecord();
      await s.insertKey(k, versionOf(k));
      await s.insertKey(keep, versionOf(keep));
      await s.deleteKey(k.id);
      assert.equal(await s.getKey('p1', k.id), null);
      assert.equal(await s.getVersion(k.id, 1), null);
      assert.deepEqual(await s.getKey('p1', keep.id), keep);
      assert.notEqual(await s.getVersion(keep.id, 1), null);
      assert.equal(await s.countKeys('p1'), 1);
      const again = keyRecord({ alias: 'doomed' });
      await s.insertKey(again, null);
      await s.deleteKey(randomUUID()); // deleting a missing key is not an error
    });

    it('keysDueForDeletion returns only state-4 keys whose deletion date is at or before now', async () => {
      const s = await fresh();
      const now = T0 + 30 * DAY;
      const past = keyRecord({ state: '4', deletionDate: now - 1, projectId: 'p1' });
      const exact = keyRecord({ state: '4', deletionDate: now, projectId: 'p2' });
      const future = keyRecord({ state: '4', deletionDate: now + 1 });
      const disabledPast = keyRecord({ state: '3', deletionDate: now - DAY });
      const enabled = keyRecord({ state: '2' });
      for (const key of [past, exact, future, disabledPast, enabled]) await s.insertKey(key, null);
      const due = await s.keysDueForDeletion(now);
      assert.deepEqual(due.map((x) => x.id).sort(), [past.id, exact.id].sort());
      assert.deepEqual(due.find((x) => x.id === past.id), past);
      assert.deepEqual(await s.keysDueForDeletion(now - DAY), []);
      assert.equal((await s.keysDueForDeletion(now + 1)).length, 3);
    });

    it('transaction commits all writes and returns the value of fn', async () => {
      const s = await fresh();
      const existing = keyRecord();
      await s.insertKey(existing, null);
      const a = keyRecord();
      const b = keyRecord();
      const result = await s.transaction(async (tx) => {
        await tx.insertKey(a, versionOf(a));
        assert.deepEqual(await tx.getKey('p1', a.id), a, 'a transaction sees its own writes');
        await tx.insertKey(b, null);
        assert.equal(await tx.updateKey({ ...existing, description: 'in tx' }, 0), true);
        return 42;
      });
      assert.equal(result, 42);
      assert.deepEqual(await s.getKey('p1', a.id), a);
      assert.deepEqual(await s.getKey('p1', b.id), b);
      assert.notEqual(await s.getVersion(a.id, 1), null);
      assert.deepEqual(await s.getKey('p1', existing.id), { ...existing, description: 'in tx', revision: 1 });
    });

    it('transaction writes nothing when fn throws, and rethrows the error', async () => {
      const s = await fresh();
      const existing = keyRecord();
      const doomed = keyRecord({ alias: 'held' });
      await s.insertKey(existing, null);
      const boom = new Error('boom');
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.insertKey(doomed, versionOf(doomed));
          assert.equal(await tx.updateKey({ ...existing, description: 'rolled back' }, 0), true);
          await tx.deleteKey(existing.id);
          await sleep(5);
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.equal(await s.getKey('p1', doomed.id), null);
      assert.equal(await s.getVersion(doomed.id, 1), null);
      assert.deepEqual(await s.getKey('p1', existing.id), existing);
      assert.equal(await s.countKeys('p1'), 1);
      // the alias the rolled-back insert used is free, and the store still works
      await s.insertKey(keyRecord({ alias: 'held' }), null);
      assert.equal(await s.countKeys('p1'), 2);
    });

    it('a DuplicateAliasError inside a transaction rolls back the earlier writes of that transaction', async () => {
      const s = await fresh();
      await s.insertKey(keyRecord({ alias: 'taken' }), null);
      const first = keyRecord();
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.insertKey(first, null);
          await tx.insertKey(keyRecord({ alias: 'taken' }), null);
        }),
        DuplicateAliasError,
      );
      assert.equal(await s.getKey('p1', first.id), null);
      assert.equal(await s.countKeys('p1'), 1);
    });

    it('a read issued while a transaction is pending does not see its uncommitted writes', async () => {
      const s = await fresh();
      const k = keyRecord();
      let inside!: () => void;
      const entered = new Promise<void>((resolve) => (inside = resolve));
      const tx = s.transaction(async (t) => {
        await t.insertKey(k, null);
        inside();
        await sleep(20);
        throw new Error('abort');
      });
      await entered;
      const seen = await s.getKey('p1', k.id);
      await assert.rejects(tx, /abort/);
      assert.equal(seen, null);
      assert.equal(await s.getKey('p1', k.id), null);
    });

    it('concurrent updates from two callers with the same revision: exactly one wins', async () => {
      const s = await fresh();
      const k = keyRecord({ revision: 2 });
      await s.insertKey(k, null);
      const results = await Promise.all([
        s.updateKey({ ...k, description: 'writer A' }, 2),
        s.updateKey({ ...k, description: 'writer B' }, 2),
      ]);
      assert.deepEqual([...results].sort(), [false, true]);
      const stored = (await s.getKey('p1', k.id))!;
      assert.equal(stored.revision, 3);
      assert.equal(stored.description, results[0] ? 'writer A' : 'writer B');
    });

    it('concurrent read-modify-write transactions from the same stale copy: exactly one wins', async () => {
      const s = await fresh();
      const k = keyRecord({ revision: 0 });
      await s.insertKey(k, null);
      const copy = (await s.getKey('p1', k.id))!;
      const writer = (who: string) =>
        s.transaction(async (tx) => {
          await sleep(5);
          return tx.updateKey({ ...copy, description: who }, copy.revision);
        });
      const results = await Promise.all([writer('A'), writer('B'), writer('C')]);
      assert.equal(results.filter(Boolean).length, 1);
      const stored = (await s.getKey('p1', k.id))!;
      assert.equal(stored.revision, 1);
      assert.equal(stored.description, ['A', 'B', 'C'][results.indexOf(true)]);
    });

    it('data survives close and reopen', async () => {
      const s = await fresh();
      const k = keyRecord({ state: '4', deletionDate: T0 });
      const v = versionOf(k);
      await s.insertKey(k, v);
      assert.equal(await s.updateKey({ ...k, description: 'after update' }, 0), true);
      await s.close();
      const reopened = await fresh(s);
      assert.deepEqual(await reopened.getKey('p1', k.id), { ...k, description: 'after update', revision: 1 });
      assert.deepEqual(await reopened.getVersion(k.id, 1), v);
      assert.equal(await reopened.countKeys('p1'), 1);
      assert.equal((await reopened.keysDueForDeletion(T0)).length, 1);
      await assert.rejects(reopened.insertKey(keyRecord({ alias: k.alias }), null), DuplicateAliasError);
    });

    it('cross-region fields round-trip; unconfirmed replicas are never listed', async () => {
      const s = await fresh();
      const primary = keyRecord({ replicas: [{ region: 'cn-south-1', projectId: 'q1' }], handoverTo: 'cn-south-1', term: 2 });
      const pending = keyRecord({ primaryRegion: 'cn-east-3', pendingAttempt: 'attempt-1' });
      await s.insertKey(primary, versionOf(primary));
      await s.insertKey(pending, versionOf(pending));
      assert.deepEqual(await s.getKey('p1', primary.id), primary);
      assert.deepEqual(await s.getKeyById(pending.id), pending);
      assert.equal(await s.getKeyById(randomUUID()), null);
      const page = await s.listKeys('p1', {}, 0, 10);
      assert.deepEqual(page.keys.map((k) => k.id), [primary.id]);
      assert.equal(page.total, 1);
    });

    it('insertVersion adds a version once; versionNumbers lists them in order', async () => {
      const s = await fresh();
      const k = keyRecord();
      await s.insertKey(k, versionOf(k));
      const v3 = versionOf(k, 3);
      assert.equal(await s.insertVersion(v3), true);
      assert.equal(await s.insertVersion({ ...v3, wrapped: randomBytes(61) }), false);
      assert.deepEqual(await s.getVersion(k.id, 3), v3);
      assert.equal(await s.insertVersion(versionOf(k, 2)), true);
      assert.deepEqual(await s.versionNumbers(k.id), [1, 2, 3]);
      await s.deleteKey(k.id);
      assert.deepEqual(await s.versionNumbers(k.id), []);
    });

    it('keysDueForRotation: enabled primaries whose interval has passed, not replicas or handovers', async () => {
      const s = await fresh();
      const due = keyRecord({ rotationEnabled: true, rotationIntervalDays: 30, createdAt: T0 });
      const rotatedLately = keyRecord({ rotationEnabled: true, rotationIntervalDays: 30, createdAt: T0, lastRotationAt: T0 + 20 * DAY });
      const off = keyRecord({ rotationEnabled: false, createdAt: T0 });
      const replica = keyRecord({ rotationEnabled: true, rotationIntervalDays: 30, primaryRegion: 'cn-south-1' });
      const handing = keyRecord({ rotationEnabled: true, rotationIntervalDays: 30, handoverTo: 'cn-south-1' });
      for (const k of [due, rotatedLately, off, replica, handing]) await s.insertKey(k, versionOf(k));
      assert.deepEqual((await s.keysDueForRotation(T0 + 30 * DAY)).map((k) => k.id), [due.id]);
      assert.deepEqual((await s.keysDueForRotation(T0 + 30 * DAY - 1)).map((k) => k.id), []);
      assert.deepEqual((await s.keysDueForRotation(T0 + 50 * DAY)).map((k) => k.id).sort(), [due.id, rotatedLately.id].sort());
    });

    it('outbox: due messages oldest first, retries move them later, completion removes them, a rollback drops them', async () => {
      const s = await fresh();
      await s.enqueue({ target: 'cn-south-1', kind: 'sync', keyId: 'k1', payload: { a: 1 }, nextAttemptAt: T0 });
      await s.enqueue({ target: 'cn-east-3', kind: 'commit', keyId: 'k2', payload: {}, nextAttemptAt: T0 + 10 });
      const enqueuedBy = Date.now();
      let due = await s.dueMessages(T0 + 10, 10);
      assert.deepEqual(due.map((m) => [m.target, m.kind, m.keyId, m.attempts]), [['cn-south-1', 'sync', 'k1', 0], ['cn-east-3', 'commit', 'k2', 0]]);
      assert.ok(due.every((m) => m.createdAt > enqueuedBy - 60_000 && m.createdAt <= enqueuedBy), 'createdAt is the enqueue time');
      const stats = await s.outboxStats();
      assert.deepEqual(stats.map((x) => [x.target, x.messages]), [['cn-east-3', 1], ['cn-south-1', 1]]);
      assert.equal(stats[1]!.oldestCreatedAt, due[0]!.createdAt);
      assert.deepEqual(due[0]!.payload, { a: 1 });
      assert.equal((await s.dueMessages(T0, 10)).length, 1);
      await s.retryMessage(due[0]!.id, T0 + 100, 'unreachable');
      due = await s.dueMessages(T0 + 10, 10);
      assert.deepEqual(due.map((m) => m.keyId), ['k2']);
      const later = await s.dueMessages(T0 + 100, 10);
      assert.deepEqual(later.map((m) => [m.keyId, m.attempts, m.lastError]), [['k1', 1, 'unreachable'], ['k2', 0, null]]);
      await s.completeMessage(later[1]!.id);
      assert.deepEqual((await s.dueMessages(T0 + 100, 10)).map((m) => m.keyId), ['k1']);
      await assert.rejects(s.transaction(async (tx) => {
        await tx.enqueue({ target: 'x', kind: 'sync', keyId: 'k3', payload: {}, nextAttemptAt: T0 });
        throw new Error('roll back');
      }));
      assert.deepEqual((await s.dueMessages(T0 + 100, 10)).map((m) => m.keyId), ['k1']);
      assert.deepEqual((await s.outboxStats()).map((x) => [x.target, x.messages]), [['cn-south-1', 1]], 'delivered and rolled-back messages are not counted');
    });

    it('settings keep the first value stored', async () => {
      const s = await fresh();
      assert.equal(await s.getSetting('transport'), null);
      assert.deepEqual(await s.putSettingIfAbsent('transport', Buffer.from('one')), Buffer.from('one'));
      assert.deepEqual(await s.putSettingIfAbsent('transport', Buffer.from('two')), Buffer.from('one'));
    });

    it('settings are replaced only from the value expected (compare and set), and deleted the same way', async () => {
      const s = await fresh();
      assert.equal(await s.replaceSetting('m', Buffer.from('x'), Buffer.from('y')), false, 'nothing stored: no replacement');
      assert.equal(await s.replaceSetting('m', null, Buffer.from('one')), true);
      assert.equal(await s.replaceSetting('m', null, Buffer.from('two')), false, 'already there');
      assert.equal(await s.replaceSetting('m', Buffer.from('two'), Buffer.from('three')), false, 'not the value expected');
      assert.deepEqual(await s.getSetting('m'), Buffer.from('one'));
      assert.equal(await s.replaceSetting('m', Buffer.from('one'), Buffer.from('three')), true);
      assert.deepEqual(await s.getSetting('m'), Buffer.from('three'));
      assert.equal(await s.replaceSetting('m', Buffer.from('one'), null), false);
      assert.equal(await s.replaceSetting('m', Buffer.from('three'), null), true);
      assert.equal(await s.getSetting('m'), null);
      assert.equal(await s.replaceSetting('m', null, null), true, 'absent as expected');
    });

    it('wrapped blobs are listed in order, counted, and replaced only from the blob expected (root key rotation)', async () => {
      const s = await fresh();
      const keys = [keyRecord(), keyRecord(), keyRecord()].sort((a, b) => (a.id < b.id ? -1 : 1));
      for (const k of keys) {
        await s.insertKey(k, versionOf(k, 1));
        await s.insertVersion(versionOf(k, 2));
      }
      assert.equal(await s.countVersions(), 6);
      const page1 = await s.listVersionBlobs(null, 4);
      const page2 = await s.listVersionBlobs({ keyId: page1[3]!.keyId, version: page1[3]!.version }, 4);
      assert.deepEqual([...page1, ...page2].map((b) => `${b.keyId}/${b.version}`), keys.flatMap((k) => [`${k.id}/1`, `${k.id}/2`]));
      const first = page1[0]!;
      assert.deepEqual(first.wrapped, (await s.getVersion(first.keyId, 1))!.wrapped);
      const rewrapped = randomBytes(60);
      assert.equal(await s.replaceVersionBlob(first.keyId, 1, randomBytes(60), rewrapped), false, 'another blob than expected');
      assert.equal(await s.replaceVersionBlob(first.keyId, 1, first.wrapped, rewrapped), true);
      assert.deepEqual((await s.getVersion(first.keyId, 1))!.wrapped, rewrapped);
      assert.deepEqual((await s.getVersion(first.keyId, 2))!.wrapped, page1[1]!.wrapped, 'the other version is untouched');
      assert.equal(await s.replaceVersionBlob(first.keyId, 9, rewrapped, randomBytes(60)), false, 'no such version');

      const ext = keyRecord({ origin: 'external', state: '5', currentVersion: 0 });
      await s.insertKey(ext, null);
      const params = { keyId: ext.id, tokenId: 'aa', wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKey: randomBytes(80), expiresAt: T0 + DAY };
      await s.putImportParameters(params);
      assert.deepEqual(await s.listImportParameters(), [params]);
      const newWrapping = randomBytes(80);
      assert.equal(await s.replaceImportWrappingKey(ext.id, randomBytes(80), newWrapping), false);
      assert.equal(await s.replaceImportWrappingKey(ext.id, params.wrappingKey, newWrapping), true);
      assert.deepEqual((await s.getImportParameters(ext.id))!.wrappingKey, newWrapping);
    });

    it('import parameters: put, get, a new put replaces the old, delete; another key is untouched', async () => {
      const s = await fresh();
      const k = keyRecord({ origin: 'external', state: '5', currentVersion: 0 });
      const other = keyRecord({ origin: 'external', state: '5', currentVersion: 0 });
      await s.insertKey(k, null);
      await s.insertKey(other, null);
      assert.equal(await s.getImportParameters(k.id), null);
      const first = { keyId: k.id, tokenId: 'aa', wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKey: randomBytes(80), expiresAt: T0 + DAY };
      await s.putImportParameters(first);
      const got = await s.getImportParameters(k.id);
      assert.deepEqual(got, first);
      assert.ok(Buffer.isBuffer(got!.wrappingKey));
      const second = { ...first, tokenId: 'bb', wrappingAlgorithm: 'SM2_ENCRYPT', wrappingKey: randomBytes(70), expiresAt: T0 + 2 * DAY };
      await s.putImportParameters(second);
      assert.deepEqual(await s.getImportParameters(k.id), second);
      const otherParams = { ...first, keyId: other.id, tokenId: 'cc' };
      await s.putImportParameters(otherParams);
      await s.deleteImportParameters(k.id);
      assert.equal(await s.getImportParameters(k.id), null);
      assert.deepEqual(await s.getImportParameters(other.id), otherParams);
      await s.deleteImportParameters(k.id); // deleting none is not an error
    });

    it('import parameters: deleteExpiredImportParameters removes those expired at or before now; deleteKey removes them too', async () => {
      const s = await fresh();
      const keys = [keyRecord({ state: '5' }), keyRecord({ state: '5' }), keyRecord({ state: '5' })];
      for (const k of keys) await s.insertKey(k, null);
      const at = [T0 - 1, T0, T0 + 1];
      for (let i = 0; i < 3; i++) {
        await s.putImportParameters({ keyId: keys[i]!.id, tokenId: `t${i}`, wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKey: randomBytes(8), expiresAt: at[i]! });
      }
      assert.equal(await s.deleteExpiredImportParameters(T0), 2);
      assert.equal(await s.getImportParameters(keys[0]!.id), null);
      assert.equal(await s.getImportParameters(keys[1]!.id), null);
      assert.notEqual(await s.getImportParameters(keys[2]!.id), null);
      assert.equal(await s.deleteExpiredImportParameters(T0), 0);
      await s.deleteKey(keys[2]!.id);
      assert.equal(await s.getImportParameters(keys[2]!.id), null);
    });

    it('import parameters written in a rolled-back transaction are not stored; a delete there is undone', async () => {
      const s = await fresh();
      const k = keyRecord({ state: '5' });
      await s.insertKey(k, null);
      const params = { keyId: k.id, tokenId: 'a', wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKey: randomBytes(8), expiresAt: T0 };
      await assert.rejects(s.transaction(async (tx) => {
        await tx.putImportParameters(params);
        throw new Error('roll back');
      }));
      assert.equal(await s.getImportParameters(k.id), null);
      await s.putImportParameters(params);
      await assert.rejects(s.transaction(async (tx) => {
        await tx.deleteImportParameters(k.id);
        await tx.deleteVersions(k.id);
        throw new Error('roll back');
      }));
      assert.deepEqual(await s.getImportParameters(k.id), params);
    });

    it('deleteVersions removes every version of one key and keeps the key and the other keys\' versions', async () => {
      const s = await fresh();
      const k = keyRecord();
      const keep = keyRecord();
      await s.insertKey(k, versionOf(k));
      await s.insertVersion(versionOf(k, 2));
      await s.insertKey(keep, versionOf(keep));
      await s.deleteVersions(k.id);
      assert.deepEqual(await s.versionNumbers(k.id), []);
      assert.equal(await s.getVersion(k.id, 1), null);
      assert.deepEqual(await s.getKey('p1', k.id), k);
      assert.deepEqual(await s.versionNumbers(keep.id), [1]);
      const v1 = versionOf(k);
      assert.equal(await s.insertVersion(v1), true, 'version 1 can be stored again');
      assert.deepEqual(await s.getVersion(k.id, 1), v1);
      await s.deleteVersions(randomUUID()); // a key without versions is not an error
    });

    it('keysWithExpiredMaterial: states 2 and 3 whose material expires at or before now; not 4 or 5, not unset, not unconfirmed replicas', async () => {
      const s = await fresh();
      const now = T0 + 10 * DAY;
      const past = keyRecord({ origin: 'external', materialExpiresAt: now - 1 });
      const exact = keyRecord({ origin: 'external', state: '3', materialExpiresAt: now, projectId: 'p2' });
      const future = keyRecord({ origin: 'external', materialExpiresAt: now + 1 });
      const never = keyRecord({ origin: 'external', materialExpiresAt: null });
      const pendingDeletion = keyRecord({ origin: 'external', state: '4', deletionDate: now + DAY, materialExpiresAt: now - 1 });
      const pendingImport = keyRecord({ origin: 'external', state: '5', currentVersion: 0, materialExpiresAt: now - 1 });
      const unconfirmed = keyRecord({ origin: 'external', materialExpiresAt: now - 1, primaryRegion: 'cn-south-1', pendingAttempt: 'a1' });
      for (const k of [past, exact, future, never, pendingDeletion, pendingImport, unconfirmed]) await s.insertKey(k, null);
      const due = await s.keysWithExpiredMaterial(now);
      assert.deepEqual(due.map((k) => k.id).sort(), [past.id, exact.id].sort());
      assert.deepEqual(due.find((k) => k.id === exact.id), exact);
      assert.deepEqual(await s.keysWithExpiredMaterial(now - DAY), []);
      assert.equal((await s.keysWithExpiredMaterial(now + 1)).length, 3);
    });

    it('tags: set, replace a value, remove by tag key, per key by tag key; projectTags leaves out other projects and unconfirmed replicas; they go with the key', async () => {
      const s = await fresh();
      const a = keyRecord();
      const b = keyRecord();
      const other = keyRecord({ projectId: 'p2' });
      const unconfirmed = keyRecord({ primaryRegion: 'cn-south-1', pendingAttempt: 'a1' });
      for (const k of [a, b, other, unconfirmed]) await s.insertKey(k, null);
      await s.changeTags(a.id, [{ key: 'team', value: 't1' }, { key: 'env', value: 'dev' }], []);
      await s.changeTags(a.id, [{ key: 'env', value: 'prod' }], ['absent']);
      await s.changeTags(b.id, [{ key: 'env', value: '' }], []);
      await s.changeTags(other.id, [{ key: 'env', value: 'x' }], []);
      await s.changeTags(unconfirmed.id, [{ key: 'env', value: 'y' }], []);
      assert.deepEqual(await s.getTags(a.id), [{ key: 'env', value: 'prod' }, { key: 'team', value: 't1' }]);
      await s.changeTags(a.id, [], ['team']);
      assert.deepEqual(await s.getTags(a.id), [{ key: 'env', value: 'prod' }]);
      const tags = await s.projectTags('p1');
      assert.deepEqual(tags.map((t) => `${t.keyId === a.id ? 'a' : t.keyId === b.id ? 'b' : '?'}:${t.key}=${t.value}`).sort(), ['a:env=prod', 'b:env=']);
      await s.deleteKey(a.id);
      assert.deepEqual(await s.getTags(a.id), []);
      // In a transaction that fails, no tag change lands.
      await assert.rejects(s.transaction(async (tx) => {
        await tx.changeTags(b.id, [{ key: 'later', value: '1' }], []);
        throw new Error('abort');
      }));
      assert.deepEqual(await s.getTags(b.id), [{ key: 'env', value: '' }]);
    });

    it('aliases: unique in the account (DuplicateAliasError), listed by project and key in name order after a marker, moved, deleted, gone with the key', async () => {
      const s = await fresh();
      const k1 = keyRecord();
      const k2 = keyRecord();
      const inP2 = keyRecord({ projectId: 'p2' });
      for (const k of [k1, k2, inP2]) await s.insertKey(k, null);
      const alias = (name: string, keyId: string, domainId = 'd1') => ({ domainId, alias: name, keyId, createdAt: T0, updatedAt: T0 });
      await s.insertAlias(alias('alias/b', k1.id));
      await s.insertAlias(alias('alias/a', k1.id));
      await s.insertAlias(alias('alias/c', k2.id));
      await s.insertAlias(alias('alias/p2', inP2.id));
      await assert.rejects(s.insertAlias(alias('alias/a', k2.id)), DuplicateAliasError);
      await s.insertAlias(alias('alias/a', k2.id, 'd2')); // another account may use the name
      assert.deepEqual(await s.getAlias('d1', 'alias/a'), alias('alias/a', k1.id));
      assert.equal(await s.getAlias('d1', 'alias/none'), null);
      assert.deepEqual((await s.listAliases('p1', undefined, '', 10)).map((a) => a.alias), ['alias/a', 'alias/a', 'alias/b', 'alias/c']);
      assert.deepEqual((await s.listAliases('p1', k1.id, '', 10)).map((a) => a.alias), ['alias/a', 'alias/b']);
      assert.deepEqual((await s.listAliases('p1', undefined, 'alias/a', 2)).map((a) => a.alias), ['alias/b', 'alias/c']);
      assert.equal(await s.countAliases(k1.id), 2);
      assert.equal(await s.moveAlias('d1', 'alias/b', k2.id, T0 + 5), true);
      assert.equal(await s.moveAlias('d1', 'alias/none', k2.id, T0 + 5), false);
      assert.deepEqual(await s.getAlias('d1', 'alias/b'), { ...alias('alias/b', k2.id), updatedAt: T0 + 5 });
      await s.deleteAliases('d1', ['alias/c', 'alias/none']);
      assert.equal(await s.getAlias('d1', 'alias/c'), null);
      await s.deleteKey(k1.id);
      assert.equal(await s.getAlias('d1', 'alias/a'), null);
      assert.equal(await s.countAliases(k2.id), 2, 'alias/b (moved) and d2\'s alias/a');
    });

    it('leases: taken when free, renewed by their holder, refused to others until they lapse, given up by their holder only', async () => {
      const s = await fresh();
      assert.equal(await s.acquireLease('job:x', 'a', T0, T0 + 1000), true);
      assert.equal(await s.acquireLease('job:x', 'b', T0 + 10, T0 + 1010), false, 'held by a');
      assert.equal(await s.acquireLease('job:x', 'a', T0 + 500, T0 + 1500), true, 'a renews');
      assert.equal(await s.acquireLease('job:x', 'b', T0 + 1200, T0 + 2200), false, 'the renewal holds until T0 + 1500');
      assert.equal(await s.acquireLease('job:y', 'b', T0, T0 + 1000), true, 'another lease is independent');
      await s.releaseLease('job:x', 'b');
      assert.equal(await s.acquireLease('job:x', 'b', T0 + 1200, T0 + 2200), false, 'only the holder gives it up');
      assert.equal(await s.acquireLease('job:x', 'b', T0 + 1500, T0 + 2500), true, 'lapsed: b takes it');
      assert.equal(await s.acquireLease('job:x', 'a', T0 + 1600, T0 + 2600), false);
      await s.releaseLease('job:x', 'b');
      assert.equal(await s.acquireLease('job:x', 'a', T0 + 1600, T0 + 2600), true, 'released: free again');
    });

    it('grants: stored whole, listed per key oldest first with a total, by retiring principal, by grantee (user or account), counted, deleted, gone with the key', async () => {
      const s = await fresh();
      const k1 = keyRecord();
      const k2 = keyRecord();
      const unconfirmed = keyRecord({ primaryRegion: 'cn-south-1', pendingAttempt: 'a1' });
      for (const k of [k1, k2, unconfirmed]) await s.insertKey(k, null);
      const grant = (keyId: string, over: Partial<GrantRecord> = {}): GrantRecord => ({
        id: randomBytes(32).toString('hex'), keyId, name: 'g', grantee: 'u1', granteeType: 'user', operations: ['encrypt-data', 'describe-key'],
        issuer: 'admin', retiringPrincipal: '', createdAt: T0, ...over,
      });
      const g1 = grant(k1.id, { createdAt: T0 + 1, retiringPrincipal: 'r1' });
      const g2 = grant(k1.id, { createdAt: T0 + 2, grantee: 'd9', granteeType: 'domain' });
      const g3 = grant(k1.id, { createdAt: T0 + 3, grantee: 'u2' });
      const g4 = grant(k2.id, { createdAt: T0 + 4, retiringPrincipal: 'r1' });
      const hidden = grant(unconfirmed.id, { retiringPrincipal: 'r1' });
      for (const g of [g3, g1, g4, g2, hidden]) await s.insertGrant(g);
      assert.deepEqual(await s.getGrant(g1.id), g1);
      assert.equal(await s.getGrant('0'.repeat(64)), null);
      assert.deepEqual(await s.listGrants(k1.id, 0, 2), { grants: [g1, g2], total: 3 });
      assert.deepEqual(await s.listGrants(k1.id, 2, 2), { grants: [g3], total: 3 });
      assert.deepEqual(await s.listRetirableGrants('r1', 0, 10), { grants: [g1, g4], total: 2 });
      assert.deepEqual((await s.grantsFor(k1.id, 'u1', 'd1')).map((g) => g.id), [g1.id]);
      assert.deepEqual((await s.grantsFor(k1.id, 'u7', 'd9')).map((g) => g.id), [g2.id], 'a domain grant holds for every user of that account');
      assert.deepEqual(await s.grantsFor(k2.id, 'u2', 'd1'), []);
      assert.equal(await s.countGrants(k1.id), 3);
      assert.equal(await s.maxGrantsPerKey('p1'), 3);
      assert.equal(await s.maxGrantsPerKey('p2'), 0);
      await s.deleteGrant(g3.id);
      assert.equal(await s.countGrants(k1.id), 2);
      await s.deleteKey(k1.id);
      assert.equal(await s.getGrant(g1.id), null);
      assert.deepEqual(await s.listRetirableGrants('r1', 0, 10), { grants: [g4], total: 1 });
    });

    it('exportSnapshot / importSnapshot: every table (keys, versions, tags, aliases, grants, outbox, settings, import parameters, audit trail) into an empty store, counters and sequences going on after it; a store with data refuses one and is unchanged', async () => {
      const s = await fresh();
      const k1 = keyRecord({ projectId: 'p1' });
      const k2 = keyRecord({ projectId: 'p1', spec: 'RSA_2048', publicKey: randomBytes(40) });
      await s.insertKey(k1, versionOf(k1));
      await s.insertVersion(versionOf(k1, 2));
      await s.insertKey(k2, versionOf(k2));
      await s.changeTags(k1.id, [{ key: 'team', value: 'ünï' }], []);
      await s.insertAlias({ domainId: 'd1', alias: 'alias/a1', keyId: k1.id, createdAt: T0, updatedAt: T0 });
      await s.insertGrant({ id: randomBytes(32).toString('hex'), keyId: k1.id, name: 'g', grantee: 'u1', granteeType: 'user', operations: ['encrypt-data'], issuer: 'i', retiringPrincipal: '', createdAt: T0 });
      await s.enqueue({ target: 'cn-south-1', kind: 'sync', keyId: k1.id, payload: { a: 1 }, nextAttemptAt: T0 });
      await s.putSettingIfAbsent('transport_key', randomBytes(80));
      await s.putImportParameters({ keyId: k2.id, tokenId: 'ab', wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKey: randomBytes(50), expiresAt: T0 + DAY });
      const key = randomBytes(32);
      const entry = (operation: string): AuditEntry => ({
        time: new Date(T0).toISOString(), request_id: randomBytes(8).toString('hex'), service: 'kms', region: 'cn-north-4', caller: null,
        source_ip: '127.0.0.1', operation, action: null, key_ids: [k1.id], status: 200, error_code: null, duration_ms: 1,
      });
      const sealer = (e: AuditEntry, seq: number, prev: string) => seal(key, e, seq, prev);
      await s.appendAudit([entry('Pending')], [entry('One'), entry('Two')], sealer);
      await s.acquireLease('job', 'node-a', T0, T0 + DAY);

      const snapshot = await s.exportSnapshot();
      assert.equal(typeof snapshot.schemaVersion, 'number');
      const names = snapshot.tables.map((t) => t.name);
      for (const t of ['keys', 'key_versions', 'key_tags', 'key_aliases', 'grants', 'outbox', 'settings', 'import_parameters', 'audit_records', 'audit_record_keys', 'audit_pending', 'project_key_counts']) {
        assert.ok(names.includes(t), t);
      }
      assert.ok(!names.includes('leases') && !names.includes('schema_migrations'));
      assert.ok(names.indexOf('keys') < names.indexOf('key_versions'), 'parents first');
      // Through JSON, as a backup file carries it.
      const carried = JSON.parse(JSON.stringify(snapshot)) as StoreSnapshot;

      const t = await fresh();
      await t.importSnapshot(carried);
      assert.deepEqual(snapshotContent(await t.exportSnapshot()), snapshotContent(snapshot));
      assert.deepEqual(await t.getKey('p1', k2.id), k2);
      assert.deepEqual(await t.getVersion(k1.id, 2), { ...versionOf(k1, 2), wrapped: (await s.getVersion(k1.id, 2))!.wrapped });
      assert.equal(await t.countKeys('p1'), 2, 'the key count came with the keys, once');
      const k3 = keyRecord({ projectId: 'p1' });
      await t.insertKey(k3, null);
      assert.equal(await t.countKeys('p1'), 3, 'and the trigger counts again after the load');
      await t.enqueue({ target: 'cn-south-1', kind: 'sync', keyId: k3.id, payload: {}, nextAttemptAt: T0 });
      const ids = (await t.dueMessages(T0 + 1, 10)).map((m) => m.id);
      assert.equal(ids.length, 2);
      assert.ok(ids[1]! > ids[0]!, 'new outbox messages are numbered after the loaded ones');
      await t.appendAudit([], [entry('Three')], sealer);
      const records = await t.auditRecords({ limit: 10 });
      assert.deepEqual(records.map((r) => r.seq), [1, 2, 3]);
      assert.equal(records[2]!.prev_mac, records[1]!.mac, 'the chain goes on from the loaded head');
      assert.deepEqual((await t.pendingAudit()).map((e) => e.operation), ['Pending']);
      assert.equal(await t.acquireLease('job', 'node-b', T0 + 1, T0 + 2), true, 'leases are not restored');

      const before = snapshotContent(await t.exportSnapshot());
      await assert.rejects(t.importSnapshot(carried), SnapshotLoadError);
      assert.deepEqual(snapshotContent(await t.exportSnapshot()), before, 'a refused load changes nothing');
      const newer = { ...carried, schemaVersion: carried.schemaVersion + 1 };
      await assert.rejects((await fresh()).importSnapshot(newer), /newer than this Strongroom knows/);
      const alien = { ...carried, tables: [...carried.tables, { name: 'no_such_table', columns: ['x'], rows: [] }] };
      await assert.rejects((await fresh()).importSnapshot(alien), /no_such_table/);
    });

    it('keystores: one per HSM cluster, aliases unique in the account, listed oldest first with a total, state and PIN set, keys counted, deleted', async () => {
      const s = await fresh();
      const keystore = (over: Partial<KeystoreRecord> = {}): KeystoreRecord => ({
        id: randomUUID(), domainId: 'd1', alias: 'ks-a', type: 'DHSM', hsmClusterId: 'hsm-a', hsmCaCert: '', state: '2', createdAt: T0, pinHash: null, ...over,
      });
      const a = keystore({ hsmCaCert: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----' });
      const b = keystore({ alias: 'ks-b', hsmClusterId: 'hsm-b', createdAt: T0 + 1 });
      const other = keystore({ domainId: 'd2', hsmClusterId: 'hsm-c' }); // another account may use the alias
      for (const k of [b, a, other]) await s.insertKeystore(k);
      await assert.rejects(s.insertKeystore(keystore({ hsmClusterId: 'hsm-d' })), DuplicateKeystoreError, 'alias taken in d1');
      await assert.rejects(s.insertKeystore(keystore({ alias: 'ks-z', hsmClusterId: 'hsm-a', domainId: 'd3' })), DuplicateKeystoreError, 'cluster taken');
      assert.deepEqual(await s.getKeystore('d1', a.id), a);
      assert.equal(await s.getKeystore('d2', a.id), null, 'another account does not see it');
      assert.deepEqual(await s.keystoreOfCluster('hsm-c'), other);
      assert.equal(await s.keystoreOfCluster('hsm-none'), null);
      assert.deepEqual(await s.listKeystores('d1', 0, 10), { keystores: [a, b], total: 2 });
      assert.deepEqual(await s.listKeystores('d1', 1, 10), { keystores: [b], total: 2 });
      assert.deepEqual(await s.listKeystores('d9', 0, 10), { keystores: [], total: 0 });
      assert.equal(await s.setKeystoreState(a.id, '3'), true);
      assert.equal(await s.setKeystorePin(a.id, 'ab'.repeat(32)), true);
      assert.deepEqual(await s.getKeystore('d1', a.id), { ...a, state: '3', pinHash: 'ab'.repeat(32) });
      assert.equal(await s.setKeystoreState(randomUUID(), '3'), false);
      assert.equal(await s.setKeystorePin(randomUUID(), 'x'), false);
      await s.insertKey(keyRecord({ keystoreId: a.id }), null);
      await s.insertKey(keyRecord({ keystoreId: a.id, state: '4', deletionDate: T0 }), null);
      await s.insertKey(keyRecord(), null);
      assert.equal(await s.countKeystoreKeys(a.id), 2);
      assert.equal(await s.countKeystoreKeys(b.id), 0);
      assert.equal(await s.countKeystoreKeys('0'), 0, 'the default keystore is not a dedicated one');
      const inTx = await s.transaction(async (tx) => (await tx.deleteKeystore(b.id)) && (await tx.getKeystore('d1', b.id)) === null);
      assert.equal(inTx, true);
      assert.equal(await s.deleteKeystore(b.id), false);
      assert.deepEqual(await s.listKeystores('d1', 0, 10), { keystores: [{ ...a, state: '3', pinHash: 'ab'.repeat(32) }], total: 1 });
      await s.insertKeystore(keystore({ alias: 'ks-b', hsmClusterId: 'hsm-b' })); // alias and cluster free again
    });

    it('access points: round-trip, by public key, listed by key space in id order after a marker, state, delete, wrapped keys compare-and-set', async () => {
      const s = await fresh();
      const ks = randomUUID();
      const ap = (id: string, over: Partial<AccessPointRecord> = {}): AccessPointRecord => ({
        id, projectId: 'p1', keyspaceId: ks, name: 'ap-' + id.slice(0, 4), type: 3, state: 1, identity: '', clusterId: '', description: 'ünï "d"',
        createdBy: 'u1', createdAt: T0, updatedAt: T0, publicKey: randomBytes(91), wrappedPrivateKey: randomBytes(120), ...over,
      });
      const a = ap('00000000-0000-4000-8000-00000000000a');
      const b = ap('00000000-0000-4000-8000-00000000000b', { type: 1, identity: 'ecs-1', publicKey: null, wrappedPrivateKey: null });
      const c = ap('00000000-0000-4000-8000-00000000000c', { type: 2, identity: 'cluster-pub', clusterId: 'cl-1', publicKey: null, wrappedPrivateKey: null });
      const elsewhere = ap('00000000-0000-4000-8000-00000000000d', { keyspaceId: randomUUID() });
      const otherProject = ap('00000000-0000-4000-8000-00000000000e', { projectId: 'p2' });
      for (const x of [c, a, elsewhere, b, otherProject]) await s.insertAccessPoint(x);
      assert.deepEqual(await s.getAccessPoint('p1', a.id), a);
      assert.deepEqual(await s.getAccessPoint('p1', b.id), b);
      assert.equal(await s.getAccessPoint('p2', a.id), null);
      assert.deepEqual(await s.accessPointByPublicKey('p1', a.publicKey!), a);
      assert.equal(await s.accessPointByPublicKey('p2', a.publicKey!), null);
      assert.equal(await s.accessPointByPublicKey('p1', randomBytes(91)), null);
      assert.deepEqual((await s.listAccessPoints('p1', ks, '', 2)).map((x) => x.id), [a.id, b.id]);
      assert.deepEqual((await s.listAccessPoints('p1', ks, b.id, 2)).map((x) => x.id), [c.id]);
      assert.equal(await s.setAccessPointState('p1', a.id, 0, T0 + 5), true);
      assert.equal(await s.setAccessPointState('p2', b.id, 0, T0 + 5), false);
      assert.deepEqual(await s.getAccessPoint('p1', a.id), { ...a, state: 0, updatedAt: T0 + 5 });
      const keys = await s.listAccessPointKeys();
      assert.deepEqual(keys.filter((k) => k.id === a.id), [{ id: a.id, wrapped: a.wrappedPrivateKey }]);
      assert.equal(keys.some((k) => k.id === b.id), false, 'ECS access points hold no private key');
      const rewrapped = randomBytes(120);
      assert.equal(await s.replaceAccessPointKey(a.id, randomBytes(120), rewrapped), false, 'a stale expected blob changes nothing');
      assert.equal(await s.replaceAccessPointKey(a.id, a.wrappedPrivateKey!, rewrapped), true);
      assert.deepEqual((await s.getAccessPoint('p1', a.id))!.wrappedPrivateKey, rewrapped);
      assert.equal(await s.deleteAccessPoint('p2', a.id), false);
      assert.equal(await s.deleteAccessPoint('p1', a.id), true);
      assert.equal(await s.getAccessPoint('p1', a.id), null);
      assert.equal(await s.deleteAccessPoint('p1', a.id), false);
    });

    it('key policies: round-trip, listed by key space after a marker, update (description kept when undefined), touch, delete; transactions roll back', async () => {
      const s = await fresh();
      const ks = randomUUID();
      const kp = (id: string, over: Partial<KeyPolicyRecord> = {}): KeyPolicyRecord => ({
        id, projectId: 'p1', keyspaceId: ks, name: 'policy', document: '{"version":"1.0"}', description: 'd', createdBy: 'u1', createdAt: T0, updatedAt: T0,
        lastAccessAt: null, ...over,
      });
      const a = kp('00000000-0000-4000-8000-00000000000a');
      const b = kp('00000000-0000-4000-8000-00000000000b', { lastAccessAt: T0 + 1 });
      const other = kp('00000000-0000-4000-8000-00000000000c', { keyspaceId: randomUUID() });
      for (const x of [b, other, a]) await s.insertKeyPolicy(x);
      assert.deepEqual(await s.getKeyPolicy('p1', a.id), a);
      assert.deepEqual(await s.getKeyPolicy('p1', b.id), b);
      assert.equal(await s.getKeyPolicy('p2', a.id), null);
      assert.deepEqual((await s.listKeyPolicies('p1', ks, '', 10)).map((x) => x.id), [a.id, b.id]);
      assert.deepEqual((await s.listKeyPolicies('p1', ks, a.id, 10)).map((x) => x.id), [b.id]);
      assert.equal(await s.updateKeyPolicy('p1', a.id, '{"version":"2.0"}', undefined, T0 + 9), true);
      assert.deepEqual(await s.getKeyPolicy('p1', a.id), { ...a, document: '{"version":"2.0"}', updatedAt: T0 + 9 });
      assert.equal(await s.updateKeyPolicy('p1', a.id, '{"version":"3.0"}', 'new', T0 + 10), true);
      assert.equal((await s.getKeyPolicy('p1', a.id))!.description, 'new');
      assert.equal(await s.updateKeyPolicy('p2', a.id, '{}', 'x', T0), false);
      await s.touchKeyPolicy(a.id, T0 + 11);
      assert.equal((await s.getKeyPolicy('p1', a.id))!.lastAccessAt, T0 + 11);
      await assert.rejects(s.transaction(async (tx) => {
        await tx.deleteKeyPolicy('p1', b.id);
        throw new Error('roll back');
      }), /roll back/);
      assert.deepEqual(await s.getKeyPolicy('p1', b.id), b, 'a rolled-back delete leaves the policy');
      assert.equal(await s.deleteKeyPolicy('p1', b.id), true);
      assert.equal(await s.deleteKeyPolicy('p1', b.id), false);
      assert.equal(await s.getKeyPolicy('p1', b.id), null);
    });
  });
}

