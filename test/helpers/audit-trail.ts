/** Reading a store's whole audit trail in tests, a page at a time, and checking it is one valid chain. */
import assert from 'node:assert/strict';
import { verifyChain } from '../../src/audit/audit-chain.js';
import { auditKey } from '../../src/audit/audit-log.js';
import type { AuditRecord } from '../../src/audit/audit-store.js';
import type { RootKey } from '../../src/keystore/root-key.js';
import type { KmsStore } from '../../src/storage/kms-store.js';

/** Every record of the store's trail in sequence order, after asserting they chain from the genesis. */
export async function verifiedTrail(store: KmsStore, rootKey: RootKey): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for (let after = 0; ; ) {
    const page = await store.auditRecords({ afterSeq: after, limit: 5000 });
    records.push(...page);
    if (page.length < 5000) break;
    after = page.at(-1)!.seq;
  }
  const verdict = verifyChain(await auditKey(store, rootKey), records, { seq: 0 });
  assert.ok(verdict.ok, JSON.stringify(verdict));
  return records;
}
