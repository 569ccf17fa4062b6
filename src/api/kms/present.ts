/**
 * Core key records as Huawei's KeyDetails (docs/reference/huawei-kms-api.md §3.4, with the fields every real key
 * carries: docs/reference/observed-huawei-answers.md): snake_case, numbers as strings, times in epoch milliseconds.
 */
import type { KeyRecord } from '../../core/key.js';
import { KEY_SPECS } from '../../core/key-specs.js';

const DAY_MS = 86_400_000;

/** `SINGLE` for a key that was never replicated, else whether this region holds its `PRIMARY` or a `REPLICA`. */
export const multiRegionKeyType = (key: KeyRecord): 'SINGLE' | 'PRIMARY' | 'REPLICA' =>
  key.primaryRegion === null ? 'SINGLE' : key.primaryRegion === key.region ? 'PRIMARY' : 'REPLICA';

/** `now` (epoch ms) gives `pending_days`: the whole days left before a key pending deletion is destroyed. */
export function keyDetails(key: KeyRecord, now: number) {
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
    // Every keystore other than the default "0" is a dedicated HSM keystore (core/keystores.ts).
    keystore_type: key.keystoreId === '0' ? 'DEFAULT' : 'DHSM',
    multi_region_key_type: multiRegionKeyType(key),
    pending_days: key.state === '4' && key.deletionDate !== null ? String(Math.max(0, Math.ceil((key.deletionDate - now) / DAY_MS))) : '',
  };
}
