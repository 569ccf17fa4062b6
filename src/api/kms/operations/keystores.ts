/**
 * Dedicated keystores (docs/reference/huawei-kms-api.md §2 O, §4 O 57–62; fields as the official SDK's
 * CreateKeyStoreRequestBody, KeystoreDetails, KeyStoreStateInfo, ListKeyStoresResponse): create one on a registered
 * HSM cluster, list (limit/offset query integers, `total`), show, delete, enable, disable. Paths have no `/kms`
 * segment. Keystores belong to the caller's account in this region (core/keystores.ts).
 */
import { Type } from 'typebox';
import type { KeystoreRecord } from '../../../core/keystores.js';
import { ALIAS_PATTERN, answer, body, integer, oneOf, text } from '../../schema.js';
import { kmsOperation, projectParams } from './common.js';

const keystoreParams = Type.Object({
  project_id: projectParams.properties.project_id,
  keystore_id: text({ code: 'KMS.0201', pattern: '^[0-9a-zA-Z-]{1,64}$', description: 'Keystore ID.' }),
});

const str = () => Type.String();

/** KeystoreDetails (SDK model; `cluster_id` from the 2026 page: a DHSM keystore's is its hsm_cluster_id). */
const keystoreDetails = answer({
  keystore_id: str(),
  domain_id: str(),
  keystore_alias: str(),
  keystore_type: str(),
  hsm_cluster_id: str(),
  cluster_id: str(),
  create_time: str(),
});

/** Huawei's keystore times are ISO-8601 UTC strings without fractions (§1.4). */
const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function details(k: KeystoreRecord) {
  return {
    keystore_id: k.id, domain_id: k.domainId, keystore_alias: k.alias, keystore_type: k.type, hsm_cluster_id: k.hsmClusterId,
    cluster_id: k.hsmClusterId, create_time: isoSeconds(k.createdAt),
  };
}

const stateInfo = answer({ keystore: answer({ keystore_id: str(), keystore_state: str() }) });

export const keystoreOperations = [
  kmsOperation({
    name: 'CreateKeyStore',
    method: 'POST',
    path: '/v1.0/{project_id}/keystores',
    action: 'kms:keystore:create',
    actionSource: 'strongroom',
    summary: 'Create a dedicated keystore (DHSM) on a registered HSM cluster that backs no keystore yet; its keys live in that HSM.',
    mutates: true,
    params: projectParams,
    body: body({
      keystore_alias: text({ code: 'KMS.0308', pattern: ALIAS_PATTERN, description: 'Alias, unique in the account: 1–255 of a-z A-Z 0-9 : / _ -.' }),
      hsm_cluster_id: Type.Optional(text({ code: 'KMS.0308', pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Id of a registered HSM cluster (strongroom hsm list).' })),
      hsm_ca_cert: Type.Optional(text({ code: 'KMS.0308', maxBytes: 16384, description: 'CA certificate of the cluster (kept, not used: the cluster is reached through PKCS#11).' })),
      cluster_id: Type.Optional(text({ code: 'KMS.0308', maxBytes: 64, description: 'For DHSM, the same as hsm_cluster_id.' })),
      keystore_type: Type.Optional(oneOf(['DEFAULT', 'DHSM', 'CDMS', '0', '1', '2'], { code: 'KMS.0308', description: 'DHSM (default; or 1). CDMS (2) is refused: there are no card clusters.' })),
    }),
    response: answer({ keystore: answer({ keystore_id: str(), domain_id: str() }) }),
    handler: async (s, ctx, { body: b }) => {
      const k = await s.keystores.create(ctx, { alias: b.keystore_alias, hsmClusterId: b.hsm_cluster_id, hsmCaCert: b.hsm_ca_cert, clusterId: b.cluster_id, type: b.keystore_type });
      return { keystore: { keystore_id: k.id, domain_id: k.domainId } };
    },
  }),

  kmsOperation({
    name: 'ListKeyStores',
    method: 'GET',
    path: '/v1.0/{project_id}/keystores',
    action: 'kms:keystore:list',
    actionSource: 'strongroom',
    summary: 'The keystores of the account, oldest first, paged by limit (default 10) and offset, with their total.',
    mutates: false,
    params: projectParams,
    query: Type.Object({
      limit: Type.Optional(integer({ code: 'KMS.1601', minimum: 1, maximum: 1000, description: 'Page size 1–1000 (default 10).' })),
      offset: Type.Optional(integer({ code: 'KMS.1603', minimum: 0, description: 'Keystores to skip (default 0).' })),
    }),
    response: answer({ total: Type.Integer(), keystores: Type.Array(keystoreDetails) }),
    handler: async (s, ctx, { query: q }) => {
      const page = await s.keystores.list(ctx, q.offset ?? 0, q.limit ?? 10);
      return { total: page.total, keystores: page.keystores.map(details) };
    },
  }),

  kmsOperation({
    name: 'ShowKeyStore',
    method: 'GET',
    path: '/v1.0/{project_id}/keystores/{keystore_id}',
    action: 'kms:keystore:get',
    actionSource: 'strongroom',
    summary: 'One keystore of the account (KMS.0340 when it has none with that id).',
    mutates: false,
    params: keystoreParams,
    response: answer({ keystore: keystoreDetails }),
    handler: async (s, ctx, { params: p }) => ({ keystore: details(await s.keystores.get(ctx, p.keystore_id)) }),
  }),

  kmsOperation({
    name: 'DeleteKeyStore',
    method: 'DELETE',
    path: '/v1.0/{project_id}/keystores/{keystore_id}',
    action: 'kms:keystore:delete',
    actionSource: 'strongroom',
    summary: 'Delete a keystore that holds no key any more (KMS.0308 while a key of it is not destroyed).',
    mutates: true,
    params: keystoreParams,
    handler: async (s, ctx, { params: p }) => {
      await s.keystores.delete(ctx, p.keystore_id);
    },
  }),

  kmsOperation({
    name: 'EnableKeyStore',
    method: 'POST',
    path: '/v1.0/{project_id}/keystores/{keystore_id}/enable',
    action: 'kms:keystore:enable',
    actionSource: 'strongroom',
    summary: 'Enable a keystore: its keys work again (keystore_state "2").',
    mutates: true,
    params: keystoreParams,
    response: stateInfo,
    handler: async (s, ctx, { params: p }) => {
      const k = await s.keystores.enable(ctx, p.keystore_id);
      return { keystore: { keystore_id: k.id, keystore_state: k.state } };
    },
  }),

  kmsOperation({
    name: 'DisableKeyStore',
    method: 'POST',
    path: '/v1.0/{project_id}/keystores/{keystore_id}/disable',
    action: 'kms:keystore:disable',
    actionSource: 'strongroom',
    summary: 'Disable a keystore (keystore_state "3"): its keys refuse every operation (KMS.0340) and no key is created in it.',
    mutates: true,
    params: keystoreParams,
    response: stateInfo,
    handler: async (s, ctx, { params: p }) => {
      const k = await s.keystores.disable(ctx, p.keystore_id);
      return { keystore: { keystore_id: k.id, keystore_state: k.state } };
    },
  }),
];
