/** The key-space tables on SQLite (storage/key-space-store.ts): statements of one connection and their row mapping. */
import type { AccessPointRecord, KeyPolicyRecord } from '../key-space-store.js';
import { ACCESS_POINT_COLUMNS, accessPointFromRow, accessPointValues, KEY_POLICY_COLUMNS, keyPolicyFromRow, keyPolicyValues, type AccessPointRow, type KeyPolicyRow } from '../key-space-rows.js';
import type { Db } from './database.js';

/** The key-space statements of one SQLite connection, with the KeySpaceStore methods over them. */
export class SqliteKeySpaceTables {
  readonly #s;
  constructor(db: Db) {
    this.#s = {
      insertAp: db.prepare(`INSERT INTO access_points (${ACCESS_POINT_COLUMNS.join(', ')}) VALUES (${ACCESS_POINT_COLUMNS.map(() => '?').join(', ')})`),
      getAp: db.prepare('SELECT * FROM access_points WHERE project_id = ? AND id = ?'),
      apByKey: db.prepare('SELECT * FROM access_points WHERE project_id = ? AND public_key = ? AND public_key IS NOT NULL'),
      listAps: db.prepare('SELECT * FROM access_points WHERE project_id = ? AND keyspace_id = ? AND id > ? ORDER BY id LIMIT ?'),
      setApState: db.prepare('UPDATE access_points SET state = ?, updated_at = ? WHERE project_id = ? AND id = ?'),
      deleteAp: db.prepare('DELETE FROM access_points WHERE project_id = ? AND id = ?'),
      apKeys: db.prepare('SELECT id, wrapped_private_key FROM access_points WHERE wrapped_private_key IS NOT NULL ORDER BY id'),
      replaceApKey: db.prepare('UPDATE access_points SET wrapped_private_key = ? WHERE id = ? AND wrapped_private_key = ?'),
      insertPolicy: db.prepare(`INSERT INTO key_policies (${KEY_POLICY_COLUMNS.join(', ')}) VALUES (${KEY_POLICY_COLUMNS.map(() => '?').join(', ')})`),
      getPolicy: db.prepare('SELECT * FROM key_policies WHERE project_id = ? AND id = ?'),
      listPolicies: db.prepare('SELECT * FROM key_policies WHERE project_id = ? AND keyspace_id = ? AND id > ? ORDER BY id LIMIT ?'),
      updatePolicy: db.prepare('UPDATE key_policies SET document = ?, description = COALESCE(?, description), updated_at = ? WHERE project_id = ? AND id = ?'),
      deletePolicy: db.prepare('DELETE FROM key_policies WHERE project_id = ? AND id = ?'),
      touchPolicy: db.prepare('UPDATE key_policies SET last_access_at = ? WHERE id = ?'),
    };
  }

  insertAccessPoint(ap: AccessPointRecord): void { this.#s.insertAp.run(...accessPointValues(ap)); }
  getAccessPoint(projectId: string, id: string): AccessPointRecord | null {
    const row = this.#s.getAp.get(projectId, id) as AccessPointRow | undefined;
    return row ? accessPointFromRow(row) : null;
  }
  accessPointByPublicKey(projectId: string, spki: Buffer): AccessPointRecord | null {
    const row = this.#s.apByKey.get(projectId, spki) as AccessPointRow | undefined;
    return row ? accessPointFromRow(row) : null;
  }
  listAccessPoints(projectId: string, keyspaceId: string, after: string, limit: number): AccessPointRecord[] {
    return (this.#s.listAps.all(projectId, keyspaceId, after, limit) as AccessPointRow[]).map(accessPointFromRow);
  }
  setAccessPointState(projectId: string, id: string, state: 0 | 1, updatedAt: number): boolean {
    return this.#s.setApState.run(state, updatedAt, projectId, id).changes === 1;
  }
  deleteAccessPoint(projectId: string, id: string): boolean { return this.#s.deleteAp.run(projectId, id).changes === 1; }
  listAccessPointKeys(): { id: string; wrapped: Buffer }[] {
    return (this.#s.apKeys.all() as { id: string; wrapped_private_key: Buffer }[]).map((r) => ({ id: r.id, wrapped: r.wrapped_private_key }));
  }
  replaceAccessPointKey(id: string, expected: Buffer, replacement: Buffer): boolean {
    return this.#s.replaceApKey.run(replacement, id, expected).changes === 1;
  }
  insertKeyPolicy(k: KeyPolicyRecord): void { this.#s.insertPolicy.run(...keyPolicyValues(k)); }
  getKeyPolicy(projectId: string, id: string): KeyPolicyRecord | null {
    const row = this.#s.getPolicy.get(projectId, id) as KeyPolicyRow | undefined;
    return row ? keyPolicyFromRow(row) : null;
  }
  listKeyPolicies(projectId: string, keyspaceId: string, after: string, limit: number): KeyPolicyRecord[] {
    return (this.#s.listPolicies.all(projectId, keyspaceId, after, limit) as KeyPolicyRow[]).map(keyPolicyFromRow);
  }
  updateKeyPolicy(projectId: string, id: string, document: string, description: string | undefined, updatedAt: number): boolean {
    return this.#s.updatePolicy.run(document, description ?? null, updatedAt, projectId, id).changes === 1;
  }
  deleteKeyPolicy(projectId: string, id: string): boolean { return this.#s.deletePolicy.run(projectId, id).changes === 1; }
  touchKeyPolicy(id: string, at: number): void { this.#s.touchPolicy.run(at, id); }
}
