/**
 * Data keys, data key pairs and random bytes (docs/reference/huawei-kms-api.md §4 D 18–23, G 29): data keys and random
 * bytes in uppercase hex, key pairs in Base64 (SPKI public key, PKCS#8 private key). A data key pair with a `recipient`
 * (Strongroom's extension: the SDK's request model has none, its answer has `ciphertext_recipient`) answers the private
 * key encrypted to the attested enclave (core/recipient.ts) instead of `private_key_plain_text`.
 */
import { Type } from 'typebox';
import { DATAKEY_SPECS } from '../../../core/key-specs.js';
import type { KeyPairSpec } from '../../../crypto/algorithms.js';
import { KmsError } from '../../../errors.js';
import { answer, body, bool, hex, integer, keyId, oneOf, sequence } from '../../schema.js';
import { upperHex } from '../encoding.js';
import { aadFields, kmsOperation, projectParams, recipientSchema, requestAad, viaGrant } from './common.js';
import { encryptForRecipient, recipientKey } from '../../../core/recipient.js';

const dataKeyRequest = body({
  key_id: keyId(),
  key_spec: Type.Optional(oneOf(Object.keys(DATAKEY_SPECS) as string[], { description: 'Data key spec; datakey_length wins when both are sent.' })),
  datakey_length: Type.Optional(integer({ code: 'KMS.1901', minimum: 8, maximum: 8192, multipleOf: 8, multipleCode: 'KMS.1903', description: 'Bits, 8–8192, a multiple of 8.' })),
  ...aadFields,
  pin: Type.Optional(Type.String({ description: 'The PIN of the key\'s dedicated keystore, when create-pin issued one (core/keystores.ts).' })),
  pin_type: Type.Optional(oneOf(['CipherText', 'PlainText'], { description: 'How pin is given: CipherText (default, as create-pin answered it sealed) or PlainText.' })),
  sequence: sequence(),
});

/** Length in bits from `datakey_length` (which wins) or `key_spec`; 256 when neither is given. */
const dataKeyBits = (b: { key_spec?: string; datakey_length?: number }): number => b.datakey_length ?? (b.key_spec !== undefined ? DATAKEY_SPECS[b.key_spec]! : 256);

/** Huawei's data key pair specs and the key pair engine behind each (null: named by Huawei, not built yet). */
const RSA_PAIRS: Readonly<Record<string, KeyPairSpec | null>> = { RSA_2048: 'RSA_2048', RSA_3072: 'RSA_3072', RSA_4096: 'RSA_4096' };
const EC_PAIRS: Readonly<Record<string, KeyPairSpec | null>> = { ECC_NIST_P256: 'EC_P256', ECC_NIST_P384: 'EC_P384', ECC_NIST_P521: 'EC_P521', ECC_SECG_P256K1: 'SECP256K1', SM2: 'SM2' };

const pairOperation = (name: 'CreateRsaDatakeyPair' | 'CreateEcDatakeyPair', path: string, specs: Readonly<Record<string, KeyPairSpec | null>>) =>
  kmsOperation({
    name,
    method: 'POST',
    path,
    action: 'kms:dek:createPair',
    actionSource: 'strongroom',
    summary: `A new ${name === 'CreateRsaDatakeyPair' ? 'RSA' : 'EC or SM2'} key pair: public key, private key encrypted under the key (and in plaintext unless with_plain_text is false).`,
    mutates: false,
    params: projectParams,
    body: body({
      key_id: keyId(),
      key_spec: oneOf(Object.keys(specs)),
      with_plain_text: Type.Optional(bool()),
      ...aadFields,
      recipient: Type.Optional(recipientSchema),
      sequence: sequence(),
    }),
    response: answer({
      key_id: Type.String(),
      key_spec: Type.String(),
      public_key: Type.String(),
      private_key_cipher_text: Type.String(),
      private_key_plain_text: Type.Optional(Type.String()),
      ciphertext_recipient: Type.Optional(Type.String()),
    }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const pair = specs[b.key_spec];
      if (!pair) throw new KmsError('KMS.0308', `key_spec ${b.key_spec} is not supported by this Strongroom version.`);
      // With a recipient the private key goes to the enclave only (core/recipient.ts), never in plaintext.
      const enclave = b.recipient !== undefined ? await recipientKey(s.platform, b.recipient) : null;
      const out = await s.crypto.createDataKeyPair(ctx, b.key_id, pair, enclave !== null || (b.with_plain_text ?? true), requestAad(b));
      try {
        const plain = out.privateKeyPlaintext;
        const released = !plain ? {} : enclave ? { ciphertext_recipient: encryptForRecipient(enclave, plain).toString('base64') } : { private_key_plain_text: plain.toString('base64') };
        return {
          key_id: out.keyId,
          key_spec: b.key_spec,
          public_key: out.publicKey.toString('base64'),
          private_key_cipher_text: out.privateKeyCiphertext.toString('base64'),
          ...released,
        };
      } finally {
        out.privateKeyPlaintext?.fill(0);
      }
    },
  });

