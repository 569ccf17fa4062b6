/**
 * The contract every root of trust (src/keystore/root-key.ts) must pass, run for each implementation that exists,
 * then the checks that only concern the local key file (src/keystore/local-file.ts).
 */
import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuthenticationFailed } from '../src/crypto/symmetric.js';
import { LocalFileRootKey } from '../src/keystore/local-file.js';
import { Pkcs11RootKey } from '../src/keystore/pkcs11-root-key.js';
import { Pkcs11Token } from '../src/keystore/pkcs11.js';
import { checkRootKeyConfig, openRootKeyFrom } from '../src/keystore/root-key-config.js';
import pkcs11js from 'pkcs11js';
import { softHsm } from './helpers/softhsm.js';
import type { RootKey } from '../src/keystore/root-key.js';

/**
 * `make()` returns an instance over a new root key (never used before); `make(existing)` returns a second,
 * independent instance over the same root key as `existing` (a restart: same key file, same HSM key).
 */
type MakeRootKey = (sameAs?: RootKey) => Promise<RootKey>;

function rootKeyContract(name: string, make: MakeRootKey): void {
  describe(`RootKey contract: ${name}`, () => {
    const open: RootKey[] = [];
    const fresh = async (sameAs?: RootKey): Promise<RootKey> => {
      const rk = await make(sameAs);
      open.push(rk);
      return rk;
    };
    after(async () => {
      for (const rk of open) await rk.close();
    });

    const ctx = Buffer.from('key 6f1c2a4e-0000-4000-8000-000000000001 version 1');

    it('wrap/unwrap round trip for several sizes and contexts', async () => {
      const rk = await fresh();
      for (const n of [1, 16, 32, 64, 1024]) {
        for (const context of [ctx, Buffer.alloc(0), randomBytes(200)]) {
          const pt = randomBytes(n);
          const wrapped = await rk.wrap(pt, context);
          assert.deepEqual(await rk.unwrap(wrapped, context), pt, `${n} bytes, context of ${context.length}`);
        }
      }
    });

    it('wrapping does not modify its arguments', async () => {
      const rk = await fresh();
      const pt = randomBytes(32);
      const ptCopy = Buffer.from(pt);
      const context = Buffer.from(ctx);
      const wrapped = await rk.wrap(pt, context);
      const wrappedCopy = Buffer.from(wrapped);
      await rk.unwrap(wrapped, context);
      assert.deepEqual(pt, ptCopy);
      assert.deepEqual(context, ctx);
      assert.deepEqual(wrapped, wrappedCopy);
    });

    it('wrapped output differs each time and does not contain the plaintext', async () => {
      const rk = await fresh();
      const pt = randomBytes(32);
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const wrapped = await rk.wrap(pt, ctx);
        assert.ok(wrapped.length > pt.length, 'a wrapped key carries more than the key');
        assert.equal(wrapped.indexOf(pt), -1, 'the plaintext appears in the wrapped blob');
        assert.equal(wrapped.indexOf(pt.subarray(0, 8)), -1, 'part of the plaintext appears in the wrapped blob');
        seen.add(wrapped.toString('hex'));
      }
      assert.equal(seen.size, 20);
    });

    it('unwrap with another context fails', async () => {
      const rk = await fresh();
      const pt = randomBytes(32);
      const wrapped = await rk.wrap(pt, ctx);
      const flipped = Buffer.from(ctx);
      flipped[flipped.length - 1]! ^= 1;
      for (const other of [flipped, Buffer.alloc(0), Buffer.concat([ctx, Buffer.from([0])]), ctx.subarray(0, ctx.length - 1)]) {
        await assert.rejects(rk.unwrap(wrapped, other));
      }
      const wrappedNoContext = await rk.wrap(pt, Buffer.alloc(0));
      await assert.rejects(rk.unwrap(wrappedNoContext, ctx));
      assert.deepEqual(await rk.unwrap(wrapped, ctx), pt, 'the failed attempts did not spoil the instance');
    });

    it('unwrap of an altered, truncated, extended or empty blob fails', async () => {
      const rk = await fresh();
      const wrapped = await rk.wrap(randomBytes(32), ctx);
      for (let i = 0; i < wrapped.length; i++) {
        const bad = Buffer.from(wrapped);
        bad[i]! ^= 0x01;
        await assert.rejects(rk.unwrap(bad, ctx), Error, `byte ${i} flipped`);
      }
      for (const bad of [wrapped.subarray(0, wrapped.length - 1), wrapped.subarray(1), Buffer.concat([wrapped, Buffer.from([0])]), Buffer.alloc(0)]) {
        await assert.rejects(rk.unwrap(bad, ctx));
      }
    });

    it('a second instance over the same root key unwraps what the first wrapped, and has the same id', async () => {
      const first = await fresh();
      const pt = randomBytes(32);
      const wrapped = await first.wrap(pt, ctx);
      const second = await fresh(first);
      assert.deepEqual(await second.unwrap(wrapped, ctx), pt);
      assert.deepEqual(await first.unwrap(await second.wrap(pt, ctx), ctx), pt);
      assert.equal(second.id, first.id);
    });

    it('another root key cannot unwrap it, and has another id', async () => {
      const first = await fresh();
      const other = await fresh();
      const wrapped = await first.wrap(randomBytes(32), ctx);
      await assert.rejects(other.unwrap(wrapped, ctx));
      assert.equal(typeof first.id, 'string');
      assert.ok(first.id.length > 0);
      assert.notEqual(other.id, first.id);
    });
  });
}

