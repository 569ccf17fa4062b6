/**
 * The root keys a backup or a restore opens, in one place: backup opens the region's own (never creating one: a
 * missing key file is an error, not a new key), restore opens the one the operator names. Today the key file
 * (`--root-key-file`, keystore/local-file.ts); an HSM root key plugs in here through the same options.
 */
import { copyFileSync, chmodSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openRootKey } from '../composition.js';
import { LocalFileRootKey } from '../keystore/local-file.js';
import type { RootKey } from '../keystore/root-key.js';
import type { RootKeyDescription } from './backup-file.js';

const KEY_FILE = 'master.key';

/** The root key of a component's data directory, as its servers open it; throws when it has none. */
export function openExistingRootKey(componentDir: string, what: string): RootKey {
  if (!existsSync(join(componentDir, KEY_FILE))) throw new Error(`${what} has no root key (${join(componentDir, KEY_FILE)} is missing)`);
  return openRootKey({ dataDir: componentDir });
}

/** How a restore is told which root key to use for one component (region or IAM). */
export interface RestoreRootKeyOptions {
  /** A copy of the component's key file (`--root-key-file`, `--iam-root-key-file`). */
  file?: string;
}

/**
 * Opens the root key a restore was given for one component: the key file named, else the one already in the
 * component's new data directory. Never creates a key. Throws with what to give.
 */
export function openRestoreRootKey(o: RestoreRootKeyOptions, componentDir: string, flag: string, what: string): RootKey {
  const path = o.file !== undefined ? resolve(o.file) : join(componentDir, KEY_FILE);
  if (!existsSync(path)) {
    throw new Error(o.file !== undefined ? `${flag} ${o.file}: no such file` : `give ${flag} PATH: the copy of the key file (master.key) ${what} was wrapped with`);
  }
  return new LocalFileRootKey(path);
}

/** Puts the root key a restore was given in place for the restored component (the key file copied, mode 0600). */
export function installRestoreRootKey(o: RestoreRootKeyOptions, componentDir: string): string | null {
  const target = join(componentDir, KEY_FILE);
  if (o.file === undefined || resolve(o.file) === resolve(target)) return null;
  copyFileSync(resolve(o.file), target);
  chmodSync(target, 0o600);
  return target;
}

/** A root key as a backup's header names it (no key material, no PIN). */
export function describeRootKey(id: string): RootKeyDescription {
  const kind = id.includes(':') ? id.slice(0, id.indexOf(':')) : 'file';
  return { id, kind };
}
