/**
 * A PKCS#11 token reached through its module (pkcs11js): the one place Strongroom talks to an HSM. A module is loaded
 * and initialised once per process (PKCS#11 allows one `C_Initialize` per application), a token is found by its
 * label (slot numbers are reassigned by some modules, SoftHSM2 among them), and one logged-in read-write session per
 * token serves every call: pkcs11js calls are synchronous (~20–40 µs each on SoftHSM2, docs/reference/softhsm-pkcs11.md),
 * so calls never interleave on the session.
 *
 * Keys made here are token objects, sensitive and non-extractable: their value never leaves the token.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { AuthenticationFailed } from '../crypto/symmetric.js';

/** How to reach a token: the module (shared library path), the token's label and the user PIN. */
export interface Pkcs11TokenConfig {
  /** Path of the PKCS#11 module, for example `/usr/lib/softhsm/libsofthsm2.so`. */
  module: string;
  /** The token's label (CKA_LABEL of the token, as `softhsm2-util --init-token --label` set it). */
  token: string;
  /** The user PIN. Read from a file or an environment variable (pinFrom), never from the command line. */
  pin: string;
}

/** Where a PIN comes from: a file (its first line) or an environment variable. Exactly one. */
export interface PinSource {
  pin_file?: string;
  pin_env?: string;
}

/** Reads a PIN from its source. Throws with a message for the operator when it is missing or empty. */
export function readPin(source: PinSource): string {
  if (source.pin_file !== undefined && source.pin_env !== undefined) throw new Error('give the PIN as a file or an environment variable, not both');
  let pin: string | undefined;
  if (source.pin_file !== undefined) {
    try {
      pin = readFileSync(source.pin_file, 'utf8').split(/\r?\n/)[0];
    } catch (err) {
      throw new Error(`cannot read the PKCS#11 PIN file ${source.pin_file}: ${(err as Error).message}`);
    }
  } else if (source.pin_env !== undefined) {
    pin = process.env[source.pin_env];
    if (pin === undefined) throw new Error(`the environment variable ${source.pin_env} (the PKCS#11 PIN) is not set`);
  } else {
    throw new Error('a PKCS#11 PIN is needed: give a PIN file or the name of an environment variable holding it');
  }
  if (!pin) throw new Error('the PKCS#11 PIN is empty');
  return pin;
}

/** A handle of an object in a token (opaque to callers). */
export type ObjectHandle = Buffer;

const { CKA_CLASS, CKA_KEY_TYPE, CKA_LABEL, CKA_TOKEN, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ENCRYPT, CKA_DECRYPT, CKA_VALUE_LEN, CKA_PRIVATE } = pkcs11js;

interface LoadedModule {
  lib: pkcs11js.PKCS11;
  users: number;
}
const modules = new Map<string, LoadedModule>();

