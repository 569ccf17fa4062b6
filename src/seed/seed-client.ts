/**
 * Applying a seed file to a running deployment and exporting a region's keys back to one: what `strongroom seed`,
 * `strongroom export` and `start --seed` run. Reads `DIR/deployment.json` (endpoints, the internal secret) and
 * `DIR/bootstrap.json` (the bootstrap account and its project in each region: seeded keys belong to them), and
 * calls each region's seed routes (api/kms/seed-routes.ts), signed with the deployment's secret.
 *
 * A seed is checked whole before anything changes: the file (seed-file.ts), then every region it touches in a dry
 * run (conflicting material or spec, an id or alias used by another key, an unknown grantee); only when no region
 * reports a conflict is it applied, region by region.
 */
import { existsSync, readFileSync } from 'node:fs';
import { bootstrapPath, type BootstrapFile } from '../cli/bootstrap.js';
import { generateTransportKey, openSealed, sealFor } from '../crypto/transport.js';
import { deploymentPath, readDeployment, topologyOf, type DeploymentFile } from '../deployment.js';
import { internalAuthorization, responseVerifies } from '../internal-auth.js';
import { deploymentCa, httpCall, type ClientAnswer } from '../http-client.js';
import { SEED_CALLER, seedSealContext, type SeedApplyBody } from '../api/kms/seed-routes.js';
import { KEY_SPECS, type KeySpec, type KeyUsage } from '../core/key-specs.js';
import type { GrantOperation } from '../core/grants.js';
import { readSeedFile, SeedFileError, seedFileText, toPem, type SeedKey, type SeedKeyEntry } from './seed-file.js';

export { SeedFileError } from './seed-file.js';

/** What a seed did to each key (the JSON `strongroom seed` prints). */
export interface SeedReport {
  keys: { key_id: string; region: string; key_alias: string; action: 'created' | 'updated' | 'unchanged'; changes: string[] }[];
  created: number;
  updated: number;
  unchanged: number;
}

/** The seed could not be applied: conflicts found in the dry run (nothing changed), or a region refused. */
export class SeedApplyError extends Error {
  constructor(
    message: string,
    readonly conflicts: { region: string; key_id: string; message: string }[] = [],
  ) {
    super(conflicts.length === 0 ? message : `${message}\n${conflicts.map((c) => `  ${c.region} ${c.key_id}: ${c.message}`).join('\n')}`);
    this.name = 'SeedApplyError';
  }
}

interface Target {
  deployment: DeploymentFile;
  boot: BootstrapFile;
  secret: Buffer;
}

/** The deployment in `dataDir` (SeedFileError when it has none: a usage error). */
function openTarget(dataDir: string): Target {
  if (!existsSync(deploymentPath(dataDir)) || !existsSync(bootstrapPath(dataDir))) {
    throw new SeedFileError([`${dataDir}: no deployment here (deployment.json and bootstrap.json are written by npm start); give --data-dir`]);
  }
  const deployment = readDeployment(dataDir);
  const boot = JSON.parse(readFileSync(bootstrapPath(dataDir), 'utf8')) as BootstrapFile;
  return { deployment, boot, secret: Buffer.from(deployment.internal_secret, 'hex') };
}

/**
 * Applies the seed file at `path` to the running deployment whose data directory is `dataDir` (what
 * `npm start -- --seed FILE` calls once every process answers). Resolves with what was done to each key.
 * Throws SeedFileError (the file or the deployment directory is unusable: nothing changed) or SeedApplyError
 * (conflicts, nothing changed; or a region refused or could not be reached while applying).
 */
export async function applySeedFile(dataDir: string, path: string): Promise<SeedReport> {
  const keys = readSeedFile(path);
  return applySeed(dataDir, keys);
}

