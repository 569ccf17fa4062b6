/** encrypt-data and decrypt-data (huawei-kms-api.md §4 C 15–16): up to 4096 bytes, Base64 ciphertext. */
import type { FastifyInstance } from 'fastify';
import { associatedData, ENCRYPTION_ALGORITHMS } from '../../core/crypto-ops.js';
import { KmsError } from '../../errors.js';
import { keyIdField, optionalKeyId, optionalObject, optionalString, requiredString, type Body } from '../fields.js';
import { kmsPost, type RegionApi } from './routes.js';

const CIPHERTEXT_RE = /^[0-9a-zA-Z+/=]{128,5648}$/;

/** `additional_authenticated_data` (≤128 bytes) and the older `encryption_context` object, bound together. */
export function requestAad(body: Body, aadField = 'additional_authenticated_data'): Buffer {
  const aad = optionalString(body, aadField, { maxBytes: 128 });
  const context = optionalObject(body, 'encryption_context', 'KMS.0208');
  if (context !== undefined && JSON.stringify(context).length > 8192) throw new KmsError('KMS.0208', 'encryption_context may have at most 8192 characters.');
  return associatedData(aad, context);
}

export function smallDataRoutes(app: FastifyInstance, api: RegionApi): void {
  kmsPost(app, api, 'encrypt-data', async (ctx, body) => {
    const keyId = keyIdField(body);
    const plainText = requiredString(body, 'plain_text', { code: 'KMS.2101', minBytes: 1, maxBytes: 4096 });
    const algorithm = optionalString(body, 'encryption_algorithm', { oneOf: ENCRYPTION_ALGORITHMS });
    const out = await api.crypto.encryptData(ctx, keyId, Buffer.from(plainText, 'utf8'), requestAad(body), algorithm);
    return { key_id: out.keyId, cipher_text: out.blob.toString('base64') };
  });

  kmsPost(app, api, 'decrypt-data', async (ctx, body) => {
    const cipherText = requiredString(body, 'cipher_text', { code: 'KMS.2201', pattern: CIPHERTEXT_RE });
    const keyId = optionalKeyId(body);
    const algorithm = optionalString(body, 'encryption_algorithm', { oneOf: ENCRYPTION_ALGORITHMS });
    const out = await api.crypto.decryptData(ctx, Buffer.from(cipherText, 'base64'), requestAad(body), keyId, algorithm);
    return { key_id: out.keyId, plain_text: out.plaintext.toString('utf8'), plain_text_base64: out.plaintext.toString('base64') };
  });
}
