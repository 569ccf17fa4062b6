/**
 * The root of trust of a region: it wraps and unwraps key material and does nothing else. The default is a
 * local key file (local-file.ts); an HSM through PKCS#11 implements the same contract. Every implementation
 * passes test/root-key-contract.test.ts.
 */
export interface RootKey {
  /** Identifies the root key, so wrapped blobs can name what wrapped them. */
  readonly id: string;
  /** Wraps key material, bound to `context` (for example key id and version): unwrapping needs the same context. */
  wrap(plaintext: Buffer, context: Buffer): Promise<Buffer>;
  /** Unwraps; throws when the blob was altered, wrapped by another root key or bound to another context. */
  unwrap(wrapped: Buffer, context: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}
