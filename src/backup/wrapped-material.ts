/**
 * Every blob a store snapshot holds wrapped by a root key, with the context it was wrapped bound to: what a restore
 * unwraps, before it writes anything, to prove the root key it was given is the one the backup needs. The contexts
 * are those of the code that wraps them (imported, not repeated); a new kind of wrapped data must be listed here.
 *
 * A region: key versions (core/key-material.ts; versions of keys kept in a dedicated keystore, `keystore_id` other
 * than "0", hold no root-wrapped material and are left out), the wrapped settings (root-rotation.ts
 * WRAPPED_SETTINGS, the list a root key rotation re-wraps: `audit_key`, `import_secret`, `transport_key`'s private
 * half), import parameters' wrapping keys (core/key-import.ts) and Custom access points' private keys
 * (core/key-space.ts). IAM: access keys' secrets and the settings `token_signing_key`
 * (iam/iam-service.ts) and `audit_key`.
 */
import { KEY_CONTEXT as AUDIT_KEY_CONTEXT } from '../audit/audit-log.js';
import { wrappingKeyContext } from '../core/key-import.js';
import { wrapContext } from '../core/key-material.js';
import { accessPointKeyContext } from '../core/key-space.js';
import { akContext, TOKEN_KEY_CONTEXT } from '../iam/iam-service.js';
import type { RootKey } from '../keystore/root-key.js';
import { ROOT_KEY_ID_SETTING, WRAPPED_SETTINGS } from '../root-rotation.js';
import { fromCell, type StoreSnapshot } from '../storage/snapshot.js';

/** One wrapped blob: where it is (for messages), the blob and its context. */
export interface WrappedBlob {
  where: string;
  wrapped: Buffer;
  context: Buffer;
}

/** Settings that hold no wrapped material. */
const PLAIN_SETTINGS = new Set([ROOT_KEY_ID_SETTING]);

/** A table's rows as column → value (bytes as Buffers); none when the snapshot has no such table. */
export function rowsOf(snapshot: StoreSnapshot, table: string): Record<string, string | number | null | Buffer>[] {
  const t = snapshot.tables.find((x) => x.name === table);
  if (!t) return [];
  return t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, fromCell(r[i]!)])));
}

const bytes = (v: unknown, where: string): Buffer => {
  if (!Buffer.isBuffer(v)) throw new Error(`${where} is not a byte string`);
  return v;
};

/** The settings of a snapshot by name; names this module does not know are returned apart. */
function settings(snapshot: StoreSnapshot, known: Record<string, (value: Buffer) => WrappedBlob>): { blobs: WrappedBlob[]; unknown: string[] } {
  const blobs: WrappedBlob[] = [];
  const unknown: string[] = [];
  for (const row of rowsOf(snapshot, 'settings')) {
    const name = String(row.name);
    const make = known[name];
    if (make) blobs.push(make(bytes(row.value, `setting ${name}`)));
    else if (!PLAIN_SETTINGS.has(name)) unknown.push(name);
  }
  return { blobs, unknown };
}

/** The wrapped blobs of a region's snapshot, and the settings it does not know (reported, not checked). */
export function regionWrappedBlobs(snapshot: StoreSnapshot): { blobs: WrappedBlob[]; unknownSettings: string[]; keystoreVersions: number } {
  const inKeystore = new Set(rowsOf(snapshot, 'keys').filter((k) => k.keystore_id !== '0' && k.keystore_id !== '' && k.keystore_id !== null).map((k) => String(k.id)));
  const blobs: WrappedBlob[] = [];
  let keystoreVersions = 0;
  for (const v of rowsOf(snapshot, 'key_versions')) {
    const keyId = String(v.key_id);
    const version = Number(v.version);
    if (inKeystore.has(keyId)) {
      keystoreVersions++;
      continue;
    }
    const where = `key ${keyId} version ${version}`;
    blobs.push({ where, wrapped: bytes(v.wrapped, where), context: wrapContext(keyId, version) });
  }
  for (const p of rowsOf(snapshot, 'import_parameters')) {
    const where = `import parameters of key ${String(p.key_id)}`;
    blobs.push({ where, wrapped: bytes(p.wrapping_key, where), context: wrappingKeyContext(String(p.key_id), String(p.token_id)) });
  }
  for (const ap of rowsOf(snapshot, 'access_points')) {
    if (ap.wrapped_private_key === null) continue;
    const where = `the private key of access point ${String(ap.id)}`;
    blobs.push({ where, wrapped: bytes(ap.wrapped_private_key, where), context: accessPointKeyContext(String(ap.id)) });
  }
  const s = settings(snapshot, Object.fromEntries(WRAPPED_SETTINGS.map((w) => [
    w.name, (value: Buffer): WrappedBlob => ({ where: `setting ${w.name}`, wrapped: value.subarray(w.prefixBytes), context: w.context }),
  ])));
  return { blobs: [...blobs, ...s.blobs], unknownSettings: s.unknown, keystoreVersions };
}

/** The wrapped blobs of IAM's snapshot, and the settings it does not know. */
export function iamWrappedBlobs(snapshot: StoreSnapshot): { blobs: WrappedBlob[]; unknownSettings: string[] } {
  const blobs: WrappedBlob[] = rowsOf(snapshot, 'access_keys').map((k) => {
    const where = `access key ${String(k.access_key)}`;
    return { where, wrapped: bytes(k.secret_wrapped, where), context: akContext(String(k.access_key)) };
  });
  const s = settings(snapshot, {
    audit_key: (value) => ({ where: 'setting audit_key', wrapped: value, context: AUDIT_KEY_CONTEXT }),
    token_signing_key: (value) => ({ where: 'setting token_signing_key', wrapped: value, context: TOKEN_KEY_CONTEXT }),
  });
  return { blobs: [...blobs, ...s.blobs], unknownSettings: s.unknown };
}

/** The root key id a snapshot's store recorded (setting `root_key_id`), or null. */
export function recordedRootKeyId(snapshot: StoreSnapshot): string | null {
  const row = rowsOf(snapshot, 'settings').find((r) => r.name === 'root_key_id');
  return row ? bytes(row.value, 'setting root_key_id').toString('utf8') : null;
}

/** Raised when a blob does not unwrap under the root key given. */
export class UnwrapCheckFailed extends Error {
  constructor(
    readonly where: string,
    readonly rootKeyId: string,
  ) {
    super(`${where} does not unwrap under root key ${rootKeyId}`);
    this.name = 'UnwrapCheckFailed';
  }
}

/**
 * Unwraps every blob with `rootKey` (plaintexts are zeroed at once); throws UnwrapCheckFailed at the first that
 * does not unwrap. Returns how many were checked.
 */
export async function checkUnwraps(blobs: readonly WrappedBlob[], rootKey: RootKey): Promise<number> {
  for (const b of blobs) {
    let plain: Buffer;
    try {
      plain = await rootKey.unwrap(b.wrapped, b.context);
    } catch {
      throw new UnwrapCheckFailed(b.where, rootKey.id);
    }
    plain.fill(0);
  }
  return blobs.length;
}
