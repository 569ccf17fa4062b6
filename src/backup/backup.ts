/**
 * `strongroom backup --region R --out FILE [--data-dir DIR]`: a consistent snapshot of one region's store (one read
 * transaction: the region keeps serving), and of IAM's (its own read transaction, right after: the accounts, users,
 * projects, access keys and policies that use the region's keys), written as a backup file (backup-file.ts).
 * Material stays wrapped; the root keys stay where they are (the header names them: id, kind, and for a key in an
 * HSM token its module, token and label; the region's is opened, never made, to wrap the file's MAC key).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openIamStore, openKmsStore } from '../composition.js';
import { deploymentPath, iamDir, readDeployment, regionDir, rootKeyOf, storeOf, type DeploymentFile } from '../deployment.js';
import type { StoreSnapshot } from '../storage/snapshot.js';
import { rowCounts } from '../storage/snapshot.js';
import { BACKUP_FORMAT, BACKUP_VERSION, writeBackupFile, type DeploymentLayout } from './backup-file.js';
import { describeRootKey, openComponentRootKey } from './root-keys.js';
import { MIGRATION_SETTING } from '../root-rotation.js';
import { recordedRootKeyId, rowsOf } from './wrapped-material.js';

export interface BackupOptions {
  dataDir: string;
  region: string;
  out: string;
  /** Leave IAM out (default: included). */
  withoutIam?: boolean;
}

export interface BackupReport {
  region: string;
  out: string;
  bytes: number;
  created_at: string;
  root_key: string;
  iam_root_key: string | null;
  counts: { region: Record<string, number>; iam: Record<string, number> | null };
}

/** The layout of a deployment without its secrets. */
export function layoutOf(d: DeploymentFile): DeploymentLayout {
  return {
    host: d.host, iam_port: d.iam.port, regions: d.regions.map((r) => ({ id: r.id, ports: r.ports })),
    ...(d.nodes ? { nodes: d.nodes } : {}), key_quota: d.key_quota,
    ...(d.grant_quota !== undefined ? { grant_quota: d.grant_quota } : {}),
    ...(d.throttling !== undefined ? { throttling: d.throttling } : {}),
    ...(d.replication ? { replication: d.replication } : {}),
    ...(d.peer_timeout_ms ? { peer_timeout_ms: d.peer_timeout_ms } : {}),
    ...(d.outbox_max_backoff_ms ? { outbox_max_backoff_ms: d.outbox_max_backoff_ms } : {}),
    ...(d.lease_ms ? { lease_ms: d.lease_ms } : {}),
    ...(d.deletion_sweep_ms ? { deletion_sweep_ms: d.deletion_sweep_ms } : {}),
  };
}

/** Takes the backup and writes the file; throws with a message for the command line. */
export async function takeBackup(o: BackupOptions): Promise<BackupReport> {
  if (!existsSync(deploymentPath(o.dataDir))) throw new Error(`${o.dataDir} holds no deployment (no deployment.json): give --data-dir`);
  const d = readDeployment(o.dataDir);
  if (!d.regions.some((r) => r.id === o.region)) throw new Error(`the deployment has no region ${o.region} (it has ${d.regions.map((r) => r.id).join(', ')})`);
  const store = storeOf(d);
  const dir = regionDir(o.dataDir, o.region);
  if (store === undefined && !existsSync(join(dir, 'kms.db'))) throw new Error(`region ${o.region} has no data yet (${join(dir, 'kms.db')} is missing): start it once first`);
  const { key: rootKey, config } = openComponentRootKey(d, o.dataDir, o.region);
  try {
    const kms = await openKmsStore(o.region, { dataDir: dir, store, nodeId: `backup-${process.pid}` });
    let region: StoreSnapshot;
    try {
      region = await kms.exportSnapshot();
    } finally {
      await kms.close();
    }
    const createdAt = new Date().toISOString();
    const rotation = rowsOf(region, 'settings').find((r) => r.name === MIGRATION_SETTING);
    if (rotation) {
      const state = (JSON.parse(String(rotation.value)) as { state?: string }).state;
      throw new Error(`a root key rotation of region ${o.region} is ${state === 'done' ? 'not finished' : 'in progress'}: its keys are under two root keys; back it up once \`strongroom root-key status --region ${o.region}\` shows none`);
    }
    const recorded = recordedRootKeyId(region);
    if (recorded === null) throw new Error(`region ${o.region} has never started (its store names no root key): nothing to back up`);
    if (recorded !== rootKey.id) throw new Error(`region ${o.region}'s keys are wrapped by root key ${recorded}, but its configured root key is ${rootKey.id}`);
    let iam: StoreSnapshot | null = null;
    if (!o.withoutIam) {
      if (store === undefined && !existsSync(join(iamDir(o.dataDir), 'iam.db'))) throw new Error(`IAM has no data (${join(iamDir(o.dataDir), 'iam.db')} is missing)`);
      const s = await openIamStore({ dataDir: iamDir(o.dataDir), store, nodeId: `backup-${process.pid}` });
      try {
        iam = await s.exportSnapshot();
      } finally {
        await s.close();
      }
    }
    const iamRootKey = iam ? recordedRootKeyId(iam) : null;
    if (iam && iamRootKey === null) throw new Error('IAM has never started (its store names no root key)');
    const counts = { region: rowCounts(region), iam: iam ? rowCounts(iam) : null };
    const bytes = await writeBackupFile(o.out, {
      format: BACKUP_FORMAT, version: BACKUP_VERSION, region: o.region, deployment_id: d.deployment_id ?? null, created_at: createdAt,
      store: region.dialect, root_key: describeRootKey(rootKey.id, config, o.region),
      iam: iam ? { root_key: describeRootKey(iamRootKey!, rootKeyOf(d, 'iam'), 'iam'), schema_version: iam.schemaVersion } : null,
      schema_version: region.schemaVersion, counts, deployment: layoutOf(d),
    }, { region, iam }, rootKey);
    return { region: o.region, out: o.out, bytes, created_at: createdAt, root_key: rootKey.id, iam_root_key: iamRootKey, counts };
  } finally {
    await rootKey.close();
  }
}
