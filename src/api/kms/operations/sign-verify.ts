/**
 * Signatures, public keys, key agreement and MACs (docs/reference/huawei-kms-api.md §4 A 4, E 24–26, F 27–28).
 * Messages, signatures and secrets are Base64; MACs are lowercase hex, as Huawei's GenerateMac answers them
 * (docs/reference/observed-huawei-answers.md); `signature_valid` is the string "true"/"false", `mac_valid` a boolean.
 */
import { Type } from 'typebox';
import { publicKeyPem } from '../../../core/asymmetric-ops.js';
import { MAC_ALGORITHMS, SIGNING_ALGORITHMS, type MacAlgorithm, type SigningAlgorithm } from '../../../crypto/algorithms.js';
import { KmsError } from '../../../errors.js';
import { answer, base64, body, hex, keyId, oneOf, sequence } from '../../schema.js';
import { kmsOperation, operateKey, projectParams, recipientSchema } from './common.js';
import { encryptForRecipient, recipientKey } from '../../../core/recipient.js';

/** Decoded Base64 `message`, between `min` and `max` bytes (KMS.0308 otherwise). */
function message(value: string, max: number, min = 1): Buffer {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length > max || bytes.length < min) throw new KmsError('KMS.0308', `message must decode to ${min}–${max} bytes.`);
  return bytes;
}

const signingRequest = {
  key_id: keyId(),
  message: base64({ code: 'KMS.0308', maxChars: 5464, description: 'Base64 message or digest, 1–4095 bytes.' }),
  signing_algorithm: oneOf(Object.keys(SIGNING_ALGORITHMS) as SigningAlgorithm[]),
  message_type: Type.Optional(oneOf(['DIGEST', 'RAW'], { description: 'DIGEST (default): message is the digest; RAW: the message itself (ED25519_SHA_512 takes RAW only).' })),
  sequence: sequence(),
};

const macRequest = {
  key_id: keyId(),
  mac_algorithm: oneOf(Object.keys(MAC_ALGORITHMS) as MacAlgorithm[]),
  message: base64({ code: 'KMS.0308', maxChars: 5464, description: 'Base64 message, 1–4096 bytes.' }),
  sequence: sequence(),
};

export const signVerifyOperations = [
  kmsOperation({
    name: 'Sign',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/sign',
    action: 'kms:cmk:sign',
    summary: 'Sign a digest or a message with an asymmetric SIGN_VERIFY key.',
    mutates: false,
    params: projectParams,
    body: body(signingRequest),
    response: answer({ key_id: Type.String(), signature: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const signature = await s.asymmetric.sign(ctx, b.key_id, b.signing_algorithm, message(b.message, 4095), b.message_type ?? 'DIGEST');
      return { key_id: b.key_id, signature: signature.toString('base64') };
    },
  }),

  kmsOperation({
    name: 'ValidateSignature',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/verify',
    action: 'kms:cmk:verify',
    summary: 'Verify a signature made with an asymmetric SIGN_VERIFY key.',
    mutates: false,
    params: projectParams,
    body: body({ ...signingRequest, signature: base64({ code: 'KMS.0308', maxChars: 8192 }) }),
    response: answer({ key_id: Type.String(), signature_valid: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const valid = await s.asymmetric.verify(ctx, b.key_id, b.signing_algorithm, message(b.message, 4095), b.message_type ?? 'DIGEST', Buffer.from(b.signature, 'base64'));
      return { key_id: b.key_id, signature_valid: String(valid) };
    },
  }),

  kmsOperation({
    name: 'ShowPublicKey',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/get-publickey',
    action: 'kms:cmk:getPublicKey',
    summary: 'The public key of an asymmetric key, PEM (SubjectPublicKeyInfo) with CRLF line ends.',
    mutates: false,
    params: projectParams,
    body: operateKey,
    response: answer({ key_id: Type.String(), public_key: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const { keyId: id, spki } = await s.asymmetric.publicKey(ctx, b.key_id);
      return { key_id: id, public_key: publicKeyPem(spki) };
    },
  }),

  kmsOperation({
    name: 'DeriveSharedSecret',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/derive-shared-secret',
    action: 'kms:cmk:deriveSharedSecret',
    actionSource: 'strongroom',
    summary: 'ECDH between a KEY_AGREEMENT key and a peer\'s public key (Base64 DER SubjectPublicKeyInfo).',
    mutates: false,
    params: projectParams,
    body: body({
      key_id: keyId(),
      key_agreement_algorithm: oneOf(['ECDH']),
      public_key: base64({ code: 'KMS.0308', maxChars: 8192 }),
      recipient: Type.Optional(recipientSchema),
      sequence: sequence(),
    }),
    response: answer({ key_id: Type.String(), key_agreement_algorithm: Type.String(), shared_secret: Type.Optional(Type.String()), ciphertext_recipient: Type.Optional(Type.String()) }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      // The enclave's key first: a recipient that does not verify refuses the call before any secret is derived.
      const enclave = b.recipient !== undefined ? await recipientKey(s.platform, b.recipient) : null;
      const secret = await s.asymmetric.deriveSharedSecret(ctx, b.key_id, Buffer.from(b.public_key, 'base64'));
      try {
        const released = enclave ? { ciphertext_recipient: encryptForRecipient(enclave, secret).toString('base64') } : { shared_secret: secret.toString('base64') };
        return { key_id: b.key_id, key_agreement_algorithm: b.key_agreement_algorithm, ...released };
      } finally {
        secret.fill(0);
      }
    },
  }),

  kmsOperation({
    name: 'GenerateMac',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/generate-mac',
    action: 'kms:cmk:generateMac',
    actionSource: 'strongroom',
    summary: 'The MAC of a message under an HMAC key.',
    mutates: false,
    params: projectParams,
    body: body(macRequest),
    response: answer({ key_id: Type.String(), mac_algorithm: Type.String(), mac: Type.String() }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const mac = await s.asymmetric.generateMac(ctx, b.key_id, b.mac_algorithm, message(b.message, 4096));
      return { key_id: b.key_id, mac_algorithm: b.mac_algorithm, mac: mac.toString('hex') };
    },
  }),

  kmsOperation({
    name: 'VerifyMac',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/verify-mac',
    action: 'kms:cmk:verifyMac',
    actionSource: 'strongroom',
    summary: 'Check the MAC of a message under an HMAC key.',
    mutates: false,
    params: projectParams,
    body: body({ ...macRequest, mac: hex({ code: 'KMS.0308', maxChars: 256, description: 'The MAC in hex (either case).' }) }),
    response: answer({ key_id: Type.String(), mac_algorithm: Type.String(), mac_valid: Type.Boolean() }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const valid = await s.asymmetric.verifyMac(ctx, b.key_id, b.mac_algorithm, message(b.message, 4096), Buffer.from(b.mac, 'hex'));
      return { key_id: b.key_id, mac_algorithm: b.mac_algorithm, mac_valid: valid };
    },
  }),
];
