/**
 * The command-line form of a root key (`--root-key file|pkcs11` and `--pkcs11-*`), shared by `start`,
 * `root-key rotate` and `restore`. The PIN is read from a file or an environment variable, never given on the
 * command line (it would show in `ps` and shell history).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { checkRootKeyConfig, type RootKeyConfig } from '../keystore/root-key-config.js';

export interface Pkcs11Options {
  rootKey?: string;
  pkcs11Module?: string;
  pkcs11Token?: string;
  pkcs11PinFile?: string;
  pkcs11PinEnv?: string;
  pkcs11KeyLabel?: string;
}

/** Adds `--pkcs11-*` options to a command (`--root-key` itself is worded by each command). */
export function pkcs11Options(command: Command, withLabel = false): Command {
  command
    .option('--pkcs11-module <path>', 'the PKCS#11 module (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)')
    .option('--pkcs11-token <label>', "the token's label")
    .option('--pkcs11-pin-file <file>', 'a file holding the user PIN (its path is kept, not the PIN)')
    .option('--pkcs11-pin-env <name>', 'or an environment variable holding the PIN');
  if (withLabel) command.option('--pkcs11-key-label <label>', "the root key's label in the token (default: strongroom-root-<component>[-<date>])");
  return command;
}

/**
 * The root key the options describe, or undefined when `--root-key` is not given. Throws an Error for the command
 * line: `--pkcs11-*` without `--root-key pkcs11`, a missing module, token or PIN source.
 */
export function rootKeyOption(o: Pkcs11Options): RootKeyConfig | undefined {
  const pkcs11Given = [o.pkcs11Module, o.pkcs11Token, o.pkcs11PinFile, o.pkcs11PinEnv, o.pkcs11KeyLabel].some((v) => v !== undefined);
  if (o.rootKey === undefined) {
    if (pkcs11Given) throw new Error('--pkcs11-* options go with --root-key pkcs11');
    return undefined;
  }
  if (o.rootKey === 'file') {
    if (pkcs11Given) throw new Error('--pkcs11-* options go with --root-key pkcs11, not file');
    return { type: 'file' };
  }
  if (o.rootKey !== 'pkcs11') throw new Error(`file or pkcs11, not ${JSON.stringify(o.rootKey)} (--root-key, or --to of root-key rotate)`);
  if (o.pkcs11Module === undefined) throw new Error('--root-key pkcs11 needs --pkcs11-module PATH');
  if (o.pkcs11Token === undefined) throw new Error('--root-key pkcs11 needs --pkcs11-token LABEL');
  if ((o.pkcs11PinFile === undefined) === (o.pkcs11PinEnv === undefined)) throw new Error('--root-key pkcs11 needs the PIN: --pkcs11-pin-file FILE or --pkcs11-pin-env NAME (one of them)');
  return checkRootKeyConfig({
    type: 'pkcs11', module: resolve(o.pkcs11Module), token: o.pkcs11Token,
    ...(o.pkcs11PinFile !== undefined ? { pin_file: resolve(o.pkcs11PinFile) } : { pin_env: o.pkcs11PinEnv }),
    ...(o.pkcs11KeyLabel !== undefined ? { key_label: o.pkcs11KeyLabel } : {}),
  }, '--root-key');
}
