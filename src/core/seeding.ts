/**
 * Seeding: keys declared with fixed ids (a seed file, README "Seed files") made to exist in this region, and the
 * region's keys read back in the same shape (export). The declared keys are created here by the region's own core,
 * so they live in its store, wrapped by its root key, reach its replicas through replication.ts, and are audited
 * like every other change.
 *
 * Applying is declarative and idempotent: a key that does not exist is created with its id; one that exists with
 * the same spec, usage and material is brought to the declared alias, description, enabled state and tags (what a
 * client could change too), gets the declared grants and replicas it lacks, and is otherwise left alone. A key whose
 * spec, usage or material differs, that belongs to another project, is a replica here, or is pending deletion is a
 * conflict: then nothing at all is changed, in this region (the keys are written in one transaction) — the caller
 * asks every region with `dryRun` first, so that a conflict in one changes none.
 */
import { timingSafeEqual } from 'node:crypto';
import { KEY_PAIR_SPECS } from '../crypto/algorithms.js';
import { KmsError } from '../errors.js';
import { DuplicateAliasError, type GrantRecord, type KeyTag, type KmsStore } from '../storage/kms-store.js';
import type { CallerContext, Clock } from './context.js';
import type { GrantOperation, GrantService, PrincipalDirectory } from './grants.js';
import { isDestroyed, isPrimaryIn, type KeyRecord, type KeyVersionRecord } from './key.js';
import type { KeyMaterial } from './key-material.js';
import { KEY_SPECS, type KeySpec, type KeyUsage } from './key-specs.js';
import type { ReplicationService } from './replication.js';

/** One key as a seed declares it for this region (material already decoded). */
export interface SeedKeyDeclaration {
  keyId: string;
  alias: string;
  spec: KeySpec;
  usage: KeyUsage;
  /** Undefined: an existing key keeps its description ('' for a new key). */
  description?: string;
  /** Undefined: an existing key keeps its state (a new key is enabled). */
  enabled?: boolean;
  /** Undefined: an existing key keeps its tags; else exactly these. */
  tags?: KeyTag[];
  /**
   * Material per version, oldest first, the last current: raw bytes (symmetric, HMAC) or PKCS#8 DER private keys.
   * Undefined: a new key's material is generated here; an existing key's is not compared.
   */
  versions?: Buffer[];
  /** Regions the key must have replicas in, with the project of the same account there. */
  replicas: { region: string; projectId: string }[];
  grants: { grantee: string; granteeType: 'user' | 'domain'; operations: GrantOperation[]; name: string }[];
}

/** The account and project the seeded keys belong to, and the user who issues their grants. */
export interface SeedScope {
  projectId: string;
  projectName: string;
  domainId: string;
  /** User id recorded as the grants' issuer ('' when the seed declares no grant). */
  issuer: string;
}

/** What seeding did (or, in a dry run, would do) to a key. */
export interface SeedOutcome {
  keyId: string;
  action: 'created' | 'updated' | 'unchanged';
  /** What changed: `alias`, `description`, `enabled`, `tags`, `grant <name>`, `replica <region>`; notes in parentheses. */
  changes: string[];
}

export interface SeedConflict {
  keyId: string;
  message: string;
}

/** A replica another region's seed will create here: checked in the dry run (no other key may hold its id or alias). */
export interface ReplicaExpectation {
  keyId: string;
  primaryRegion: string;
  alias: string;
}

/** A key of the region as export reads it; `versions` (oldest first) only when material was asked for. */
export interface ExportedKey {
  key: KeyRecord;
  tags: KeyTag[];
  grants: GrantRecord[];
  versions?: Buffer[];
}

