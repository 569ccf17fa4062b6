/**
 * The root keys a region holds while its keys move from one root key to another (root-rotation.ts): new material
 * is wrapped by one of them (the newest the region knows of), and a blob is unwrapped by whichever opens it. Outside
 * a rotation the ring holds one key and costs nothing more than it.
 *
 * A blob another process has just re-wrapped under a root key this one does not know yet fails every member: the
 * ring then asks `refresh` (at most every 250 ms), which looks for a rotation in the store and adds its new key,
 * and tries once more.
 */
import type { RootKey } from './root-key.js';

const REFRESH_EVERY_MS = 250;

export class RootKeyRing implements RootKey {
  #members: RootKey[];
  #wrapping: RootKey;
  #lastRefresh = 0;
  #refreshing: Promise<void> | null = null;
  /** Called when no member opens a blob: adds the root key a rotation in progress moves to, if any. */
  refresh: (() => Promise<void>) | null = null;

  constructor(first: RootKey) {
    this.#members = [first];
    this.#wrapping = first;
  }

  /** The id of the root key new material is wrapped with. */
  get id(): string {
    return this.#wrapping.id;
  }

  /** Ids of every root key held (the wrapping one first). */
  get ids(): string[] {
    return [this.#wrapping.id, ...this.#members.filter((m) => m !== this.#wrapping).map((m) => m.id)];
  }

  has(id: string): boolean {
    return this.#members.some((m) => m.id === id);
  }

  /** Adds a root key (ignored when one with its id is held: the given instance is then closed). */
  async add(key: RootKey, options: { wrapWith: boolean }): Promise<void> {
    const held = this.#members.find((m) => m.id === key.id);
    if (held) {
      if (held !== key) await key.close();
      if (options.wrapWith) this.#wrapping = held;
      return;
    }
    this.#members.push(key);
    if (options.wrapWith) this.#wrapping = key;
  }

  /** Wraps new material with the held key of this id from now on. */
  wrapWith(id: string): void {
    const held = this.#members.find((m) => m.id === id);
    if (!held) throw new Error(`no root key ${id} in the ring`);
    this.#wrapping = held;
  }

  #refusal: string | null = null;

  /** Refuses to wrap (a rotation this node cannot follow: wrapping under the old key would strand the material). */
  refuseWrapping(why: string): void {
    this.#refusal = why;
  }

  allowWrapping(): void {
    this.#refusal = null;
  }

  async wrap(plaintext: Buffer, context: Buffer): Promise<Buffer> {
    if (this.#refusal !== null) throw new Error(this.#refusal);
    return this.#wrapping.wrap(plaintext, context);
  }

  async unwrap(wrapped: Buffer, context: Buffer): Promise<Buffer> {
    try {
      return await this.#tryAll(wrapped, context);
    } catch (err) {
      if (!this.refresh || Date.now() - this.#lastRefresh < REFRESH_EVERY_MS) throw err;
      const known = this.#members.length;
      await this.#refreshOnce();
      if (this.#members.length === known) throw err;
      return this.#tryAll(wrapped, context);
    }
  }

  async #tryAll(wrapped: Buffer, context: Buffer): Promise<Buffer> {
    const order = [this.#wrapping, ...this.#members.filter((m) => m !== this.#wrapping)];
    let failure: unknown;
    for (const member of order) {
      try {
        return await member.unwrap(wrapped, context);
      } catch (err) {
        failure ??= err;
      }
    }
    throw failure;
  }

  #refreshOnce(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        await this.refresh!();
      } finally {
        this.#lastRefresh = Date.now();
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  async close(): Promise<void> {
    for (const m of this.#members) await m.close();
  }
}
