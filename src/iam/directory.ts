/**
 * The people of an account: IAM users (create, update, enable/disable, password, delete) and user groups with their
 * members (Huawei IAM API, users and user groups). Every change that can alter what someone may do is recorded in
 * the permission-change feed by the store, in the same transaction, so regions drop what they cached about that
 * account within one poll.
 * Errors: IAM.0001 (400, invalid input), IAM.0003 (404, not in the caller's account), IAM.0005 (409, name taken),
 * 1103 (wrong original password), 1107 (the account owner cannot be deleted), 1108 (same password): Huawei's codes.
 */
import type { LoginGuard } from './login-guard.js';
import { KmsError } from '../errors.js';
import type { Group, IamStore, User } from '../storage/iam-store.js';
import { newId } from './ids.js';
import { hashPassword, verifyPassword } from './passwords.js';

/** IAM's name rules: users 1–32 characters (letters, digits, spaces, `-_.`), groups 1–128 without `/`. */
export const USER_NAME_RE = /^[^\s].{0,31}$/u;
const USER_NAME_CHARS = /^[\p{L}\p{N} ._-]+$/u;
const GROUP_NAME_RE = /^(?=.*[^\s])[^/\\"<>\u0000-\u001f\u007f]{1,128}$/u;

export interface UserInput {
  name?: string;
  password?: string;
  enabled?: boolean;
  description?: string;
  email?: string;
}

/** A password policy like Huawei's default: 8–32 characters, at least two of letters, digits and other characters. */
export function checkPassword(password: string): void {
  if (password.length < 8 || password.length > 32) throw new KmsError('IAM.0001', 'The password must have 8 to 32 characters.');
  const classes = [/[a-zA-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 2) throw new KmsError('IAM.0001', 'The password must mix at least two of letters, digits and other characters.');
}

/** An e-mail address: one `@`, a dotted domain, no spaces (Huawei refuses others with its error 1102). */
function checkEmail(email: string | undefined): void {
  if (email !== undefined && email !== '' && (email.length > 255 || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))) {
    throw new KmsError('IAM.0001', 'Invalid email.');
  }
}

function checkUserName(name: string): void {
  if (!USER_NAME_RE.test(name) || !USER_NAME_CHARS.test(name)) {
    throw new KmsError('IAM.0001', 'A user name has 1 to 32 characters: letters, digits, spaces, hyphens, underscores and periods, not starting with a space.');
  }
}

export class Directory {
  constructor(
    private readonly store: IamStore,
    private readonly clock: () => number = Date.now,
    /** Password checks of the account's users go through its lockout (a stolen token cannot guess a password). */
    private readonly guard?: LoginGuard,
  ) {}

  async createUser(domainId: string, input: UserInput & { name: string }, options: { domainOwner?: boolean } = {}): Promise<User> {
    checkUserName(input.name);
    checkEmail(input.email);
    if (input.password !== undefined) checkPassword(input.password);
    const now = this.clock();
    const u: User = {
      id: newId(), domainId, name: input.name,
      // Without a password the user can only use access keys (Huawei's "programmatic access" users).
      passwordHash: input.password !== undefined ? await hashPassword(input.password) : '!',
      enabled: input.enabled ?? true, createdAt: now, description: input.description ?? '', email: input.email ?? '',
      updatedAt: now, domainOwner: options.domainOwner ?? false, tokensNotBefore: 0,
    };
    if (!(await this.store.insertUser(u))) throw new KmsError('IAM.0005', `The user ${input.name} already exists.`);
    return u;
  }

  /** A user of the account; IAM.0003 when there is none (another account's users do not exist for the caller). */
  async user(domainId: string, userId: string): Promise<User> {
    const u = await this.store.getUser(userId);
    if (!u || u.domainId !== domainId) throw new KmsError('IAM.0003', `Could not find user: ${userId}.`);
    return u;
  }

  listUsers(domainId: string, filter: { name?: string; enabled?: boolean } = {}): Promise<User[]> {
    return this.store.listUsers(domainId, filter);
  }

  async updateUser(domainId: string, userId: string, input: UserInput): Promise<User> {
    const u = await this.user(domainId, userId);
    if (input.name !== undefined) checkUserName(input.name);
    checkEmail(input.email);
    if (input.password !== undefined) checkPassword(input.password);
    if (input.enabled === false && u.domainOwner) throw new KmsError('IAM.0004', 'The account owner cannot be disabled.');
    const next: User = {
      ...u,
      name: input.name ?? u.name,
      passwordHash: input.password !== undefined ? await hashPassword(input.password) : u.passwordHash,
      enabled: input.enabled ?? u.enabled,
      description: input.description ?? u.description,
      email: input.email ?? u.email,
      updatedAt: this.clock(),
    };
    if (!(await this.store.updateUser(next))) throw new KmsError('IAM.0005', `The user ${next.name} already exists.`);
    return next;
  }

  /**
   * A user changes their own password (POST /v3/users/{user_id}/password). The original password is checked under the
   * login lockout (login-guard.ts): wrong ones count as failed logins, and a locked user gets 401 IAM.0061.
   */
  async changeOwnPassword(domainId: string, userId: string, original: string, password: string): Promise<void> {
    const u = await this.user(domainId, userId);
    const check = () => verifyPassword(original, u.passwordHash);
    const right = this.guard ? (await this.guard.attempt(u.id, `user:${u.id}`, check)).ok : await check();
    if (!right) throw new KmsError('1103', 'original_password is wrong.');
    if (original === password) throw new KmsError('1108');
    checkPassword(password);
    await this.store.updateUser({ ...u, passwordHash: await hashPassword(password), updatedAt: this.clock() });
  }

  async deleteUser(domainId: string, userId: string): Promise<void> {
    const u = await this.user(domainId, userId);
    if (u.domainOwner) throw new KmsError('1107');
    await this.store.deleteUser(u.id);
  }

  /** The account's built-in `admin` group, created with the account. */
  async createAdminGroup(domainId: string): Promise<Group> {
    const g: Group = { id: newId(), domainId, name: 'admin', description: 'Administrators: every permission, including IAM.', createdAt: this.clock(), builtin: true };
    if (!(await this.store.insertGroup(g))) throw new KmsError('IAM.0005', 'The account already has an admin group.');
    return g;
  }

  async createGroup(domainId: string, name: string, description = ''): Promise<Group> {
    if (!GROUP_NAME_RE.test(name)) throw new KmsError('IAM.0001', 'A group name has 1 to 128 characters, not only spaces, without / \\ " < > or control characters.');
    const g: Group = { id: newId(), domainId, name, description, createdAt: this.clock(), builtin: false };
    if (!(await this.store.insertGroup(g))) throw new KmsError('IAM.0005', `The group ${name} already exists.`);
    return g;
  }

  async group(domainId: string, groupId: string): Promise<Group> {
    const g = await this.store.getGroup(groupId);
    if (!g || g.domainId !== domainId) throw new KmsError('IAM.0003', `Could not find group: ${groupId}.`);
    return g;
  }

  listGroups(domainId: string, name?: string): Promise<Group[]> {
    return this.store.listGroups(domainId, name);
  }

  async updateGroup(domainId: string, groupId: string, input: { name?: string; description?: string }): Promise<Group> {
    const g = await this.group(domainId, groupId);
    if (input.name !== undefined && input.name !== g.name) {
      if (g.builtin) throw new KmsError('IAM.0004', 'The admin group cannot be renamed.');
      if (!GROUP_NAME_RE.test(input.name)) throw new KmsError('IAM.0001', 'A group name has 1 to 128 characters, not only spaces, without / \\ " < > or control characters.');
    }
    const next = { ...g, name: input.name ?? g.name, description: input.description ?? g.description };
    if (!(await this.store.updateGroup(next))) throw new KmsError('IAM.0005', `The group ${next.name} already exists.`);
    return next;
  }

  async deleteGroup(domainId: string, groupId: string): Promise<void> {
    const g = await this.group(domainId, groupId);
    if (g.builtin) throw new KmsError('IAM.0004', 'The admin group cannot be deleted.');
    await this.store.deleteGroup(g.id);
  }

  /** Adds a user to a group; adding a member again is not an error (PUT is idempotent). */
  async addMember(domainId: string, groupId: string, userId: string): Promise<void> {
    const g = await this.group(domainId, groupId);
    const u = await this.user(domainId, userId);
    await this.store.addMember(g.id, u.id);
  }

  /** Removes a user from a group; IAM.0003 when they were not a member. */
  async removeMember(domainId: string, groupId: string, userId: string): Promise<void> {
    const g = await this.group(domainId, groupId);
    const u = await this.user(domainId, userId);
    if (g.builtin && u.domainOwner) throw new KmsError('IAM.0004', 'The account owner stays in the admin group.');
    if (!(await this.store.removeMember(g.id, u.id))) throw new KmsError('IAM.0003', `The user ${userId} is not a member of group ${groupId}.`);
  }

  async isMember(domainId: string, groupId: string, userId: string): Promise<boolean> {
    const g = await this.group(domainId, groupId);
    const u = await this.user(domainId, userId);
    return this.store.isMember(g.id, u.id);
  }

  async members(domainId: string, groupId: string): Promise<User[]> {
    return this.store.listMembers((await this.group(domainId, groupId)).id);
  }

  /** Whether a user is in the account's admin group (the owner always is). */
  async isAdmin(userId: string): Promise<boolean> {
    return (await this.store.groupsOfUser(userId)).some((g) => g.builtin);
  }

  async groupsOf(domainId: string, userId: string): Promise<Group[]> {
    return this.store.groupsOfUser((await this.user(domainId, userId)).id);
  }
}
