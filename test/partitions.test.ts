/**
 * Network partitions between regions (issue: proven under faults). Two regions run as their own processes; each
 * reaches the other only through a TCP proxy in this test (the deployment file names the proxies as the regions'
 * endpoints; clients call the regions directly). While keys are replicated, rotated and have their primary moved
 * back and forth, the proxies cut both links (every connection dropped, new ones refused) and heal them at random
 * moments. After the last heal: replicas converge (the same rotations in both regions, every ciphertext made in
 * either decrypts in both), no key has two primaries, nothing is duplicated, and every outbox drains.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { bootstrap, type BootstrapFile } from '../src/cli/bootstrap.js';
import { deploymentPath, planDeployment, regionDir, writePrivateFile, type DeploymentFile } from '../src/deployment.js';
import { freePortRange } from './helpers/ports.js';
import { signedRequest, type Reply } from './helpers/signing.js';

const N = 'cn-north-4';
const S = 'cn-south-1';
const MAIN = join(process.cwd(), 'src', 'cli', 'main.ts');

/** A TCP proxy whose link can be cut (all connections destroyed, new ones refused) and healed. */
class CuttableLink {
  readonly #sockets = new Set<Socket>();
  #cut = false;
  readonly server: Server;

  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => {
      if (this.#cut) return client.destroy();
      const upstream = createConnection(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  listen(port: number): Promise<void> {
    return new Promise((r) => this.server.listen(port, '127.0.0.1', () => r()));
  }
  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }
  heal(): void {
    this.#cut = false;
  }
  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}

let dir: string;
let deployment: DeploymentFile;
let boot: BootstrapFile;
const children: ChildProcess[] = [];
const links: CuttableLink[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strongroom-partitions-'));
  const base = await freePortRange(5);
  const planned = planDeployment(dir, { host: '127.0.0.1', basePort: base, regions: [N, S] });
  // Region i listens on its own port; the others reach it through proxy base + 3 + i.
  deployment = {
    ...planned,
    regions: planned.regions.map((r, i) => ({ ...r, endpoint: `http://127.0.0.1:${base + 3 + i}`, endpoints: [`http://127.0.0.1:${base + 3 + i}`] })),
    peer_timeout_ms: 1000,
    outbox_max_backoff_ms: 300,
  };
  writePrivateFile(deploymentPath(dir), JSON.stringify(deployment, null, 2));
  boot = (await bootstrap(dir, deployment)).file;
  for (const [i, r] of planned.regions.entries()) {
    const link = new CuttableLink(r.port);
    await link.listen(base + 3 + i);
    links.push(link);
  }
  const launch = async (name: string, args: string[], url: string) => {
    const log = openSync(join(dir, `${name}.log`), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args, '--data-dir', dir], { stdio: ['ignore', log, log] });
    children.push(child);
    for (const deadline = Date.now() + 30_000; !(await fetch(url + '/').then((res) => res.ok, () => false)); await sleep(100)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(readFileSync(join(dir, `${name}.log`), 'utf8'));
    }
  };
  await launch('iam', ['serve-iam'], deployment.iam.endpoint);
  for (const r of planned.regions) await launch(r.id, ['serve-region', '--region', r.id], r.endpoint);
});

after(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  for (const l of links) await l.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Clients call each region on its own port (not through the proxies). */
const direct = (region: string) => `http://127.0.0.1:${deployment.regions.find((r) => r.id === region)!.port}`;
const project = (region: string) => boot.regions.find((r) => r.id === region)!.project_id;
const admin = () => ({ ak: boot.access_key, sk: boot.secret_key });
const kms = (region: string, op: string, body: object): Promise<Reply> =>
  signedRequest(direct(region), admin(), project(region), 'POST', `/v1.0/${project(region)}/kms/${op}`, body).catch((err: Error) => ({ status: 0, headers: new Headers(), body: err.message }));
const keyOp = (region: string, method: string, keyId: string, op: string, body: object): Promise<Reply> =>
  signedRequest(direct(region), admin(), project(region), method, `/v2/${project(region)}/kms/keys/${keyId}/${op}`, body).catch((err: Error) => ({ status: 0, headers: new Headers(), body: err.message }));

async function eventually(what: string, probe: () => Promise<boolean>, ms = 30_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await probe()); await sleep(200)) assert.ok(Date.now() < deadline, `not within ${ms} ms: ${what}`);
}

