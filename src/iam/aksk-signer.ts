/**
 * The client side of the SDK-HMAC-SHA256 signature (docs/reference/huawei-auth.md §3.1–3.2): the headers a
 * request needs so that a Huawei-compatible server (aksk.ts here) accepts it, computed as Huawei's SDKs do. Every header given is signed
 * (the Node SDK's rule: `content-type`, `host`, `x-project-id`, `x-sdk-date`, `x-security-token` for temporary
 * credentials, and any custom header); the canonical URI encodes each decoded path segment (the Go, Python and Java
 * form); the body hash is the SHA-256 of the exact bytes sent. HMAC and SHA-256 come from node:crypto.
 */
import { createHash } from 'node:crypto';
import { ALGORITHM, canonicalQuery, computeSignature, encodeRfc3986 } from './aksk.js';

export interface SigningInput {
  method: string;
  /** The full URL as it will be sent (path percent-encoded, query included). */
  url: URL;
  /** Headers to send and sign (any case); `host` and `x-sdk-date` are added. */
  headers: Record<string, string>;
  /** The exact body bytes (empty for none). */
  body: Buffer;
  accessKey: string;
  secretKey: string;
  /** Epoch milliseconds of the signature (default now). */
  now?: number;
}

/** `YYYYMMDDTHHMMSSZ` in UTC, the `X-Sdk-Date` form. */
export function sdkDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function canonicalUri(path: string): string {
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const joined = path.split('/').map((s) => encodeRfc3986(decode(s))).join('/');
  return joined.endsWith('/') ? joined : joined + '/';
}

/**
 * The headers to send: the given ones (names lower-cased), `host` (the URL's host with a non-default port), `x-sdk-date`
 * and `authorization`. Throws nothing; the signature is lower-case hex.
 */
export function signedHeaders(input: SigningInput): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers)) headers[name.toLowerCase()] = value;
  headers.host = input.url.host;
  headers['x-sdk-date'] = sdkDate(input.now ?? Date.now());
  const names = Object.keys(headers).sort();
  const canonical = [
    input.method.toUpperCase(),
    canonicalUri(input.url.pathname),
    canonicalQuery(input.url.search.replace(/^\?/, '')),
    names.map((n) => `${n}:${headers[n]!.trim()}\n`).join(''),
    names.join(';'),
    createHash('sha256').update(input.body).digest('hex'),
  ].join('\n');
  const stringToSign = `${ALGORITHM}\n${headers['x-sdk-date']}\n${createHash('sha256').update(canonical).digest('hex')}`;
  headers.authorization = `${ALGORITHM} Access=${input.accessKey}, SignedHeaders=${names.join(';')}, Signature=${computeSignature(input.secretKey, stringToSign)}`;
  return headers;
}
