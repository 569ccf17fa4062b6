/**
 * Moving a region's keys to another root key while the region serves: from its key file to an HSM, or to a fresh
 * key of the same kind. Every blob the region's store keeps wrapped by the root key (key versions, import wrapping
 * keys, Custom access points' private keys, and the wrapped settings below) is unwrapped by the old root key and wrapped again by the new one, each in
 * its own compare-and-set write, so a blob is never lost and a crash leaves each one under one root key or the other.
 *
 * The new key is first named in deployment.json (the region's `root_key_next`), then the rotation is announced in
 * the store (setting `root_key_migration`, JSON: the two keys' ids, the state, the start time: ids only, so that whoever
 * can write the store cannot make a node load a module or a file of its choosing). Every node of the region adopts it
 * within a second (`attachRootKeyRotation`: it polls, and looks again at once when no root key it holds opens a
 * blob): it opens the key its own deployment.json names as `root_key_next` (or `root_key`) whose id is the announced
 * one, and from then on unwraps with either key and wraps new material with the new one. A node that cannot open the
 * announced key refuses to wrap anything (its writes fail loudly) rather than wrap under the old key. The command
 * re-wraps in passes until a pass that starts after the nodes have had `SETTLE_MS` to adopt finds nothing under the
 * old key and loses no compare-and-set write, then records the new key's id as the store's `root_key_id`. Run again
 * after a crash, it finds the announcement and resumes: blobs already under the new key are counted and left alone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KEY_CONTEXT as AUDIT_KEY_CONTEXT } from './audit/audit-log.js';
import { SECRET_CONTEXT as IMPORT_SECRET_CONTEXT, SECRET_SETTING as IMPORT_SECRET_SETTING, wrappingKeyContext } from './core/key-import.js';
import { wrapContext } from './core/key-material.js';
import { accessPointKeyContext } from './core/key-space.js';
import { TRANSPORT_CONTEXT, TRANSPORT_SETTING } from './core/replication.js';
import { AuthenticationFailed } from './crypto/symmetric.js';
import { openRootKeyFrom, type RootKeyConfig } from './keystore/root-key-config.js';
import type { RootKey } from './keystore/root-key.js';
import { RootKeyRing } from './keystore/root-key-ring.js';
import type { KmsStore } from './storage/kms-store.js';

export const MIGRATION_SETTING = 'root_key_migration';
export const ROOT_KEY_ID_SETTING = 'root_key_id';

/** How long nodes are given to adopt a rotation before the pass that must find nothing left (milliseconds). */
export const SETTLE_MS = 3_000;
/** How often a node looks for a rotation in the store (milliseconds). */
const WATCH_MS = 1_000;
const PAGE = 200;

/** Settings whose value is (a prefix and) a blob wrapped by the root key: THE list a rotation re-wraps. */
export const WRAPPED_SETTINGS: { name: string; context: Buffer; prefixBytes: number }[] = [
  { name: 'audit_key', context: AUDIT_KEY_CONTEXT, prefixBytes: 0 },
  { name: IMPORT_SECRET_SETTING, context: IMPORT_SECRET_CONTEXT, prefixBytes: 0 },
  { name: TRANSPORT_SETTING, context: TRANSPORT_CONTEXT, prefixBytes: 32 },
];

/** A rotation as announced in the store: the keys' ids only (their configurations are in deployment.json). */
export interface RootKeyMigration {
  from: { id: string };
  to: { id: string };
  /** `rewrapping` until every blob is under `to`; `done` once `root_key_id` names `to`. */
  state: 'rewrapping' | 'done';
  /** Epoch milliseconds. */
  started_at: number;
}

/** The rotation announced in a region's store, with its stored bytes (for compare and set), or null. */
export async function readMigration(store: KmsStore): Promise<{ migration: RootKeyMigration; raw: Buffer } | null> {
  const raw = await store.getSetting(MIGRATION_SETTING);
  if (!raw) return null;
  const parsed = JSON.parse(raw.toString('utf8')) as RootKeyMigration;
  if (typeof parsed.from?.id !== 'string' || typeof parsed.to?.id !== 'string') throw new Error('the root key rotation announced in the store is malformed');
  return { migration: parsed, raw };
}

/** The root keys a node's deployment.json names for its region: `root_key` and, during a rotation, `root_key_next`. */
export type LocalRootKeys = () => RootKeyConfig[];

/**
 * Adds an announced rotation's keys to a ring, opened from the node's own configuration and checked by id: both
 * unwrap; the new one wraps from now on. When the new key cannot be opened, the ring refuses to wrap until it can.
 */
