/**
 * Seed files (README "Seed files"): a file declaring a key of every spec, with and without material, aliases, tags,
 * versions, grants and replicas, applied to a running deployment twice (the second run changes nothing), the keys
 * then used through the signed KMS API against node:crypto computations with the seeded material (known answers),
 * reconciliation of what a client could change, an invalid file (exit 2) and conflicting material (exit 1) changing
 * nothing, and `export` read back into a second deployment. `seed` and `export` run as commands (child processes,
 * asynchronous: the deployment's servers run in this process).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, verify, type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { applySeedFile, exportRegion, SeedApplyError } from '../src/seed/seed-client.js';
import { parseSeedFile, SeedFileError } from '../src/seed/seed-file.js';
import { bootstrap } from '../src/cli/bootstrap.js';
import { planDeployment } from '../src/deployment.js';
import { freePortRange, signedRequest, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';
import { skipPostgres } from './helpers/postgres.js';
import { eventually, startProcesses } from './helpers/processes.js';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..');
const NORTH = 'cn-north-4';
const SOUTH = 'cn-south-1';
const REGIONS = [NORTH, SOUTH];

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `strongroom …` from the repository root without blocking this process. */
function cli(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO, encoding: 'utf8' }, (err, stdout, stderr) => {
      done({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const ok = (r: Reply) => {
  if (r.status >= 300) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};
const b64 = (b: Buffer) => b.toString('base64');
const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
const suffix = randomUUID().slice(0, 8);

/** A seed file's keys: every spec, some with material; a YAML text of them. */
function seedYaml(keys: object[]): string {
  return JSON.stringify({ keys }, null, 2); // JSON is YAML
}

// Material the seed gives (the tests compute with it locally).
const aesV1 = randomBytes(32);
const aesV2 = randomBytes(32);
const sm4 = randomBytes(16);
const hmac256 = randomBytes(32);
const hmac512 = randomBytes(64);
const ecP256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const sm2 = generateKeyPairSync('ec', { namedCurve: 'SM2' });
const ed25519 = generateKeyPairSync('ed25519');

const id = () => randomUUID();
const ids = {
  aes: id(), aesPlain: id(), sm4: id(), rsa2048: id(), rsa3072: id(), rsa4096: id(), ecP256: id(), ecP384: id(), secp256k1: id(), sm2: id(), ed25519: id(),
  hmac256: id(), hmac384: id(), hmac512: id(), hmacSm3: id(),
};

const everyKey = () => [
  {
    region: NORTH, key_id: ids.aes, key_alias: `orders-${suffix}`, key_spec: 'AES_256', key_usage: 'ENCRYPT_DECRYPT', key_description: 'orders data',
    versions: [`base64:${b64(aesV1)}`, `hex:${aesV2.toString('hex')}`], tags: { team: 'payments', tier: 'gold' }, replicas: [SOUTH],
    grants: [{ grantee_principal: '', grantee_principal_type: 'domain', operations: ['encrypt-data', 'decrypt-data'], name: `svc-${suffix}` }],
  },
  { region: NORTH, key_id: ids.aesPlain, key_alias: `plain-${suffix}`, key_spec: 'AES_256', enabled: false },
  { region: NORTH, key_id: ids.sm4, key_alias: `sm4-${suffix}`, key_spec: 'SM4', material: `base64:${b64(sm4)}`, replicas: [SOUTH] },
  { region: NORTH, key_id: ids.rsa2048, key_alias: `rsa2048-${suffix}`, key_spec: 'RSA_2048', key_usage: 'SIGN_VERIFY', material: pem(rsa2048.privateKey) },
  { region: NORTH, key_id: ids.rsa3072, key_alias: `rsa3072-${suffix}`, key_spec: 'RSA_3072', key_usage: 'ENCRYPT_DECRYPT' },
  { region: SOUTH, key_id: ids.rsa4096, key_alias: `rsa4096-${suffix}`, key_spec: 'RSA_4096' },
  { region: NORTH, key_id: ids.ecP256, key_alias: `p256-${suffix}`, key_spec: 'EC_P256', material: pem(ecP256.privateKey), tags: { use: 'jwt' }, replicas: [SOUTH] },
  { region: NORTH, key_id: ids.ecP384, key_alias: `p384-${suffix}`, key_spec: 'EC_P384' },
  { region: NORTH, key_id: ids.secp256k1, key_alias: `k1-${suffix}`, key_spec: 'SECP256K1', material: pem(secp256k1.privateKey) },
  { region: NORTH, key_id: ids.sm2, key_alias: `sm2-${suffix}`, key_spec: 'SM2', material: pem(sm2.privateKey) },
  { region: NORTH, key_id: ids.ed25519, key_alias: `ed25519-${suffix}`, key_spec: 'ED25519', material: pem(ed25519.privateKey), replicas: [SOUTH] },
  { region: NORTH, key_id: ids.hmac256, key_alias: `mac256-${suffix}`, key_spec: 'HMAC_256', material: `base64:${b64(hmac256)}` },
  { region: SOUTH, key_id: ids.hmac384, key_alias: `mac384-${suffix}`, key_spec: 'HMAC_384' },
  { region: NORTH, key_id: ids.hmac512, key_alias: `mac512-${suffix}`, key_spec: 'HMAC_512', material: `base64:${b64(hmac512)}` },
  { region: NORTH, key_id: ids.hmacSm3, key_alias: `macsm3-${suffix}`, key_spec: 'HMAC_SM3', key_description: 'SM3 MACs' },
];

let d: TestDeployment;
let scratch: string;
let seedFile: string;

/** The state clients see of every key: details, tags, grants, in each region that holds it. */
async function snapshot(dep: TestDeployment): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const region of REGIONS) {
    const listed = ok(await dep.kms(region, 'list-keys', { limit: '1000' })) as { keys: string[] };
    for (const keyId of [...listed.keys].sort()) {
      const info = ok(await dep.kms(region, 'describe-key', { key_id: keyId })).key_info;
      const tags = ok(await signedRequest(dep.endpoint(region), dep.admin, dep.projectId(region), 'GET', `/v1.0/${dep.projectId(region)}/kms/${keyId}/tags`)).tags;
      const grants = ok(await dep.kms(region, 'list-grants', { key_id: keyId })).grants;
      out[`${region}/${keyId}`] = { info, tags, grants };
    }
  }
  return out;
}

/** A Strongroom encrypt-data blob made with node:crypto alone (core/ciphertext.ts documents the layout). */
function localBlob(keyId: string, version: number, key: Buffer, plaintext: Buffer): Buffer {
  const header = Buffer.alloc(45);
  header[0] = 0x02;
  header[1] = 0x01;
  header.write(keyId, 4, 36, 'latin1');
  header.writeUInt32BE(version, 40);
  header[44] = 1;
  const framed = Buffer.alloc(Math.max(32, 2 + plaintext.length));
  framed.writeUInt16BE(plaintext.length, 0);
  plaintext.copy(framed, 2);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.concat([header.subarray(0, 2), header.subarray(4)]));
  const blob = Buffer.concat([header, iv, cipher.update(framed), cipher.final(), cipher.getAuthTag()]);
  blob.writeUInt16LE(blob.length - 36, 2);
  return blob;
}

