/**
 * Cross-region keys (docs/reference/huawei-kms-api.md §6): a replica keeps the primary's key id and shares its material
 * (every version), spec, usage, origin and rotation settings; alias, description, state and tags belong to each region.
 * Key material crosses regions only sealed for the receiving region's transport key (crypto/transport.ts) and is
 * re-wrapped there by that region's root key. Changes to shared properties are written to the outbox in the same
 * transaction as the change and delivered with retries (deliverDue), so a region that was down catches up.
 *
 * Replicate is two-phase: the target stores an invisible replica (prepare), the primary records it, then the
 * target makes it visible (commit). A replicate that failed is aborted at the target, so it never takes effect later.
 */
import { randomUUID } from 'node:crypto';
import { KmsError } from '../errors.js';
import { generateTransportKey, openSealed, sealFor } from '../crypto/transport.js';
import type { RootKey } from '../keystore/root-key.js';
import { DuplicateAliasError, type KeyTag, type KmsStore, type OutboxMessage } from '../storage/kms-store.js';
import type { CallerContext, Clock } from './context.js';
import { isDefaultKey, isDestroyed, isPrimaryIn, type KeyRecord, type ReplicaRef } from './key.js';
import type { KeyMaterial } from './key-material.js';
import { MAX_TAGS_PER_KEY } from './tags.js';

/** Shared properties of a key and its sealed versions, as one region sends them to another. */
export interface KeySnapshot
  extends Pick<KeyRecord, 'spec' | 'usage' | 'origin' | 'createdAt' | 'currentVersion' | 'rotationEnabled' | 'rotationIntervalDays' | 'lastRotationAt' | 'rotationCount' | 'materialExpiresAt' | 'term'> {
  keyId: string;
  primaryRegion: string;
  /** Base64 SPKI DER of an asymmetric key, or null. */
  publicKey: string | null;
  versions: { version: number; createdAt: number; sealed: string }[];
}

export interface PrepareReplica {
  attempt: string;
  projectId: string;
  domainId: string;
  alias: string;
  description: string;
  enterpriseProjectId: string;
  /** Tags the replica starts with (ReplicateKey `tags`); tags belong to each region afterwards. */
  tags?: KeyTag[];
  snapshot: KeySnapshot;
}

export interface PromoteReplica {
  snapshot: KeySnapshot;
  replicas: ReplicaRef[];
}

/** Why a call to another region failed: it could not be reached, did not answer in time, or refused. */
export class PeerError extends Error {
  constructor(
    readonly kind: 'unreachable' | 'timeout' | 'refused',
    message: string,
    readonly refusal?: KmsError,
  ) {
    super(message);
    this.name = 'PeerError';
  }

  toKmsError(region: string): KmsError {
    if (this.kind === 'refused' && this.refusal) return this.refusal;
    return new KmsError(this.kind === 'timeout' ? 'KMS.0504' : 'KMS.0502', `Region ${region}: ${this.message}`);
  }
}

/** The other regions, over whatever transport connects them (regions/peer-client.ts: HTTP). */
export interface PeerRegions {
  transportKey(region: string): Promise<Buffer>;
  prepare(region: string, body: PrepareReplica): Promise<void>;
  commit(region: string, keyId: string, attempt: string): Promise<void>;
  abort(region: string, keyId: string, attempt: string): Promise<void>;
  sync(region: string, snapshot: KeySnapshot): Promise<void>;
  promote(region: string, body: PromoteReplica): Promise<void>;
  detach(region: string, keyId: string): Promise<void>;
  /** Asks the primary for the key's current snapshot, sealed for `transportKey`. */
  export(region: string, keyId: string, transportKey: Buffer): Promise<KeySnapshot>;
}

/** Which project is whose (IAM). */
export interface ProjectDirectory {
  project(projectId: string): Promise<{ domainId: string; region: string } | null>;
}

export interface ReplicationOptions {
  region: string;
  /** Regions a key whose primary is in `region` may be replicated to. */
  targets: (region: string) => string[];
  /** Longest wait between two deliveries of one outbox message. */
  maxBackoffMs: number;
  /** How long a primary-only call waits for a handover to resolve. */
  handoverWaitMs: number;
}

