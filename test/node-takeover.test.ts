/**
 * A node killed with SIGKILL in the middle of background work: two region nodes run as processes on one PostgreSQL
 * database (`strongroom serve-region --node 0|1`, as `npm start -- --nodes 2` runs them); hundreds of keys fall due
 * for deletion; the node holding the deletion lease is killed while it destroys them; the other node takes the lease
 * over once it lapses and finishes the work, and every key is destroyed and recorded exactly once in the region's
 * one audit chain. Skipped without STRONGROOM_TEST_POSTGRES_URL.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { bootstrap, type BootstrapFile } from '../src/cli/bootstrap.js';
import { openRootKey } from '../src/composition.js';
import { deploymentPath, planDeployment, regionDir, writePrivateFile, type DeploymentFile } from '../src/deployment.js';
import { PgKmsStore } from '../src/storage/postgres/kms-pg-store.js';
import { verifiedTrail } from './helpers/audit-trail.js';
import { signedRequest } from './helpers/deployment.js';
import { freePortRange } from './helpers/ports.js';
import { createTestDatabase, skipPostgres, type TestDatabase } from './helpers/postgres.js';

const R = 'cn-north-4';
const SCHEMA = 'region_cn_north_4';
const KEYS = 600;
const MAIN = join(process.cwd(), 'src', 'cli', 'main.ts');

let db: TestDatabase;
let dir: string;
let deployment: DeploymentFile;
let boot: BootstrapFile;
const children = new Map<string, ChildProcess>();

function launch(name: string, args: string[]): ChildProcess {
  const log = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args, '--data-dir', dir], { stdio: ['ignore', log, log] });
  children.set(name, child);
  return child;
}

async function up(url: string, name: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
    if (children.get(name)!.exitCode !== null) throw new Error(readFileSync(join(dir, `${name}.log`), 'utf8'));
    if (await fetch(url + '/').then((r) => r.ok, () => false)) return;
  }
  throw new Error(`${name} did not come up`);
}

before(async () => {
  if (skipPostgres) return;
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'strongroom-takeover-'));
  const planned = planDeployment(dir, { host: '127.0.0.1', basePort: await freePortRange(3), regions: [R], store: db.url, nodes: 2 });
  deployment = { ...planned, lease_ms: 2000, deletion_sweep_ms: 200 };
  writePrivateFile(deploymentPath(dir), JSON.stringify(deployment, null, 2));
  boot = (await bootstrap(dir, deployment)).file;
  launch('iam', ['serve-iam']);
  await up(deployment.iam.endpoint, 'iam');
  for (const n of [0, 1]) launch(`node-${n}`, ['serve-region', '--region', R, '--node', String(n)]);
  for (const n of [0, 1]) await up(deployment.regions[0]!.endpoints[n]!, `node-${n}`);
});

after(async () => {
  // A child killed by a signal has signalCode set and exitCode null: only those still running are waited for.
  const running = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of running) c.kill('SIGKILL');
  await Promise.all(running.map((c) => new Promise((r) => c.once('exit', r))));
  if (db) await db.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a node killed halfway through the deletion sweep: the other finishes it, each key destroyed and recorded once', { skip: skipPostgres, timeout: 180_000 }, async () => {
  const project = boot.regions[0]!.project_id;
  const endpoint = deployment.regions[0]!.endpoints[0]!;
  const admin = { ak: boot.access_key, sk: boot.secret_key };
  const doomed: string[] = [];
  for (let i = 0; i < KEYS; i += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, () =>
      signedRequest(endpoint, admin, project, 'POST', `/v1.0/${project}/kms/create-key`, { key_alias: `doomed-${Math.random().toString(36).slice(2)}` })));
    for (const r of batch) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      doomed.push(r.body.key_info.key_id);
    }
  }
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  try {
    const remaining = async () => Number((await sql.query(`SELECT COUNT(*) AS n FROM ${SCHEMA}.keys WHERE id = ANY($1)`, [doomed])).rows[0].n);
    // Past their deletion date all at once (as if the seven days had gone by).
    await sql.query(`UPDATE ${SCHEMA}.keys SET state = '4', deletion_date = 1 WHERE id = ANY($1)`, [doomed]);

    let killed = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && !killed; await sleep(5)) {
      const left = await remaining();
      if (left === 0) break;
      if (left === KEYS) continue;
      const { rows } = await sql.query(`SELECT holder FROM ${SCHEMA}.leases WHERE name = 'job:deletion'`);
      const node = /^cn-north-4-(\d)-/.exec(rows[0]?.holder ?? '')?.[1];
      if (node === undefined) continue;
      children.get(`node-${node}`)!.kill('SIGKILL');
      killed = `node-${node}`;
    }
    assert.ok(killed, 'the sweep was caught halfway (raise KEYS if the machine is faster)');
    const leftAtKill = await remaining();
    assert.ok(leftAtKill > 0, 'work was left for the other node');
    const started = Date.now();
    for (const deadline = Date.now() + 60_000; (await remaining()) > 0; await sleep(100)) assert.ok(Date.now() < deadline, 'the other node finished the work');
    console.log(`# killed ${killed} with ${leftAtKill} of ${KEYS} keys left; the other node finished them ${Date.now() - started} ms later`);
  } finally {
    await sql.end();
  }

  const store = await PgKmsStore.open(db.url, SCHEMA);
  const rootKey = openRootKey({ dataDir: regionDir(dir, R) });
  try {
    // A record the killed node wrote pending with its key's destruction but did not chain is chained by the other
    // node once the dead node's liveness lease has lapsed (lease_ms): wait for that, then count.
    const destroyed = new Map<string, number>();
    for (const deadline = Date.now() + 30_000; ; await sleep(250)) {
      destroyed.clear();
      for (const r of await verifiedTrail(store, rootKey)) {
        if (r.operation === 'system:DestroyKey') for (const k of r.key_ids) destroyed.set(k, (destroyed.get(k) ?? 0) + 1);
      }
      if (doomed.every((k) => destroyed.has(k)) || Date.now() > deadline) break;
    }
    for (const keyId of doomed) assert.equal(destroyed.get(keyId), 1, `${keyId} is recorded destroyed once`);
    assert.equal((await store.pendingAudit()).length, 0, 'nothing is left pending');
  } finally {
    await store.close();
    await rootKey.close();
  }
});
