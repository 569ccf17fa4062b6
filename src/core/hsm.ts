/**
 * The HSM clusters behind dedicated keystores, as the core sees them (docs/reference/huawei-kms-api.md §2 O, §4 O
 * 57–62): each is one token the operator registered under an id (deployment.json `hsm_clusters`). A keystore key's
 * material is made and kept in its keystore's cluster, non-extractable, and every operation with it runs there; the
 * core names a key's objects by a label and never sees their value. Implemented over PKCS#11 by
 * keystore/hsm-clusters.ts; the core knows nothing of PKCS#11.
 */
import type { SigningAlgorithm } from '../crypto/algorithms.js';

/** Key pair specs a cluster makes (key-specs.ts names). */
export type HsmKeyPairSpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096' | 'EC_P256' | 'EC_P384';

/**
 * One HSM cluster. Every method throws `HsmUnavailable` when the token cannot be reached, and those naming an
 * existing key `HsmKeyMissing` when no object has the label.
 */
export interface HsmCluster {
  readonly id: string;
  /** Makes an AES-256 key labelled `label` in the token (sensitive, non-extractable). */
  generateSymmetric(label: string): Promise<void>;
  /** Makes a key pair labelled `label` in the token; returns the public half as SubjectPublicKeyInfo DER. */
  generateKeyPair(label: string, spec: HsmKeyPairSpec): Promise<Buffer>;
  /** AES-256-GCM in the token with a fresh 12-byte IV: iv(12) ‖ ciphertext ‖ tag(16) (crypto/symmetric.ts's layout). */
  seal(label: string, plaintext: Buffer, aad: Buffer): Buffer;
  /** Opens iv ‖ ciphertext ‖ tag in the token; throws crypto/symmetric.ts's AuthenticationFailed on any mismatch. */
  open(label: string, sealed: Buffer, aad: Buffer): Buffer;
  /**
   * Signs in the token: `message` is the message itself (`RAW`, hashed here, outside the token: a digest needs no
   * secret) or its digest (`DIGEST`). RSA signatures are the usual octet strings, ECDSA signatures DER, as the
   * engines of crypto/algorithms.ts make them (so their verify accepts them).
   */
  sign(label: string, algorithm: SigningAlgorithm, message: Buffer, type: 'RAW' | 'DIGEST'): Buffer;
  /** Destroys every object labelled `label` (none is not an error). */
  destroy(label: string): void;
}

/** The registered clusters of a deployment. */
export interface HsmClusters {
  /** Ids of the registered clusters, sorted. */
  ids(): string[];
  /** The cluster registered under `id`, opened on first use; null when no cluster has that id. */
  get(id: string): HsmCluster | null;
  close(): Promise<void>;
}

/** A registered cluster whose token cannot be opened or answered an error (module, token or PIN problem). */
export class HsmUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HsmUnavailable';
  }
}

/** No object of the cluster has the label an operation named (never made, or destroyed). */
export class HsmKeyMissing extends Error {
  constructor(label: string, clusterId: string) {
    super(`no key labelled ${label} in HSM cluster ${clusterId}`);
    this.name = 'HsmKeyMissing';
  }
}

/** No cluster: a deployment that registered none. */
export const NO_HSM_CLUSTERS: HsmClusters = { ids: () => [], get: () => null, close: async () => {} };
