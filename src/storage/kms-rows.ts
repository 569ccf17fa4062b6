/**
 * Rows of the KMS store's tables (storage/kms-migrations.ts) and their mapping to records, shared by the SQLite
 * and PostgreSQL stores: both dialects hold the same columns, with epoch milliseconds as numbers, booleans as 0/1,
 * wrapped material and public keys as Buffers and lists as JSON text.
 */
import type { KeyRecord, KeyVersionRecord } from '../core/key.js';
import type { KeystoreRecord } from '../core/keystores.js';
import type { AliasRecord, GrantRecord, ImportParametersRecord, OutboxMessage } from './kms-store.js';

/** Key records a store keeps in memory (about 1 KiB each). */
export const KEY_RECORD_CACHE = 10_000;

/** A row of `key_aliases`. */
export interface AliasRow { domain_id: string; alias: string; key_id: string; created_at: number; updated_at: number }
export const aliasFromRow = (r: AliasRow): AliasRecord => ({ domainId: r.domain_id, alias: r.alias, keyId: r.key_id, createdAt: r.created_at, updatedAt: r.updated_at });

/** A row of `keystores`. */
export interface KeystoreRow {
  id: string; domain_id: string; alias: string; type: string; hsm_cluster_id: string; hsm_ca_cert: string; state: string;
  created_at: number | string; pin_hash: string | null;
}
/** Every column of `keystores`, in a fixed order. */
export const KEYSTORE_COLUMNS: readonly (keyof KeystoreRow)[] = ['id', 'domain_id', 'alias', 'type', 'hsm_cluster_id', 'hsm_ca_cert', 'state', 'created_at', 'pin_hash'];
export const keystoreFromRow = (r: KeystoreRow): KeystoreRecord => ({
  id: r.id, domainId: r.domain_id, alias: r.alias, type: r.type as KeystoreRecord['type'], hsmClusterId: r.hsm_cluster_id, hsmCaCert: r.hsm_ca_cert,
  state: r.state as KeystoreRecord['state'], createdAt: Number(r.created_at), pinHash: r.pin_hash,
});
export const keystoreToRow = (k: KeystoreRecord): KeystoreRow => ({
  id: k.id, domain_id: k.domainId, alias: k.alias, type: k.type, hsm_cluster_id: k.hsmClusterId, hsm_ca_cert: k.hsmCaCert, state: k.state,
  created_at: k.createdAt, pin_hash: k.pinHash,
});

/** A row of `grants`: `operations` is a JSON array of operation names. */
export interface GrantRow {
  id: string; key_id: string; name: string; grantee: string; grantee_type: string; operations: string; issuer: string;
  retiring_principal: string; created_at: number;
}
export const grantFromRow = (r: GrantRow): GrantRecord => ({
  id: r.id, keyId: r.key_id, name: r.name, grantee: r.grantee, granteeType: r.grantee_type as GrantRecord['granteeType'],
  operations: JSON.parse(r.operations) as string[], issuer: r.issuer, retiringPrincipal: r.retiring_principal, createdAt: r.created_at,
});
/** Every column of `grants`, in a fixed order. */
export const GRANT_COLUMNS: readonly (keyof GrantRow)[] = ['id', 'key_id', 'name', 'grantee', 'grantee_type', 'operations', 'issuer', 'retiring_principal', 'created_at'];
export const grantToRow = (g: GrantRecord): GrantRow => ({
  id: g.id, key_id: g.keyId, name: g.name, grantee: g.grantee, grantee_type: g.granteeType, operations: JSON.stringify(g.operations),
  issuer: g.issuer, retiring_principal: g.retiringPrincipal, created_at: g.createdAt,
});

/** A row of `keys`: `rotation_enabled` is 0 or 1, `replicas` a JSON array. */
export interface KeyRow {
  id: string; project_id: string; domain_id: string; region: string; alias: string; description: string;
  spec: string; usage: string; origin: string; state: string; created_at: number; deletion_date: number | null;
  enterprise_project_id: string; keystore_id: string; current_version: number; rotation_enabled: number;
  rotation_interval_days: number; last_rotation_at: number | null; rotation_count: number;
  material_expires_at: number | null; primary_region: string | null; revision: number;
  replicas: string; handover_to: string | null; term: number; pending_attempt: string | null;
  public_key: Buffer | null; material_fingerprint: string | null;
}

