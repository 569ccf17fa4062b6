/**
 * IAM: accounts, projects bound to regions, password tokens, access keys (permanent and temporary) and the
 * verification of SDK-HMAC-SHA256 signatures, which needs the secret keys and so happens here. Users and groups are
 * directory.ts's, roles and grants permissions.ts's.
 */
import { createHash, createPublicKey, randomBytes, randomInt, timingSafeEqual, type KeyObject } from 'node:crypto';
import { KmsError } from '../errors.js';
import type { RootKey } from '../keystore/root-key.js';
import type { AccessKeyRecord, IamStore, Project, User } from '../storage/iam-store.js';
import { signatureMatches } from './aksk.js';
import { Directory } from './directory.js';
import { newId } from './ids.js';
import { LoginGuard } from './login-guard.js';
import { generatePassword, verifyPassword } from './passwords.js';
import { checkToken, generateSigningKey, issueToken, newTokenId, TOKEN_LIFETIME_MS, type TokenClaims } from './tokens.js';

export { newId } from './ids.js';

/** Huawei allows two permanent access keys per user (IAM answers "akSkNumExceed" beyond). */
export const MAX_ACCESS_KEYS_PER_USER = 2;

/**
 * Live temporary access keys one user may hold at once. Huawei publishes no such limit (its gateway throttles the
 * calls instead); without one, a user could fill IAM's store with keys that live up to 24 hours.
 */
export const MAX_TEMPORARY_KEYS_PER_USER = 1000;

/** A new account as `strongroom iam create-domain` prints it. */
export interface NewAccount {
  domain: { id: string; name: string };
  user: { id: string; name: string };
  password: string;
  accessKey: string;
  secretKey: string;
}

/** The caller behind a verified token or signature. */
export interface Principal {
  user: { id: string; name: string };
  domain: { id: string; name: string };
  /** How the caller authenticated. */
  method: 'token' | 'aksk';
  /** For tokens: the project the token is scoped to (if any). */
  tokenProject?: { id: string; name: string; region: string };
  /** For tokens: the token's id and expiry (temporary keys issued for it inherit both). */
  token?: { id: string; expiresAt: number };
  /** For temporary keys issued for a project-scoped token: the only project they may act on. */
  scopeProjectId?: string;
  /** For temporary access keys: their expiry. */
  expiresAt?: number;
  /** For signed requests: the access key, whether it is temporary, and the token a temporary key was issued for. */
  accessKey?: string;
  temporary?: boolean;
  sourceTokenId?: string;
}

