/**
 * A region's view of IAM, over HTTP like any other client: IAM's token-signing public key (tokens are then checked
 * locally), the list of revoked tokens and the feed of permission changes (followed by polling, so a revoked token
 * or a changed permission is in force in every region within one poll interval), callers' permissions (cached,
 * permission-cache.ts) and signature verification (the secret keys never leave IAM).
 */
import { createHash, createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { signatureMatches, verifierContext } from '../iam/aksk.js';
import { LruMap } from '../lru-map.js';
import { KmsError } from '../errors.js';
import { internalAuthorization, responseVerifies } from '../internal-auth.js';
import { checkToken, type TokenClaims } from '../iam/tokens.js';
import type { Principal } from '../iam/iam-service.js';
import { PermissionCache, type CallerPermissions } from './permission-cache.js';

export interface VerifiedSignature {
  principal: Principal;
  /** The project named in the path, when it exists and belongs to the caller's account. */
  project: ProjectView | null;
  /** The project named in the path when it belongs to another account (the caller may act there through grants). */
  foreignProject?: ProjectView | null;
}

export interface ProjectView {
  id: string;
  name: string;
  region: string;
  domainId: string;
}

/** Tokens remembered as verified (about 1 KiB each). */
export const VERIFIED_TOKENS = 10_000;

/** Access keys whose signatures a region checks itself (about 1 KiB each). */
export const KNOWN_ACCESS_KEYS = 10_000;
/** How long an access key IAM refused as unknown is refused without asking IAM again (milliseconds). */
export const UNKNOWN_KEY_MS = 60_000;
/** IAM's message for an access key it does not know or that is disabled (iam-service.ts verifySignature). */
const UNKNOWN_KEY_MESSAGE = 'The access key does not exist.';
/** A known access key is asked of IAM again after this long (ms), feed or not: what a lost change could cost. */
export const ACCESS_KEY_MAX_AGE_MS = 300_000;

/** What a region knows of an access key after IAM verified one of its signatures. */
interface KnownAccessKey {
  secretKey: string;
  /** SHA-256 (hex) of a temporary key's security token. */
  securityTokenHash: string | null;
  /** Epoch ms; null for a permanent key. */
  expiresAt: number | null;
  principal: Principal;
  /** Epoch ms of IAM's answer. */
  fetchedAt: number;
}

/** How long a project's account and region are remembered (they never change; a deleted project is rare). */
const PROJECT_CACHE_MS = 60_000;

export interface IamClientOptions {
  endpoint: string;
  secret: Buffer;
  nodeId: string;
  /** How often to fetch new revocations. */
  pollMs: number;
  /** Timeout of each call to IAM. */
  timeoutMs: number;
  /** A token is refused when the revocation list is older than this (IAM unreachable). */
  maxStalenessMs: number;
  clock?: () => number;
}

export class IamClient {
  #publicKey: KeyObject | null = null;
  #revoked = new Map<string, number>();
  #seq = 0;
  #syncedAt = 0;
  #timer: NodeJS.Timeout | null = null;
  #clock: () => number;
  /** The last permission change seen; null until the first sync. */
  #changeSeq: number | null = null;
  readonly #permissions: PermissionCache;
  readonly #projects = new LruMap<string, { project: ProjectView; at: number }>(10_000);
  /** Access keys whose verifier IAM sealed for this region, by access key id. */
  readonly #accessKeys = new LruMap<string, KnownAccessKey>(KNOWN_ACCESS_KEYS);
  /** Access keys IAM refused as unknown or disabled, until when (epoch ms) they are refused here without asking. */
  readonly #unknownKeys = new LruMap<string, number>(KNOWN_ACCESS_KEYS);
  /** Bumped whenever the feed drops cached entries, so that an answer fetched across a change is not kept. */
  #invalidations = 0;
  #transport?: { publicRaw: Buffer; open(sealed: Buffer, context: Buffer): Buffer };
  /** SHA-256 of a token whose signature verified → its claims. */
  readonly #verifiedTokens = new LruMap<string, TokenClaims>(VERIFIED_TOKENS);

  constructor(private readonly options: IamClientOptions) {
    this.#clock = options.clock ?? Date.now;
    this.#permissions = new PermissionCache((userId, projectId) => this.#fetchPermissions(userId, projectId));
  }

  /** Starts following IAM; resolves once the key and revocations were fetched, or after `waitMs` regardless. */
  async start(waitMs = 10_000): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (await this.sync().then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    this.#timer = setInterval(() => void this.sync().catch(() => undefined), this.options.pollMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /**
   * Cache counters since start (metrics): tokens whose verified claims were found (hits) or checked afresh (misses);
   * permission decisions answered from the cache or fetched from IAM.
   */
  readonly cacheStats = {
    tokenHits: 0,
    tokenMisses: 0,
    decisionHits: () => this.#permissions.hits,
    decisionMisses: () => this.#permissions.misses,
  };

  /**
   * For readiness (`/readyz`): resolves when IAM answered a poll within the allowed staleness
   * (`maxStalenessMs`), rejects with how long it has been silent otherwise.
   */
  async checkLink(): Promise<void> {
    if (this.#syncedAt === 0) throw new Error('IAM has not answered yet');
    const age = Date.now() - this.#syncedAt;
    if (age > this.options.maxStalenessMs) throw new Error(`IAM last answered ${Math.round(age / 1000)} s ago`);
  }

  /** Fetches the public key (first time) and revocations since the last sync. */
  async sync(): Promise<void> {
    if (!this.#publicKey) {
      const { public_key } = (await this.#call('GET', '/internal/v1/token-key')) as { public_key: string };
      this.#publicKey = createPublicKey(public_key);
    }
    const data = (await this.#call('GET', `/internal/v1/updates?after=${this.#seq}&changes_after=${this.#changeSeq ?? -1}`)) as {
      revocations: { seq: number; tokenId: string; expiresAt: number }[];
      latest: number;
      changes: { seq: number; domainId: string }[];
      latest_change: number;
      changes_complete: boolean;
    };
    const now = this.#clock();
    for (const r of data.revocations) this.#revoked.set(r.tokenId, r.expiresAt);
    for (const [id, exp] of this.#revoked) if (exp <= now) this.#revoked.delete(id);
    this.#seq = Math.max(this.#seq, data.latest);
    // No feed position yet, a gap, or a feed that went backwards (IAM's database restored): forget everything.
    const lost = this.#changeSeq === null || !data.changes_complete || data.latest_change < this.#changeSeq;
    if (lost) {
      this.#permissions.clear();
      this.#accessKeys.clear();
      this.#unknownKeys.clear();
      this.#invalidations++;
    } else if (data.changes.length > 0) {
      const domains = new Set(data.changes.map((c) => c.domainId));
      this.#permissions.invalidate(domains);
      this.#accessKeys.deleteWhere((k) => domains.has(k.principal.domain.id));
      this.#unknownKeys.clear(); // a key enabled again is named by its account, which a refused key has none of here
      this.#invalidations++;
    }
    this.#changeSeq = lost ? data.latest_change : Math.max(this.#changeSeq!, data.latest_change);
    this.#syncedAt = Date.now();
  }

  /**
   * The policies that apply to a user in a project, from the cache when the feed is current; when IAM has not been
   * heard from for longer than the allowed staleness, asked afresh (so a region cut off from IAM stops deciding).
   */
  permissions(userId: string, projectId: string, domainId: string): Promise<CallerPermissions> {
    const stale = Date.now() - this.#syncedAt > this.options.maxStalenessMs;
    return this.#permissions.get(userId, projectId, domainId, { fresh: stale });
  }

  async #fetchPermissions(userId: string, projectId: string): Promise<CallerPermissions> {
    const q = new URLSearchParams({ user_id: userId, project_id: projectId });
    return (await this.#call('GET', `/internal/v1/permissions?${q.toString()}`)) as CallerPermissions;
  }

  /**
   * Checks a token: signature, expiry, and that it is not revoked. A token whose signature verified is remembered
   * (by its SHA-256, never the token itself; `VERIFIED_TOKENS` entries, least recently used first out), so its next
   * calls skip the Ed25519 check; expiry and the revocation list are checked on every call, cached or not.
   * Errors: APIGW.0301 (invalid, revoked, or IAM unreachable for longer than the allowed staleness), APIGW.0307
   * (expired).
   */
  checkToken(token: string): TokenClaims {
    if (!this.#publicKey || Date.now() - this.#syncedAt > this.options.maxStalenessMs) {
      throw new KmsError('APIGW.0301', 'IAM cannot be reached to check tokens; try again shortly or sign the request with an access key.');
    }
    const now = this.#clock();
    const id = token.length <= 8192 ? createHash('sha256').update(token).digest('base64') : '';
    let claims = id === '' ? undefined : this.#verifiedTokens.get(id);
    if (claims === undefined) this.cacheStats.tokenMisses++;
    else this.cacheStats.tokenHits++;
    if (claims === undefined) {
      const check = checkToken(token, this.#publicKey, now);
      if (!check.ok) throw new KmsError(check.expired ? 'APIGW.0307' : 'APIGW.0301', check.expired ? 'The token has expired.' : 'The token is invalid.');
      claims = check.claims;
      if (id !== '') this.#verifiedTokens.set(id, claims);
    } else if (now >= claims.exp) {
      this.#verifiedTokens.delete(id);
      throw new KmsError('APIGW.0307', 'The token has expired.');
    }
    if (this.#revoked.has(claims.jti)) throw new KmsError('APIGW.0301', 'The token has been revoked.');
    return claims;
  }

  /**
   * Gives the client this region's transport key (crypto/transport.ts), so that IAM can seal access keys' verifiers
   * for it: from then on, a key whose signature IAM verified once is checked here (`verifySignature`).
   */
  useTransportKey(transport: { publicRaw: Buffer; open(sealed: Buffer, context: Buffer): Buffer }): void {
    this.#transport = transport;
  }

  /**
   * Checks an SDK-HMAC-SHA256 signature (`candidates`: the strings to sign the request may have been signed as,
   * from aksk.ts). The first signature of an access key is verified by IAM, which answers with the key's verifier
   * sealed for this region; the key's next signatures are verified here against it, with IAM's rules (expiry,
   * security token, the revocation of a temporary key's token), until the change feed names the key's account, the
   * feed is lost, or `ACCESS_KEY_MAX_AGE_MS` passes. Errors: APIGW.0301 (unknown key, wrong signature or security
   * token, revoked), APIGW.0307 (expired temporary key), KMS.0104 (IAM unreachable).
   */
  async verifySignature(input: { accessKey: string; candidates: string[]; signature: string; securityToken?: string; projectId: string }): Promise<VerifiedSignature> {
    const current = Date.now() - this.#syncedAt <= this.options.maxStalenessMs;
    const known = current ? this.#accessKeys.get(input.accessKey) : undefined;
    if (known && Date.now() - known.fetchedAt < ACCESS_KEY_MAX_AGE_MS) return this.#verifyHere(known, input);
    // An access key IAM said does not exist (or is disabled) is refused here for a while, without asking IAM again:
    // made-up keys sent at line rate cost IAM one round trip each per UNKNOWN_KEY_MS, not one per request.
    if (current && (this.#unknownKeys.get(input.accessKey) ?? 0) > Date.now()) throw new KmsError('APIGW.0301', UNKNOWN_KEY_MESSAGE);
    const before = this.#invalidations;
    let answer: VerifiedSignature & { verifier?: string };
    try {
      answer = (await this.#call('POST', '/internal/v1/verify-signature', {
        access_key: input.accessKey, candidates: input.candidates, signature: input.signature,
        security_token: input.securityToken, project_id: input.projectId,
        ...(this.#transport ? { seal_for: this.#transport.publicRaw.toString('base64') } : {}),
      })) as VerifiedSignature & { verifier?: string };
    } catch (err) {
      if (err instanceof KmsError && err.code === 'APIGW.0301' && err.message.endsWith(UNKNOWN_KEY_MESSAGE) && before === this.#invalidations) {
        this.#unknownKeys.set(input.accessKey, Date.now() + UNKNOWN_KEY_MS);
      }
      throw err;
    }
    // Kept unless the feed changed anything meanwhile (the key may have been disabled since IAM answered).
    if (answer.verifier !== undefined && this.#transport && before === this.#invalidations) {
      try {
        const opened = this.#transport.open(Buffer.from(answer.verifier, 'base64'), verifierContext(this.options.nodeId, input.accessKey));
        const v = JSON.parse(opened.toString('utf8')) as { secret_key: string; security_token_hash: string | null; expires_at: number | null };
        opened.fill(0);
        this.#accessKeys.set(input.accessKey, {
          secretKey: v.secret_key, securityTokenHash: v.security_token_hash, expiresAt: v.expires_at, principal: answer.principal, fetchedAt: Date.now(),
        });
      } catch {
        // not sealed for us: IAM verifies this key's next signature again
      }
    }
    return { principal: answer.principal, project: answer.project, foreignProject: answer.foreignProject ?? null };
  }

  /** IAM's checks of `IamService.verifySignature`, here, for a key whose verifier IAM gave this region. */
  async #verifyHere(known: KnownAccessKey, input: { accessKey: string; candidates: string[]; signature: string; securityToken?: string; projectId: string }): Promise<VerifiedSignature> {
    if (known.expiresAt !== null && known.expiresAt <= this.#clock()) {
      this.#accessKeys.delete(input.accessKey);
      throw new KmsError('APIGW.0307', 'The temporary access key has expired.');
    }
    if (known.securityTokenHash !== null) {
      const given = Buffer.from(createHash('sha256').update(input.securityToken ?? '').digest('hex'));
      if (input.securityToken === undefined || !timingSafeEqual(given, Buffer.from(known.securityTokenHash))) {
        throw new KmsError('APIGW.0301', 'A temporary access key needs its X-Security-Token.');
      }
    }
    const p = known.principal;
    if (p.sourceTokenId !== undefined && this.#revoked.has(p.sourceTokenId)) {
      throw new KmsError('APIGW.0301', 'The token this temporary access key was issued for has been revoked.');
    }
    if (!signatureMatches(known.secretKey, input.candidates, input.signature)) throw new KmsError('APIGW.0301', 'The signature does not match.');
    // The project, as IAM's verify-signature decides it: the caller's account's (within a temporary key's scope),
    // or another account's (grants only; not for a project-scoped temporary key).
    const project = await this.project(input.projectId);
    const inScope = p.scopeProjectId === undefined || p.scopeProjectId === project?.id;
    const owned = project && project.domainId === p.domain.id && inScope ? project : null;
    const foreign = project && project.domainId !== p.domain.id && p.scopeProjectId === undefined ? project : null;
    return { principal: p, project: owned, foreignProject: foreign };
  }

  /**
   * Which account owns a project, its name and its region (replicate's target project; the project of a grantee of
   * another account), remembered for a minute; null when there is no such project.
   */
  async project(projectId: string): Promise<ProjectView | null> {
    if (!/^[0-9a-zA-Z_-]{1,64}$/.test(projectId)) return null;
    const cached = this.#projects.get(projectId);
    if (cached && cached.at + PROJECT_CACHE_MS > Date.now()) return cached.project;
    const { project } = (await this.#call('GET', `/internal/v1/projects/${projectId}`)) as { project: { id: string; name: string; domain_id: string; region: string } | null };
    const view = project && { id: project.id, name: project.name, domainId: project.domain_id, region: project.region };
    if (view) this.#projects.set(projectId, { project: view, at: Date.now() });
    return view;
  }

  /** Whether IAM knows a user (`user`) or an account (`domain`) with this id (grantees, KMS.2402). */
  async principalExists(kind: 'user' | 'domain', id: string): Promise<boolean> {
    if (!/^[0-9a-zA-Z]{1,64}$/.test(id)) return false;
    const q = new URLSearchParams({ kind, id });
    return ((await this.#call('GET', `/internal/v1/principals?${q.toString()}`)) as { exists: boolean }).exists;
  }

  async #call(method: string, url: string, payload?: unknown): Promise<unknown> {
    const body = payload === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(payload));
    let res: Response;
    try {
      res = await fetch(this.options.endpoint + url, {
        method,
        headers: {
          authorization: internalAuthorization(this.options.secret, this.options.nodeId, method, url, body),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: payload === undefined ? undefined : body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch {
      throw new KmsError('KMS.0104', 'IAM cannot be reached.');
    }
    const text = Buffer.from(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
    if (!responseVerifies(this.options.secret, 'iam', text, res.headers.get('x-strongroom-signature'))) {
      throw new KmsError('KMS.0104', `IAM answered ${res.status} without a valid deployment signature.`);
    }
    let data: { error?: { error_code: string; error_msg: string }; error_code?: string; error_msg?: string } = {};
    try {
      data = JSON.parse(text.toString('utf8'));
    } catch {
      throw new KmsError('KMS.0104', 'IAM answered something that is not JSON.');
    }
    if (!res.ok) {
      // KMS and IAM errors are nested; the gateway's (APIGW.*) are flat.
      const code = data.error?.error_code ?? data.error_code;
      const message = data.error?.error_msg ?? data.error_msg ?? '';
      if (code === 'APIGW.0301' || code === 'APIGW.0307') throw new KmsError(code, message.replace(/^[^.]*\.\s*/, ''));
      throw new KmsError('KMS.0104', `IAM answered ${res.status}.`);
    }
    return data;
  }
}
