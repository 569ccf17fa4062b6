/**
 * The HSM clusters of dedicated keystores over PKCS#11 (core/hsm.ts's HsmClusters): each registered cluster is one
 * token (deployment.json `hsm_clusters`, `strongroom hsm register`), opened on first use with its PIN read from a
 * file or an environment variable. A key's objects are found by label (then remembered by handle); key pairs are
 * made on a libuv thread (pkcs11.ts). AES-256-GCM, RSA (PKCS#1 v1.5 and PSS) and ECDSA run in the token; a RAW
 * message is hashed here first (a digest needs no secret), and ECDSA's r ‖ s comes back DER-encoded as Strongroom's
 * own signatures are (crypto/ec.ts).
 */
import { createHash } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../crypto/algorithms.js';
import { HsmKeyMissing, HsmUnavailable, type HsmCluster, type HsmClusters, type HsmKeyPairSpec } from '../core/hsm.js';
import { LruMap } from '../lru-map.js';
import { checkHsmClusterConfig, type HsmClusterConfig } from './hsm-cluster-config.js';
import { EC_CURVE_OIDS, Pkcs11Token, pkcs11ErrorName, readPin, type ObjectHandle } from './pkcs11.js';

export type { HsmClusterConfig } from './hsm-cluster-config.js';

/** Opens the token once and closes it: what `strongroom hsm register` checks. Throws naming what failed. */
export function probeHsmCluster(c: HsmClusterConfig): void {
  Pkcs11Token.open({ module: c.module, token: c.token, pin: readPin(c) }).close();
}

const DIGEST_INFO: Readonly<Record<string, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};
const PSS_HASH: Readonly<Record<string, [number, number]>> = {
  sha256: [pkcs11js.CKM_SHA256, pkcs11js.CKG_MGF1_SHA256],
  sha384: [pkcs11js.CKM_SHA384, pkcs11js.CKG_MGF1_SHA384],
  sha512: [pkcs11js.CKM_SHA512, pkcs11js.CKG_MGF1_SHA512],
};
const PAIRS: Readonly<Record<HsmKeyPairSpec, { kind: 'RSA'; bits: number } | { kind: 'EC'; curveOid: Buffer }>> = {
  RSA_2048: { kind: 'RSA', bits: 2048 },
  RSA_3072: { kind: 'RSA', bits: 3072 },
  RSA_4096: { kind: 'RSA', bits: 4096 },
  EC_P256: { kind: 'EC', curveOid: EC_CURVE_OIDS['P-256'] },
  EC_P384: { kind: 'EC', curveOid: EC_CURVE_OIDS['P-384'] },
};

/** DER INTEGER of an unsigned big-endian value. */
function derInteger(value: Buffer): Buffer {
  let v = value;
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02]), derLength(v.length), v]);
}
function derLength(n: number): Buffer {
  return n < 0x80 ? Buffer.from([n]) : Buffer.from([0x81, n]);
}
/** ECDSA's r ‖ s (PKCS#11) as the DER SEQUENCE of two INTEGERs (X9.62). */
export function ecdsaRawToDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const body = Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** Codes meaning the token or its session is gone: the token is reopened on the next call. */
const LOST = new Set(['CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED', 'CKR_DEVICE_REMOVED', 'CKR_DEVICE_ERROR', 'CKR_TOKEN_NOT_PRESENT', 'CKR_USER_NOT_LOGGED_IN', 'CKR_CRYPTOKI_NOT_INITIALIZED']);

class Pkcs11Cluster implements HsmCluster {
  #token: Pkcs11Token | null = null;
  /** label → handle of the key that operations use (secret key, or private half). */
  readonly #handles = new LruMap<string, ObjectHandle>(10_000);

  constructor(
    readonly id: string,
    private readonly config: HsmClusterConfig,
  ) {}

  async generateSymmetric(label: string): Promise<void> {
    this.#run((t) => t.generateAesKey(label, 32));
  }

  async generateKeyPair(label: string, spec: HsmKeyPairSpec): Promise<Buffer> {
    const token = this.#open();
    let pair: { publicKey: ObjectHandle; privateKey: ObjectHandle };
    try {
      pair = await token.generateKeyPair(label, Buffer.from(label, 'utf8'), PAIRS[spec]);
    } catch (err) {
      throw this.#failure(err);
    }
    return this.#run((t) => t.publicKeySpki(pair.publicKey));
  }

  seal(label: string, plaintext: Buffer, aad: Buffer): Buffer {
    return this.#withKey(label, 'secret', (t, key) => t.aesGcmSeal(key, plaintext, aad));
  }

