/**
 * Single-thread throughput of the public-key engines called directly (no HTTP): DER keys in, as the KMS calls them.
 * `node --import tsx bench/engines.ts`; ENGINE_BENCH_MS sets the milliseconds per line (default 2000) and
 * ENGINE_BENCH_ROUNDS the rounds per line (default 3, the median is printed). Pin it to one core with
 * `taskset -c 1` for comparable numbers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ASYMMETRIC_ENCRYPTION_ALGORITHMS, KEY_PAIR_SPECS, SIGNING_ALGORITHMS } from '../src/crypto/algorithms.js';

const MS = Number(process.env.ENGINE_BENCH_MS ?? 2000);
const ROUNDS = Number(process.env.ENGINE_BENCH_ROUNDS ?? 3);

function opsPerSecond(op: () => unknown): number {
  for (let i = 0; i < 50; i++) op(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    const until = start + BigInt(MS) * 1_000_000n;
    let count = 0;
    let now = start;
    while (now < until) {
      for (let i = 0; i < 16; i++) op();
      count += 16;
      now = process.hrtime.bigint();
    }
    rates.push(count / (Number(now - start) / 1e9));
  }
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)]!;
}

function line(name: string, op: () => unknown): void {
  console.log(`${name.padEnd(44)} ${opsPerSecond(op).toFixed(0).padStart(9)} ops/s`);
}

const message = Buffer.from('engine benchmark message');
const sha256 = createHash('sha256').update(message).digest();
const ec = KEY_PAIR_SPECS.EC_P256.generate();
const rsa = KEY_PAIR_SPECS.RSA_2048.generate();
const sm2 = KEY_PAIR_SPECS.SM2.generate();
const ecdsa = SIGNING_ALGORITHMS.ECDSA_SHA_256;
const pkcs1 = SIGNING_ALGORITHMS.RSASSA_PKCS1_V1_5_SHA_256;
const sm2dsa = SIGNING_ALGORITHMS.SM2DSA_SM3;
const oaep = ASYMMETRIC_ENCRYPTION_ALGORITHMS.RSAES_OAEP_SHA_256;
const sm2enc = ASYMMETRIC_ENCRYPTION_ALGORITHMS.SM2_ENCRYPT;

const ecRawSig = ecdsa.sign(ec.privateKey, message, 'RAW');
const ecDigestSig = ecdsa.sign(ec.privateKey, sha256, 'DIGEST');
const sm2Sig = sm2dsa.sign(sm2.privateKey, message, 'RAW');
const secret = randomBytes(32);
const rsaCipher = oaep.encrypt(rsa.publicKey, secret);
const sm2Cipher = sm2enc.encrypt(sm2.publicKey, secret);

console.log(`engines bench: node ${process.version}, OpenSSL ${process.versions.openssl}, ${MS} ms x ${ROUNDS} rounds, median`);
line('ECDSA P-256 sign RAW', () => ecdsa.sign(ec.privateKey, message, 'RAW'));
line('ECDSA P-256 verify RAW', () => ecdsa.verify(ec.publicKey, message, 'RAW', ecRawSig));
line('ECDSA P-256 sign DIGEST', () => ecdsa.sign(ec.privateKey, sha256, 'DIGEST'));
line('ECDSA P-256 verify DIGEST', () => ecdsa.verify(ec.publicKey, sha256, 'DIGEST', ecDigestSig));
line('RSA-2048 PKCS#1 v1.5 sign DIGEST', () => pkcs1.sign(rsa.privateKey, sha256, 'DIGEST'));
line('RSA-2048 OAEP-SHA-256 decrypt 32 B', () => oaep.decrypt(rsa.privateKey, rsaCipher));
line('SM2 sign RAW (default ID)', () => sm2dsa.sign(sm2.privateKey, message, 'RAW'));
line('SM2 verify RAW (default ID)', () => sm2dsa.verify(sm2.publicKey, message, 'RAW', sm2Sig));
line('SM2 decrypt 32 B', () => sm2enc.decrypt(sm2.privateKey, sm2Cipher));
