/** The IAM store on SQLite: accounts (domains), users, projects, access keys, revoked tokens, settings. */
import type { AccessKeyRecord, Domain, IamStore, Project, RevokedToken, User } from '../iam-store.js';
import { openDatabase, type Db } from './database.js';

const MIGRATIONS = [
  `CREATE TABLE domains (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);
   CREATE TABLE users (
     id TEXT PRIMARY KEY, domain_id TEXT NOT NULL REFERENCES domains (id), name TEXT NOT NULL,
     password_hash TEXT NOT NULL, enabled INTEGER NOT NULL, created_at INTEGER NOT NULL, UNIQUE (domain_id, name));
   CREATE TABLE projects (
     id TEXT PRIMARY KEY, domain_id TEXT NOT NULL REFERENCES domains (id), name TEXT NOT NULL, region TEXT NOT NULL,
     created_at INTEGER NOT NULL, UNIQUE (domain_id, name));
   CREATE TABLE access_keys (
     access_key TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users (id), secret_wrapped BLOB NOT NULL,
     security_token_hash TEXT, expires_at INTEGER, created_at INTEGER NOT NULL, enabled INTEGER NOT NULL);
   CREATE TABLE revoked_tokens (seq INTEGER PRIMARY KEY AUTOINCREMENT, token_id TEXT NOT NULL UNIQUE, expires_at INTEGER NOT NULL);
   CREATE TABLE settings (name TEXT PRIMARY KEY, value BLOB NOT NULL);`,
  `ALTER TABLE access_keys ADD COLUMN source_token_id TEXT;
   ALTER TABLE access_keys ADD COLUMN project_id TEXT;`,
];

interface UserRow { id: string; domain_id: string; name: string; password_hash: string; enabled: number; created_at: number }
interface ProjectRow { id: string; domain_id: string; name: string; region: string; created_at: number }
interface AccessKeyRow { access_key: string; user_id: string; secret_wrapped: Buffer; security_token_hash: string | null; expires_at: number | null; created_at: number; enabled: number; source_token_id: string | null; project_id: string | null }

const user = (r: UserRow): User => ({ id: r.id, domainId: r.domain_id, name: r.name, passwordHash: r.password_hash, enabled: r.enabled === 1, createdAt: r.created_at });
const project = (r: ProjectRow): Project => ({ id: r.id, domainId: r.domain_id, name: r.name, region: r.region, createdAt: r.created_at });
const accessKey = (r: AccessKeyRow): AccessKeyRecord => ({
  accessKey: r.access_key, userId: r.user_id, secretWrapped: r.secret_wrapped, securityTokenHash: r.security_token_hash,
  expiresAt: r.expires_at, createdAt: r.created_at, enabled: r.enabled === 1, sourceTokenId: r.source_token_id, projectId: r.project_id,
});

