/**
 * `strongroom iam ...`: IAM administration on a deployment's data directory (an operator act, like the account
 * creation of a cloud provider's console): accounts, users, groups and members, custom policies, grants, access
 * keys and projects. Each command prints one JSON value on stdout (so it pipes into `jq`) and records itself in
 * IAM's audit trail as an operator call. Users, groups and roles are named by name or id.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AuditLog } from '../audit/audit-log.js';
import { deploymentPath, iamDir, readDeployment, rootKeyOf, storeOf } from '../deployment.js';
import { KmsError } from '../errors.js';
import { generatePassword } from '../iam/passwords.js';
import type { GrantScope, RoleView } from '../iam/permissions.js';
import { openIam, type OpenIam } from '../iam-data.js';
import type { AccessKeyRecord, Group, User } from '../storage/iam-store.js';
import { newRequestId } from '../request-id.js';

type Options = Record<string, string | boolean | undefined>;

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));
const userJson = (u: User) => ({ user_id: u.id, user_name: u.name, domain_id: u.domainId, enabled: u.enabled, description: u.description, email: u.email, domain_owner: u.domainOwner });
const groupJson = (g: Group) => ({ group_id: g.id, name: g.name, description: g.description, builtin: g.builtin });
const keyJson = (k: AccessKeyRecord) => ({ access_key: k.accessKey, user_id: k.userId, status: k.enabled ? 'active' : 'inactive', description: k.description, created_at: new Date(k.createdAt).toISOString() });
const roleJson = (r: RoleView) => ({ role_id: r.id, name: r.name, display_name: r.display_name, type: r.type, catalog: r.catalog, policy: r.policy });

/**
 * Runs one administration command against IAM's data, recorded in IAM's audit trail as the API's calls are: a
 * pending entry before it runs (no change when the trail cannot be written), the record before anything is printed.
 */
async function withIam(name: string, o: Options, work: (iam: OpenIam, domainId: () => Promise<string>) => Promise<unknown>): Promise<void> {
  const dataDir = String(o.dataDir ?? './data');
  // Only a deployment's data: never a new, unrelated IAM store with a root key of its own.
  if (!existsSync(deploymentPath(dataDir))) throw new KmsError('IAM.0001', `${dataDir} holds no deployment (no deployment.json): give --data-dir, or run npm start first.`);
  const deployment = readDeployment(dataDir);
  const opened = await openIam(iamDir(dataDir), { store: storeOf(deployment), rootKey: rootKeyOf(deployment, 'iam') });
  try {
    const log = await AuditLog.attach(opened.store, opened.rootKey);
    const started = Date.now();
    const entry = {
      time: new Date(started).toISOString(), request_id: newRequestId(), service: 'iam', region: 'global', caller: null, source_ip: 'cli',
      operation: `cli:iam ${name}`, action: null, key_ids: [] as string[], status: 0, error_code: null as string | null, duration_ms: 0,
    };
    await log.open(entry);
    const domainId = async () => {
      if (typeof o.domain !== 'string') throw new KmsError('IAM.0001', '--domain NAME is required.');
      return (await opened.iam.domainByName(o.domain)).id;
    };
    let result: unknown;
    try {
      result = await work(opened, domainId);
    } catch (err) {
      await log.record({ ...entry, status: err instanceof KmsError ? err.status : 500, error_code: err instanceof KmsError ? err.code : 'KMS.0103', duration_ms: Date.now() - started });
      throw err;
    }
    await log.record({ ...entry, status: 200, duration_ms: Date.now() - started });
    print(result);
  } finally {
    await opened.close();
  }
}

async function findUser(iam: OpenIam, domainId: string, nameOrId: string): Promise<User> {
  return (await iam.iam.directory.listUsers(domainId)).find((u) => u.id === nameOrId || u.name === nameOrId) ?? (() => {
    throw new KmsError('IAM.0003', `No user ${nameOrId} in the account.`);
  })();
}

async function findGroup(iam: OpenIam, domainId: string, nameOrId: string): Promise<Group> {
  return (await iam.iam.directory.listGroups(domainId)).find((g) => g.id === nameOrId || g.name === nameOrId) ?? (() => {
    throw new KmsError('IAM.0003', `No group ${nameOrId} in the account.`);
  })();
}

async function findRole(iam: OpenIam, domainId: string, ref: string): Promise<RoleView> {
  const all = [...iam.permissions.systemRoles(), ...(await iam.permissions.customRoles(domainId))];
  return all.find((r) => r.id === ref || r.display_name === ref || r.name === ref) ?? (() => {
    throw new KmsError('IAM.0003', `No role or policy ${ref} (give its id, display name or name).`);
  })();
}

