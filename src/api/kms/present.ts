/** Core key records as Huawei's KeyDetails (huawei-kms-api.md §3.4): snake_case, numbers as strings. */
import type { KeyRecord } from '../../core/key.js';
import { KEY_SPECS } from '../../core/key-specs.js';

export function keyDetails(key: KeyRecord) {
  return {
    key_id: key.id,
    domain_id: key.domainId,
    key_alias: key.alias,
    realm: key.region,
    key_spec: key.spec,
    key_usage: key.usage,
    key_description: key.description,
    creation_date: String(key.createdAt),
    scheduled_deletion_date: key.deletionDate === null ? '' : String(key.deletionDate),
    key_state: key.state,
    default_key_flag: key.alias.endsWith('/default') ? '1' : '0',
    key_type: KEY_SPECS[key.spec].keyType,
    expiration_time: key.materialExpiresAt === null ? '' : String(key.materialExpiresAt),
    origin: key.origin,
    key_rotation_enabled: String(key.rotationEnabled),
    sys_enterprise_project_id: key.enterpriseProjectId,
    keystore_id: key.keystoreId,
  };
}
