/** The storage contract of IAM. Secrets are stored wrapped by IAM's root key; passwords as scrypt hashes. */
export interface Domain { id: string; name: string; createdAt: number }
export interface User { id: string; domainId: string; name: string; passwordHash: string; enabled: boolean; createdAt: number }
/** A project belongs to one account and is bound to one region. */
export interface Project { id: string; domainId: string; name: string; region: string; createdAt: number }
export interface AccessKeyRecord {
  accessKey: string;
  userId: string;
  secretWrapped: Buffer;
  /** SHA-256 (hex) of the security token, for temporary keys only. */
  securityTokenHash: string | null;
  /** Epoch ms; temporary keys only. */
  expiresAt: number | null;
  createdAt: number;
  enabled: boolean;
  /** Temporary keys: the token they were issued for (revoking it revokes them) and the project it was scoped to. */
  sourceTokenId: string | null;
  projectId: string | null;
}
export interface RevokedToken { seq: number; tokenId: string; expiresAt: number }

export interface IamStore {
  /** Inserts return false when the name or id is already taken. */
  insertDomain(d: Domain): Promise<boolean>;
  getDomain(id: string): Promise<Domain | null>;
  findDomainByName(name: string): Promise<Domain | null>;
  listDomains(): Promise<Domain[]>;
  insertUser(u: User): Promise<boolean>;
  getUser(id: string): Promise<User | null>;
  findUser(domainId: string, name: string): Promise<User | null>;
  insertProject(p: Project): Promise<boolean>;
  getProject(id: string): Promise<Project | null>;
  listProjects(domainId: string, name?: string): Promise<Project[]>;
  insertAccessKey(k: AccessKeyRecord): Promise<boolean>;
  getAccessKey(ak: string): Promise<AccessKeyRecord | null>;
  deleteExpiredAccessKeys(now: number): Promise<void>;
  revokeToken(tokenId: string, expiresAt: number): Promise<void>;
  isRevoked(tokenId: string): Promise<boolean>;
  /** Revocations after `seq` whose tokens have not expired yet. */
  revokedSince(seq: number, now: number): Promise<RevokedToken[]>;
  latestRevocationSeq(): Promise<number>;
  getSetting(name: string): Promise<Buffer | null>;
  /** Stores the value unless one exists; returns whichever is stored. */
  putSettingIfAbsent(name: string, value: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}
