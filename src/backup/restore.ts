/**
 * `strongroom restore --region R --in FILE --data-dir NEWDIR --root-key-file KEY [--iam-root-key-file KEY]`: brings
 * a region back from its backup (backup-file.ts) into a data directory that does not hold it, with IAM's accounts,
 * users, projects, access keys and policies when NEWDIR has no IAM yet (an IAM already there is kept as it is).
 *
 * Everything is checked before anything is written: the file's hash, the root key's id against the header, the MAC
 * with that key, and every wrapped blob of the snapshots unwrapped (wrapped-material.ts) under the root key given
 * for it. Any failure throws naming the root keys, and NEWDIR is left as it was (absent stays absent). Then, in
 * order: NEWDIR and its deployment.json when absent (the backup's regions, host and ports, or `--port`/`--host`; a
 * new internal secret and deployment id), the key files copied in, each store loaded in one transaction, and
 * bootstrap.json when given; a failure there removes what this restore created.
 */
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkStore, describeStore, openIamStore, openKmsStore, STORE_ENV } from '../composition.js';
import { deploymentPath, iamDir, privateDir, readDeployment, regionDir, resolvePlan, rootKeyOf, storeOf, writeDeployment, type DeploymentFile } from '../deployment.js';
import type { RootKey } from '../keystore/root-key.js';
import { DEFAULT_ROOT_KEY, sameRootKey, type RootKeyConfig } from '../keystore/root-key-config.js';
import type { IamStore } from '../storage/iam-store.js';
import type { KmsStore } from '../storage/kms-store.js';
import { SEEDED_TABLES, type StoreSnapshot } from '../storage/snapshot.js';
import { backupContent, readBackupFile, verifyBackupMac, type BackupHeader } from './backup-file.js';
import { chooseRestoreRootKey, installChosenRootKey, openChosenRootKey, type ChosenRootKey, type RestoreRootKeyOptions } from './root-keys.js';
import { checkUnwraps, iamWrappedBlobs, regionWrappedBlobs, rowsOf, UnwrapCheckFailed } from './wrapped-material.js';

export interface RestoreOptions {
  /** The backup file. */
  in: string;
  region: string;
  /** The data directory to restore into (NEWDIR). */
  dataDir: string;
  /** The root keys: `--root-key-file`, `--iam-root-key-file`, or the token of `--root-key pkcs11 --pkcs11-…`. */
  rootKeys: RestoreRootKeyOptions;
  /** Where a new deployment keeps its data (`--store`: sqlite or postgres://…); an existing deployment.json's otherwise. */
  store?: string;
  /** A new deployment's base port and host (default: the backup's). */
  port?: number;
  host?: string;
  /** A copy of the old deployment's bootstrap.json (the admin's credentials), copied into NEWDIR. */
  bootstrapFile?: string;
}

export interface RestoreReport {
  region: string;
  data_dir: string;
  store: string;
  deployment_json: 'written' | 'kept' | 'updated';
  iam: 'restored' | 'kept' | 'not in the backup';
  /** Wrapped blobs unwrapped under the root keys before anything was written. */
  checked: { region: number; iam: number; keystore_versions: number; settings_not_checked: string[] };
  counts: BackupHeader['counts'];
  bootstrap: 'copied' | 'not given';
  next: string;
}

/** A restore refused before anything was written. */
export class RestoreRefused extends Error {
  constructor(message: string) {
    super(`${message}; nothing was written`);
    this.name = 'RestoreRefused';
  }
}

/** Whether a store holds nothing but what its migrations made. */
async function isEmpty(store: KmsStore | IamStore): Promise<boolean> {
  const s = await store.exportSnapshot();
  return s.tables.every((t) => SEEDED_TABLES.has(t.name) || t.rows.length === 0);
}

/** What a wrong root key means, in the operator's words. */
function wrongKey(what: string, needed: string, given: RootKey, chosen: ChosenRootKey): RestoreRefused {
  return new RestoreRefused(`wrong root key for ${what}: the backup needs root key ${needed}, but ${chosen.source} gives root key ${given.id}`);
}

/** Opens a chosen root key; a key that cannot be opened (no such file, token or label; a wrong PIN) refuses the restore. */
function openOrRefuse(chosen: ChosenRootKey, dir: string, component: string): RootKey {
  try {
    return openChosenRootKey(chosen, dir, component);
  } catch (err) {
    throw new RestoreRefused(`cannot open ${chosen.source}: ${(err as Error).message}`);
  }
}

