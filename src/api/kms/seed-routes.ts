/**
 * The routes `strongroom seed` and `strongroom export` call on a region (never clients): the region's transport key,
 * applying a seed (or its dry run), and reading the region's keys back. Authenticated like the calls between
 * Strongroom's processes (internal-auth.ts) with the deployment's secret, as node `cli:seed` (a name no region can
 * have); every answer is signed. Key material travels sealed (crypto/transport.ts): for the region's transport key
 * when seeding, for a one-off key of the command when exporting, bound to the key id, version and region.
 * Every call is in the region's audit trail (`cli:seed`, `cli:seed dry-run`, `cli:export`, with the keys it named);
 * one that changes state is recorded as pending first.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Ajv } from 'ajv';
import { Type, type Static } from 'typebox';
import type { AuditLog } from '../../audit/audit-log.js';
import type { AuditEntry } from '../../audit/audit-store.js';
import type { ReplicationService } from '../../core/replication.js';
import type { SeedKeyDeclaration, SeedService } from '../../core/seeding.js';
import type { KeySpec, KeyUsage } from '../../core/key-specs.js';
import type { GrantOperation } from '../../core/grants.js';
import { sealFor } from '../../crypto/transport.js';
import { KmsError } from '../../errors.js';
import { verifyInternal } from '../../internal-auth.js';
import type { AppliedRequestStore } from '../../storage/leases.js';
import { auditedInternalHooks } from './audited-internal.js';

/** The node name `strongroom seed` and `export` sign as (region ids cannot hold a colon). */
export const SEED_CALLER = 'cli:seed';

/** What sealed material is bound to: the direction, the key, the version and the region. */
export const seedSealContext = (direction: 'seed' | 'export', keyId: string, version: number, region: string): Buffer =>
  Buffer.from(`strongroom ${direction}\0${keyId}\0${version}\0${region}`);

const Uuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
const Id = Type.String({ pattern: '^[0-9a-zA-Z-]{1,64}$' });
const ApplyBody = Type.Object({
  project_id: Id,
  project_name: Type.String({ maxLength: 128 }),
  domain_id: Id,
  issuer: Type.String({ maxLength: 64 }),
  dry_run: Type.Boolean(),
  keys: Type.Array(Type.Object({
    key_id: Uuid,
    key_alias: Type.String({ minLength: 1, maxLength: 255 }),
    key_spec: Type.String(),
    key_usage: Type.String(),
    key_description: Type.Optional(Type.String({ maxLength: 255 })),
    enabled: Type.Optional(Type.Boolean()),
    tags: Type.Optional(Type.Array(Type.Object({ key: Type.String(), value: Type.String() }), { maxItems: 10 })),
    versions: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: 100 })),
    replicas: Type.Array(Type.Object({ region: Type.String(), project_id: Id })),
    grants: Type.Array(Type.Object({ grantee: Id, grantee_type: Type.Union([Type.Literal('user'), Type.Literal('domain')]), operations: Type.Array(Type.String()), name: Type.String() })),
  }), { maxItems: 10_000 }),
  expect_replicas: Type.Array(Type.Object({ key_id: Uuid, primary_region: Type.String(), key_alias: Type.String() })),
});
export type SeedApplyBody = Static<typeof ApplyBody>;
const ExportBody = Type.Object({ project_id: Id, transport_key: Type.Optional(Type.String()) });
export type SeedExportBody = Static<typeof ExportBody>;

const ajv = new Ajv({ strict: false });
const checkApply = ajv.compile(ApplyBody);
const checkExport = ajv.compile(ExportBody);

export interface SeedApi {
  region: string;
  secret: Buffer;
  seeding: SeedService;
  replication: ReplicationService;
  audit: AuditLog;
  applied: AppliedRequestStore;
}