function unique(err: unknown): boolean {
  return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' || (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export class SqliteIamStore implements IamStore {
  readonly #db: Db;

  constructor(path: string) {
    this.#db = openDatabase(path, MIGRATIONS);
  }

  async insertDomain(d: Domain): Promise<boolean> {
    return this.#insert('INSERT INTO domains (id, name, created_at) VALUES (?, ?, ?)', d.id, d.name, d.createdAt);
  }
  async getDomain(id: string): Promise<Domain | null> {
    const r = this.#db.prepare('SELECT * FROM domains WHERE id = ?').get(id) as { id: string; name: string; created_at: number } | undefined;
    return r ? { id: r.id, name: r.name, createdAt: r.created_at } : null;
  }
  async findDomainByName(name: string): Promise<Domain | null> {
    const r = this.#db.prepare('SELECT * FROM domains WHERE name = ?').get(name) as { id: string; name: string; created_at: number } | undefined;
    return r ? { id: r.id, name: r.name, createdAt: r.created_at } : null;
  }
  async listDomains(): Promise<Domain[]> {
    return (this.#db.prepare('SELECT * FROM domains ORDER BY created_at').all() as { id: string; name: string; created_at: number }[]).map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }

  async insertUser(u: User): Promise<boolean> {
    return this.#insert('INSERT INTO users (id, domain_id, name, password_hash, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?)', u.id, u.domainId, u.name, u.passwordHash, u.enabled ? 1 : 0, u.createdAt);
  }
  async getUser(id: string): Promise<User | null> {
    const r = this.#db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return r ? user(r) : null;
  }
  async findUser(domainId: string, name: string): Promise<User | null> {
    const r = this.#db.prepare('SELECT * FROM users WHERE domain_id = ? AND name = ?').get(domainId, name) as UserRow | undefined;
    return r ? user(r) : null;
  }

  async insertProject(p: Project): Promise<boolean> {
    return this.#insert('INSERT INTO projects (id, domain_id, name, region, created_at) VALUES (?, ?, ?, ?, ?)', p.id, p.domainId, p.name, p.region, p.createdAt);
  }
  async getProject(id: string): Promise<Project | null> {
    const r = this.#db.prepare('SELECT * FROM projects WHERE id = ?').get(id) as ProjectRow | undefined;
    return r ? project(r) : null;
  }
  async listProjects(domainId: string, name?: string): Promise<Project[]> {
    const rows = (name === undefined
      ? this.#db.prepare('SELECT * FROM projects WHERE domain_id = ? ORDER BY created_at, id').all(domainId)
      : this.#db.prepare('SELECT * FROM projects WHERE domain_id = ? AND name = ? ORDER BY created_at, id').all(domainId, name)) as ProjectRow[];
    return rows.map(project);
  }

  async insertAccessKey(k: AccessKeyRecord): Promise<boolean> {
    return this.#insert(
      'INSERT INTO access_keys (access_key, user_id, secret_wrapped, security_token_hash, expires_at, created_at, enabled, source_token_id, project_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      k.accessKey, k.userId, k.secretWrapped, k.securityTokenHash, k.expiresAt, k.createdAt, k.enabled ? 1 : 0, k.sourceTokenId, k.projectId,
    );
  }
  async getAccessKey(ak: string): Promise<AccessKeyRecord | null> {
    const r = this.#db.prepare('SELECT * FROM access_keys WHERE access_key = ?').get(ak) as AccessKeyRow | undefined;
    return r ? accessKey(r) : null;
  }
  async deleteExpiredAccessKeys(now: number): Promise<void> {
    this.#db.prepare('DELETE FROM access_keys WHERE expires_at IS NOT NULL AND expires_at < ?').run(now);
  }

  async revokeToken(tokenId: string, expiresAt: number): Promise<void> {
    this.#db.prepare('INSERT OR IGNORE INTO revoked_tokens (token_id, expires_at) VALUES (?, ?)').run(tokenId, expiresAt);
  }
  async isRevoked(tokenId: string): Promise<boolean> {
    return this.#db.prepare('SELECT 1 FROM revoked_tokens WHERE token_id = ?').get(tokenId) !== undefined;
  }
  async revokedSince(seq: number, now: number): Promise<RevokedToken[]> {
    return (this.#db.prepare('SELECT * FROM revoked_tokens WHERE seq > ? AND expires_at > ? ORDER BY seq').all(seq, now) as { seq: number; token_id: string; expires_at: number }[])
      .map((r) => ({ seq: r.seq, tokenId: r.token_id, expiresAt: r.expires_at }));
  }
  async latestRevocationSeq(): Promise<number> {
    return (this.#db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM revoked_tokens').get() as { s: number }).s;
  }

  async getSetting(name: string): Promise<Buffer | null> {
    const r = this.#db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: Buffer } | undefined;
    return r ? r.value : null;
  }
  async putSettingIfAbsent(name: string, value: Buffer): Promise<Buffer> {
    this.#db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)').run(name, value);
    return (await this.getSetting(name))!;
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  #insert(sql: string, ...args: unknown[]): boolean {
    try {
      this.#db.prepare(sql).run(...args);
      return true;
    } catch (err) {
      if (unique(err)) return false;
      throw err;
    }
  }
}
