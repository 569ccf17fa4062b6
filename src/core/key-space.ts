/**
 * Trusted key spaces (docs/reference/huawei-kms-api.md §2 P, §4 P 63–75; issue #14): access points register the
 * workloads of a key space, key policies say which access points may open capsules and when, and a data-key capsule
 * holds a data key that only an attested, allowed, enabled access point opens within its policy's validity period.
 *
 * Key spaces have no API of their own: a `keyspace_id` is taken as the SDK sends it and scopes the access points and
 * policies made under it (in one project).
 *
 * The capsule (Strongroom's format; Huawei does not publish one): `datakey_capsule` is the Base64 of
 *   uint16 BE n ‖ binding (n bytes of UTF-8 JSON) ‖ blob
 * where `binding` is `{"keyspace_id": …, "policy_id": …}` for a capsule bound to a stored key policy, or
 * `{"key_policy": <document>}` for one made with an inline policy, and `blob` is the data key sealed under the CMK
 * (core/ciphertext.ts, kind 0x03) with `strongroom datakey capsule\0` ‖ binding as associated data: a changed binding
 * (another policy, another key space) does not open, and no other operation opens the blob. A stored policy is read
 * when the capsule is opened, so its updates and its deletion take effect at once; an inline one is fixed.
 *
 * A decision to open (decryptCapsule) requires, in order: a capsule that parses, names `key_id` and authenticates
 * (its binding included); an attestation document that proves an access point of the project (Custom:
 * core/attestation.ts checkCustomAttestation; ECS, CCE: the PlatformAttestation); that access point enabled; the
 * policy (still) existing, in the access point's key space, listing the access point, and in its validity period.
 * Refusals are 403 KMS.0306 (the audit trail records each call with its code), unreadable documents KMS.3804,
 * unreadable capsules KMS.2201.
 * `allowed_data_security_zone` is kept and shown but grants nothing: no platform here proves a zone.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { KmsError } from '../errors.js';
import type { RootKey } from '../keystore/root-key.js';
import type { AccessPointRecord, KeyPolicyRecord } from '../storage/key-space-store.js';
import type { KmsStore } from '../storage/kms-store.js';
import { checkCustomAttestation, parseIsoSeconds, spkiKey, type PlatformAttestation } from './attestation.js';
import type { CallerContext, Clock } from './context.js';
import type { CryptoOps } from './crypto-ops.js';
import { KEY_PAIR_SPECS } from '../crypto/algorithms.js';

/** Access point types as Huawei numbers them (docs/reference/huawei-kms-api.md §3.3). */
export const ACCESS_POINT_TYPES = { ECS: 1, CCE: 2, Custom: 3 } as const;

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** At most this many access points and data security zones in one policy (ours; Huawei does not say). */
const MAX_POLICY_ENTRIES = 100;

/** What a Custom access point's wrapped private key is bound to: it unwraps for that access point only. */
export function accessPointKeyContext(accessPointId: string): Buffer {
  return Buffer.from(`strongroom access point private key\0${accessPointId}`);
}

/** A key policy document (the `policy` string of CreateKeyPolicy/UpdateKeyPolicy), checked and normalised. */
export interface KeyPolicyDocument {
  version: string;
  validity_period: { start_time: string; end_time: string };
  allowed_access_point: string[];
  allowed_data_security_zone: string[];
}

/**
 * Parses a policy document: a JSON object with `version` (string), `validity_period` {start_time, end_time}
 * (`yyyy-mm-ddTHH:MM:SSZ`), `allowed_access_point` (access point ids) and `allowed_data_security_zone` (strings,
 * optional), nothing else. KMS.0308 for anything malformed, KMS.2801 when end_time is not after start_time.
 */
