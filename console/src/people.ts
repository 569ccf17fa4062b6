/** Users, groups and their permissions, through IAM's API (Keystone v3 and Huawei's v3.0 extensions). */
import { useEffect, useState } from 'preact/hooks';
import { iam, type Session } from './api.js';
import { formValues, html, type Run } from './ui.js';

type Json = Record<string, any>;

export function PeopleView({ session, run }: { session: Session; run: Run }) {
  const [users, setUsers] = useState<Json[]>([]);
  const [groups, setGroups] = useState<Json[]>([]);
  const [roles, setRoles] = useState<Json[]>([]);
  const [group, setGroup] = useState<string | null>(null);
  const d = encodeURIComponent(session.domainId);
  const refresh = async () => {
    setUsers((await iam(session, 'GET', `/v3/users?domain_id=${d}`)).users ?? []);
    setGroups((await iam(session, 'GET', `/v3/groups?domain_id=${d}`)).groups ?? []);
  };

  useEffect(() => {
    void run(async () => {
      await refresh();
      setRoles(((await iam(session, 'GET', '/v3/roles?page=1&per_page=300')).roles ?? []) as Json[]);
    });
  }, []);

  const onForm = (f: (v: Record<string, string>) => Promise<string>) => (e: Event) => {
    const v = formValues(e);
    const form = e.currentTarget as HTMLFormElement;
    void run(async () => {
      const text = await f(v);
      form.reset();
      await refresh();
      return text;
    });
  };

  return html`<div class="columns">
    <section aria-labelledby="users-heading">
      <h2 id="users-heading">Users</h2>
      <table aria-label="Users"><thead><tr><th>Name</th><th>ID</th><th>Enabled</th></tr></thead><tbody>
        ${users.map((u) => html`<tr><td>${u.name}</td><td class="mono">${u.id}</td><td>${u.enabled ? 'yes' : 'no'}</td></tr>`)}
      </tbody></table>
      <form class="row" aria-label="Create a user" onSubmit=${onForm(async (v) => {
        const r = await iam(session, 'POST', '/v3/users', { user: { name: v.name, password: v.password, domain_id: session.domainId } });
        return `User ${r.user.name} created (${r.user.id}).`;
      })}>
        <label>New user name<input name="name" required /></label>
        <label>New user password<input name="password" type="password" required autocomplete="new-password" /></label>
        <button type="submit">Create user</button>
      </form>
    </section>
    <section aria-labelledby="groups-heading">
      <h2 id="groups-heading">Groups</h2>
      <table aria-label="Groups"><thead><tr><th>Name</th><th>Description</th><th></th></tr></thead><tbody>
        ${groups.map((g) => html`<tr class=${g.id === group ? 'selected' : ''}><td>${g.name}</td><td>${g.description}</td>
          <td><button aria-label=${`Open group ${g.name}`} onClick=${() => setGroup(g.id)}>Open</button></td></tr>`)}
      </tbody></table>
      <form class="row" aria-label="Create a group" onSubmit=${onForm(async (v) => {
        const r = await iam(session, 'POST', '/v3/groups', { group: { name: v.name, description: v.description, domain_id: session.domainId } });
        return `Group ${r.group.name} created.`;
      })}>
        <label>New group name<input name="name" required /></label>
        <label>Group description<input name="description" /></label>
        <button type="submit">Create group</button>
      </form>
      ${group && html`<${GroupPage} key=${group} session=${session} group=${groups.find((g) => g.id === group)} users=${users} roles=${roles} run=${run} />`}
    </section>
  </div>`;
}

function GroupPage({ session, group, users, roles, run }: { session: Session; group: Json | undefined; users: Json[]; roles: Json[]; run: Run }) {
  const [members, setMembers] = useState<Json[]>([]);
  const [granted, setGranted] = useState<{ region: string; projectId: string; role: Json }[]>([]);
  const refresh = async () => {
    if (!group) return;
    setMembers((await iam(session, 'GET', `/v3/groups/${group.id}/users`)).users ?? []);
    const all: { region: string; projectId: string; role: Json }[] = [];
    for (const r of session.regions) {
      for (const role of (await iam(session, 'GET', `/v3/projects/${r.projectId}/groups/${group.id}/roles`)).roles ?? []) all.push({ region: r.id, projectId: r.projectId, role });
    }
    setGranted(all);
  };
  useEffect(() => {
    void run(refresh);
  }, [group?.id]);
  if (!group) return null;
  const onForm = (f: (v: Record<string, string>) => Promise<string>) => (e: Event) => {
    const v = formValues(e);
    void run(async () => {
      const text = await f(v);
      await refresh();
      return text;
    });
  };
  const projectOf = (region: string) => session.regions.find((r) => r.id === region)!.projectId;
  return html`<div aria-label=${`Group ${group.name}`} role="region">
    <h3>Members of ${group.name}</h3>
    <table aria-label="Members"><tbody>${members.map((u) => html`<tr><td>${u.name}</td>
      <td><button aria-label=${`Remove ${u.name} from the group`} onClick=${() => run(async () => (await iam(session, 'DELETE', `/v3/groups/${group.id}/users/${u.id}`), await refresh(), `${u.name} removed from ${group.name}.`))}>Remove</button></td></tr>`)}</tbody></table>
    <form class="row" aria-label="Add a member" onSubmit=${onForm(async (v) => (await iam(session, 'PUT', `/v3/groups/${group.id}/users/${v.user}`), `User added to ${group.name}.`))}>
      <label>User to add<select name="user" required>${users.map((u) => html`<option value=${u.id}>${u.name}</option>`)}</select></label>
      <button type="submit">Add to group</button>
    </form>
    <h3>Permissions of ${group.name}</h3>
    <table aria-label="Permissions"><tbody>${granted.map((g) => html`<tr><td>${g.region}</td><td>${g.role.display_name ?? g.role.name}</td>
      <td><button aria-label=${`Remove ${g.role.display_name ?? g.role.name} in ${g.region}`} onClick=${() => run(async () => (await iam(session, 'DELETE', `/v3/projects/${g.projectId}/groups/${group.id}/roles/${g.role.id}`), await refresh(), 'Permission removed.'))}>Remove</button></td></tr>`)}</tbody></table>
    <form class="row" aria-label="Grant a permission" onSubmit=${onForm(async (v) => (await iam(session, 'PUT', `/v3/projects/${projectOf(v.region!)}/groups/${group.id}/roles/${v.role}`), `Permission granted in ${v.region}.`))}>
      <label>Permission<select name="role" required>${roles.map((r) => html`<option value=${r.id}>${r.display_name ?? r.name}</option>`)}</select></label>
      <label>In region<select name="region" required>${session.regions.map((r) => html`<option value=${r.id}>${r.id}</option>`)}</select></label>
      <button type="submit">Grant permission</button>
    </form>
  </div>`;
}
