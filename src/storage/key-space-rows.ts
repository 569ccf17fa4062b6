/** Rows of the key-space tables (kms-migrations.ts) and their records (key-space-store.ts), shared by both drivers. */
import type { AccessPointRecord, KeyPolicyRecord } from './key-space-store.js';

export interface AccessPointRow {
  id: string; project_id: string; keyspace_id: string; name: string; type: number; state: number; identity: string; cluster_id: string;
  description: string; created_by: string; created_at: number | string; updated_at: number | string; public_key: Buffer | null; wrapped_private_key: Buffer | null;
}
export interface KeyPolicyRow {
  id: string; project_id: string; keyspace_id: string; name: string; document: string; description: string; created_by: string;
  created_at: number | string; updated_at: number | string; last_access_at: number | string | null;
}

/** Row → record, shared by both drivers (PostgreSQL returns BIGINT as a string). */
export function accessPointFromRow(r: AccessPointRow): AccessPointRecord {
  return {
    id: r.id, projectId: r.project_id, keyspaceId: r.keyspace_id, name: r.name, type: Number(r.type) as AccessPointRecord['type'],
    state: Number(r.state) as AccessPointRecord['state'], identity: r.identity, clusterId: r.cluster_id, description: r.description,
    createdBy: r.created_by, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
    publicKey: r.public_key === null ? null : Buffer.from(r.public_key), wrappedPrivateKey: r.wrapped_private_key === null ? null : Buffer.from(r.wrapped_private_key),
  };
}

export function keyPolicyFromRow(r: KeyPolicyRow): KeyPolicyRecord {
  return {
    id: r.id, projectId: r.project_id, keyspaceId: r.keyspace_id, name: r.name, document: r.document, description: r.description,
    createdBy: r.created_by, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at), lastAccessAt: r.last_access_at === null ? null : Number(r.last_access_at),
  };
}

/** Column values of a record, in the order of ACCESS_POINT_COLUMNS / KEY_POLICY_COLUMNS. */
export const ACCESS_POINT_COLUMNS = ['id', 'project_id', 'keyspace_id', 'name', 'type', 'state', 'identity', 'cluster_id', 'description', 'created_by', 'created_at', 'updated_at', 'public_key', 'wrapped_private_key'] as const;
export const accessPointValues = (a: AccessPointRecord) =>
  [a.id, a.projectId, a.keyspaceId, a.name, a.type, a.state, a.identity, a.clusterId, a.description, a.createdBy, a.createdAt, a.updatedAt, a.publicKey, a.wrappedPrivateKey];
export const KEY_POLICY_COLUMNS = ['id', 'project_id', 'keyspace_id', 'name', 'document', 'description', 'created_by', 'created_at', 'updated_at', 'last_access_at'] as const;
export const keyPolicyValues = (k: KeyPolicyRecord) =>
  [k.id, k.projectId, k.keyspaceId, k.name, k.document, k.description, k.createdBy, k.createdAt, k.updatedAt, k.lastAccessAt];