export function seedRoutes(app: FastifyInstance, api: SeedApi): void {
  app.register(async (r) => {
    r.addHook('preHandler', async (req) => {
      if (verifyInternal(api.secret, req.headers.authorization, req.method, req.url, req.rawBody) !== SEED_CALLER) {
        throw new KmsError('KMS.0306', 'Seed API: the caller does not hold this deployment\'s secret.');
      }
    });
    const operation = (req: FastifyRequest) => {
      const call = req.url.split('?')[0]!;
      if (call.endsWith('/export')) return 'cli:export';
      if (call.endsWith('/apply')) return (req.json as { dry_run?: unknown } | undefined)?.dry_run === false ? 'cli:seed' : 'cli:seed dry-run';
      return 'cli:seed transport-key';
    };
    auditedInternalHooks(r, {
      ...api, name: 'Seed API',
      // A seed that changes keys is taken once: a copy of its signed bytes is refused.
      changes: (req) => operation(req) === 'cli:seed',
      entry: (req, status, startedAt): AuditEntry => {
        const keys = (req.json as { keys?: { key_id?: unknown }[] } | undefined)?.keys;
        const ids = Array.isArray(keys) ? keys.map((k) => k?.key_id).filter((id): id is string => typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id)) : [];
        return {
          time: new Date(startedAt).toISOString(), request_id: req.id, service: 'kms', region: api.region, caller: null,
          source_ip: req.ip, operation: operation(req), action: null, key_ids: ids, status, error_code: null,
          duration_ms: Date.now() - startedAt,
        };
      },
    });

    r.get('/internal/v1/seed/transport-key', async () => ({ region: api.region, public_key: api.replication.transportPublicKey.toString('base64') }));

    r.post('/internal/v1/seed/apply', async (req) => {
      if (!checkApply(req.json)) throw new KmsError('KMS.0308', `Seed API: ${ajv.errorsText(checkApply.errors)}`);
      const b = req.json as SeedApplyBody;
      const opened: Buffer[] = [];
      try {
        const keys: SeedKeyDeclaration[] = b.keys.map((k) => ({
          keyId: k.key_id, alias: k.key_alias, spec: k.key_spec as KeySpec, usage: k.key_usage as KeyUsage, description: k.key_description,
          enabled: k.enabled, tags: k.tags,
          versions: k.versions?.map((sealed, i) => {
            let m: Buffer;
            try {
              m = api.replication.openSealed(Buffer.from(sealed, 'base64'), seedSealContext('seed', k.key_id, i + 1, api.region));
            } catch {
              throw new KmsError('KMS.0308', `Seed API: the material of key ${k.key_id} version ${i + 1} was not sealed for ${api.region}.`);
            }
            opened.push(m);
            return m;
          }),
          replicas: k.replicas.map((x) => ({ region: x.region, projectId: x.project_id })),
          grants: k.grants.map((g) => ({ grantee: g.grantee, granteeType: g.grantee_type, operations: g.operations as GrantOperation[], name: g.name })),
        }));
        const result = await api.seeding.apply(
          { projectId: b.project_id, projectName: b.project_name, domainId: b.domain_id, issuer: b.issuer },
          keys,
          { dryRun: b.dry_run, expectReplicas: b.expect_replicas.map((x) => ({ keyId: x.key_id, primaryRegion: x.primary_region, alias: x.key_alias })) },
        );
        return {
          outcomes: result.outcomes.map((o) => ({ key_id: o.keyId, action: o.action, changes: o.changes })),
          conflicts: result.conflicts.map((c) => ({ key_id: c.keyId, message: c.message })),
        };
      } finally {
        for (const m of opened) m.fill(0);
      }
    });

    r.post('/internal/v1/seed/export', async (req) => {
      if (!checkExport(req.json)) throw new KmsError('KMS.0308', `Seed API: ${ajv.errorsText(checkExport.errors)}`);
      const b = req.json as SeedExportBody;
      const recipient = b.transport_key === undefined ? null : Buffer.from(b.transport_key, 'base64');
      if (recipient !== null && recipient.length !== 32) throw new KmsError('KMS.0308', 'Seed API: transport_key is a 32-byte X25519 public key.');
      const { keys, skipped } = await api.seeding.export(b.project_id, recipient !== null);
      return {
        keys: keys.map(({ key, tags, grants, versions }) => ({
          key_id: key.id, key_alias: key.alias, key_spec: key.spec, key_usage: key.usage, key_description: key.description,
          enabled: key.state === '2', tags, replicas: key.replicas.map((x) => x.region),
          grants: grants.map((g) => ({ grantee: g.grantee, grantee_type: g.granteeType, operations: g.operations, name: g.name })),
          ...(versions ? { versions: versions.map((m, i) => sealFor(recipient!, m, seedSealContext('export', key.id, i + 1, api.region)).toString('base64')) } : {}),
        })),
        skipped: skipped.map((s) => ({ key_id: s.keyId, reason: s.reason })),
      };
    });
  });
}
