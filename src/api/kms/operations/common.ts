/**
 * What every KMS catalogue entry shares: the services handlers call, the `{project_id}` path parameter, the
 * OperateKey body (`key_id` + `sequence`), associated data, and Huawei's KeyDetails answer
 * (docs/reference/huawei-kms-api.md §3.4, §3.5).
 */
import { Type } from 'typebox';
import type { AuditStore } from '../../../audit/audit-store.js';
import type { AsymmetricOps } from '../../../core/asymmetric-ops.js';
import { associatedData, type CryptoOps } from '../../../core/crypto-ops.js';
import type { CallerContext, Clock } from '../../../core/context.js';
import type { KeyImportService } from '../../../core/key-import.js';
import type { KeyService } from '../../../core/keys.js';
import type { KeystoreService } from '../../../core/keystores.js';
import type { ReplicationService } from '../../../core/replication.js';
import type { RotationService } from '../../../core/rotation.js';
import type { AliasService } from '../../../core/aliases.js';
import type { GrantOperation, GrantService } from '../../../core/grants.js';
import type { TagService } from '../../../core/tags.js';
import type { KeySpaceService } from '../../../core/key-space.js';
import type { PlatformAttestation } from '../../../core/attestation.js';
import { KmsError } from '../../../errors.js';
import type { Topology } from '../../../regions/topology.js';
import { defineOperation, type ResourcePermission } from '../../operation.js';
import { answer, body, keyId, oneOf, sequence, text } from '../../schema.js';

/** The core services a region's handlers call. */
export interface RegionServices {
  region: string;
  keys: KeyService;
  keystores: KeystoreService;
  crypto: CryptoOps;
  asymmetric: AsymmetricOps;
  rotation: RotationService;
  imports: KeyImportService;
  replication: ReplicationService;
  tags: TagService;
  aliases: AliasService;
  grants: GrantService;
  /** Access points, key policies and data-key capsules (core/key-space.ts). */
  keySpace: KeySpaceService;
  /** What attests ECS/CCE workloads and enclaves (core/attestation.ts): capsules and `recipient`s. */
  platform: PlatformAttestation;
  topology: Topology;
  clock: Clock;
  /** This region's audit trail, read by ListKeyAuditTrail (the pipeline writes it through AuditLog). */
  auditTrail: Pick<AuditStore, 'auditRecords'>;
}

/** Declares a KMS operation (operation.ts) whose handler gets the region's services and the caller's context. */
export const kmsOperation = defineOperation<RegionServices, CallerContext>();

/**
 * The `resourcePermission` of an operation a grant may list (docs/reference/huawei-kms-api.md §3.3): the caller's
 * grants on every key the call names, when each key has one listing `operation`.
 */
export function viaGrant(operation: GrantOperation) {
  return async (s: RegionServices, ctx: CallerContext, _input: unknown, keyIds: string[]): Promise<ResourcePermission | null> => {
    if (keyIds.length === 0) return null;
    const by = new Set<string>();
    const operations = new Set<string>();
    for (const keyId of keyIds) {
      const held = await s.grants.held(ctx, keyId);
      if (!held.some((g) => g.operations.includes(operation))) return null;
      for (const g of held) {
        by.add(g.id);
        for (const op of g.operations) operations.add(op);
      }
    }
    return { by: [...by], operations: [...operations] };
  };
}

/** `{project_id}`: checked against the caller's credentials by authentication (docs/reference/huawei-auth.md §4.5). */
export const projectParams = Type.Object({ project_id: text({ code: 'KMS.0201', pattern: '^[0-9a-zA-Z_-]{1,64}$', description: 'Project ID.' }) });

/** OperateKeyRequestBody: `key_id` and the optional `sequence` (docs/reference/huawei-kms-api.md §3.5). */
export const operateKey = body({ key_id: keyId(), sequence: sequence() });

/** `additional_authenticated_data` (≤ 128 bytes of UTF-8) and the older `encryption_context` object. */
export const aadFields = {
  additional_authenticated_data: Type.Optional(text({ maxBytes: 128, description: 'Additional authenticated data (≤ 128 bytes), repeated on decryption.' })),
  encryption_context: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { 'x-error-code': 'KMS.0208', description: 'Older form of AAD: a JSON object, bound as authenticated data.' })),
};

/** The AAD a request binds: `additional_authenticated_data` and `encryption_context` (≤ 8192 characters; KMS.0208). */
export function requestAad(b: { additional_authenticated_data?: string; encryption_context?: Record<string, unknown> }): Buffer {
  if (b.encryption_context !== undefined && JSON.stringify(b.encryption_context).length > 8192) {
    throw new KmsError('KMS.0208', 'encryption_context may have at most 8192 characters.');
  }
  return associatedData(b.additional_authenticated_data, b.encryption_context);
}

/**
 * `recipient` (SDK Recipient model) of derive-shared-secret and, as Strongroom's extension, of the data key pair
 * operations: the secret is answered encrypted to the enclave the attestation document proves (core/recipient.ts).
 */
export const recipientSchema = Type.Object({
  attestation_document: text({ code: 'KMS.3804', minChars: 1, maxChars: 65536, description: 'The enclave\'s attestation document.' }),
  key_encryption_algorithm: oneOf(['RSAES_OAEP_SHA_256'], { code: 'KMS.0308', description: 'RSAES_OAEP_SHA_256 only.' }),
}, { 'x-error-code': 'KMS.0308', description: 'Enclave recipient: the answer carries ciphertext_recipient instead of the plaintext.' });

const str = () => Type.String();

/** KeyDetails (docs/reference/huawei-kms-api.md §3.4): every value a string, times in epoch milliseconds. */
export const keyDetailsSchema = answer({
  key_id: str(),
  domain_id: str(),
  key_alias: str(),
  realm: str(),
  key_spec: str(),
  key_usage: str(),
  key_description: str(),
  creation_date: str(),
  scheduled_deletion_date: str(),
  key_state: str(),
  default_key_flag: str(),
  key_type: str(),
  expiration_time: str(),
  origin: str(),
  key_rotation_enabled: str(),
  sys_enterprise_project_id: str(),
  keystore_id: str(),
  keystore_type: str(),
  multi_region_key_type: str(),
  pending_days: str(),
});

/** `{key_id, key_state}`, flat or inside `key_info`. */
export const keyState = answer({ key_id: str(), key_state: str() });