export const dataKeyOperations = [
  kmsOperation({
    name: 'CreateDatakey',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/create-datakey',
    action: 'kms:dek:create',
    summary: 'A new data key: plaintext and ciphertext, both uppercase hex.',
    mutates: false,
    params: projectParams,
    body: dataKeyRequest,
    response: answer({ key_id: Type.String(), plain_text: Type.String(), cipher_text: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    resourcePermission: viaGrant('create-datakey'),
    handler: async (s, ctx, { body: b }) => {
      const out = await s.crypto.createDataKey(ctx, b.key_id, dataKeyBits(b) / 8, requestAad(b), { pin: b.pin, pinType: b.pin_type });
      return { key_id: out.keyId, plain_text: upperHex(out.plaintext), cipher_text: upperHex(out.blob) };
    },
  }),

  kmsOperation({
    name: 'CreateDatakeyWithoutPlaintext',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/create-datakey-without-plaintext',
    action: 'kms:dek:create',
    summary: 'A new data key, ciphertext only (uppercase hex).',
    mutates: false,
    params: projectParams,
    body: dataKeyRequest,
    response: answer({ key_id: Type.String(), cipher_text: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    resourcePermission: viaGrant('create-datakey-without-plaintext'),
    handler: async (s, ctx, { body: b }) => {
      const out = await s.crypto.createDataKey(ctx, b.key_id, dataKeyBits(b) / 8, requestAad(b), { pin: b.pin, pinType: b.pin_type });
      return { key_id: out.keyId, cipher_text: upperHex(out.blob) };
    },
  }),

  kmsOperation({
    name: 'EncryptDatakey',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/encrypt-datakey',
    action: 'kms:dek:crypto',
    summary: 'Encrypt a data key given in hex, followed by its SHA-256 (AES keys) or SM3 (SM4 keys) digest.',
    mutates: false,
    params: projectParams,
    body: body({
      key_id: keyId(),
      plain_text: hex({ code: 'KMS.2101', maxChars: 4096, description: 'Hex of the data key followed by its 32-byte digest.' }),
      datakey_plain_length: integer({ code: 'KMS.0308', minimum: 1, maximum: 1024, description: 'Bytes of the data key alone, 1–1024.' }),
      ...aadFields,
      pin: Type.Optional(Type.String()),
      pin_type: Type.Optional(oneOf(['CipherText', 'PlainText'])),
      key_spec: Type.Optional(oneOf(['SM2', 'RSA'])),
      sequence: sequence(),
    }),
    response: answer({ key_id: Type.String(), cipher_text: Type.String(), datakey_length: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    resourcePermission: viaGrant('encrypt-datakey'),
    handler: async (s, ctx, { body: b }) => {
      const plain = Buffer.from(b.plain_text, 'hex');
      const length = b.datakey_plain_length;
      if (plain.length !== length + 32) {
        throw new KmsError('KMS.2104', `plain_text must be the ${length}-byte data key followed by its 32-byte digest (${length + 32} bytes), not ${plain.length} bytes.`);
      }
      const out = await s.crypto.encryptDataKey(ctx, b.key_id, plain.subarray(0, length), plain.subarray(length), requestAad(b), { pin: b.pin, pinType: b.pin_type });
      return { key_id: out.keyId, cipher_text: upperHex(out.blob), datakey_length: String(length) };
    },
  }),

  kmsOperation({
    name: 'DecryptDatakey',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/decrypt-datakey',
    action: 'kms:dek:crypto',
    summary: 'Decrypt a data key ciphertext: the data key, its length and its digest, uppercase hex.',
    mutates: false,
    params: projectParams,
    body: body({
      key_id: keyId(),
      cipher_text: hex({ code: 'KMS.2201', maxChars: 8192, description: 'Hex data key ciphertext.' }),
      datakey_cipher_length: integer({ code: 'KMS.0308', minimum: 1, maximum: 1024, description: 'Bytes of the data key, 1–1024.' }),
      ...aadFields,
      pin: Type.Optional(Type.String()),
      pin_type: Type.Optional(oneOf(['CipherText', 'PlainText'])),
      key_spec: Type.Optional(oneOf(['SM2', 'RSA'])),
      sequence: sequence(),
    }),
    response: answer({ data_key: Type.String(), datakey_length: Type.String(), datakey_dgst: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    resourcePermission: viaGrant('decrypt-datakey'),
    handler: async (s, ctx, { body: b }) => {
      const out = await s.crypto.decryptDataKey(ctx, b.key_id, Buffer.from(b.cipher_text, 'hex'), b.datakey_cipher_length, requestAad(b), { pin: b.pin, pinType: b.pin_type });
      return { data_key: upperHex(out.plaintext), datakey_length: String(out.plaintext.length), datakey_dgst: upperHex(out.digest) };
    },
  }),

  pairOperation('CreateRsaDatakeyPair', '/v1.0/{project_id}/kms/create-rsa-datakey-pair', RSA_PAIRS),
  pairOperation('CreateEcDatakeyPair', '/v1.0/{project_id}/kms/create-ec-datakey-pair', EC_PAIRS),

  kmsOperation({
    name: 'CreateRandom',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/gen-random',
    action: 'kms:cmk:generate',
    summary: 'Random bytes from the operating system\'s CSPRNG, uppercase hex.',
    mutates: false,
    params: projectParams,
    body: body({
      random_data_length: integer({ code: 'KMS.1801', minimum: 8, maximum: 8192, multipleOf: 8, multipleCode: 'KMS.1802', description: 'Bits, 8–8192, a multiple of 8.' }),
      sequence: sequence(),
    }),
    response: answer({ random_data: Type.String() }),
    handler: async (s, _ctx, { body: b }) => ({ random_data: upperHex(s.crypto.random(b.random_data_length / 8)) }),
  }),
];
