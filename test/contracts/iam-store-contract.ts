/**
 * The contract every IAM store (src/storage/iam-store.ts) passes: `iamStoreContract(name, make)` declares its tests
 * for one implementation; test/storage-contract.test.ts runs it on SQLite, test/iam-store-postgres.test.ts on
 * PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { AccessKeyRecord, Domain, IamStore, Project, User } from '../../src/storage/iam-store.js';
import { SnapshotLoadError, type StoreSnapshot } from '../../src/storage/snapshot.js';
import { snapshotContent } from './kms-store-contract.js';

const T0 = Date.UTC(2024, 0, 1);

// -----------------------------------------------------------------------------------------------------------------
// IAM store
// -----------------------------------------------------------------------------------------------------------------

export type MakeIamStore = (reopen?: IamStore) => Promise<IamStore>;

export function iamStoreContract(name: string, make: MakeIamStore): void {
  describe(`IamStore contract: ${name}`, () => {
    const stores: IamStore[] = [];
    const fresh = async (reopen?: IamStore): Promise<IamStore> => {
      const s = await make(reopen);
      stores.push(s);
      return s;
    };
    after(async () => {
      for (const s of stores) await s.close().catch(() => undefined);
    });

    const domain = (id: string, name: string, createdAt = T0): Domain => ({ id, name, createdAt });
    const user = (id: string, domainId: string, name: string, enabled = true): User => ({
      id, domainId, name, passwordHash: 'scrypt$' + id, enabled, createdAt: T0, description: '', email: '', updatedAt: T0, domainOwner: false, tokensNotBefore: 0,
    });
    const project = (id: string, domainId: string, name: string, createdAt = T0): Project => ({ id, domainId, name, region: 'cn-north-4', createdAt });
    const ak = (accessKey: string, userId: string, expiresAt: number | null): AccessKeyRecord => ({
      accessKey, userId, secretWrapped: randomBytes(45), securityTokenHash: expiresAt === null ? null : 'ab'.repeat(32), expiresAt, createdAt: T0, enabled: true,
      sourceTokenId: expiresAt === null ? null : 'token-' + accessKey, projectId: expiresAt === null ? null : 'p-' + accessKey, description: '',
    });

    it('domains: insert, get, find by name, list; id and name are unique', async () => {
      const s = await fresh();
      assert.equal(await s.insertDomain(domain('d2', 'beta', T0 + 1)), true);
      assert.equal(await s.insertDomain(domain('d1', 'alpha', T0)), true);
      assert.deepEqual(await s.getDomain('d1'), domain('d1', 'alpha', T0));
      assert.deepEqual(await s.findDomainByName('beta'), domain('d2', 'beta', T0 + 1));
      assert.equal(await s.getDomain('d3'), null);
      assert.equal(await s.findDomainByName('gamma'), null);
      assert.equal(await s.insertDomain(domain('d1', 'other')), false, 'duplicate id');
      assert.equal(await s.insertDomain(domain('d3', 'alpha')), false, 'duplicate name');
      assert.deepEqual(await s.listDomains(), [domain('d1', 'alpha', T0), domain('d2', 'beta', T0 + 1)]);
    });

    it('users: insert, get, find within a domain; names are unique per domain', async () => {
      const s = await fresh();
      await s.insertDomain(domain('d1', 'alpha'));
      await s.insertDomain(domain('d2', 'beta'));
      const u1 = user('u1', 'd1', 'alice');
      const u2 = user('u2', 'd2', 'alice', false);
      assert.equal(await s.insertUser(u1), true);
      assert.equal(await s.insertUser(u2), true, 'the same name in another domain');
      assert.deepEqual(await s.getUser('u1'), u1);
      assert.deepEqual(await s.getUser('u2'), u2);
      assert.deepEqual(await s.findUser('d1', 'alice'), u1);
      assert.deepEqual(await s.findUser('d2', 'alice'), u2);
      assert.equal(await s.findUser('d1', 'bob'), null);
      assert.equal(await s.getUser('u3'), null);
      assert.equal(await s.insertUser(user('u3', 'd1', 'alice')), false, 'duplicate name in the domain');
      assert.equal(await s.insertUser(user('u1', 'd1', 'carol')), false, 'duplicate id');
      assert.equal(await s.getUser('u3'), null);
    });

    it('users: a new password or a disable sets tokensNotBefore to the update time; other changes and enabling leave it', async () => {
      const s = await fresh();
      await s.insertDomain(domain('d1', 'alpha'));
      const u = user('u1', 'd1', 'alice');
      await s.insertUser(u);
      await s.updateUser({ ...u, description: 'renamed', updatedAt: T0 + 1 });
      assert.equal((await s.getUser('u1'))!.tokensNotBefore, 0);
      await s.updateUser({ ...u, passwordHash: 'scrypt$new', updatedAt: T0 + 2 });
      assert.equal((await s.getUser('u1'))!.tokensNotBefore, T0 + 2);
      await s.updateUser({ ...u, passwordHash: 'scrypt$new', enabled: false, updatedAt: T0 + 3 });
      assert.equal((await s.getUser('u1'))!.tokensNotBefore, T0 + 3);
      await s.updateUser({ ...u, passwordHash: 'scrypt$new', enabled: true, updatedAt: T0 + 4 });
      assert.equal((await s.getUser('u1'))!.tokensNotBefore, T0 + 3, 'enabling again does not make old tokens valid');
    });

    it('projects: insert, get, list by domain and name; names are unique per domain', async () => {
      const s = await fresh();
      await s.insertDomain(domain('d1', 'alpha'));
      await s.insertDomain(domain('d2', 'beta'));
      const p2 = project('p2', 'd1', 'cn-north-4_b', T0 + 2);
      const p1 = project('p1', 'd1', 'cn-north-4', T0 + 1);
      const p3 = project('p3', 'd2', 'cn-north-4', T0);
      for (const p of [p2, p1, p3]) assert.equal(await s.insertProject(p), true);
      assert.deepEqual(await s.getProject('p1'), p1);
      assert.equal(await s.getProject('p9'), null);
      assert.deepEqual(await s.listProjects('d1'), [p1, p2]);
      assert.deepEqual(await s.listProjects('d1', 'cn-north-4'), [p1]);
      assert.deepEqual(await s.listProjects('d2'), [p3]);
      assert.deepEqual(await s.listProjects('d1', 'nope'), []);
      assert.equal(await s.insertProject(project('p4', 'd1', 'cn-north-4')), false, 'duplicate name in the domain');
      assert.equal(await s.insertProject(project('p1', 'd2', 'other')), false, 'duplicate id');
    });

    it('access keys: insert, get, uniqueness, and deleteExpiredAccessKeys removes only expired temporary keys', async () => {
      const s = await fresh();
      await s.insertDomain(domain('d1', 'alpha'));
      await s.insertUser(user('u1', 'd1', 'alice'));
      const permanent = ak('AK_PERMANENT', 'u1', null);
      const expired = ak('AK_EXPIRED', 'u1', T0 + 10);
      const live = ak('AK_LIVE', 'u1', T0 + 1000);
      for (const k of [permanent, expired, live]) assert.equal(await s.insertAccessKey(k), true);
      assert.deepEqual(await s.getAccessKey('AK_PERMANENT'), permanent);
      assert.deepEqual(await s.getAccessKey('AK_LIVE'), live);
      assert.equal(await s.getAccessKey('AK_NONE'), null);
      assert.equal(await s.insertAccessKey(ak('AK_LIVE', 'u1', null)), false);
      assert.deepEqual(await s.getAccessKey('AK_LIVE'), live, 'the refused insert changed nothing');
      assert.equal(await s.countTemporaryAccessKeys('u1', T0 + 5), 2, 'two temporary keys unexpired at T0+5');
      assert.equal(await s.countTemporaryAccessKeys('u1', T0 + 500), 1, 'one at T0+500; the permanent key never counts');
      assert.equal(await s.countTemporaryAccessKeys('u2', T0), 0);
      await s.deleteExpiredAccessKeys(T0 + 500);
      assert.equal(await s.getAccessKey('AK_EXPIRED'), null);
      assert.deepEqual(await s.getAccessKey('AK_PERMANENT'), permanent);
      assert.deepEqual(await s.getAccessKey('AK_LIVE'), live);
    });

    it('revocations: isRevoked, an increasing sequence, and revokedSince excludes earlier and expired entries', async () => {
      const s = await fresh();
      const now = T0 + 1000;
      assert.equal(await s.latestRevocationSeq(), 0);
      assert.deepEqual(await s.revokedSince(0, now), []);
      await s.revokeToken('t-live-1', now + 60_000);
      await s.revokeToken('t-expired', now - 1);
      await s.revokeToken('t-live-2', now + 120_000);
      assert.equal(await s.isRevoked('t-live-1'), true);
      assert.equal(await s.isRevoked('t-expired'), true);
      assert.equal(await s.isRevoked('t-other'), false);

      const all = await s.revokedSince(0, now);
      assert.deepEqual(all.map((r) => r.tokenId), ['t-live-1', 't-live-2']);
      assert.deepEqual(all.map((r) => r.expiresAt), [now + 60_000, now + 120_000]);
      assert.ok(all[0]!.seq > 0 && all[1]!.seq > all[0]!.seq, 'sequence numbers increase');
      const latest = await s.latestRevocationSeq();
      assert.ok(latest >= all[1]!.seq);

      assert.deepEqual((await s.revokedSince(all[0]!.seq, now)).map((r) => r.tokenId), ['t-live-2']);
      assert.deepEqual(await s.revokedSince(latest, now), []);
      // later on, the first token has expired too
      assert.deepEqual((await s.revokedSince(0, now + 90_000)).map((r) => r.tokenId), ['t-live-2']);

      await s.revokeToken('t-live-3', now + 1);
      const after3 = await s.revokedSince(latest, now);
      assert.deepEqual(after3.map((r) => r.tokenId), ['t-live-3']);
      assert.equal(await s.latestRevocationSeq(), after3[0]!.seq);

      await s.revokeToken('t-live-1', now + 60_000); // revoking twice is harmless
      assert.equal((await s.revokedSince(0, now)).filter((r) => r.tokenId === 't-live-1').length, 1);
    });

    it('settings: putSettingIfAbsent keeps the first value', async () => {
      const s = await fresh();
      assert.equal(await s.getSetting('jwt-key'), null);
      const first = randomBytes(32);
      assert.deepEqual(await s.putSettingIfAbsent('jwt-key', first), first);
      assert.deepEqual(await s.putSettingIfAbsent('jwt-key', randomBytes(32)), first);
      assert.deepEqual(await s.getSetting('jwt-key'), first);
      assert.deepEqual(await s.putSettingIfAbsent('other', Buffer.from('x')), Buffer.from('x'));
    });

    it('login failures and locks: counted after a time, capped by a lock, forgotten on success, a new password, re-enabling, deletion; kept across reopen', async () => {
      const s = await fresh();
      await s.insertDomain(domain('d1', 'alpha'));
      const alice = user('u1', 'd1', 'alice');
      await s.insertUser(alice);
      await s.insertUser(user('u2', 'd1', 'bob'));
      assert.deepEqual(await s.loginState('u1', 0), { failures: 0, lockedUntil: null });
      assert.equal(await s.addLoginFailure('u1', T0 + 10, T0 - 1000), 1);
      assert.equal(await s.addLoginFailure('u1', T0 + 20, T0 - 1000), 2);
      assert.equal(await s.addLoginFailure('u2', T0 + 20, T0 - 1000), 1, 'per user');
      assert.deepEqual(await s.loginState('u1', T0), { failures: 2, lockedUntil: null });
      assert.deepEqual(await s.loginState('u1', T0 + 10), { failures: 1, lockedUntil: null }, 'only failures after `since`');
      assert.equal(await s.addLoginFailure('u1', T0 + 30, T0 + 10), 2, 'failures at or before `since` are forgotten');
      assert.deepEqual(await s.loginState('u1', 0), { failures: 2, lockedUntil: null });

      await s.lockLogin('u1', T0 + 5000);
      assert.deepEqual(await s.loginState('u1', 0), { failures: 0, lockedUntil: T0 + 5000 }, 'a lock forgets the failures');
      await s.lockLogin('u1', T0 + 9000);
      assert.deepEqual(await s.loginState('u1', 0), { failures: 0, lockedUntil: T0 + 9000 }, 'locking again moves the end');
      await s.close();
      const again = await fresh(s);
      assert.deepEqual(await again.loginState('u1', 0), { failures: 0, lockedUntil: T0 + 9000 }, 'kept across reopen');

      await again.addLoginFailure('u1', T0 + 40, 0);
      await again.clearLoginFailures('u1');
      assert.deepEqual(await again.loginState('u1', 0), { failures: 0, lockedUntil: null }, 'a success forgets failures and lock');

      // An administrator's new password, or re-enabling the user, forgets them too; a change of anything else does not.
      const lockAgain = async () => {
        await again.addLoginFailure('u1', T0 + 50, 0);
        await again.lockLogin('u1', T0 + 9000);
        await again.addLoginFailure('u1', T0 + 60, 0);
      };
      await lockAgain();
      assert.equal(await again.updateUser({ ...alice, description: 'changed' }), true);
      assert.deepEqual(await again.loginState('u1', 0), { failures: 1, lockedUntil: T0 + 9000 });
      assert.equal(await again.updateUser({ ...alice, passwordHash: 'scrypt$new' }), true);
      assert.deepEqual(await again.loginState('u1', 0), { failures: 0, lockedUntil: null }, 'a new password');
      await lockAgain();
      await again.updateUser({ ...alice, passwordHash: 'scrypt$new', enabled: false });
      assert.deepEqual(await again.loginState('u1', 0), { failures: 1, lockedUntil: T0 + 9000 }, 'disabling keeps them');
      await again.updateUser({ ...alice, passwordHash: 'scrypt$new', enabled: true });
      assert.deepEqual(await again.loginState('u1', 0), { failures: 0, lockedUntil: null }, 're-enabling');
      await lockAgain();
      await again.deleteUser('u1');
      assert.deepEqual(await again.loginState('u1', 0), { failures: 0, lockedUntil: null }, 'deleted with the user');
      assert.deepEqual(await again.loginState('u2', 0), { failures: 1, lockedUntil: null }, 'another user untouched');
    });

    it('data survives close and reopen', async () => {
      const s = await fresh();
      await s.insertDomain(domain('d1', 'alpha'));
      await s.insertUser(user('u1', 'd1', 'alice'));
      await s.revokeToken('t1', T0 + 10);
      const value = randomBytes(8);
      await s.putSettingIfAbsent('k', value);
      await s.close();
      const again = await fresh(s);
      assert.deepEqual(await again.getDomain('d1'), domain('d1', 'alpha'));
      assert.deepEqual(await again.findUser('d1', 'alice'), user('u1', 'd1', 'alice'));
      assert.equal(await again.isRevoked('t1'), true);
      assert.deepEqual(await again.putSettingIfAbsent('k', randomBytes(8)), value);
      assert.equal(await again.insertDomain(domain('d9', 'alpha')), false);
    });

    it('exportSnapshot / importSnapshot: accounts, users, projects, groups, grants, access keys, revocations and the change feed into an empty store; feeds go on numbering after it; a store with data refuses one', async () => {
      const s = await fresh();
      await s.insertDomain(domain('d1', 'alpha'));
      await s.insertUser(user('u1', 'd1', 'alice'));
      await s.insertProject(project('p1', 'd1', 'cn-north-4'));
      await s.insertGroup({ id: 'g1', domainId: 'd1', name: 'admin', description: '', createdAt: T0, builtin: false });
      await s.addMember('g1', 'u1');
      await s.insertGrant({ groupId: 'g1', roleId: 'r1', scope: 'project', scopeId: 'p1' });
      await s.insertAccessKey(ak('AK1', 'u1', null));
      await s.revokeToken('t1', T0 + 10 ** 12);
      await s.putSettingIfAbsent('token_signing_key', randomBytes(64));
      const changes = await s.permissionChangesSince(0, 100);
      assert.ok(changes.length > 0);
      const snapshot = JSON.parse(JSON.stringify(await s.exportSnapshot())) as StoreSnapshot;

      const t = await fresh();
      await t.importSnapshot(snapshot);
      assert.deepEqual(snapshotContent(await t.exportSnapshot()), snapshotContent(snapshot), 'no trigger added rows while loading');
      assert.deepEqual(await t.getAccessKey('AK1'), await s.getAccessKey('AK1'));
      assert.deepEqual(await t.permissionChangesSince(0, 100), changes);
      await t.revokeToken('t2', T0 + 10 ** 12);
      assert.deepEqual((await t.revokedSince(0, T0)).map((r) => r.tokenId), ['t1', 't2']);
      await t.removeMember('g1', 'u1');
      const next = await t.permissionChangesSince(changes.at(-1)!.seq, 100);
      assert.equal(next.length, 1, 'the change feed numbers on after the loaded changes');

      await assert.rejects(t.importSnapshot(snapshot), SnapshotLoadError);
    });
  });
}

