/**
 * The IAM store on PostgreSQL, in a schema of its own (`iam`), shared by every IAM node: the same tables, triggers
 * and answers as the SQLite store (storage/sqlite/iam-sqlite-store.ts), statement by statement. A change made of
 * several statements runs in one SERIALIZABLE transaction (retried by PgDatabase on a serialization failure); text
 * is ordered with `COLLATE "C"`, bytewise like SQLite. The audit trail is PgAuditTables: one chain whichever node
 * appends, and pending entries closed by another node only once their node's liveness lease has lapsed.
 */
import { randomUUID } from 'node:crypto';
import type { AuditAnchor, AuditEntry, AuditQuery, AuditRecord, AuditSeal } from '../../audit/audit-store.js';
import { IAM_MIGRATIONS } from '../iam-migrations.js';
import {
  accessKey, domain, grant, group, project, role, user,
  type AccessKeyRow, type DomainRow, type GrantRow, type GroupRow, type PermissionChangeRow, type ProjectRow, type RevokedTokenRow, type RoleRow, type UserRow,
} from '../iam-rows.js';
import type { AccessKeyRecord, CustomRole, Domain, Grant, Group, IamStore, LoginState, PermissionChange, Project, RevokedToken, User } from '../iam-store.js';
import { PgAuditTables } from './audit-tables.js';
import { isUniqueViolation, PgDatabase } from './database.js';
import { NodeLiveness } from './node-liveness.js';
import { exportPgSnapshot, importPgSnapshot } from './snapshot.js';
import type { StoreSnapshot } from '../snapshot.js';

export interface PgIamStoreOptions {
  /** This process's node id, for its liveness lease and its pending audit entries (default: a random UUID). */
  nodeId?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Epoch ms, for the liveness lease and the takeover of pending audit entries (default Date.now). */
  clock?: () => number;
}

/**
 * IamStore on PostgreSQL (see the file's comment). Open with `PgIamStore.open`; answers exactly as SqliteIamStore
 * does. Errors other than a taken name or id (which make inserts and updates return false / null) reject with
 * node-postgres's error.
 */
export class PgIamStore implements IamStore {
  readonly #db: PgDatabase;
  readonly #audit: PgAuditTables;
  readonly #liveness: NodeLiveness;
  #closed = false;

  private constructor(db: PgDatabase, audit: PgAuditTables, liveness: NodeLiveness) {
    this.#db = db;
    this.#audit = audit;
    this.#liveness = liveness;
  }

  /**
   * Connects to the PostgreSQL database at `url`, creates and migrates `schema` (storage/iam-migrations.ts; once,
   * under an advisory lock, when several nodes start together) and takes this node's liveness lease. Rejects with
   * SchemaTooNewError (storage/migration.ts) when the schema was migrated by a newer Strongroom, changing nothing,
   * and with node-postgres's error when the server cannot be reached or refuses.
   */
  static async open(url: string, schema: string, options: PgIamStoreOptions = {}): Promise<PgIamStore> {
    const nodeId = options.nodeId ?? randomUUID();
    const clock = options.clock ?? Date.now;
    const db = await PgDatabase.open(url, schema, IAM_MIGRATIONS, { poolSize: options.poolSize });
    const liveness = new NodeLiveness(db, nodeId, clock);
    try {
      await liveness.start();
    } catch (err) {
      await liveness.stop();
      await db.close();
      throw err;
    }
    return new PgIamStore(db, new PgAuditTables(db, nodeId, clock), liveness);
  }

