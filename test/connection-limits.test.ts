/**
 * Clients that hold connections (issue: proven under faults): a body sent one byte at a time, headers that never
 * end, an idle kept-alive connection and more connections than the cap are all closed, within the limits of
 * api/http.ts (shortened here). A region app built in-process listens on a free port; raw sockets play the client.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openKmsStore, openRootKey } from '../src/composition.js';
import { buildRegionApp, type RegionApp } from '../src/region-server.js';
import { Topology } from '../src/regions/topology.js';
import { freePortRange } from './helpers/ports.js';

const LIMITS = { requestMs: 1000, headersMs: 600, idleMs: 500, maxConnections: 4 };
let dir: string;
let region: RegionApp;
let port: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strongroom-limits-'));
  const at = { dataDir: join(dir, 'r') };
  region = await buildRegionApp(
    {
      region: 'cn-north-4', topology: new Topology([{ id: 'cn-north-4', endpoint: 'http://127.0.0.1:1' }]),
      iamEndpoint: 'http://127.0.0.1:1', internalSecret: randomBytes(32), keyQuota: 10, logger: false, limits: LIMITS,
    },
    { store: await openKmsStore('cn-north-4', at), rootKey: openRootKey(at), nodeId: 'n0', shared: false },
  );
  port = await freePortRange(1);
  await region.app.listen({ host: '127.0.0.1', port });
});

after(async () => {
  await region?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw connection: what it received, and when (ms after opening) it was closed, or null while open. */
function open(): { socket: Socket; received: () => string; closedAfter: () => number | null; ready: Promise<void> } {
  const opened = Date.now();
  let closed: number | null = null;
  let data = '';
  const socket = connect(port, '127.0.0.1');
  socket.on('data', (c) => (data += c.toString('latin1')));
  socket.on('close', () => (closed = Date.now() - opened));
  socket.on('error', () => {});
  return { socket, received: () => data, closedAfter: () => closed, ready: new Promise((r) => socket.once('connect', () => r())) };
}

async function closedWithin(c: ReturnType<typeof open>, ms: number): Promise<number> {
  for (const deadline = Date.now() + ms; c.closedAfter() === null; await sleep(20)) {
    if (Date.now() > deadline) assert.fail(`still open after ${ms} ms; received ${JSON.stringify(c.received())}`);
  }
  return c.closedAfter()!;
}

test('a body sent one byte at a time is cut off after the request timeout with 408', async () => {
  const c = open();
  await c.ready;
  c.socket.write('POST /v1.0/p/kms/create-key HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
  const drip = setInterval(() => c.socket.writable && c.socket.write(' '), 200);
  try {
    const after = await closedWithin(c, LIMITS.requestMs + 3000);
    assert.ok(after >= LIMITS.requestMs - 50, `closed after ${after} ms`);
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
    assert.match(c.received(), /"error_code":"KMS\.0214"/);
  } finally {
    clearInterval(drip);
  }
});

test('headers that never end are cut off after the headers timeout', async () => {
  const c = open();
  await c.ready;
  c.socket.write('GET /openapi.json HTTP/1.1\r\nHost: x\r\n');
  const drip = setInterval(() => c.socket.writable && c.socket.write('X-A: b\r\n'), 150);
  try {
    await closedWithin(c, LIMITS.headersMs + 3000);
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
  } finally {
    clearInterval(drip);
  }
});

test('an idle kept-alive connection is closed after the idle timeout', async () => {
  const c = open();
  await c.ready;
  c.socket.write('GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n');
  const after = await closedWithin(c, LIMITS.idleMs + 3000);
  assert.match(c.received(), /^HTTP\/1\.1 200 /);
  assert.ok(after >= LIMITS.idleMs - 50, `closed after ${after} ms`);
});

test('connections beyond the cap are closed as they open; the others are served', async () => {
  const held = Array.from({ length: LIMITS.maxConnections }, () => open());
  await Promise.all(held.map((c) => c.ready));
  await sleep(50);
  const extra = open();
  await closedWithin(extra, 2000);
  assert.equal(extra.received(), '');
  held[0]!.socket.write('GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n');
  for (const deadline = Date.now() + 2000; !held[0]!.received().startsWith('HTTP/1.1 200'); await sleep(20)) assert.ok(Date.now() < deadline);
  for (const c of held) c.socket.destroy();
});
