/**
 * What a region stores of its trusted key spaces (docs/reference/huawei-kms-api.md §2 P, §4 P 63–75): access points
 * and key policies, each in one project and one key space. Part of the KmsStore contract (kms-store.ts); both drivers
 * pass test/contracts/kms-store-contract.ts. A Custom access point's private key reaches the store only wrapped by the
 * root key (core/key-space.ts), and root-key rotation re-wraps it (root-rotation.ts).
 */

/** An access point (ECS = 1, CCE = 2, Custom = 3; state 0 disabled, 1 enabled); times in epoch milliseconds. */
export interface AccessPointRecord {
  /** UUID. */
  id: string;
  projectId: string;
  keyspaceId: string;
  name: string;
  type: 1 | 2 | 3;
  state: 0 | 1;
  /** ECS: the instance id; CCE: the cluster's public key; Custom: '' (the key pair is Strongroom's). */
  identity: string;
  /** CCE: the cluster id; '' otherwise. */
  clusterId: string;
  description: string;
  /** The user id of the creator. */
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  /** Custom: the DER SubjectPublicKeyInfo of its key pair; null for ECS and CCE. */
  publicKey: Buffer | null;
  /** Custom: the PKCS#8 DER private key wrapped by the root key; null for ECS and CCE. */
  wrappedPrivateKey: Buffer | null;
}

/** A key policy of a key space: its document as canonical JSON (core/key-space.ts parses it); times in epoch ms. */
export interface KeyPolicyRecord {
  /** UUID. */
  id: string;
  projectId: string;
  keyspaceId: string;
  name: string;
  /** The policy document, normalised JSON (version, validity_period, allowed_access_point, allowed_data_security_zone). */
  document: string;
  description: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  /** When a capsule bound to it was last made or opened; null: never. */
  lastAccessAt: number | null;
}

/** The key-space part of a region's store (every method scoped to a project unless it says otherwise). */
export interface KeySpaceStore {
  insertAccessPoint(ap: AccessPointRecord): Promise<void>;
  getAccessPoint(projectId: string, id: string): Promise<AccessPointRecord | null>;
  /** The Custom access point of the project whose public key is exactly `spki` (DER), or null. */
  accessPointByPublicKey(projectId: string, spki: Buffer): Promise<AccessPointRecord | null>;
  /** Access points of a key space by id, those after `after` (exclusive; '' from the start), at most `limit`. */
  listAccessPoints(projectId: string, keyspaceId: string, after: string, limit: number): Promise<AccessPointRecord[]>;
  /** Sets the state; false when the project has no such access point. */
  setAccessPointState(projectId: string, id: string, state: 0 | 1, updatedAt: number): Promise<boolean>;
  /** False when the project has no such access point. */
  deleteAccessPoint(projectId: string, id: string): Promise<boolean>;
  /** Every wrapped private key of every project (root-key rotation), by access point id. */
  listAccessPointKeys(): Promise<{ id: string; wrapped: Buffer }[]>;
  /** Replaces a wrapped private key when it still equals `expected` (same key, re-wrapped); false otherwise. */
  replaceAccessPointKey(id: string, expected: Buffer, replacement: Buffer): Promise<boolean>;
  insertKeyPolicy(policy: KeyPolicyRecord): Promise<void>;
  getKeyPolicy(projectId: string, id: string): Promise<KeyPolicyRecord | null>;
  /** Key policies of a key space by id, those after `after` (exclusive; '' from the start), at most `limit`. */
  listKeyPolicies(projectId: string, keyspaceId: string, after: string, limit: number): Promise<KeyPolicyRecord[]>;
  /** Replaces the document (and the description unless undefined); false when the project has no such policy. */
  updateKeyPolicy(projectId: string, id: string, document: string, description: string | undefined, updatedAt: number): Promise<boolean>;
  /** False when the project has no such policy. */
  deleteKeyPolicy(projectId: string, id: string): Promise<boolean>;
  /** Records a use of the policy (its `last_access_time`). */
  touchKeyPolicy(id: string, at: number): Promise<void>;
}