/** The scope of a grant: `--project ID|NAME`, `--on-domain` (global services: IAM) or `--all-projects`. */
async function scopeOf(iam: OpenIam, domainId: string, o: Options): Promise<{ scope: GrantScope; scopeId: string }> {
  const chosen = [o.project !== undefined, o.onDomain === true, o.allProjects === true].filter(Boolean).length;
  if (chosen !== 1) throw new KmsError('IAM.0001', 'Give exactly one of --project ID, --on-domain or --all-projects.');
  if (o.onDomain) return { scope: 'domain', scopeId: domainId };
  if (o.allProjects) return { scope: 'inherited', scopeId: domainId };
  const p = (await iam.iam.listProjects(domainId)).find((x) => x.id === o.project || x.name === o.project);
  if (!p) throw new KmsError('IAM.0003', `No project ${String(o.project)} in the account.`);
  return { scope: 'project', scopeId: p.id };
}

function readPolicyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new KmsError('IAM.0001', `Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}.`);
  }
}

function bool(v: string | boolean | undefined, name: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new KmsError('IAM.0001', `${name} is true or false.`);
}

/** Registers `iam <command>` on the program. */
export function iamCommands(program: Command): void {
  const iam = program.command('iam').description('IAM administration on the data directory (accounts, users, groups, policies, grants, access keys, projects)');
  const cmd = (name: string, description: string) => iam.command(name).description(description).option('--data-dir <dir>', 'the deployment\'s data directory', './data');
  const run = (name: string, work: (i: OpenIam, o: Options, domainId: () => Promise<string>) => Promise<unknown>) => async (o: Options) =>
    withIam(name, o, (i, domainId) => work(i, o, domainId));

  cmd('create-domain', 'a new account with its admin group, admin user (password printed once) and an access key pair')
    .requiredOption('--name <name>', 'account name').option('--admin <name>', 'admin user name', 'admin')
    .action(run('create-domain', async (i, o) => {
      const a = await i.iam.createAccount(String(o.name), { userName: String(o.admin) });
      return { domain_id: a.domain.id, domain_name: a.domain.name, user_id: a.user.id, user_name: a.user.name, password: a.password, access_key: a.accessKey, secret_key: a.secretKey };
    }));

  cmd('create-user', 'a user with no permissions until a group of theirs is granted some').requiredOption('--domain <name>').requiredOption('--name <name>')
    .option('--password <password>', 'generated when not given').option('--email <email>').option('--description <text>')
    .action(run('create-user', async (i, o, domainId) => {
      const d = await domainId();
      const password = typeof o.password === 'string' ? o.password : generatePassword();
      const u = await i.iam.directory.createUser(d, { name: String(o.name), password, email: o.email as string | undefined, description: o.description as string | undefined });
      return { ...userJson(u), password };
    }));
  cmd('list-users', 'users of the account').requiredOption('--domain <name>')
    .action(run('list-users', async (i, _o, domainId) => (await i.iam.directory.listUsers(await domainId())).map(userJson)));
  cmd('show-user', 'one user with their groups').requiredOption('--domain <name>').requiredOption('--user <name-or-id>')
    .action(run('show-user', async (i, o, domainId) => {
      const d = await domainId();
      const u = await findUser(i, d, String(o.user));
      return { ...userJson(u), groups: (await i.iam.directory.groupsOf(d, u.id)).map(groupJson) };
    }));
  cmd('update-user', 'change name, password, e-mail or description; enable or disable').requiredOption('--domain <name>').requiredOption('--user <name-or-id>')
    .option('--name <name>').option('--password <password>').option('--email <email>').option('--description <text>').option('--enabled <true|false>')
    .action(run('update-user', async (i, o, domainId) => {
      const d = await domainId();
      const u = await findUser(i, d, String(o.user));
      return userJson(await i.iam.directory.updateUser(d, u.id, {
        name: o.name as string | undefined, password: o.password as string | undefined, email: o.email as string | undefined,
        description: o.description as string | undefined, enabled: bool(o.enabled, '--enabled'),
      }));
    }));
  cmd('delete-user', 'delete a user with their memberships and access keys').requiredOption('--domain <name>').requiredOption('--user <name-or-id>')
    .action(run('delete-user', async (i, o, domainId) => {
      const d = await domainId();
      const u = await findUser(i, d, String(o.user));
      await i.iam.directory.deleteUser(d, u.id);
      return { deleted: u.id };
    }));

  cmd('create-group', 'a user group').requiredOption('--domain <name>').requiredOption('--name <name>').option('--description <text>', '', '')
    .action(run('create-group', async (i, o, domainId) => groupJson(await i.iam.directory.createGroup(await domainId(), String(o.name), String(o.description)))));
  cmd('list-groups', 'user groups of the account').requiredOption('--domain <name>')
    .action(run('list-groups', async (i, _o, domainId) => (await i.iam.directory.listGroups(await domainId())).map(groupJson)));
  cmd('update-group', 'rename a group or change its description').requiredOption('--domain <name>').requiredOption('--group <name-or-id>')
    .option('--name <name>').option('--description <text>')
    .action(run('update-group', async (i, o, domainId) => {
      const d = await domainId();
      const g = await findGroup(i, d, String(o.group));
      return groupJson(await i.iam.directory.updateGroup(d, g.id, { name: o.name as string | undefined, description: o.description as string | undefined }));
    }));
  cmd('delete-group', 'delete a group with its memberships and grants').requiredOption('--domain <name>').requiredOption('--group <name-or-id>')
    .action(run('delete-group', async (i, o, domainId) => {
      const d = await domainId();
      const g = await findGroup(i, d, String(o.group));
      await i.iam.directory.deleteGroup(d, g.id);
      return { deleted: g.id };
    }));
  cmd('add-user-to-group', 'make a user a member of a group').requiredOption('--domain <name>').requiredOption('--group <name-or-id>').requiredOption('--user <name-or-id>')
    .action(run('add-user-to-group', async (i, o, domainId) => {
      const d = await domainId();
      const [g, u] = [await findGroup(i, d, String(o.group)), await findUser(i, d, String(o.user))];
      await i.iam.directory.addMember(d, g.id, u.id);
      return { group_id: g.id, user_id: u.id, member: true };
    }));
  cmd('remove-user-from-group', 'remove a user from a group').requiredOption('--domain <name>').requiredOption('--group <name-or-id>').requiredOption('--user <name-or-id>')
    .action(run('remove-user-from-group', async (i, o, domainId) => {
      const d = await domainId();
      const [g, u] = [await findGroup(i, d, String(o.group)), await findUser(i, d, String(o.user))];
      await i.iam.directory.removeMember(d, g.id, u.id);
      return { group_id: g.id, user_id: u.id, member: false };
    }));
  cmd('list-group-users', 'members of a group').requiredOption('--domain <name>').requiredOption('--group <name-or-id>')
    .action(run('list-group-users', async (i, o, domainId) => {
      const d = await domainId();
      return (await i.iam.directory.members(d, (await findGroup(i, d, String(o.group))).id)).map(userJson);
    }));

  cmd('list-roles', 'system roles and policies, and the account\'s custom policies with --domain').option('--domain <name>')
    .action(run('list-roles', async (i, o, domainId) => [...i.permissions.systemRoles(), ...(o.domain ? await i.permissions.customRoles(await domainId()) : [])].map(roleJson)));
  cmd('create-policy', 'a custom policy (Version 1.1): --policy JSON or --policy-file FILE').requiredOption('--domain <name>').requiredOption('--name <display-name>')
    .option('--type <AX|XA>', 'XA: projects (KMS); AX: the account (IAM)', 'XA').option('--description <text>', '', '').option('--policy <json>').option('--policy-file <file>')
    .action(run('create-policy', async (i, o, domainId) => {
      const text = typeof o.policyFile === 'string' ? readPolicyFile(o.policyFile) : o.policy;
      if (typeof text !== 'string') throw new KmsError('IAM.0001', 'Give --policy JSON or --policy-file FILE.');
      let policy: unknown;
      try {
        policy = JSON.parse(text);
      } catch {
        throw new KmsError('IAM.0001', 'The policy is not valid JSON.');
      }
      return roleJson(await i.permissions.createCustomRole(await domainId(), { display_name: String(o.name), type: String(o.type), description: String(o.description), policy }));
    }));
  cmd('update-policy', 'replace a custom policy\'s document (in force wherever it is granted)').requiredOption('--domain <name>').requiredOption('--role <name-or-id>')
    .option('--policy <json>').option('--policy-file <file>').option('--description <text>')
    .action(run('update-policy', async (i, o, domainId) => {
      const d = await domainId();
      const r = await findRole(i, d, String(o.role));
      const text = typeof o.policyFile === 'string' ? readPolicyFile(o.policyFile) : o.policy;
      let policy: unknown = r.policy;
      if (typeof text === 'string') {
        try {
          policy = JSON.parse(text);
        } catch {
          throw new KmsError('IAM.0001', 'The policy is not valid JSON.');
        }
      }
      return roleJson(await i.permissions.updateCustomRole(d, r.id, { display_name: r.display_name, type: r.type, description: (o.description as string | undefined) ?? r.description, policy }));
    }));
  cmd('delete-policy', 'delete a custom policy that is no longer granted').requiredOption('--domain <name>').requiredOption('--role <name-or-id>')
    .action(run('delete-policy', async (i, o, domainId) => {
      const d = await domainId();
      const r = await findRole(i, d, String(o.role));
      await i.permissions.deleteCustomRole(d, r.id);
      return { deleted: r.id };
    }));

  for (const [name, verb] of [['grant', 'grant a role or policy to a group'], ['revoke', 'remove a grant']] as const) {
    cmd(name, `${verb} on a project, on the account (--on-domain) or on all projects`).requiredOption('--domain <name>').requiredOption('--group <name-or-id>')
      .requiredOption('--role <id-or-display-name>').option('--project <id-or-name>').option('--on-domain').option('--all-projects')
      .action(run(name, async (i, o, domainId) => {
        const d = await domainId();
        const [g, r, where] = [await findGroup(i, d, String(o.group)), await findRole(i, d, String(o.role)), await scopeOf(i, d, o)];
        await (name === 'grant' ? i.permissions.grant(d, g.id, r.id, where.scope, where.scopeId) : i.permissions.revoke(d, g.id, r.id, where.scope, where.scopeId));
        return { group_id: g.id, role_id: r.id, display_name: r.display_name, scope: where.scope, scope_id: where.scopeId, granted: name === 'grant' };
      }));
  }
  cmd('list-grants', 'every grant of the account, or of one group').requiredOption('--domain <name>').option('--group <name-or-id>')
    .action(run('list-grants', async (i, o, domainId) => {
      const d = await domainId();
      const only = typeof o.group === 'string' ? (await findGroup(i, d, o.group)).id : undefined;
      return (await i.permissions.grantsOfDomain(d)).filter((g) => only === undefined || g.groupId === only)
        .map((g) => ({ group_id: g.groupId, role_id: g.roleId, scope: g.scope, scope_id: g.scopeId }));
    }));

  cmd('create-access-key', 'a permanent access key pair for a user (the secret is printed once)').requiredOption('--domain <name>').requiredOption('--user <name-or-id>').option('--description <text>', '', '')
    .action(run('create-access-key', async (i, o, domainId) => {
      const u = await findUser(i, await domainId(), String(o.user));
      const k = await i.iam.createAccessKey(u.id, String(o.description));
      return { access_key: k.accessKey, secret_key: k.secretKey, user_id: u.id };
    }));
  cmd('list-access-keys', 'a user\'s permanent access keys (never their secrets)').requiredOption('--domain <name>').requiredOption('--user <name-or-id>')
    .action(run('list-access-keys', async (i, o, domainId) => (await i.iam.listAccessKeys((await findUser(i, await domainId(), String(o.user))).id)).map(keyJson)));
  cmd('update-access-key', 'enable or disable an access key').requiredOption('--domain <name>').requiredOption('--access-key <ak>').requiredOption('--status <active|inactive>')
    .action(run('update-access-key', async (i, o, domainId) => {
      if (o.status !== 'active' && o.status !== 'inactive') throw new KmsError('IAM.0001', '--status is active or inactive.');
      return keyJson(await i.iam.updateAccessKey(await domainId(), String(o.accessKey), { enabled: o.status === 'active' }));
    }));
  cmd('delete-access-key', 'delete an access key').requiredOption('--domain <name>').requiredOption('--access-key <ak>')
    .action(run('delete-access-key', async (i, o, domainId) => {
      await i.iam.deleteAccessKey(await domainId(), String(o.accessKey));
      return { deleted: o.accessKey };
    }));

  cmd('create-project', 'a project of the account in a region').requiredOption('--domain <name>').requiredOption('--name <name>').requiredOption('--region <id>')
    .action(run('create-project', async (i, o, domainId) => {
      const regions = readDeployment(String(o.dataDir)).regions.map((r) => r.id);
      if (!regions.includes(String(o.region))) throw new KmsError('IAM.0001', `The deployment has no region ${String(o.region)} (it has ${regions.join(', ')}).`);
      const p = await i.iam.createProject(await domainId(), String(o.name), String(o.region));
      return { project_id: p.id, name: p.name, region: p.region };
    }));
  cmd('list-projects', 'projects of the account').requiredOption('--domain <name>')
    .action(run('list-projects', async (i, _o, domainId) => (await i.iam.listProjects(await domainId())).map((p) => ({ project_id: p.id, name: p.name, region: p.region }))));
}