export const TRANSPORT_SETTING = 'transport_key';
/** The transport key's private half is wrapped under this context; the setting is public(32) ‖ wrapped. */
export const TRANSPORT_CONTEXT = Buffer.from('strongroom transport key');
/** A pending replica whose primary went silent this long may be replaced by a new attempt. */
const STALE_ATTEMPT_MS = 10 * 60_000;

class RevisionConflict extends Error {}
const sealContext = (keyId: string, version: number, region: string) => Buffer.from(`strongroom replica\0${keyId}\0${version}\0${region}`);

export class ReplicationService {
  #transport?: { privateDer: Buffer; publicRaw: Buffer };

  constructor(
    private readonly store: KmsStore,
    private readonly material: KeyMaterial,
    private readonly rootKey: RootKey,
    private readonly peers: PeerRegions,
    private readonly projects: ProjectDirectory,
    private readonly clock: Clock,
    private readonly o: ReplicationOptions,
  ) {}

  /** Loads this region's transport key pair, creating it (private half wrapped by the root key) at first start. */
  async init(): Promise<void> {
    const context = TRANSPORT_CONTEXT;
    let stored = await this.store.getSetting(TRANSPORT_SETTING);
    if (!stored) {
      const fresh = generateTransportKey();
      const wrapped = await this.rootKey.wrap(fresh.privateDer, context);
      stored = await this.store.putSettingIfAbsent(TRANSPORT_SETTING, Buffer.concat([fresh.publicRaw, wrapped]));
    }
    this.#transport = { publicRaw: stored.subarray(0, 32), privateDer: await this.rootKey.unwrap(stored.subarray(32), context) };
  }

  get transportPublicKey(): Buffer {
    return this.#keys().publicRaw;
  }

