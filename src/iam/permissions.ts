/**
 * Roles and policies, their grants to user groups, and what a user may therefore do (docs/reference/huawei-auth.md §4):
 * the system roles and policies (system-roles.ts), an account's custom policies (Version 1.1, type AX or XA, at
 * most 8 statements and 6144 characters), grants on one project, on the account (global services: IAM) or on all
 * projects, and the policies that apply to a user's call:
 *
 * - a KMS call in project P: what the user's groups were granted on P and on all projects;
 * - an IAM call: what they were granted on the account;
 * - members of the account's `admin` group may do everything (an explicit Deny still wins).
 *
 * Errors: IAM.0001 (400) invalid policy or grant, IAM.0003 (404) unknown role, group or project, IAM.0005 (409)
 * name taken or policy still granted.
 */
import { KmsError } from '../errors.js';
import type { CustomRole, Grant, IamStore, User } from '../storage/iam-store.js';
import { newId } from './ids.js';
import { parsePolicyDocument, PolicyDocumentError, type PolicyDocument } from './policy-document.js';
import type { NamedPolicy } from './policy-evaluation.js';
import { ADMIN_GROUP_POLICY, SYSTEM_ROLES, systemRole, withDependencies, type SystemRole } from './system-roles.js';

/** A role or policy as `GET /v3/roles` shows it: a system role, or a custom policy with its account and times. */
export interface RoleView extends SystemRole {
  domain_id: string | null;
  /** Epoch ms; custom policies only. */
  created_at?: number;
  updated_at?: number;
}

export interface CustomRoleInput {
  display_name: string;
  type: string;
  description: string;
  description_cn?: string;
  policy: unknown;
}

export type GrantScope = Grant['scope'];

const MAX_STATEMENTS = 8; // IAM.1028: a custom policy has 1 to 8 statements

const systemView = (r: SystemRole): RoleView => ({ ...r, domain_id: null });
const customView = (r: CustomRole): RoleView => ({
  id: r.id, name: r.name, display_name: r.displayName, type: r.type, catalog: 'CUSTOMED', description: r.description,
  description_cn: r.descriptionCn, domain_id: r.domainId, policy: JSON.parse(r.policy) as PolicyDocument, created_at: r.createdAt, updated_at: r.updatedAt,
});

export class Permissions {
  constructor(
    private readonly store: IamStore,
    private readonly clock: () => number = Date.now,
  ) {}

  systemRoles(): RoleView[] {
    return SYSTEM_ROLES.map(systemView);
  }

  async customRoles(domainId: string): Promise<RoleView[]> {
    return (await this.store.listRoles(domainId)).map(customView);
  }

  /** A system role, or a custom policy of the account; IAM.0003 otherwise. */
  async role(domainId: string, roleId: string): Promise<RoleView> {
    const sys = systemRole(roleId);
    if (sys) return systemView(sys);
    const custom = await this.store.getRole(roleId);
    if (!custom || custom.domainId !== domainId) throw new KmsError('IAM.0003', `Could not find role: ${roleId}.`);
    return customView(custom);
  }

  async customRole(domainId: string, roleId: string): Promise<RoleView> {
    const custom = await this.store.getRole(roleId);
    if (!custom || custom.domainId !== domainId) throw new KmsError('IAM.0003', `Could not find custom policy: ${roleId}.`);
    return customView(custom);
  }

  /** How many grants name the role (Huawei's `references`). */
  references(roleId: string): Promise<number> {
    return this.store.countGrantsOfRole(roleId);
  }

  async createCustomRole(domainId: string, input: CustomRoleInput): Promise<RoleView> {
    const fields = this.#checkCustom(input);
    const now = this.clock();
    const created = await this.store.insertRole({ id: newId(), domainId, ...fields, createdAt: now, updatedAt: now });
    if (!created) throw new KmsError('IAM.0005', `A custom policy named ${input.display_name} already exists.`);
    return customView(created);
  }

