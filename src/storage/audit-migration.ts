/**
 * The audit trail's tables (audit/audit-store.ts), one migration of both the KMS and the IAM store: chained records
 * as their JSON, an index of the keys each record names, pending entries of calls that change state, and the
 * anchor of a pruned trail. On PostgreSQL, where several nodes append to one trail, the chain's head is a row of its
 * own (`audit_head`) that an append locks, and each pending entry names the node that wrote it.
 */
import { GENESIS_MAC } from '../audit/audit-chain.js';
import type { Migration } from './migration.js';

export const AUDIT_MIGRATION: Migration = {
  description: 'audit trail',
  sqlite: `
  CREATE TABLE audit_records (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, record TEXT NOT NULL);
  CREATE INDEX audit_records_by_time ON audit_records (time_ms);
  CREATE TABLE audit_record_keys (
    seq INTEGER NOT NULL REFERENCES audit_records (seq) ON DELETE CASCADE, key_id TEXT NOT NULL, PRIMARY KEY (key_id, seq));
  CREATE TABLE audit_pending (request_id TEXT PRIMARY KEY, entry TEXT NOT NULL);
  CREATE TABLE audit_anchor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, mac TEXT NOT NULL, anchor_mac TEXT NOT NULL);`,
  postgres: `
  CREATE TABLE audit_records (seq BIGINT PRIMARY KEY, time_ms BIGINT NOT NULL, record TEXT NOT NULL);
  CREATE INDEX audit_records_by_time ON audit_records (time_ms);
  CREATE TABLE audit_record_keys (
    seq BIGINT NOT NULL REFERENCES audit_records (seq) ON DELETE CASCADE, key_id TEXT NOT NULL, PRIMARY KEY (key_id, seq));
  CREATE TABLE audit_pending (request_id TEXT PRIMARY KEY, entry TEXT NOT NULL, node TEXT NOT NULL DEFAULT '');
  CREATE TABLE audit_anchor (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, mac TEXT NOT NULL, anchor_mac TEXT NOT NULL);
  CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, mac TEXT NOT NULL);
  INSERT INTO audit_head (id, seq, mac) VALUES (1, 0, '${GENESIS_MAC}');`,
};