interface Planned {
  decl: SeedKeyDeclaration;
  outcome: SeedOutcome;
  /** The key as it must be written (null: the row stays as it is). */
  write: KeyRecord | null;
  /** For a new key: its versions, wrapped. */
  versions: KeyVersionRecord[];
  /** The revision the key had when it was read (an update is refused if it moved). */
  revision: number | null;
  tags?: { set: KeyTag[]; remove: string[] };
  grants: SeedKeyDeclaration['grants'];
  replicas: SeedKeyDeclaration['replicas'];
}

export class SeedService {
  constructor(
    private readonly store: KmsStore,
    private readonly material: KeyMaterial,
    private readonly grants: GrantService,
    private readonly principals: PrincipalDirectory,
    private readonly replication: ReplicationService,
    private readonly clock: Clock,
    private readonly o: { region: string; keyQuota: number },
  ) {}

  /**
   * Brings the declared keys about in this region (see the module's comment). With `dryRun` nothing is written and
   * the outcomes say what would be done. When there are conflicts nothing is written either, and the outcomes are
   * empty. Errors: KmsError KMS.1105 (quota), KMS.1104 (an alias taken meanwhile), KMS.0104 (a key changed while
   * seeding; apply again), and those of create-grant and replicate-key for grants and replicas (applied after the
   * keys themselves are committed).
   */
  async apply(scope: SeedScope, keys: SeedKeyDeclaration[], o: { dryRun: boolean; expectReplicas?: ReplicaExpectation[] }): Promise<{ outcomes: SeedOutcome[]; conflicts: SeedConflict[] }> {
    const conflicts: SeedConflict[] = [];
    const aliasOwner = new Map<string, string>();
    for (const k of (await this.store.listKeys(scope.projectId, {}, 0, Number.MAX_SAFE_INTEGER)).keys) aliasOwner.set(k.alias, k.id);
    const declaredAlias = new Map(keys.map((k) => [k.keyId, k.alias]));
    /** Another key holds `alias` and keeps it after this seed. */
    const aliasTaken = (alias: string, keyId: string) => {
      const owner = aliasOwner.get(alias);
      return owner !== undefined && owner !== keyId && (declaredAlias.get(owner) ?? alias) === alias;
    };

    for (const r of o.expectReplicas ?? []) {
      const existing = await this.store.getKeyById(r.keyId);
      if (existing && !(existing.primaryRegion === r.primaryRegion && existing.pendingAttempt === null)) {
        conflicts.push({ keyId: r.keyId, message: `${this.o.region} already holds a key with this id that is not its replica from ${r.primaryRegion}` });
      } else if (!existing && aliasTaken(r.alias, r.keyId)) {
        conflicts.push({ keyId: r.keyId, message: `the alias ${r.alias} is used by key ${aliasOwner.get(r.alias)} in ${this.o.region}, where the replica would go` });
      }
    }

    const planned: Planned[] = [];
    for (const decl of keys) {
      const p = await this.#plan(scope, decl, aliasTaken, conflicts);
      if (p) planned.push(p);
    }
    if (conflicts.length > 0) return { outcomes: [], conflicts };
    if (o.dryRun) return { outcomes: planned.map((p) => p.outcome), conflicts };

    const creating = planned.filter((p) => p.revision === null).length;
    try {
      await this.store.transaction(async (tx) => {
        if (creating > 0 && (await tx.countKeys(scope.projectId)) + creating > this.o.keyQuota) {
          throw new KmsError('KMS.1105', `The project would hold more than its quota of ${this.o.keyQuota} keys.`);
        }
        for (const p of planned) {
          if (p.revision === null) {
            await tx.insertKey(p.write!, p.versions[0] ?? null);
            for (const v of p.versions.slice(1)) await tx.insertVersion(v);
          } else if (p.write) {
            if (!(await tx.updateKey(p.write, p.revision))) throw new KmsError('KMS.0104', `Key ${p.decl.keyId} changed while it was seeded: apply the seed again.`);
          }
          if (p.tags) await tx.changeTags(p.decl.keyId, p.tags.set, p.tags.remove);
        }
      });
    } catch (err) {
      if (err instanceof DuplicateAliasError) throw new KmsError('KMS.1104', 'An alias of the seed was taken meanwhile: apply the seed again.');
      throw err;
    }
    for (const p of planned) if (p.write && p.revision !== null) this.material.forget(p.decl.keyId);

    const ctx = this.#context(scope);
    for (const p of planned) {
      for (const g of p.grants) {
        await this.grants.create(ctx, { keyId: p.decl.keyId, grantee: g.grantee, granteeType: g.granteeType, operations: g.operations, name: g.name, retiringPrincipal: '' });
      }
      for (const r of p.replicas) {
        await this.replication.replicate(ctx, p.decl.keyId, {
          region: r.region, projectId: r.projectId, alias: p.decl.alias, description: p.decl.description ?? p.write?.description ?? '',
          enterpriseProjectId: '0', tags: p.decl.tags ?? [],
        });
      }
    }
    return { outcomes: planned.map((p) => p.outcome), conflicts };
  }

