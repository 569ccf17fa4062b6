/**
 * `strongroom audit ...`: the audit trail of a region (`--region <id>`) or of IAM (`--region iam`), read from the
 * region's store with its root key (which unwraps the audit key):
 *
 * - `verify [--file F]` checks the stored trail, or an exported file; exit 0 when intact, 1 naming the first bad
 *   record (changed, removed, inserted or reordered);
 * - `export [--since T] [--key-id K] [--out F]` writes a header line and the records as JSON lines;
 * - `prune --before T` deletes records older than T, leaving an anchor from which the rest still verifies.
 *
 * An export's header says where its chain starts (the genesis or the anchor for a whole trail, none for one that
 * starts later) and whether it is filtered by key (then each record is checked on its own); it carries a MAC too.
 */
import { createHmac } from 'node:crypto';
import { createWriteStream, existsSync, fchmodSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { anchorAfter, canonicalJson, sameMac, verifyChain, type ChainVerdict } from '../audit/audit-chain.js';
import { auditKey } from '../audit/audit-log.js';
import type { AuditAnchor, AuditRecord, AuditStore } from '../audit/audit-store.js';
import { openIamStore, openKmsStore, openRootKey } from '../composition.js';
import { RootKeyRing } from '../keystore/root-key-ring.js';
import { attachRootKeyRotation } from '../root-rotation.js';
import type { KmsStore } from '../storage/kms-store.js';
import { deploymentPath, iamDir, localRootKeys, readDeployment, regionDir, rootKeyOf, storeOf } from '../deployment.js';

type Store = AuditStore & { getSetting(n: string): Promise<Buffer | null>; putSettingIfAbsent(n: string, v: Buffer): Promise<Buffer>; close(): Promise<void> };
const PAGE = 5000;

interface ExportHeader {
  type: 'strongroom-audit-export';
  region: string;
  /** Where the chain starts: `{seq: 0}` (genesis) or the anchor for a whole trail; null for a trail from a later point. */
  start: AuditAnchor | { seq: 0 } | null;
  /** True when filtered by key: records are not consecutive. */
  filtered: boolean;
  exported_at: string;
  header_mac?: string;
}

async function openTrail(dataDir: string, region: string): Promise<{ store: Store; key: Buffer; close(): Promise<void> }> {
  if (!existsSync(deploymentPath(dataDir))) throw new Error(`${dataDir} holds no deployment (no deployment.json): give --data-dir.`);
  const regions = readDeployment(dataDir).regions.map((r) => r.id);
  if (region !== 'iam' && !regions.includes(region)) throw new Error(`the deployment has no region ${region} (it has ${regions.join(', ')}, and iam).`);
  const dir = region === 'iam' ? iamDir(dataDir) : regionDir(dataDir, region);
  const deployment = readDeployment(dataDir);
  const at = { dataDir: dir, store: storeOf(deployment), rootKey: rootKeyOf(deployment, region) };
  const store: Store = region === 'iam' ? await openIamStore(at) : await openKmsStore(region, at);
  // A region's audit key may be under either root key while a rotation runs (root-rotation.ts).
  const rootKey = new RootKeyRing(openRootKey(at, region));
  if (region !== 'iam') (await attachRootKeyRotation(store as KmsStore, rootKey, dir, region, () => localRootKeys(deployment, region), () => {}))();
  const key = await auditKey(store, rootKey);
  return { store, key, close: async () => (await store.close(), await rootKey.close()) };
}

/** Every stored record matching the filter, in order, a page at a time. */
async function* records(store: AuditStore, filter: { afterSeq?: number; keyId?: string } = {}): AsyncGenerator<AuditRecord> {
  let after = filter.afterSeq ?? 0;
  for (;;) {
    const page = await store.auditRecords({ ...filter, afterSeq: after, limit: PAGE });
    yield* page;
    if (page.length < PAGE) return;
    after = page.at(-1)!.seq;
  }
}

const headerMac = (key: Buffer, h: ExportHeader): string => createHmac('sha256', key).update('export\n' + canonicalJson({ ...h, header_mac: undefined })).digest('hex');

/** A time given as ISO 8601 or epoch milliseconds. */
function instant(value: string, name: string): number {
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new Error(`${name} must be an ISO 8601 time or epoch milliseconds`);
  return t;
}

function report(verdict: ChainVerdict, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify(verdict.ok ? { ok: true, records: verdict.records, head: verdict.head, ...extra } : { ok: false, records_checked: verdict.records, first_bad_record: verdict.bad, reason: verdict.reason, ...extra }, null, 2));
  if (!verdict.ok) process.exitCode = 1;
}