export async function restoreBackup(o: RestoreOptions): Promise<RestoreReport> {
  const backup = readBackupFile(o.in);
  const h = backup.header;
  if (h.region !== o.region) throw new RestoreRefused(`${o.in} is a backup of region ${h.region}, not ${o.region}`);
  const newDir = resolve(o.dataDir);

  // Where the restored region goes: an existing deployment (its store), or a new one.
  const existing: DeploymentFile | null = existsSync(deploymentPath(newDir)) ? readDeployment(newDir) : null;
  if (existing && !existing.regions.some((r) => r.id === o.region)) {
    throw new RestoreRefused(`${deploymentPath(newDir)} has no region ${o.region} (it has ${existing.regions.map((r) => r.id).join(', ')})`);
  }
  const given = checkStore(o.store);
  let store: string | undefined;
  if (existing) {
    store = storeOf(existing);
    if (o.store !== undefined && given !== store) throw new RestoreRefused(`${newDir} keeps its data in ${describeStore(store)}; --store names another store`);
  } else {
    store = given ?? checkStore(process.env[STORE_ENV]);
  }
  const rDir = regionDir(newDir, o.region);
  const iDir = iamDir(newDir);
  if (store === undefined && existsSync(join(rDir, 'kms.db'))) throw new RestoreRefused(`${rDir} already holds region ${o.region}'s data`);

  // What this restore may create: removed again when it fails (checking a PostgreSQL store opens it, which makes
  // the component's directory), so NEWDIR is left as it was.
  const created = [newDir, join(newDir, 'regions'), rDir, iDir].filter((p) => !existsSync(p));
  const opened: { close(): Promise<void> }[] = [];
  const closeAll = async () => {
    for (const x of opened.splice(0).reverse()) await x.close().catch(() => {});
  };
  try {
    // 1. The region's root key: its id, the file's MAC, every wrapped blob.
    const regionChoice = refuseOnError(() => chooseRestoreRootKey(o.region, h.root_key, o.rootKeys, existing, rDir));
    const rootKey = openOrRefuse(regionChoice, rDir, o.region);
    opened.push(rootKey);
    if (rootKey.id !== h.root_key.id) throw wrongKey(`region ${o.region}`, h.root_key.id, rootKey, regionChoice);
    await verifyBackupMac(backup, rootKey);
    const content = backupContent(backup);
    const region = regionWrappedBlobs(content.region);
    const regionChecked = await checkUnwraps(region.blobs, rootKey).catch((err: unknown) => {
      throw err instanceof UnwrapCheckFailed ? new RestoreRefused(`${err.message} (the backup names root key ${h.root_key.id})`) : err;
    });

    // 2. IAM: restored unless NEWDIR has one.
    let iamState: RestoreReport['iam'] = content.iam === null ? 'not in the backup' : 'restored';
    let iamStore: IamStore | null = null;
    let iamChecked = 0;
    let iamUnknown: string[] = [];
    let iamChoice: ChosenRootKey | null = null;
    if (content.iam !== null) {
      if (store === undefined) {
        if (existsSync(join(iDir, 'iam.db'))) iamState = 'kept';
      } else {
        iamStore = await openIamStore({ dataDir: iDir, store });
        opened.push(iamStore);
        if (!(await isEmpty(iamStore))) iamState = 'kept';
      }
    }
    if (iamState === 'restored') {
      const needed = h.iam!.root_key.id;
      const choice = refuseOnError(() => chooseRestoreRootKey('iam', h.iam!.root_key, o.rootKeys, existing, iDir));
      iamChoice = choice;
      const iamKey = openOrRefuse(choice, iDir, 'iam');
      opened.push(iamKey);
      if (iamKey.id !== needed) throw wrongKey('IAM', needed, iamKey, choice);
      const blobs = iamWrappedBlobs(content.iam!);
      iamUnknown = blobs.unknownSettings;
      iamChecked = await checkUnwraps(blobs.blobs, iamKey).catch((err: unknown) => {
        throw err instanceof UnwrapCheckFailed ? new RestoreRefused(`IAM's ${err.message} (the backup names root key ${needed})`) : err;
      });
    }

    // 3. The credentials file, checked against the accounts restored.
    let bootstrap: Buffer | null = null;
    if (o.bootstrapFile !== undefined) {
      const file = o.bootstrapFile;
      bootstrap = refuseOnError(() => readFileSync(file));
      const text = bootstrap.toString('utf8');
      const domainId = refuseOnError(() => {
        try {
          return (JSON.parse(text) as { domain_id?: string }).domain_id;
        } catch {
          throw new Error(`${file} is not a bootstrap.json (not JSON)`);
        }
      });
      if (iamState === 'restored' && !rowsOf(content.iam as StoreSnapshot, 'domains').some((d) => d.id === domainId)) {
        throw new RestoreRefused(`${o.bootstrapFile} names account ${String(domainId)}, which the backup's IAM does not hold`);
      }
    }

    // 4. On PostgreSQL, the region's schema must be empty.
    let kms: KmsStore | null = null;
    if (store !== undefined) {
      kms = await openKmsStore(o.region, { dataDir: rDir, store });
      opened.push(kms);
      if (!(await isEmpty(kms))) throw new RestoreRefused(`the store's schema of region ${o.region} already holds data`);
    }

    // Everything checked: write.
    const make = (dir: string) => {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      privateDir(dir);
    };
    const madeFile = (path: string) => {
      if (!existsSync(path)) created.push(path);
    };
    let deploymentJson: RestoreReport['deployment_json'] = 'kept';
    {
      make(newDir);
      if (!existing) {
        madeFile(deploymentPath(newDir));
        writeDeployment(newDir, newDeployment(newDir, h, o, given, regionChoice.keep, iamChoice?.keep ?? null));
        deploymentJson = 'written';
      }
      make(rDir);
      for (const f of ['master.key', 'kms.db', 'kms.db-wal', 'kms.db-shm']) madeFile(join(rDir, f));
      installChosenRootKey(regionChoice, rDir);
      kms ??= await openKmsStore(o.region, { dataDir: rDir, store });
      if (!opened.includes(kms)) opened.push(kms);
      await kms.importSnapshot(content.region);
      if (iamState === 'restored') {
        make(iDir);
        for (const f of ['master.key', 'iam.db', 'iam.db-wal', 'iam.db-shm']) madeFile(join(iDir, f));
        installChosenRootKey(iamChoice!, iDir);
        iamStore ??= await openIamStore({ dataDir: iDir, store });
        if (!opened.includes(iamStore)) opened.push(iamStore);
        await iamStore.importSnapshot(content.iam!);
      }
      if (bootstrap !== null) {
        const target = join(newDir, 'bootstrap.json');
        madeFile(target);
        copyFileSync(resolve(o.bootstrapFile!), target);
        chmodSync(target, 0o600);
      }
      // A region restored into an existing deployment whose file names another root key for it (key files there,
      // a token key here): its entry names the key it was restored under, or it would not start.
      if (existing && !sameRootKey(rootKeyOf(existing, o.region), regionChoice.keep, o.region)) {
        const current = readDeployment(newDir);
        writeDeployment(newDir, { ...current, regions: current.regions.map((r) => (r.id === o.region ? { ...r, root_key: regionChoice.keep } : r)) });
        deploymentJson = 'updated';
      }
    }
    return {
      region: o.region, data_dir: newDir, store: describeStore(store), deployment_json: deploymentJson, iam: iamState,
      checked: { region: regionChecked, iam: iamChecked, keystore_versions: region.keystoreVersions, settings_not_checked: [...region.unknownSettings, ...iamUnknown.map((s) => `iam:${s}`)] },
      counts: h.counts, bootstrap: bootstrap === null ? 'not given' : 'copied',
      next: `npm start -- --data-dir ${o.dataDir}`,
    };
  } catch (err) {
    await closeAll();
    for (const p of created.reverse()) rmSync(p, { recursive: true, force: true });
    throw err;
  } finally {
    await closeAll();
  }
}

