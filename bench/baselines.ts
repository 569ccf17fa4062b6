/**
 * What the API is compared with, measured in the same run:
 * - the bare HTTP servers of bench/bare-server.ts (bare AES-256-GCM encrypt, JSON hello world) in a child process;
 * - the cryptographic primitives behind the CPU-bound operations, called directly on the bench process's thread
 *   (one core) through the same engines the KMS uses (src/crypto/algorithms.ts), DER keys in as the KMS holds them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KEY_PAIR_SPECS, MAC_ALGORITHMS, SIGNING_ALGORITHMS, type KeyPairSpec, type SigningAlgorithm } from '../src/crypto/algorithms.js';
import { aes256Gcm } from '../src/crypto/symmetric.js';
import { onCleanUp } from './cleanup.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BARE_SERVER = fileURLToPath(new URL('./bare-server.ts', import.meta.url));

export interface BareServers {
  /** `http://127.0.0.1:<port>` of the bare encrypt server. */
  encrypt: string;
  /** `http://127.0.0.1:<port>` of the hello-world server. */
  hello: string;
  pid: number;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
}

/** Starts bench/bare-server.ts in a child process and waits for its ports (at most 30 s). */
export async function startBareServers(): Promise<BareServers> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', BARE_SERVER], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = async () => {
    forget();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const forget = onCleanUp(stop);
  const ports = await new Promise<{ encrypt: number; hello: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bare servers did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the bare servers exited with code ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as { encrypt: number; hello: number });
    });
  });
  return {
    encrypt: `http://127.0.0.1:${ports.encrypt}`,
    hello: `http://127.0.0.1:${ports.hello}`,
    pid: child.pid!,
    stop,
  };
}

/** A primitive to call directly: its name in the report and a call bound to its inputs. */
export interface DirectPrimitive {
  name: string;
  op: () => unknown;
}

/** 32 bytes standing for a digest (SHA-256 for RSA and ECDSA, SM3 for SM2), as the API's DIGEST messages. */
export function digestFor(algorithm: SigningAlgorithm): Buffer {
  return createHash(SIGNING_ALGORITHMS[algorithm].digest).update('strongroom bench message').digest();
}

/** sign (or verify) of a digest with a fresh key pair of `spec` under `algorithm`. */
export function signPrimitive(name: string, spec: KeyPairSpec, algorithm: SigningAlgorithm, verify: boolean): DirectPrimitive {
  const pair = KEY_PAIR_SPECS[spec].generate();
  const entry = SIGNING_ALGORITHMS[algorithm];
  const digest = digestFor(algorithm);
  if (!verify) return { name, op: () => entry.sign(pair.privateKey, digest, 'DIGEST') };
  const signature = entry.sign(pair.privateKey, digest, 'DIGEST');
  return {
    name,
    op: () => {
      if (!entry.verify(pair.publicKey, digest, 'DIGEST', signature)) throw new Error(`${name}: the signature did not verify`);
    },
  };
}

/** HMAC-SHA-256 of a `messageBytes`-byte message under a 32-byte key. */
export function macPrimitive(name: string, messageBytes: number): DirectPrimitive {
  const key = randomBytes(32);
  const message = randomBytes(messageBytes);
  const engine = MAC_ALGORITHMS.HMAC_SHA_256.engine;
  return { name, op: () => engine.mac(key, message) };
}

/**
 * What create-key AES_256 does besides storage: a key id, 32 random bytes of material and their AES-256-GCM wrap
 * under a root key bound to the key id and version (as keystore/local-file.ts wraps).
 */
export function createKeyPrimitive(name: string): DirectPrimitive {
  const root = randomBytes(32);
  return {
    name,
    op: () => {
      const id = randomUUID();
      const material = randomBytes(32);
      aes256Gcm.seal(root, material, Buffer.from(`strongroom key version\0${id}\x001`));
      material.fill(0);
    },
  };
}

/** One RSA-4096 key pair generation (what create-key RSA_4096 computes). */
export function rsa4096Primitive(name: string): DirectPrimitive {
  return { name, op: () => KEY_PAIR_SPECS.RSA_4096.generate() };
}
