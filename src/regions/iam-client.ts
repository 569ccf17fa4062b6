/**
 * A region's view of IAM, over HTTP like any other client: IAM's token-signing public key (tokens are then checked
 * locally), the list of revoked tokens and the feed of permission changes (followed by polling, so a revoked token
 * or a changed permission is in force in every region within one poll interval), callers' permissions (cached,
 * permission-cache.ts) and signature verification (the secret keys never leave IAM).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
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
  readonly #projects = new Map<string, { project: ProjectView; at: number }>();

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
    if (lost) this.#permissions.clear();
    else this.#permissions.invalidate(data.changes.map((c) => c.domainId));
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

  /** Checks a token: signature, expiry, and that it is not revoked. */
  checkToken(token: string): TokenClaims {
    if (!this.#publicKey || Date.now() - this.#syncedAt > this.options.maxStalenessMs) {
      throw new KmsError('APIGW.0301', 'IAM cannot be reached to check tokens; try again shortly or sign the request with an access key.');
    }
    const check = checkToken(token, this.#publicKey, this.#clock());
    if (!check.ok) throw new KmsError(check.expired ? 'APIGW.0307' : 'APIGW.0301', check.expired ? 'The token has expired.' : 'The token is invalid.');
    if (this.#revoked.has(check.claims.jti)) throw new KmsError('APIGW.0301', 'The token has been revoked.');
    return check.claims;
  }

  async verifySignature(input: { accessKey: string; candidates: string[]; signature: string; securityToken?: string; projectId: string }): Promise<VerifiedSignature> {
    return (await this.#call('POST', '/internal/v1/verify-signature', {
      access_key: input.accessKey, candidates: input.candidates, signature: input.signature,
      security_token: input.securityToken, project_id: input.projectId,
    })) as VerifiedSignature;
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
    if (this.#projects.size > 10_000) this.#projects.clear();
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