/** Every column of `keys`, in a fixed order (statements list them in this order). */
export const COLUMNS: readonly (keyof KeyRow)[] = [
  'id', 'project_id', 'domain_id', 'region', 'alias', 'description', 'spec', 'usage', 'origin', 'state', 'created_at',
  'deletion_date', 'enterprise_project_id', 'keystore_id', 'current_version', 'rotation_enabled', 'rotation_interval_days',
  'last_rotation_at', 'rotation_count', 'material_expires_at', 'primary_region', 'revision',
  'replicas', 'handover_to', 'term', 'pending_attempt', 'public_key', 'material_fingerprint',
];

export function toRow(k: KeyRecord): KeyRow {
  return {
    id: k.id, project_id: k.projectId, domain_id: k.domainId, region: k.region, alias: k.alias, description: k.description,
    spec: k.spec, usage: k.usage, origin: k.origin, state: k.state, created_at: k.createdAt, deletion_date: k.deletionDate,
    enterprise_project_id: k.enterpriseProjectId, keystore_id: k.keystoreId, current_version: k.currentVersion,
    rotation_enabled: k.rotationEnabled ? 1 : 0, rotation_interval_days: k.rotationIntervalDays,
    last_rotation_at: k.lastRotationAt, rotation_count: k.rotationCount, material_expires_at: k.materialExpiresAt,
    primary_region: k.primaryRegion, revision: k.revision,
    replicas: JSON.stringify(k.replicas), handover_to: k.handoverTo, term: k.term, pending_attempt: k.pendingAttempt,
    public_key: k.publicKey, material_fingerprint: k.materialFingerprint,
  };
}

export function fromRow(r: KeyRow): KeyRecord {
  return {
    id: r.id, projectId: r.project_id, domainId: r.domain_id, region: r.region, alias: r.alias, description: r.description,
    spec: r.spec as KeyRecord['spec'], usage: r.usage as KeyRecord['usage'], origin: r.origin as KeyRecord['origin'],
    state: r.state as KeyRecord['state'], createdAt: r.created_at, deletionDate: r.deletion_date,
    enterpriseProjectId: r.enterprise_project_id, keystoreId: r.keystore_id, currentVersion: r.current_version,
    rotationEnabled: r.rotation_enabled === 1, rotationIntervalDays: r.rotation_interval_days,
    lastRotationAt: r.last_rotation_at, rotationCount: r.rotation_count, materialExpiresAt: r.material_expires_at,
    primaryRegion: r.primary_region, revision: r.revision,
    replicas: JSON.parse(r.replicas) as KeyRecord['replicas'], handoverTo: r.handover_to, term: r.term, pendingAttempt: r.pending_attempt,
    publicKey: r.public_key, materialFingerprint: r.material_fingerprint,
  };
}

/** A row of `key_versions`. */
export interface VersionRow { key_id: string; version: number; wrapped: Buffer; created_at: number }
export const versionFromRow = (r: VersionRow): KeyVersionRecord => ({ keyId: r.key_id, version: r.version, wrapped: r.wrapped, createdAt: r.created_at });

/** A row of `import_parameters`. */
export interface ImportParametersRow { key_id: string; token_id: string; wrapping_algorithm: string; wrapping_key: Buffer; expires_at: number }
export const importParametersFromRow = (r: ImportParametersRow): ImportParametersRecord => ({
  keyId: r.key_id, tokenId: r.token_id, wrappingAlgorithm: r.wrapping_algorithm, wrappingKey: r.wrapping_key, expiresAt: r.expires_at,
});

/** A row of `outbox`: `payload` is JSON. */
export interface OutboxRow {
  id: number; target: string; kind: string; key_id: string; payload: string; attempts: number; next_attempt_at: number; last_error: string | null;
  created_at: number | string;
}
export const outboxFromRow = (r: OutboxRow): OutboxMessage => ({
  id: r.id, target: r.target, kind: r.kind, keyId: r.key_id, payload: JSON.parse(r.payload) as Record<string, unknown>,
  attempts: r.attempts, nextAttemptAt: Number(r.next_attempt_at), lastError: r.last_error, createdAt: Number(r.created_at),
});

/** A key record that cannot be changed in place (its replicas list neither), as the stores' caches hold them. */
export const frozenKey = (key: KeyRecord): Readonly<KeyRecord> =>
  Object.freeze({ ...key, replicas: Object.freeze([...key.replicas]) as KeyRecord['replicas'] });
