/**
 * Just enough DER (ITU-T X.690) to read the elliptic-curve key structures node cannot export for SM2 keys:
 * SubjectPublicKeyInfo (RFC 5280 §4.1, RFC 5480) and PKCS#8 PrivateKeyInfo (RFC 5208) holding an ECPrivateKey
 * (RFC 5915). It reads, it never builds; anything unexpected throws TypeError.
 */

interface Tlv {
  tag: number;
  /** Offset of the first value byte. */
  start: number;
  /** Offset just past the value. */
  end: number;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID = 0x06;

function readTlv(der: Buffer, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new TypeError('DER: truncated');
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new TypeError('DER: multi-byte tags are not used here');
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3) throw new TypeError('DER: unsupported length');
    if (start + count > limit) throw new TypeError('DER: truncated');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new TypeError('DER: length runs past the end');
  return { tag, start, end };
}

/** The TLVs inside a constructed value, in order. */
function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const tlv = readTlv(der, at, parent.end);
    out.push(tlv);
    at = tlv.end;
  }
  return out;
}

function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined || tlv.tag !== tag) throw new TypeError(`DER: expected ${what}`);
  return tlv;
}

function top(der: Buffer): Tlv {
  if (!Buffer.isBuffer(der)) throw new TypeError('DER input must be a Buffer');
  const tlv = expect(readTlv(der, 0, der.length), SEQUENCE, 'a SEQUENCE');
  if (tlv.end !== der.length) throw new TypeError('DER: trailing bytes');
  return tlv;
}

/** Dotted form of an OBJECT IDENTIFIER value. */
function oidText(der: Buffer, tlv: Tlv): string {
  const arcs: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    value = value * 128 + (der[i]! & 0x7f);
    if ((der[i]! & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  if (arcs.length === 0) throw new TypeError('DER: empty OBJECT IDENTIFIER');
  const first = arcs[0]!;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** AlgorithmIdentifier { algorithm OID, parameters OID } as used by EC keys (namedCurve parameters). */
function ecAlgorithm(der: Buffer, tlv: Tlv): { algorithm: string; curve: string } {
  const [algorithm, parameters] = children(der, expect(tlv, SEQUENCE, 'an AlgorithmIdentifier'));
  return {
    algorithm: oidText(der, expect(algorithm, OID, 'an algorithm OID')),
    curve: oidText(der, expect(parameters, OID, 'a namedCurve OID')),
  };
}

/** id-ecPublicKey (RFC 5480). */
export const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';

/** The algorithm, named curve and encoded point (SEC 1 §2.3.3) of an EC SubjectPublicKeyInfo. */
export function readEcSpki(spki: Buffer): { algorithm: string; curve: string; point: Buffer } {
  const [algorithm, key] = children(spki, top(spki));
  const { algorithm: oid, curve } = ecAlgorithm(spki, expect(algorithm, SEQUENCE, 'an AlgorithmIdentifier'));
  const bits = expect(key, BIT_STRING, 'a BIT STRING');
  if (bits.end - bits.start < 2 || spki[bits.start] !== 0) throw new TypeError('DER: malformed public key BIT STRING');
  return { algorithm: oid, curve, point: spki.subarray(bits.start + 1, bits.end) };
}

/** The algorithm, named curve and private scalar of a PKCS#8 EC private key. */
export function readEcPkcs8(pkcs8: Buffer): { algorithm: string; curve: string; scalar: Buffer } {
  const [version, algorithm, privateKey] = children(pkcs8, top(pkcs8));
  expect(version, INTEGER, 'a version INTEGER');
  const { algorithm: oid, curve } = ecAlgorithm(pkcs8, expect(algorithm, SEQUENCE, 'an AlgorithmIdentifier'));
  const wrapped = expect(privateKey, OCTET_STRING, 'an OCTET STRING');
  const ecPrivateKey = expect(readTlv(pkcs8, wrapped.start, wrapped.end), SEQUENCE, 'an ECPrivateKey');
  const [ecVersion, scalar] = children(pkcs8, ecPrivateKey);
  expect(ecVersion, INTEGER, 'an ECPrivateKey version');
  const d = expect(scalar, OCTET_STRING, 'a private key OCTET STRING');
  return { algorithm: oid, curve, scalar: pkcs8.subarray(d.start, d.end) };
}
