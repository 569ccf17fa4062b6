/**
 * Symmetric cryptography over the wire (docs/reference/huawei-kms-api.md §4 C, D, G; §5.2 codes; §8.1 ciphertext; §10
 * legacy encryption_context): encrypt-data / decrypt-data, the data-key operations and gen-random, for AES_256 and SM4
 * keys, through both request styles (AK/SK signed with the official Huawei signer, and IAM tokens).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { expectError, KEY_ID, startTestDeployment, tokenRequest, type Reply, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
const CIPHER_RE = /^[0-9a-zA-Z+/=]{128,5648}$/;
const UPPER_HEX = /^[0-9A-F]+$/;

let d: TestDeployment;
let token: string;
let aliasSeq = 0;

before(async () => {
  d = await startTestDeployment({ regions: [R] });
  token = await d.token(R);
});
after(() => d.stop());

/** A KMS call signed with AK/SK. */
const kms = (op: string, body: object): Promise<Reply> => d.kms(R, op, body);
/** The same call with an X-Auth-Token. */
const viaToken = (op: string, body: object): Promise<Reply> => tokenRequest(d.endpoint(R), token, 'POST', `/v1.0/${d.projectId(R)}/kms/${op}`, body);

async function ok(reply: Promise<Reply>): Promise<any> {
  const r = await reply;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function createKey(spec: 'AES_256' | 'SM4', extra: object = {}): Promise<string> {
  const body = await ok(kms('create-key', { key_alias: `crypto-${spec.toLowerCase()}-${++aliasSeq}`, key_spec: spec, ...extra }));
  assert.match(body.key_info.key_id, KEY_ID);
  return body.key_info.key_id;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const sm3 = (b: Buffer) => createHash('sm3').update(b).digest();
const b64ToHex = (s: string) => Buffer.from(s, 'base64').toString('hex').toUpperCase();
const hexToB64 = (s: string) => Buffer.from(s, 'hex').toString('base64');

/** Flips one bit of the byte at `index` (negative counts from the end) of a Base64 blob; the result is valid Base64. */
function tamperB64(cipher: string, index: number): string {
  const blob = Buffer.from(cipher, 'base64');
  blob[index < 0 ? blob.length + index : index]! ^= 0x01;
  const out = blob.toString('base64');
  assert.match(out, CIPHER_RE);
  assert.notEqual(out, cipher);
  return out;
}

function tamperHex(cipher: string, index: number): string {
  const blob = Buffer.from(cipher, 'hex');
  blob[index < 0 ? blob.length + index : index]! ^= 0x01;
  return blob.toString('hex').toUpperCase();
}

/** Checks the §8.1 header Strongroom reproduces: uint16 LE at 2..3 = total − 36, ASCII key id at 4..40. */
function assertBlobHeader(blob: Buffer, keyId: string): void {
  assert.equal(blob.toString('latin1', 4, 40), keyId);
  assert.equal(blob.readUInt16LE(2), blob.length - 36);
}

for (const spec of ['AES_256', 'SM4'] as const) {
  const digest = spec === 'SM4' ? sm3 : sha256;

  describe(`encrypt-data / decrypt-data with an ${spec} key`, () => {
    let keyId: string;
    before(async () => (keyId = await createKey(spec)));

    const roundTrip = async (plain: string, send = kms) => {
      const enc = await ok(send('encrypt-data', { key_id: keyId, plain_text: plain }));
      assert.deepEqual(Object.keys(enc).sort(), ['cipher_text', 'key_id']);
      assert.equal(enc.key_id, keyId);
      assert.match(enc.cipher_text, CIPHER_RE);
      const dec = await ok(send('decrypt-data', { cipher_text: enc.cipher_text }));
      assert.deepEqual(dec, { key_id: keyId, plain_text: plain, plain_text_base64: Buffer.from(plain, 'utf8').toString('base64') });
      return enc.cipher_text as string;
    };

    test('1 byte round trips; the ciphertext is still at least 128 Base64 characters', async () => {
      const cipher = await roundTrip('x');
      assert.ok(cipher.length >= 128, `${cipher.length} characters`);
    });

    test('multi-byte UTF-8 text round trips (signed and token requests)', async () => {
      await roundTrip('Grüße, 世界 🔐 — ünïcødé');
      await roundTrip('Ωμέγα 漢字 😀😀', viaToken);
    });

    test('exactly 4096 bytes round trip, counted in UTF-8 bytes', async () => {
      const ascii = 'a'.repeat(4096);
      const twoByte = 'é'.repeat(2048);
      const mixed = '€'.repeat(1365) + 'z';
      for (const s of [ascii, twoByte, mixed]) assert.equal(Buffer.byteLength(s, 'utf8'), 4096);
      await roundTrip(ascii);
      await roundTrip(twoByte);
      await roundTrip(mixed, viaToken);
    });

    test('the ciphertext carries the key id (bytes 4..40) and uint16 LE total length − 36 at bytes 2..3', async () => {
      for (const plain of ['x', 'a'.repeat(4096)]) {
        const enc = await ok(kms('encrypt-data', { key_id: keyId, plain_text: plain }));
        assertBlobHeader(Buffer.from(enc.cipher_text, 'base64'), keyId);
      }
    });

    test('two encryptions of the same text differ and both decrypt', async () => {
      const a = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'same text' }));
      const b = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'same text' }));
      assert.notEqual(a.cipher_text, b.cipher_text);
      for (const c of [a.cipher_text, b.cipher_text]) {
        assert.equal((await ok(kms('decrypt-data', { cipher_text: c }))).plain_text, 'same text');
      }
    });

    test('decrypt-data accepts its own key_id and SYMMETRIC_DEFAULT', async () => {
      const enc = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'with id', encryption_algorithm: 'SYMMETRIC_DEFAULT' }));
      const dec = await ok(kms('decrypt-data', { cipher_text: enc.cipher_text, key_id: keyId, encryption_algorithm: 'SYMMETRIC_DEFAULT' }));
      assert.equal(dec.plain_text, 'with id');
      assert.equal(dec.key_id, keyId);
    });

    test('additional_authenticated_data must be repeated exactly on decrypt', async () => {
      const aad = 'tenant=42;purpose=test';
      const enc = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'bound', additional_authenticated_data: aad }));
      assert.equal((await ok(kms('decrypt-data', { cipher_text: enc.cipher_text, additional_authenticated_data: aad }))).plain_text, 'bound');
      expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text }), 400, 'KMS.2201');
      expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, additional_authenticated_data: aad + 'x' }), 400, 'KMS.2201');
      expectError(await viaToken('decrypt-data', { cipher_text: enc.cipher_text, additional_authenticated_data: 'tenant=43;purpose=test' }), 400, 'KMS.2201');
      // AAD on decrypt of a ciphertext made without AAD also fails
      const plain = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'unbound' }));
      expectError(await kms('decrypt-data', { cipher_text: plain.cipher_text, additional_authenticated_data: aad }), 400, 'KMS.2201');
    });

    test('AAD of exactly 128 UTF-8 bytes is accepted; 129 bytes is KMS.0308', async () => {
      const aad128 = 'é'.repeat(64);
      const enc = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'p', additional_authenticated_data: aad128 }));
      assert.equal((await ok(kms('decrypt-data', { cipher_text: enc.cipher_text, additional_authenticated_data: aad128 }))).plain_text, 'p');
      expectError(await kms('encrypt-data', { key_id: keyId, plain_text: 'p', additional_authenticated_data: aad128 + 'a' }), 400, 'KMS.0308');
      expectError(await kms('encrypt-data', { key_id: keyId, plain_text: 'p', additional_authenticated_data: 'a'.repeat(129) }), 400, 'KMS.0308');
      expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, additional_authenticated_data: aad128 + 'a' }), 400, 'KMS.0308');
    });

    test('the legacy encryption_context object is bound like AAD; key order does not matter', async () => {
      const context = { department: 'finance', 'user id': '7', nested: { b: 2, a: 1 } };
      const enc = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'ctx', encryption_context: context }));
      const reordered = { nested: { a: 1, b: 2 }, 'user id': '7', department: 'finance' };
      assert.equal((await ok(kms('decrypt-data', { cipher_text: enc.cipher_text, encryption_context: reordered }))).plain_text, 'ctx');
      assert.equal((await ok(viaToken('decrypt-data', { cipher_text: enc.cipher_text, encryption_context: context }))).plain_text, 'ctx');
      expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text }), 400, 'KMS.2201');
      expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, encryption_context: { ...context, department: 'sales' } }), 400, 'KMS.2201');
      expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, encryption_context: { department: 'finance', 'user id': '7' } }), 400, 'KMS.2201');
      expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, encryption_context: { ...context, 'user id': 7 } }), 400, 'KMS.2201');
      // the context is not interchangeable with an AAD string holding the same JSON
      expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, additional_authenticated_data: JSON.stringify(context) }), 400, 'KMS.2201');
    });

    test('tampered ciphertexts are KMS.2201', async () => {
      const enc = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'do not touch' }));
      const blobLength = Buffer.from(enc.cipher_text, 'base64').length;
      expectError(await kms('decrypt-data', { cipher_text: tamperB64(enc.cipher_text, Math.floor(blobLength / 2)) }), 400, 'KMS.2201');
      expectError(await kms('decrypt-data', { cipher_text: tamperB64(enc.cipher_text, -1) }), 400, 'KMS.2201'); // last byte (tag)
      expectError(await kms('decrypt-data', { cipher_text: tamperB64(enc.cipher_text, 43) }), 400, 'KMS.2201'); // key version
      expectError(await kms('decrypt-data', { cipher_text: tamperB64(enc.cipher_text, 2) }), 400, 'KMS.2201'); // length field
      // the original still decrypts
      assert.equal((await ok(kms('decrypt-data', { cipher_text: enc.cipher_text }))).plain_text, 'do not touch');
    });

    test('a data key ciphertext given to decrypt-data is KMS.2201', async () => {
      const dk = await ok(kms('create-datakey', { key_id: keyId }));
      const asB64 = hexToB64(dk.cipher_text);
      assert.match(asB64, CIPHER_RE);
      expectError(await kms('decrypt-data', { cipher_text: asB64 }), 400, 'KMS.2201');
      assert.match(dk.cipher_text, CIPHER_RE); // the raw hex string also fits the pattern
      expectError(await kms('decrypt-data', { cipher_text: dk.cipher_text }), 400, 'KMS.2201');
    });

    test('create-datakey: default 256 bits, key_spec, datakey_length wins, 8 and 8192 bits', async () => {
      const cases: [object, number][] = [
        [{}, 256],
        [{ key_spec: 'AES_256' }, 256],
        [{ key_spec: 'AES_128' }, 128],
        [{ key_spec: 'SM4' }, 128],
        [{ key_spec: 'HMAC_512' }, 512],
        [{ key_spec: 'AES_128', datakey_length: '512' }, 512],
        [{ key_spec: 'AES_256', datakey_length: '64' }, 64],
        [{ datakey_length: '8' }, 8],
        [{ datakey_length: '8192' }, 8192],
        [{ datakey_length: 384 }, 384],
      ];
      for (const [extra, bits] of cases) {
        const dk = await ok(kms('create-datakey', { key_id: keyId, ...extra }));
        assert.deepEqual(Object.keys(dk).sort(), ['cipher_text', 'key_id', 'plain_text'], JSON.stringify(extra));
        assert.equal(dk.key_id, keyId);
        assert.match(dk.plain_text, UPPER_HEX);
        assert.equal(dk.plain_text.length, bits / 4, JSON.stringify(extra));
        assert.match(dk.cipher_text, UPPER_HEX);
        assertBlobHeader(Buffer.from(dk.cipher_text, 'hex'), keyId);
        const plain = Buffer.from(dk.plain_text, 'hex');
        const dec = await ok(kms('decrypt-datakey', { key_id: keyId, cipher_text: dk.cipher_text, datakey_cipher_length: String(bits / 8) }));
        assert.deepEqual(dec, { data_key: dk.plain_text, datakey_length: String(bits / 8), datakey_dgst: digest(plain).toString('hex').toUpperCase() });
      }
    });

    test('create-datakey-without-plaintext has no plain_text; decrypt-datakey opens it', async () => {
      const dk = await ok(viaToken('create-datakey-without-plaintext', { key_id: keyId }));
      assert.deepEqual(Object.keys(dk).sort(), ['cipher_text', 'key_id']);
      assert.equal(dk.key_id, keyId);
      assert.match(dk.cipher_text, UPPER_HEX);
      const dec = await ok(viaToken('decrypt-datakey', { key_id: keyId, cipher_text: dk.cipher_text, datakey_cipher_length: '32' }));
      assert.match(dec.data_key, /^[0-9A-F]{64}$/);
      assert.equal(dec.datakey_length, '32');
      assert.equal(dec.datakey_dgst, digest(Buffer.from(dec.data_key, 'hex')).toString('hex').toUpperCase());
      const short = await ok(kms('create-datakey-without-plaintext', { key_id: keyId, key_spec: 'AES_128' }));
      const decShort = await ok(kms('decrypt-datakey', { key_id: keyId, cipher_text: short.cipher_text, datakey_cipher_length: '16' }));
      assert.match(decShort.data_key, /^[0-9A-F]{32}$/);
    });

    test(`encrypt-datakey takes the DEK followed by its ${spec === 'SM4' ? 'SM3' : 'SHA-256'} digest`, async () => {
      for (const len of [1, 32, 64, 1024]) {
        const dek = randomBytes(len);
        const hex = Buffer.concat([dek, digest(dek)]).toString('hex');
        // lower-case hex in, upper-case hex out
        const enc = await ok(kms('encrypt-datakey', { key_id: keyId, plain_text: len === 32 ? hex : hex.toUpperCase(), datakey_plain_length: String(len) }));
        assert.deepEqual(Object.keys(enc).sort(), ['cipher_text', 'datakey_length', 'key_id']);
        assert.equal(enc.key_id, keyId);
        assert.equal(enc.datakey_length, String(len));
        assert.match(enc.cipher_text, UPPER_HEX);
        assertBlobHeader(Buffer.from(enc.cipher_text, 'hex'), keyId);
        const dec = await ok(kms('decrypt-datakey', { key_id: keyId, cipher_text: enc.cipher_text, datakey_cipher_length: String(len) }));
        assert.deepEqual(dec, { data_key: dek.toString('hex').toUpperCase(), datakey_length: String(len), datakey_dgst: digest(dek).toString('hex').toUpperCase() });
      }
    });

    test('encrypt-datakey errors', async () => {
      const dek = randomBytes(32);
      const good = Buffer.concat([dek, digest(dek)]);
      const badDigest = Buffer.from(good);
      badDigest[good.length - 1]! ^= 0xff;
      expectError(await kms('encrypt-datakey', { key_id: keyId, plain_text: badDigest.toString('hex'), datakey_plain_length: '32' }), 400, 'KMS.2103');
      const otherDigest = spec === 'SM4' ? sha256 : sm3;
      const wrongAlgo = Buffer.concat([dek, otherDigest(dek)]).toString('hex');
      expectError(await kms('encrypt-datakey', { key_id: keyId, plain_text: wrongAlgo, datakey_plain_length: '32' }), 400, 'KMS.2103');
      expectError(await kms('encrypt-datakey', { key_id: keyId, plain_text: good.toString('hex'), datakey_plain_length: '31' }), 400, 'KMS.2104');
      expectError(await kms('encrypt-datakey', { key_id: keyId, plain_text: good.toString('hex'), datakey_plain_length: '33' }), 400, 'KMS.2104');
      expectError(await kms('encrypt-datakey', { key_id: keyId, plain_text: dek.toString('hex'), datakey_plain_length: '32' }), 400, 'KMS.2104'); // digest left out
      expectError(await kms('encrypt-datakey', { key_id: keyId, plain_text: 'ZZ' + good.toString('hex').slice(2), datakey_plain_length: '32' }), 400, 'KMS.2101');
      expectError(await kms('encrypt-datakey', { key_id: keyId, plain_text: good.toString('hex') + 'A', datakey_plain_length: '32' }), 400, 'KMS.2101'); // odd length
      expectError(await kms('encrypt-datakey', { key_id: keyId, plain_text: good.toString('base64'), datakey_plain_length: '32' }), 400, 'KMS.2101');
      expectError(await kms('encrypt-datakey', { key_id: keyId, plain_text: good.toString('hex') }), 400, 'KMS.0204');
      expectError(await viaToken('encrypt-datakey', { key_id: keyId, datakey_plain_length: '32' }), 400, 'KMS.0204');
    });

    test('decrypt-datakey errors', async () => {
      const other = await createKey(spec);
      const dk = await ok(kms('create-datakey', { key_id: keyId, additional_authenticated_data: 'dek-aad' }));
      const base = { key_id: keyId, cipher_text: dk.cipher_text, datakey_cipher_length: '32', additional_authenticated_data: 'dek-aad' };
      assert.equal((await ok(kms('decrypt-datakey', base))).data_key, dk.plain_text);
      expectError(await kms('decrypt-datakey', { ...base, datakey_cipher_length: '16' }), 400, 'KMS.2204');
      expectError(await kms('decrypt-datakey', { ...base, datakey_cipher_length: '64' }), 400, 'KMS.2204');
      expectError(await kms('decrypt-datakey', { ...base, cipher_text: 'XY' + dk.cipher_text.slice(2) }), 400, 'KMS.2201');
      expectError(await kms('decrypt-datakey', { ...base, cipher_text: hexToB64(dk.cipher_text) }), 400, 'KMS.2201');
      expectError(await kms('decrypt-datakey', { ...base, cipher_text: tamperHex(dk.cipher_text, Math.floor(dk.cipher_text.length / 4)) }), 400, 'KMS.2201');
      expectError(await kms('decrypt-datakey', { ...base, key_id: other }), 400, 'KMS.2201');
      expectError(await kms('decrypt-datakey', { ...base, additional_authenticated_data: 'dek-aaD' }), 400, 'KMS.2201');
      const { additional_authenticated_data: _dropped, ...noAad } = base;
      expectError(await viaToken('decrypt-datakey', noAad), 400, 'KMS.2201');
      expectError(await kms('decrypt-datakey', { key_id: keyId, cipher_text: dk.cipher_text, additional_authenticated_data: 'dek-aad' }), 400, 'KMS.0204');
      // an encrypt-data ciphertext, re-encoded as hex
      const data = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'x'.repeat(32) }));
      expectError(await kms('decrypt-datakey', { key_id: keyId, cipher_text: b64ToHex(data.cipher_text), datakey_cipher_length: '32' }), 400, 'KMS.2201');
    });
  });
}

