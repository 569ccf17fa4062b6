/**
 * Imported key material (docs/reference/huawei-kms-api.md §4 I 36–38). Token, material and public key are Base64;
 * `expiration_time` is epoch SECONDS (int64, §1.4), as a number or a string of digits.
 */
import { Type } from 'typebox';
import { answer, base64, body, integer, keyId, oneOf, sequence, text } from '../../schema.js';
import { kmsOperation, operateKey, projectParams } from './common.js';

/** The SDKs allow Base64 fields of the import API up to 6144 characters. */
const MAX_BASE64 = 6144;

export const keyImportOperations = [
  kmsOperation({
    name: 'CreateParametersForImport',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/get-parameters-for-import',
    action: 'kms:cmk:getMaterial',
    summary: 'A wrapping public key and a single-use import token, valid 24 hours.',
    mutates: true,
    params: projectParams,
    body: body({ key_id: keyId(), wrapping_algorithm: oneOf(['RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1', 'SM2_ENCRYPT', 'RSAES_PKCS1_V1_5'], { code: 'KMS.0308' }), sequence: sequence() }),
    response: answer({ key_id: Type.String(), import_token: Type.String(), expiration_time: Type.Integer(), public_key: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const p = await s.imports.getParametersForImport(ctx, b.key_id, b.wrapping_algorithm);
      return { key_id: p.keyId, import_token: p.importToken, expiration_time: Math.floor(p.expiresAt / 1000), public_key: p.publicKey.toString('base64') };
    },
  }),

  kmsOperation({
    name: 'ImportKeyMaterial',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/import-key-material',
    action: 'kms:cmk:importMaterial',
    summary: 'Import wrapped key material (state 5 → 2), optionally with an expiry in epoch seconds.',
    mutates: true,
    params: projectParams,
    body: body({
      key_id: keyId(),
      import_token: text({ code: 'KMS.2605', maxBytes: MAX_BASE64 }),
      encrypted_key_material: base64({ code: 'KMS.0308', maxChars: MAX_BASE64 }),
      // '' counts as absent (KMS.2608 for key pairs).
      encrypted_privatekey: Type.Optional(text({ code: 'KMS.0308', maxChars: MAX_BASE64, pattern: '^$|^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$' })),
      // Up to 10 digits of seconds (year 2286): a value in milliseconds is refused rather than read as a far future.
      expiration_time: Type.Optional(integer({ code: 'KMS.0308', minimum: 0, maximum: 9_999_999_999 })),
      sequence: sequence(),
    }),
    response: answer({}),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      await s.imports.importKeyMaterial(ctx, {
        keyId: b.key_id,
        importToken: b.import_token,
        encryptedKeyMaterial: Buffer.from(b.encrypted_key_material, 'base64'),
        encryptedPrivateKey: b.encrypted_privatekey === undefined || b.encrypted_privatekey === '' ? undefined : Buffer.from(b.encrypted_privatekey, 'base64'),
        expirationTime: b.expiration_time,
      });
      return {};
    },
  }),

  kmsOperation({
    name: 'DeleteImportedKeyMaterial',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/delete-imported-key-material',
    action: 'kms:cmk:deleteMaterial',
    summary: 'Delete imported key material (the key returns to state 5).',
    mutates: true,
    params: projectParams,
    body: operateKey,
    response: answer({}),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => (await s.imports.deleteImportedKeyMaterial(ctx, b.key_id), {}),
  }),
];
