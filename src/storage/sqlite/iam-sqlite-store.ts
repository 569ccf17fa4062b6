/**
 * The IAM store on SQLite: accounts (domains), users, user groups and members, projects, custom policies, grants,
 * access keys, revoked tokens, the permission-change feed, the audit trail and settings. Statements are prepared
 * once; a change made of several statements runs in one SQLite transaction.
 */
import type { AuditAnchor, AuditEntry, AuditQuery, AuditRecord, AuditSeal } from '../../audit/audit-store.js';
import type { AccessKeyRecord, CustomRole, Domain, Grant, Group, IamStore, LoginState, PermissionChange, Project, RevokedToken, User } from '../iam-store.js';
import { accessKey, domain, grant, group, project, role, user, type AccessKeyRow, type DomainRow, type GrantRow, type GroupRow, type PermissionChangeRow, type ProjectRow, type RevokedTokenRow, type RoleRow, type UserRow } from '../iam-rows.js';
import { SqliteAuditTables } from './audit-tables.js';
import { IAM_MIGRATIONS } from '../iam-migrations.js';
import { openDatabase, type Db } from './database.js';
import { exportSqliteSnapshot, importSqliteSnapshot } from './snapshot.js';
import type { StoreSnapshot } from '../snapshot.js';

function unique(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export class SqliteIamStore implements IamStore {
  readonly #db: Db;
  readonly #audit: SqliteAuditTables;
  readonly #s;

  constructor(path: string) {
    this.#db = openDatabase(path, IAM_MIGRATIONS);
    this.#audit = new SqliteAuditTables(this.#db);
    const p = (sql: string) => this.#db.prepare(sql);
    this.#s = {
      getDomain: p('SELECT * FROM domains WHERE id = ?'),
      domainByName: p('SELECT * FROM domains WHERE name = ?'),
      domains: p('SELECT * FROM domains ORDER BY created_at'),
      getUser: p('SELECT * FROM users WHERE id = ?'),
      userByName: p('SELECT * FROM users WHERE domain_id = ? AND name = ?'),
      users: p('SELECT * FROM users WHERE domain_id = ? ORDER BY created_at, id'),
      updateUser: p('UPDATE users SET name = ?, password_hash = ?, enabled = ?, description = ?, email = ?, updated_at = ? WHERE id = ?'),
      deleteUserKeys: p('DELETE FROM access_keys WHERE user_id = ?'),
      deleteUser: p('DELETE FROM users WHERE id = ?'),
      getGroup: p('SELECT * FROM user_groups WHERE id = ?'),
      groups: p('SELECT * FROM user_groups WHERE domain_id = ? ORDER BY created_at, id'),
      groupsByName: p('SELECT * FROM user_groups WHERE domain_id = ? AND name = ?'),
      updateGroup: p('UPDATE user_groups SET name = ?, description = ? WHERE id = ?'),
      deleteGroup: p('DELETE FROM user_groups WHERE id = ?'),
      addMember: p('INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)'),
      removeMember: p('DELETE FROM group_members WHERE group_id = ? AND user_id = ?'),
      isMember: p('SELECT 1 FROM group_members WHERE group_id = ? AND user_id = ?'),
      members: p('SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = ? ORDER BY u.created_at, u.id'),
      groupsOfUser: p('SELECT g.* FROM user_groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = ? ORDER BY g.created_at, g.id'),
      getProject: p('SELECT * FROM projects WHERE id = ?'),
      projects: p('SELECT * FROM projects WHERE domain_id = ? ORDER BY created_at, id'),
      projectsByName: p('SELECT * FROM projects WHERE domain_id = ? AND name = ? ORDER BY created_at, id'),
      countRoles: p('SELECT COUNT(*) AS n FROM custom_roles WHERE domain_id = ?'),
      insertRole: p('INSERT INTO custom_roles (id, domain_id, name, display_name, type, description, description_cn, policy, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      getRole: p('SELECT * FROM custom_roles WHERE id = ?'),
      roles: p('SELECT * FROM custom_roles WHERE domain_id = ? ORDER BY created_at, id'),
      updateRole: p('UPDATE custom_roles SET display_name = ?, type = ?, description = ?, description_cn = ?, policy = ?, updated_at = ? WHERE id = ?'),
      deleteRoleGrants: p('DELETE FROM grants WHERE role_id = ?'),
      deleteRole: p('DELETE FROM custom_roles WHERE id = ?'),
      countGrantsOfRole: p('SELECT COUNT(*) AS n FROM grants WHERE role_id = ?'),
      insertGrant: p('INSERT OR IGNORE INTO grants (group_id, role_id, scope, scope_id) VALUES (?, ?, ?, ?)'),
      deleteGrant: p('DELETE FROM grants WHERE group_id = ? AND role_id = ? AND scope = ? AND scope_id = ?'),
      hasGrant: p('SELECT 1 FROM grants WHERE group_id = ? AND role_id = ? AND scope = ? AND scope_id = ?'),
      grantsOfGroup: p('SELECT * FROM grants WHERE group_id = ?'),
      grantsOfDomain: p('SELECT gr.* FROM grants gr JOIN user_groups g ON g.id = gr.group_id WHERE g.domain_id = ? ORDER BY g.created_at, gr.role_id'),
      getKey: p('SELECT * FROM access_keys WHERE access_key = ?'),
      keysOfUser: p('SELECT * FROM access_keys WHERE user_id = ? AND security_token_hash IS NULL ORDER BY created_at, access_key'),
      updateKey: p('UPDATE access_keys SET enabled = ?, description = ? WHERE access_key = ?'),
      deleteKey: p('DELETE FROM access_keys WHERE access_key = ?'),
      countTemporaryKeys: p('SELECT count(*) AS n FROM access_keys WHERE user_id = ? AND security_token_hash IS NOT NULL AND expires_at >= ?'),
      deleteExpiredKeys: p('DELETE FROM access_keys WHERE expires_at IS NOT NULL AND expires_at < ?'),
      revoke: p('INSERT OR IGNORE INTO revoked_tokens (token_id, expires_at) VALUES (?, ?)'),
      isRevoked: p('SELECT 1 FROM revoked_tokens WHERE token_id = ?'),
      revokedSince: p('SELECT * FROM revoked_tokens WHERE seq > ? AND expires_at > ? ORDER BY seq'),
      latestRevocation: p('SELECT COALESCE(MAX(seq), 0) AS s FROM revoked_tokens'),
      recordChange: p('INSERT INTO permission_changes (domain_id, at) VALUES (?, ?)'),
      changesSince: p('SELECT seq, domain_id FROM permission_changes WHERE seq > ? ORDER BY seq LIMIT ?'),
      latestChange: p('SELECT COALESCE(MAX(seq), 0) AS s FROM permission_changes'),
      loginState: p(`SELECT (SELECT COUNT(*) FROM login_failures WHERE user_id = @user AND at > @since) AS failures,
        (SELECT locked_until FROM login_locks WHERE user_id = @user) AS locked_until`),
      forgetOldFailures: p('DELETE FROM login_failures WHERE user_id = ? AND at <= ?'),
      addFailure: p('INSERT INTO login_failures (user_id, at) VALUES (?, ?)'),
      countFailures: p('SELECT COUNT(*) AS n FROM login_failures WHERE user_id = ?'),
      clearFailures: p('DELETE FROM login_failures WHERE user_id = ?'),
      lock: p('INSERT INTO login_locks (user_id, locked_until) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET locked_until = excluded.locked_until'),
      unlock: p('DELETE FROM login_locks WHERE user_id = ?'),
      getSetting: p('SELECT value FROM settings WHERE name = ?'),
      putSetting: p('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)'),
    };
  }

  async insertDomain(d: Domain): Promise<boolean> {
    return this.#insert('INSERT INTO domains (id, name, created_at) VALUES (?, ?, ?)', d.id, d.name, d.createdAt);
  }
  async getDomain(id: string): Promise<Domain | null> {
    const r = this.#s.getDomain.get(id) as DomainRow | undefined;
    return r ? domain(r) : null;
  }
  async findDomainByName(name: string): Promise<Domain | null> {
    const r = this.#s.domainByName.get(name) as DomainRow | undefined;
    return r ? domain(r) : null;
  }
  async listDomains(): Promise<Domain[]> {
    return (this.#s.domains.all() as DomainRow[]).map(domain);
  }

  async insertUser(u: User): Promise<boolean> {
    return this.#insert(
      'INSERT INTO users (id, domain_id, name, password_hash, enabled, created_at, description, email, updated_at, domain_owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      u.id, u.domainId, u.name, u.passwordHash, u.enabled ? 1 : 0, u.createdAt, u.description, u.email, u.updatedAt, u.domainOwner ? 1 : 0,
    );
  }
  async getUser(id: string): Promise<User | null> {
    const r = this.#s.getUser.get(id) as UserRow | undefined;
    return r ? user(r) : null;
  }
  async findUser(domainId: string, name: string): Promise<User | null> {
    const r = this.#s.userByName.get(domainId, name) as UserRow | undefined;
    return r ? user(r) : null;
  }
  async listUsers(domainId: string, filter: { name?: string; enabled?: boolean }): Promise<User[]> {
    return (this.#s.users.all(domainId) as UserRow[]).map(user)
      .filter((u) => (filter.name === undefined || u.name === filter.name) && (filter.enabled === undefined || u.enabled === filter.enabled));
  }
  async updateUser(u: User): Promise<boolean> {
    return this.#unlessTaken(() => this.#s.updateUser.run(u.name, u.passwordHash, u.enabled ? 1 : 0, u.description, u.email, u.updatedAt, u.id));
  }
  async deleteUser(id: string): Promise<void> {
    this.#db.transaction(() => {
      this.#s.deleteUserKeys.run(id);
      this.#s.deleteUser.run(id);
    })();
  }

  async insertGroup(g: Group): Promise<boolean> {
    return this.#insert('INSERT INTO user_groups (id, domain_id, name, description, created_at, builtin) VALUES (?, ?, ?, ?, ?, ?)', g.id, g.domainId, g.name, g.description, g.createdAt, g.builtin ? 1 : 0);
  }
  async getGroup(id: string): Promise<Group | null> {
    const r = this.#s.getGroup.get(id) as GroupRow | undefined;
    return r ? group(r) : null;
  }
  async listGroups(domainId: string, name?: string): Promise<Group[]> {
    return ((name === undefined ? this.#s.groups.all(domainId) : this.#s.groupsByName.all(domainId, name)) as GroupRow[]).map(group);
  }
  async updateGroup(g: Group): Promise<boolean> {
    return this.#unlessTaken(() => this.#s.updateGroup.run(g.name, g.description, g.id));
  }
  async deleteGroup(id: string): Promise<void> {
    this.#s.deleteGroup.run(id); // members and grants cascade
  }
  async addMember(groupId: string, userId: string): Promise<boolean> {
    return this.#s.addMember.run(groupId, userId).changes > 0;
  }
  async removeMember(groupId: string, userId: string): Promise<boolean> {
    return this.#s.removeMember.run(groupId, userId).changes > 0;
  }
  async isMember(groupId: string, userId: string): Promise<boolean> {
    return this.#s.isMember.get(groupId, userId) !== undefined;
  }
  async listMembers(groupId: string): Promise<User[]> {
    return (this.#s.members.all(groupId) as UserRow[]).map(user);
  }
  async groupsOfUser(userId: string): Promise<Group[]> {
    return (this.#s.groupsOfUser.all(userId) as GroupRow[]).map(group);
  }

  async insertProject(p: Project): Promise<boolean> {
    return this.#insert('INSERT INTO projects (id, domain_id, name, region, created_at) VALUES (?, ?, ?, ?, ?)', p.id, p.domainId, p.name, p.region, p.createdAt);
  }
  async getProject(id: string): Promise<Project | null> {
    const r = this.#s.getProject.get(id) as ProjectRow | undefined;
    return r ? project(r) : null;
  }
  async listProjects(domainId: string, name?: string): Promise<Project[]> {
    return ((name === undefined ? this.#s.projects.all(domainId) : this.#s.projectsByName.all(domainId, name)) as ProjectRow[]).map(project);
  }

  async insertRole(r: Omit<CustomRole, 'name'>): Promise<CustomRole | null> {
    return this.#db.transaction(() => {
      let n = (this.#s.countRoles.get(r.domainId) as { n: number }).n;
      for (;;) {
        const name = `custom_${r.domainId}_${n}`;
        try {
          this.#s.insertRole.run(r.id, r.domainId, name, r.displayName, r.type, r.description, r.descriptionCn, r.policy, r.createdAt, r.updatedAt);
          return { ...r, name };
        } catch (err) {
          if (!unique(err)) throw err;
          if ((this.#s.getRole.get(r.id) as RoleRow | undefined) || this.#displayNameTaken(r.domainId, r.displayName)) return null;
          n++; // the internal name was taken: a policy was deleted and the count went down
        }
      }
    })();
  }
  async getRole(id: string): Promise<CustomRole | null> {
    const r = this.#s.getRole.get(id) as RoleRow | undefined;
    return r ? role(r) : null;
  }
  async listRoles(domainId: string): Promise<CustomRole[]> {
    return (this.#s.roles.all(domainId) as RoleRow[]).map(role);
  }
  async updateRole(r: CustomRole): Promise<boolean> {
    return this.#unlessTaken(() => this.#s.updateRole.run(r.displayName, r.type, r.description, r.descriptionCn, r.policy, r.updatedAt, r.id));
  }
  async deleteRole(id: string): Promise<void> {
    this.#db.transaction(() => {
      this.#s.deleteRoleGrants.run(id);
      this.#s.deleteRole.run(id);
    })();
  }
  async countGrantsOfRole(roleId: string): Promise<number> {
    return (this.#s.countGrantsOfRole.get(roleId) as { n: number }).n;
  }

  async insertGrant(g: Grant): Promise<boolean> {
    return this.#s.insertGrant.run(g.groupId, g.roleId, g.scope, g.scopeId).changes > 0;
  }
  async deleteGrant(g: Grant): Promise<boolean> {
    return this.#s.deleteGrant.run(g.groupId, g.roleId, g.scope, g.scopeId).changes > 0;
  }
  async hasGrant(g: Grant): Promise<boolean> {
    return this.#s.hasGrant.get(g.groupId, g.roleId, g.scope, g.scopeId) !== undefined;
  }
  async grantsOf(groupIds: readonly string[], scopes: readonly { scope: Grant['scope']; scopeId: string }[]): Promise<Grant[]> {
    const wanted = new Set(scopes.map((s) => `${s.scope}\0${s.scopeId}`));
    return groupIds.flatMap((id) => (this.#s.grantsOfGroup.all(id) as GrantRow[]).map(grant)).filter((g) => wanted.has(`${g.scope}\0${g.scopeId}`));
  }
  async grantsOfDomain(domainId: string): Promise<Grant[]> {
    return (this.#s.grantsOfDomain.all(domainId) as GrantRow[]).map(grant);
  }

  async insertAccessKey(k: AccessKeyRecord): Promise<boolean> {
    return this.#insert(
      'INSERT INTO access_keys (access_key, user_id, secret_wrapped, security_token_hash, expires_at, created_at, enabled, source_token_id, project_id, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      k.accessKey, k.userId, k.secretWrapped, k.securityTokenHash, k.expiresAt, k.createdAt, k.enabled ? 1 : 0, k.sourceTokenId, k.projectId, k.description,
    );
  }
  async getAccessKey(ak: string): Promise<AccessKeyRecord | null> {
    const r = this.#s.getKey.get(ak) as AccessKeyRow | undefined;
    return r ? accessKey(r) : null;
  }
  async listAccessKeys(userId: string): Promise<AccessKeyRecord[]> {
    return (this.#s.keysOfUser.all(userId) as AccessKeyRow[]).map(accessKey);
  }
  async updateAccessKey(ak: string, change: { enabled: boolean; description: string }): Promise<void> {
    this.#s.updateKey.run(change.enabled ? 1 : 0, change.description, ak);
  }
  async deleteAccessKey(ak: string): Promise<void> {
    this.#s.deleteKey.run(ak);
  }
  async deleteExpiredAccessKeys(now: number): Promise<void> {
    this.#s.deleteExpiredKeys.run(now);
  }
  async countTemporaryAccessKeys(userId: string, now: number): Promise<number> {
    return (this.#s.countTemporaryKeys.get(userId, now) as { n: number }).n;
  }

  async revokeToken(tokenId: string, expiresAt: number): Promise<void> {
    this.#s.revoke.run(tokenId, expiresAt);
  }
  async isRevoked(tokenId: string): Promise<boolean> {
    return this.#s.isRevoked.get(tokenId) !== undefined;
  }
  async revokedSince(seq: number, now: number): Promise<RevokedToken[]> {
    return (this.#s.revokedSince.all(seq, now) as RevokedTokenRow[])
      .map((r) => ({ seq: r.seq, tokenId: r.token_id, expiresAt: r.expires_at }));
  }
  async latestRevocationSeq(): Promise<number> {
    return (this.#s.latestRevocation.get() as { s: number }).s;
  }

  async recordPermissionChange(domainId: string): Promise<void> {
    this.#s.recordChange.run(domainId, Date.now());
  }
  async permissionChangesSince(seq: number, limit: number): Promise<PermissionChange[]> {
    return (this.#s.changesSince.all(seq, limit) as PermissionChangeRow[]).map((r) => ({ seq: r.seq, domainId: r.domain_id }));
  }
  async latestPermissionChangeSeq(): Promise<number> {
    return (this.#s.latestChange.get() as { s: number }).s;
  }

  async loginState(userId: string, since: number): Promise<LoginState> {
    const r = this.#s.loginState.get({ user: userId, since }) as { failures: number; locked_until: number | null };
    return { failures: r.failures, lockedUntil: r.locked_until };
  }
  async addLoginFailure(userId: string, at: number, since: number): Promise<number> {
    return this.#db.transaction(() => {
      this.#s.forgetOldFailures.run(userId, since);
      this.#s.addFailure.run(userId, at);
      return (this.#s.countFailures.get(userId) as { n: number }).n;
    })();
  }
  async lockLogin(userId: string, until: number): Promise<void> {
    this.#db.transaction(() => {
      this.#s.lock.run(userId, until);
      this.#s.clearFailures.run(userId);
    })();
  }
  async clearLoginFailures(userId: string): Promise<void> {
    this.#db.transaction(() => {
      this.#s.clearFailures.run(userId);
      this.#s.unlock.run(userId);
    })();
  }

  async getSetting(name: string): Promise<Buffer | null> {
    const r = this.#s.getSetting.get(name) as { value: Buffer } | undefined;
    return r ? r.value : null;
  }
  async putSettingIfAbsent(name: string, value: Buffer): Promise<Buffer> {
    this.#s.putSetting.run(name, value);
    return (await this.getSetting(name))!;
  }

  async appendAudit(pending: readonly AuditEntry[], records: readonly AuditEntry[], seal: AuditSeal): Promise<void> {
    this.#audit.append(pending, records, seal);
  }
  async pendingAudit(): Promise<AuditEntry[]> {
    return this.#audit.pending();
  }
  async auditRecords(query: AuditQuery): Promise<AuditRecord[]> {
    return this.#audit.records(query);
  }
  async auditAnchor(): Promise<AuditAnchor | null> {
    return this.#audit.anchor();
  }
  async pruneAudit(anchor: AuditAnchor): Promise<number> {
    return this.#audit.prune(anchor);
  }

  /** One read transaction (storage/sqlite/snapshot.ts). */
  async exportSnapshot(): Promise<StoreSnapshot> {
    return exportSqliteSnapshot(this.#db);
  }
  /** One write transaction; the store must be empty. */
  async importSnapshot(snapshot: StoreSnapshot): Promise<void> {
    importSqliteSnapshot(this.#db, snapshot, IAM_MIGRATIONS.length);
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  #displayNameTaken(domainId: string, displayName: string): boolean {
    return (this.#s.roles.all(domainId) as RoleRow[]).some((r) => r.display_name === displayName);
  }

  #insert(sql: string, ...args: unknown[]): boolean {
    return this.#unlessTaken(() => this.#db.prepare(sql).run(...args));
  }

  /** Runs a write; false when a unique name or id is already taken. */
  #unlessTaken(write: () => unknown): boolean {
    try {
      write();
      return true;
    } catch (err) {
      if (unique(err)) return false;
      throw err;
    }
  }
}
