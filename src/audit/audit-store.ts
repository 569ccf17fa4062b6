/**
 * The audit trail's part of a store contract (KMS regions and IAM keep their trail in their own store, so it moves
 * with them to PostgreSQL). Records are chained (audit-chain.ts): each carries a MAC over itself and the previous
 * record's MAC, computed inside the same transaction that reads the chain's head.
 */

/** Who made a call, as the audit trail records it (never a secret: no token, signature or secret key). */
export interface AuditCaller {
  user_id: string;
  user_name: string;
  domain_id: string;
  domain_name: string;
  /** The project the call acted on, when it names one. */
  project_id: string | null;
  project_name: string | null;
  /** `token`, `access-key` or `temporary-access-key`. */
  auth_method: string;
  access_key_id: string | null;
}

/** One call, before it is chained. `status` 0 means the process stopped before the answer was recorded. */
export interface AuditEntry {
  /** ISO 8601 UTC with milliseconds: when the request arrived. */
  time: string;
  request_id: string;
  /** `kms` or `iam`. */
  service: string;
  /** The region id, or `global` for IAM. */
  region: string;
  /** Null when the caller could not be authenticated, or for a region's own work (a peer call, a sweep). */
  caller: AuditCaller | null;
  /** For calls between regions: the region that called. */
  peer?: string;
  /** The grants that allowed the call where the caller's IAM policies did not (core/grants.ts). */
  grant_ids?: string[];
  source_ip: string;
  /**
   * The SDK operation name (docs/reference/huawei-kms-api.md §2), e.g. `ListKeyDetail`; `internal:<call>` for a call
   * from another region, `system:<work>` for a region's own background work, `cli:iam <command>` for the admin CLI.
   */
  operation: string;
  /** The IAM action checked, or null for operations without one. */
  action: string | null;
  key_ids: string[];
  /** HTTP status of the answer (0: unknown, the process stopped first). */
  status: number;
  /** The error code of a failed call, else null. */
  error_code: string | null;
  /** Milliseconds from arrival to the answer. */
  duration_ms: number;
}

/** A chained record: `seq` counts from 1; `prev_mac` and `mac` are lowercase hex HMAC-SHA256 values. */
export interface AuditRecord extends AuditEntry {
  seq: number;
  prev_mac: string;
  mac: string;
}

/** Where a pruned trail starts: the last pruned record's sequence number and MAC, and a MAC over both. */
export interface AuditAnchor {
  seq: number;
  mac: string;
  anchor_mac: string;
}

/** Computes the MAC of an entry placed at `seq` after a record whose MAC is `prevMac`. */
export type AuditSeal = (entry: AuditEntry, seq: number, prevMac: string) => AuditRecord;

export interface AuditQuery {
  /** Only records with a larger sequence number. */
  afterSeq?: number;
  /** Only records at or after this time (epoch ms). */
  sinceMs?: number;
  /** Only records naming this key. */
  keyId?: string;
  limit: number;
}

export interface AuditStore {
  /**
   * In one transaction: stores `pending` entries (calls that change state, recorded before they run), chains and
   * stores `records` after the current head, and removes the pending entries those records complete (same
   * request id). Throws when the store refuses the write.
   */
  appendAudit(pending: readonly AuditEntry[], records: readonly AuditEntry[], seal: AuditSeal): Promise<void>;
  /** Pending entries left behind (a process stopped between a call's start and its record). */
  pendingAudit(): Promise<AuditEntry[]>;
  /** Records in sequence order. */
  auditRecords(query: AuditQuery): Promise<AuditRecord[]>;
  auditAnchor(): Promise<AuditAnchor | null>;
  /** Deletes every record up to `anchor.seq` and stores the anchor, in one transaction; returns how many. */
  pruneAudit(anchor: AuditAnchor): Promise<number>;
}