async function verifyFile(key: Buffer, file: string): Promise<void> {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = JSON.parse(lines[0] ?? '{}') as ExportHeader;
  if (header.type !== 'strongroom-audit-export' || typeof header.header_mac !== 'string' || !sameMac(header.header_mac, headerMac(key, header))) {
    report({ ok: false, records: 0, bad: 0, reason: 'the export\'s header is missing or not authentic' });
    return;
  }
  const parsed = lines.slice(1).map((l) => JSON.parse(l) as AuditRecord);
  report(verifyChain(key, parsed, header.start, !header.filtered), { file, filtered: header.filtered });
}

/** Registers `audit <command>` on the program. */
export function auditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail of a region (or of IAM: --region iam)');
  const cmd = (name: string, description: string) =>
    audit.command(name).description(description).requiredOption('--region <id>', 'a region id, or iam').option('--data-dir <dir>', 'the deployment\'s data directory', './data');

  cmd('verify', 'check the stored trail, or an exported file with --file; exits 1 at the first bad record').option('--file <file>', 'an export to check')
    .action(async (o: { region: string; dataDir: string; file?: string }) => {
      const t = await openTrail(o.dataDir, o.region);
      try {
        if (o.file) return await verifyFile(t.key, o.file);
        const anchor = await t.store.auditAnchor();
        const all: AuditRecord[] = [];
        for await (const r of records(t.store)) all.push(r);
        report(verifyChain(t.key, all, anchor ?? { seq: 0 }), { region: o.region, anchor });
      } finally {
        await t.close();
      }
    });

  cmd('export', 'write the trail as JSON lines (a header, then one record per line)').option('--since <time>', 'ISO 8601 or epoch ms').option('--key-id <id>').option('--out <file>', 'instead of stdout')
    .action(async (o: { region: string; dataDir: string; since?: string; keyId?: string; out?: string }) => {
      const t = await openTrail(o.dataDir, o.region);
      const out = o.out ? createWriteStream(o.out, { mode: 0o600 }).on('open', (fd) => fchmodSync(fd, 0o600)) : process.stdout;
      const failed = new Promise<never>((_resolve, reject) => out.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot write ${o.out}: ${err.code ?? err.message}`))));
      failed.catch(() => undefined);
      try {
        // Records are chained in commit order, not in order of arrival: an export from a time starts at the first
        // record of that time and goes on by sequence number, so it stays one unbroken piece of the chain.
        let afterSeq = 0;
        if (o.since) {
          const first = (await t.store.auditRecords({ sinceMs: instant(o.since, '--since'), limit: 1 }))[0];
          afterSeq = first ? first.seq - 1 : Number.MAX_SAFE_INTEGER;
        }
        const filter = { afterSeq, ...(o.keyId ? { keyId: o.keyId } : {}) };
        const whole = o.since === undefined && o.keyId === undefined;
        const header: ExportHeader = {
          type: 'strongroom-audit-export', region: o.region, start: whole ? ((await t.store.auditAnchor()) ?? { seq: 0 }) : null,
          filtered: o.keyId !== undefined, exported_at: new Date().toISOString(),
        };
        out.write(JSON.stringify({ ...header, header_mac: headerMac(t.key, header) }) + '\n');
        for await (const r of records(t.store, filter)) out.write(JSON.stringify(r) + '\n');
        if (out !== process.stdout) await Promise.race([failed, new Promise<void>((resolve) => (out as ReturnType<typeof createWriteStream>).end(resolve))]);
      } finally {
        await t.close();
      }
    });

  cmd('prune', 'delete records older than --before, keeping the rest verifiable from an anchor').requiredOption('--before <time>', 'ISO 8601 or epoch ms')
    .action(async (o: { region: string; dataDir: string; before: string }) => {
      const t = await openTrail(o.dataDir, o.region);
      try {
        const before = instant(o.before, '--before');
        // The records to prune must verify first: pruning must not turn a tampered trail into an intact one.
        const doomed: AuditRecord[] = [];
        for await (const r of records(t.store)) {
          if (Date.parse(r.time) >= before) break;
          doomed.push(r);
        }
        const last = doomed.at(-1);
        if (!last) return console.log(JSON.stringify({ pruned: 0 }, null, 2));
        const check = verifyChain(t.key, doomed, (await t.store.auditAnchor()) ?? { seq: 0 });
        if (!check.ok) {
          report(check, { refused: 'the trail does not verify up to the pruning point; nothing was pruned' });
          return;
        }
        const pruned = await t.store.pruneAudit(anchorAfter(t.key, last));
        console.log(JSON.stringify({ pruned, anchor: { seq: last.seq, mac: last.mac } }, null, 2));
      } finally {
        await t.close();
      }
    });
}