async function adopt(store: KmsStore, ring: RootKeyRing, dataDir: string, region: string, local: LocalRootKeys): Promise<void> {
  const found = await readMigration(store);
  // Without a rotation under way, the node wraps with the key the store records (a rotation may have finished while
  // this node could not follow it: it must not go back to the old key).
  const recorded = found ? undefined : (await store.getSetting(ROOT_KEY_ID_SETTING))?.toString();
  const { from, to } = found ? found.migration : { from: { id: recorded ?? ring.id }, to: { id: recorded ?? ring.id } };
  if (ring.has(to.id) && (ring.has(from.id) || !found || found.migration.state === 'done')) {
    ring.wrapWith(to.id);
    return ring.allowWrapping();
  }
  const problems: string[] = [];
  for (const config of local()) {
    let key: RootKey;
    try {
      key = openRootKeyFrom(config, dataDir, region, { create: false });
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    if (key.id === to.id || key.id === from.id) await ring.add(key, { wrapWith: key.id === to.id });
    else await key.close();
  }
  if (!ring.has(to.id)) {
    const why = `region ${region}'s keys are ${found ? 'being moved' : 'wrapped'} by root key ${to.id}, but this node cannot open that key (${problems.join('; ') || 'deployment.json names no such key'}): it wraps nothing until it can`;
    ring.refuseWrapping(why);
    throw new Error(why);
  }
  ring.wrapWith(to.id);
  ring.allowWrapping();
}

/**
 * Makes a region node follow rotations of its store's root key: adopts one in progress now, then looks every second
 * and whenever no key it holds opens a blob. `local` reads the keys the node's deployment.json names (read again each
 * time: the rotate command writes the new key there before announcing it). A failure to adopt is reported to
 * `onError` (and the node refuses to wrap); it does not stop the node from serving what it can open. Returns a
 * function that stops the watch.
 */
export async function attachRootKeyRotation(store: KmsStore, ring: RootKeyRing, dataDir: string, region: string, local: LocalRootKeys, onError: (err: unknown) => void): Promise<() => void> {
  await adopt(store, ring, dataDir, region, local).catch(onError);
  ring.refresh = () => adopt(store, ring, dataDir, region, local).catch(onError);
  const timer = setInterval(() => void adopt(store, ring, dataDir, region, local).catch(onError), WATCH_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Progress of a rotation, reported after every page and at the end of each pass. */
export interface RotationProgress {
  pass: number;
  /** Key versions in the store at the start of the pass. */
  total: number;
  /** Key versions seen in this pass so far. */
  seen: number;
  /** Blobs moved to the new root key in this pass (versions, import keys, settings). */
  rewrapped: number;
  /** Blobs found already under the new root key in this pass. */
  already: number;
  /** Re-wraps whose compare-and-set write lost to another writer in this pass (looked at again in the next). */
  conflicts: number;
}

export interface RotationResult {
  from: string;
  to: string;
  passes: number;
  /** Blobs moved in all passes of this run. */
  rewrapped: number;
  /** Key versions under the new root key at the end. */
  versions: number;
  resumed: boolean;
}

/** A blob neither root key opens: the rotation stops without finishing, naming it. */
export class UnreadableBlob extends Error {}

/**
 * Announces (or resumes) the rotation of a region's store from `from` to `to` and re-wraps every blob, reporting
 * progress; resolves once `root_key_id` names `to` (state `done`). `finishRotation` then removes the announcement,
 * after the caller has recorded the new key in the deployment's configuration. Throws UnreadableBlob when a blob
 * opens under neither key, and an Error when the store's keys are under a third key or another rotation is under way.
 */
export async function rotateRootKey(store: KmsStore, from: { key: RootKey; config: RootKeyConfig }, to: { key: RootKey; config: RootKeyConfig }, options: { onProgress?: (p: RotationProgress) => void; settleMs?: number } = {}): Promise<RotationResult> {
  const settleMs = options.settleMs ?? SETTLE_MS;
  let found = await readMigration(store);
  let resumed = false;
  let announcedAt = Date.now();
  if (found) {
    if (found.migration.to.id !== to.key.id || found.migration.from.id !== from.key.id) {
      throw new Error(`another rotation is under way, from ${found.migration.from.id} to ${found.migration.to.id}: finish it first (run the command again without --to)`);
    }
    resumed = true;
  } else {
    const recorded = (await store.getSetting(ROOT_KEY_ID_SETTING))?.toString();
    if (recorded !== undefined && recorded !== from.key.id) throw new Error(`the region's keys are wrapped by root key ${recorded}, not by ${from.key.id}`);
    const migration: RootKeyMigration = { from: { id: from.key.id }, to: { id: to.key.id }, state: 'rewrapping', started_at: announcedAt };
    if (!(await store.replaceSetting(MIGRATION_SETTING, null, Buffer.from(JSON.stringify(migration))))) throw new Error('another rotation was announced at the same moment; run the command again');
    found = await readMigration(store);
  }
  if (resumed) announcedAt = Date.now(); // nodes that restarted meanwhile adopt it again: give them the same time
  const ring = { from: from.key, to: to.key };
  let pass = 0;
  let rewrappedTotal = 0;
  for (;;) {
    pass++;
    const passStartedAt = Date.now();
    const progress = await rewrapAll(store, ring, pass, options.onProgress);
    rewrappedTotal += progress.rewrapped;
    const quiet = progress.rewrapped === 0 && progress.conflicts === 0;
    if (quiet && passStartedAt - announcedAt >= settleMs) break;
    const wait = announcedAt + settleMs - Date.now();
    if (quiet && wait > 0) await sleep(wait);
  }
  if (found!.migration.state !== 'done') {
    const recorded = (await store.getSetting(ROOT_KEY_ID_SETTING))?.toString();
    if (recorded !== to.key.id) await store.replaceSetting(ROOT_KEY_ID_SETTING, recorded === undefined ? null : Buffer.from(recorded), Buffer.from(to.key.id));
    const done: RootKeyMigration = { ...found!.migration, state: 'done' };
    await store.replaceSetting(MIGRATION_SETTING, found!.raw, Buffer.from(JSON.stringify(done)));
  }
  return { from: from.key.id, to: to.key.id, passes: pass, rewrapped: rewrappedTotal, versions: await store.countVersions(), resumed };
}

/** Removes a finished rotation's announcement (nodes started from now on need only the new key). */
export async function finishRotation(store: KmsStore): Promise<void> {
  const found = await readMigration(store);
  if (found && found.migration.state === 'done') await store.replaceSetting(MIGRATION_SETTING, found.raw, null);
}

async function rewrapAll(store: KmsStore, keys: { from: RootKey; to: RootKey }, pass: number, report?: (p: RotationProgress) => void): Promise<RotationProgress> {
  const progress: RotationProgress = { pass, total: await store.countVersions(), seen: 0, rewrapped: 0, already: 0, conflicts: 0 };
  const move = async (blob: Buffer, context: Buffer, write: (replacement: Buffer) => Promise<boolean>, what: string): Promise<void> => {
    try {
      (await keys.to.unwrap(blob, context)).fill(0);
      progress.already++;
      return;
    } catch (err) {
      if (!(err instanceof AuthenticationFailed)) throw err; // the HSM failed: stop, nothing lost
    }
    let plain: Buffer;
    try {
      plain = await keys.from.unwrap(blob, context);
    } catch (err) {
      if (!(err instanceof AuthenticationFailed)) throw err;
      throw new UnreadableBlob(`${what} opens under neither root key (${keys.from.id}, ${keys.to.id}); nothing more was changed`);
    }
    try {
      // A false write means the row changed meanwhile (deleted, or re-wrapped by another run): the next pass sees it.
      if (await write(await keys.to.wrap(plain, context))) progress.rewrapped++;
      else progress.conflicts++;
    } finally {
      plain.fill(0);
    }
  };
  let after: { keyId: string; version: number } | null = null;
  for (;;) {
    const page = await store.listVersionBlobs(after, PAGE);
    for (const v of page) {
      await move(v.wrapped, wrapContext(v.keyId, v.version), (r) => store.replaceVersionBlob(v.keyId, v.version, v.wrapped, r), `version ${v.version} of key ${v.keyId}`);
      progress.seen++;
    }
    report?.({ ...progress });
    if (page.length < PAGE) break;
    after = page[page.length - 1]!;
  }
  for (const p of await store.listImportParameters()) {
    await move(p.wrappingKey, wrappingKeyContext(p.keyId, p.tokenId), (r) => store.replaceImportWrappingKey(p.keyId, p.wrappingKey, r), `the import wrapping key of key ${p.keyId}`);
  }
  for (const ap of await store.listAccessPointKeys()) {
    await move(ap.wrapped, accessPointKeyContext(ap.id), (r) => store.replaceAccessPointKey(ap.id, ap.wrapped, r), `the private key of access point ${ap.id}`);
  }
  for (const s of WRAPPED_SETTINGS) {
    const value = await store.getSetting(s.name);
    if (!value) continue;
    const prefix = value.subarray(0, s.prefixBytes);
    await move(value.subarray(s.prefixBytes), s.context, (r) => store.replaceSetting(s.name, value, Buffer.concat([prefix, r])), `the setting ${s.name}`);
  }
  report?.({ ...progress });
  return progress;
}
