/**
 * A customer master key as the core sees it, and the state rules every operation applies
 * (docs/reference/huawei-kms-api.md §3.1 states, §8.2 state rules).
 */
import { KmsError } from '../errors.js';
import type { KeySpec, KeyUsage } from './key-specs.js';

/** Huawei's key states: 1 pending activation, 2 enabled, 3 disabled, 4 pending deletion, 5 pending import. */
export type KeyState = '1' | '2' | '3' | '4' | '5';

export interface KeyRecord {
  id: string;
  projectId: string;
  domainId: string;
  /** Region the key lives in (Huawei's `realm`). */
  region: string;
  alias: string;
  description: string;
  spec: KeySpec;
  usage: KeyUsage;
  origin: 'kms' | 'external';
  state: KeyState;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds at which a key in state 4 is destroyed; null otherwise. */
  deletionDate: number | null;
  enterpriseProjectId: string;
  keystoreId: string;
  /** Version new encryptions use; every older version stays for decryption. 0 while the key has no material. */
  currentVersion: number;
  rotationEnabled: boolean;
  rotationIntervalDays: number;
  /** Epoch milliseconds of the last rotation, null if never rotated. */
  lastRotationAt: number | null;
  rotationCount: number;
  /** Epoch milliseconds after which imported material expires; null for none. */
  materialExpiresAt: number | null;
  /** Region holding the primary of a cross-region key; null for a key that was never replicated. */
  primaryRegion: string | null;
  /** On a primary: the regions holding replicas, with the project each replica lives in. */
  replicas: ReplicaRef[];
  /** On a primary that is handing its role to another region: that region, until the handover resolves. */
  handoverTo: string | null;
  /** Counts primary-region changes; a region ignores news older than what it has seen. */
  term: number;
  /** On a replica created but not yet confirmed by its primary: the replicate attempt. Invisible to clients. */
  pendingAttempt: string | null;
  /** Public half (SPKI DER) of an asymmetric key; null for symmetric and HMAC keys and before import. */
  publicKey: Buffer | null;
  /**
   * For imported material: a keyed fingerprint of it, kept after the material is deleted so that a re-import must
   * bring the same material (KMS.2606). Null for KMS-generated keys.
   */
  materialFingerprint: string | null;
  /** Incremented on every update; stores refuse an update made from a stale copy. */
  revision: number;
}

export interface ReplicaRef {
  region: string;
  projectId: string;
}

export interface KeyVersionRecord {
  keyId: string;
  version: number;
  /** Key material wrapped by the region's root key; never stored unwrapped. */
  wrapped: Buffer;
  createdAt: number;
}

/**
 * Checks that a key may be used for cryptography (state 2), with Huawei's code for each other state. Imported
 * material past its expiry counts as gone at once (the sweep then moves the key to state 5).
 */
export function assertUsable(key: KeyRecord, now: number): void {
  if (key.materialExpiresAt !== null && key.materialExpiresAt <= now && key.state !== '4') {
    throw new KmsError('KMS.0310', 'The imported key material has expired: import key material again.');
  }
  switch (key.state) {
    case '2':
      return;
    case '3':
      throw new KmsError('KMS.0209');
    case '4':
      throw new KmsError('KMS.0210');
    case '5':
      throw new KmsError('KMS.0310', 'The key has no key material: import key material first.');
    default:
      throw new KmsError('KMS.0308', `The key is in state ${key.state} and cannot be used.`);
  }
}

/** Metadata changes (alias, description) are refused while deletion is pending. */
export function assertNotPendingDeletion(key: KeyRecord): void {
  if (key.state === '4') throw new KmsError('KMS.0210');
}

/** A key whose deletion date has passed is destroyed, whether or not the sweep has removed its rows yet. */
export const isDestroyed = (key: KeyRecord, now: number): boolean => key.state === '4' && key.deletionDate !== null && key.deletionDate <= now;

/** True when this region holds the key's primary (every key that was never replicated is its own primary). */
export const isPrimaryIn = (key: KeyRecord, region: string): boolean => key.primaryRegion === null || key.primaryRegion === region;

export const isDefaultKey = (key: KeyRecord): boolean => key.alias.endsWith('/default');
