/**
 * Small data (docs/reference/huawei-kms-api.md §4 C 15–17, G 30): encrypt-data and decrypt-data (up to 4096 bytes,
 * Base64 ciphertext), re-encrypt, and create-pin (the access PIN of a dedicated keystore, core/keystores.ts).
 */
import { Type } from 'typebox';
import { associatedData, ENCRYPTION_ALGORITHMS } from '../../../core/crypto-ops.js';
import { parseBlob } from '../../../core/ciphertext.js';
import { KmsError } from '../../../errors.js';
import { answer, body, integer, keyId, oneOf, sequence, text } from '../../schema.js';
import { upperHex } from '../encoding.js';
import { aadFields, kmsOperation, projectParams, requestAad, viaGrant } from './common.js';

/** Huawei's decrypt-data pattern for `cipher_text` (§4 C 16). */
const CIPHERTEXT_PATTERN = '^[0-9a-zA-Z+/=]{128,5648}$';
const algorithm = () => Type.Optional(oneOf(ENCRYPTION_ALGORITHMS));

/** The key id inside a symmetric ciphertext, when it is one (used to authorize decrypt-data without key_id). */
export function blobKeyId(cipherText: string | undefined, kind: 'data' | 'datakey', encoding: 'base64' | 'hex'): string | undefined {
  if (cipherText === undefined) return undefined;
  return parseBlob(Buffer.from(cipherText, encoding), kind)?.keyId;
}