/** Opens an encrypt-data blob with node:crypto and the given material: its version and plaintext. */
function openBlob(blob: Buffer, key: Buffer): { version: number; plaintext: Buffer } {
  const header = blob.subarray(0, 45);
  const payload = blob.subarray(45);
  const decipher = createDecipheriv('aes-256-gcm', key, payload.subarray(0, 12));
  decipher.setAAD(Buffer.concat([header.subarray(0, 2), header.subarray(4)]));
  decipher.setAuthTag(payload.subarray(payload.length - 16));
  const framed = Buffer.concat([decipher.update(payload.subarray(12, payload.length - 16)), decipher.final()]);
  return { version: header.readUInt32BE(40), plaintext: framed.subarray(2, 2 + framed.readUInt16BE(0)) };
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'strongroom-seed-'));
  d = await startTestDeployment({ regions: REGIONS });
  const keys = everyKey();
  keys[0]!.grants![0]!.grantee_principal = d.boot.domain_id;
  seedFile = join(scratch, 'seed.yaml');
  writeFileSync(seedFile, seedYaml(keys));
});

after(async () => {
  await d?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the seed file is checked whole, with item paths', () => {
  const base = { region: NORTH, key_id: '0d0466b0-e727-4d9c-b35d-f84bb474a37f', key_alias: 'orders', key_spec: 'AES_256' };
  const problems = (keys: object[] | string): string[] => {
    try {
      parseSeedFile(typeof keys === 'string' ? keys : seedYaml(keys));
    } catch (err) {
      assert.ok(err instanceof SeedFileError);
      return err.problems;
    }
    throw new Error('the file was accepted');
  };

  test('the shape of the issue parses: material decoded, defaults filled in', () => {
    const [k] = parseSeedFile(`keys:
  - region: cn-north-4
    key_id: 0d0466b0-e727-4d9c-b35d-f84bb474a37f   # fixed id
    key_alias: orders
    key_spec: AES_256
    key_description: orders data
    material: base64:${b64(aesV1)}
    tags: {team: payments}
    replicas: [cn-south-1]
`);
    assert.deepEqual(k, {
      region: NORTH, keyId: base.key_id, alias: 'orders', spec: 'AES_256', usage: 'ENCRYPT_DECRYPT', description: 'orders data', enabled: undefined,
      versions: [aesV1], tags: [{ key: 'team', value: 'payments' }], replicas: [SOUTH], grants: [],
    });
  });

  test('every problem is reported at once, each with its path', () => {
    assert.deepEqual(problems([
      { ...base, key_spec: 'AES_257' },
      { ...base, key_id: 'NOT-A-UUID', colour: 'red' },
      { ...base, key_alias: 'bad alias' },
    ]), [
      'keys[0].key_spec: must be one of AES_256, SM4, RSA_2048, RSA_3072, RSA_4096, EC_P256, EC_P384, SECP256K1, SM2, ED25519, HMAC_256, HMAC_384, HMAC_512, HMAC_SM3',
      'keys[1].colour: is not a field of a seed file',
      'keys[1].key_id: must be a UUID in lower case (8-4-4-4-12 hex digits)',
      'keys[2].key_alias: must be 1-255 characters of a-z A-Z 0-9 : / _ -',
    ]);
    assert.deepEqual(problems([{ region: NORTH }]), ['keys[0].key_id: is required', 'keys[0].key_alias: is required', 'keys[0].key_spec: is required']);
    assert.deepEqual(problems('keys: ['), ['YAML line 1, column 8: Flow sequence in block collection must be sufficiently indented and end with a ]']);
    assert.deepEqual(problems('nokeys: 1'), ['keys: is required', 'nokeys: is not a field of a seed file']);
    assert.deepEqual(problems([{ ...base, tags: { n: 1 } }]), ['keys[0].tags.n: must be a string (quote values such as "1" or "true")']);
  });

  test('rules beyond the schema: usage, material size and kind, versions, ids and aliases, grants', () => {
    const other = '1d0466b0-e727-4d9c-b35d-f84bb474a37f';
    assert.deepEqual(problems([
      { ...base, key_usage: 'SIGN_VERIFY' },
      { ...base, key_id: other, key_alias: 'b', material: 'base64:AAAA' },
      { ...base, key_id: randomUUID(), key_alias: 'c', key_spec: 'EC_P256', material: pem(rsa2048.privateKey) },
      { ...base, key_id: randomUUID(), key_alias: 'd', key_spec: 'HMAC_256', versions: [`base64:${b64(hmac256)}`, `base64:${b64(hmac256)}`] },
      { ...base, key_id: other, key_alias: 'e' },
      { ...base, key_id: randomUUID(), key_alias: 'orders' },
      { ...base, key_id: randomUUID(), key_alias: 'f', material: 'raw', replicas: [NORTH] },
      { ...base, key_id: randomUUID(), key_alias: 'g', key_spec: 'SM2', material: 'not pem', grants: [{ grantee_principal: 'abc', operations: ['create-grant'] }] },
      { ...base, key_id: randomUUID(), key_alias: 'x/default' },
    ]), [
      'keys[0].key_usage: SIGN_VERIFY is not a usage of AES_256 (ENCRYPT_DECRYPT)',
      'keys[1].material: AES_256 material is 32 bytes, not 3',
      'keys[2].material: the PEM is not a EC_P256 private key',
      'keys[3].versions: only symmetric keys (AES_256, SM4) have several versions; HMAC_256 has one',
      'keys[6].material: AES_256 material is the raw key as base64:… or hex:…',
      'keys[6].replicas: cn-north-4 is the key\'s own region',
      'keys[7].material: SM2 material is a private key in PEM (-----BEGIN PRIVATE KEY-----)',
      'keys[7].grants[0].operations: create-grant cannot be granted alone',
      'keys[8].key_alias: aliases ending in /default are reserved for default keys',
      `keys[4].key_id: ${other} is declared already by keys[1]`,
      'keys[5].key_alias: orders is used in cn-north-4 by keys[0] already',
    ]);
  });
});