/** Runs a check; its Error refuses the restore (nothing written). */
function refuseOnError<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw err instanceof RestoreRefused ? err : new RestoreRefused((err as Error).message);
  }
}

/**
 * A new deployment file for NEWDIR: the backup's layout (or `--port`/`--host`), a new secret and id, and the root
 * keys the restore used: a token key becomes the deployment's `root_key` (other regions get keys of their own in
 * that token at start), with the region's or IAM's own entry where its label or kind differs.
 */
function newDeployment(dir: string, h: BackupHeader, o: RestoreOptions, store: string | undefined, regionKey: RootKeyConfig, iamKey: RootKeyConfig | null): DeploymentFile {
  // `store` is the one --store gave (STRONGROOM_STORE is never written into deployment.json).
  const l = h.deployment;
  const { file } = resolvePlan(dir, {
    host: o.host ?? l.host, basePort: o.port ?? l.iam_port, regions: l.regions.map((r) => r.id), keyQuota: l.key_quota, grantQuota: l.grant_quota,
    throttling: l.throttling as DeploymentFile['throttling'], store, nodes: l.nodes,
  });
  let base: RootKeyConfig = DEFAULT_ROOT_KEY;
  if (regionKey.type === 'pkcs11') {
    const { key_label: _label, ...token } = regionKey;
    base = token;
  }
  const own = (config: RootKeyConfig, component: string) => !sameRootKey(config, base, component);
  return {
    ...file,
    ...(base.type === 'pkcs11' ? { root_key: base } : {}),
    iam: { ...file.iam, ...(iamKey && own(iamKey, 'iam') ? { root_key: iamKey } : {}) },
    regions: file.regions.map((r) => (r.id === o.region && own(regionKey, r.id) ? { ...r, root_key: regionKey } : r)),
    ...(l.replication ? { replication: l.replication } : {}),
    ...(l.peer_timeout_ms ? { peer_timeout_ms: l.peer_timeout_ms } : {}),
    ...(l.outbox_max_backoff_ms ? { outbox_max_backoff_ms: l.outbox_max_backoff_ms } : {}),
    ...(l.lease_ms ? { lease_ms: l.lease_ms } : {}),
    ...(l.deletion_sweep_ms ? { deletion_sweep_ms: l.deletion_sweep_ms } : {}),
  };
}