/** Applies checked seed keys (see applySeedFile). */
export async function applySeed(dataDir: string, keys: SeedKey[]): Promise<SeedReport> {
  const t = openTarget(dataDir);
  const topology = topologyOf(t.deployment);
  const problems: string[] = [];
  const project = (region: string) => t.boot.regions.find((r) => r.id === region)?.project_id;
  keys.forEach((k, i) => {
    if (!topology.regions.some((r) => r.id === k.region) || !project(k.region)) {
      problems.push(`keys[${i}].region: ${k.region} is not a region of this deployment (${topology.regions.map((r) => r.id).join(', ')})`);
      return;
    }
    k.replicas.forEach((region, j) => {
      if (!topology.regions.some((r) => r.id === region) || !project(region)) problems.push(`keys[${i}].replicas[${j}]: ${region} is not a region of this deployment`);
      else if (!topology.replicaTargets(k.region).includes(region)) problems.push(`keys[${i}].replicas[${j}]: keys of ${k.region} cannot be replicated to ${region} in this deployment`);
    });
  });
  if (problems.length > 0) throw new SeedFileError(problems);

  const regions = [...new Set(keys.flatMap((k) => [k.region, ...k.replicas]))];
  const transport = new Map<string, Buffer>();
  for (const region of regions) {
    const { public_key } = (await call(t, region, 'GET', '/internal/v1/seed/transport-key')) as { public_key: string };
    transport.set(region, Buffer.from(public_key, 'base64'));
  }
  const issuer = keys.some((k) => k.grants.length > 0) ? await adminUserId(t) : '';
  const body = (region: string, dryRun: boolean): SeedApplyBody => ({
    project_id: project(region)!, project_name: region, domain_id: t.boot.domain_id, issuer, dry_run: dryRun,
    keys: keys.filter((k) => k.region === region).map((k) => ({
      key_id: k.keyId, key_alias: k.alias, key_spec: k.spec, key_usage: k.usage,
      ...(k.description !== undefined ? { key_description: k.description } : {}),
      ...(k.enabled !== undefined ? { enabled: k.enabled } : {}),
      ...(k.tags !== undefined ? { tags: k.tags } : {}),
      ...(k.versions ? { versions: k.versions.map((m, i) => sealFor(transport.get(region)!, m, seedSealContext('seed', k.keyId, i + 1, region)).toString('base64')) } : {}),
      replicas: k.replicas.map((r) => ({ region: r, project_id: project(r)! })),
      grants: k.grants.map((g) => ({ grantee: g.grantee, grantee_type: g.granteeType, operations: g.operations, name: g.name })),
    })),
    expect_replicas: keys.filter((k) => k.replicas.includes(region)).map((k) => ({ key_id: k.keyId, primary_region: k.region, key_alias: k.alias })),
  });

  type Answer = { outcomes: { key_id: string; action: 'created' | 'updated' | 'unchanged'; changes: string[] }[]; conflicts: { key_id: string; message: string }[] };
  const conflicts: SeedApplyError['conflicts'] = [];
  for (const region of regions) {
    const a = (await call(t, region, 'POST', '/internal/v1/seed/apply', body(region, true))) as Answer;
    for (const c of a.conflicts) conflicts.push({ region, ...c });
  }
  if (conflicts.length > 0) throw new SeedApplyError('the seed conflicts with the keys the deployment holds; nothing was changed:', conflicts);

  const report: SeedReport = { keys: [], created: 0, updated: 0, unchanged: 0 };
  for (const region of regions) {
    if (!keys.some((k) => k.region === region)) continue;
    let a: Answer;
    try {
      a = (await call(t, region, 'POST', '/internal/v1/seed/apply', body(region, false))) as Answer;
    } catch (err) {
      const done = report.keys.length > 0 ? ` (the keys of ${[...new Set(report.keys.map((k) => k.region))].join(', ')} were applied before)` : '';
      throw new SeedApplyError(`${(err as Error).message}${done}`);
    }
    if (a.conflicts.length > 0) {
      throw new SeedApplyError(`${region} changed since the dry run; nothing was changed there:`, a.conflicts.map((c) => ({ region, ...c })));
    }
    for (const o of a.outcomes) {
      report.keys.push({ key_id: o.key_id, region, key_alias: keys.find((k) => k.keyId === o.key_id)!.alias, action: o.action, changes: o.changes });
      report[o.action]++;
    }
  }
  return report;
}

export interface ExportOptions {
  /** Include the material of every version (symmetric and HMAC as base64 raw bytes, key pairs as PEM). */
  withMaterial: boolean;
  /** Include grants (their grantees are user or account ids of this deployment). Default true. */
  grants?: boolean;
}

/**
 * A region's keys of the bootstrap account as a seed file (the keys whose primary is that region, with the regions
 * of their replicas), and the keys left out (pending deletion, awaiting imported material). Throws SeedFileError
 * for an unknown region or a directory without a deployment, SeedApplyError when the region cannot be reached.
 */
