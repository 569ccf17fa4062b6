/**
 * `npm run bench`: throughput of KMS operations through the HTTP API of a local deployment (IAM and one region in
 * this process, token authentication, 8 requests in flight), each beside the same primitive called directly on
 * node:crypto / OpenSSL in the same run, reported as a ratio. Loopback only; every line is bounded in time.
 * BENCH_SECONDS sets the seconds per line (default 3).
 */
import { createHash, randomBytes } from 'node:crypto';
import { ASYMMETRIC_ENCRYPTION_ALGORITHMS, KEY_PAIR_SPECS, MAC_ALGORITHMS, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../src/crypto/algorithms.js';
import { aes256Gcm } from '../src/crypto/symmetric.js';
import { signedRequest, startTestDeployment, tokenRequest } from '../test/helpers/deployment.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = 8;

async function measure(op: () => Promise<unknown> | unknown, concurrency = 1): Promise<number> {
  const until = Date.now() + SECONDS * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        await op();
        count++;
      }
    }),
  );
  return count / SECONDS;
}

const rows: string[][] = [];
function report(name: string, api: number, direct: number): void {
  rows.push([name, api.toFixed(0), direct.toFixed(0), (api / direct).toFixed(3)]);
  console.log(`${name.padEnd(40)} ${api.toFixed(0).padStart(8)} ${direct.toFixed(0).padStart(10)} ${(api / direct).toFixed(3).padStart(7)}`);
}

const d = await startTestDeployment({ regions: ['cn-north-4'], checkResponses: false });
try {
  const region = 'cn-north-4';
  const p = d.projectId(region);
  const url = d.endpoint(region);
  const token = await d.token(region);
  const call = (op: string, body: object) => tokenRequest(url, token, 'POST', `/v1.0/${p}/kms/${op}`, body);
  const createKey = async (alias: string, spec: string, usage?: string) =>
    (await d.kms(region, 'create-key', { key_alias: alias, key_spec: spec, ...(usage ? { key_usage: usage } : {}) })).body.key_info.key_id as string;
  const must = async (r: Promise<{ status: number; body: any }>) => {
    const res = await r;
    if (res.status !== 200) throw new Error(JSON.stringify(res.body));
    return res.body;
  };

  console.log(`npm run bench  (${SECONDS} s per line, ${CONCURRENCY} API requests in flight, node ${process.version})\n`);
  console.log(`${'operation'.padEnd(40)} ${'API/s'.padStart(8)} ${'direct/s'.padStart(10)} ${'ratio'.padStart(7)}`);

  const aes = await createKey('bench-aes', 'AES_256');
  const key32 = randomBytes(32);
  const plain = Buffer.from('x'.repeat(32));
  report('encrypt-data AES-256 32 B (token)', await measure(() => call('encrypt-data', { key_id: aes, plain_text: plain.toString() }), CONCURRENCY), await measure(() => aes256Gcm.seal(key32, plain, Buffer.alloc(0))));
  report('encrypt-data AES-256 32 B (AK/SK)', await measure(() => signedRequest(url, d.admin, p, 'POST', `/v1.0/${p}/kms/encrypt-data`, { key_id: aes, plain_text: plain.toString() }), CONCURRENCY), await measure(() => aes256Gcm.seal(key32, plain, Buffer.alloc(0))));

  const digest = createHash('sha256').update('bench message').digest();
  const signCases: [string, string, SigningAlgorithm, 'RSA_2048' | 'EC_P256' | 'SM2'][] = [
    ['RSA-2048 PKCS#1 v1.5', 'RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSA_2048'],
    ['EC P-256 ECDSA', 'EC_P256', 'ECDSA_SHA_256', 'EC_P256'],
    ['SM2DSA', 'SM2', 'SM2DSA_SM3', 'SM2'],
  ];
  for (const [label, spec, alg, pairSpec] of signCases) {
    const keyId = await createKey(`bench-${spec}`, spec, 'SIGN_VERIFY');
    const body = { key_id: keyId, signing_algorithm: alg, message: digest.toString('base64'), message_type: 'DIGEST' };
    const { signature } = await must(call('sign', body));
    const pair = KEY_PAIR_SPECS[pairSpec].generate();
    const entry = SIGNING_ALGORITHMS[alg];
    const direct = entry.sign(pair.privateKey, digest, 'DIGEST');
    report(`sign ${label}`, await measure(() => call('sign', body), CONCURRENCY), await measure(() => entry.sign(pair.privateKey, digest, 'DIGEST')));
    report(`verify ${label}`, await measure(() => call('verify', { ...body, signature }), CONCURRENCY), await measure(() => entry.verify(pair.publicKey, digest, 'DIGEST', direct)));
  }

  const rsaEnc = await createKey('bench-rsa-enc', 'RSA_2048', 'ENCRYPT_DECRYPT');
  const { cipher_text } = await must(call('encrypt-data', { key_id: rsaEnc, plain_text: 'a 32-byte secret for decryption!', encryption_algorithm: 'RSAES_OAEP_SHA_256' }));
  const rsaPair = KEY_PAIR_SPECS.RSA_2048.generate();
  const oaep = ASYMMETRIC_ENCRYPTION_ALGORITHMS.RSAES_OAEP_SHA_256;
  const rsaCipher = oaep.encrypt(rsaPair.publicKey, plain);
  report('decrypt-data RSA-2048 OAEP-SHA-256', await measure(() => call('decrypt-data', { key_id: rsaEnc, cipher_text, encryption_algorithm: 'RSAES_OAEP_SHA_256' }), CONCURRENCY), await measure(() => oaep.decrypt(rsaPair.privateKey, rsaCipher)));

  const hmacKey = await createKey('bench-hmac', 'HMAC_256', 'GENERATE_VERIFY_MAC');
  const message = randomBytes(64);
  const hmac = MAC_ALGORITHMS.HMAC_SHA_256.engine;
  report('generate-mac HMAC-SHA-256 64 B', await measure(() => call('generate-mac', { key_id: hmacKey, mac_algorithm: 'HMAC_SHA_256', message: message.toString('base64') }), CONCURRENCY), await measure(() => hmac.mac(key32, message)));
  console.log('\nratio = API operations per second / the same primitive called directly, one core, same run');
} finally {
  await d.stop();
}