describe('cross-key and cross-type ciphertexts', () => {
  let aes: string;
  let aes2: string;
  let sm4: string;
  before(async () => {
    aes = await createKey('AES_256');
    aes2 = await createKey('AES_256');
    sm4 = await createKey('SM4');
  });

  test('key_id on decrypt-data that differs from the ciphertext key is KMS.2201', async () => {
    const enc = await ok(kms('encrypt-data', { key_id: aes, plain_text: 'mine' }));
    expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, key_id: aes2 }), 400, 'KMS.2201');
    expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, key_id: sm4 }), 400, 'KMS.2201');
    expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, key_id: '00000000-0000-4000-8000-000000000000' }), 404, 'KMS.0207');
    const smEnc = await ok(kms('encrypt-data', { key_id: sm4, plain_text: 'sm' }));
    expectError(await viaToken('decrypt-data', { cipher_text: smEnc.cipher_text, key_id: aes }), 400, 'KMS.2201');
  });

  test('the algorithm byte is authenticated: an AES blob relabelled as SM4 (and back) is KMS.2201', async () => {
    const enc = await ok(kms('encrypt-data', { key_id: aes, plain_text: 'relabel' }));
    const blob = Buffer.from(enc.cipher_text, 'base64');
    assert.equal(blob.length > 45, true);
    blob[44] = blob[44] === 1 ? 2 : 1;
    expectError(await kms('decrypt-data', { cipher_text: blob.toString('base64') }), 400, 'KMS.2201');
  });

  test('moving a blob onto another key (rewriting the embedded key id) is KMS.2201', async () => {
    const enc = await ok(kms('encrypt-data', { key_id: aes, plain_text: 'moved' }));
    const blob = Buffer.from(enc.cipher_text, 'base64');
    blob.write(aes2, 4, 36, 'latin1');
    expectError(await kms('decrypt-data', { cipher_text: blob.toString('base64') }), 400, 'KMS.2201');
  });
});