export async function exportRegion(dataDir: string, region: string, o: ExportOptions): Promise<{ text: string; keys: SeedKeyEntry[]; skipped: { key_id: string; reason: string }[] }> {
  const t = openTarget(dataDir);
  const projectId = t.boot.regions.find((r) => r.id === region)?.project_id;
  if (!projectId || !t.deployment.regions.some((r) => r.id === region)) {
    throw new SeedFileError([`--region: ${region} is not a region of this deployment (${t.deployment.regions.map((r) => r.id).join(', ')})`]);
  }
  const mine = o.withMaterial ? generateTransportKey() : null;
  type Exported = {
    key_id: string; key_alias: string; key_spec: KeySpec; key_usage: string; key_description: string; enabled: boolean;
    tags: { key: string; value: string }[]; replicas: string[]; grants: { grantee: string; grantee_type: 'user' | 'domain'; operations: string[]; name: string }[]; versions?: string[];
  };
  const answer = (await call(t, region, 'POST', '/internal/v1/seed/export', { project_id: projectId, ...(mine ? { transport_key: mine.publicRaw.toString('base64') } : {}) })) as {
    keys: Exported[]; skipped: { key_id: string; reason: string }[];
  };
  try {
    const keys = answer.keys.map((k): SeedKeyEntry => {
      const entry: SeedKeyEntry = { region, key_id: k.key_id, key_alias: k.key_alias, key_spec: k.key_spec, key_usage: k.key_usage as KeyUsage };
      if (k.key_description !== '') entry.key_description = k.key_description;
      if (!k.enabled) entry.enabled = false;
      if (mine && k.versions) {
        const texts = k.versions.map((sealed, i) => {
          const m = openSealed(mine.privateDer, Buffer.from(sealed, 'base64'), seedSealContext('export', k.key_id, i + 1, region));
          try {
            return KEY_SPECS[k.key_spec].kind === 'asymmetric' ? toPem(m) : `base64:${m.toString('base64')}`;
          } finally {
            m.fill(0);
          }
        });
        if (texts.length === 1) entry.material = texts[0]!;
        else entry.versions = texts;
      }
      if (k.tags.length > 0) entry.tags = Object.fromEntries(k.tags.map((x) => [x.key, x.value]));
      if (k.replicas.length > 0) entry.replicas = k.replicas;
      if (o.grants !== false && k.grants.length > 0) {
        entry.grants = k.grants.map((g) => ({
          grantee_principal: g.grantee, ...(g.grantee_type === 'domain' ? { grantee_principal_type: 'domain' as const } : {}),
          operations: g.operations as GrantOperation[], ...(g.name ? { name: g.name } : {}),
        }));
      }
      return entry;
    });
    const header = [
      `Keys of region ${region} (account ${t.boot.domain_name}), exported ${new Date().toISOString()}.`,
      o.withMaterial ? 'Holds key material: keep it secret.' : 'Without key material: loading it creates keys with new material.',
    ].join('\n');
    return { text: seedFileText(keys, header), keys, skipped: answer.skipped };
  } finally {
    mine?.privateDer.fill(0);
  }
}

/** The admin user's id (the issuer of seeded grants), from a token IAM issues for bootstrap.json's password. */
async function adminUserId(t: Target): Promise<string> {
  const res = await httpCall(`${t.boot.iam_endpoint}/v3/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, timeoutMs: 10_000, ca: deploymentCa(t.deployment.tls, readFileSync),
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { domain: { name: t.boot.domain_name }, name: t.boot.user_name, password: t.boot.password } } } } }),
  }).catch((err: Error) => {
    throw new SeedApplyError(`IAM (${t.boot.iam_endpoint}) cannot be reached: ${err.message}`);
  });
  let body: { token?: { user?: { id?: string } } } | null;
  try {
    body = JSON.parse(res.body.toString('utf8')) as { token?: { user?: { id?: string } } };
  } catch {
    body = null; // not JSON: refused below
  }
  const id = body?.token?.user?.id;
  if (res.status !== 201 || typeof id !== 'string') throw new SeedApplyError(`IAM refused the bootstrap account's password (${res.status}): grants need the admin user's id`);
  return id;
}

/** A signed call to a region's seed routes (its nodes in order until one takes the connection). */
async function call(t: Target, region: string, method: string, path: string, payload?: unknown): Promise<unknown> {
  const endpoints = t.deployment.regions.find((r) => r.id === region)!.endpoints;
  const body = payload === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(payload));
  let lastError = '';
  for (const endpoint of endpoints) {
    let res: ClientAnswer;
    try {
      res = await httpCall(endpoint + path, {
        method, body: payload === undefined ? undefined : body, timeoutMs: 120_000, ca: deploymentCa(t.deployment.tls, readFileSync),
        headers: { authorization: internalAuthorization(t.secret, SEED_CALLER, method, path, body), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      });
    } catch (err) {
      lastError = (err as Error).message;
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') continue;
      throw new SeedApplyError(`region ${region} (${endpoint}): ${lastError}`);
    }
    const text = res.body;
    const signature = res.headers['x-strongroom-signature'];
    if (!responseVerifies(t.secret, region, text, typeof signature === 'string' ? signature : null)) {
      throw new SeedApplyError(`region ${region} (${endpoint}) answered ${res.status} without this deployment's signature: is it this deployment?`);
    }
    const data = JSON.parse(text.toString('utf8')) as { error?: { error_code?: string; error_msg?: string } };
    if (res.status >= 200 && res.status < 300) return data;
    throw new SeedApplyError(`region ${region} refused: ${data.error?.error_code ?? res.status} ${data.error?.error_msg ?? ''}`.trim());
  }
  throw new SeedApplyError(`region ${region} cannot be reached (${lastError}): is the deployment running?`);
}
