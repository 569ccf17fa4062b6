/**
 * Authentication of calls between Strongroom's own processes (a region asking IAM, a region asking a peer):
 * `Authorization: Strongroom-Internal node=<id>, date=<ms>, signature=<hex>` where the signature is
 * HMAC-SHA256(deployment secret, node ‖ date ‖ method ‖ path-and-query ‖ SHA-256(body)), valid for 5 minutes.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const SCHEME = 'Strongroom-Internal';
/** How far an internal request's date may be from the receiver's clock (milliseconds). */
export const MAX_SKEW_MS = 5 * 60_000;
const RE = /^Strongroom-Internal node=([A-Za-z0-9_.:-]+), date=(\d+), signature=([0-9a-f]{64})$/;

function mac(secret: Buffer, node: string, date: string, method: string, url: string, body: Buffer): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return createHmac('sha256', secret).update([node, date, method.toUpperCase(), url, bodyHash].join('\n')).digest('hex');
}

export function internalAuthorization(secret: Buffer, node: string, method: string, url: string, body: Buffer, now = Date.now()): string {
  return `${SCHEME} node=${node}, date=${now}, signature=${mac(secret, node, String(now), method, url, body)}`;
}

/** The calling node's id when the header is valid, else null. */
export function verifyInternal(secret: Buffer, header: string | undefined, method: string, url: string, body: Buffer, now = Date.now()): string | null {
  const m = header ? RE.exec(header) : null;
  if (!m) return null;
  const [, node, date, signature] = m as unknown as [string, string, string, string];
  if (Math.abs(now - Number(date)) > MAX_SKEW_MS) return null;
  const expected = Buffer.from(mac(secret, node, date, method, url, body));
  return timingSafeEqual(expected, Buffer.from(signature)) ? node : null;
}

/** Authenticates an internal response: HMAC-SHA256(secret, "response" ‖ answering node ‖ SHA-256(body)). */
export function responseSignature(secret: Buffer, node: string, body: Buffer): string {
  return createHmac('sha256', secret).update(['response', node, createHash('sha256').update(body).digest('hex')].join('\n')).digest('hex');
}

export function responseVerifies(secret: Buffer, node: string, body: Buffer, signature: string | null): boolean {
  if (!signature || !/^[0-9a-f]{64}$/.test(signature)) return false;
  return timingSafeEqual(Buffer.from(responseSignature(secret, node, body)), Buffer.from(signature));
}