function loadModule(path: string): LoadedModule {
  let loaded = modules.get(path);
  if (!loaded) {
    const lib = new pkcs11js.PKCS11();
    try {
      lib.load(path);
    } catch (err) {
      throw new Error(`cannot load the PKCS#11 module ${path}: ${(err as Error).message}`);
    }
    try {
      lib.C_Initialize();
    } catch (err) {
      if ((err as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
    }
    loaded = { lib, users: 0 };
    modules.set(path, loaded);
  }
  loaded.users++;
  return loaded;
}

function releaseModule(path: string): void {
  const loaded = modules.get(path);
  if (!loaded) return;
  if (--loaded.users > 0) return;
  modules.delete(path);
  try {
    loaded.lib.C_Finalize();
  } catch {
    /* already finalised */
  }
  loaded.lib.close();
}

/** A PKCS#11 error code as its name (`CKR_PIN_INCORRECT`), for messages. */
export function pkcs11ErrorName(err: unknown): string {
  const code = (err as { code?: number }).code;
  if (typeof code !== 'number') return (err as Error).message;
  const name = Object.keys(pkcs11js).find((k) => k.startsWith('CKR_') && (pkcs11js as unknown as Record<string, unknown>)[k] === code);
  return name ?? `0x${code.toString(16)}`;
}

/** One token, logged in as its user, with one session. */
export class Pkcs11Token {
  readonly label: string;
  readonly module: string;
  readonly lib: pkcs11js.PKCS11;
  readonly session: Buffer;
  #closed = false;

  private constructor(module: string, label: string, lib: pkcs11js.PKCS11, session: Buffer) {
    this.module = module;
    this.label = label;
    this.lib = lib;
    this.session = session;
  }

  /**
   * Loads the module (once per process), finds the token by label, opens a read-write session and logs in.
   * Throws an Error whose message names what failed: the module, a missing token (with the labels present), a wrong PIN.
   */
  static open(config: Pkcs11TokenConfig): Pkcs11Token {
    const { lib } = loadModule(config.module);
    try {
      const slots = lib.C_GetSlotList(true);
      const labels: string[] = [];
      let slot: Buffer | undefined;
      for (const s of slots) {
        const label = lib.C_GetTokenInfo(s).label.trim();
        labels.push(label);
        if (label !== config.token) continue;
        if (slot) throw new Error(`several PKCS#11 tokens are labelled ${JSON.stringify(config.token)} in ${config.module}: a label must name one token`);
        slot = s;
      }
      if (!slot) throw new Error(`no PKCS#11 token labelled ${JSON.stringify(config.token)} in ${config.module} (tokens: ${labels.map((l) => JSON.stringify(l)).join(', ') || 'none'})`);
      const session = lib.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, config.pin);
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
          lib.C_CloseSession(session);
          throw new Error(`cannot log in to the PKCS#11 token ${JSON.stringify(config.token)}: ${pkcs11ErrorName(err)}`);
        }
      }
      return new Pkcs11Token(config.module, config.token, lib, session);
    } catch (err) {
      releaseModule(config.module);
      throw err;
    }
  }

  /** Token objects matching a template (for example a label and a class). */
  findObjects(template: pkcs11js.Template): ObjectHandle[] {
    this.#check();
    this.lib.C_FindObjectsInit(this.session, template);
    try {
      const found: ObjectHandle[] = [];
      for (;;) {
        const batch = this.lib.C_FindObjects(this.session, 64);
        if (batch.length === 0) break;
        found.push(...batch);
      }
      return found;
    } finally {
      this.lib.C_FindObjectsFinal(this.session);
    }
  }

  /** The secret key with this label, or null; throws when several have it (a label must name one key). */
  findSecretKey(label: string): ObjectHandle | null {
    const found = this.findObjects([{ type: CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: CKA_LABEL, value: label }, { type: CKA_TOKEN, value: true }]);
    if (found.length > 1) throw new Error(`${found.length} keys labelled ${JSON.stringify(label)} in token ${JSON.stringify(this.label)}: a label must name one key`);
    return found[0] ?? null;
  }

  /**
   * Generates an AES key of `bytes` (16, 24 or 32) as a token object: sensitive, non-extractable, usable for
   * encrypt/decrypt (and wrap/unwrap), with CKA_ID `id` when given. ~5 ms on SoftHSM2's file store.
   */
  generateAesKey(label: string, bytes = 32, id?: Buffer): ObjectHandle {
    this.#check();
    return this.lib.C_GenerateKey(this.session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      ...(id ? [{ type: pkcs11js.CKA_ID, value: id }] : []),
      { type: CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: CKA_VALUE_LEN, value: bytes },
      { type: CKA_LABEL, value: label },
      { type: CKA_TOKEN, value: true },
      { type: CKA_PRIVATE, value: true },
      { type: CKA_SENSITIVE, value: true },
      { type: CKA_EXTRACTABLE, value: false },
      { type: CKA_ENCRYPT, value: true },
      { type: CKA_DECRYPT, value: true },
      { type: pkcs11js.CKA_WRAP, value: true },
      { type: pkcs11js.CKA_UNWRAP, value: true },
    ]);
  }

  /** AES-GCM in the token: a fresh 12-byte IV, 16-byte tag. Returns iv(12) ‖ ciphertext ‖ tag(16). */
  aesGcmSeal(key: ObjectHandle, plaintext: Buffer, aad: Buffer): Buffer {
    this.#check();
    const iv = randomBytes(12);
    this.lib.C_EncryptInit(this.session, this.#gcm(iv, aad), key);
    const out = this.lib.C_Encrypt(this.session, plaintext, Buffer.alloc(plaintext.length + 16));
    return Buffer.concat([iv, out]);
  }

  /** Opens iv(12) ‖ ciphertext ‖ tag(16) in the token; throws AuthenticationFailed on any mismatch. */
  aesGcmOpen(key: ObjectHandle, sealed: Buffer, aad: Buffer): Buffer {
    this.#check();
    if (sealed.length < 28) throw new AuthenticationFailed();
    const iv = sealed.subarray(0, 12);
    try {
      this.lib.C_DecryptInit(this.session, this.#gcm(iv, aad), key);
      return Buffer.from(this.lib.C_Decrypt(this.session, sealed.subarray(12), Buffer.alloc(sealed.length)));
    } catch (err) {
      // SoftHSM2 reports a failed tag as CKR_GENERAL_ERROR, others as CKR_ENCRYPTED_DATA_INVALID (docs/reference/softhsm-pkcs11.md).
      if (typeof (err as { code?: number }).code === 'number') throw new AuthenticationFailed();
      throw err;
    }
  }

  /** Reads boolean attributes of an object (for example CKA_EXTRACTABLE, CKA_SENSITIVE). */
  booleanAttributes(handle: ObjectHandle, types: number[]): boolean[] {
    this.#check();
    return this.lib.C_GetAttributeValue(this.session, handle, types.map((type) => ({ type }))).map((a) => Buffer.isBuffer(a.value) ? a.value[0] === 1 : Boolean(a.value));
  }

  /** Destroys a token object (for example a keystore key whose deletion date passed). */
  destroyObject(handle: ObjectHandle): void {
    this.#check();
    this.lib.C_DestroyObject(this.session, handle);
  }

  /** Logs out, closes the session and releases the module (finalised when its last token closes). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.lib.C_CloseSession(this.session);
    } catch {
      /* the module went away */
    }
    releaseModule(this.module);
  }

  #gcm(iv: Buffer, aad: Buffer): pkcs11js.Mechanism {
    return { mechanism: pkcs11js.CKM_AES_GCM, parameter: { type: pkcs11js.CK_PARAMS_AES_GCM, iv, aad, ivBits: 96, tagBits: 128 } as pkcs11js.AesGCM };
  }

  #check(): void {
    if (this.#closed) throw new Error(`the PKCS#11 token ${JSON.stringify(this.label)} is closed`);
  }
}