describe('encrypt-data / decrypt-data request errors', () => {
  let aes: string;
  let sm4: string;
  let cipher: string;
  before(async () => {
    aes = await createKey('AES_256');
    sm4 = await createKey('SM4');
    cipher = (await ok(kms('encrypt-data', { key_id: aes, plain_text: 'hello' }))).cipher_text;
  });

  test('missing plain_text is KMS.0204', async () => {
    expectError(await kms('encrypt-data', { key_id: aes }), 400, 'KMS.0204');
    expectError(await viaToken('encrypt-data', { key_id: sm4 }), 400, 'KMS.0204');
  });

  test('empty plain_text or more than 4096 UTF-8 bytes is KMS.2101', async () => {
    expectError(await kms('encrypt-data', { key_id: aes, plain_text: '' }), 400, 'KMS.2101');
    expectError(await kms('encrypt-data', { key_id: aes, plain_text: 'a'.repeat(4097) }), 400, 'KMS.2101');
    expectError(await kms('encrypt-data', { key_id: sm4, plain_text: 'é'.repeat(2048) + 'a' }), 400, 'KMS.2101');
    expectError(await viaToken('encrypt-data', { key_id: sm4, plain_text: 'é'.repeat(2049) }), 400, 'KMS.2101'); // 2049 characters, 4098 bytes
    expectError(await kms('encrypt-data', { key_id: aes, plain_text: 42 }), 400, 'KMS.2101');
  });

  test('encryption_context that is not an object is KMS.0208', async () => {
    for (const bad of ['a=b', ['a', 'b'], 7, true]) {
      expectError(await kms('encrypt-data', { key_id: aes, plain_text: 'p', encryption_context: bad }), 400, 'KMS.0208');
      expectError(await kms('decrypt-data', { cipher_text: cipher, encryption_context: bad }), 400, 'KMS.0208');
    }
  });

  test('encryption_algorithm RSAES_OAEP_SHA_256 on a symmetric key is KMS.2105; an unknown algorithm is KMS.0308', async () => {
    expectError(await kms('encrypt-data', { key_id: aes, plain_text: 'p', encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.2105');
    expectError(await kms('encrypt-data', { key_id: sm4, plain_text: 'p', encryption_algorithm: 'SM2_ENCRYPT' }), 400, 'KMS.2105');
    expectError(await kms('decrypt-data', { cipher_text: cipher, key_id: aes, encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.2105');
    // Without key_id, an asymmetric algorithm means an asymmetric ciphertext, which needs its key named.
    expectError(await kms('decrypt-data', { cipher_text: cipher, encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0204');
    expectError(await kms('encrypt-data', { key_id: aes, plain_text: 'p', encryption_algorithm: 'AES_GCM' }), 400, 'KMS.0308');
    expectError(await kms('encrypt-data', { key_id: aes, plain_text: 'p', encryption_algorithm: 'symmetric_default' }), 400, 'KMS.0308');
    expectError(await kms('decrypt-data', { cipher_text: cipher, encryption_algorithm: 'FOO' }), 400, 'KMS.0308');
  });

  test('cipher_text that does not match ^[0-9a-zA-Z+/=]{128,5648}$ is KMS.2201', async () => {
    const bad = [
      cipher.slice(0, 127).padEnd(127, 'A'),
      'A'.repeat(127),
      'A'.repeat(5649),
      cipher.replace(/[+/]/g, '-').replace(/^(.)/, '-'), // URL-safe alphabet
      cipher.slice(0, 100) + ' ' + cipher.slice(100),
      cipher + '\n',
    ];
    for (const c of bad) assert.doesNotMatch(c, CIPHER_RE);
    for (const c of bad) expectError(await kms('decrypt-data', { cipher_text: c }), 400, 'KMS.2201');
    expectError(await kms('decrypt-data', { cipher_text: 12345 }), 400, 'KMS.2201');
    // well-formed Base64 that is no Strongroom blob
    expectError(await kms('decrypt-data', { cipher_text: 'A'.repeat(128) }), 400, 'KMS.2201');
    expectError(await kms('decrypt-data', { cipher_text: randomBytes(300).toString('base64') }), 400, 'KMS.2201');
    expectError(await kms('decrypt-data', {}), 400, 'KMS.0204');
  });

  test('an unknown key is 404 KMS.0207', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    expectError(await kms('encrypt-data', { key_id: unknown, plain_text: 'p' }), 404, 'KMS.0207');
    expectError(await viaToken('encrypt-data', { key_id: unknown, plain_text: 'p' }), 404, 'KMS.0207');
    expectError(await kms('create-datakey', { key_id: unknown }), 404, 'KMS.0207');
    expectError(await kms('create-datakey-without-plaintext', { key_id: unknown }), 404, 'KMS.0207');
    // decrypt-datakey names a key that does not exist: 404, as decrypt-data and create-datakey answer
    expectError(await kms('decrypt-datakey', { key_id: unknown, cipher_text: 'AB'.repeat(100), datakey_cipher_length: '32' }), 404, 'KMS.0207');
    const dek = randomBytes(32);
    expectError(await kms('encrypt-datakey', { key_id: unknown, plain_text: Buffer.concat([dek, sha256(dek)]).toString('hex'), datakey_plain_length: '32' }), 404, 'KMS.0207');
  });

  test('a malformed key_id is KMS.0205', async () => {
    expectError(await kms('encrypt-data', { key_id: 'not-a-key', plain_text: 'p' }), 400, 'KMS.0205');
    expectError(await kms('decrypt-data', { cipher_text: cipher, key_id: 'not-a-key' }), 400, 'KMS.0205');
  });
});

describe('key states', () => {
  test('a disabled key is KMS.0209 for encrypt and decrypt, and works again once enabled', async () => {
    for (const spec of ['AES_256', 'SM4'] as const) {
      const keyId = await createKey(spec);
      const enc = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'before' }));
      const dk = await ok(kms('create-datakey', { key_id: keyId }));
      assert.equal((await ok(kms('disable-key', { key_id: keyId }))).key_info.key_state, '3');
      expectError(await kms('encrypt-data', { key_id: keyId, plain_text: 'p' }), 400, 'KMS.0209');
      expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text }), 400, 'KMS.0209');
      expectError(await viaToken('decrypt-data', { cipher_text: enc.cipher_text, key_id: keyId }), 400, 'KMS.0209');
      expectError(await kms('create-datakey', { key_id: keyId }), 400, 'KMS.0209');
      expectError(await kms('create-datakey-without-plaintext', { key_id: keyId }), 400, 'KMS.0209');
      expectError(await kms('decrypt-datakey', { key_id: keyId, cipher_text: dk.cipher_text, datakey_cipher_length: '32' }), 400, 'KMS.0209');
      assert.equal((await ok(kms('enable-key', { key_id: keyId }))).key_info.key_state, '2');
      assert.equal((await ok(kms('decrypt-data', { cipher_text: enc.cipher_text }))).plain_text, 'before');
      assert.equal((await ok(kms('decrypt-datakey', { key_id: keyId, cipher_text: dk.cipher_text, datakey_cipher_length: '32' }))).data_key, dk.plain_text);
    }
  });

  test('a key pending deletion is KMS.0210 for encrypt and decrypt', async () => {
    const keyId = await createKey('AES_256');
    const enc = await ok(kms('encrypt-data', { key_id: keyId, plain_text: 'before' }));
    const dk = await ok(kms('create-datakey', { key_id: keyId }));
    assert.equal((await ok(kms('schedule-key-deletion', { key_id: keyId, pending_days: '7' }))).key_state, '4');
    expectError(await kms('encrypt-data', { key_id: keyId, plain_text: 'p' }), 400, 'KMS.0210');
    expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text }), 400, 'KMS.0210');
    expectError(await kms('create-datakey', { key_id: keyId }), 400, 'KMS.0210');
    expectError(await kms('decrypt-datakey', { key_id: keyId, cipher_text: dk.cipher_text, datakey_cipher_length: '32' }), 400, 'KMS.0210');
    const dek = randomBytes(32);
    expectError(await viaToken('encrypt-datakey', { key_id: keyId, plain_text: Buffer.concat([dek, sha256(dek)]).toString('hex'), datakey_plain_length: '32' }), 400, 'KMS.0210');
  });

  test('an origin-external key without material is KMS.0310', async () => {
    for (const spec of ['AES_256', 'SM4'] as const) {
      const keyId = await createKey(spec, { origin: 'external' });
      assert.equal((await ok(kms('describe-key', { key_id: keyId }))).key_info.key_state, '5');
      expectError(await kms('encrypt-data', { key_id: keyId, plain_text: 'p' }), 400, 'KMS.0310');
      expectError(await kms('create-datakey', { key_id: keyId }), 400, 'KMS.0310');
      expectError(await viaToken('create-datakey-without-plaintext', { key_id: keyId }), 400, 'KMS.0310');
    }
  });
});

