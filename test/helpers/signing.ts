/**
 * Requests for tests and tools: signed with the official Huawei signer (@huaweicloud/huaweicloud-sdk-core), exactly
 * as the SDK's HcClient signs them, or carrying IAM tokens; every response is returned whole (status, headers, JSON
 * body). No test-runner import here, so command-line tools (chaos/) use it too.
 */
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.HOME = mkdtempSync(join(tmpdir(), 'strongroom-home-')); // the SDK core writes ~/.huaweicloud
const require = createRequire(import.meta.url);
const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner') as {
  AKSKSigner: { sign(req: object, cred: object): Record<string, string> };
};
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core') as {
  BasicCredentials: new () => { withAk(a: string): any; withSk(s: string): any; withProjectId(p: string): any; withSecurityToken(t: string): any };
};

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

async function toReply(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, headers: res.headers, body };
}

export interface Credentials {
  ak: string;
  sk: string;
  securityToken?: string;
}

/** A signed request that has not been sent yet: tests may alter it after signing (tampering checks). */
export interface SignedParts {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

let requestCounter = 0;

/**
 * Signs a request with the official Huawei signer, exactly as the SDK's HcClient signs it, without sending it.
 * `extraHeaders` are added before signing and therefore signed too (e.g. a pinned `X-Sdk-Date`). Each request also
 * signs an `X-Test-Request` counter: the tests' calls are distinct requests even when two identical ones fall in the
 * same second of `X-Sdk-Date` (the same bytes again would be a replay, which regions refuse for writes).
 */
export function signRequest(endpoint: string, creds: Credentials, projectId: string | undefined, method: string, path: string, body?: object, query?: Record<string, string>, extraHeaders: Record<string, string> = {}): SignedParts {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'X-Test-Request': String(++requestCounter), ...extraHeaders };
  if (projectId) headers['X-Project-Id'] = projectId;
  if (creds.securityToken) headers['X-Security-Token'] = creds.securityToken;
  let credential = new BasicCredentials().withAk(creds.ak).withSk(creds.sk);
  if (projectId) credential = credential.withProjectId(projectId);
  if (creds.securityToken) credential = credential.withSecurityToken(creds.securityToken);
  const signed = AKSKSigner.sign({ endpoint: endpoint + path, method, headers, data: body, queryParams: query ?? {} }, credential);
  const qs = query ? '?' + new URLSearchParams(query).toString().replace(/\+/g, '%20') : '';
  return { url: endpoint + path + qs, method, headers: signed, body: body === undefined ? undefined : JSON.stringify(body) };
}

/** Sends a (possibly altered) signed request. */
export async function sendSigned(parts: SignedParts): Promise<Reply> {
  return toReply(await fetch(parts.url, { method: parts.method, headers: parts.headers, body: parts.body }));
}

/** A request signed by the official Huawei signer, exactly as the SDK's HcClient signs it. */
export async function signedRequest(endpoint: string, creds: Credentials, projectId: string | undefined, method: string, path: string, body?: object, query?: Record<string, string>, extraHeaders?: Record<string, string>): Promise<Reply> {
  return sendSigned(signRequest(endpoint, creds, projectId, method, path, body, query, extraHeaders));
}

/** A request with an `X-Auth-Token`; `rawBody` sends bytes as they are (for malformed-body tests). */
export async function tokenRequest(endpoint: string, token: string | undefined, method: string, path: string, body?: object | string, headers: Record<string, string> = {}): Promise<Reply> {
  return toReply(
    await fetch(endpoint + path, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { 'X-Auth-Token': token } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
}

export async function passwordToken(iamEndpoint: string, user: { domain: string; name: string; password: string }, scope?: object): Promise<Reply> {
  return tokenRequest(iamEndpoint, undefined, 'POST', '/v3/auth/tokens', {
    auth: { identity: { methods: ['password'], password: { user: { domain: { name: user.domain }, name: user.name, password: user.password } } }, ...(scope ? { scope } : {}) },
  });
}
