/**
 * The SDK-HMAC-SHA256 request signature of Huawei's SDKs (docs/reference/huawei-auth.md §3): parsing the Authorization
 * header, rebuilding the canonical request over exactly the signed headers, and the string to sign. Verification needs
 * the secret key: IAM checks a key's first signature in each region, and the region, given the key's verifier sealed
 * for it, checks the next ones itself (regions/iam-client.ts): see `signatureMatches`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'SDK-HMAC-SHA256';
export const MAX_SKEW_MS = 15 * 60_000;
const EMPTY_HASH = createHash('sha256').update('').digest('hex');
const AUTH_RE = /^SDK-HMAC-SHA256\s+Access=([^,]+),\s?SignedHeaders=([^,]+),\s?Signature=(\w+)$/;

export interface ParsedAuthorization {
  accessKey: string;
  signedHeaders: string[];
  signature: string;
}

export function parseAuthorization(header: string): ParsedAuthorization | null {
  const m = AUTH_RE.exec(header.trim());
  if (!m) return null;
  return { accessKey: m[1]!.trim(), signedHeaders: m[2]!.split(';').map((h) => h.trim().toLowerCase()), signature: m[3]!.toLowerCase() };
}

/** RFC 3986 encoding: only A-Z a-z 0-9 - _ . ~ stay; every other UTF-8 byte becomes %XX (uppercase). */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The canonical URI candidates for a wire path. The Node SDK signs the already-escaped segments (so `%20` is
 * signed as `%2520`) while Go, Python and Java decode each segment first; both forms are accepted (§3.7).
 */
export function canonicalUris(wirePath: string): string[] {
  const encodeSegments = (decode: boolean) => {
    const joined = wirePath.split('/').map((s) => encodeRfc3986(decode ? safeDecode(s) : s)).join('/');
    return joined.endsWith('/') ? joined : joined + '/';
  };
  return [...new Set([encodeSegments(true), encodeSegments(false)])];
}

/** Decodes the wire query and re-encodes it strictly, names sorted, then the values of each name. */
export function canonicalQuery(wireQuery: string): string {
  if (!wireQuery) return '';
  const pairs = wireQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      const [k, v] = i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
      return [encodeRfc3986(safeDecode(k)), encodeRfc3986(safeDecode(v))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export interface SignedRequest {
  method: string;
  /** Path as received, without the query. */
  path: string;
  /** Query as received, without the `?`. */
  query: string;
  /** Header values by lower-case name. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function headerValue(headers: SignedRequest['headers'], name: string): string {
  const v = headers[name];
  if (v === undefined) return '';
  return (Array.isArray(v) ? [...v].sort().join(',') : v).trim();
}

/** Every string to sign this request may have been signed over (path-encoding and payload-hash variants). */
export function stringsToSign(req: SignedRequest, auth: ParsedAuthorization): string[] {
  const date = headerValue(req.headers, 'x-sdk-date');
  const signedHeaders = [...auth.signedHeaders].sort();
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${headerValue(req.headers, h)}\n`).join('');
  const contentSha = headerValue(req.headers, 'x-sdk-content-sha256');
  const payloadHashes = contentSha
    ? req.body.length === 0
      ? [contentSha, EMPTY_HASH] // newer Python signs the empty hash when the body is empty (§3.3)
      : [contentSha]
    : [createHash('sha256').update(req.body).digest('hex')];
  const out: string[] = [];
  for (const uri of canonicalUris(req.path)) {
    for (const payloadHash of payloadHashes) {
      const canonical = [req.method.toUpperCase(), uri, canonicalQuery(req.query), canonicalHeaders, signedHeaders.join(';'), payloadHash].join('\n');
      out.push(`${ALGORITHM}\n${date}\n${createHash('sha256').update(canonical).digest('hex')}`);
    }
  }
  return out;
}

/** Parses `X-Sdk-Date` (YYYYMMDDTHHMMSSZ) to epoch milliseconds, or null when malformed. */
export function parseSdkDate(value: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return null;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(t) ? null : t;
}

export function computeSignature(secretKey: string, stringToSign: string): string {
  return createHmac('sha256', Buffer.from(secretKey, 'utf8')).update(stringToSign).digest('hex');
}

/** True when `signature` (hex) is the HMAC of any candidate string; compared in constant time. */
/**
 * The associated data of an access key's verifier sealed by IAM for one region (crypto/transport.ts): a verifier
 * opens only in the region it was sealed for, and only as the access key it was sealed for.
 */
export function verifierContext(region: string, accessKey: string): Buffer {
  return Buffer.from(`strongroom access key verifier\0${region}\0${accessKey}`);
}

export function signatureMatches(secretKey: string, candidates: readonly string[], signature: string): boolean {
  const given = Buffer.from(signature.toLowerCase(), 'utf8');
  let ok = false;
  for (const sts of candidates) {
    const expected = Buffer.from(computeSignature(secretKey, sts), 'utf8');
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

export type PrecheckResult = { ok: true; auth: ParsedAuthorization; candidates: string[] } | { ok: false; reason: string };

/**
 * Everything that can be checked without the secret key: header syntax, `x-sdk-date` signed and within the
 * allowed skew. Returns the candidate strings to sign.
 */
export function precheck(req: SignedRequest, now: number, options: { unsignedPayload?: boolean } = {}): PrecheckResult {
  const header = headerValue(req.headers, 'authorization');
  const auth = parseAuthorization(header);
  if (!auth) return { ok: false, reason: 'the Authorization header is not a valid SDK-HMAC-SHA256 signature' };
  // X-Sdk-Content-Sha256 stands in for the body hash: it must be signed, and unless it is UNSIGNED-PAYLOAD it
  // must be the body's hash, or a body could be swapped under a valid signature.
  const contentSha = headerValue(req.headers, 'x-sdk-content-sha256');
  if (contentSha) {
    if (!auth.signedHeaders.includes('x-sdk-content-sha256')) return { ok: false, reason: 'x-sdk-content-sha256 must be a signed header' };
    if (contentSha === 'UNSIGNED-PAYLOAD') {
      if (options.unsignedPayload === false && req.body.length > 0) return { ok: false, reason: 'this API needs the body signed (no UNSIGNED-PAYLOAD)' };
    } else if (contentSha.toLowerCase() !== createHash('sha256').update(req.body).digest('hex') && !(req.body.length === 0 && contentSha === EMPTY_HASH)) {
      return { ok: false, reason: 'X-Sdk-Content-Sha256 is not the hash of the body' };
    }
  }
  if (!auth.signedHeaders.includes('x-sdk-date')) return { ok: false, reason: 'x-sdk-date must be a signed header' };
  const date = parseSdkDate(headerValue(req.headers, 'x-sdk-date'));
  if (date === null) return { ok: false, reason: 'X-Sdk-Date must be YYYYMMDDTHHMMSSZ' };
  if (Math.abs(now - date) > MAX_SKEW_MS) return { ok: false, reason: 'X-Sdk-Date differs from the server time by more than 15 minutes' };
  return { ok: true, auth, candidates: stringsToSign(req, auth) };
}
