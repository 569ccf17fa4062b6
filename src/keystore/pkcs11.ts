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
import { createPublicKey, randomBytes } from 'node:crypto';
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

/** The return values with which modules report a GCM tag (or length) that does not check out. */
const TAG_FAILURES = new Set([pkcs11js.CKR_ENCRYPTED_DATA_INVALID, pkcs11js.CKR_ENCRYPTED_DATA_LEN_RANGE]);
/** SoftHSM2 reports a wrong tag as CKR_GENERAL_ERROR, which on other modules is a failure of the HSM itself. */
const SOFTHSM_TAG_FAILURES = new Set([...TAG_FAILURES, pkcs11js.CKR_GENERAL_ERROR]);

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
      // CKF_OS_LOCKING_OK: key pairs are generated on a libuv thread (generateKeyPair) while the event loop keeps
      // using the token's main session, so the module must lock for itself.
      lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
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

/** DER OIDs of the named curves (CKA_EC_PARAMS), by JWK curve name. */
export const EC_CURVE_OIDS: Readonly<Record<'P-256' | 'P-384', Buffer>> = {
  'P-256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'P-384': Buffer.from('06052b81040022', 'hex'),
};

/** The content of a DER OCTET STRING (CKA_EC_POINT is one); a value that is not one is returned as it is. */
function derOctetString(der: Buffer): Buffer {
  if (der[0] !== 0x04 || der.length < 2) return der;
  const first = der[1]!;
  if (first < 0x80) return der.length === 2 + first ? der.subarray(2) : der;
  const lengthBytes = first & 0x7f;
  const length = der.readUIntBE(2, lengthBytes);
  return der.length === 2 + lengthBytes + length ? der.subarray(2 + lengthBytes) : der;
}

/** One token, logged in as its user, with one session. */
export class Pkcs11Token {
  readonly label: string;
  readonly module: string;
  readonly lib: pkcs11js.PKCS11;
  readonly session: Buffer;
  readonly #slot: Buffer;
  #closed = false;

  readonly #tagFailures: Set<number>;

  private constructor(module: string, label: string, lib: pkcs11js.PKCS11, session: Buffer, slot: Buffer) {
    this.#tagFailures = lib.C_GetInfo().manufacturerID.includes('SoftHSM') ? SOFTHSM_TAG_FAILURES : TAG_FAILURES;
    this.module = module;
    this.label = label;
    this.lib = lib;
    this.session = session;
    this.#slot = slot;
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
      return new Pkcs11Token(config.module, config.token, lib, session, slot);
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
      // Anything else (a lost session, a removed token) is the HSM's failure, not the blob's: it is thrown as it is.
      if (this.#tagFailures.has((err as { code?: number }).code ?? -1)) throw new AuthenticationFailed();
      throw err;
    }
  }

  /** Every token object with this label, whatever its class (a key pair's two halves, a secret key). */
  findByLabel(label: string): ObjectHandle[] {
    return this.findObjects([{ type: CKA_LABEL, value: label }, { type: CKA_TOKEN, value: true }]);
  }

  /** The private key with this label, or null; throws when several have it. */
  findPrivateKey(label: string): ObjectHandle | null {
    const found = this.findObjects([{ type: CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: CKA_LABEL, value: label }, { type: CKA_TOKEN, value: true }]);
    if (found.length > 1) throw new Error(`${found.length} private keys labelled ${JSON.stringify(label)} in token ${JSON.stringify(this.label)}: a label must name one key`);
    return found[0] ?? null;
  }

  /** The public key with this label, or null. */
  findPublicKey(label: string): ObjectHandle | null {
    return this.findObjects([{ type: CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }, { type: CKA_LABEL, value: label }, { type: CKA_TOKEN, value: true }])[0] ?? null;
  }

