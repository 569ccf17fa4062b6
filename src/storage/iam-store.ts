/**
 * The storage contract of IAM: accounts (domains), users, user groups and their members, projects, custom
 * policies, grants of roles and policies to groups, access keys, revoked tokens, the feed of permission changes
 * regions follow, and settings. Secrets are stored wrapped by IAM's root key; passwords as scrypt hashes.
 * Every implementation passes the IAM part of test/storage-contract.test.ts.
 */
import type { AuditStore } from '../audit/audit-store.js';
import type { StoreSnapshot } from './snapshot.js';

export interface Domain { id: string; name: string; createdAt: number }
export interface User {
  id: string;
  domainId: string;
  name: string;
  passwordHash: string;
  enabled: boolean;
  createdAt: number;
  description: string;
  email: string;
  /** Epoch ms of the last change of any field. */
  updatedAt: number;
  /** True for the account's first user (Huawei's "is_domain_owner"); cannot be deleted. */
  domainOwner: boolean;
  /**
   * Epoch ms: tokens issued before it are invalid. The store sets it to `updatedAt` when the password changes or
   * the user is disabled (writes of the user leave it alone); 0 for a new user.
   */
  tokensNotBefore: number;
}
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
  description: string;
}
export interface RevokedToken { seq: number; tokenId: string; expiresAt: number }

/** A user group. The account's `admin` group is built in: it cannot be deleted and its members may do anything. */
export interface Group { id: string; domainId: string; name: string; description: string; createdAt: number; builtin: boolean }

/**
 * A custom policy (POST /v3.0/OS-ROLE/roles): `AX` account level, `XA` project level
 * (docs/reference/huawei-auth.md §4.4).
 */