export function parseKeyPolicy(text: string): KeyPolicyDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KmsError('KMS.0308', 'policy must be a JSON document in a string.');
  }
  const bad = (what: string): never => {
    throw new KmsError('KMS.0308', `policy: ${what}.`);
  };
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return bad('it must be a JSON object');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!['version', 'validity_period', 'allowed_access_point', 'allowed_data_security_zone'].includes(k)) bad(`unknown field ${k}`);
  }
  if (typeof d.version !== 'string' || d.version.length < 1 || d.version.length > 32) bad('version must be a string of 1–32 characters');
  const vp = d.validity_period as Record<string, unknown> | undefined;
  if (vp === null || typeof vp !== 'object' || Array.isArray(vp)) return bad('validity_period {start_time, end_time} is required');
  const start = typeof vp.start_time === 'string' ? parseIsoSeconds(vp.start_time) : null;
  const end = typeof vp.end_time === 'string' ? parseIsoSeconds(vp.end_time) : null;
  if (start === null || end === null) bad('validity_period.start_time and end_time must be ISO-8601 UTC times yyyy-mm-ddTHH:MM:SSZ');
  if (end! <= start!) throw new KmsError('KMS.2801');
  const list = (value: unknown, name: string, check: (s: string) => boolean): string[] => {
    if (!Array.isArray(value) || value.length > MAX_POLICY_ENTRIES || !value.every((x) => typeof x === 'string' && check(x))) {
      bad(`${name} must be a list of at most ${MAX_POLICY_ENTRIES} ${name === 'allowed_access_point' ? 'access point ids' : 'non-empty strings of at most 64 characters'}`);
    }
    return [...new Set(value as string[])];
  };
  return {
    version: d.version as string,
    validity_period: { start_time: vp.start_time as string, end_time: vp.end_time as string },
    allowed_access_point: list(d.allowed_access_point, 'allowed_access_point', (s) => UUID.test(s)),
    allowed_data_security_zone: d.allowed_data_security_zone === undefined ? [] : list(d.allowed_data_security_zone, 'allowed_data_security_zone', (s) => s.length >= 1 && s.length <= 64),
  };
}

/** What CreateAccessPoint takes. */
export interface NewAccessPoint {
  keyspaceId: string;
  name: string;
  type: 1 | 2 | 3;
  identity?: string;
  clusterId?: string;
  description?: string;
}

/** The attestation document of DecryptDatakeyCapsule (SDK DecryptDatakeyCapsuleRequestBodyAttestationDocument). */
export interface AttestationInput {
  ecs_signature?: string;
  custom_signature?: string;
  custom_public_key?: string;
  expire_time?: string;
  service_token?: string;
}

interface CapsuleBinding {
  keyspace_id?: string;
  policy_id?: string;
  key_policy?: KeyPolicyDocument;
}

const BINDING_CONTEXT = 'strongroom datakey capsule\0';

function encodeCapsule(binding: Buffer, blob: Buffer): string {
  const n = Buffer.alloc(2);
  n.writeUInt16BE(binding.length);
  return Buffer.concat([n, binding, blob]).toString('base64');
}

/** The binding and blob of a capsule; KMS.2201 for anything that is not one. */
function decodeCapsule(capsule: string): { bindingBytes: Buffer; binding: CapsuleBinding; blob: Buffer } {
  const bytes = Buffer.from(capsule, 'base64');
  const invalid = () => new KmsError('KMS.2201', 'datakey_capsule is not a capsule made by datakey-capsule/create.');
  if (bytes.toString('base64') !== capsule || bytes.length < 3) throw invalid();
  const n = bytes.readUInt16BE(0);
  if (2 + n >= bytes.length) throw invalid();
  const bindingBytes = bytes.subarray(2, 2 + n);
  let binding: CapsuleBinding;
  try {
    binding = JSON.parse(bindingBytes.toString('utf8')) as CapsuleBinding;
  } catch {
    throw invalid();
  }
  if (binding === null || typeof binding !== 'object') throw invalid();
  return { bindingBytes, binding, blob: bytes.subarray(2 + n) };
}

/** The access points, key policies and capsules of a region's projects. */
export class KeySpaceService {
  constructor(
    private readonly store: KmsStore,
    private readonly rootKey: RootKey,
    private readonly crypto: CryptoOps,
    private readonly clock: Clock,
    private readonly platform: PlatformAttestation,
  ) {}

