/**
 * `npm run bench`: throughput of KMS operations through the HTTP API of a local deployment, each beside the same
 * primitive called directly on node:crypto in the same run, reported as a ratio. Loopback only; bounded in time.
 */
import { randomBytes } from 'node:crypto';
import { aes256Gcm } from '../src/crypto/symmetric.js';
import { signedRequest, startTestDeployment, tokenRequest } from '../test/helpers/deployment.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = 8;

async function measure(name: string, op: () => Promise<unknown> | unknown, concurrency = 1): Promise<number> {
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
  const rate = count / SECONDS;
  console.log(`${name.padEnd(52)} ${rate.toFixed(0).padStart(9)} ops/s`);
  return rate;
}

const d = await startTestDeployment({ regions: ['cn-north-4'] });
try {
  const region = 'cn-north-4';
  const p = d.projectId(region);
  const url = d.endpoint(region);
  const token = await d.token(region);
  const keyId = (await d.kms(region, 'create-key', { key_alias: 'bench' })).body.key_info.key_id as string;
  const body = { key_id: keyId, plain_text: 'x'.repeat(32) };
  const check = await tokenRequest(url, token, 'POST', `/v1.0/${p}/kms/encrypt-data`, body);
  if (check.status !== 200) throw new Error(JSON.stringify(check.body));

  console.log(`npm run bench  (${SECONDS} s per line, node ${process.version}, one process for IAM and region)\n`);
  const key = randomBytes(32);
  const plain = Buffer.from(body.plain_text);
  const direct = await measure('AES-256-GCM seal 32 B, node:crypto (baseline)', () => aes256Gcm.seal(key, plain, Buffer.alloc(0)));
  const viaToken = await measure(`encrypt-data 32 B, X-Auth-Token, ${CONCURRENCY} in flight`, () => tokenRequest(url, token, 'POST', `/v1.0/${p}/kms/encrypt-data`, body), CONCURRENCY);
  const viaAksk = await measure(`encrypt-data 32 B, AK/SK signature, ${CONCURRENCY} in flight`, () => signedRequest(url, d.admin, p, 'POST', `/v1.0/${p}/kms/encrypt-data`, body), CONCURRENCY);
  console.log(`\nratio API/direct: token ${(viaToken / direct).toFixed(4)}, AK/SK ${(viaAksk / direct).toFixed(4)}`);
} finally {
  await d.stop();
}