  /** What seeding one key takes, or null after recording why it cannot be seeded. */
  async #plan(scope: SeedScope, decl: SeedKeyDeclaration, aliasTaken: (alias: string, keyId: string) => boolean, conflicts: SeedConflict[]): Promise<Planned | null> {
    const conflict = (message: string) => (conflicts.push({ keyId: decl.keyId, message }), null);
    const info = KEY_SPECS[decl.spec];
    if (!info.implemented || !(info.usages as readonly string[]).includes(decl.usage)) return conflict(`${decl.spec} keys with usage ${decl.usage} cannot be made here`);
    const existing = await this.store.getKeyById(decl.keyId);
    if (aliasTaken(decl.alias, decl.keyId)) return conflict(`the alias ${decl.alias} is used by another key in ${this.o.region}`);
    if (!existing) return this.#planNew(scope, decl, info.kind, conflicts);

    if (existing.projectId !== scope.projectId) return conflict(`a key with this id exists in ${this.o.region} in another project`);
    if (existing.pendingAttempt !== null || !isPrimaryIn(existing, this.o.region)) {
      return conflict(`the key in ${this.o.region} is a replica of the key in ${existing.primaryRegion}: seed it in its primary region`);
    }
    if (existing.state === '4' || isDestroyed(existing, this.clock())) return conflict('the key is pending deletion: cancel the deletion first');
    if (existing.spec !== decl.spec) return conflict(`the key is ${existing.spec} here, the seed says ${decl.spec}`);
    if (existing.usage !== decl.usage) return conflict(`the key's usage is ${existing.usage} here, the seed says ${decl.usage}`);
    const changes: string[] = [];
    if (decl.versions) {
      const differs = await this.#materialDiffers(existing, decl.versions, changes);
      if (differs) return conflict(differs);
    }
    let write: KeyRecord = existing;
    if (existing.alias !== decl.alias) {
      write = { ...write, alias: decl.alias };
      changes.push('alias');
    }
    if (decl.description !== undefined && existing.description !== decl.description) {
      write = { ...write, description: decl.description };
      changes.push('description');
    }
    if (decl.enabled !== undefined && (existing.state === '2') !== decl.enabled) {
      if (existing.state !== '2' && existing.state !== '3') return conflict(`the key is in state ${existing.state} and cannot be ${decl.enabled ? 'enabled' : 'disabled'}`);
      write = { ...write, state: decl.enabled ? '2' : '3' };
      changes.push(decl.enabled ? 'enabled' : 'disabled');
    }
    let tags: Planned['tags'];
    if (decl.tags) {
      const current = new Map((await this.store.getTags(existing.id)).map((t) => [t.key, t.value]));
      const wanted = new Map(decl.tags.map((t) => [t.key, t.value]));
      const set = decl.tags.filter((t) => current.get(t.key) !== t.value);
      const remove = [...current.keys()].filter((k) => !wanted.has(k));
      if (set.length > 0 || remove.length > 0) {
        tags = { set, remove };
        changes.push('tags');
      }
    }
    const grants = await this.#missingGrants(decl, conflicts);
    if (grants === null) return null;
    for (const g of grants) changes.push(`grant ${g.name || g.grantee}`);
    const replicas = decl.replicas.filter((r) => !existing.replicas.some((x) => x.region === r.region));
    for (const r of replicas) changes.push(`replica ${r.region}`);
    if (replicas.length > 0 && (write.state !== '2' || existing.currentVersion === 0)) return conflict('only an enabled key with material can be replicated');
    const rowChanged = write !== existing;
    const real = changes.filter((c) => !c.startsWith('('));
    return {
      decl, outcome: { keyId: decl.keyId, action: real.length > 0 ? 'updated' : 'unchanged', changes }, write: rowChanged ? write : null,
      versions: [], revision: existing.revision, tags, grants, replicas,
    };
  }

  async #planNew(scope: SeedScope, decl: SeedKeyDeclaration, kind: 'symmetric' | 'asymmetric' | 'hmac', conflicts: SeedConflict[]): Promise<Planned | null> {
    const grants = await this.#missingGrants(decl, conflicts);
    if (grants === null) return null;
    const now = this.clock();
    const info = KEY_SPECS[decl.spec];
    let publicKey: Buffer | null = null;
    const versions: KeyVersionRecord[] = [];
    if (kind === 'asymmetric') {
      const pair = decl.versions ? KEY_PAIR_SPECS[info.pair!].fromPrivateKey(decl.versions.at(-1)!) : await KEY_PAIR_SPECS[info.pair!].generateAsync();
      publicKey = pair.publicKey;
      try {
        versions.push({ ...(await this.material.wrap(decl.keyId, 1, pair.privateKey)), createdAt: now });
      } finally {
        pair.privateKey.fill(0);
      }
    } else if (decl.versions) {
      for (const [i, m] of decl.versions.entries()) versions.push({ ...(await this.material.wrap(decl.keyId, i + 1, m)), createdAt: now });
    } else {
      versions.push(await this.material.newVersion(decl.keyId, 1, info.materialBytes!, now));
    }
    const rotations = versions.length - 1;
    const key: KeyRecord = {
      id: decl.keyId, projectId: scope.projectId, domainId: scope.domainId, region: this.o.region, alias: decl.alias,
      description: decl.description ?? '', spec: decl.spec, usage: decl.usage, origin: 'kms', state: decl.enabled === false ? '3' : '2',
      createdAt: now, deletionDate: null, enterpriseProjectId: '0', keystoreId: '0', currentVersion: versions.length,
      rotationEnabled: false, rotationIntervalDays: 365, lastRotationAt: rotations > 0 ? now : null, rotationCount: rotations,
      materialExpiresAt: null, primaryRegion: null, replicas: [], handoverTo: null, term: 0, pendingAttempt: null, publicKey,
      materialFingerprint: null, revision: 0,
    };
    const changes = [...grants.map((g) => `grant ${g.name || g.grantee}`), ...decl.replicas.map((r) => `replica ${r.region}`)];
    return {
      decl, outcome: { keyId: decl.keyId, action: 'created', changes }, write: key, versions, revision: null,
      tags: decl.tags && decl.tags.length > 0 ? { set: decl.tags, remove: [] } : undefined, grants, replicas: decl.replicas,
    };
  }

  /**
   * Why the key's material is not the declared one, or null when it is: a key pair by its public key; symmetric and
   * HMAC keys version by version (the key may have later versions, rotated since: noted in `changes`).
   */
  async #materialDiffers(key: KeyRecord, declared: Buffer[], changes: string[]): Promise<string | null> {
    if (key.currentVersion === 0) return 'the key has no material here (it awaits imported material)';
    if (KEY_SPECS[key.spec].kind === 'asymmetric') {
      const pair = KEY_PAIR_SPECS[KEY_SPECS[key.spec].pair!].fromPrivateKey(declared.at(-1)!);
      pair.privateKey.fill(0);
      return key.publicKey !== null && key.publicKey.equals(pair.publicKey) ? null : 'the key has other material here (its public key differs)';
    }
    const stored = await this.store.versionNumbers(key.id);
    if (stored.length < declared.length) return `the key has ${stored.length} version(s) here, the seed declares ${declared.length}`;
    for (const [i, m] of declared.entries()) {
      const have = await this.material.unwrapped(key.id, i + 1);
      if (!have || have.length !== m.length || !timingSafeEqual(have, m)) return `version ${i + 1} of the key has other material here`;
    }
    if (stored.length > declared.length) changes.push(`(${stored.length - declared.length} later version(s) kept)`);
    return null;
  }

  /** The declared grants the key lacks; null after recording a grantee IAM does not know. */
  async #missingGrants(decl: SeedKeyDeclaration, conflicts: SeedConflict[]): Promise<SeedKeyDeclaration['grants'] | null> {
    if (decl.grants.length === 0) return [];
    const existing = (await this.store.listGrants(decl.keyId, 0, 10_000)).grants;
    const missing = decl.grants.filter((g) => !existing.some((e) =>
      e.grantee === g.grantee && e.granteeType === g.granteeType && e.name === g.name && [...e.operations].sort().join() === [...g.operations].sort().join()));
    for (const g of missing) {
      if (!(await this.principals.principalExists(g.granteeType, g.grantee))) {
        conflicts.push({ keyId: decl.keyId, message: `no ${g.granteeType === 'domain' ? 'account' : 'user'} has the id ${g.grantee} (grant ${g.name || 'without name'})` });
        return null;
      }
    }
    return missing;
  }

  /**
   * The keys of a project this region is primary of (replicas of keys whose primary is elsewhere are left out: they
   * are exported with their primary), oldest first, with tags and grants and, with `withMaterial`, the material of
   * every version (unwrapped: the caller seals it and must not keep it). Keys pending deletion or without material
   * come back in `skipped`.
   */
  async export(projectId: string, withMaterial: boolean): Promise<{ keys: ExportedKey[]; skipped: { keyId: string; reason: string }[] }> {
    const now = this.clock();
    const keys: ExportedKey[] = [];
    const skipped: { keyId: string; reason: string }[] = [];
    for (const key of (await this.store.listKeys(projectId, {}, 0, Number.MAX_SAFE_INTEGER)).keys) {
      if (key.pendingAttempt !== null || isDestroyed(key, now) || key.alias.endsWith('/default')) continue;
      if (!isPrimaryIn(key, this.o.region)) continue;
      if (key.state === '4') {
        skipped.push({ keyId: key.id, reason: 'pending deletion' });
        continue;
      }
      if (key.currentVersion === 0) {
        skipped.push({ keyId: key.id, reason: 'no key material (awaiting import)' });
        continue;
      }
      if (key.keystoreId !== '0') {
        skipped.push({ keyId: key.id, reason: 'material in a dedicated keystore (its HSM keeps it)' });
        continue;
      }
      const entry: ExportedKey = { key, tags: await this.store.getTags(key.id), grants: (await this.store.listGrants(key.id, 0, 10_000)).grants };
      if (withMaterial) {
        entry.versions = [];
        for (const v of await this.store.versionNumbers(key.id)) {
          const m = await this.material.unwrapped(key.id, v);
          if (m) entry.versions.push(m);
        }
      }
      keys.push(entry);
    }
    return { keys, skipped };
  }

  #context(scope: SeedScope): CallerContext {
    return {
      projectId: scope.projectId, projectName: scope.projectName, domainId: scope.domainId, region: this.o.region,
      caller: { userId: scope.issuer, userName: 'seed', domainId: scope.domainId, domainName: '', authMethod: 'access-key' },
    };
  }
}