  /**
   * Registers an access point. ECS needs `identity` (the instance id), CCE `identity` (the cluster's public key) and
   * `cluster_id` (KMS.0204 without them); a Custom one takes neither (KMS.0308): Strongroom generates its EC P-256
   * key pair and keeps the private key wrapped by the root key.
   */
  async createAccessPoint(ctx: CallerContext, input: NewAccessPoint): Promise<AccessPointRecord> {
    const identity = input.identity ?? '';
    const clusterId = input.clusterId ?? '';
    const id = randomUUID();
    let publicKey: Buffer | null = null;
    let wrappedPrivateKey: Buffer | null = null;
    if (input.type === ACCESS_POINT_TYPES.Custom) {
      if (identity !== '' || clusterId !== '') throw new KmsError('KMS.0308', 'A Custom access point takes no identity or cluster_id: Strongroom generates its key pair.');
      const pair = await KEY_PAIR_SPECS.EC_P256.generateAsync();
      try {
        publicKey = Buffer.from(pair.publicKey);
        wrappedPrivateKey = await this.rootKey.wrap(pair.privateKey, accessPointKeyContext(id));
      } finally {
        pair.privateKey.fill(0);
      }
    } else {
      if (identity === '') throw new KmsError('KMS.0204', `identity is required for ${input.type === 1 ? 'an ECS access point (the ECS id)' : 'a CCE access point (the cluster public key)'}.`);
      if (input.type === ACCESS_POINT_TYPES.CCE && clusterId === '') throw new KmsError('KMS.0204', 'cluster_id is required for a CCE access point.');
      if (input.type === ACCESS_POINT_TYPES.ECS && clusterId !== '') throw new KmsError('KMS.0308', 'cluster_id is for CCE access points only.');
    }
    const now = this.clock();
    const record: AccessPointRecord = {
      id, projectId: ctx.projectId, keyspaceId: input.keyspaceId, name: input.name, type: input.type, state: 1, identity, clusterId,
      description: input.description ?? '', createdBy: ctx.caller.userId, createdAt: now, updatedAt: now, publicKey, wrappedPrivateKey,
    };
    await this.store.insertAccessPoint(record);
    return record;
  }

  /** A page of a key space's access points by id after `marker` ('' from the start); `nextMarker` '' on the last page. */
  async listAccessPoints(ctx: CallerContext, keyspaceId: string, limit: number, marker: string): Promise<{ accessPoints: AccessPointRecord[]; nextMarker: string }> {
    const page = await this.store.listAccessPoints(ctx.projectId, keyspaceId, marker, limit + 1);
    const accessPoints = page.slice(0, limit);
    return { accessPoints, nextMarker: page.length > limit ? accessPoints.at(-1)!.id : '' };
  }

  /** KMS.0308 when the project has no such access point (Huawei documents no code for it). */
  async accessPoint(ctx: CallerContext, id: string): Promise<AccessPointRecord> {
    const ap = await this.store.getAccessPoint(ctx.projectId, id);
    if (!ap) throw new KmsError('KMS.0308', `The project has no access point ${id}.`);
    return ap;
  }

  /** Deletes an access point with its private key: it opens no capsule any more. KMS.0308 when there is none. */
  async deleteAccessPoint(ctx: CallerContext, id: string): Promise<void> {
    if (!(await this.store.deleteAccessPoint(ctx.projectId, id))) throw new KmsError('KMS.0308', `The project has no access point ${id}.`);
  }

  /** Enables (1) or disables (0) an access point; doing it again changes nothing. A disabled one opens no capsule. */
  async setAccessPointState(ctx: CallerContext, id: string, state: 0 | 1): Promise<void> {
    if (!(await this.store.setAccessPointState(ctx.projectId, id, state, this.clock()))) throw new KmsError('KMS.0308', `The project has no access point ${id}.`);
  }

  /** The PKCS#8 DER private key of a Custom access point; KMS.0308 for ECS and CCE access points, which have none. */
  async privateKey(ctx: CallerContext, id: string): Promise<Buffer> {
    const ap = await this.accessPoint(ctx, id);
    if (ap.type !== ACCESS_POINT_TYPES.Custom || !ap.wrappedPrivateKey) {
      throw new KmsError('KMS.0308', 'Only Custom access points have a private key; ECS and CCE workloads are attested by their platform.');
    }
    return this.rootKey.unwrap(ap.wrappedPrivateKey, accessPointKeyContext(ap.id));
  }

  /** Stores a key policy in a key space (its document checked by parseKeyPolicy). */
  async createKeyPolicy(ctx: CallerContext, input: { keyspaceId: string; name: string; policy: string; description?: string }): Promise<KeyPolicyRecord> {
    const document = parseKeyPolicy(input.policy);
    const now = this.clock();
    const record: KeyPolicyRecord = {
      id: randomUUID(), projectId: ctx.projectId, keyspaceId: input.keyspaceId, name: input.name, document: JSON.stringify(document),
      description: input.description ?? '', createdBy: ctx.caller.userId, createdAt: now, updatedAt: now, lastAccessAt: null,
    };
    await this.store.insertKeyPolicy(record);
    return record;
  }

  /** A page of a key space's key policies by id after `marker` ('' from the start); `nextMarker` '' on the last page. */
  async listKeyPolicies(ctx: CallerContext, keyspaceId: string, limit: number, marker: string): Promise<{ policies: KeyPolicyRecord[]; nextMarker: string }> {
    const page = await this.store.listKeyPolicies(ctx.projectId, keyspaceId, marker, limit + 1);
    const policies = page.slice(0, limit);
    return { policies, nextMarker: page.length > limit ? policies.at(-1)!.id : '' };
  }

