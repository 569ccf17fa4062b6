/**
 * First start: an account (domain) with its admin group, an admin user in it with a generated password, an access
 * key pair and one project per region (named after the region, as Huawei does), written to `DIR/bootstrap.json`
 * (mode 0600). Later starts reuse it: nothing is regenerated; a region added since gets its project; endpoints
 * follow the current ports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { iamDir, rootKeyOf, storeOf, writePrivateFile, type DeploymentFile } from '../deployment.js';
import { openIam } from '../iam-data.js';

export interface BootstrapFile {
  iam_endpoint: string;
  domain_name: string;
  domain_id: string;
  user_name: string;
  password: string;
  access_key: string;
  secret_key: string;
  /** `endpoint` is the region's first node; `endpoints` lists every node (`start --nodes`). */
  regions: { id: string; endpoint: string; endpoints: string[]; project_id: string }[];
}

export const bootstrapPath = (dir: string) => join(dir, 'bootstrap.json');

export async function bootstrap(dir: string, deployment: DeploymentFile, accountName = 'strongroom'): Promise<{ file: BootstrapFile; created: boolean }> {
  const { iam, store, close } = await openIam(iamDir(dir), { store: storeOf(deployment), rootKey: rootKeyOf(deployment, 'iam') });
  try {
    const existing = existsSync(bootstrapPath(dir)) ? (JSON.parse(readFileSync(bootstrapPath(dir), 'utf8')) as BootstrapFile) : null;
    let base: Omit<BootstrapFile, 'iam_endpoint' | 'regions'>;
    if (existing && !(await store.getDomain(existing.domain_id))) {
      throw new Error(`${bootstrapPath(dir)} names account ${existing.domain_name}, which IAM's store does not hold: the store is not this deployment's`);
    }
    if (!existing && (await store.findDomainByName(accountName))) {
      throw new Error(`${bootstrapPath(dir)} is missing, but this deployment's IAM already holds the account ${accountName}: restore bootstrap.json from a copy, or make new credentials with the admin CLI (README: Troubleshooting, "Forgotten password or keys") and write them into it`);
    }
    if (existing) {
      base = { domain_name: existing.domain_name, domain_id: existing.domain_id, user_name: existing.user_name, password: existing.password, access_key: existing.access_key, secret_key: existing.secret_key };
    } else {
      const account = await iam.createAccount(accountName);
      base = {
        domain_name: account.domain.name, domain_id: account.domain.id, user_name: account.user.name, password: account.password,
        access_key: account.accessKey, secret_key: account.secretKey,
      };
    }
    const regions: BootstrapFile['regions'] = [];
    for (const r of deployment.regions) {
      const project = (await iam.listProjects(base.domain_id, r.id)).at(0) ?? (await iam.createProject(base.domain_id, r.id, r.id));
      regions.push({ id: r.id, endpoint: r.endpoint, endpoints: r.endpoints, project_id: project.id });
    }
    const file: BootstrapFile = { iam_endpoint: deployment.iam.endpoint, ...base, regions };
    writePrivateFile(bootstrapPath(dir), JSON.stringify(file, null, 2) + '\n');
    return { file, created: existing === null };
  } finally {
    await close();
  }
}
