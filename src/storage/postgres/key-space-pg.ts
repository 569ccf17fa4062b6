/** The key-space tables on PostgreSQL (storage/key-space-store.ts), over a Queryable: the pool or one transaction. */
import type { AccessPointRecord, KeyPolicyRecord, KeySpaceStore } from '../key-space-store.js';
import { ACCESS_POINT_COLUMNS, accessPointFromRow, accessPointValues, KEY_POLICY_COLUMNS, keyPolicyFromRow, keyPolicyValues, type AccessPointRow, type KeyPolicyRow } from '../key-space-rows.js';
import type { Queryable } from './database.js';

const params = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
const INSERT_AP = `INSERT INTO access_points (${ACCESS_POINT_COLUMNS.join(', ')}) VALUES (${params(ACCESS_POINT_COLUMNS.length)})`;
const INSERT_POLICY = `INSERT INTO key_policies (${KEY_POLICY_COLUMNS.join(', ')}) VALUES (${params(KEY_POLICY_COLUMNS.length)})`;

/** KeySpaceStore's methods on one Queryable; ids are compared and ordered bytewise (`COLLATE "C"`), as SQLite does. */
export class PgKeySpaceTables implements KeySpaceStore {
  constructor(private readonly q: Queryable) {}

  async insertAccessPoint(ap: AccessPointRecord): Promise<void> { await this.q.run(INSERT_AP, accessPointValues(ap)); }
  async getAccessPoint(projectId: string, id: string): Promise<AccessPointRecord | null> {
    const [row] = await this.q.rows<AccessPointRow>('SELECT * FROM access_points WHERE project_id = $1 AND id = $2', [projectId, id]);
    return row ? accessPointFromRow(row) : null;
  }
  async accessPointByPublicKey(projectId: string, spki: Buffer): Promise<AccessPointRecord | null> {
    const [row] = await this.q.rows<AccessPointRow>('SELECT * FROM access_points WHERE project_id = $1 AND public_key = $2 AND public_key IS NOT NULL', [projectId, spki]);
    return row ? accessPointFromRow(row) : null;
  }
  async listAccessPoints(projectId: string, keyspaceId: string, after: string, limit: number): Promise<AccessPointRecord[]> {
    return (await this.q.rows<AccessPointRow>(
      'SELECT * FROM access_points WHERE project_id = $1 AND keyspace_id = $2 AND id COLLATE "C" > $3 ORDER BY id COLLATE "C" LIMIT $4', [projectId, keyspaceId, after, limit],
    )).map(accessPointFromRow);
  }
  async setAccessPointState(projectId: string, id: string, state: 0 | 1, updatedAt: number): Promise<boolean> {
    return (await this.q.run('UPDATE access_points SET state = $1, updated_at = $2 WHERE project_id = $3 AND id = $4', [state, updatedAt, projectId, id])) === 1;
  }
  async deleteAccessPoint(projectId: string, id: string): Promise<boolean> {
    return (await this.q.run('DELETE FROM access_points WHERE project_id = $1 AND id = $2', [projectId, id])) === 1;
  }
  async listAccessPointKeys(): Promise<{ id: string; wrapped: Buffer }[]> {
    return (await this.q.rows<{ id: string; wrapped_private_key: Buffer }>('SELECT id, wrapped_private_key FROM access_points WHERE wrapped_private_key IS NOT NULL ORDER BY id COLLATE "C"'))
      .map((r) => ({ id: r.id, wrapped: r.wrapped_private_key }));
  }
  async replaceAccessPointKey(id: string, expected: Buffer, replacement: Buffer): Promise<boolean> {
    return (await this.q.run('UPDATE access_points SET wrapped_private_key = $1 WHERE id = $2 AND wrapped_private_key = $3', [replacement, id, expected])) === 1;
  }
  async insertKeyPolicy(k: KeyPolicyRecord): Promise<void> { await this.q.run(INSERT_POLICY, keyPolicyValues(k)); }
  async getKeyPolicy(projectId: string, id: string): Promise<KeyPolicyRecord | null> {
    const [row] = await this.q.rows<KeyPolicyRow>('SELECT * FROM key_policies WHERE project_id = $1 AND id = $2', [projectId, id]);
    return row ? keyPolicyFromRow(row) : null;
  }
  async listKeyPolicies(projectId: string, keyspaceId: string, after: string, limit: number): Promise<KeyPolicyRecord[]> {
    return (await this.q.rows<KeyPolicyRow>(
      'SELECT * FROM key_policies WHERE project_id = $1 AND keyspace_id = $2 AND id COLLATE "C" > $3 ORDER BY id COLLATE "C" LIMIT $4', [projectId, keyspaceId, after, limit],
    )).map(keyPolicyFromRow);
  }
  async updateKeyPolicy(projectId: string, id: string, document: string, description: string | undefined, updatedAt: number): Promise<boolean> {
    return (await this.q.run('UPDATE key_policies SET document = $1, description = COALESCE($2, description), updated_at = $3 WHERE project_id = $4 AND id = $5',
      [document, description ?? null, updatedAt, projectId, id])) === 1;
  }
  async deleteKeyPolicy(projectId: string, id: string): Promise<boolean> {
    return (await this.q.run('DELETE FROM key_policies WHERE project_id = $1 AND id = $2', [projectId, id])) === 1;
  }
  async touchKeyPolicy(id: string, at: number): Promise<void> { await this.q.run('UPDATE key_policies SET last_access_at = $1 WHERE id = $2', [at, id]); }
}