  open(label: string, sealed: Buffer, aad: Buffer): Buffer {
    return this.#withKey(label, 'secret', (t, key) => t.aesGcmOpen(key, sealed, aad));
  }

  sign(label: string, algorithm: SigningAlgorithm, message: Buffer, type: 'RAW' | 'DIGEST'): Buffer {
    const entry = SIGNING_ALGORITHMS[algorithm];
    if (entry.family !== 'RSA' && entry.family !== 'EC') throw new TypeError(`${algorithm} is not made by HSM clusters`);
    const digest = type === 'DIGEST' ? message : createHash(entry.digest).update(message).digest();
    return this.#withKey(label, 'private', (t, key) => {
      if (entry.family === 'EC') return ecdsaRawToDer(t.sign(key, { mechanism: pkcs11js.CKM_ECDSA }, digest));
      if (algorithm.startsWith('RSASSA_PSS')) {
        const [hashAlg, mgf] = PSS_HASH[entry.digest]!;
        const parameter: pkcs11js.RsaPSS = { type: pkcs11js.CK_PARAMS_RSA_PSS, hashAlg, mgf, saltLen: digest.length };
        return t.sign(key, { mechanism: pkcs11js.CKM_RSA_PKCS_PSS, parameter }, digest);
      }
      return t.sign(key, { mechanism: pkcs11js.CKM_RSA_PKCS }, Buffer.concat([DIGEST_INFO[entry.digest]!, digest]));
    });
  }

  destroy(label: string): void {
    this.#handles.delete(label);
    this.#run((t) => {
      for (const h of t.findByLabel(label)) t.destroyObject(h);
    });
  }

  close(): void {
    this.#token?.close();
    this.#token = null;
    this.#handles.clear();
  }

  #open(): Pkcs11Token {
    if (this.#token) return this.#token;
    try {
      this.#token = Pkcs11Token.open({ module: this.config.module, token: this.config.token, pin: readPin(this.config) });
    } catch (err) {
      throw new HsmUnavailable(`HSM cluster ${this.id}: ${(err as Error).message}`);
    }
    return this.#token;
  }

  /** Runs a token call; a lost token or session becomes HsmUnavailable (and the token is reopened next time). */
  #run<T>(fn: (token: Pkcs11Token) => T): T {
    const token = this.#open();
    try {
      return fn(token);
    } catch (err) {
      throw this.#failure(err);
    }
  }

  #failure(err: unknown): Error {
    if (typeof (err as { code?: unknown }).code === 'number' && LOST.has(pkcs11ErrorName(err))) {
      this.close();
      return new HsmUnavailable(`HSM cluster ${this.id}: ${pkcs11ErrorName(err)}`);
    }
    return err as Error;
  }

  /** Runs an operation with a key found by label; a stale remembered handle (another node destroyed it) is looked up again once. */
  #withKey<T>(label: string, kind: 'secret' | 'private', fn: (token: Pkcs11Token, key: ObjectHandle) => T): T {
    return this.#run((t) => {
      const cached = this.#handles.get(label);
      if (cached) {
        try {
          return fn(t, cached);
        } catch (err) {
          const name = typeof (err as { code?: unknown }).code === 'number' ? pkcs11ErrorName(err) : '';
          if (name !== 'CKR_OBJECT_HANDLE_INVALID' && name !== 'CKR_KEY_HANDLE_INVALID') throw err;
          this.#handles.delete(label);
        }
      }
      const key = kind === 'secret' ? t.findSecretKey(label) : t.findPrivateKey(label);
      if (!key) throw new HsmKeyMissing(label, this.id);
      this.#handles.set(label, key);
      return fn(t, key);
    });
  }
}

/** The registered clusters of a deployment, each opened on first use. */
export class Pkcs11Clusters implements HsmClusters {
  readonly #clusters = new Map<string, Pkcs11Cluster>();

  constructor(configs: Readonly<Record<string, HsmClusterConfig>>) {
    for (const [id, config] of Object.entries(configs)) {
      checkHsmClusterConfig(id, config);
      this.#clusters.set(id, new Pkcs11Cluster(id, config));
    }
  }

  ids(): string[] {
    return [...this.#clusters.keys()].sort();
  }

  get(id: string): HsmCluster | null {
    return this.#clusters.get(id) ?? null;
  }

  async close(): Promise<void> {
    for (const c of this.#clusters.values()) c.close();
  }
}
