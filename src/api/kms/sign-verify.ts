/**
 * Signatures, public keys, key agreement and MACs (huawei-kms-api.md §4 A 4, E 24–26, F 27–28). Messages,
 * signatures, MACs and secrets are Base64; `signature_valid` is the string "true"/"false", `mac_valid` a boolean.
 */
import type { FastifyInstance } from 'fastify';
import { publicKeyPem, type AsymmetricOps } from '../../core/asymmetric-ops.js';
import { MAC_ALGORITHMS, SIGNING_ALGORITHMS, type MacAlgorithm, type MessageType, type SigningAlgorithm } from '../../crypto/algorithms.js';
import { KmsError } from '../../errors.js';
import { base64Bytes, keyIdField, optionalString, requiredString, type Body } from '../fields.js';
import { kmsPost, type RegionApi } from './routes.js';

function message(body: Body, maxBytes: number, minBytes = 0): Buffer {
  const bytes = base64Bytes(requiredString(body, 'message'), 'message', 'KMS.0308');
  if (bytes.length > maxBytes || bytes.length < minBytes) throw new KmsError('KMS.0308', `message must decode to ${minBytes}–${maxBytes} bytes.`);
  return bytes;
}

function signingInput(body: Body) {
  const keyId = keyIdField(body);
  const algorithm = requiredString(body, 'signing_algorithm', { oneOf: Object.keys(SIGNING_ALGORITHMS) }) as SigningAlgorithm;
  const type = (optionalString(body, 'message_type', { oneOf: ['DIGEST', 'RAW'] }) ?? 'DIGEST') as MessageType;
  return { keyId, algorithm, type, message: message(body, 4095, 1) };
}

function macInput(body: Body) {
  const keyId = keyIdField(body);
  const algorithm = requiredString(body, 'mac_algorithm', { oneOf: Object.keys(MAC_ALGORITHMS) }) as MacAlgorithm;
  return { keyId, algorithm, message: message(body, 4096, 1) };
}

export function signVerifyRoutes(app: FastifyInstance, api: RegionApi & { asymmetric: AsymmetricOps }): void {
  const a = api.asymmetric;

  kmsPost(app, api, 'sign', async (ctx, body) => {
    const i = signingInput(body);
    return { key_id: i.keyId, signature: (await a.sign(ctx, i.keyId, i.algorithm, i.message, i.type)).toString('base64') };
  });

  kmsPost(app, api, 'verify', async (ctx, body) => {
    const i = signingInput(body);
    const signature = base64Bytes(requiredString(body, 'signature'), 'signature', 'KMS.0308');
    return { key_id: i.keyId, signature_valid: String(await a.verify(ctx, i.keyId, i.algorithm, i.message, i.type, signature)) };
  });

  kmsPost(app, api, 'get-publickey', async (ctx, body) => {
    const { keyId, spki } = await a.publicKey(ctx, keyIdField(body));
    return { key_id: keyId, public_key: publicKeyPem(spki) };
  });

  kmsPost(app, api, 'derive-shared-secret', async (ctx, body) => {
    const keyId = keyIdField(body);
    const algorithm = requiredString(body, 'key_agreement_algorithm', { oneOf: ['ECDH'] });
    if (body.recipient !== undefined && body.recipient !== null) {
      throw new KmsError('KMS.0308', 'recipient (enclave attestation) is not supported: there is no enclave attestation in a self-hosted deployment.');
    }
    const peer = base64Bytes(requiredString(body, 'public_key', { maxBytes: 8192 }), 'public_key', 'KMS.0308');
    const secret = await a.deriveSharedSecret(ctx, keyId, peer);
    return { key_id: keyId, key_agreement_algorithm: algorithm, shared_secret: secret.toString('base64') };
  });

  kmsPost(app, api, 'generate-mac', async (ctx, body) => {
    const i = macInput(body);
    return { key_id: i.keyId, mac_algorithm: i.algorithm, mac: (await a.generateMac(ctx, i.keyId, i.algorithm, i.message)).toString('base64') };
  });

  kmsPost(app, api, 'verify-mac', async (ctx, body) => {
    const i = macInput(body);
    const mac = base64Bytes(requiredString(body, 'mac'), 'mac', 'KMS.0308');
    return { key_id: i.keyId, mac_algorithm: i.algorithm, mac_valid: await a.verifyMac(ctx, i.keyId, i.algorithm, i.message, mac) };
  });
}
