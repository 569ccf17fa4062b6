/**
 * `strongroom root-key rotate --region R` and `strongroom root-key status --region R` (README "Root key in an HSM").
 * Rotate moves every blob of a region's store to a new root key while the region serves (root-rotation.ts): from the
 * key file to an HSM token (`--to pkcs11 --pkcs11-…`), or to a fresh key of the kind it has (no `--to`). Progress goes
 * to stderr; run again after an interruption, it resumes. At the end the region's entry in deployment.json names the
 * new key, which every node uses from its next start. Exit codes: 0 done, 1 failed (nothing lost: each blob is under
 * one key or the other, and the old key still opens the ones not moved), 2 usage.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { openKmsStore } from '../composition.js';
import { readDeployment, regionDir, rootKeyOf, storeOf, writeDeployment, type DeploymentFile } from '../deployment.js';
import { DEFAULT_ROOT_KEY, defaultKeyLabel, describeRootKey, openRootKeyFrom, type RootKeyConfig } from '../keystore/root-key-config.js';
import { finishRotation, readMigration, ROOT_KEY_ID_SETTING, rotateRootKey } from '../root-rotation.js';
import { pkcs11Options, rootKeyOption, type Pkcs11Options } from './root-key-options.js';

/** A UTC time stamp for the names of new keys: 20261130T081500Z. */
const stamp = (): string => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/**
 * The key a rotation moves to when the options name none or only a kind: always a new one (a new file name, or a new
 * label `strongroom-root-<region>-<time>`), never the current key, a retired one or another deployment's under the
 * default label. Only an explicit `--pkcs11-key-label` names an existing token key.
 */
function targetOf(current: RootKeyConfig, given: RootKeyConfig | undefined, region: string): RootKeyConfig {
  const wanted = given ?? (current.type === 'file' ? DEFAULT_ROOT_KEY : { ...current, key_label: undefined });
  if (wanted.type === 'file') return { type: 'file', file: `master-${stamp()}.key` };
  if (wanted.key_label !== undefined) return wanted;
  // The random suffix keeps two rotations started in the same second from making two keys under one label.
  return { ...wanted, key_label: `${defaultKeyLabel(region)}-${stamp()}-${randomBytes(2).toString('hex')}` };
}

/**
 * deployment.json with the region's root keys changed: `next` names the key a rotation moves to; `current` makes it
 * the region's key (dropped from the entry when it is the deployment's default) and ends `root_key_next`.
 */
function withRegionRootKey(file: DeploymentFile, region: string, change: { next: RootKeyConfig } | { current: RootKeyConfig }): DeploymentFile {
  const fallback = file.root_key ?? DEFAULT_ROOT_KEY;
  return {
    ...file,
    regions: file.regions.map((r) => {
      if (r.id !== region) return r;
      if ('next' in change) return { ...r, root_key_next: change.next };
      const { root_key: _old, root_key_next: _next, ...rest } = r;
      return JSON.stringify(change.current) === JSON.stringify(fallback) ? rest : { ...rest, root_key: change.current };
    }),
  };
}