  /** Replaces a custom policy (PATCH sends the whole role); its grants keep applying, with the new document. */
  async updateCustomRole(domainId: string, roleId: string, input: CustomRoleInput): Promise<RoleView> {
    const current = await this.store.getRole(roleId);
    if (!current || current.domainId !== domainId) throw new KmsError('IAM.0003', `Could not find custom policy: ${roleId}.`);
    const next: CustomRole = { ...current, ...this.#checkCustom(input), updatedAt: this.clock() };
    if (!(await this.store.updateRole(next))) throw new KmsError('IAM.0005', `A custom policy named ${input.display_name} already exists.`);
    return customView(next);
  }

  /** Deletes a custom policy that is no longer granted (IAM.0005 while it is). */
  async deleteCustomRole(domainId: string, roleId: string): Promise<void> {
    await this.customRole(domainId, roleId);
    const refs = await this.store.countGrantsOfRole(roleId);
    if (refs > 0) throw new KmsError('IAM.0005', `The policy is still granted ${refs} time(s): remove the grants first.`);
    await this.store.deleteRole(roleId);
  }

  /** Grants a role to a group of the account; granting it again is not an error. */
  async grant(domainId: string, groupId: string, roleId: string, scope: GrantScope, scopeId: string): Promise<void> {
    const g = await this.#checkGrant(domainId, groupId, roleId, scope, scopeId);
    await this.store.insertGrant(g);
  }

  /** Removes a grant; IAM.0003 when there was none. */
  async revoke(domainId: string, groupId: string, roleId: string, scope: GrantScope, scopeId: string): Promise<void> {
    const g = await this.#checkTarget(domainId, groupId, scope, scopeId, roleId);
    if (!(await this.store.deleteGrant(g))) throw new KmsError('IAM.0003', `The role ${roleId} is not granted to group ${groupId} there.`);
  }

  async hasGrant(domainId: string, groupId: string, roleId: string, scope: GrantScope, scopeId: string): Promise<boolean> {
    return this.store.hasGrant(await this.#checkTarget(domainId, groupId, scope, scopeId, roleId));
  }

  /** The roles granted to a group in one scope. */
  async rolesOfGroup(domainId: string, groupId: string, scope: GrantScope, scopeId: string): Promise<RoleView[]> {
    await this.#checkTarget(domainId, groupId, scope, scopeId);
    const grants = await this.store.grantsOf([groupId], [{ scope, scopeId }]);
    return Promise.all(grants.map((g) => this.role(domainId, g.roleId)));
  }

  /** Every grant in the account (GET /v3.0/OS-PERMISSION/role-assignments). */
  grantsOfDomain(domainId: string): Promise<Grant[]> {
    return this.store.grantsOfDomain(domainId);
  }

  /**
   * The policies that apply to a user's call: in a project (KMS) or on the account (IAM). A user that does not
   * exist or is disabled has none (and `user` is null or disabled, so callers can refuse their credentials).
   */
  async policiesFor(userId: string, where: { projectId: string; domainId: string } | { domainId: string }): Promise<{ user: User | null; policies: NamedPolicy[] }> {
    const user = await this.store.getUser(userId);
    if (!user || !user.enabled || user.domainId !== where.domainId) return { user, policies: [] };
    const groups = await this.store.groupsOfUser(user.id);
    const scopes = 'projectId' in where
      ? [{ scope: 'project' as const, scopeId: where.projectId }, { scope: 'inherited' as const, scopeId: where.domainId }]
      : [{ scope: 'domain' as const, scopeId: where.domainId }];
    const grants = await this.store.grantsOf(groups.map((g) => g.id), scopes);
    const policies: NamedPolicy[] = groups.some((g) => g.builtin) ? [ADMIN_GROUP_POLICY] : [];
    const seen = new Set<string>();
    for (const g of grants) {
      if (seen.has(g.roleId)) continue;
      seen.add(g.roleId);
      const sys = systemRole(g.roleId);
      if (sys) {
        policies.push(...withDependencies(sys));
        continue;
      }
      const custom = await this.store.getRole(g.roleId);
      if (custom) policies.push({ name: custom.displayName, document: JSON.parse(custom.policy) as PolicyDocument });
    }
    return { user, policies };
  }

  #checkCustom(input: CustomRoleInput): Pick<CustomRole, 'displayName' | 'type' | 'description' | 'descriptionCn' | 'policy'> {
    if (input.type !== 'AX' && input.type !== 'XA') throw new KmsError('IAM.0001', 'type must be AX (account level) or XA (project level).');
    if (!/^[^"<>]{1,64}$/u.test(input.display_name)) throw new KmsError('IAM.0001', 'display_name has 1 to 64 characters.');
    if (input.description.length > 256) throw new KmsError('IAM.0001', 'description has at most 256 characters.');
    let document: PolicyDocument;
    try {
      document = parsePolicyDocument(input.policy, { customPolicy: true });
    } catch (err) {
      if (err instanceof PolicyDocumentError) throw new KmsError('IAM.0001', `policy: ${err.message}`);
      throw err;
    }
    if (document.Statement.length > MAX_STATEMENTS) throw new KmsError('IAM.0001', `policy: a custom policy has at most ${MAX_STATEMENTS} statements.`);
    return { displayName: input.display_name, type: input.type, description: input.description, descriptionCn: input.description_cn ?? '', policy: JSON.stringify(document) };
  }

  /** The group and the scope exist in the account; returns the grant they name. */
  async #checkTarget(domainId: string, groupId: string, scope: GrantScope, scopeId: string, roleId = ''): Promise<Grant> {
    const group = await this.store.getGroup(groupId);
    if (!group || group.domainId !== domainId) throw new KmsError('IAM.0003', `Could not find group: ${groupId}.`);
    if (scope === 'project') {
      const project = await this.store.getProject(scopeId);
      if (!project || project.domainId !== domainId) throw new KmsError('IAM.0003', `Could not find project: ${scopeId}.`);
    } else if (scopeId !== domainId) {
      throw new KmsError('IAM.0004', 'You can only act on your own account.');
    }
    return { groupId, roleId, scope, scopeId };
  }

  async #checkGrant(domainId: string, groupId: string, roleId: string, scope: GrantScope, scopeId: string): Promise<Grant> {
    const g = await this.#checkTarget(domainId, groupId, scope, scopeId, roleId);
    const role = await this.role(domainId, roleId);
    // AX roles act on global services (the account), XA roles on projects, AA on both
    // (docs/reference/huawei-auth.md §4.4).
    if (scope === 'domain' && role.type === 'XA') throw new KmsError('IAM.0001', `${role.display_name} is a project-level permission: grant it on a project or on all projects.`);
    if (scope !== 'domain' && role.type === 'AX') throw new KmsError('IAM.0001', `${role.display_name} is an account-level permission: grant it on the account (domain).`);
    return g;
  }
}
