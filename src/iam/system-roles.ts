/**
 * THE table of system roles and system policies (`GET /v3/roles`), with the documents evaluation uses
 * (docs/reference/huawei-auth.md §4.2; names, types and catalogs from Huawei's and Open Telekom Cloud's IAM pages).
 * Huawei does not publish the bodies of the KMS entries; ours follow their descriptions, and IAM's own actions are
 * `iam:*` where Huawei's 1.0 roles write `identity:*`. Ids are fixed (derived from the name), so they are the same in
 * every deployment, as Huawei's are in every account.
 */
import { createHash } from 'node:crypto';
import type { PolicyDocument } from './policy-document.js';

export interface SystemRole {
  id: string;
  /** Huawei's internal name (carried in tokens), e.g. `kms_adm`. */
  name: string;
  display_name: string;
  /** `AA` account and projects, `AX` account (global services) only, `XA` projects only. */
  type: 'AA' | 'AX' | 'XA';
  catalog: string;
  description: string;
  description_cn: string;
  /** `fine_grained` for system policies (Version 1.1); absent for roles (Version 1.0). */
  flag?: 'fine_grained';
  policy: PolicyDocument;
}

const idOf = (name: string): string => createHash('sha256').update(`strongroom system role ${name}`).digest('hex').slice(0, 32);

const allow = (...Action: string[]) => ({ Effect: 'Allow' as const, Action });
const deny = (...Action: string[]) => ({ Effect: 'Deny' as const, Action });

/** The read-only KMS actions: describe, list, rotation status, public keys, grants, tags, aliases, quotas, regions, keystores. */
export const KMS_READ_ONLY_ACTIONS = [
  'kms:cmk:list', 'kms:cmk:get', 'kms:cmk:getRotation', 'kms:cmk:getPublicKey', 'kms:cmk:getInstance', 'kms:cmk:getQuota',
  'kms:grant:list', 'kms:cmkTag:list', 'kms:cmkTag:listInstance', 'kms:alias:list', 'kms:region:list',
  'kms:keystore:list', 'kms:keystore:get',
];

const role = (r: Omit<SystemRole, 'id'>): SystemRole => ({ id: idOf(r.name), ...r });

export const SYSTEM_ROLES: readonly SystemRole[] = [
  role({
    name: 'kms_adm', display_name: 'KMS Administrator', type: 'XA', catalog: 'KMS',
    description: 'All permissions for the encryption keys.', description_cn: '密钥管理服务(KMS)的加密密钥所有权限。',
    policy: { Version: '1.0', Statement: [allow('kms:*:*')] },
  }),
  role({
    name: 'system_all_38', display_name: 'KMS CMKFullAccess', type: 'XA', catalog: 'KMS', flag: 'fine_grained',
    description: 'All permissions for the encryption keys.', description_cn: '密钥管理服务(KMS)的加密密钥所有权限。',
    policy: { Version: '1.1', Statement: [allow('kms:*:*')] },
  }),
  role({
    name: 'system_all_39', display_name: 'KMS CMKReadOnlyAccess', type: 'XA', catalog: 'KMS', flag: 'fine_grained',
    description: 'Read-only permission for encryption keys.', description_cn: '密钥管理服务(KMS)的加密密钥只读权限。',
    policy: { Version: '1.1', Statement: [allow(...KMS_READ_ONLY_ACTIONS)] },
  }),
  role({
    name: 'readonly', display_name: 'Tenant Guest', type: 'AA', catalog: 'BASE',
    description: 'Tenant Guest (Exclude IAM).', description_cn: '全部云服务只读权限(除IAM权限)',
    policy: { Version: '1.0', Statement: [allow('*:*:get*', '*:*:list*'), deny('iam:*:*')] },
  }),
  role({
    name: 'te_admin', display_name: 'Tenant Administrator', type: 'AA', catalog: 'BASE',
    description: 'Tenant Administrator (Exclude IAM).', description_cn: '全部云服务管理员(除IAM管理权限)',
    policy: { Version: '1.0', Statement: [allow('*:*:*'), deny('iam:*:*')] },
  }),
  role({
    name: 'secu_admin', display_name: 'Security Administrator', type: 'AX', catalog: 'BASE',
    description: 'Full permissions for Identity and Access Management.', description_cn: '统一身份认证服务(除切换角色外)所有权限',
    policy: { Version: '1.0', Statement: [allow('iam:*:*')] },
  }),
  role({
    name: 'system_all_1001', display_name: 'FullAccess', type: 'AA', catalog: 'BASE', flag: 'fine_grained',
    description: 'Full permissions for all services that support policy-based authorization.', description_cn: '基于策略授权的所有服务的所有权限。',
    policy: { Version: '1.1', Statement: [allow('*:*:*')] },
  }),
];

export function systemRole(id: string): SystemRole | undefined {
  return SYSTEM_ROLES.find((r) => r.id === id);
}

/**
 * A role's documents with those of the roles it depends on (Version 1.0 `Depends`, by display name, transitively:
 * the console grants dependencies along with a role, docs/reference/huawei-auth.md §4.1), first the role's own.
 */
export function withDependencies(role: { display_name: string; policy: PolicyDocument }, table: readonly { display_name: string; policy: PolicyDocument }[] = SYSTEM_ROLES): { name: string; document: PolicyDocument }[] {
  const out: { name: string; document: PolicyDocument }[] = [];
  const seen = new Set<string>();
  const visit = (r: { display_name: string; policy: PolicyDocument }) => {
    if (seen.has(r.display_name)) return;
    seen.add(r.display_name);
    out.push({ name: r.display_name, document: r.policy });
    for (const d of r.policy.Depends ?? []) {
      const dep = table.find((t) => t.display_name === d.display_name);
      if (dep) visit(dep);
    }
  };
  visit(role);
  return out;
}

/**
 * What the members of an account's built-in `admin` group may do: everything
 * (docs/reference/huawei-auth.md §4.4: the root identity).
 */
export const ADMIN_GROUP_POLICY = { name: 'admin group', document: { Version: '1.1', Statement: [allow('*:*:*')] } as PolicyDocument };
