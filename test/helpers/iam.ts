/**
 * IAM administration through Huawei's IAM API, signed with the official signer as the bootstrap admin (or any
 * credentials): users with access keys, groups, members, custom policies and grants.
 */
import assert from 'node:assert/strict';
import { signedRequest, type Credentials, type Reply, type TestDeployment } from './deployment.js';

export interface TestUser {
  id: string;
  name: string;
  password: string;
  creds: Credentials;
}

export type GrantWhere = { project: string } | 'domain' | 'all-projects';

export function iamApi(d: TestDeployment, as: Credentials = d.admin) {
  const call = (method: string, path: string, body?: object, query?: Record<string, string>, creds: Credentials = as): Promise<Reply> =>
    signedRequest(d.iamUrl, creds, undefined, method, path, body, query);
  const ok = (r: Reply, status: number) => {
    assert.equal(r.status, status, `${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const domainId = d.boot.domain_id;
  return {
    call,
    async createUser(name: string, password = `${name}-Passw0rd!`): Promise<TestUser> {
      const user = ok(await call('POST', '/v3.0/OS-USER/users', { user: { name, domain_id: domainId, password } }), 201).user;
      const key = ok(await call('POST', '/v3.0/OS-CREDENTIAL/credentials', { credential: { user_id: user.id } }), 201).credential;
      return { id: user.id, name, password, creds: { ak: key.access, sk: key.secret } };
    },
    async createGroup(name: string): Promise<string> {
      return ok(await call('POST', '/v3/groups', { group: { name } }), 201).group.id;
    },
    async addMember(groupId: string, userId: string): Promise<void> {
      ok(await call('PUT', `/v3/groups/${groupId}/users/${userId}`), 204);
    },
    async removeMember(groupId: string, userId: string): Promise<void> {
      ok(await call('DELETE', `/v3/groups/${groupId}/users/${userId}`), 204);
    },
    /** The id of a system role or policy by its display name. */
    async roleId(displayName: string): Promise<string> {
      const roles = ok(await call('GET', '/v3/roles', undefined, { display_name: displayName }), 200).roles as { id: string; display_name: string }[];
      const r = roles.find((x) => x.display_name === displayName);
      assert.ok(r, `no system role ${displayName}`);
      return r.id;
    },
    async createPolicy(displayName: string, policy: object, type: 'AX' | 'XA' = 'XA'): Promise<string> {
      return ok(await call('POST', '/v3.0/OS-ROLE/roles', { role: { display_name: displayName, type, description: displayName, policy } }), 201).role.id;
    },
    async updatePolicy(roleId: string, displayName: string, policy: object, type: 'AX' | 'XA' = 'XA'): Promise<void> {
      ok(await call('PATCH', `/v3.0/OS-ROLE/roles/${roleId}`, { role: { display_name: displayName, type, description: displayName, policy } }), 200);
    },
    grantPath(groupId: string, roleId: string, where: GrantWhere): string {
      if (where === 'domain') return `/v3/domains/${domainId}/groups/${groupId}/roles/${roleId}`;
      if (where === 'all-projects') return `/v3/OS-INHERIT/domains/${domainId}/groups/${groupId}/roles/${roleId}/inherited_to_projects`;
      return `/v3/projects/${where.project}/groups/${groupId}/roles/${roleId}`;
    },
    async grant(groupId: string, roleId: string, where: GrantWhere): Promise<void> {
      ok(await call('PUT', this.grantPath(groupId, roleId, where)), 204);
    },
    async revoke(groupId: string, roleId: string, where: GrantWhere): Promise<void> {
      ok(await call('DELETE', this.grantPath(groupId, roleId, where)), 204);
    },
    /** A user in a group of their own holding the given roles and policies (by id) in the given scope. */
    async userWith(name: string, roleIds: string[], where: GrantWhere): Promise<TestUser & { groupId: string }> {
      const user = await this.createUser(name);
      const groupId = await this.createGroup(`${name}-group`);
      await this.addMember(groupId, user.id);
      for (const r of roleIds) await this.grant(groupId, r, where);
      return { ...user, groupId };
    },
  };
}
