/**
 * The console's calls. Every call goes to IAM's own origin: IAM's API on its paths (`/v3/…`), a region's KMS API
 * through IAM's proxy `/console/api/regions/<region>/…` (src/console/serve.ts). Each carries the signed-in user's
 * token in X-Auth-Token, never in the URL. The session (tokens, project ids) lives in sessionStorage: it ends with
 * the tab.
 */

/** A region the user has a project-scoped token for. */
export interface RegionSession {
  id: string;
  projectId: string;
  token: string;
}

export interface Session {
  domain: string;
  domainId: string;
  user: string;
  userId: string;
  /** Account-scoped token, for IAM's API. */
  iamToken: string;
  regions: RegionSession[];
}

/** A refused call: its HTTP status and Huawei error code and message. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

type Json = Record<string, any>;

const STORAGE_KEY = 'strongroom.console.session';

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(STORAGE_KEY);
}

async function send(url: string, method: string, token: string | null, body?: unknown): Promise<{ json: Json; headers: Headers }> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers['X-Auth-Token'] = token;
  if (body !== undefined) headers['Content-Type'] = 'application/json;charset=UTF-8';
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server did not answer.');
  }
  const text = await res.text();
  let json: Json = {};
  try {
    json = text ? (JSON.parse(text) as Json) : {};
  } catch {
    json = {};
  }
  if (!res.ok) {
    const e = (json.error && typeof json.error === 'object' ? json.error : json) as Json;
    throw new ApiError(res.status, String(e.error_code ?? e.code ?? res.status), String(e.error_msg ?? e.message ?? res.statusText));
  }
  return { json, headers: res.headers };
}

async function passwordLogin(domain: string, user: string, password: string, scope: Json, catalog: boolean) {
  const body = { auth: { identity: { methods: ['password'], password: { user: { name: user, password, domain: { name: domain } } } }, scope } };
  const { json, headers } = await send(`/v3/auth/tokens${catalog ? '' : '?nocatalog=true'}`, 'POST', null, body);
  const token = headers.get('X-Subject-Token');
  if (!token) throw new ApiError(0, 'IAM', 'IAM gave no token.');
  return { token, body: json.token as Json };
}

/**
 * Signs in: an account-scoped token for IAM, then a token for the user's project in each region of the token's
 * catalogue (a region where the user has no project is left out). The password is not kept.
 */
export async function signIn(domain: string, user: string, password: string): Promise<Session> {
  const account = await passwordLogin(domain, user, password, { domain: { name: domain } }, true);
  const kms = ((account.body.catalog ?? []) as Json[]).find((c) => c.type === 'kms');
  const regionIds = ((kms?.endpoints ?? []) as Json[]).map((e) => String(e.region_id ?? e.region));
  const regions: RegionSession[] = [];
  for (const id of regionIds) {
    try {
      const r = await passwordLogin(domain, user, password, { project: { name: id, domain: { name: domain } } }, false);
      regions.push({ id, projectId: String(r.body.project.id), token: r.token });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status >= 500 || err.status === 429) throw err;
    }
  }
  return { domain, domainId: String(account.body.user.domain.id), user: String(account.body.user.name), userId: String(account.body.user.id), iamToken: account.token, regions };
}

/** Revokes the session's tokens (best effort), the account token last since it authorizes the others' revocation. */
export async function signOut(s: Session): Promise<void> {
  for (const token of [...s.regions.map((r) => r.token), s.iamToken]) {
    await fetch('/v3/auth/tokens', { method: 'DELETE', headers: { 'X-Auth-Token': s.iamToken, 'X-Subject-Token': token } }).catch(() => {});
  }
}

/** A KMS call in a region: `op` is the path after `/v1.0/{project_id}/kms/` (POST) . */
export async function kms(r: RegionSession, op: string, body: Json = {}): Promise<Json> {
  return (await send(`/console/api/regions/${encodeURIComponent(r.id)}/v1.0/${r.projectId}/kms/${op}`, 'POST', r.token, body)).json;
}

/** Any region call: `path` after `/v1.0/{project_id}/` or `/v2/{project_id}/` as `version` says. */
export async function regionCall(r: RegionSession, method: string, version: 'v1.0' | 'v2', path: string, body?: Json): Promise<Json> {
  return (await send(`/console/api/regions/${encodeURIComponent(r.id)}/${version}/${r.projectId}/${path}`, method, r.token, body)).json;
}

/** A call of IAM's API with the account-scoped token. */
export async function iam(s: Session, method: string, path: string, body?: Json): Promise<Json> {
  return (await send(path, method, s.iamToken, body)).json;
}
