/**
 * Enclave recipients (docs/reference/huawei-kms-api.md §4 E 26, D 22–23): with a `recipient` {attestation_document,
 * key_encryption_algorithm: RSAES_OAEP_SHA_256}, a secret or private key is answered as `ciphertext_recipient`,
 * encrypted to the public key the attestation document proves (core/attestation.ts PlatformAttestation), instead of
 * in plaintext. Huawei does not publish the layout of `ciphertext_recipient`; Strongroom's (README "Trusted key
 * spaces") is:
 * - a plaintext that RSAES-OAEP with SHA-256 (and MGF1-SHA-256) takes whole, i.e. at most k − 66 bytes for a k-byte
 *   modulus (a shared secret): the OAEP ciphertext, exactly k bytes;
 * - a longer one (a data key pair's PKCS#8 private key): the OAEP ciphertext of a fresh 32-byte AES key (k bytes),
 *   followed by AES-256-GCM of the plaintext under it with no associated data: 12-byte IV ‖ ciphertext ‖ 16-byte tag.
 */
import { constants, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { aes256Gcm } from '../crypto/symmetric.js';
import { KmsError } from '../errors.js';
import type { PlatformAttestation } from './attestation.js';

/** The `recipient` request object as the SDK sends it (Recipient model). */
export interface Recipient {
  attestation_document: string;
  key_encryption_algorithm: string;
}

/**
 * The enclave key a recipient names. KMS.0308 when no platform attests enclaves here (the default: a self-hosted
 * deployment has no enclave root of trust) or for an algorithm other than RSAES_OAEP_SHA_256; KMS.3804 when the
 * document does not verify.
 */
export async function recipientKey(platform: PlatformAttestation, recipient: Recipient): Promise<KeyObject> {
  if (recipient.key_encryption_algorithm !== 'RSAES_OAEP_SHA_256') {
    throw new KmsError('KMS.0308', 'recipient.key_encryption_algorithm must be RSAES_OAEP_SHA_256.');
  }
  if (!platform.available) throw new KmsError('KMS.0308', 'recipient: no platform attests enclaves in this deployment.');
  const key = await platform.enclaveKey(recipient.attestation_document);
  if (!key) throw new KmsError('KMS.3804', 'The attestation document does not verify.');
  return key;
}

/** Encrypts `plaintext` to an enclave's RSA key in the layout above. */
export function encryptForRecipient(key: KeyObject, plaintext: Buffer): Buffer {
  const oaep = (bytes: Buffer) => publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, bytes);
  const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  if (plaintext.length <= modulusBytes - 66) return oaep(plaintext);
  const contentKey = randomBytes(32);
  try {
    return Buffer.concat([oaep(contentKey), aes256Gcm.seal(contentKey, plaintext, Buffer.alloc(0))]);
  } finally {
    contentKey.fill(0);
  }
}
