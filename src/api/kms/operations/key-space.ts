/**
 * The trusted key space (docs/reference/huawei-kms-api.md §2 P, §4 P 63–75; core/key-space.ts for the rules): access
 * points, key policies and data-key capsules. Field names are the SDK's, with its upstream spellings: `lsat_modify_time`
 * in ListAccessPoint items, `validityPeriod` and `allowedAccessPoint` inside ListKeyPolicy items (§1.4). Times are
 * ISO-8601 UTC to the second (§1.4); access point `type` and `state` are integers (§3.3). Lists page by `limit`
 * (1–100, default 50) and `marker` (the previous page's `next_marker`, an id). Huawei documents no IAM action for
 * these operations: the names are ours (`*` in the README). An id the project does not have is KMS.0308 (Huawei
 * documents no code for it).
 */
import { Type } from 'typebox';
import { ASYMMETRIC_ENCRYPTION_ALGORITHMS } from '../../../crypto/algorithms.js';
import { KmsError } from '../../../errors.js';
import type { AccessPointRecord, KeyPolicyRecord } from '../../../storage/key-space-store.js';
import type { KeyPolicyDocument } from '../../../core/key-space.js';
import { ALIAS_PATTERN, answer, base64, body, integer, keyId, text, UUID_PATTERN } from '../../schema.js';
import { upperHex } from '../encoding.js';
import { kmsOperation, projectParams } from './common.js';

/** Names of access points and key policies: Huawei's alias rule, `^[a-zA-Z0-9:/_-]{1,255}$` (§4 P 63, 69). */
const NAME = ALIAS_PATTERN;
const uuid = (description: string) => text({ code: 'KMS.0308', pattern: UUID_PATTERN, description });
const str = () => Type.String();

/** ISO-8601 UTC to the second (`2024-04-01T00:00:00Z`). */
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const accessPointParams = Type.Object({ project_id: projectParams.properties.project_id, access_point_id: uuid('Access point ID.') });
const policyParams = Type.Object({ project_id: projectParams.properties.project_id, policy_id: uuid('Key policy ID.') });
const listQuery = Type.Object({
  keyspace_id: uuid('Key space ID.'),
  limit: Type.Optional(integer({ code: 'KMS.1601', minimum: 1, maximum: 100, emptyIsAbsent: true, description: 'Page size 1–100 (default 50).' })),
  marker: Type.Optional(text({ code: 'KMS.0308', pattern: `^$|${UUID_PATTERN}`, description: 'next_marker of the previous page; empty: the first page.' })),
});
const pageInfo = answer({ next_marker: str(), current_count: Type.Integer() });

const validity = answer({ start_time: str(), end_time: str() });
const policyObject = answer({ version: str(), validity_period: validity, allowed_access_point: Type.Array(str()), allowed_data_security_zone: Type.Array(str()) });
/** ListKeyPolicy's spelling of the policy object (camelCase in the SDK map). */
const listedPolicyObject = answer({ version: str(), validityPeriod: validity, allowedAccessPoint: Type.Array(str()), allowed_data_security_zone: Type.Array(str()) });

const policyFields = {
  policy_id: str(), policy_name: str(), keyspace_id: str(), description: str(), created_by: str(), create_time: str(), last_modify_time: str(),
  last_access_time: Type.Optional(str()),
};

function policyOf(p: KeyPolicyRecord) {
  const d = JSON.parse(p.document) as KeyPolicyDocument;
  return {
    policy_id: p.id, policy_name: p.name, keyspace_id: p.keyspaceId, policy: d, description: p.description, created_by: p.createdBy,
    create_time: iso(p.createdAt), last_modify_time: iso(p.updatedAt), ...(p.lastAccessAt !== null ? { last_access_time: iso(p.lastAccessAt) } : {}),
  };
}

function listedAccessPoint(a: AccessPointRecord) {
  return {
    access_point_id: a.id, keyspace_id: a.keyspaceId, access_point_name: a.name, state: a.state, type: a.type, created_by: a.createdBy,
    create_time: iso(a.createdAt), lsat_modify_time: iso(a.updatedAt),
  };
}

/** `public_key` of the capsule operations: an RSA public key (Base64 DER SubjectPublicKeyInfo) the data key is encrypted to. */
function encryptDataKey(publicKey: string, dataKey: Buffer): string {
  try {
    return ASYMMETRIC_ENCRYPTION_ALGORITHMS.RSAES_OAEP_SHA_256.encrypt(Buffer.from(publicKey, 'base64'), dataKey).toString('base64');
  } catch {
    throw new KmsError('KMS.0308', 'public_key must be the Base64 of the DER SubjectPublicKeyInfo of an RSA public key.');
  }
}