  /** KMS.0308 when the project has no such key policy (Huawei documents no code for it). */
  async keyPolicy(ctx: CallerContext, id: string): Promise<KeyPolicyRecord> {
    const policy = await this.store.getKeyPolicy(ctx.projectId, id);
    if (!policy) throw new KmsError('KMS.0308', `The project has no key policy ${id}.`);
    return policy;
  }

  /** Replaces a policy's document (and description when given); in force for the next capsule opened. */
  async updateKeyPolicy(ctx: CallerContext, id: string, policy: string, description: string | undefined): Promise<KeyPolicyRecord> {
    const document = JSON.stringify(parseKeyPolicy(policy));
    if (!(await this.store.updateKeyPolicy(ctx.projectId, id, document, description, this.clock()))) throw new KmsError('KMS.0308', `The project has no key policy ${id}.`);
    return this.keyPolicy(ctx, id);
  }

  /** Deletes a key policy: capsules bound to it open no more. KMS.0308 when there is none. */
  async deleteKeyPolicy(ctx: CallerContext, id: string): Promise<void> {
    if (!(await this.store.deleteKeyPolicy(ctx.projectId, id))) throw new KmsError('KMS.0308', `The project has no key policy ${id}.`);
  }

  /**
   * A new data key of `bytes` bytes and its capsule, bound to a stored policy (`policyId`) or an inline document
   * (`inlinePolicy`), exactly one of them (KMS.0204 / KMS.0308). A policy whose validity period has ended is
   * refused (KMS.0306): its capsule could never be opened.
   */
  async createCapsule(ctx: CallerContext, keyId: string, bytes: number, policyId: string | undefined, inlinePolicy: string | undefined): Promise<{ keyId: string; dataKey: Buffer; capsule: string }> {
    if (policyId === undefined && inlinePolicy === undefined) throw new KmsError('KMS.0204', 'Give policy_id or key_policy.');
    if (policyId !== undefined && inlinePolicy !== undefined) throw new KmsError('KMS.0308', 'Give policy_id or key_policy, not both.');
    let binding: CapsuleBinding;
    let document: KeyPolicyDocument;
    let stored: KeyPolicyRecord | null = null;
    if (policyId !== undefined) {
      stored = await this.keyPolicy(ctx, policyId);
      document = JSON.parse(stored.document) as KeyPolicyDocument;
      binding = { keyspace_id: stored.keyspaceId, policy_id: stored.id };
    } else {
      document = parseKeyPolicy(inlinePolicy!);
      binding = { key_policy: document };
    }
    const now = this.clock();
    if (parseIsoSeconds(document.validity_period.end_time)! < now) throw new KmsError('KMS.0306', 'The key policy\'s validity period has ended.');
    const bindingBytes = Buffer.from(JSON.stringify(binding), 'utf8');
    const dataKey = randomBytes(bytes);
    const sealed = await this.crypto.sealCapsule(ctx, keyId, dataKey, Buffer.concat([Buffer.from(BINDING_CONTEXT), bindingBytes]));
    if (stored) await this.store.touchKeyPolicy(stored.id, now);
    return { keyId: sealed.keyId, dataKey, capsule: encodeCapsule(bindingBytes, sealed.blob) };
  }

  /**
   * Opens a capsule for the access point the attestation document proves (the rules in this file's comment).
   * Returns the data key and the `instance_id` Huawei answers: the access point id (Custom), the ECS instance id or
   * the CCE cluster id.
   */
  async decryptCapsule(ctx: CallerContext, keyId: string, capsule: string, attestation: AttestationInput): Promise<{ dataKey: Buffer; instanceId: string; accessPointId: string }> {
    const { bindingBytes, binding, blob } = decodeCapsule(capsule);
    const now = this.clock();
    // Opened first: the blob authenticates the binding, so nothing below reads a binding that was altered.
    const dataKey = await this.crypto.openCapsule(ctx, keyId, blob, Buffer.concat([Buffer.from(BINDING_CONTEXT), bindingBytes]));
    try {
      const { ap, instanceId } = await this.#attested(ctx, binding, capsule, attestation, now);
      if (ap.state !== 1) throw new KmsError('KMS.0306', `Access point ${ap.id} is disabled.`);
      const document = await this.#policyOf(ctx, binding, ap);
      if (!document.allowed_access_point.some((id) => id.toLowerCase() === ap.id)) {
        throw new KmsError('KMS.0306', `The capsule's key policy does not allow access point ${ap.id}.`);
      }
      const start = parseIsoSeconds(document.validity_period.start_time)!;
      const end = parseIsoSeconds(document.validity_period.end_time)!;
      if (now < start || now > end) throw new KmsError('KMS.0306', 'The capsule\'s key policy is not in its validity period.');
      if (binding.policy_id !== undefined) await this.store.touchKeyPolicy(binding.policy_id, now);
      return { dataKey, instanceId, accessPointId: ap.id };
    } catch (err) {
      dataKey.fill(0);
      throw err;
    }
  }