describe('a seed with every key type, applied to a running deployment', () => {
  let first: Record<string, unknown>;

  test('an invalid file exits 2, lists its problems and creates nothing', async () => {
    const before = await snapshot(d);
    const bad = join(scratch, 'bad.yaml');
    const keys = everyKey();
    (keys[3] as { key_spec: string }).key_spec = 'RSA_1024';
    writeFileSync(bad, seedYaml(keys));
    const r = await cli('seed', bad, '--data-dir', d.dir);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /nothing was changed/);
    assert.match(r.stderr, /keys\[3\]\.key_spec: must be one of/);
    assert.deepEqual(await snapshot(d), before);

    // The same checks through the function (the command maps SeedFileError to exit code 2, as above).
    const unknownRegion = join(scratch, 'region.yaml');
    writeFileSync(unknownRegion, seedYaml([{ region: 'ap-southeast-9', key_id: randomUUID(), key_alias: `r-${suffix}`, key_spec: 'AES_256', replicas: [NORTH] }]));
    const refused = async (dir: string, file: string) => {
      try {
        await applySeedFile(dir, file);
      } catch (err) {
        assert.ok(err instanceof SeedFileError, String(err));
        return err.problems;
      }
      throw new Error('the seed was accepted');
    };
    assert.deepEqual(await refused(d.dir, unknownRegion), ['keys[0].region: ap-southeast-9 is not a region of this deployment (cn-north-4, cn-south-1)']);
    assert.deepEqual(await refused(join(scratch, 'nowhere'), seedFile), [`${join(scratch, 'nowhere')}: no deployment here (deployment.json and bootstrap.json are written by npm start); give --data-dir`]);
    assert.deepEqual(await refused(d.dir, join(scratch, 'missing.yaml')), [`${join(scratch, 'missing.yaml')}: cannot be read (ENOENT)`]);
    assert.deepEqual(await snapshot(d), before);
  });

  test('the first run creates every key (JSON report on stdout, exit 0)', async () => {
    const r = await cli('seed', seedFile, '--data-dir', d.dir);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { keys: { key_id: string; region: string; action: string; changes: string[] }[]; created: number; updated: number; unchanged: number };
    assert.deepEqual([report.created, report.updated, report.unchanged], [15, 0, 0]);
    const aes = report.keys.find((k) => k.key_id === ids.aes)!;
    assert.deepEqual(aes, { key_id: ids.aes, region: NORTH, key_alias: `orders-${suffix}`, action: 'created', changes: [`grant svc-${suffix}`, `replica ${SOUTH}`] });
    first = (await snapshot(d)) as Record<string, unknown>;
  });

  test('the keys have the declared ids, specs, aliases, descriptions, states, tags and replicas', async () => {
    for (const k of everyKey()) {
      const info = ok(await d.kms(k.region, 'describe-key', { key_id: k.key_id })).key_info;
      assert.equal(info.key_id, k.key_id);
      assert.equal(info.key_alias, k.key_alias);
      assert.equal(info.key_spec, k.key_spec);
      assert.equal(info.key_description, (k as { key_description?: string }).key_description ?? '');
      assert.equal(info.key_state, (k as { enabled?: boolean }).enabled === false ? '3' : '2');
      if ((k as { key_usage?: string }).key_usage) assert.equal(info.key_usage, (k as { key_usage?: string }).key_usage);
      const tags = ok(await signedRequest(d.endpoint(k.region), d.admin, d.projectId(k.region), 'GET', `/v1.0/${d.projectId(k.region)}/kms/${k.key_id}/tags`)).tags;
      assert.deepEqual(tags, Object.entries((k as { tags?: Record<string, string> }).tags ?? {}).map(([key, value]) => ({ key, value })));
    }
    for (const keyId of [ids.aes, ids.sm4, ids.ecP256]) {
      const replica = ok(await d.kms(SOUTH, 'describe-key', { key_id: keyId })).key_info;
      assert.equal(replica.key_id, keyId);
      assert.equal(replica.key_state, '2');
    }
    const replica = ok(await d.kms(SOUTH, 'describe-key', { key_id: ids.aes })).key_info;
    assert.deepEqual([replica.key_alias, replica.key_description], [`orders-${suffix}`, 'orders data']);
    const replicaTags = ok(await signedRequest(d.endpoint(SOUTH), d.admin, d.projectId(SOUTH), 'GET', `/v1.0/${d.projectId(SOUTH)}/kms/${ids.aes}/tags`)).tags;
    assert.deepEqual(replicaTags, [{ key: 'team', value: 'payments' }, { key: 'tier', value: 'gold' }]);
    const grants = ok(await d.kms(NORTH, 'list-grants', { key_id: ids.aes })).grants;
    assert.equal(grants.length, 1);
    assert.deepEqual([grants[0].grantee_principal, grants[0].name, [...grants[0].operations].sort()], [d.boot.domain_id, `svc-${suffix}`, ['decrypt-data', 'encrypt-data']]);
  });

  test('the second run changes nothing: every key unchanged, the state identical', async () => {
    const report = await applySeedFile(d.dir, seedFile);
    assert.deepEqual([report.created, report.updated, report.unchanged], [0, 0, 15]);
    assert.ok(report.keys.every((k) => k.action === 'unchanged' && k.changes.length === 0), JSON.stringify(report.keys));
    assert.deepEqual(await snapshot(d), first);
  });

  test('seeding is in the regions\' audit trails: the dry runs and the applied seed, with the keys they named', async () => {
    const r = await cli('audit', 'export', '--region', NORTH, '--data-dir', d.dir);
    assert.equal(r.status, 0, r.stderr);
    const records = r.stdout.trim().split('\n').slice(1).map((l) => JSON.parse(l) as { operation: string; key_ids: string[]; status: number });
    const applied = records.filter((x) => x.operation === 'cli:seed');
    assert.equal(applied.length, 2, 'the two runs so far');
    assert.ok(applied.every((x) => x.status === 200 && x.key_ids.includes(ids.aes) && x.key_ids.includes(ids.hmac512) && !x.key_ids.includes(ids.rsa4096)));
    assert.ok(records.filter((x) => x.operation === 'cli:seed dry-run').length >= 2);
  });

  test('seeded AES versions: known answers both ways, the old version still decrypts, in the replica too', async () => {
    const plaintext = Buffer.from(`known answer ${suffix}`);
    const made = ok(await d.kms(NORTH, 'encrypt-data', { key_id: ids.aes, plain_text: plaintext.toString() }));
    const opened = openBlob(Buffer.from(made.cipher_text, 'base64'), aesV2);
    assert.deepEqual(opened, { version: 2, plaintext }, 'encrypt-data uses the last declared version');
    for (const [version, key] of [[1, aesV1], [2, aesV2]] as const) {
      const blob = b64(localBlob(ids.aes, version, key, plaintext));
      for (const region of REGIONS) {
        const out = ok(await d.kms(region, 'decrypt-data', { cipher_text: blob }));
        assert.equal(out.key_id, ids.aes);
        assert.equal(Buffer.from(out.plain_text_base64, 'base64').toString(), plaintext.toString(), `version ${version} in ${region}`);
      }
    }
  });

  test('seeded HMAC material: generate-mac equals node:crypto', async () => {
    const message = Buffer.from(`mac me ${suffix}`);
    const mac256 = ok(await d.kms(NORTH, 'generate-mac', { key_id: ids.hmac256, mac_algorithm: 'HMAC_SHA_256', message: b64(message) })).mac;
    assert.equal(mac256, createHmac('sha256', hmac256).update(message).digest('hex'));
    const mac512 = ok(await d.kms(NORTH, 'generate-mac', { key_id: ids.hmac512, mac_algorithm: 'HMAC_SHA_512', message: b64(message) })).mac;
    assert.equal(mac512, createHmac('sha512', hmac512).update(message).digest('hex'));
  });

  test('seeded key pairs: signatures verify with node:crypto and the seed\'s public keys; the KMS answers those public keys', async () => {
    const message = Buffer.from(`sign me ${suffix}`);
    const sign = async (region: string, keyId: string, alg: string) =>
      Buffer.from(ok(await d.kms(region, 'sign', { key_id: keyId, signing_algorithm: alg, message: b64(message), message_type: 'RAW' })).signature, 'base64');
    assert.ok(verify('sha256', message, ecP256.publicKey, await sign(NORTH, ids.ecP256, 'ECDSA_SHA_256')));
    assert.ok(verify('sha256', message, ecP256.publicKey, await sign(SOUTH, ids.ecP256, 'ECDSA_SHA_256')), 'the replica holds the same pair');
    assert.ok(verify('sha256', message, secp256k1.publicKey, await sign(NORTH, ids.secp256k1, 'ECDSA_SHA_256')));
    assert.ok(verify('sha256', message, rsa2048.publicKey, await sign(NORTH, ids.rsa2048, 'RSASSA_PKCS1_V1_5_SHA_256')));
    assert.ok(verify(null, message, ed25519.publicKey, await sign(NORTH, ids.ed25519, 'ED25519_SHA_512')));
    assert.ok(verify(null, message, ed25519.publicKey, await sign(SOUTH, ids.ed25519, 'ED25519_SHA_512')), 'the replica holds the same Ed25519 key');
    for (const [keyId, pair] of [[ids.sm2, sm2], [ids.rsa2048, rsa2048], [ids.ed25519, ed25519]] as const) {
      const got = ok(await d.kms(NORTH, 'get-publickey', { key_id: keyId })).public_key as string;
      const der = createPublicKey(got.includes('BEGIN') ? got : { key: Buffer.from(got, 'base64'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' });
      assert.deepEqual(der, pair.publicKey.export({ type: 'spki', format: 'der' }));
    }
  });

  test('keys seeded without material work too (generated in the region)', async () => {
    const made = ok(await d.kms(SOUTH, 'generate-mac', { key_id: ids.hmac384, mac_algorithm: 'HMAC_SHA_384', message: b64(Buffer.from('x')) })).mac;
    assert.equal(made.length, 96);
    const message = b64(Buffer.from('y'));
    const sig = ok(await d.kms(NORTH, 'sign', { key_id: ids.ecP384, signing_algorithm: 'ECDSA_SHA_384', message, message_type: 'RAW' })).signature;
    assert.equal(ok(await d.kms(NORTH, 'verify', { key_id: ids.ecP384, signing_algorithm: 'ECDSA_SHA_384', message, message_type: 'RAW', signature: sig })).signature_valid, 'true');
  });

  test('what a client could change is reconciled: alias, description, tags, enabled', async () => {
    const keys = everyKey();
    keys[0]!.grants![0]!.grantee_principal = d.boot.domain_id;
    Object.assign(keys[0]!, { key_alias: `orders2-${suffix}`, key_description: 'orders, renamed', tags: { team: 'payments', owner: 'ann' } });
    Object.assign(keys[1]!, { enabled: true });
    const changed = join(scratch, 'changed.yaml');
    writeFileSync(changed, seedYaml(keys));
    const report = await applySeedFile(d.dir, changed);
    assert.deepEqual([report.created, report.updated, report.unchanged], [0, 2, 13]);
    assert.deepEqual(report.keys.find((k) => k.key_id === ids.aes)!.changes, ['alias', 'description', 'tags']);
    assert.deepEqual(report.keys.find((k) => k.key_id === ids.aesPlain)!.changes, ['enabled']);
    const info = ok(await d.kms(NORTH, 'describe-key', { key_id: ids.aes })).key_info;
    assert.deepEqual([info.key_alias, info.key_description], [`orders2-${suffix}`, 'orders, renamed']);
    const tags = ok(await signedRequest(d.endpoint(NORTH), d.admin, d.projectId(NORTH), 'GET', `/v1.0/${d.projectId(NORTH)}/kms/${ids.aes}/tags`)).tags;
    assert.deepEqual(tags, [{ key: 'owner', value: 'ann' }, { key: 'team', value: 'payments' }]);
    assert.equal(ok(await d.kms(NORTH, 'describe-key', { key_id: ids.aesPlain })).key_info.key_state, '2');
    // Back to the first file: updated again, then unchanged.
    assert.equal((await applySeedFile(d.dir, seedFile)).updated, 2);
    assert.equal((await applySeedFile(d.dir, seedFile)).unchanged, 15);
  });

  test('conflicting material or spec exits 1 and changes nothing, not even the file\'s other keys', async () => {
    const before = await snapshot(d);
    const keys = everyKey();
    keys[0]!.grants![0]!.grantee_principal = d.boot.domain_id;
    keys[0]!.versions = [`base64:${b64(aesV1)}`, `base64:${b64(randomBytes(32))}`];
    keys[0]!.key_description = 'would change';
    keys[5]!.key_spec = 'RSA_2048';
    const fresh = { region: NORTH, key_id: randomUUID(), key_alias: `new-${suffix}`, key_spec: 'AES_256' };
    const conflicting = join(scratch, 'conflict.yaml');
    writeFileSync(conflicting, seedYaml([...keys, fresh]));
    const r = await cli('seed', conflicting, '--data-dir', d.dir);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /nothing was changed/);
    assert.match(r.stderr, new RegExp(`${NORTH} ${ids.aes}: version 2 of the key has other material here`));
    assert.match(r.stderr, new RegExp(`${SOUTH} ${ids.rsa4096}: the key is RSA_4096 here, the seed says RSA_2048`));
    expectMissing(await d.kms(NORTH, 'describe-key', { key_id: fresh.key_id }));
    assert.deepEqual(await snapshot(d), before);

    const pair = everyKey().filter((k) => k.key_id === ids.ecP256).map((k) => ({ ...k, material: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey) }));
    writeFileSync(conflicting, seedYaml(pair));
    await assert.rejects(applySeedFile(d.dir, conflicting), (err: unknown) => err instanceof SeedApplyError && /its public key differs/.test(err.message));
  });

  test('an alias another key holds, and a grantee IAM does not know, are conflicts', async () => {
    const other = ok(await d.kms(NORTH, 'create-key', { key_alias: `taken-${suffix}` })).key_info.key_id as string;
    const file = join(scratch, 'alias.yaml');
    writeFileSync(file, seedYaml([
      { region: NORTH, key_id: randomUUID(), key_alias: `taken-${suffix}`, key_spec: 'AES_256' },
      { region: NORTH, key_id: randomUUID(), key_alias: `g-${suffix}`, key_spec: 'AES_256', grants: [{ grantee_principal: 'ffffffffffffffffffffffffffffffff', operations: ['describe-key'] }] },
    ]));
    await assert.rejects(applySeedFile(d.dir, file), (err: unknown) => {
      assert.ok(err instanceof SeedApplyError);
      assert.deepEqual(err.conflicts.map((c) => c.message), [`the alias taken-${suffix} is used by another key in ${NORTH}`, 'no user has the id ffffffffffffffffffffffffffffffff (grant without name)']);
      return true;
    });
    assert.ok(other);
  });

  test('export writes the keys back; with material they load into a second deployment as the same keys', async () => {
    const plain = await cli('export', '--region', NORTH, '--data-dir', d.dir);
    assert.equal(plain.status, 0, plain.stderr);
    assert.doesNotMatch(plain.stdout, /^\s*(material|versions):|PRIVATE KEY|base64:/m);
    const listed = parseSeedFile(plain.stdout);
    assert.ok(listed.some((k) => k.keyId === ids.aes && k.replicas.join() === SOUTH && k.grants.length === 1));

    const doomed = ok(await d.kms(NORTH, 'create-key', { key_alias: `doomed-${suffix}` })).key_info.key_id as string;
    ok(await d.kms(NORTH, 'schedule-key-deletion', { key_id: doomed, pending_days: '7' }));
    const out = join(scratch, 'export.yaml');
    const r = await cli('export', '--region', NORTH, '--data-dir', d.dir, '--out', out, '--with-material', '--no-grants');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `strongroom: key ${doomed} left out: pending deletion\n`);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const text = readFileSync(out, 'utf8');
    const exported = parseSeedFile(text);
    const aes = exported.find((k) => k.keyId === ids.aes)!;
    assert.deepEqual(aes.versions, [aesV1, aesV2]);
    assert.deepEqual(aes.grants, []);
    const ec = exported.find((k) => k.keyId === ids.ecP256)!;
    assert.deepEqual(createPublicKey(createPrivateKey({ key: ec.versions![0]!, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' }), ecP256.publicKey.export({ type: 'spki', format: 'der' }));
    assert.ok(parseDocument(text).toJS().keys.every((k: { region: string }) => k.region === NORTH));

    const ciphertext = ok(await d.kms(NORTH, 'encrypt-data', { key_id: ids.aes, plain_text: 'made in the first deployment' })).cipher_text;
    const sm4Cipher = ok(await d.kms(NORTH, 'encrypt-data', { key_id: ids.sm4, plain_text: 'sm4 too' })).cipher_text;
    const d2 = await startTestDeployment({ regions: REGIONS });
    try {
      const report = await applySeedFile(d2.dir, out);
      assert.equal(report.created, exported.length);
      assert.equal(ok(await d2.kms(NORTH, 'decrypt-data', { cipher_text: ciphertext })).plain_text, 'made in the first deployment');
      assert.equal(ok(await d2.kms(SOUTH, 'decrypt-data', { cipher_text: sm4Cipher })).plain_text, 'sm4 too');
      for (const k of exported) {
        const a = ok(await d.kms(NORTH, 'describe-key', { key_id: k.keyId })).key_info;
        const b = ok(await d2.kms(NORTH, 'describe-key', { key_id: k.keyId })).key_info;
        for (const field of ['key_id', 'key_alias', 'key_spec', 'key_usage', 'key_description', 'key_state']) assert.equal(b[field], a[field], `${k.keyId} ${field}`);
      }
      const again = await cli('export', '--region', NORTH, '--data-dir', d2.dir, '--with-material');
      assert.equal(again.status, 0, again.stderr);
      const byId = (keys: { keyId: string }[]) => [...keys].sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
      assert.deepEqual(byId(parseSeedFile(again.stdout)), byId(exported), 'the second deployment exports the same keys');
      assert.equal((await applySeedFile(d2.dir, out)).unchanged, exported.length);
    } finally {
      await d2.stop();
    }
  });

  test('a deployment that is not running: the seed fails (exit code 1) and says so', async () => {
    const stopped = join(scratch, 'stopped');
    const deployment = planDeployment(stopped, { host: '127.0.0.1', basePort: await freePortRange(3), regions: REGIONS });
    await bootstrap(stopped, deployment);
    await assert.rejects(applySeedFile(stopped, seedFile), (err: unknown) =>
      err instanceof SeedApplyError && /^region cn-north-4 cannot be reached \(.*\): is the deployment running\?$/.test(err.message));
  });

  test('export of an unknown region is a usage error', async () => {
    await assert.rejects(exportRegion(d.dir, 'xx-nowhere-1', { withMaterial: false }), (err: unknown) =>
      err instanceof SeedFileError && err.problems.join() === '--region: xx-nowhere-1 is not a region of this deployment (cn-north-4, cn-south-1)');
  });
});

describe('a deployment of separate processes, as npm start runs it', () => {
  test('a seed with replicas applies to the processes and its keys answer there', async () => {
    const p = await startProcesses({ regions: REGIONS });
    try {
      const keyId = randomUUID();
      const file = join(scratch, 'processes.yaml');
      writeFileSync(file, `keys:\n  - region: ${NORTH}\n    key_id: ${keyId}\n    key_alias: procs-${suffix}\n    key_spec: AES_256\n    material: base64:${b64(aesV1)}\n    replicas: [${SOUTH}]\n`);
      const r = await cli('seed', file, '--data-dir', p.dir);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).created, 1);
      const blob = b64(localBlob(keyId, 1, aesV1, Buffer.from('across processes')));
      for (const region of REGIONS) assert.equal(ok(await p.kms(region, 'decrypt-data', { cipher_text: blob })).plain_text, 'across processes');
      assert.equal((await applySeedFile(p.dir, file)).unchanged, 1);
    } finally {
      await p.stop();
    }
  });
});

describe('two nodes per region on one PostgreSQL database', { skip: skipPostgres }, () => {
  test('keys seeded through the first node are served, and their reconciled state seen, by the second', async () => {
    const pg = await startTestDeployment({ regions: REGIONS, store: 'postgres', nodes: 2 });
    try {
      const keyId = randomUUID();
      const file = join(scratch, 'nodes.yaml');
      const write = (enabled: boolean) => writeFileSync(file, seedYaml([{ region: NORTH, key_id: keyId, key_alias: `nodes-${suffix}`, key_spec: 'AES_256', material: `base64:${b64(aesV2)}`, enabled }]));
      write(true);
      assert.equal((await applySeedFile(pg.dir, file)).created, 1);
      const second = (op: string, body: object) => signedRequest(pg.nodeEndpoint(NORTH, 1), pg.admin, pg.projectId(NORTH), 'POST', `/v1.0/${pg.projectId(NORTH)}/kms/${op}`, body);
      const blob = b64(localBlob(keyId, 1, aesV2, Buffer.from('either node')));
      assert.equal(ok(await second('decrypt-data', { cipher_text: blob })).plain_text, 'either node');
      write(false);
      assert.deepEqual((await applySeedFile(pg.dir, file)).keys[0]!.changes, ['disabled']);
      await eventually('the second node sees the key disabled', async () => (await second('decrypt-data', { cipher_text: blob })).status === 400);
      const refused = await second('decrypt-data', { cipher_text: blob });
      assert.equal((refused.body as { error: { error_code: string } }).error.error_code, 'KMS.0209');
    } finally {
      await pg.stop();
    }
  });
});

function expectMissing(r: Reply): void {
  assert.equal(r.status, 404, JSON.stringify(r.body));
  assert.equal((r.body as { error: { error_code: string } }).error.error_code, 'KMS.0207');
}