/** `datakey_length`: "128" or "256" (bits) as the SDK documents; the Node SDK's enum names AES_256 (256) and SM4 (128). */
const DATAKEY_BITS: Readonly<Record<string, number>> = { '128': 128, '256': 256, AES_256: 256, SM4: 128 };

const capsulePublicKey = Type.Optional(base64({ code: 'KMS.0308', maxChars: 2048, description: 'RSA public key (Base64 DER SubjectPublicKeyInfo): the data key is answered encrypted to it (RSAES_OAEP_SHA_256) as datakey_cipher.' }));

export const keySpaceOperations = [
  kmsOperation({
    name: 'CreateAccessPoint',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/access-points',
    action: 'kms:accessPoint:create',
    actionSource: 'strongroom',
    summary: 'Register an access point in a key space: type 1 ECS (identity: the ECS id), 2 CCE (identity: the cluster public key; cluster_id), 3 Custom (Strongroom generates its key pair).',
    mutates: true,
    status: 201,
    params: projectParams,
    body: body({
      keyspace_id: uuid('Key space ID.'),
      access_point_name: text({ code: 'KMS.0308', pattern: NAME, description: '1–255 letters, digits, : / _ -.' }),
      type: Type.Integer({ minimum: 1, maximum: 3, 'x-error-code': 'KMS.0308', description: '1 ECS, 2 CCE, 3 Custom (a JSON number).' }),
      identity: Type.Optional(text({ code: 'KMS.0308', maxChars: 4096, description: 'ECS: the ECS id; CCE: the cluster public key; Custom: omitted.' })),
      cluster_id: Type.Optional(text({ code: 'KMS.0308', maxChars: 255, description: 'CCE: the cluster id.' })),
      description: Type.Optional(text({ code: 'KMS.0308', minChars: 1, maxChars: 255 })),
    }),
    response: answer({ access_point_id: str() }),
    handler: async (s, ctx, { body: b }) => {
      const ap = await s.keySpace.createAccessPoint(ctx, {
        keyspaceId: b.keyspace_id, name: b.access_point_name, type: b.type as 1 | 2 | 3, identity: b.identity, clusterId: b.cluster_id, description: b.description,
      });
      return { access_point_id: ap.id };
    },
  }),

  kmsOperation({
    name: 'ListAccessPoint',
    method: 'GET',
    path: '/v1.0/{project_id}/kms/access-points',
    action: 'kms:accessPoint:list',
    actionSource: 'strongroom',
    summary: 'The access points of a key space, by id, paged by limit (default 50) and marker.',
    mutates: false,
    params: projectParams,
    query: listQuery,
    response: answer({
      page_info: pageInfo,
      access_points: Type.Array(answer({
        access_point_id: str(), keyspace_id: str(), access_point_name: str(), state: Type.Integer(), type: Type.Integer(), created_by: str(), create_time: str(), lsat_modify_time: str(),
      })),
    }),
    handler: async (s, ctx, { query: q }) => {
      const page = await s.keySpace.listAccessPoints(ctx, q.keyspace_id, q.limit ?? 50, q.marker ?? '');
      return { page_info: { next_marker: page.nextMarker, current_count: page.accessPoints.length }, access_points: page.accessPoints.map(listedAccessPoint) };
    },
  }),

  kmsOperation({
    name: 'DeleteAccessPoint',
    method: 'DELETE',
    path: '/v1.0/{project_id}/kms/access-points/{access_point_id}',
    action: 'kms:accessPoint:delete',
    actionSource: 'strongroom',
    summary: 'Delete an access point (and a Custom one\'s private key): it opens no capsule any more.',
    mutates: true,
    status: 204,
    params: accessPointParams,
    handler: async (s, ctx, { params: p }) => {
      await s.keySpace.deleteAccessPoint(ctx, p.access_point_id);
    },
  }),

  kmsOperation({
    name: 'EnableAccessPoint',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/access-points/{access_point_id}/enable',
    action: 'kms:accessPoint:enable',
    actionSource: 'strongroom',
    summary: 'Enable an access point (state 1).',
    mutates: true,
    params: accessPointParams,
    handler: async (s, ctx, { params: p }) => {
      await s.keySpace.setAccessPointState(ctx, p.access_point_id, 1);
    },
  }),

  kmsOperation({
    name: 'DisableAccessPoint',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/access-points/{access_point_id}/disable',
    action: 'kms:accessPoint:disable',
    actionSource: 'strongroom',
    summary: 'Disable an access point (state 0): it opens no capsule until enabled again.',
    mutates: true,
    params: accessPointParams,
    handler: async (s, ctx, { params: p }) => {
      await s.keySpace.setAccessPointState(ctx, p.access_point_id, 0);
    },
  }),

  kmsOperation({
    name: 'DownloadAccessPointPrivateKey',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/access-points/{access_point_id}/get-privatekey',
    action: 'kms:accessPoint:getPrivateKey',
    actionSource: 'strongroom',
    summary: 'The private key of a Custom access point (Base64 PKCS#8 DER, EC P-256), to sign its attestations; ECS and CCE access points have none (KMS.0308).',
    mutates: false,
    params: accessPointParams,
    response: answer({ access_point_id: str(), private_key: str() }),
    handler: async (s, ctx, { params: p }) => {
      const key = await s.keySpace.privateKey(ctx, p.access_point_id);
      try {
        return { access_point_id: p.access_point_id, private_key: key.toString('base64') };
      } finally {
        key.fill(0);
      }
    },
  }),

  kmsOperation({
    name: 'CreateKeyPolicy',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/key-policies',
    action: 'kms:keyPolicy:create',
    actionSource: 'strongroom',
    summary: 'Create a key policy in a key space; policy is a JSON document in a string: version, validity_period {start_time, end_time}, allowed_access_point, allowed_data_security_zone.',
    mutates: true,
    params: projectParams,
    body: body({
      keyspace_id: uuid('Key space ID.'),
      policy_name: text({ code: 'KMS.0308', pattern: NAME, description: '1–255 letters, digits, : / _ -.' }),
      policy: text({ code: 'KMS.0308', minChars: 2, maxChars: 32768, description: 'The policy document, JSON in a string.' }),
      description: Type.Optional(text({ code: 'KMS.0308', maxChars: 255 })),
    }),
    response: answer({ policy_id: str() }),
    handler: async (s, ctx, { body: b }) => {
      const policy = await s.keySpace.createKeyPolicy(ctx, { keyspaceId: b.keyspace_id, name: b.policy_name, policy: b.policy, description: b.description });
      return { policy_id: policy.id };
    },
  }),

  kmsOperation({
    name: 'ListKeyPolicy',
    method: 'GET',
    path: '/v1.0/{project_id}/kms/key-policies',
    action: 'kms:keyPolicy:list',
    actionSource: 'strongroom',
    summary: 'The key policies of a key space, by id, paged by limit (default 50) and marker (the policy object spelled validityPeriod, allowedAccessPoint, as the SDK maps it).',
    mutates: false,
    params: projectParams,
    query: listQuery,
    response: answer({
      page_info: pageInfo,
      keyspace_policies: Type.Array(answer({ ...policyFields, policy: listedPolicyObject })),
    }),
    handler: async (s, ctx, { query: q }) => {
      const page = await s.keySpace.listKeyPolicies(ctx, q.keyspace_id, q.limit ?? 50, q.marker ?? '');
      return {
        page_info: { next_marker: page.nextMarker, current_count: page.policies.length },
        keyspace_policies: page.policies.map((p) => {
          const { policy: d, ...rest } = policyOf(p);
          return { ...rest, policy: { version: d.version, validityPeriod: d.validity_period, allowedAccessPoint: d.allowed_access_point, allowed_data_security_zone: d.allowed_data_security_zone } };
        }),
      };
    },
  }),

  kmsOperation({
    name: 'ShowKeyPolicy',
    method: 'GET',
    path: '/v1.0/{project_id}/kms/key-policies/{policy_id}',
    action: 'kms:keyPolicy:get',
    actionSource: 'strongroom',
    summary: 'One key policy, its document as an object.',
    mutates: false,
    params: policyParams,
    response: answer({ ...policyFields, policy: policyObject }),
    handler: async (s, ctx, { params: p }) => policyOf(await s.keySpace.keyPolicy(ctx, p.policy_id)),
  }),

  kmsOperation({
    name: 'UpdateKeyPolicy',
    method: 'PUT',
    path: '/v1.0/{project_id}/kms/key-policies/{policy_id}',
    action: 'kms:keyPolicy:update',
    actionSource: 'strongroom',
    summary: 'Replace a key policy\'s document (and description): in force for the next capsule opened.',
    mutates: true,
    params: policyParams,
    body: body({
      policy: text({ code: 'KMS.0308', minChars: 2, maxChars: 32768, description: 'The policy document, JSON in a string.' }),
      description: Type.Optional(text({ code: 'KMS.0308', maxChars: 255 })),
    }),
    response: answer({ policy_id: str(), policy: policyObject, description: str(), last_modify_time: str() }),
    handler: async (s, ctx, { params: p, body: b }) => {
      const updated = policyOf(await s.keySpace.updateKeyPolicy(ctx, p.policy_id, b.policy, b.description));
      return { policy_id: updated.policy_id, policy: updated.policy, description: updated.description, last_modify_time: updated.last_modify_time };
    },
  }),

  kmsOperation({
    name: 'DeleteKeyPolicy',
    method: 'DELETE',
    path: '/v1.0/{project_id}/kms/key-policies/{policy_id}',
    action: 'kms:keyPolicy:delete',
    actionSource: 'strongroom',
    summary: 'Delete a key policy: the capsules bound to it open no more.',
    mutates: true,
    status: 204,
    params: policyParams,
    handler: async (s, ctx, { params: p }) => {
      await s.keySpace.deleteKeyPolicy(ctx, p.policy_id);
    },
  }),

  kmsOperation({
    name: 'CreateDatakeyCapsule',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/datakey-capsule/create',
    action: 'kms:dek:createCapsule',
    actionSource: 'strongroom',
    summary: 'A new data key (uppercase hex, or encrypted to public_key) and its capsule, bound to a key policy (policy_id) or an inline one (key_policy).',
    mutates: false,
    params: projectParams,
    body: body({
      key_id: keyId(),
      datakey_length: text({ code: 'KMS.0308', pattern: '^(128|256|AES_256|SM4)$', description: '"128" or "256" bits.' }),
      public_key: capsulePublicKey,
      policy_id: Type.Optional(uuid('Key policy ID (or key_policy).')),
      key_policy: Type.Optional(text({ code: 'KMS.0308', minChars: 2, maxChars: 32768, description: 'An inline policy document, JSON in a string (or policy_id).' })),
    }),
    response: answer({ key_id: str(), datakey: Type.Optional(str()), datakey_cipher: Type.Optional(str()), datakey_capsule: str() }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const out = await s.keySpace.createCapsule(ctx, b.key_id, DATAKEY_BITS[b.datakey_length]! / 8, b.policy_id, b.key_policy);
      try {
        const released = b.public_key !== undefined ? { datakey_cipher: encryptDataKey(b.public_key, out.dataKey) } : { datakey: upperHex(out.dataKey) };
        return { key_id: out.keyId, ...released, datakey_capsule: out.capsule };
      } finally {
        out.dataKey.fill(0);
      }
    },
  }),

  kmsOperation({
    name: 'DecryptDatakeyCapsule',
    method: 'POST',
    path: '/v1.0/{project_id}/kms/datakey-capsule/decrypt',
    action: 'kms:dek:decryptCapsule',
    actionSource: 'strongroom',
    summary: 'Open a capsule for an attested access point its key policy allows, enabled, within the policy\'s validity period (403 KMS.0306 otherwise).',
    mutates: false,
    params: projectParams,
    body: body({
      key_id: keyId(),
      datakey_capsule: text({ code: 'KMS.2201', minChars: 1, maxChars: 65536, description: 'The capsule datakey-capsule/create answered.' }),
      public_key: capsulePublicKey,
      attestation_document: Type.Object({
        ecs_signature: Type.Optional(text({ code: 'KMS.3804', maxChars: 65536 })),
        custom_signature: Type.Optional(text({ code: 'KMS.3804', maxChars: 4096 })),
        custom_public_key: Type.Optional(text({ code: 'KMS.3804', maxChars: 4096 })),
        expire_time: Type.Optional(text({ code: 'KMS.3804', maxChars: 64 })),
        service_token: Type.Optional(text({ code: 'KMS.3804', maxChars: 65536 })),
      }, { 'x-error-code': 'KMS.3804', description: 'Custom: custom_signature, custom_public_key, expire_time; ECS: ecs_signature; CCE: service_token.' }),
    }),
    response: answer({ key_id: str(), instance_id: str(), datakey: Type.Optional(str()), datakey_cipher: Type.Optional(str()) }),
    keyIds: ({ body: b }) => [b.key_id],
    handler: async (s, ctx, { body: b }) => {
      const out = await s.keySpace.decryptCapsule(ctx, b.key_id, b.datakey_capsule, b.attestation_document);
      try {
        const released = b.public_key !== undefined ? { datakey_cipher: encryptDataKey(b.public_key, out.dataKey) } : { datakey: upperHex(out.dataKey) };
        return { key_id: b.key_id, instance_id: out.instanceId, ...released };
      } finally {
        out.dataKey.fill(0);
      }
    },
  }),
];
