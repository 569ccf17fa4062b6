/**
 * Attestation of workloads: what proves that a call to open a data-key capsule (core/key-space.ts) comes from an
 * access point, and what proves an enclave's public key for the `recipient` of derive-shared-secret and of the data
 * key pair operations (docs/reference/huawei-kms-api.md §4 E 26, D 22–23, P 75).
 *
 * - Custom access points prove themselves with the private key Strongroom generated for them. Huawei's pages do not
 *   say what the signature covers, so Strongroom defines it (issue #14, README "Trusted key spaces"):
 *   `custom_signature` is the Base64 signature, with the access point's private key, of the UTF-8 bytes of
 *   `datakey_capsule` immediately followed by `expire_time` (ECDSA with SHA-256, DER, for an EC key; RSASSA-PKCS1-v1_5
 *   with SHA-256 for an RSA key); `custom_public_key` is the Base64 DER SubjectPublicKeyInfo by which the access
 *   point is found; `expire_time` (`yyyy-mm-ddTHH:MM:SSZ`) must be in the future and at most a day ahead.
 * - ECS and CCE workloads, and Qingtian enclaves, are attested by the cloud platform, which a self-hosted deployment
 *   does not have: a `PlatformAttestation` verifies them. The default (`NO_PLATFORM_ATTESTATION`) verifies nothing;
 *   `TestPlatformAttestation` is a documented stand-in whose "platform" is an Ed25519 key pair held by the tests.
 */
import { createPublicKey, constants, verify, type KeyObject } from 'node:crypto';
import { KmsError } from '../errors.js';

/** How far ahead a Custom attestation's `expire_time` may be (one day, issue #14). */
export const MAX_ATTESTATION_LIFETIME_MS = 86_400_000;

/** ISO-8601 UTC to the second, as Huawei's key-space fields write times. */
export const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Epoch ms of an ISO-8601 `yyyy-mm-ddTHH:MM:SSZ` time, or null when it is not one (a real date included). */
export function parseIsoSeconds(value: string): number | null {
  if (!ISO_SECONDS.test(value)) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') !== value) return null;
  return ms;
}

/** A public key from the Base64 of its DER SubjectPublicKeyInfo; KMS.3804 when it is not one. */
export function spkiKey(spki: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    throw new KmsError('KMS.3804', 'custom_public_key must be the Base64 of a DER SubjectPublicKeyInfo.');
  }
}

/**
 * Checks a Custom access point's attestation (the rule above) at `now` (epoch ms). Throws KMS.3804 for a document
 * that cannot be read (an expire_time that is not `yyyy-mm-ddTHH:MM:SSZ`, a key that is neither EC nor RSA) and
 * 403 KMS.0306 for one that does not prove the access point (expired, too far ahead, a signature that does not verify).
 */
export function checkCustomAttestation(publicKey: KeyObject, signature: Buffer, datakeyCapsule: string, expireTime: string, now: number): void {
  const expires = parseIsoSeconds(expireTime);
  if (expires === null) throw new KmsError('KMS.3804', 'expire_time must be an ISO-8601 UTC time yyyy-mm-ddTHH:MM:SSZ.');
  const signed = Buffer.from(datakeyCapsule + expireTime, 'utf8');
  let valid: boolean;
  if (publicKey.asymmetricKeyType === 'ec') valid = verify('sha256', signed, { key: publicKey, dsaEncoding: 'der' }, signature);
  else if (publicKey.asymmetricKeyType === 'rsa') valid = verify('sha256', signed, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  else throw new KmsError('KMS.3804', 'custom_public_key must be an EC or RSA public key.');
  if (!valid) throw new KmsError('KMS.0306', 'The attestation signature does not verify with the access point\'s public key for this capsule and expire_time.');
  if (expires <= now) throw new KmsError('KMS.0306', 'The attestation has expired (expire_time is past).');
  if (expires > now + MAX_ATTESTATION_LIFETIME_MS) throw new KmsError('KMS.0306', 'expire_time may be at most one day ahead.');
}

/** The workload kinds a platform attests: ECS instances and CCE clusters. */
export type PlatformWorkload = 'ECS' | 'CCE';

/**
 * The cloud platform's attestation, as a region sees it. Implementations verify a platform's evidence and say what
 * it proves; they never throw for evidence that does not verify (null), only for a platform they cannot reach.
 */
export interface PlatformAttestation {
  /** Whether any platform attests here (false: ECS, CCE and enclave attestation are refused outright). */
  readonly available: boolean;
  /**
   * The ECS instance id or CCE cluster id that `evidence` (`ecs_signature` or `service_token`) proves, bound to
   * `challenge` (the `datakey_capsule` it was made for), or null when it does not verify.
   */
  workload(kind: PlatformWorkload, evidence: string, challenge: string): Promise<string | null>;
  /** The RSA public key of the enclave an attestation document (`recipient.attestation_document`) proves, or null. */
  enclaveKey(document: string): Promise<KeyObject | null>;
}

/** No platform: the default of a self-hosted deployment, where nothing attests ECS, CCE or enclaves. */
export const NO_PLATFORM_ATTESTATION: PlatformAttestation = {
  available: false,
  workload: async () => null,
  enclaveKey: async () => null,
};

/** The bytes the test platform signs (TestPlatformAttestation). */
export function testPlatformStatement(kind: PlatformWorkload | 'ENCLAVE', subject: string, challenge = ''): Buffer {
  return Buffer.from(`strongroom-test-platform\0${kind}\0${subject}\0${challenge}`, 'utf8');
}

/**
 * A stand-in platform for tests and demonstrations, whose root of trust is one Ed25519 public key; whoever holds the
 * private key plays the platform. Evidence is `<subject>.<Base64 Ed25519 signature>` with the signature over
 * `testPlatformStatement(kind, subject, challenge)`:
 * - ECS `ecs_signature`: subject = the ECS instance id, challenge = the `datakey_capsule`;
 * - CCE `service_token`: subject = the CCE cluster id, challenge = the `datakey_capsule`;
 * - enclave `attestation_document`: subject = the Base64 DER SubjectPublicKeyInfo of the enclave's RSA key, kind
 *   `ENCLAVE`, no challenge.
 * It shows the shape of a real verifier (evidence bound to the request, identity out) without pretending to be one.
 */
export class TestPlatformAttestation implements PlatformAttestation {
  readonly available = true;
  constructor(private readonly platformKey: KeyObject) {
    if (platformKey.asymmetricKeyType !== 'ed25519') throw new TypeError('the test platform key is an Ed25519 public key');
  }

  #open(kind: PlatformWorkload | 'ENCLAVE', evidence: string, challenge: string): string | null {
    const dot = evidence.lastIndexOf('.');
    if (dot <= 0) return null;
    const subject = evidence.slice(0, dot);
    const signature = Buffer.from(evidence.slice(dot + 1), 'base64');
    if (signature.length !== 64) return null;
    return verify(null, testPlatformStatement(kind, subject, challenge), this.platformKey, signature) ? subject : null;
  }

  async workload(kind: PlatformWorkload, evidence: string, challenge: string): Promise<string | null> {
    return this.#open(kind, evidence, challenge);
  }

  async enclaveKey(document: string): Promise<KeyObject | null> {
    const subject = this.#open('ENCLAVE', document, '');
    if (subject === null) return null;
    try {
      const key = createPublicKey({ key: Buffer.from(subject, 'base64'), format: 'der', type: 'spki' });
      return key.asymmetricKeyType === 'rsa' ? key : null;
    } catch {
      return null;
    }
  }
}