  /** The access point an attestation document proves, and the instance id to answer. */
  async #attested(ctx: CallerContext, binding: CapsuleBinding, capsule: string, a: AttestationInput, now: number): Promise<{ ap: AccessPointRecord; instanceId: string }> {
    if (a.custom_signature !== undefined || a.custom_public_key !== undefined) {
      if (a.custom_signature === undefined || a.custom_public_key === undefined || a.expire_time === undefined) {
        throw new KmsError('KMS.3804', 'A Custom attestation has custom_signature, custom_public_key and expire_time.');
      }
      const key = spkiKey(strictBase64(a.custom_public_key, 'custom_public_key'));
      const ap = await this.store.accessPointByPublicKey(ctx.projectId, key.export({ format: 'der', type: 'spki' }));
      if (!ap) {
        throw new KmsError('KMS.0306', 'No access point of the project has this custom_public_key.');
      }
      checkCustomAttestation(key, strictBase64(a.custom_signature, 'custom_signature'), capsule, a.expire_time, now);
      return { ap, instanceId: ap.id };
    }
    const kind = a.ecs_signature !== undefined ? 'ECS' : a.service_token !== undefined ? 'CCE' : null;
    if (kind === null) throw new KmsError('KMS.3804', 'attestation_document has no evidence: custom_signature, ecs_signature or service_token.');
    if (!this.platform.available) throw new KmsError('KMS.0306', `No platform attests ${kind} workloads in this deployment.`);
    const proven = await this.platform.workload(kind, (kind === 'ECS' ? a.ecs_signature : a.service_token)!, capsule);
    if (proven === null) throw new KmsError('KMS.0306', `The ${kind} attestation does not verify for this capsule.`);
    // The access point is one the policy names, of that kind, whose identity (ECS id) or cluster id is the one proven.
    const candidates = binding.key_policy?.allowed_access_point
      ?? (binding.policy_id !== undefined ? (JSON.parse((await this.store.getKeyPolicy(ctx.projectId, binding.policy_id))?.document ?? '{"allowed_access_point":[]}') as KeyPolicyDocument).allowed_access_point : []);
    for (const id of candidates) {
      const ap = await this.store.getAccessPoint(ctx.projectId, id.toLowerCase());
      if (ap && ap.type === ACCESS_POINT_TYPES[kind] && (kind === 'ECS' ? ap.identity : ap.clusterId) === proven) return { ap, instanceId: proven };
    }
    throw new KmsError('KMS.0306', `No access point the capsule's key policy allows is ${kind} ${proven}.`);
  }

  /** The policy a capsule is bound to, as it stands now; a stored one must exist and share the access point's key space. */
  async #policyOf(ctx: CallerContext, binding: CapsuleBinding, ap: AccessPointRecord): Promise<KeyPolicyDocument> {
    if (binding.key_policy !== undefined) return binding.key_policy;
    const stored = binding.policy_id !== undefined ? await this.store.getKeyPolicy(ctx.projectId, binding.policy_id) : null;
    if (!stored || stored.keyspaceId !== binding.keyspace_id) throw new KmsError('KMS.0306', 'The capsule\'s key policy no longer exists.');
    if (ap.keyspaceId !== stored.keyspaceId) throw new KmsError('KMS.0306', `Access point ${ap.id} is in another key space than the capsule's key policy.`);
    return JSON.parse(stored.document) as KeyPolicyDocument;
  }
}

/** Bytes of a strict Base64 field of an attestation document; KMS.3804 otherwise. */
function strictBase64(value: string, field: string): Buffer {
  const bytes = Buffer.from(value, 'base64');
  if (value.length === 0 || bytes.toString('base64') !== value) throw new KmsError('KMS.3804', `${field} must be Base64.`);
  return bytes;
}