export const dataOperations = [
  kmsOperation({
    name: 'EncryptData',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/encrypt-data',
    action: 'kms:cmk:crypto',
    summary: 'Encrypt up to 4096 bytes with a symmetric key (or RSA/SM2 with encryption_algorithm).',
    mutates: false,
    params: projectParams,
    body: body({
      key_id: keyId(),
      plain_text: text({ code: 'KMS.2101', minBytes: 1, maxBytes: 4096, description: 'Plaintext, 1–4096 bytes of UTF-8.' }),
      encryption_algorithm: algorithm(),
      ...aadFields,
      sequence: sequence(),
    }),
    response: answer({ key_id: Type.String(), cipher_text: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    resourcePermission: viaGrant('encrypt-data'),
    handler: async (s, ctx, { body: b }) => {
      const out = await s.crypto.encryptData(ctx, b.key_id, Buffer.from(b.plain_text, 'utf8'), requestAad(b), b.encryption_algorithm);
      return { key_id: out.keyId, cipher_text: out.blob.toString('base64') };
    },
  }),

  kmsOperation({
    name: 'DecryptData',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/decrypt-data',
    action: 'kms:cmk:crypto',
    summary: 'Decrypt an encrypt-data ciphertext (symmetric ciphertexts name their key; asymmetric ones need key_id).',
    mutates: false,
    params: projectParams,
    body: body({
      cipher_text: text({ code: 'KMS.2201', pattern: CIPHERTEXT_PATTERN, description: 'Base64 ciphertext.' }),
      key_id: Type.Optional(keyId()),
      encryption_algorithm: algorithm(),
      ...aadFields,
      sequence: sequence(),
    }),
    response: answer({ key_id: Type.String(), plain_text: Type.String(), plain_text_base64: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id ?? blobKeyId(b.cipher_text, 'data', 'base64')],
    resourcePermission: viaGrant('decrypt-data'),
    handler: async (s, ctx, { body: b }) => {
      const out = await s.crypto.decryptData(ctx, Buffer.from(b.cipher_text, 'base64'), requestAad(b), b.key_id, b.encryption_algorithm);
      return { key_id: out.keyId, plain_text: out.plaintext.toString('utf8'), plain_text_base64: out.plaintext.toString('base64') };
    },
  }),

  kmsOperation({
    name: 'ReEncrypt',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/re-encrypt',
    action: 'kms:cmk:reEncrypt',
    actionSource: 'strongroom',
    summary: 'Decrypt under the source key and encrypt under the destination key, without the plaintext leaving KMS.',
    mutates: false,
    params: projectParams,
    body: body({
      cipher_text: text({ code: 'KMS.2201', maxBytes: 8192, description: 'Base64 (encrypt-data) or hex (data key) ciphertext.' }),
      destination_key_id: keyId(),
      source_key_id: Type.Optional(keyId()),
      source_encryption_algorithm: algorithm(),
      destination_encryption_algorithm: algorithm(),
      source_additional_authenticated_data: Type.Optional(text({ maxBytes: 128 })),
      destination_additional_authenticated_data: Type.Optional(text({ maxBytes: 128 })),
      datakey_cipher_length: Type.Optional(integer({ code: 'KMS.0308', minimum: 1, maximum: 1024, description: 'Set for data key ciphertexts: the data key length in bytes.' })),
      sequence: sequence(),
    }),
    response: answer({
      key_id: Type.String(),
      source_key_id: Type.String(),
      source_encryption_algorithm: Type.String(),
      destination_encryption_algorithm: Type.String(),
      cipher_text: Type.String(),
    }),
    keyIds: ({ body: b }) => [
      b.source_key_id ?? (b.datakey_cipher_length === undefined ? blobKeyId(b.cipher_text, 'data', 'base64') : blobKeyId(b.cipher_text, 'datakey', 'hex')),
      b.destination_key_id,
    ],
    handler: async (s, ctx, { body: b }) => {
      const dataKeyBytes = b.datakey_cipher_length;
      let blob: Buffer;
      if (dataKeyBytes === undefined) {
        if (!new RegExp(CIPHERTEXT_PATTERN).test(b.cipher_text)) throw new KmsError('KMS.2201', 'cipher_text must be a Base64 encrypt-data ciphertext.');
        blob = Buffer.from(b.cipher_text, 'base64');
      } else {
        if (!/^(?:[0-9a-fA-F]{2})*$/.test(b.cipher_text)) throw new KmsError('KMS.2201', 'cipher_text must be hexadecimal.');
        blob = Buffer.from(b.cipher_text, 'hex');
      }
      const sourceAlgorithm = b.source_encryption_algorithm ?? 'SYMMETRIC_DEFAULT';
      const destinationAlgorithm = b.destination_encryption_algorithm ?? 'SYMMETRIC_DEFAULT';
      const out = await s.crypto.reEncrypt(ctx, {
        blob, sourceKeyId: b.source_key_id, sourceAlgorithm, destinationKeyId: b.destination_key_id, destinationAlgorithm, dataKeyBytes,
        sourceAad: associatedData(b.source_additional_authenticated_data, undefined),
        destinationAad: associatedData(b.destination_additional_authenticated_data, undefined),
      });
      return {
        key_id: out.keyId,
        source_key_id: out.sourceKeyId,
        source_encryption_algorithm: sourceAlgorithm,
        destination_encryption_algorithm: destinationAlgorithm,
        cipher_text: dataKeyBytes === undefined ? out.blob.toString('base64') : upperHex(out.blob),
      };
    },
  }),

  kmsOperation({
    name: 'CreatePin',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/create-pin',
    action: 'kms:cmk:createPin',
    actionSource: 'strongroom',
    summary: 'Issue the access PIN of a dedicated keystore (replacing the previous one): its keys\' data key operations then need it as pin/pin_type. PlainText answers it in clear; CipherText (default) sealed in the keystore\'s HSM.',
    mutates: true,
    params: projectParams,
    body: body({
      pin_type: Type.Optional(oneOf(['CipherText', 'PlainText'])),
      keystore_id: Type.Optional(text({ code: 'KMS.0340', maxBytes: 64, description: 'The dedicated keystore whose PIN this is.' })),
      sequence: sequence(),
    }),
    response: answer({ pin: Type.String() }),
    handler: async (s, ctx, { body: b }) => ({ pin: await s.keystores.createPin(ctx, b.keystore_id, b.pin_type) }),
  }),
];