export interface CustomRole {
  id: string;
  domainId: string;
  /** Internal name, `custom_<domain_id>_<n>`. */
  name: string;
  displayName: string;
  type: 'AX' | 'XA';
  description: string;
  descriptionCn: string;
  /** The policy document as JSON text. */
  policy: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * A role or policy granted to a group: on one project, on the account (domain, for global services such as IAM),
 * or on all projects of the account (`inherited`, Huawei's OS-INHERIT ... inherited_to_projects).
 */
export interface Grant { groupId: string; roleId: string; scope: 'project' | 'domain' | 'inherited'; scopeId: string }

/** A user's recent failed password logins and lock (iam/login-guard.ts: Huawei's account lockout). */
export interface LoginState {
  /** Failed logins after the time asked about. */
  failures: number;
  /** Epoch ms when the user's lock ends (possibly past), or null when none was recorded. */
  lockedUntil: number | null;
}

/** A change that may alter what someone may do: regions drop their cached permissions for that account. */
export interface PermissionChange { seq: number; domainId: string }

export interface IamStore extends AuditStore {
  /** Inserts return false when the name or id is already taken. */
  insertDomain(d: Domain): Promise<boolean>;
  getDomain(id: string): Promise<Domain | null>;
  findDomainByName(name: string): Promise<Domain | null>;
  listDomains(): Promise<Domain[]>;

  insertUser(u: User): Promise<boolean>;
  getUser(id: string): Promise<User | null>;
  findUser(domainId: string, name: string): Promise<User | null>;
  listUsers(domainId: string, filter: { name?: string; enabled?: boolean }): Promise<User[]>;
  /** Replaces a user's fields; false when the new name is taken. */
  updateUser(u: User): Promise<boolean>;
  /** Deletes a user with their group memberships and access keys. */
  deleteUser(id: string): Promise<void>;

  insertGroup(g: Group): Promise<boolean>;
  getGroup(id: string): Promise<Group | null>;
  listGroups(domainId: string, name?: string): Promise<Group[]>;
  /** Replaces a group's name and description; false when the new name is taken. */
  updateGroup(g: Group): Promise<boolean>;
  /** Deletes a group with its memberships and grants. */
  deleteGroup(id: string): Promise<void>;
  /** False when the user already was a member. */
  addMember(groupId: string, userId: string): Promise<boolean>;
  /** False when the user was not a member. */
  removeMember(groupId: string, userId: string): Promise<boolean>;
  isMember(groupId: string, userId: string): Promise<boolean>;
  listMembers(groupId: string): Promise<User[]>;
  groupsOfUser(userId: string): Promise<Group[]>;

  insertProject(p: Project): Promise<boolean>;
  getProject(id: string): Promise<Project | null>;
  listProjects(domainId: string, name?: string): Promise<Project[]>;

  /** Inserts a custom policy, numbering its internal name within the account; false when the display name is taken. */
  insertRole(r: Omit<CustomRole, 'name'>): Promise<CustomRole | null>;
  getRole(id: string): Promise<CustomRole | null>;
  listRoles(domainId: string): Promise<CustomRole[]>;
  /** False when the new display name is taken. */
  updateRole(r: CustomRole): Promise<boolean>;
  /** Deletes a custom policy with every grant of it. */
  deleteRole(id: string): Promise<void>;
  /** How many grants name the role. */
  countGrantsOfRole(roleId: string): Promise<number>;

  /** False when the grant already existed. */
  insertGrant(g: Grant): Promise<boolean>;
  /** False when there was no such grant. */
  deleteGrant(g: Grant): Promise<boolean>;
  hasGrant(g: Grant): Promise<boolean>;
  /** Grants to any of the groups, in any of the scopes listed (scope, scope id). */
  grantsOf(groupIds: readonly string[], scopes: readonly { scope: Grant['scope']; scopeId: string }[]): Promise<Grant[]>;
  /** Every grant to groups of the account. */
  grantsOfDomain(domainId: string): Promise<Grant[]>;

  insertAccessKey(k: AccessKeyRecord): Promise<boolean>;
  getAccessKey(ak: string): Promise<AccessKeyRecord | null>;
  /** Permanent access keys of a user, oldest first. */
  listAccessKeys(userId: string): Promise<AccessKeyRecord[]>;
  updateAccessKey(ak: string, change: { enabled: boolean; description: string }): Promise<void>;
  deleteAccessKey(ak: string): Promise<void>;
  deleteExpiredAccessKeys(now: number): Promise<void>;
  /** Temporary access keys of a user that have not expired at `now` (epoch ms). */
  countTemporaryAccessKeys(userId: string, now: number): Promise<number>;

  revokeToken(tokenId: string, expiresAt: number): Promise<void>;
  isRevoked(tokenId: string): Promise<boolean>;
  /** Revocations after `seq` whose tokens have not expired yet. */
  revokedSince(seq: number, now: number): Promise<RevokedToken[]>;
  latestRevocationSeq(): Promise<number>;

  /** Records that permissions in an account changed (group, membership, grant, policy, user state). */
  recordPermissionChange(domainId: string): Promise<void>;
  /** Changes after `seq`, oldest first (at most `limit`). */
  permissionChangesSince(seq: number, limit: number): Promise<PermissionChange[]>;
  latestPermissionChangeSeq(): Promise<number>;

  /** A user's failed password logins after `since` (epoch ms) and the end of their lock, if any. */
  loginState(userId: string, since: number): Promise<LoginState>;
  /**
   * Records a failed password login at `at` and forgets the user's failures at or before `since`; returns how many
   * remain, this one included.
   */
  addLoginFailure(userId: string, at: number, since: number): Promise<number>;
  /** Locks a user's password login until `until` (epoch ms) and forgets their failures. */
  lockLogin(userId: string, until: number): Promise<void>;
  /**
   * Forgets a user's failures and lock (a successful login). A new password or re-enabling the user does the same,
   * within the same change; deleting the user deletes them.
   */
  clearLoginFailures(userId: string): Promise<void>;

  getSetting(name: string): Promise<Buffer | null>;
  /** Stores the value unless one exists; returns whichever is stored. */
  putSettingIfAbsent(name: string, value: Buffer): Promise<Buffer>;
  /**
   * The store's whole content (every table of its migrations but `leases`) read in one read transaction, as of one
   * moment, while other writers go on (storage/snapshot.ts; what `strongroom backup` saves). Wrapped material stays
   * wrapped.
   */
  exportSnapshot(): Promise<StoreSnapshot>;
  /**
   * Loads a snapshot into this store, which must be empty (nothing but what its migrations made), in one
   * transaction: all of it or nothing. Throws SnapshotLoadError when the store holds data or the snapshot does not
   * fit its schema (a table or column it lacks, a newer schema version).
   */
  importSnapshot(snapshot: StoreSnapshot): Promise<void>;
  close(): Promise<void>;
}
