/** encrypt-data and decrypt-data (huawei-kms-api.md §4 C 15–16): up to 4096 bytes, Base64 ciphertext. */
import type { FastifyInstance } from 'fastify';
import { associatedData, ENCRYPTION_ALGORITHMS } from '../../core/crypto-ops.js';
import { KmsError } from '../../errors.js';
import { hexBytes, keyIdField, optionalInteger, optionalKeyId, optionalObject, optionalString, requiredString, upperHex, type Body } from '../fields.js';
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
  kmsPost(app, api, 're-encrypt', async (ctx, body) => {
    const cipherText = requiredString(body, 'cipher_text', { code: 'KMS.2201', maxBytes: 8192 });
    const destinationKeyId = keyIdField(body, 'destination_key_id');
    const sourceKeyId = optionalKeyId(body, 'source_key_id');
    const sourceAlgorithm = optionalString(body, 'source_encryption_algorithm', { oneOf: ENCRYPTION_ALGORITHMS }) ?? 'SYMMETRIC_DEFAULT';
    const destinationAlgorithm = optionalString(body, 'destination_encryption_algorithm', { oneOf: ENCRYPTION_ALGORITHMS }) ?? 'SYMMETRIC_DEFAULT';
    const dataKeyBytes = optionalInteger(body, 'datakey_cipher_length', { code: 'KMS.0308', min: 1, max: 1024 });
    const blob = dataKeyBytes === undefined
      ? Buffer.from(requiredString(body, 'cipher_text', { code: 'KMS.2201', pattern: CIPHERTEXT_RE }), 'base64')
      : hexBytes(cipherText, 'cipher_text', 'KMS.2201');
    const out = await api.crypto.reEncrypt(ctx, {
      blob, sourceKeyId, sourceAlgorithm, destinationKeyId, destinationAlgorithm, dataKeyBytes,
      sourceAad: associatedData(optionalString(body, 'source_additional_authenticated_data', { maxBytes: 128 }), undefined),
      destinationAad: associatedData(optionalString(body, 'destination_additional_authenticated_data', { maxBytes: 128 }), undefined),
    });
    return {
      key_id: out.keyId,
      source_key_id: out.sourceKeyId,
      source_encryption_algorithm: sourceAlgorithm,
      destination_encryption_algorithm: destinationAlgorithm,
      cipher_text: dataKeyBytes === undefined ? out.blob.toString('base64') : upperHex(out.blob),
    };
  });

  kmsPost(app, api, 'create-pin', async (_ctx, body) => {
    optionalString(body, 'pin_type', { oneOf: ['CipherText', 'PlainText'] });
    throw new KmsError('KMS.0340', 'PINs belong to the dedicated HSM card clusters of Huawei\'s level-4 assessment scenario; a Strongroom deployment has none.');
  });

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