  /**
   * Opens what another node sealed for this region's transport key (crypto/transport.ts `sealFor`), bound to
   * `context`: key material from a peer, an access key's verifier from IAM. Throws when it was not sealed for us.
   */
  openSealed(sealed: Buffer, context: Buffer): Buffer {
    return openSealed(this.#keys().privateDer, sealed, context);
  }

  // ---- operations a client calls on the primary ----

  async replicate(ctx: CallerContext, keyId: string, input: { region: string; projectId: string; alias: string; description: string; enterpriseProjectId: string; tags: KeyTag[] }): Promise<KeyRecord> {
    const key = await this.#primaryKey(ctx, keyId);
    if (isDefaultKey(key)) throw new KmsError('KMS.0211');
    // Material in a dedicated keystore never leaves its HSM, so it has nothing to send to another region.
    if (key.keystoreId !== '0') throw new KmsError('KMS.0340', 'Keys of a dedicated keystore cannot be replicated: their material stays in its HSM.');
    if (key.state === '4') throw new KmsError('KMS.0210');
    if (key.currentVersion === 0) throw new KmsError('KMS.0308', 'Only keys with key material can be replicated.');
    if (input.region === this.o.region) throw new KmsError('KMS.0308', 'A key cannot be replicated into its own region.');
    if (!this.o.targets(this.o.region).includes(input.region)) {
      throw new KmsError('KMS.0308', `Keys of ${this.o.region} cannot be replicated to ${input.region}.`);
    }
    if (key.replicas.some((r) => r.region === input.region)) throw new KmsError('KMS.0308', `The key already has a replica in ${input.region}.`);
    const project = await this.projects.project(input.projectId);
    if (!project || project.domainId !== ctx.domainId) throw new KmsError('KMS.0306', 'replica_project_id is not a project of your account.');
    if (project.region !== input.region) throw new KmsError('KMS.0306', `replica_project_id belongs to region ${project.region}, not ${input.region}.`);

    const attempt = randomUUID();
    await this.deliverDue(input.region); // aborts of earlier failed attempts reach the target first
    try {
      const snapshot = await this.#snapshot(key, input.region);
      await this.peers.prepare(input.region, {
        attempt, projectId: input.projectId, domainId: ctx.domainId, alias: input.alias, description: input.description,
        enterpriseProjectId: input.enterpriseProjectId, tags: input.tags, snapshot,
      });
    } catch (err) {
      if (!(err instanceof PeerError)) throw err;
      // The target may have stored the invisible replica before the failure: make sure it never appears.
      if (err.kind !== 'refused') await this.#enqueue(this.store, input.region, 'abort', keyId, { attempt });
      throw err.toKmsError(input.region);
    }
    let recorded: KeyRecord | null = null;
    try {
      recorded = await this.#mutatePrimary(ctx, keyId, async (k, tx) => {
        if (k.replicas.some((r) => r.region === input.region)) throw new KmsError('KMS.0308', `The key already has a replica in ${input.region}.`);
        await this.#enqueue(tx, input.region, 'commit', keyId, { attempt });
        await this.#enqueue(tx, input.region, 'sync', keyId, {}); // versions added meanwhile (rotation) follow
        return { ...k, primaryRegion: this.o.region, replicas: [...k.replicas, { region: input.region, projectId: input.projectId }] };
      });
    } finally {
      if (!recorded) await this.#enqueue(this.store, input.region, 'abort', keyId, { attempt });
    }
    await this.deliverDue(input.region); // make the replica visible now when the target is up; the outbox retries otherwise
    return recorded;
  }

  async updatePrimaryRegion(ctx: CallerContext, keyId: string, target: string): Promise<KeyRecord> {
    const key = await this.#primaryKey(ctx, keyId);
    if (target === this.o.region) throw new KmsError('KMS.0308', `${target} is already the primary region of the key.`);
    const replica = key.replicas.find((r) => r.region === target);
    if (!replica) throw new KmsError('KMS.0308', `The key has no replica in ${target}.`);
    const handing = await this.#mutatePrimary(ctx, keyId, async (k) => ({ ...k, handoverTo: target }));
    try {
      await this.#promote(handing, target);
    } catch (err) {
      if (!(err instanceof PeerError)) throw err;
      if (err.kind === 'timeout') {
        // The target may have promoted itself: keep the handover and let the outbox finish it.
        await this.#enqueue(this.store, target, 'promote', keyId, {});
      } else {
        await this.#mutate(keyId, (k) => ({ ...k, handoverTo: null }));
      }
      throw err.toKmsError(target);
    }
    return (await this.store.getKeyById(keyId))!;
  }

  /** Called before any primary-only operation: refuses replicas (KMS.0106) and waits out a handover. */
  async assertPrimary(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    return this.#primaryKey(ctx, keyId);
  }

  /** Writes `sync` messages for every replica of `key` (in the caller's transaction). */
  async syncReplicas(tx: KmsStore, key: KeyRecord): Promise<void> {
    for (const r of key.replicas) await this.#enqueue(tx, r.region, 'sync', key.id, {});
  }

  /** Fetches versions a replica does not hold yet from the primary (a ciphertext newer than the last sync). */
  async pullFromPrimary(key: KeyRecord): Promise<void> {
    if (!key.primaryRegion || key.primaryRegion === this.o.region) return;
    let snapshot: KeySnapshot;
    try {
      snapshot = await this.peers.export(key.primaryRegion, key.id, this.transportPublicKey);
    } catch (err) {
      if (err instanceof PeerError) throw err.toKmsError(key.primaryRegion);
      throw err;
    }
    await this.onSync(key.primaryRegion, snapshot);
  }

  // ---- what other regions ask of this one ----

  async onPrepare(from: string, body: PrepareReplica): Promise<void> {
    const s = body.snapshot;
    if (s.primaryRegion !== from || !this.o.targets(from).includes(this.o.region)) {
      throw new KmsError('KMS.0306', `${from} may not replicate keys to ${this.o.region}.`);
    }
    const existing = await this.store.getKeyById(s.keyId);
    const now = this.clock();
    if (existing && existing.pendingAttempt === null) {
      if (existing.primaryRegion === from) return; // an earlier attempt was committed: nothing to do
      throw new KmsError('KMS.0308', `Key ${s.keyId} already exists in ${this.o.region}.`);
    }
    if (existing && existing.pendingAttempt !== body.attempt && now - existing.createdAt < STALE_ATTEMPT_MS) {
      // Another attempt is under way (or its abort has not arrived yet): replacing it would lose whichever commits.
      throw new KmsError('KMS.0308', `Another replicate of this key to ${this.o.region} is in progress; try again shortly.`);
    }
    const versions = await this.#openVersions(s);
    const key: KeyRecord = {
      id: s.keyId, projectId: body.projectId, domainId: body.domainId, region: this.o.region, alias: body.alias,
      description: body.description, spec: s.spec, usage: s.usage, origin: s.origin, state: '2', createdAt: now,
      deletionDate: null, enterpriseProjectId: body.enterpriseProjectId, keystoreId: '0', currentVersion: s.currentVersion,
      rotationEnabled: s.rotationEnabled, rotationIntervalDays: s.rotationIntervalDays, lastRotationAt: s.lastRotationAt,
      rotationCount: s.rotationCount, materialExpiresAt: s.materialExpiresAt, primaryRegion: from, revision: 0,
      replicas: [], handoverTo: null, term: s.term, pendingAttempt: body.attempt,
      publicKey: s.publicKey === null ? null : Buffer.from(s.publicKey, 'base64'), materialFingerprint: null,
    };
    try {
      await this.store.transaction(async (tx) => {
        // The same rules again, inside the transaction: two prepares checked above at once must not both insert.
        const current = await tx.getKeyById(s.keyId);
        if (current && current.pendingAttempt === null) {
          if (current.primaryRegion === from) return;
          throw new KmsError('KMS.0308', `Key ${s.keyId} already exists in ${this.o.region}.`);
        }
        if (current && current.pendingAttempt !== body.attempt && now - current.createdAt < STALE_ATTEMPT_MS) {
          throw new KmsError('KMS.0308', `Another replicate of this key to ${this.o.region} is in progress; try again shortly.`);
        }
        if (current) await tx.deleteKey(current.id); // a pending replica of an earlier, failed attempt
        await tx.insertKey(key, null);
        for (const v of versions) await tx.insertVersion(v);
        await tx.changeTags(key.id, (body.tags ?? []).slice(0, MAX_TAGS_PER_KEY), []);
      });
    } catch (err) {
      if (err instanceof DuplicateAliasError) throw new KmsError('KMS.1104', `The alias ${body.alias} is already in use in ${this.o.region}.`);
      throw err;
    }
    this.material.forget(s.keyId);
  }

  async onCommit(from: string, keyId: string, attempt: string): Promise<void> {
    const key = await this.store.getKeyById(keyId);
    if (!key || key.primaryRegion !== from || key.pendingAttempt !== attempt) return; // committed already, or another attempt
    await this.#mutate(keyId, (k) => ({ ...k, pendingAttempt: null }));
  }

  async onAbort(from: string, keyId: string, attempt: string): Promise<void> {
    const key = await this.store.getKeyById(keyId);
    if (key && key.pendingAttempt === attempt && key.primaryRegion === from) {
      await this.store.deleteKey(keyId);
      this.material.forget(keyId);
    }
  }

  /** New shared properties and versions from the primary (or a newer primary after a change). */
  async onSync(from: string, s: KeySnapshot): Promise<void> {
    const key = await this.store.getKeyById(s.keyId);
    if (!key || s.term < key.term || s.primaryRegion !== from) return;
    if (key.primaryRegion === this.o.region && s.term === key.term) return; // we are primary for this term
    const versions = await this.#openVersions(s);
    await this.store.transaction(async (tx) => {
      const current = await tx.getKeyById(s.keyId);
      if (!current || s.term < current.term) return;
      for (const v of versions) await tx.insertVersion(v);
      const currentVersion = Math.max(current.currentVersion, s.currentVersion);
      const next: KeyRecord = {
        ...current, spec: s.spec, usage: s.usage, origin: s.origin, currentVersion,
        // Material arriving for a replica without any (imported material re-imported on the primary) enables it.
        state: current.state === '5' && currentVersion > 0 ? '2' : current.state,
        rotationEnabled: s.rotationEnabled, rotationIntervalDays: s.rotationIntervalDays, lastRotationAt: s.lastRotationAt,
        rotationCount: s.rotationCount, materialExpiresAt: s.materialExpiresAt, primaryRegion: s.primaryRegion, term: s.term,
        replicas: s.primaryRegion === this.o.region ? current.replicas : [], handoverTo: null,
        publicKey: s.publicKey === null ? null : Buffer.from(s.publicKey, 'base64'),
      };
      if (!(await tx.updateKey(next, current.revision))) throw new Error('concurrent change, retried by the sender');
    });
  }

  async onPromote(from: string, body: PromoteReplica): Promise<void> {
    const s = body.snapshot;
    const key = await this.store.getKeyById(s.keyId);
    if (!key || key.pendingAttempt !== null) throw new KmsError('KMS.0207', `${this.o.region} holds no replica of this key.`);
    if (key.primaryRegion === this.o.region && key.term >= s.term) return; // promoted already (a retried call)
    if (key.primaryRegion !== from) throw new KmsError('KMS.0308', `The primary of this key is ${key.primaryRegion}, not ${from}.`);
    const versions = await this.#openVersions(s);
    await this.store.transaction(async (tx) => {
      const current = (await tx.getKeyById(s.keyId))!;
      for (const v of versions) await tx.insertVersion(v);
      const next: KeyRecord = {
        ...current, currentVersion: Math.max(current.currentVersion, s.currentVersion), rotationEnabled: s.rotationEnabled,
        rotationIntervalDays: s.rotationIntervalDays, lastRotationAt: s.lastRotationAt, rotationCount: s.rotationCount,
        primaryRegion: this.o.region, term: s.term, replicas: body.replicas, handoverTo: null,
      };
      if (!(await tx.updateKey(next, current.revision))) throw new Error('concurrent change, retried by the sender');
      await this.syncReplicas(tx, next); // every replica, the old primary among them, learns the new primary
    });
  }

  async onDetach(from: string, keyId: string): Promise<void> {
    const key = await this.store.getKeyById(keyId);
    if (!key || !key.replicas.some((r) => r.region === from)) return;
    await this.#mutate(keyId, (k) => ({ ...k, replicas: k.replicas.filter((r) => r.region !== from) }));
  }

  async onExport(from: string, keyId: string, transportKey: Buffer): Promise<KeySnapshot> {
    const key = await this.store.getKeyById(keyId);
    if (!key || !isPrimaryIn(key, this.o.region) || !key.replicas.some((r) => r.region === from)) {
      throw new KmsError('KMS.0207', `${from} holds no replica of this key.`);
    }
    return this.#snapshot(key, from, transportKey);
  }

  // ---- the outbox ----

  /** Called for each change delivered to another region with the seconds since it was enqueued (replication lag). */
  onDelivered?: (target: string, seconds: number) => void;

  /** Delivers due outbox messages (all targets, or one); failures are retried with backoff. */
  async deliverDue(onlyTarget?: string): Promise<void> {
    const now = this.clock();
    for (const m of await this.store.dueMessages(now, 100)) {
      if (onlyTarget !== undefined && m.target !== onlyTarget) continue;
      try {
        await this.#deliver(m);
        await this.store.completeMessage(m.id);
        this.onDelivered?.(m.target, (this.clock() - m.createdAt) / 1000);
      } catch (err) {
        if (err instanceof PeerError && err.kind === 'refused' && err.refusal && err.refusal.status === 400) {
          // The peer will never accept it (authentication and not-found answers are retried instead).
          await this.store.completeMessage(m.id);
          if (m.kind === 'promote') await this.#mutate(m.keyId, (k) => (k.handoverTo === m.target ? { ...k, handoverTo: null } : k));
          continue;
        }
        const backoff = Math.min(this.o.maxBackoffMs, 250 * 2 ** Math.min(m.attempts, 16));
        await this.store.retryMessage(m.id, this.clock() + backoff, (err as Error).message);
        if (onlyTarget !== undefined) return;
      }
    }
  }

  async #deliver(m: OutboxMessage): Promise<void> {
    const attempt = String(m.payload.attempt ?? '');
    switch (m.kind) {
      case 'commit':
        return this.peers.commit(m.target, m.keyId, attempt);
      case 'abort':
        return this.peers.abort(m.target, m.keyId, attempt);
      case 'detach':
        return this.peers.detach(m.target, m.keyId);
      case 'sync': {
        const key = await this.store.getKeyById(m.keyId);
        if (!key || !isPrimaryIn(key, this.o.region) || !key.replicas.some((r) => r.region === m.target)) return;
        return this.peers.sync(m.target, await this.#snapshot(key, m.target));
      }
      case 'promote': {
        const key = await this.store.getKeyById(m.keyId);
        if (!key || key.handoverTo !== m.target) return;
        return this.#promote(key, m.target);
      }
      default:
        throw new PeerError('refused', `unknown outbox message ${m.kind}`);
    }
  }

  /** Hands the primary role to `target`, then records locally that this region is now a replica. */
  async #promote(key: KeyRecord, target: string): Promise<void> {
    const replicas = [...key.replicas.filter((r) => r.region !== target), { region: this.o.region, projectId: key.projectId }];
    const snapshot = await this.#snapshot({ ...key, term: key.term + 1, primaryRegion: target }, target);
    await this.peers.promote(target, { snapshot, replicas });
    await this.#mutate(key.id, (k) => ({ ...k, primaryRegion: target, replicas: [], handoverTo: null, term: key.term + 1 }));
  }

  // ---- helpers ----

  async #snapshot(key: KeyRecord, region: string, transportKey?: Buffer): Promise<KeySnapshot> {
    const recipient = transportKey ?? (await this.peers.transportKey(region));
    const versions: KeySnapshot['versions'] = [];
    for (const version of await this.store.versionNumbers(key.id)) {
      const record = await this.store.getVersion(key.id, version);
      const material = await this.material.unwrapped(key.id, version);
      if (!material || !record) continue;
      versions.push({ version, createdAt: record.createdAt, sealed: sealFor(recipient, material, sealContext(key.id, version, region)).toString('base64') });
    }
    return {
      keyId: key.id, spec: key.spec, usage: key.usage, origin: key.origin, createdAt: key.createdAt, currentVersion: key.currentVersion,
      rotationEnabled: key.rotationEnabled, rotationIntervalDays: key.rotationIntervalDays, lastRotationAt: key.lastRotationAt,
      rotationCount: key.rotationCount, materialExpiresAt: key.materialExpiresAt, primaryRegion: key.primaryRegion ?? this.o.region,
      term: key.term, publicKey: key.publicKey === null ? null : key.publicKey.toString('base64'), versions,
    };
  }

  /** Opens sealed versions and wraps them under this region's root key. */
  async #openVersions(s: KeySnapshot) {
    const have = new Set(await this.store.versionNumbers(s.keyId));
    const out = [];
    for (const v of s.versions) {
      if (have.has(v.version)) continue;
      const material = openSealed(this.#keys().privateDer, Buffer.from(v.sealed, 'base64'), sealContext(s.keyId, v.version, this.o.region));
      try {
        out.push({ ...(await this.material.wrap(s.keyId, v.version, material)), createdAt: v.createdAt });
      } finally {
        material.fill(0);
      }
    }
    return out;
  }

  async #enqueue(tx: KmsStore, target: string, kind: string, keyId: string, payload: Record<string, unknown>): Promise<void> {
    await tx.enqueue({ target, kind, keyId, payload, nextAttemptAt: this.clock() });
  }

  /** The key in the caller's project, if this region is its primary; waits while a handover is under way. */
  async #primaryKey(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    const deadline = Date.now() + this.o.handoverWaitMs;
    for (;;) {
      const key = await this.store.getKey(ctx.projectId, keyId);
      if (!key || key.pendingAttempt !== null || isDestroyed(key, this.clock())) throw new KmsError('KMS.0207');
      if (!isPrimaryIn(key, this.o.region)) throw new KmsError('KMS.0106', `The primary of this key is in ${key.primaryRegion}.`);
      if (key.handoverTo === null) return key;
      if (Date.now() > deadline) throw new KmsError('KMS.0104', `The key's primary region is being changed to ${key.handoverTo}; try again.`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async #mutatePrimary(ctx: CallerContext, keyId: string, change: (k: KeyRecord, tx: KmsStore) => Promise<KeyRecord>): Promise<KeyRecord> {
    for (;;) {
      const key = await this.#primaryKey(ctx, keyId);
      try {
        return await this.store.transaction(async (tx) => {
          const next = await change(key, tx);
          // A lost race must roll back what `change` queued in the outbox too: throw, never just return.
          if (!(await tx.updateKey(next, key.revision))) throw new RevisionConflict();
          return { ...next, revision: key.revision + 1 };
        });
      } catch (err) {
        if (!(err instanceof RevisionConflict)) throw err;
      }
    }
  }

  async #mutate(keyId: string, change: (k: KeyRecord) => KeyRecord): Promise<void> {
    for (;;) {
      const key = await this.store.getKeyById(keyId);
      if (!key) return;
      if (await this.store.updateKey(change(key), key.revision)) return;
    }
  }

  #keys() {
    if (!this.#transport) throw new Error('ReplicationService.init() was not called');
    return this.#transport;
  }
}