describe('create-datakey length errors', () => {
  let keyId: string;
  before(async () => (keyId = await createKey('AES_256')));

  test('datakey_length outside 8..8192 is KMS.1901, not a multiple of 8 is KMS.1903, unknown key_spec is KMS.0308', async () => {
    for (const op of ['create-datakey', 'create-datakey-without-plaintext']) {
      expectError(await kms(op, { key_id: keyId, datakey_length: '0' }), 400, 'KMS.1901');
      expectError(await kms(op, { key_id: keyId, datakey_length: '8200' }), 400, 'KMS.1901');
      expectError(await kms(op, { key_id: keyId, datakey_length: '12' }), 400, 'KMS.1903');
      expectError(await kms(op, { key_id: keyId, key_spec: 'FOO' }), 400, 'KMS.0308');
    }
    expectError(await kms('create-datakey', { key_id: keyId, datakey_length: '-8' }), 400, 'KMS.1901');
    expectError(await kms('create-datakey', { key_id: keyId, datakey_length: 'abc' }), 400, 'KMS.1901');
    expectError(await viaToken('create-datakey', { key_id: keyId, datakey_length: '8193' }), 400, 'KMS.1901');
    expectError(await viaToken('create-datakey', { key_id: keyId, datakey_length: '4' }), 400, 'KMS.1901');
    expectError(await kms('create-datakey', { key_id: keyId, datakey_length: '1020' }), 400, 'KMS.1903');
    expectError(await kms('create-datakey', { key_id: keyId, key_spec: 'aes_256' }), 400, 'KMS.0308');
  });
});