function randomString(length: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

const AK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** What the token signing key (setting `token_signing_key`) is wrapped bound to. */
export const TOKEN_KEY_CONTEXT = Buffer.from('strongroom token signing key');
export const akContext = (ak: string) => Buffer.from(`strongroom access key\0${ak}`);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface PasswordAuthInput {
  domainName: string;
  userName: string;
  password: string;
  /** The connection's peer address: password checks are shared fairly between sources (login-guard.ts). */
  source?: string;
  scope?: { project?: boolean; domain?: boolean; projectId?: string; projectName?: string; projectDomainName?: string; projectDomainId?: string; domainId?: string; domainName?: string };
}

export class IamService {
  #signing?: { privatePem: string; publicKey: KeyObject; publicPem: string };

  readonly directory: Directory;
  /** Account lockout and per-source limits of password login. */
  readonly loginGuard: LoginGuard;

  /** At most this many unexpired temporary access keys per user (MAX_TEMPORARY_KEYS_PER_USER; tests lower it). */
  maxTemporaryKeysPerUser = MAX_TEMPORARY_KEYS_PER_USER;

  constructor(
    private readonly store: IamStore,
    private readonly rootKey: RootKey,
    private readonly clock: () => number = Date.now,
  ) {
    this.loginGuard = new LoginGuard(store, clock);
    this.directory = new Directory(store, clock, this.loginGuard);
  }

  /** Loads IAM's token-signing key, creating it (wrapped by the root key) on first use. */
  async init(): Promise<void> {
    let wrapped = await this.store.getSetting('token_signing_key');
    if (!wrapped) {
      const fresh = generateSigningKey();
      wrapped = await this.store.putSettingIfAbsent('token_signing_key', await this.rootKey.wrap(Buffer.from(fresh.privatePem), TOKEN_KEY_CONTEXT));
    }
    const privatePem = (await this.rootKey.unwrap(wrapped, TOKEN_KEY_CONTEXT)).toString('utf8');
    const publicKey = createPublicKey(privatePem);
    this.#signing = { privatePem, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
  }

  get tokenPublicKeyPem(): string {
    return this.#signingKey().publicPem;
  }

  /** An account (domain) with its built-in admin group. */
  async createDomain(name: string): Promise<{ id: string; name: string }> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new KmsError('IAM.0001', 'An account name has 1 to 64 letters, digits, hyphens and underscores.');
    const d = { id: newId(), name, createdAt: this.clock() };
    if (!(await this.store.insertDomain(d))) throw new KmsError('IAM.0005', `The account ${name} already exists.`);
    await this.directory.createAdminGroup(d.id);
    return { id: d.id, name };
  }

  /**
   * A new account with its administrator (an operator act, as on Huawei Cloud): the domain, its admin group, the
   * admin user (the account owner, in the admin group) with a generated password, and an access key pair.
   */
  async createAccount(name: string, admin: { userName?: string; password?: string } = {}): Promise<NewAccount> {
    const domain = await this.createDomain(name);
    const password = admin.password ?? generatePassword();
    const user = await this.directory.createUser(domain.id, { name: admin.userName ?? 'admin', password }, { domainOwner: true });
    const adminGroup = (await this.store.listGroups(domain.id)).find((g) => g.builtin)!;
    await this.store.addMember(adminGroup.id, user.id);
    const key = await this.createAccessKey(user.id);
    return { domain, user: { id: user.id, name: user.name }, password, accessKey: key.accessKey, secretKey: key.secretKey };
  }

  async domainByName(name: string) {
    const d = await this.store.findDomainByName(name);
    if (!d) throw new KmsError('IAM.0003', `No account named ${name}.`);
    return d;
  }

  /** A user with a password and no permissions until a group of theirs is granted some. */
  createUser(domainId: string, name: string, password: string): Promise<User> {
    return this.directory.createUser(domainId, { name, password });
  }

  async createProject(domainId: string, name: string, region: string): Promise<Project> {
    const p: Project = { id: newId(), domainId, name, region, createdAt: this.clock() };
    if (!(await this.store.insertProject(p))) throw new KmsError('IAM.0005', `The project ${name} already exists.`);
    return p;
  }

  listProjects(domainId: string, name?: string): Promise<Project[]> {
    return this.store.listProjects(domainId, name);
  }

  getProject(id: string): Promise<Project | null> {
    return this.store.getProject(id);
  }

  async userByName(domainId: string, name: string): Promise<User> {
    const u = await this.store.findUser(domainId, name);
    if (!u) throw new KmsError('IAM.0003', `No user named ${name}.`);
    return u;
  }

  /** A permanent access key pair; the secret is returned once and stored only wrapped. At most two per user. */
  async createAccessKey(userId: string, description = ''): Promise<{ accessKey: string; secretKey: string; record: AccessKeyRecord }> {
    if ((await this.store.listAccessKeys(userId)).length >= MAX_ACCESS_KEYS_PER_USER) {
      throw new KmsError('IAM.0001', `akSkNumExceed: a user has at most ${MAX_ACCESS_KEYS_PER_USER} access keys.`);
    }
    return this.#newAccessKey(userId, null, null, null, null, description);
  }

  /** The permanent access keys of a user (never their secrets). */
  listAccessKeys(userId: string): Promise<AccessKeyRecord[]> {
    return this.store.listAccessKeys(userId);
  }

  /** A permanent access key of a user of the account; IAM.0003 otherwise. */
  async accessKey(domainId: string, accessKey: string): Promise<AccessKeyRecord> {
    const k = await this.store.getAccessKey(accessKey);
    const owner = k && k.securityTokenHash === null ? await this.store.getUser(k.userId) : null;
    if (!k || !owner || owner.domainId !== domainId) throw new KmsError('IAM.0003', `Could not find access key: ${accessKey}.`);
    return k;
  }

  async updateAccessKey(domainId: string, accessKey: string, change: { enabled?: boolean; description?: string }): Promise<AccessKeyRecord> {
    const k = await this.accessKey(domainId, accessKey);
    const next = { enabled: change.enabled ?? k.enabled, description: change.description ?? k.description };
    await this.store.updateAccessKey(k.accessKey, next);
    return { ...k, ...next };
  }

  async deleteAccessKey(domainId: string, accessKey: string): Promise<void> {
    await this.store.deleteAccessKey((await this.accessKey(domainId, accessKey)).accessKey);
  }

  /**
   * A temporary access key with its security token (POST /v3.0/OS-CREDENTIAL/securitytokens), living
   * `durationSeconds` (seconds) but never past the token's expiry. 400 IAM.0001 when the user already holds
   * `maxTemporaryKeysPerUser` unexpired ones.
   */
  async createTemporaryKey(userId: string, durationSeconds: number, token: { id: string; expiresAt: number; projectId: string | null }): Promise<{ accessKey: string; secretKey: string; securityToken: string; expiresAt: number }> {
    await this.store.deleteExpiredAccessKeys(this.clock());
    if ((await this.store.countTemporaryAccessKeys(userId, this.clock())) >= this.maxTemporaryKeysPerUser) {
      throw new KmsError('IAM.0001', `a user holds at most ${this.maxTemporaryKeysPerUser} unexpired temporary access keys; wait for some to expire.`);
    }
    const securityToken = randomBytes(48).toString('base64url');
    // A temporary key never outlives, nor reaches further than, the token it was issued for.
    const expiresAt = Math.min(this.clock() + durationSeconds * 1000, token.expiresAt);
    const pair = await this.#newAccessKey(userId, sha256(securityToken), expiresAt, token.id, token.projectId);
    return { ...pair, securityToken, expiresAt };
  }

  async #newAccessKey(userId: string, securityTokenHash: string | null, expiresAt: number | null, sourceTokenId: string | null, projectId: string | null, description = '') {
    for (;;) {
      const accessKey = randomString(20, AK_ALPHABET);
      const secretKey = randomString(40, SK_ALPHABET);
      const record: AccessKeyRecord = {
        accessKey, userId, secretWrapped: await this.rootKey.wrap(Buffer.from(secretKey), akContext(accessKey)),
        securityTokenHash, expiresAt, createdAt: this.clock(), enabled: true, sourceTokenId, projectId, description,
      };
      if (await this.store.insertAccessKey(record)) return { accessKey, secretKey, record };
    }
  }

  /**
   * Password authentication (POST /v3/auth/tokens): a signed token and its claims. 401 IAM.0002 for a wrong name or
   * password; 401 IAM.0061 while the user is locked after repeated failures; 429 APIGW.0308 when the source has
   * too many logins waiting for a password check (login-guard.ts).
   */
  async passwordToken(input: PasswordAuthInput): Promise<{ token: string; claims: TokenClaims }> {
    const domain = await this.store.findDomainByName(input.domainName);
    const user = domain ? await this.store.findUser(domain.id, input.userName) : null;
    // Hash even for unknown users, so timing does not reveal which names exist.
    const { ok, state } = await this.loginGuard.attempt(user?.id ?? null, input.source ?? '', () =>
      verifyPassword(input.password, user?.passwordHash ?? 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='));
    if (!domain || !user || !ok || !user.enabled) throw new KmsError('IAM.0002');
    await this.loginGuard.succeeded(user.id, state!);
    this.loginGuard.refundSource(input.source ?? '');
    const now = this.clock();
    const claims: TokenClaims = {
      jti: newTokenId(), iat: now, exp: now + TOKEN_LIFETIME_MS, methods: ['password'],
      user: { id: user.id, name: user.name }, domain: { id: domain.id, name: domain.name },
    };
    const scope = input.scope;
    if (scope?.project && scope.projectId === undefined && scope.projectName === undefined) {
      throw new KmsError('IAM.0001', 'auth.scope.project needs an id, or a name with its domain.');
    }
    if (scope?.domain && scope.domainId === undefined && scope.domainName === undefined) {
      throw new KmsError('IAM.0001', 'auth.scope.domain needs an id or a name.');
    }
    if (scope?.projectId !== undefined || scope?.projectName !== undefined) {
      const project = scope.projectId !== undefined ? await this.store.getProject(scope.projectId) : (await this.store.listProjects(domain.id, scope.projectName)).at(0) ?? null;
      if (!project || project.domainId !== domain.id) throw new KmsError('IAM.0004', 'The project does not exist or does not belong to your account.');
      if (scope.projectDomainName !== undefined && scope.projectDomainName !== domain.name) throw new KmsError('IAM.0004', 'The project does not belong to that account.');
      if (scope.projectDomainId !== undefined && scope.projectDomainId !== domain.id) throw new KmsError('IAM.0004', 'The project does not belong to that account.');
      claims.project = { id: project.id, name: project.name, region: project.region };
    } else if (scope?.domainId !== undefined || scope?.domainName !== undefined) {
      if ((scope.domainId ?? domain.id) !== domain.id || (scope.domainName ?? domain.name) !== domain.name) {
        throw new KmsError('IAM.0004', 'A token can only be scoped to your own account.');
      }
      claims.domainScoped = true;
    }
    return { token: issueToken(claims, this.#signingKey().privatePem), claims };
  }

  /**
   * Validates a token here in IAM: signature, expiry, revocation, and that its user still exists, is enabled, and has
   * neither changed password nor been disabled since the token was issued.
   */
  async validateToken(token: string): Promise<TokenClaims> {
    const check = checkToken(token, this.#signingKey().publicKey, this.clock());
    if (!check.ok) throw new KmsError(check.expired ? 'APIGW.0307' : 'APIGW.0301', 'The token is invalid.');
    if (await this.store.isRevoked(check.claims.jti)) throw new KmsError('APIGW.0301', 'The token has been revoked.');
    const user = await this.store.getUser(check.claims.user.id);
    if (!user || !user.enabled) throw new KmsError('APIGW.0301', 'The token\'s user is disabled or no longer exists.');
    if (check.claims.iat < user.tokensNotBefore) throw new KmsError('APIGW.0301', 'The token was issued before the user\'s password changed or the user was disabled.');
    return check.claims;
  }

  /** The claims of a token that verifies, expired or not; IAM.0003 for anything else. */
  tokenClaims(token: string): TokenClaims {
    const check = checkToken(token, this.#signingKey().publicKey, this.clock());
    if (!check.ok && !check.expired) throw new KmsError('IAM.0003', 'The token is invalid.');
    return check.claims;
  }

  /** Revokes a token, expired or not (Keystone deletes either); who may do so is the API's decision. */
  async revokeToken(claims: TokenClaims): Promise<void> {
    if (await this.store.isRevoked(claims.jti)) throw new KmsError('IAM.0003', 'The token is already revoked.');
    await this.store.revokeToken(claims.jti, claims.exp);
  }

  /** Revocations after `seq`; `latest` is the sequence a follower has then seen everything up to. */
  async revocationsSince(seq: number) {
    const revocations = await this.store.revokedSince(seq, this.clock());
    return { revocations, latest: revocations.reduce((max, r) => Math.max(max, r.seq), seq) };
  }

  /**
   * Verifies a request signature made with an access key: `candidates` are the strings to sign the request may
   * have been signed over (aksk.ts). Temporary keys need their matching, unexpired security token.
   */
  async verifySignature(accessKey: string, candidates: readonly string[], signature: string, securityToken: string | undefined): Promise<Principal> {
    const record = await this.store.getAccessKey(accessKey);
    if (!record || !record.enabled) throw new KmsError('APIGW.0301', 'The access key does not exist.');
    if (record.expiresAt !== null && record.expiresAt <= this.clock()) throw new KmsError('APIGW.0307', 'The temporary access key has expired.');
    if (record.securityTokenHash !== null) {
      const given = Buffer.from(sha256(securityToken ?? ''));
      if (securityToken === undefined || !timingSafeEqual(given, Buffer.from(record.securityTokenHash))) {
        throw new KmsError('APIGW.0301', 'A temporary access key needs its X-Security-Token.');
      }
    }
    if (record.sourceTokenId !== null && (await this.store.isRevoked(record.sourceTokenId))) {
      throw new KmsError('APIGW.0301', 'The token this temporary access key was issued for has been revoked.');
    }
    const owner = await this.store.getUser(record.userId);
    if (!owner || !owner.enabled) throw new KmsError('APIGW.0301', 'The access key has no active user.');
    const secret = (await this.rootKey.unwrap(record.secretWrapped, akContext(accessKey))).toString('utf8');
    if (!signatureMatches(secret, candidates, signature)) throw new KmsError('APIGW.0301', 'The signature does not match.');
    const user = owner;
    const domain = await this.store.getDomain(user.domainId);
    if (!domain) throw new KmsError('APIGW.0301', 'The access key has no active user.');
    return {
      user: { id: user.id, name: user.name }, domain: { id: domain.id, name: domain.name }, method: 'aksk',
      expiresAt: record.expiresAt ?? undefined, ...(record.projectId !== null ? { scopeProjectId: record.projectId } : {}),
      accessKey, temporary: record.securityTokenHash !== null, ...(record.sourceTokenId !== null ? { sourceTokenId: record.sourceTokenId } : {}),
    };
  }

  /**
   * What a region needs to check an access key's signatures itself (regions/iam-client.ts): the secret key, the
   * SHA-256 (hex) of a temporary key's security token, and its expiry (epoch ms); null when the key is gone or
   * disabled. Only ever given after a signature of the key verified, and only sealed for the asking region.
   */
  async accessKeyVerifier(accessKey: string): Promise<{ secret_key: string; security_token_hash: string | null; expires_at: number | null } | null> {
    const record = await this.store.getAccessKey(accessKey);
    if (!record || !record.enabled) return null;
    const secret = await this.rootKey.unwrap(record.secretWrapped, akContext(accessKey));
    try {
      return { secret_key: secret.toString('utf8'), security_token_hash: record.securityTokenHash, expires_at: record.expiresAt };
    } finally {
      secret.fill(0);
    }
  }

  #signingKey() {
    if (!this.#signing) throw new Error('IamService.init() was not called');
    return this.#signing;
  }
}
