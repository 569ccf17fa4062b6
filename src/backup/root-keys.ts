/**
 * The root keys a backup or a restore opens, in one place. Backup opens each component's own, as deployment.json
 * names it (keystore/root-key-config.ts), never making one: a missing key file or token key is an error, not a new
 * key. Restore opens the one the operator names: a copy of the key file (`--root-key-file`, `--iam-root-key-file`)
 * or the token (`--root-key pkcs11 --pkcs11-…`, the key found by the label the backup's header names), else what
 * the data directory restored into already has.
 */
import { copyFileSync, chmodSync, existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { iamDir, regionDir, rootKeyOf, type DeploymentFile } from '../deployment.js';
import { defaultKeyLabel, openRootKeyFrom, type Pkcs11RootKeyConfig, type RootKeyConfig } from '../keystore/root-key-config.js';
import type { RootKey } from '../keystore/root-key.js';
import type { RootKeyDescription } from './backup-file.js';

const KEY_FILE = 'master.key';
const keyFileOf = (config: RootKeyConfig & { type: 'file' }, dir: string) => {
  const file = config.file ?? KEY_FILE;
  return isAbsolute(file) ? file : join(dir, file);
};

/** Opens a root key without making one (a key file that is missing is an error, not a new key). */
function openExisting(config: RootKeyConfig, dir: string, component: string, what: string): RootKey {
  if (config.type === 'file' && !existsSync(keyFileOf(config, dir))) throw new Error(`${what} has no root key (${keyFileOf(config, dir)} is missing)`);
  return openRootKeyFrom(config, dir, component, { create: false });
}

/** A component's root key as deployment.json names it (`iam` or a region id), with its configuration. */
export function openComponentRootKey(d: DeploymentFile, dataDir: string, component: string): { key: RootKey; config: RootKeyConfig } {
  const config = rootKeyOf(d, component);
  const dir = component === 'iam' ? iamDir(dataDir) : regionDir(dataDir, component);
  return { key: openExisting(config, dir, component, component === 'iam' ? 'IAM' : `region ${component}`), config };
}

/** A root key as a backup's header names it: id and kind, and for a token key where it is (never the PIN). */
export function describeRootKey(id: string, config: RootKeyConfig, component: string): RootKeyDescription {
  if (config.type === 'file') return { id, kind: 'file' };
  return { id, kind: 'pkcs11', module: config.module, token: config.token, key_label: config.key_label ?? defaultKeyLabel(component) };
}

/** What the operator gave a restore to find the root keys with. */
export interface RestoreRootKeyOptions {
  /** `--root-key-file`: a copy of the region's key file. */
  regionFile?: string;
  /** `--iam-root-key-file`: a copy of IAM's key file. */
  iamFile?: string;
  /** `--root-key pkcs11 --pkcs11-…`: the token holding the region's root key (and IAM's when the backup says so). */
  token?: Pkcs11RootKeyConfig;
}

/** A root key chosen for a restore: how to open it now, what the restored deployment records, a file to copy in. */
export interface ChosenRootKey {
  open: RootKeyConfig;
  keep: RootKeyConfig;
  /** The key file to copy into the component's directory as master.key. */
  copyFrom?: string;
  /** Where it came from, for messages (`--root-key-file F`, `the PKCS#11 token "t"`). */
  source: string;
}

/**
 * Chooses the root key of one component for a restore from the options, the backup's header, and what NEWDIR
 * already holds (its deployment.json, or a key file in place). Throws naming the option to give.
 */
export function chooseRestoreRootKey(component: string, needed: RootKeyDescription, o: RestoreRootKeyOptions, existing: DeploymentFile | null, dir: string): ChosenRootKey {
  const isIam = component === 'iam';
  const file = isIam ? o.iamFile : o.regionFile;
  const flag = isIam ? '--iam-root-key-file' : '--root-key-file';
  if (file !== undefined) {
    const path = resolve(file);
    if (!existsSync(path)) throw new Error(`${flag} ${file}: no such file`);
    return { open: { type: 'file', file: path }, keep: { type: 'file' }, copyFrom: path, source: `${flag} ${file}` };
  }
  if (o.token !== undefined && (!isIam || needed.kind === 'pkcs11')) {
    const config: Pkcs11RootKeyConfig = { ...o.token, key_label: (isIam ? undefined : o.token.key_label) ?? needed.key_label ?? defaultKeyLabel(component) };
    return { open: config, keep: config, source: `the PKCS#11 token ${JSON.stringify(config.token)} (key ${JSON.stringify(config.key_label)})` };
  }
  if (existing) {
    const config = rootKeyOf(existing, component);
    return { open: config, keep: config, source: `${isIam ? 'IAM' : `region ${component}`}'s root key in the deployment restored into` };
  }
  if (existsSync(join(dir, KEY_FILE))) return { open: { type: 'file' }, keep: { type: 'file' }, source: join(dir, KEY_FILE) };
  const how = needed.kind === 'pkcs11' ? `--root-key pkcs11 --pkcs11-module … --pkcs11-token ${needed.token ?? '…'} --pkcs11-pin-file …` : `${flag} PATH (a copy of the key file master.key)`;
  throw new Error(`give ${how}: ${isIam ? 'IAM' : `region ${component}`}'s material in the backup is wrapped by root key ${needed.id}`);
}

/** Opens a chosen root key (never making one). */
export function openChosenRootKey(chosen: ChosenRootKey, dir: string, component: string): RootKey {
  return openExisting(chosen.open, dir, component, chosen.source);
}

/** Puts a chosen key file in place for the restored component (copied as master.key, mode 0600). */
export function installChosenRootKey(chosen: ChosenRootKey, dir: string): void {
  const target = join(dir, KEY_FILE);
  if (chosen.copyFrom === undefined || resolve(chosen.copyFrom) === resolve(target)) return;
  copyFileSync(chosen.copyFrom, target);
  chmodSync(target, 0o600);
}