describe('gen-random', () => {
  test('8, 512 and 8192 bits give bits/4 upper-case hex characters', async () => {
    for (const [bits, send] of [[8, kms], [512, viaToken], [8192, kms]] as const) {
      const a = await ok(send('gen-random', { random_data_length: String(bits) }));
      assert.deepEqual(Object.keys(a), ['random_data']);
      assert.match(a.random_data, UPPER_HEX);
      assert.equal(a.random_data.length, bits / 4);
      if (bits >= 512) {
        const b = await ok(send('gen-random', { random_data_length: String(bits) }));
        assert.equal(b.random_data.length, bits / 4);
        assert.notEqual(a.random_data, b.random_data);
      }
    }
    // 8-bit values: 40 draws cannot all be equal unless the generator is broken (chance 256^-39)
    const small = new Set<string>();
    for (let i = 0; i < 40; i++) small.add((await ok(kms('gen-random', { random_data_length: '8' }))).random_data);
    assert.ok(small.size > 1, `all draws gave ${[...small][0]}`);
    assert.equal((await ok(kms('gen-random', { random_data_length: 256 }))).random_data.length, 64);
  });

  test('errors: not a multiple of 8 is KMS.1802, outside 8..8192 is KMS.1801, missing is KMS.0204', async () => {
    expectError(await kms('gen-random', { random_data_length: '12' }), 400, 'KMS.1802');
    expectError(await kms('gen-random', { random_data_length: '0' }), 400, 'KMS.1801');
    expectError(await kms('gen-random', { random_data_length: '8200' }), 400, 'KMS.1801');
    expectError(await viaToken('gen-random', { random_data_length: '8200' }), 400, 'KMS.1801');
    expectError(await kms('gen-random', {}), 400, 'KMS.0204');
    expectError(await viaToken('gen-random', { sequence: '919c82d4-8046-4722-9094-35c3c6524cff' }), 400, 'KMS.0204');
  });
});