test('links cut and healed at random during replicate, rotation and primary moves: replicas converge, one primary, nothing lost or doubled', { timeout: 240_000 }, async () => {
  const keys: { id: string; ciphertexts: { cipher: string; plain: string }[] }[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await kms(N, 'create-key', { key_alias: `part-${i}-${Date.now()}` });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    keys.push({ id: r.body.key_info.key_id, ciphertexts: [] });
  }
  let cuts = 0;
  const stop = Date.now() + 20_000;
  const chaos = (async () => {
    while (Date.now() < stop) {
      await sleep(300 + Math.random() * 1200);
      for (const l of links) l.cut();
      cuts++;
      await sleep(200 + Math.random() * 1500);
      for (const l of links) l.heal();
    }
  })();
  let ops = 0;
  const answered = { replicate: 0, move: 0, rotate: 0 };
  while (Date.now() < stop) {
    const key = keys[Math.floor(Math.random() * keys.length)]!;
    const roll = Math.random();
    // The key's primary, as each region sees it now (it may be moving).
    const primary = (await kms(N, 'describe-key', { key_id: key.id })).body?.key_info?.multi_region_key_type === 'REPLICA' ? S : N;
    const other = primary === N ? S : N;
    if (roll < 0.25) {
      const r = await keyOp(primary, 'POST', key.id, 'replicate', { key_id: key.id, replica_region: other, key_alias: `part-r-${Math.random().toString(36).slice(2)}`, replica_project_id: project(other) });
      if (r.status === 200) answered.replicate++;
    } else if (roll < 0.5) {
      if ((await kms(primary, 'rotate-on-demand', { key_id: key.id })).status === 200) answered.rotate++;
    } else if (roll < 0.65) {
      if ((await keyOp(primary, 'PUT', key.id, 'update-primary-region', { key_id: key.id, primary_region: other })).status === 200) answered.move++;
    }
    else {
      const plain = Math.random().toString(36).slice(2);
      const at = Math.random() < 0.5 ? primary : other;
      const r = await kms(at, 'encrypt-data', { key_id: key.id, plain_text: plain });
      if (r.status === 200) key.ciphertexts.push({ cipher: r.body.cipher_text, plain });
    }
    ops++;
  }
  await chaos;
  for (const l of links) l.heal();
  console.log(`# ${ops} operations, ${cuts} cuts; answered: ${JSON.stringify(answered)}`);
  assert.ok(cuts >= 5 && answered.replicate >= 1 && answered.move >= 1 && answered.rotate >= 1, 'the load did replicate, move and rotate between cuts');

  const outboxOf = (region: string) => {
    const db = new Database(join(regionDir(dir, region), 'kms.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  await eventually('every outbox drains', async () => outboxOf(N) === 0 && outboxOf(S) === 0, 60_000);
  for (const key of keys) {
    const seen = await Promise.all([N, S].map((r) => kms(r, 'describe-key', { key_id: key.id })));
    const types = seen.filter((r) => r.status === 200).map((r) => r.body.key_info.multi_region_key_type as string);
    assert.equal(types.filter((t) => t === 'PRIMARY' || t === 'SINGLE').length, 1, `${key.id}: one primary, seen ${JSON.stringify(types)}`);
    if (types.length === 2) {
      await eventually(`${key.id}: both regions hold the same rotations`, async () => {
        const counts = await Promise.all([N, S].map(async (r) => (await kms(r, 'get-key-rotation-status', { key_id: key.id })).body.number_of_rotations));
        return counts[0] === counts[1];
      });
    }
    for (const c of key.ciphertexts) {
      for (const [i, r] of seen.entries()) {
        if (r.status !== 200) continue;
        const region = i === 0 ? N : S;
        const dec = await kms(region, 'decrypt-data', { cipher_text: c.cipher });
        assert.equal(dec.status, 200, `${key.id} in ${region}: ${JSON.stringify(dec.body)}`);
        assert.equal(dec.body.plain_text, c.plain);
      }
    }
  }
});
