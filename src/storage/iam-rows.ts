/**
 * The IAM tables' rows as both stores read them (storage/iam-migrations.ts), and their mapping to the records of
 * storage/iam-store.ts. Both dialects hold the same values: epoch ms and sequence numbers as numbers (PostgreSQL's
 * BIGINT is read as a number by postgres/database.ts), flags as INTEGER 0/1, wrapped secrets as Buffers.
 */
import type { AccessKeyRecord, CustomRole, Domain, Grant, Group, Project, User } from './iam-store.js';

export interface DomainRow { id: string; name: string; created_at: number }
export interface UserRow {
  id: string; domain_id: string; name: string; password_hash: string; enabled: number; created_at: number;
  description: string; email: string; updated_at: number; domain_owner: number; tokens_not_before: number;
}
export interface ProjectRow { id: string; domain_id: string; name: string; region: string; created_at: number }
export interface AccessKeyRow {
  access_key: string; user_id: string; secret_wrapped: Buffer; security_token_hash: string | null; expires_at: number | null;
  created_at: number; enabled: number; source_token_id: string | null; project_id: string | null; description: string;
}
export interface GroupRow { id: string; domain_id: string; name: string; description: string; created_at: number; builtin: number }
export interface RoleRow {
  id: string; domain_id: string; name: string; display_name: string; type: 'AX' | 'XA'; description: string;
  description_cn: string; policy: string; created_at: number; updated_at: number;
}
export interface GrantRow { group_id: string; role_id: string; scope: Grant['scope']; scope_id: string }
export interface RevokedTokenRow { seq: number; token_id: string; expires_at: number }
export interface PermissionChangeRow { seq: number; domain_id: string }

export const domain = (r: DomainRow): Domain => ({ id: r.id, name: r.name, createdAt: r.created_at });
export const user = (r: UserRow): User => ({
  id: r.id, domainId: r.domain_id, name: r.name, passwordHash: r.password_hash, enabled: r.enabled === 1, createdAt: r.created_at,
  description: r.description, email: r.email, updatedAt: r.updated_at, domainOwner: r.domain_owner === 1,
  tokensNotBefore: r.tokens_not_before,
});
export const project = (r: ProjectRow): Project => ({ id: r.id, domainId: r.domain_id, name: r.name, region: r.region, createdAt: r.created_at });
export const accessKey = (r: AccessKeyRow): AccessKeyRecord => ({
  accessKey: r.access_key, userId: r.user_id, secretWrapped: r.secret_wrapped, securityTokenHash: r.security_token_hash,
  expiresAt: r.expires_at, createdAt: r.created_at, enabled: r.enabled === 1, sourceTokenId: r.source_token_id, projectId: r.project_id,
  description: r.description,
});
export const group = (r: GroupRow): Group => ({ id: r.id, domainId: r.domain_id, name: r.name, description: r.description, createdAt: r.created_at, builtin: r.builtin === 1 });
export const role = (r: RoleRow): CustomRole => ({
  id: r.id, domainId: r.domain_id, name: r.name, displayName: r.display_name, type: r.type, description: r.description,
  descriptionCn: r.description_cn, policy: r.policy, createdAt: r.created_at, updatedAt: r.updated_at,
});
export const grant = (r: GrantRow): Grant => ({ groupId: r.group_id, roleId: r.role_id, scope: r.scope, scopeId: r.scope_id });
