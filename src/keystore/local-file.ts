/**
 * Root key held in a local file (the default root of trust): 32 random bytes created at first start with mode
 * 0600. Wrapping is AES-256-GCM with the context as associated data: 0x01 ‖ iv(12) ‖ ciphertext ‖ tag(16).
 */
import { createHash, randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { aes256Gcm, AuthenticationFailed } from '../crypto/symmetric.js';
import type { RootKey } from './root-key.js';

const FORMAT = 0x01;

/**
 * Reads the key file, creating it (mode 0600) when it does not exist. A new key is written to a file of its own and
 * linked into place, so that processes starting together (several nodes of a region) never read a half-written
 * key: the first link wins and every process reads the same 32 bytes. An existing file is only read (it may sit on a
 * read-only volume).
 */
function loadOrCreate(path: string, create: boolean): Buffer {
  if (!existsSync(path)) {
    if (!create) throw new Error(`the root key file ${path} does not exist`);
    createKeyFile(path);
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new Error(`root key file ${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  const key = readFileSync(path);
  if (key.length !== 32) throw new Error(`root key file ${path} must hold exactly 32 bytes`);
  return key;
}

function createKeyFile(path: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    // The link must survive a power loss before anything is wrapped by the key: sync the directory too.
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

export class LocalFileRootKey implements RootKey {
  readonly id: string;
  #key: Buffer;

  /** Reads the key file at `path`; creates it when it does not exist, unless `create` is false (then throws). */
  constructor(path: string, create = true) {
    this.#key = loadOrCreate(path, create);
    this.id = 'file:' + createHash('sha256').update('strongroom root key id').update(this.#key).digest('hex').slice(0, 16);
  }

  #closed = false;

  async wrap(plaintext: Buffer, context: Buffer): Promise<Buffer> {
    return Buffer.concat([Buffer.from([FORMAT]), aes256Gcm.seal(this.#open(), plaintext, context)]);
  }

  async unwrap(wrapped: Buffer, context: Buffer): Promise<Buffer> {
    if (wrapped[0] !== FORMAT) throw new AuthenticationFailed();
    return aes256Gcm.open(this.#open(), wrapped.subarray(1), context);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#key.fill(0);
  }

  #open(): Buffer {
    if (this.#closed) throw new Error('the root key is closed');
    return this.#key;
  }
}
