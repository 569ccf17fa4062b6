/**
 * Where a component's root key is: the vocabulary of deployment.json's `root_key` and of the `--root-key` options.
 * `file` (the default): a 32-byte key file in the component's data directory (local-file.ts). `pkcs11`: an AES-256
 * key in an HSM token reached through a PKCS#11 module (pkcs11-root-key.ts), the PIN read from a file or an
 * environment variable (never kept in deployment.json, never on a command line).
 */
import { isAbsolute, join } from 'node:path';
import { LocalFileRootKey } from './local-file.js';
import { readPin } from './pkcs11.js';
import { Pkcs11RootKey } from './pkcs11-root-key.js';
import type { RootKey } from './root-key.js';

export interface FileRootKeyConfig {
  type: 'file';
  /** The key file: a name in the component's data directory (default `master.key`) or an absolute path. */
  file?: string;
}

export interface Pkcs11RootKeyConfig {
  type: 'pkcs11';
  /** Path of the PKCS#11 module (for SoftHSM2 on Debian: /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  /** The token's label. */
  token: string;
  /** A file whose first line is the user PIN (absolute path). */
  pin_file?: string;
  /** Or the name of an environment variable holding it. */
  pin_env?: string;
  /** The root key's label in the token; default `strongroom-root-<component>` (`iam` or the region id). */
  key_label?: string;
}

export type RootKeyConfig = FileRootKeyConfig | Pkcs11RootKeyConfig;

/** The default: `master.key` in the component's data directory. */
export const DEFAULT_ROOT_KEY: FileRootKeyConfig = { type: 'file' };

/** The label of a component's root key in a token when the configuration names none. */
export const defaultKeyLabel = (component: string): string => `strongroom-root-${component}`;

/**
 * Checks a root key configuration (from deployment.json or the command line) and returns it normalised. Throws an
 * Error with a message for the operator: an unknown type, a missing module or token, no PIN source or two, a
 * relative PIN file path.
 */
export function checkRootKeyConfig(value: unknown, where = 'root_key'): RootKeyConfig {
  const v = value as { type?: unknown; file?: unknown; module?: unknown; token?: unknown; pin_file?: unknown; pin_env?: unknown; key_label?: unknown } | null;
  if (v === null || typeof v !== 'object') throw new Error(`${where} must be an object`);
  if (v.type === 'file') {
    if (v.file !== undefined && (typeof v.file !== 'string' || v.file === '')) throw new Error(`${where}.file must be a file name or an absolute path`);
    return v.file === undefined ? { type: 'file' } : { type: 'file', file: v.file as string };
  }
  if (v.type !== 'pkcs11') throw new Error(`${where}.type must be "file" or "pkcs11"`);
  for (const field of ['module', 'token'] as const) {
    if (typeof v[field] !== 'string' || v[field] === '') throw new Error(`${where}.${field} is needed for a PKCS#11 root key`);
  }
  if ((v.pin_file === undefined) === (v.pin_env === undefined)) throw new Error(`${where}: give the PIN as pin_file or pin_env (one of them)`);
  if (v.pin_file !== undefined && (typeof v.pin_file !== 'string' || !isAbsolute(v.pin_file))) throw new Error(`${where}.pin_file must be an absolute path`);
  if (v.pin_env !== undefined && (typeof v.pin_env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v.pin_env))) throw new Error(`${where}.pin_env must name an environment variable`);
  if (v.key_label !== undefined && (typeof v.key_label !== 'string' || v.key_label === '')) throw new Error(`${where}.key_label must be a non-empty string`);
  const out: Pkcs11RootKeyConfig = { type: 'pkcs11', module: v.module as string, token: v.token as string };
  if (v.pin_file !== undefined) out.pin_file = v.pin_file as string;
  if (v.pin_env !== undefined) out.pin_env = v.pin_env as string;
  if (v.key_label !== undefined) out.key_label = v.key_label as string;
  return out;
}

/** The same root key? (the same file, or the same label in the same token of the same module) */
export function sameRootKey(a: RootKeyConfig, b: RootKeyConfig, component: string): boolean {
  if (a.type === 'file' || b.type === 'file') return a.type === 'file' && b.type === 'file' && (a.file ?? 'master.key') === (b.file ?? 'master.key');
  return a.module === b.module && a.token === b.token && (a.key_label ?? defaultKeyLabel(component)) === (b.key_label ?? defaultKeyLabel(component));
}

/** Describes a root key for people: `key file /…/master.key` or `PKCS#11 token "t" key "l"`. */
export function describeRootKey(config: RootKeyConfig, dataDir: string, component: string): string {
  if (config.type === 'file') return `key file ${keyFilePath(config, dataDir)}`;
  return `PKCS#11 token ${JSON.stringify(config.token)} key ${JSON.stringify(config.key_label ?? defaultKeyLabel(component))} (${config.module})`;
}

const keyFilePath = (config: FileRootKeyConfig, dataDir: string): string => {
  const file = config.file ?? 'master.key';
  return isAbsolute(file) ? file : join(dataDir, file);
};

/**
 * Opens a component's root key. `create`: make the key when it does not exist yet (a key file at first start; a
 * token key, which only the launcher and the migration command make, so that processes starting together never
 * make two). Throws an Error naming what is wrong (file mode or size, module, token, PIN, missing key).
 */
export function openRootKeyFrom(config: RootKeyConfig, dataDir: string, component: string, options: { create: boolean }): RootKey {
  if (config.type === 'file') return new LocalFileRootKey(keyFilePath(config, dataDir), options.create);
  return Pkcs11RootKey.open({ module: config.module, token: config.token, pin: readPin(config), keyLabel: config.key_label ?? defaultKeyLabel(component), create: options.create });
}
