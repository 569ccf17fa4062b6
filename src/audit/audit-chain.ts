/**
 * The chain of audit records: record n carries `prev_mac` (record n−1's MAC; 64 zeros for the first) and
 * `mac` = HMAC-SHA256(audit key, canonical JSON of the record without `mac`), so a changed, removed, inserted or
 * reordered record breaks the chain at that place. The canonical JSON sorts object keys (recursively) and has no
 * whitespace. A pruned trail starts after an anchor (the last pruned record's seq and MAC, MAC'd with the key).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditAnchor, AuditEntry, AuditRecord } from './audit-store.js';

export const GENESIS_MAC = '0'.repeat(64);

/** JSON with object keys sorted at every level, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function recordMac(key: Buffer, record: Omit<AuditRecord, 'mac'>): string {
  return createHmac('sha256', key).update(canonicalJson(record)).digest('hex');
}

/** The record an entry becomes at `seq` after a record whose MAC is `prevMac`. */
export function seal(key: Buffer, entry: AuditEntry, seq: number, prevMac: string): AuditRecord {
  const body = { ...entry, seq, prev_mac: prevMac };
  return { ...body, mac: recordMac(key, body) };
}

/** The anchor left when every record up to `last` is pruned. */
export function anchorAfter(key: Buffer, last: { seq: number; mac: string }): AuditAnchor {
  return { seq: last.seq, mac: last.mac, anchor_mac: createHmac('sha256', key).update(`anchor\n${last.seq}\n${last.mac}`).digest('hex') };
}

/** Constant-time equality of two MACs in hex. */
export function sameMac(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type ChainVerdict =
  | { ok: true; records: number; head: { seq: number; mac: string } }
  | { ok: false; records: number; bad: number; reason: string };

/**
 * Checks records in the order given. `start` is where the chain must begin: the anchor of a pruned trail, the
 * genesis (seq 0) for a whole trail, or null to begin at the first record as it is (an export from a later point,
 * checked from there on). With `contiguous: false` (an export filtered by key) each record's MAC is checked alone.
 * `bad` is the sequence number of the first bad record (or the position where one is missing).
 */
export function verifyChain(key: Buffer, records: Iterable<AuditRecord>, start: AuditAnchor | { seq: 0 } | null, contiguous = true): ChainVerdict {
  let count = 0;
  let prev: { seq: number; mac: string } | null = null;
  if (start && 'anchor_mac' in start) {
    if (!sameMac(anchorAfter(key, start).anchor_mac, start.anchor_mac)) return { ok: false, records: 0, bad: start.seq, reason: 'the anchor of the pruned trail is not authentic' };
    prev = { seq: start.seq, mac: start.mac };
  } else if (start) {
    prev = { seq: 0, mac: GENESIS_MAC };
  }
  for (const r of records) {
    const { mac, ...body } = r;
    if (typeof mac !== 'string' || !sameMac(recordMac(key, body), mac)) return { ok: false, records: count, bad: r.seq, reason: 'the record was changed (its MAC does not match)' };
    if (contiguous && prev !== null) {
      if (r.seq !== prev.seq + 1) {
        return { ok: false, records: count, bad: prev.seq + 1, reason: r.seq > prev.seq + 1 ? `record ${prev.seq + 1} is missing` : `record ${r.seq} is out of order or repeated` };
      }
      if (!sameMac(r.prev_mac, prev.mac)) return { ok: false, records: count, bad: r.seq, reason: 'the record does not follow the previous one (chain broken)' };
    }
    prev = { seq: r.seq, mac };
    count++;
  }
  return { ok: true, records: count, head: prev ?? { seq: 0, mac: GENESIS_MAC } };
}