  /**
   * Generates a key pair as token objects labelled `label` (CKA_ID `id`): the private half sensitive,
   * non-extractable, signing only; the public half verifying. RSA with `bits` (public exponent 65537), or EC on the
   * curve whose DER OID is `curveOid` (CKA_EC_PARAMS). Runs on a libuv thread with a session of its own (RSA-4096
   * takes seconds on SoftHSM2), so the event loop and the main session are not held meanwhile.
   */
  async generateKeyPair(label: string, id: Buffer, params: { kind: 'RSA'; bits: number } | { kind: 'EC'; curveOid: Buffer }): Promise<{ publicKey: ObjectHandle; privateKey: ObjectHandle }> {
    this.#check();
    const common = [{ type: CKA_LABEL, value: label }, { type: pkcs11js.CKA_ID, value: id }, { type: CKA_TOKEN, value: true }];
    const publicTemplate: pkcs11js.Template = [...common, { type: CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }, { type: pkcs11js.CKA_VERIFY, value: true }, { type: CKA_PRIVATE, value: false }];
    const privateTemplate: pkcs11js.Template = [
      ...common, { type: CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: CKA_PRIVATE, value: true }, { type: CKA_SENSITIVE, value: true },
      { type: CKA_EXTRACTABLE, value: false }, { type: pkcs11js.CKA_SIGN, value: true },
    ];
    let mechanism: number;
    if (params.kind === 'RSA') {
      mechanism = pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN;
      publicTemplate.push({ type: CKA_KEY_TYPE, value: pkcs11js.CKK_RSA }, { type: pkcs11js.CKA_MODULUS_BITS, value: params.bits }, { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) });
      privateTemplate.push({ type: CKA_KEY_TYPE, value: pkcs11js.CKK_RSA });
    } else {
      mechanism = pkcs11js.CKM_EC_KEY_PAIR_GEN;
      publicTemplate.push({ type: CKA_KEY_TYPE, value: pkcs11js.CKK_EC }, { type: pkcs11js.CKA_EC_PARAMS, value: params.curveOid });
      privateTemplate.push({ type: CKA_KEY_TYPE, value: pkcs11js.CKK_EC });
    }
    const session = this.lib.C_OpenSession(this.#slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
    try {
      return await this.lib.C_GenerateKeyPairAsync(session, { mechanism }, publicTemplate, privateTemplate);
    } finally {
      try {
        this.lib.C_CloseSession(session);
      } catch {
        /* the module went away */
      }
    }
  }

  /** Signs `data` with a private key in the token under `mechanism` (for example CKM_ECDSA over a digest). */
  sign(key: ObjectHandle, mechanism: pkcs11js.Mechanism, data: Buffer): Buffer {
    this.#check();
    this.lib.C_SignInit(this.session, mechanism, key);
    return Buffer.from(this.lib.C_Sign(this.session, data, Buffer.alloc(1024)));
  }

  /**
   * The SubjectPublicKeyInfo (DER) of an RSA or EC public key object, from its CKA_MODULUS and CKA_PUBLIC_EXPONENT,
   * or CKA_EC_PARAMS and CKA_EC_POINT (P-256 and P-384).
   */
  publicKeySpki(handle: ObjectHandle): Buffer {
    this.#check();
    const [type] = this.lib.C_GetAttributeValue(this.session, handle, [{ type: CKA_KEY_TYPE }]);
    const raw = type!.value as Buffer; // a CK_ULONG in the platform's byte order (little-endian here)
    const keyType = raw.length === 8 ? Number(raw.readBigUInt64LE()) : raw.readUInt32LE();
    const b64url = (b: Buffer) => b.toString('base64url');
    if (keyType === pkcs11js.CKK_RSA) {
      const [n, e] = this.lib.C_GetAttributeValue(this.session, handle, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
      return createPublicKey({ key: { kty: 'RSA', n: b64url(n!.value as Buffer), e: b64url(e!.value as Buffer) }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    }
    if (keyType === pkcs11js.CKK_EC) {
      const [params, point] = this.lib.C_GetAttributeValue(this.session, handle, [{ type: pkcs11js.CKA_EC_PARAMS }, { type: pkcs11js.CKA_EC_POINT }]);
      const curve = Object.entries(EC_CURVE_OIDS).find(([, oid]) => oid.equals(params!.value as Buffer))?.[0];
      if (!curve) throw new Error('unsupported EC curve in the token');
      const raw = derOctetString(point!.value as Buffer);
      const size = (raw.length - 1) / 2;
      if (raw[0] !== 0x04 || !Number.isInteger(size)) throw new Error('the token answered an EC point that is not uncompressed');
      return createPublicKey({ key: { kty: 'EC', crv: curve, x: b64url(raw.subarray(1, 1 + size)), y: b64url(raw.subarray(1 + size)) }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    }
    throw new Error(`unsupported key type 0x${keyType.toString(16)} in the token`);
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
