/**
 * Moving a region's keys to another root key while the region serves: from its key file to an HSM, or to a fresh
 * key of the same kind. Every blob the region's store keeps wrapped by the root key (key versions, import wrapping
 * keys, Custom access points' private keys, and the wrapped settings below) is unwrapped by the old root key and wrapped again by the new one, each in
 * its own compare-and-set write, so a blob is never lost and a crash leaves each one under one root key or the other.
 *
 * The rotation is announced in the store (setting `root_key_migration`, JSON: from and to, each a configuration
 * and an id, the state, the start time) before the first blob moves. Every node of the region adopts it within a
 * second (`attachRootKeyRotation`: it polls, and looks again at once when no root key it holds opens a blob): from
 * then on it unwraps with either key and wraps new material with the new one. The command re-wraps in passes until
 * a pass that starts after the nodes have had `SETTLE_MS` to adopt finds nothing under the old key, then records the
 * new key's id as the store's `root_key_id`. Run again after a crash, it finds the announcement and resumes: blobs
 * already under the new key are counted and left alone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KEY_CONTEXT as AUDIT_KEY_CONTEXT } from './audit/audit-log.js';
import { SECRET_CONTEXT as IMPORT_SECRET_CONTEXT, SECRET_SETTING as IMPORT_SECRET_SETTING, wrappingKeyContext } from './core/key-import.js';
import { wrapContext } from './core/key-material.js';
import { accessPointKeyContext } from './core/key-space.js';
import { TRANSPORT_CONTEXT, TRANSPORT_SETTING } from './core/replication.js';
import { checkRootKeyConfig, openRootKeyFrom, type RootKeyConfig } from './keystore/root-key-config.js';
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

/** A rotation as announced in the store. */
export interface RootKeyMigration {
  from: { id: string; config: RootKeyConfig };
  to: { id: string; config: RootKeyConfig };
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
  parsed.from.config = checkRootKeyConfig(parsed.from.config, 'root_key_migration.from');
  parsed.to.config = checkRootKeyConfig(parsed.to.config, 'root_key_migration.to');
  return { migration: parsed, raw };
}

/** Opens one side of a rotation and checks it is the key the store names (the same id). */
function openSide(side: RootKeyMigration['to'], dataDir: string, region: string): RootKey {
  const key = openRootKeyFrom(side.config, dataDir, region, { create: false });
  if (key.id !== side.id) {
    void key.close();
    throw new Error(`the root key a rotation of region ${region} names (${side.id}) is not the one its configuration opens (${key.id})`);
  }
  return key;
}

/** Adds a rotation's keys to a ring: both unwrap; the new one wraps from now on. */
async function adopt(store: KmsStore, ring: RootKeyRing, dataDir: string, region: string): Promise<void> {
  const found = await readMigration(store);
  if (!found) return;
  const { from, to } = found.migration;
  if (!ring.has(from.id)) await ring.add(openSide(from, dataDir, region), { wrapWith: false });
  if (!ring.has(to.id)) await ring.add(openSide(to, dataDir, region), { wrapWith: true });
  else ring.wrapWith(to.id);
}

/**
 * Makes a region node follow rotations of its store's root key: adopts one in progress now, then looks every second
 * and whenever no key it holds opens a blob. Throws when the store's keys are wrapped by a root key the node cannot
 * open (another key file or token key than the store's `root_key_id`). Returns a function that stops the watch.
 */
export async function attachRootKeyRotation(store: KmsStore, ring: RootKeyRing, dataDir: string, region: string, onError: (err: unknown) => void): Promise<() => void> {
  await adopt(store, ring, dataDir, region);
  ring.refresh = () => adopt(store, ring, dataDir, region);
  const timer = setInterval(() => void adopt(store, ring, dataDir, region).catch(onError), WATCH_MS);
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
    const migration: RootKeyMigration = { from: { id: from.key.id, config: from.config }, to: { id: to.key.id, config: to.config }, state: 'rewrapping', started_at: announcedAt };
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
    if (progress.rewrapped === 0 && passStartedAt - announcedAt >= settleMs) break;
    const wait = announcedAt + settleMs - Date.now();
    if (progress.rewrapped === 0 && wait > 0) await sleep(wait);
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
  const progress: RotationProgress = { pass, total: await store.countVersions(), seen: 0, rewrapped: 0, already: 0 };
  const move = async (blob: Buffer, context: Buffer, write: (replacement: Buffer) => Promise<boolean>, what: string): Promise<void> => {
    try {
      (await keys.to.unwrap(blob, context)).fill(0);
      progress.already++;
      return;
    } catch {
      /* not under the new key yet */
    }
    let plain: Buffer;
    try {
      plain = await keys.from.unwrap(blob, context);
    } catch {
      throw new UnreadableBlob(`${what} opens under neither root key (${keys.from.id}, ${keys.to.id}); nothing more was changed`);
    }
    try {
      // A false write means the row changed meanwhile (deleted, or re-wrapped by another run): the next pass sees it.
      if (await write(await keys.to.wrap(plain, context))) progress.rewrapped++;
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
