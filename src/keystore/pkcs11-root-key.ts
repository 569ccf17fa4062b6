/**
 * Root key held in an HSM through PKCS#11: an AES-256 key generated in the token (sensitive, non-extractable, a
 * token object found by its label), so the root key never leaves the HSM. Wrapping is AES-256-GCM run in the token
 * with the context as associated data: 0x02 ‖ iv(12) ‖ ciphertext ‖ tag(16) (0x01 is the key file's format, so a
 * blob names the kind of root that made it).
 *
 * The id is `pkcs11:` and the hex of the key's CKA_ID, 16 random bytes set when the key is generated: another key
 * under the same label (a re-initialised token) has another id, and the region refuses it (region-server.ts).
 */
import { randomBytes } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { AuthenticationFailed } from '../crypto/symmetric.js';
import { Pkcs11Token, type ObjectHandle, type Pkcs11TokenConfig } from './pkcs11.js';
import type { RootKey } from './root-key.js';

const FORMAT = 0x02;

export class Pkcs11RootKey implements RootKey {
  readonly id: string;
  readonly #token: Pkcs11Token;
  readonly #key: ObjectHandle;

  private constructor(token: Pkcs11Token, key: ObjectHandle, id: Buffer) {
    this.#token = token;
    this.#key = key;
    this.id = 'pkcs11:' + id.toString('hex');
  }

  /**
   * Opens the token and finds the key labelled `keyLabel`; generates it when `create` is true and there is none
   * (the launcher does so once, before the processes that share it start). Throws an Error naming the token and
   * label when the key is missing and `create` is false, or when the label names several keys.
   */
  static open(config: Pkcs11TokenConfig & { keyLabel: string; create: boolean }): Pkcs11RootKey {
    const token = Pkcs11Token.open(config);
    try {
      let key = token.findSecretKey(config.keyLabel);
      if (!key) {
        if (!config.create) throw new Error(`no root key labelled ${JSON.stringify(config.keyLabel)} in the PKCS#11 token ${JSON.stringify(config.token)}`);
        key = token.generateAesKey(config.keyLabel, 32, randomBytes(16));
      }
      const [id] = token.lib.C_GetAttributeValue(token.session, key, [{ type: pkcs11js.CKA_ID }]);
      const idBytes = Buffer.isBuffer(id?.value) ? id.value : Buffer.alloc(0);
      if (idBytes.length === 0) throw new Error(`the root key labelled ${JSON.stringify(config.keyLabel)} in the PKCS#11 token ${JSON.stringify(config.token)} has no CKA_ID: give it one (pkcs11-tool --id) or let Strongroom generate the key`);
      return new Pkcs11RootKey(token, key, idBytes);
    } catch (err) {
      token.close();
      throw err;
    }
  }

  async wrap(plaintext: Buffer, context: Buffer): Promise<Buffer> {
    return Buffer.concat([Buffer.from([FORMAT]), this.#token.aesGcmSeal(this.#key, plaintext, context)]);
  }

  async unwrap(wrapped: Buffer, context: Buffer): Promise<Buffer> {
    if (wrapped[0] !== FORMAT) throw new AuthenticationFailed();
    return this.#token.aesGcmOpen(this.#key, wrapped.subarray(1), context);
  }

  async close(): Promise<void> {
    this.#token.close();
  }
}