// -----------------------------------------------------------------------------------------------------------------
// LocalFileRootKey
// -----------------------------------------------------------------------------------------------------------------

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'strongroom-rootkey-'));
  dirs.push(d);
  return d;
}

const keyFiles = new WeakMap<RootKey, string>();
rootKeyContract('LocalFileRootKey', async (sameAs) => {
  const path = sameAs ? keyFiles.get(sameAs)! : join(tempDir(), 'master.key');
  assert.ok(path, 'sameAs was made by this factory');
  const rk = new LocalFileRootKey(path);
  keyFiles.set(rk, path);
  return rk;
});

describe('LocalFileRootKey: the key file', () => {
  it('is created with mode 0600 and holds 32 bytes, and is not rewritten on the next start', async () => {
    const path = join(tempDir(), 'master.key');
    const rk = new LocalFileRootKey(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const bytes = readFileSync(path);
    assert.equal(bytes.length, 32);
    await rk.close();
    const again = new LocalFileRootKey(path);
    assert.deepEqual(readFileSync(path), bytes);
    assert.equal(again.id, rk.id);
    await again.close();
  });

  it('an existing key file is used as the AES-256-GCM key of the documented format 0x01 ‖ iv(12) ‖ ct ‖ tag(16)', async () => {
    const path = join(tempDir(), 'master.key');
    const key = randomBytes(32);
    writeFileSync(path, key, { mode: 0o600 });
    const rk = new LocalFileRootKey(path);
    const pt = randomBytes(32);
    const context = Buffer.from('context');
    const wrapped = await rk.wrap(pt, context);
    assert.equal(wrapped.length, 1 + 12 + 32 + 16);
    assert.equal(wrapped[0], 0x01);
    const d = createDecipheriv('aes-256-gcm', key, wrapped.subarray(1, 13));
    d.setAAD(context);
    d.setAuthTag(wrapped.subarray(wrapped.length - 16));
    assert.deepEqual(Buffer.concat([d.update(wrapped.subarray(13, wrapped.length - 16)), d.final()]), pt);
    await rk.close();
  });

  for (const mode of [0o640, 0o604, 0o644, 0o660, 0o606, 0o700 | 0o040]) {
    it(`a key file with mode ${mode.toString(8)} (open to group or others) is refused`, () => {
      const path = join(tempDir(), 'master.key');
      writeFileSync(path, randomBytes(32), { mode: 0o600 });
      chmodSync(path, mode);
      assert.throws(() => new LocalFileRootKey(path), /readable by others/);
    });
  }

  it('a key file with mode 0400 is accepted', async () => {
    const path = join(tempDir(), 'master.key');
    writeFileSync(path, randomBytes(32), { mode: 0o600 });
    chmodSync(path, 0o400);
    const rk = new LocalFileRootKey(path);
    assert.deepEqual(await rk.unwrap(await rk.wrap(Buffer.from('k'), Buffer.alloc(0)), Buffer.alloc(0)), Buffer.from('k'));
    await rk.close();
  });

  for (const size of [0, 16, 31, 33, 64]) {
    it(`a key file of ${size} bytes is refused`, () => {
      const path = join(tempDir(), 'master.key');
      writeFileSync(path, randomBytes(size), { mode: 0o600 });
      chmodSync(path, 0o600);
      assert.throws(() => new LocalFileRootKey(path), /must hold exactly 32 bytes/);
      assert.equal(readFileSync(path).length, size, 'the refused file is left as it was');
    });
  }

  it('a missing directory is an error, not a silently created key', () => {
    assert.throws(() => new LocalFileRootKey(join(tempDir(), 'no-such-dir', 'master.key')), /ENOENT/);
  });
});

// -----------------------------------------------------------------------------------------------------------------
// Pkcs11RootKey on SoftHSM2 (installed by .ci/run)
// -----------------------------------------------------------------------------------------------------------------

const hsm = softHsm('root-contract', 'root-other');
after(() => hsm.remove());
const labels = new WeakMap<RootKey, string>();
let made = 0;
rootKeyContract('Pkcs11RootKey (SoftHSM2)', async (sameAs) => {
  const keyLabel = sameAs ? labels.get(sameAs)! : `contract-${++made}`;
  const rk = Pkcs11RootKey.open({ module: hsm.module, token: 'root-contract', pin: hsm.pin, keyLabel, create: !sameAs });
  labels.set(rk, keyLabel);
  return rk;
});

describe('Pkcs11RootKey: the key in the token', () => {
  it('is a token object, sensitive and not extractable, and its value cannot be read', async () => {
    const rk = Pkcs11RootKey.open({ module: hsm.module, token: 'root-contract', pin: hsm.pin, keyLabel: 'inspected', create: true });
    const token = Pkcs11Token.open({ module: hsm.module, token: 'root-contract', pin: hsm.pin });
    try {
      const handle = token.findSecretKey('inspected');
      assert.ok(handle);
      assert.deepEqual(token.booleanAttributes(handle, [pkcs11js.CKA_TOKEN, pkcs11js.CKA_SENSITIVE, pkcs11js.CKA_EXTRACTABLE]), [true, true, false]);
      assert.throws(() => token.lib.C_GetAttributeValue(token.session, handle, [{ type: pkcs11js.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
      assert.match(rk.id, /^pkcs11:[0-9a-f]{32}$/);
    } finally {
      token.close();
      await rk.close();
    }
  });

  it('a failure of the token itself is not taken for a blob that does not authenticate', () => {
    const token = Pkcs11Token.open({ module: hsm.module, token: 'root-contract', pin: hsm.pin });
    try {
      const key = token.generateAesKey('doomed');
      const aad = Buffer.from('c');
      const sealed = token.aesGcmSeal(key, Buffer.from('k'), aad);
      const flipped = Buffer.from(sealed);
      flipped[flipped.length - 1]! ^= 1;
      assert.throws(() => token.aesGcmOpen(key, flipped, aad), AuthenticationFailed, 'a wrong tag');
      token.destroyObject(key);
      assert.throws(() => token.aesGcmOpen(key, sealed, aad), (err: unknown) => !(err instanceof AuthenticationFailed) && /HANDLE_INVALID/.test((err as Error).message));
    } finally {
      token.close();
    }
  });

  it('blobs name their kind: the key file does not open a token blob, nor the token a key file blob', async () => {
    const rk = Pkcs11RootKey.open({ module: hsm.module, token: 'root-contract', pin: hsm.pin, keyLabel: 'kinds', create: true });
    const file = new LocalFileRootKey(join(tempDir(), 'master.key'));
    const ctx = Buffer.from('c');
    const fromToken = await rk.wrap(Buffer.from('k'), ctx);
    assert.equal(fromToken[0], 0x02);
    await assert.rejects(file.unwrap(fromToken, ctx));
    await assert.rejects(rk.unwrap(await file.wrap(Buffer.from('k'), ctx), ctx));
    await rk.close();
    await file.close();
  });

  it('a key that does not exist is made only when asked; a wrong PIN, token or module is named', async () => {
    assert.throws(() => Pkcs11RootKey.open({ module: hsm.module, token: 'root-contract', pin: hsm.pin, keyLabel: 'never-made', create: false }), /no root key labelled "never-made"/);
    assert.throws(() => Pkcs11RootKey.open({ module: hsm.module, token: 'root-other', pin: '0000', keyLabel: 'x', create: true }), /cannot log in .*CKR_PIN_INCORRECT/);
    assert.throws(() => Pkcs11RootKey.open({ module: hsm.module, token: 'no-such-token', pin: hsm.pin, keyLabel: 'x', create: true }), /no PKCS#11 token labelled "no-such-token".*"root-contract"/);
    assert.throws(() => Pkcs11RootKey.open({ module: '/nonexistent/libpkcs11.so', token: 'root-contract', pin: hsm.pin, keyLabel: 'x', create: true }), /cannot load the PKCS#11 module/);
  });

  it('opened from its configuration, with the PIN from a file or an environment variable', async () => {
    const config = checkRootKeyConfig({ type: 'pkcs11', module: hsm.module, token: 'root-contract', pin_file: hsm.pinFile });
    const a = openRootKeyFrom(config, tempDir(), 'cn-test-1', { create: true });
    process.env.STRONGROOM_TEST_PIN = hsm.pin;
    const b = openRootKeyFrom({ ...config, pin_file: undefined, pin_env: 'STRONGROOM_TEST_PIN' } as never, tempDir(), 'cn-test-1', { create: false });
    assert.equal(a.id, b.id, 'the default label strongroom-root-<component> names the same key');
    const ctx = Buffer.from('c');
    assert.deepEqual(await b.unwrap(await a.wrap(Buffer.from('k'), ctx), ctx), Buffer.from('k'));
    await a.close();
    await b.close();
    assert.throws(() => checkRootKeyConfig({ type: 'pkcs11', module: hsm.module, token: 't' }), /pin_file or pin_env/);
    assert.throws(() => checkRootKeyConfig({ type: 'pkcs11', module: hsm.module, token: 't', pin_file: 'relative/pin' }), /absolute path/);
    assert.throws(() => checkRootKeyConfig({ type: 'hsm' }), /"file" or "pkcs11"/);
  });
});