  async insertDomain(d: Domain): Promise<boolean> {
    return this.#insert('INSERT INTO domains (id, name, created_at) VALUES ($1, $2, $3)', [d.id, d.name, d.createdAt]);
  }
  async getDomain(id: string): Promise<Domain | null> {
    const [r] = await this.#db.rows<DomainRow>('SELECT * FROM domains WHERE id = $1', [id]);
    return r ? domain(r) : null;
  }
  async findDomainByName(name: string): Promise<Domain | null> {
    const [r] = await this.#db.rows<DomainRow>('SELECT * FROM domains WHERE name = $1', [name]);
    return r ? domain(r) : null;
  }
  async listDomains(): Promise<Domain[]> {
    return (await this.#db.rows<DomainRow>('SELECT * FROM domains ORDER BY created_at')).map(domain);
  }

  async insertUser(u: User): Promise<boolean> {
    return this.#insert(
      'INSERT INTO users (id, domain_id, name, password_hash, enabled, created_at, description, email, updated_at, domain_owner) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [u.id, u.domainId, u.name, u.passwordHash, u.enabled ? 1 : 0, u.createdAt, u.description, u.email, u.updatedAt, u.domainOwner ? 1 : 0],
    );
  }
  async getUser(id: string): Promise<User | null> {
    const [r] = await this.#db.rows<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return r ? user(r) : null;
  }
  async findUser(domainId: string, name: string): Promise<User | null> {
    const [r] = await this.#db.rows<UserRow>('SELECT * FROM users WHERE domain_id = $1 AND name = $2', [domainId, name]);
    return r ? user(r) : null;
  }
  async listUsers(domainId: string, filter: { name?: string; enabled?: boolean }): Promise<User[]> {
    return (await this.#db.rows<UserRow>('SELECT * FROM users WHERE domain_id = $1 ORDER BY created_at, id COLLATE "C"', [domainId])).map(user)
      .filter((u) => (filter.name === undefined || u.name === filter.name) && (filter.enabled === undefined || u.enabled === filter.enabled));
  }
  async updateUser(u: User): Promise<boolean> {
    return this.#unlessTaken(() => this.#db.run(
      'UPDATE users SET name = $1, password_hash = $2, enabled = $3, description = $4, email = $5, updated_at = $6 WHERE id = $7',
      [u.name, u.passwordHash, u.enabled ? 1 : 0, u.description, u.email, u.updatedAt, u.id],
    ));
  }
  async deleteUser(id: string): Promise<void> {
    await this.#db.transaction(async (q) => {
      await q.run('DELETE FROM access_keys WHERE user_id = $1', [id]);
      await q.run('DELETE FROM users WHERE id = $1', [id]);
    });
  }

  async insertGroup(g: Group): Promise<boolean> {
    return this.#insert(
      'INSERT INTO user_groups (id, domain_id, name, description, created_at, builtin) VALUES ($1, $2, $3, $4, $5, $6)',
      [g.id, g.domainId, g.name, g.description, g.createdAt, g.builtin ? 1 : 0],
    );
  }
  async getGroup(id: string): Promise<Group | null> {
    const [r] = await this.#db.rows<GroupRow>('SELECT * FROM user_groups WHERE id = $1', [id]);
    return r ? group(r) : null;
  }
  async listGroups(domainId: string, name?: string): Promise<Group[]> {
    const rows = name === undefined
      ? await this.#db.rows<GroupRow>('SELECT * FROM user_groups WHERE domain_id = $1 ORDER BY created_at, id COLLATE "C"', [domainId])
      : await this.#db.rows<GroupRow>('SELECT * FROM user_groups WHERE domain_id = $1 AND name = $2', [domainId, name]);
    return rows.map(group);
  }
  async updateGroup(g: Group): Promise<boolean> {
    return this.#unlessTaken(() => this.#db.run('UPDATE user_groups SET name = $1, description = $2 WHERE id = $3', [g.name, g.description, g.id]));
  }
  async deleteGroup(id: string): Promise<void> {
    await this.#db.run('DELETE FROM user_groups WHERE id = $1', [id]); // members and grants cascade
  }
  async addMember(groupId: string, userId: string): Promise<boolean> {
    return (await this.#db.run('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [groupId, userId])) > 0;
  }
  async removeMember(groupId: string, userId: string): Promise<boolean> {
    return (await this.#db.run('DELETE FROM group_members WHERE group_id = $1 AND user_id = $2', [groupId, userId])) > 0;
  }
  async isMember(groupId: string, userId: string): Promise<boolean> {
    return (await this.#db.rows('SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2', [groupId, userId])).length > 0;
  }
  async listMembers(groupId: string): Promise<User[]> {
    return (await this.#db.rows<UserRow>(
      'SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = $1 ORDER BY u.created_at, u.id COLLATE "C"',
      [groupId],
    )).map(user);
  }
  async groupsOfUser(userId: string): Promise<Group[]> {
    return (await this.#db.rows<GroupRow>(
      'SELECT g.* FROM user_groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.created_at, g.id COLLATE "C"',
      [userId],
    )).map(group);
  }

  async insertProject(p: Project): Promise<boolean> {
    return this.#insert(
      'INSERT INTO projects (id, domain_id, name, region, created_at) VALUES ($1, $2, $3, $4, $5)',
      [p.id, p.domainId, p.name, p.region, p.createdAt],
    );
  }
  async getProject(id: string): Promise<Project | null> {
    const [r] = await this.#db.rows<ProjectRow>('SELECT * FROM projects WHERE id = $1', [id]);
    return r ? project(r) : null;
  }
  async listProjects(domainId: string, name?: string): Promise<Project[]> {
    const rows = name === undefined
      ? await this.#db.rows<ProjectRow>('SELECT * FROM projects WHERE domain_id = $1 ORDER BY created_at, id COLLATE "C"', [domainId])
      : await this.#db.rows<ProjectRow>('SELECT * FROM projects WHERE domain_id = $1 AND name = $2 ORDER BY created_at, id COLLATE "C"', [domainId, name]);
    return rows.map(project);
  }

  async insertRole(r: Omit<CustomRole, 'name'>): Promise<CustomRole | null> {
    return this.#db.transaction(async (q) => {
      const [count] = await q.rows<{ n: number }>('SELECT COUNT(*) AS n FROM custom_roles WHERE domain_id = $1', [r.domainId]);
      for (let n = count!.n; ; n++) {
        const name = `custom_${r.domainId}_${n}`;
        // DO NOTHING on any unique constraint (a failed statement would end the transaction): then find out which.
        const inserted = await q.run(
          `INSERT INTO custom_roles (id, domain_id, name, display_name, type, description, description_cn, policy, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
          [r.id, r.domainId, name, r.displayName, r.type, r.description, r.descriptionCn, r.policy, r.createdAt, r.updatedAt],
        );
        if (inserted === 1) return { ...r, name };
        const taken = await q.rows(
          'SELECT 1 FROM custom_roles WHERE id = $1 OR (domain_id = $2 AND display_name = $3)',
          [r.id, r.domainId, r.displayName],
        );
        if (taken.length > 0) return null;
        // the internal name was taken: a policy was deleted and the count went down
      }
    });
  }
  async getRole(id: string): Promise<CustomRole | null> {
    const [r] = await this.#db.rows<RoleRow>('SELECT * FROM custom_roles WHERE id = $1', [id]);
    return r ? role(r) : null;
  }
  async listRoles(domainId: string): Promise<CustomRole[]> {
    return (await this.#db.rows<RoleRow>('SELECT * FROM custom_roles WHERE domain_id = $1 ORDER BY created_at, id COLLATE "C"', [domainId])).map(role);
  }
  async updateRole(r: CustomRole): Promise<boolean> {
    return this.#unlessTaken(() => this.#db.run(
      'UPDATE custom_roles SET display_name = $1, type = $2, description = $3, description_cn = $4, policy = $5, updated_at = $6 WHERE id = $7',
      [r.displayName, r.type, r.description, r.descriptionCn, r.policy, r.updatedAt, r.id],
    ));
  }
  async deleteRole(id: string): Promise<void> {
    await this.#db.transaction(async (q) => {
      await q.run('DELETE FROM grants WHERE role_id = $1', [id]);
      await q.run('DELETE FROM custom_roles WHERE id = $1', [id]);
    });
  }
  async countGrantsOfRole(roleId: string): Promise<number> {
    const [r] = await this.#db.rows<{ n: number }>('SELECT COUNT(*) AS n FROM grants WHERE role_id = $1', [roleId]);
    return r!.n;
  }

  async insertGrant(g: Grant): Promise<boolean> {
    return (await this.#db.run(
      'INSERT INTO grants (group_id, role_id, scope, scope_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [g.groupId, g.roleId, g.scope, g.scopeId],
    )) > 0;
  }
  async deleteGrant(g: Grant): Promise<boolean> {
    return (await this.#db.run(
      'DELETE FROM grants WHERE group_id = $1 AND role_id = $2 AND scope = $3 AND scope_id = $4',
      [g.groupId, g.roleId, g.scope, g.scopeId],
    )) > 0;
  }
  async hasGrant(g: Grant): Promise<boolean> {
    return (await this.#db.rows(
      'SELECT 1 FROM grants WHERE group_id = $1 AND role_id = $2 AND scope = $3 AND scope_id = $4',
      [g.groupId, g.roleId, g.scope, g.scopeId],
    )).length > 0;
  }
  async grantsOf(groupIds: readonly string[], scopes: readonly { scope: Grant['scope']; scopeId: string }[]): Promise<Grant[]> {
    const wanted = new Set(scopes.map((s) => `${s.scope}\0${s.scopeId}`));
    const all: Grant[] = [];
    for (const id of groupIds) {
      // In primary-key order, the order SQLite reads them in.
      const rows = await this.#db.rows<GrantRow>(
        'SELECT * FROM grants WHERE group_id = $1 ORDER BY role_id COLLATE "C", scope COLLATE "C", scope_id COLLATE "C"',
        [id],
      );
      all.push(...rows.map(grant));
    }
    return all.filter((g) => wanted.has(`${g.scope}\0${g.scopeId}`));
  }
  async grantsOfDomain(domainId: string): Promise<Grant[]> {
    return (await this.#db.rows<GrantRow>(
      'SELECT gr.* FROM grants gr JOIN user_groups g ON g.id = gr.group_id WHERE g.domain_id = $1 ORDER BY g.created_at, gr.role_id COLLATE "C"',
      [domainId],
    )).map(grant);
  }

  async insertAccessKey(k: AccessKeyRecord): Promise<boolean> {
    return this.#insert(
      'INSERT INTO access_keys (access_key, user_id, secret_wrapped, security_token_hash, expires_at, created_at, enabled, source_token_id, project_id, description) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [k.accessKey, k.userId, k.secretWrapped, k.securityTokenHash, k.expiresAt, k.createdAt, k.enabled ? 1 : 0, k.sourceTokenId, k.projectId, k.description],
    );
  }
  async getAccessKey(ak: string): Promise<AccessKeyRecord | null> {
    const [r] = await this.#db.rows<AccessKeyRow>('SELECT * FROM access_keys WHERE access_key = $1', [ak]);
    return r ? accessKey(r) : null;
  }
  async listAccessKeys(userId: string): Promise<AccessKeyRecord[]> {
    return (await this.#db.rows<AccessKeyRow>(
      'SELECT * FROM access_keys WHERE user_id = $1 AND security_token_hash IS NULL ORDER BY created_at, access_key COLLATE "C"',
      [userId],
    )).map(accessKey);
  }
  async updateAccessKey(ak: string, change: { enabled: boolean; description: string }): Promise<void> {
    await this.#db.run('UPDATE access_keys SET enabled = $1, description = $2 WHERE access_key = $3', [change.enabled ? 1 : 0, change.description, ak]);
  }
  async deleteAccessKey(ak: string): Promise<void> {
    await this.#db.run('DELETE FROM access_keys WHERE access_key = $1', [ak]);
  }
  async deleteExpiredAccessKeys(now: number): Promise<void> {
    await this.#db.run('DELETE FROM access_keys WHERE expires_at IS NOT NULL AND expires_at < $1', [now]);
  }
  async countTemporaryAccessKeys(userId: string, now: number): Promise<number> {
    const [r] = await this.#db.rows<{ n: string }>(
      'SELECT count(*) AS n FROM access_keys WHERE user_id = $1 AND security_token_hash IS NOT NULL AND expires_at >= $2', [userId, now]);
    return Number(r!.n);
  }

  async revokeToken(tokenId: string, expiresAt: number): Promise<void> {
    await this.#db.run('INSERT INTO revoked_tokens (token_id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [tokenId, expiresAt]);
  }
  async isRevoked(tokenId: string): Promise<boolean> {
    return (await this.#db.rows('SELECT 1 FROM revoked_tokens WHERE token_id = $1', [tokenId])).length > 0;
  }
  async revokedSince(seq: number, now: number): Promise<RevokedToken[]> {
    return (await this.#db.rows<RevokedTokenRow>('SELECT * FROM revoked_tokens WHERE seq > $1 AND expires_at > $2 ORDER BY seq', [seq, now]))
      .map((r) => ({ seq: r.seq, tokenId: r.token_id, expiresAt: r.expires_at }));
  }
  async latestRevocationSeq(): Promise<number> {
    const [r] = await this.#db.rows<{ s: number }>('SELECT COALESCE(MAX(seq), 0) AS s FROM revoked_tokens');
    return r!.s;
  }

  async recordPermissionChange(domainId: string): Promise<void> {
    await this.#db.run('INSERT INTO permission_changes (domain_id, at) VALUES ($1, $2)', [domainId, Date.now()]);
  }
  async permissionChangesSince(seq: number, limit: number): Promise<PermissionChange[]> {
    return (await this.#db.rows<PermissionChangeRow>('SELECT seq, domain_id FROM permission_changes WHERE seq > $1 ORDER BY seq LIMIT $2', [seq, limit]))
      .map((r) => ({ seq: r.seq, domainId: r.domain_id }));
  }
  async latestPermissionChangeSeq(): Promise<number> {
    const [r] = await this.#db.rows<{ s: number }>('SELECT COALESCE(MAX(seq), 0) AS s FROM permission_changes');
    return r!.s;
  }

  async loginState(userId: string, since: number): Promise<LoginState> {
    const [r] = await this.#db.rows<{ failures: number; locked_until: number | null }>(
      `SELECT (SELECT COUNT(*) FROM login_failures WHERE user_id = $1 AND at > $2) AS failures,
        (SELECT locked_until FROM login_locks WHERE user_id = $1) AS locked_until`,
      [userId, since],
    );
    return { failures: r!.failures, lockedUntil: r!.locked_until };
  }
  async addLoginFailure(userId: string, at: number, since: number): Promise<number> {
    return this.#db.transaction(async (q) => {
      await q.run('DELETE FROM login_failures WHERE user_id = $1 AND at <= $2', [userId, since]);
      await q.run('INSERT INTO login_failures (user_id, at) VALUES ($1, $2)', [userId, at]);
      const [r] = await q.rows<{ n: number }>('SELECT COUNT(*) AS n FROM login_failures WHERE user_id = $1', [userId]);
      return r!.n;
    });
  }
  async lockLogin(userId: string, until: number): Promise<void> {
    await this.#db.transaction(async (q) => {
      await q.run(
        'INSERT INTO login_locks (user_id, locked_until) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET locked_until = excluded.locked_until',
        [userId, until],
      );
      await q.run('DELETE FROM login_failures WHERE user_id = $1', [userId]);
    });
  }
  async clearLoginFailures(userId: string): Promise<void> {
    await this.#db.transaction(async (q) => {
      await q.run('DELETE FROM login_failures WHERE user_id = $1', [userId]);
      await q.run('DELETE FROM login_locks WHERE user_id = $1', [userId]);
    });
  }

  async getSetting(name: string): Promise<Buffer | null> {
    const [r] = await this.#db.rows<{ value: Buffer }>('SELECT value FROM settings WHERE name = $1', [name]);
    return r ? r.value : null;
  }
  async putSettingIfAbsent(name: string, value: Buffer): Promise<Buffer> {
    await this.#db.run('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, value]);
    return (await this.getSetting(name))!;
  }

  async appendAudit(pending: readonly AuditEntry[], records: readonly AuditEntry[], seal: AuditSeal): Promise<void> {
    await this.#audit.append(pending, records, seal);
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

  /** One REPEATABLE READ, READ ONLY transaction (postgres/snapshot.ts). */
  exportSnapshot(): Promise<StoreSnapshot> {
    return exportPgSnapshot(this.#db);
  }
  /** One transaction into an empty schema. */
  importSnapshot(snapshot: StoreSnapshot): Promise<void> {
    return importPgSnapshot(this.#db, snapshot, IAM_MIGRATIONS.length);
  }

  /** Gives up this node's liveness lease and closes the pool (once; later calls do nothing). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#liveness.stop();
    await this.#db.close();
  }

  #insert(sql: string, params: readonly unknown[]): Promise<boolean> {
    return this.#unlessTaken(() => this.#db.run(sql, params));
  }

  /** Runs a write; false when a unique name or id is already taken. */
  async #unlessTaken(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }
}
