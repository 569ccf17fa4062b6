/**
 * Cross-region edge cases found in review: concurrent replicates, an update-primary-region whose answer is lost
 * after the target promoted itself, and imported material re-imported after it expired in every region.
 */
import assert from 'node:assert/strict';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { PeerError, type ReplicationService } from '../src/core/replication.js';
import type { KeyImportService } from '../src/core/key-import.js';
import { signedRequest, startTestDeployment, type TestDeployment } from './helpers/deployment.js';
import { eventually } from './helpers/processes.js';

const N = 'cn-north-4';
const S = 'cn-south-1';
let offset = 0;
let d: TestDeployment;
before(async () => (d = await startTestDeployment({ regions: [N, S], clock: () => Date.now() + offset })));
after(() => d.stop());

const v2 = (region: string, method: string, keyId: string, op: string, body: object) =>
  signedRequest(d.endpoint(region), d.admin, d.projectId(region), method, `/v2/${d.projectId(region)}/kms/keys/${keyId}/${op}`, body);
const replicate = (keyId: string, alias: string) => v2(N, 'POST', keyId, 'replicate', { key_id: keyId, replica_region: S, key_alias: alias, replica_project_id: d.projectId(S) });
const service = <T>(region: string, name: string) => (d.regions.get(region)!.api as unknown as Record<string, T>)[name]!;

test('two replicates of one key at once: exactly one wins and its replica exists', async () => {
  for (let i = 0; i < 5; i++) {
    const keyId = (await d.kms(N, 'create-key', { key_alias: `race-${i}` })).body.key_info.key_id;
    const [a, b] = await Promise.all([replicate(keyId, `race-${i}-a`), replicate(keyId, `race-${i}-b`)]);
    assert.deepEqual([a.status, b.status].sort(), [200, 400], `${JSON.stringify(a.body)} ${JSON.stringify(b.body)}`);
    const winner = a.status === 200 ? `race-${i}-a` : `race-${i}-b`;
    await eventually('the replica is visible', async () => (await d.kms(S, 'describe-key', { key_id: keyId })).status === 200);
    assert.equal((await d.kms(S, 'describe-key', { key_id: keyId })).body.key_info.key_alias, winner);
    const cipher = (await d.kms(N, 'encrypt-data', { key_id: keyId, plain_text: 'raced' })).body.cipher_text;
    assert.equal((await d.kms(S, 'decrypt-data', { cipher_text: cipher })).body.plain_text, 'raced');
  }
});

test('an update-primary-region whose answer is lost after the target promoted itself ends with one primary', async () => {
  const keyId = (await d.kms(N, 'create-key', { key_alias: 'split' })).body.key_info.key_id;
  assert.equal((await replicate(keyId, 'split-s')).status, 200);
  const peers = (service<ReplicationService>(N, 'replication') as unknown as { peers: { promote: (...a: unknown[]) => Promise<void> } }).peers;
  const promote = peers.promote.bind(peers);
  peers.promote = async (...a: unknown[]) => {
    await promote(...a);
    throw new PeerError('timeout', 'the connection failed before an answer (socket hang up)');
  };
  let moved;
  try {
    moved = await v2(N, 'PUT', keyId, 'update-primary-region', { primary_region: S });
  } finally {
    peers.promote = promote;
  }
  assert.equal(moved.status, 504, JSON.stringify(moved.body));
  // The old primary finishes the handover from its outbox; it never acts as primary again meanwhile.
  assert.equal((await d.kms(N, 'rotate-on-demand', { key_id: keyId })).body.error?.error_code, 'KMS.0106');
  assert.equal((await d.kms(S, 'rotate-on-demand', { key_id: keyId })).status, 200);
  const fromSouth = (await d.kms(S, 'encrypt-data', { key_id: keyId, plain_text: 'one primary' })).body.cipher_text;
  assert.equal((await d.kms(N, 'decrypt-data', { cipher_text: fromSouth })).body.plain_text, 'one primary');
});

test('imported material re-imported after it expired everywhere reaches the replica again', async () => {
  const material = randomBytes(32);
  const importInto = async (keyId: string, expiration?: number) => {
    const p = (await d.kms(N, 'get-parameters-for-import', { key_id: keyId, wrapping_algorithm: 'RSAES_OAEP_SHA_256' })).body;
    const wrapped = publicEncrypt({ key: createPublicKey({ key: Buffer.from(p.public_key, 'base64'), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
    return d.kms(N, 'import-key-material', { key_id: keyId, import_token: p.import_token, encrypted_key_material: wrapped.toString('base64'), ...(expiration ? { expiration_time: expiration } : {}) });
  };
  const keyId = (await d.kms(N, 'create-key', { key_alias: 'byok-xr', origin: 'external' })).body.key_info.key_id;
  assert.equal((await importInto(keyId, Math.floor((Date.now() + offset) / 1000) + 3600)).status, 200);
  assert.equal((await replicate(keyId, 'byok-xr-s')).status, 200);
  offset += 2 * 3_600_000;
  for (const r of [N, S]) await service<KeyImportService>(r, 'imports').expireMaterial();
  for (const r of [N, S]) assert.equal((await d.kms(r, 'describe-key', { key_id: keyId })).body.key_info.key_state, '5');
  assert.equal((await importInto(keyId)).status, 200);
  await eventually('the replica has its material back', async () => (await d.kms(S, 'describe-key', { key_id: keyId })).body.key_info.key_state === '2');
  const cipher = (await d.kms(N, 'encrypt-data', { key_id: keyId, plain_text: 'back again' })).body.cipher_text;
  assert.equal((await d.kms(S, 'decrypt-data', { cipher_text: cipher })).body.plain_text, 'back again');
});
