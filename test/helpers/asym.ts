/**
 * Test-only helpers for the asymmetric engine tests: build the DER structures published vectors give as raw
 * numbers (ECDSA/SM2 signatures, SM2 keys and ciphertexts, RSA keys from n/e/d/p/q), and run the openssl command.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function derTlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(value.length), value]);
}

/** DER INTEGER from unsigned big-endian bytes. */
export function derUint(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const body = bytes.subarray(i);
  return derTlv(0x02, body[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), body]) : body);
}

export const derSeq = (...items: Buffer[]): Buffer => derTlv(0x30, Buffer.concat(items));

/** ECDSA / SM2 signature `SEQUENCE { r, s }`. */
export const derSignature = (r: string, s: string): Buffer => derSeq(derUint(hex(r)), derUint(hex(s)));

// id-ecPublicKey with namedCurve SM2 (1.2.156.10197.1.301)
const SM2_ALGORITHM = hex('301306072a8648ce3d020106082a811ccf5501822d');

/** SPKI DER of an SM2 public point (04 || x || y). */
export const sm2Spki = (point: Buffer): Buffer =>
  derSeq(SM2_ALGORITHM, derTlv(0x03, Buffer.concat([Buffer.from([0]), point])));

/** PKCS#8 DER of an SM2 private scalar d, with its public point if given (RFC 5915 ECPrivateKey inside). */
export function sm2Pkcs8(d: Buffer, point?: Buffer): Buffer {
  const ecPrivateKey = derSeq(
    derTlv(0x02, Buffer.from([1])),
    derTlv(0x04, d),
    ...(point ? [derTlv(0xa1, derTlv(0x03, Buffer.concat([Buffer.from([0]), point])))] : []),
  );
  return derSeq(derTlv(0x02, Buffer.from([0])), SM2_ALGORITHM, derTlv(0x04, ecPrivateKey));
}

/** GM/T 0009 SM2 ciphertext `SEQUENCE { x, y, C3, C2 }`. */
export const sm2CiphertextDer = (x: Buffer, y: Buffer, c3: Buffer, c2: Buffer): Buffer =>
  derSeq(derUint(x), derUint(y), derTlv(0x04, c3), derTlv(0x04, c2));

/** PEM armour for DER: 'PUBLIC KEY' (SPKI) or 'PRIVATE KEY' (PKCS#8). */
export function pem(der: Buffer, label: 'PUBLIC KEY' | 'PRIVATE KEY'): Buffer {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return Buffer.from(`-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`);
}

const b64u = (b: Buffer): string => b.toString('base64url');
const big = (b: Buffer): bigint => BigInt(`0x${b.toString('hex') || '0'}`);
function bytesOf(v: bigint, length: number): Buffer {
  return Buffer.from(v.toString(16).padStart(length * 2, '0'), 'hex');
}
function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

/** PKCS#8 + SPKI DER of an RSA key given n, e, d, p, q (hex); the CRT values are derived. */
export function rsaKeyFromParts(parts: { n: string; e: string; d: string; p: string; q: string }): {
  privateKey: Buffer;
  publicKey: Buffer;
} {
  const [n, e, d, p, q] = [hex(parts.n), hex(parts.e), hex(parts.d), hex(parts.p), hex(parts.q)];
  const [D, P, Q] = [big(d), big(p), big(q)];
  const half = p.length;
  const jwk: JsonWebKey = {
    kty: 'RSA',
    n: b64u(n),
    e: b64u(e),
    d: b64u(d),
    p: b64u(p),
    q: b64u(q),
    dp: b64u(bytesOf(D % (P - 1n), half)),
    dq: b64u(bytesOf(D % (Q - 1n), half)),
    qi: b64u(bytesOf(modInverse(Q, P), half)),
  };
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  return {
    privateKey: key.export({ format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey(key).export({ format: 'der', type: 'spki' }),
  };
}

/** PKCS#8 + SPKI DER of a NIST-curve key from d, x, y (hex). */
export function ecKeyFromParts(crv: 'P-256' | 'P-384', d: string, x: string, y: string) {
  const key = createPrivateKey({
    key: { kty: 'EC', crv, d: b64u(hex(d)), x: b64u(hex(x)), y: b64u(hex(y)) },
    format: 'jwk',
  });
  return {
    privateKey: key.export({ format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey(key).export({ format: 'der', type: 'spki' }),
  };
}

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/**
 * Runs `openssl ...args` in a scratch folder holding `files`; {in:NAME} in an argument is replaced by that file's
 * path and {out} by an output file, whose bytes are returned (or stdout when no {out} is used). Throws with
 * openssl's stderr when it exits non-zero.
 */
export function openssl(args: string[], files: Record<string, Buffer> = {}): { out: Buffer; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-openssl-'));
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    const outPath = join(dir, 'out.bin');
    let usesOut = false;
    const resolved = args.map((a) =>
      a.replace(/\{in:([\w.-]+)\}/g, (_, name: string) => join(dir, name)).replace(/\{out\}/g, () => {
        usesOut = true;
        return outPath;
      }),
    );
    const run = spawnSync('openssl', resolved, { cwd: dir });
    if (run.status !== 0) {
      throw new Error(`openssl ${args.join(' ')} failed (${run.status}): ${run.stderr.toString()}${run.stdout.toString()}`);
    }
    return { out: usesOut ? readFileSync(outPath) : run.stdout, stdout: run.stdout.toString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Like openssl() but returns the exit status instead of throwing (for verify commands). */
export function opensslStatus(args: string[], files: Record<string, Buffer> = {}): number {
  try {
    openssl(args, files);
    return 0;
  } catch {
    return 1;
  }
}
