/**
 * IAM tokens: a JSON claim set signed with IAM's Ed25519 key, `SR1.<claims>.<signature>` in Base64url. Any region
 * holding IAM's public key checks a token without a database round trip; revocation is a separate list that IAM
 * publishes and regions follow (regions/iam-client.ts).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';

export const TOKEN_LIFETIME_MS = 24 * 3_600_000;
const PREFIX = 'SR1.';

export interface TokenClaims {
  /** Token id, used for revocation. */
  jti: string;
  /** Issued at / expires at, epoch milliseconds. */
  iat: number;
  exp: number;
  methods: string[];
  user: { id: string; name: string };
  domain: { id: string; name: string };
  /** Present for project-scoped tokens. */
  project?: { id: string; name: string; region: string };
  /** True for domain-scoped tokens. */
  domainScoped?: boolean;
}

export function newTokenId(): string {
  return randomUUID();
}

export function generateSigningKey(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

export function issueToken(claims: TokenClaims, privatePem: string): string {
  const body = PREFIX + Buffer.from(JSON.stringify(claims)).toString('base64url');
  return body + '.' + sign(null, Buffer.from(body), createPrivateKey(privatePem)).toString('base64url');
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; expired: false } | { ok: false; expired: true; claims: TokenClaims };

/** Checks signature and expiry; says nothing of revocation. */
export function checkToken(token: string, publicKey: KeyObject | string, now: number): TokenCheck {
  if (!token.startsWith(PREFIX) || token.length > 8192) return { ok: false, expired: false };
  const dot = token.lastIndexOf('.');
  if (dot <= PREFIX.length) return { ok: false, expired: false };
  const body = token.slice(0, dot);
  let claims: TokenClaims;
  try {
    const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    if (!verify(null, Buffer.from(body), key, Buffer.from(token.slice(dot + 1), 'base64url'))) return { ok: false, expired: false };
    claims = JSON.parse(Buffer.from(body.slice(PREFIX.length), 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return { ok: false, expired: false };
  }
  if (typeof claims.exp !== 'number' || typeof claims.jti !== 'string') return { ok: false, expired: false };
  if (now >= claims.exp) return { ok: false, expired: true, claims };
  return { ok: true, claims };
}