export function rootKeyCommands(program: Command): void {
  const group = program.command('root-key').description("a region's root key: rotate it or move it to an HSM while the region serves");

  pkcs11Options(group.command('rotate').description("re-wrap every key of a region under a new root key (resumable; the region keeps serving)")
    .requiredOption('--region <id>').option('--data-dir <dir>', "the deployment's data directory", './data')
    .option('--to <kind>', 'file (a new key file in the region\'s directory) or pkcs11 (with --pkcs11-*); default: a new key of the kind it has'), true)
    .action(async (o: { region: string; dataDir: string; to?: string } & Pkcs11Options) => {
      const dir = resolve(o.dataDir);
      const deployment = readDeployment(dir);
      if (!deployment.regions.some((r) => r.id === o.region)) throw new Error(`the deployment has no region ${o.region} (it has ${deployment.regions.map((r) => r.id).join(', ')})`);
      const dataDir = regionDir(dir, o.region);
      const current = rootKeyOf(deployment, o.region);
      const store = await openKmsStore(o.region, { dataDir, store: storeOf(deployment) });
      const opened: { close(): Promise<void> }[] = [];
      try {
        const found = await readMigration(store);
        const from = current;
        let to: RootKeyConfig;
        if (found) {
          if (o.to !== undefined || o.pkcs11Module !== undefined) throw new Error(`a rotation of ${o.region} to ${found.migration.to.id} is under way: run the command again without --to to finish it`);
          const next = deployment.regions.find((r) => r.id === o.region)!.root_key_next;
          if (!next) throw new Error(`a rotation of ${o.region} to ${found.migration.to.id} is under way, but deployment.json names no root_key_next for it: restore the deployment.json the rotation started with`);
          to = next;
          console.error(`resuming the rotation of ${o.region} started ${new Date(found.migration.started_at).toISOString()}`);
        } else {
          to = targetOf(current, o.to === undefined ? rootKeyOption({ ...o, rootKey: o.pkcs11Module !== undefined ? 'pkcs11' : undefined }) : rootKeyOption({ ...o, rootKey: o.to }), o.region);
        }
        const fromKey = openRootKeyFrom(from, dataDir, o.region, { create: false });
        opened.push(fromKey);
        const toKey = openRootKeyFrom(to, dataDir, o.region, { create: !found });
        opened.push(toKey);
        if (toKey.id === fromKey.id) throw new Error(`${describeRootKey(to, dataDir, o.region)} is the region's current root key: name another`);
        if (found && (found.migration.from.id !== fromKey.id || found.migration.to.id !== toKey.id)) {
          throw new Error(`the rotation under way moves ${found.migration.from.id} to ${found.migration.to.id}, but deployment.json names ${fromKey.id} and ${toKey.id}`);
        }
        // The nodes take the new key from deployment.json (never from the store): it is written there first.
        if (!found) writeDeployment(dir, withRegionRootKey(readDeployment(dir), o.region, { next: to }));
        console.error(`${o.region}: ${describeRootKey(from, dataDir, o.region)} (${fromKey.id}) → ${describeRootKey(to, dataDir, o.region)} (${toKey.id})`);
        const result = await rotateRootKey(store, { key: fromKey, config: from }, { key: toKey, config: to }, {
          onProgress: (p) => console.error(`pass ${p.pass}: ${p.seen} of ${p.total} key versions looked at, ${p.rewrapped} re-wrapped, ${p.already} already under the new key`),
        });
        writeDeployment(dir, withRegionRootKey(readDeployment(dir), o.region, { current: to }));
        await finishRotation(store);
        console.error(`${o.region}: every key (${result.versions} versions) is now wrapped by ${toKey.id}; deployment.json names it. The old root key is no longer used by the store: keep it as long as you keep backups made before now.`);
        process.stdout.write(JSON.stringify({ region: o.region, from: result.from, to: result.to, versions: result.versions, passes: result.passes, resumed: result.resumed }) + '\n');
      } finally {
        for (const k of opened) await k.close();
        await store.close();
      }
    });

  group.command('status').description("which root key wraps a region's keys, and any rotation under way (JSON)")
    .requiredOption('--region <id>').option('--data-dir <dir>', "the deployment's data directory", './data')
    .action(async (o: { region: string; dataDir: string }) => {
      const dir = resolve(o.dataDir);
      const deployment = readDeployment(dir);
      if (!deployment.regions.some((r) => r.id === o.region)) throw new Error(`the deployment has no region ${o.region}`);
      const dataDir = regionDir(dir, o.region);
      const store = await openKmsStore(o.region, { dataDir, store: storeOf(deployment) });
      try {
        const found = await readMigration(store);
        const configured = rootKeyOf(deployment, o.region);
        process.stdout.write(JSON.stringify({
          region: o.region,
          configured: describeRootKey(configured, dataDir, o.region),
          root_key_id: (await store.getSetting(ROOT_KEY_ID_SETTING))?.toString() ?? null,
          key_versions: await store.countVersions(),
          rotation: found ? { from: found.migration.from.id, to: found.migration.to.id, state: found.migration.state, started_at: new Date(found.migration.started_at).toISOString() } : null,
        }, null, 2) + '\n');
      } finally {
        await store.close();
      }
    });
}
