/**
 * A region's HTTP app built without listening (region-server.ts buildRegionApp), driven in-process with fastify's
 * `inject`: the composition module opens the store and root key by name, and nothing binds a port.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openKmsStore, openRootKey } from '../src/composition.js';
import { buildRegionApp } from '../src/region-server.js';
import { Topology } from '../src/regions/topology.js';

test('buildRegionApp answers through inject without listening; a second root key for the same store is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-app-'));
  const at = { dataDir: join(dir, 'r') };
  const options = {
    region: 'cn-north-4', topology: new Topology([{ id: 'cn-north-4', endpoint: 'http://127.0.0.1:1' }]),
    iamEndpoint: 'http://127.0.0.1:1', internalSecret: randomBytes(32), keyQuota: 10, logger: false,
  };
  try {
    const region = await buildRegionApp(options, { store: await openKmsStore('cn-north-4', at), rootKey: openRootKey(at), nodeId: 'n0', shared: false });
    try {
      assert.equal(region.app.server.listening, false);
      const spec = await region.app.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(spec.statusCode, 200);
      assert.equal(spec.json().info.title, 'Strongroom KMS (cn-north-4)');
      const unsigned = await region.app.inject({ method: 'POST', url: '/v1.0/p/kms/create-key', payload: { key_alias: 'k' } });
      assert.equal(unsigned.statusCode, 401);
      assert.equal(unsigned.json().error_code, 'APIGW.0301');
    } finally {
      await region.close();
    }
    // Another node given a different key file for the same store refuses to start rather than fail every call.
    const store = await openKmsStore('cn-north-4', at);
    const otherKey = openRootKey({ dataDir: join(dir, 'other') });
    await assert.rejects(
      buildRegionApp(options, { store, rootKey: otherKey, nodeId: 'n1', shared: false }),
      /wrapped by root key file:[0-9a-f]{16}, but this node has file:[0-9a-f]{16}/,
    );
    await store.close();
    await otherKey.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a data folder made earlier with a wider mode is made the owner\'s only (0700) when a store opens in it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-modes-'));
  try {
    const dataDir = join(dir, 'region');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const store = await openKmsStore('cn-north-4', { dataDir });
    await store.close();
    assert.equal((statSync(dataDir).mode & 0o777).toString(8), '700');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

