/**
 * Throttling (issue #8, src/api/throttling.ts): every KMS operation has exactly one rate class by one rule; the
 * rates of `huawei` mode and of `N`, checked on the limiter with an injected clock; `--throttling` kept in
 * deployment.json and refused when invalid; and end to end with `throttling: 5`: the 6th call of a class within a
 * second is `429 APIGW.0308` in the gateway's flat body with `Retry-After`, another class of the same user and
 * another user still work, refused authentication counts against nobody, a throttled call changes nothing and is
 * audited as refused, and after Retry-After the user's calls work again.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KMS_OPERATIONS } from '../src/api/kms/catalogue.js';
import { HUAWEI_RATES, parseThrottling, RATE_CLASSES, rateClassOf, ratesOf, Throttle, type RateClass } from '../src/api/throttling.js';
import type { AuditRecord } from '../src/audit/audit-store.js';
import { planDeployment, readDeployment } from '../src/deployment.js';
import { ThrottledError } from '../src/errors.js';
import { TokenBuckets } from '../src/token-buckets.js';
import { expectError, signedRequest, startTestDeployment, tokenRequest, type Reply, type TestDeployment } from './helpers/deployment.js';
import { iamApi, type TestUser } from './helpers/iam.js';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'strongroom-throttling-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A clock the tests move by hand (milliseconds). */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('rate classes: one rule, every operation in exactly one class', () => {
  /** Every KMS operation's class, written out so that a change of the rule shows here. */
  const EXPECTED: Record<string, RateClass> = {
    CreateKey: 'key-management', EnableKey: 'key-management', DisableKey: 'key-management', DeleteKey: 'key-management',
    CancelKeyDeletion: 'key-management', UpdateKeyAlias: 'key-management', UpdateKeyDescription: 'key-management',
    EnableKeyRotation: 'key-management', DisableKeyRotation: 'key-management', UpdateKeyRotationInterval: 'key-management',
    RotateOnDemand: 'key-management', CreateParametersForImport: 'key-management', ImportKeyMaterial: 'key-management',
    DeleteImportedKeyMaterial: 'key-management', ReplicateKey: 'key-management', UpdatePrimaryRegion: 'key-management',
    EncryptData: 'crypto', DecryptData: 'crypto', ReEncrypt: 'crypto', CreatePin: 'crypto', CreateDatakey: 'crypto',
    CreateDatakeyWithoutPlaintext: 'crypto', EncryptDatakey: 'crypto', DecryptDatakey: 'crypto', CreateRsaDatakeyPair: 'crypto',
    CreateEcDatakeyPair: 'crypto', CreateRandom: 'crypto', Sign: 'crypto', ValidateSignature: 'crypto', DeriveSharedSecret: 'crypto',
    GenerateMac: 'crypto', VerifyMac: 'crypto',
    CreateKmsTag: 'tag', BatchCreateKmsTags: 'tag', DeleteTag: 'tag',
    ListKeys: 'list', ListKeyDetail: 'list', ShowKeyRotationStatus: 'list', ShowPublicKey: 'list', ShowKmsTags: 'list',
    ListKmsTags: 'list', ListKmsByTags: 'list', ListSupportRegions: 'list', ShowVersions: 'list', ShowVersion: 'list',
    CreateAlias: 'key-management', DeleteAlias: 'key-management', AssociateAlias: 'key-management', ListAliases: 'list',
    CreateGrant: 'key-management', CancelGrant: 'key-management', CancelSelfGrant: 'key-management', ListGrants: 'list',
    ListRetirableGrants: 'list', ShowUserQuotas: 'list', ShowUserInstances: 'list', ListKeyAuditTrail: 'list',
    CreateKeyStore: 'key-management', DeleteKeyStore: 'key-management', EnableKeyStore: 'key-management', DisableKeyStore: 'key-management',
    ListKeyStores: 'list', ShowKeyStore: 'list',
    CreateAccessPoint: 'key-management', DeleteAccessPoint: 'key-management', EnableAccessPoint: 'key-management',
    DisableAccessPoint: 'key-management', DownloadAccessPointPrivateKey: 'list', ListAccessPoint: 'list',
    CreateKeyPolicy: 'key-management', UpdateKeyPolicy: 'key-management', DeleteKeyPolicy: 'key-management', ListKeyPolicy: 'list',
    ShowKeyPolicy: 'list', CreateDatakeyCapsule: 'crypto', DecryptDatakeyCapsule: 'crypto',
  };

  test('every catalogue operation has one of the four classes, and the class written out for it', () => {
    for (const op of KMS_OPERATIONS) {
      const c = rateClassOf(op);
      assert.ok((RATE_CLASSES as readonly string[]).includes(c), `${op.name}: ${c}`);
      assert.equal(c, EXPECTED[op.name], `${op.name} (${op.action})`);
    }
    assert.deepEqual(Object.keys(EXPECTED).sort(), KMS_OPERATIONS.map((o) => o.name).sort(), 'the table above names exactly the catalogue');
    // Every class has members today.
    assert.deepEqual([...new Set(KMS_OPERATIONS.map(rateClassOf))].sort(), [...RATE_CLASSES].sort());
  });

  test('operations not built yet are classified by their action: aliases, grants, quotas, instances', () => {
    const cases: [string, boolean, RateClass][] = [
      ['kms:alias:create', true, 'key-management'], ['kms:alias:update', true, 'key-management'], ['kms:alias:delete', true, 'key-management'],
      ['kms:alias:list', false, 'list'],
      ['kms:grant:create', true, 'key-management'], ['kms:grant:revoke', true, 'key-management'], ['kms:grant:retire', true, 'key-management'],
      ['kms:grant:list', false, 'list'], ['kms:grant:listRetirable', false, 'list'],
      ['kms:cmk:getQuota', false, 'list'], ['kms:cmk:getInstance', false, 'list'], ['kms:cmkTag:listInstance', false, 'list'],
      ['kms:cmkTag:create', true, 'tag'], ['kms:cmkTag:batch', true, 'tag'],
      ['kms:dek:anythingNew', false, 'crypto'], ['kms:cmk:somethingNew', true, 'key-management'],
    ];
    for (const [action, mutates, expected] of cases) assert.equal(rateClassOf({ action, mutates }), expected, action);
  });
});

describe('the limiter, with an injected clock', () => {
  test("huawei mode: crypto 1000/s, every other class 200/s per user; a second later the budget is back", () => {
    assert.deepEqual(ratesOf('huawei'), { 'key-management': 200, crypto: 1000, tag: 200, list: 200 });
    assert.equal(ratesOf('huawei'), HUAWEI_RATES);
    const clock = manualClock();
    const t = new Throttle(HUAWEI_RATES, clock.now);
    for (const [c, rate] of Object.entries(HUAWEI_RATES) as [RateClass, number][]) {
      for (let i = 0; i < rate; i++) t.take('alice', c);
      try {
        t.take('alice', c);
        assert.fail('not throttled');
      } catch (e) {
        assert.ok(e instanceof ThrottledError);
        assert.equal(e.status, 429);
        assert.equal(e.code, 'APIGW.0308');
        assert.equal(e.message, `The throttling threshold has been reached: policy user over ratelimit,limit:${rate},time:1 second`);
        assert.equal(e.retryAfterSeconds, 1);
      }
      t.take('bob', c); // another user has their own budget
    }
    clock.advance(1000);
    for (const [c, rate] of Object.entries(HUAWEI_RATES) as [RateClass, number][]) {
      for (let i = 0; i < rate; i++) t.take('alice', c);
      assert.throws(() => t.take('alice', c), ThrottledError);
    }
  });

  test('N mode: N per second in every class; off: no limiter', () => {
    assert.deepEqual(ratesOf(7), { 'key-management': 7, crypto: 7, tag: 7, list: 7 });
    assert.equal(ratesOf('off'), null);
    const clock = manualClock();
    const t = new Throttle(ratesOf(7)!, clock.now);
    for (let i = 0; i < 7; i++) t.take('u', 'tag');
    assert.throws(() => t.take('u', 'tag'), ThrottledError);
    t.take('u', 'list');
    clock.advance(1000 / 7 + 1); // one token back
    t.take('u', 'tag');
    assert.throws(() => t.take('u', 'tag'), ThrottledError);
  });

  test('token buckets: Retry-After in whole seconds, refill, idle buckets forgotten beyond maxKeys', () => {
    const clock = manualClock();
    const slow = new TokenBuckets({ ratePerSecond: 0.25, burst: 1, clock: clock.now });
    assert.equal(slow.take('k'), 0);
    assert.equal(slow.take('k'), 4, 'a token every 4 s');
    clock.advance(1500);
    assert.equal(slow.take('k'), 3, 'rounded up');
    clock.advance(2500);
    assert.equal(slow.take('k'), 0);

    const fast = new TokenBuckets({ ratePerSecond: 1000, clock: clock.now });
    for (let i = 0; i < 1000; i++) assert.equal(fast.take('k'), 0);
    assert.equal(fast.take('k'), 1, 'at least one second');

    const many = new TokenBuckets({ ratePerSecond: 10, clock: clock.now, maxKeys: 100 });
    for (let i = 0; i < 100; i++) many.take(`key-${i}`);
    assert.equal(many.size, 100);
    clock.advance(1000); // every bucket is full again
    many.take('one-more');
    assert.equal(many.size, 1, 'full buckets are dropped before a new one is made');

    // None idle: the oldest go, and the map stays within its bound however many keys come.
    const busy = new TokenBuckets({ ratePerSecond: 10, clock: clock.now, maxKeys: 100 });
    for (let i = 0; i < 1000; i++) busy.take(`addr-${i}`);
    assert.equal(busy.size, 100);
    assert.equal(busy.take('addr-999'), 0, 'the newest keys keep their buckets');
  });
});

describe('--throttling: parsed, kept in deployment.json, refused when invalid', () => {
  test('parseThrottling', () => {
    assert.equal(parseThrottling('huawei'), 'huawei');
    assert.equal(parseThrottling('off'), 'off');
    assert.equal(parseThrottling('5'), 5);
    assert.equal(parseThrottling('1000'), 1000);
    for (const bad of ['bogus', '0', '-5', '1.5', '', ' ', '1e3', '05', 'HUAWEI', '99999999999']) {
      assert.throws(() => parseThrottling(bad), /--throttling must be "huawei", "off" or a positive whole number/, bad);
    }
  });

  test('deployment.json keeps the setting across starts without the option, until it is changed', () => {
    const dir = join(scratch, 'plan');
    const plan = (throttling?: 'off' | 'huawei' | number) => planDeployment(dir, { host: '127.0.0.1', basePort: 9100, regions: ['cn-north-4'], throttling });
    assert.equal(plan().throttling, 'off', 'off at first start');
    assert.equal(plan('huawei').throttling, 'huawei');
    assert.equal(plan().throttling, 'huawei', 'kept without the option');
    assert.equal(readDeployment(dir).throttling, 'huawei');
    assert.equal(JSON.parse(readFileSync(join(dir, 'deployment.json'), 'utf8')).throttling, 'huawei');
    assert.equal(plan(25).throttling, 25);
    assert.equal(plan().throttling, 25);
    assert.equal(plan('off').throttling, 'off');
    assert.equal(plan().throttling, 'off');
  });

  test('`start --throttling bogus` exits with code 1 and a clear message, before writing anything', () => {
    for (const bad of ['bogus', '0', '2.5']) {
      const dir = join(scratch, `refused-${bad}`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--data-dir', dir, '--throttling', bad], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`strongroom: --throttling must be "huawei", "off" or a positive whole number of requests per second per user and class, not "${bad.replace('.', '\\.')}"`));
      assert.equal(existsSync(join(dir, 'deployment.json')), false);
    }
  });

  test('a hand-edited deployment.json with an invalid setting is refused when read', () => {
    const dir = join(scratch, 'hand-edited');
    planDeployment(dir, { host: '127.0.0.1', basePort: 9100, regions: ['cn-north-4'] });
    const path = join(dir, 'deployment.json');
    const file = JSON.parse(readFileSync(path, 'utf8'));
    execFileSync(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(path)}, JSON.stringify(${JSON.stringify({ ...file, throttling: 'fast' })}))`]);
    assert.throws(() => readDeployment(dir), /deployment.json: "throttling" must be "off", "huawei" or a positive integer, not "fast"/);
  });
});

describe('end to end with throttling: 5', () => {
  const R = 'cn-north-4';
  // The regions' rate limits run on a clock moved by hand: the buckets refill only when the test says time passed.
  const clock = manualClock();
  let d: TestDeployment;
  let other: TestUser;
  let p: string;
  let url: string;

  before(async () => {
    d = await startTestDeployment({ regions: [R], throttling: 5, throttleClock: clock.now });
    p = d.projectId(R);
    url = d.endpoint(R);
    const iam = iamApi(d);
    other = await iam.userWith('throttled-other', [await iam.roleId('KMS Administrator')], { project: p });
  });
  after(() => d?.stop());

  const asOther = (op: string, body: object = {}) => signedRequest(url, other.creds, p, 'POST', `/v1.0/${p}/kms/${op}`, body);
  const random = { random_data_length: '256' };

  function expectThrottled(r: Reply, limit: number): number {
    expectError(r, 429, 'APIGW.0308');
    assert.equal(r.body.error_msg, `The throttling threshold has been reached: policy user over ratelimit,limit:${limit},time:1 second`);
    assert.match(r.body.request_id, /^[0-9a-f]{32}$/);
    const retry = r.headers.get('retry-after');
    assert.match(retry ?? '', /^[1-9][0-9]*$/, 'Retry-After is a whole number of seconds');
    return Number(retry);
  }

  test('the 6th call of a class within a second is 429 APIGW.0308 with Retry-After; other classes and users still work; Retry-After later it works again', async () => {
    assert.equal(d.deployment.throttling, 5);
    const token = await d.token(R);
    for (let i = 1; i <= 5; i++) assert.equal((await d.kms(R, 'gen-random', random)).status, 200, `call ${i}`);
    const sixth = await d.kms(R, 'gen-random', random);
    const retryAfter = expectThrottled(sixth, 5);
    assert.equal(retryAfter, 1);

    // The same user with a token is the same user: still throttled in that class.
    expectThrottled(await tokenRequest(url, token, 'POST', `/v1.0/${p}/kms/create-datakey`, { key_id: '0d0466b0-e727-4d9c-b35d-f84bb474a37f', datakey_length: '256' }), 5);
    // Another class of the same user works.
    const list = await d.kms(R, 'list-keys', { key_spec: 'ALL' });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    // Another user works, in the throttled class.
    assert.equal((await asOther('gen-random', random)).status, 200);

    assert.equal(expectThrottled(await d.kms(R, 'gen-random', random), 5), 1, 'still refused before Retry-After');
    clock.advance(retryAfter * 1000);
    assert.equal((await d.kms(R, 'gen-random', random)).status, 200, 'after Retry-After');
  });

  test('a throttled call changes nothing and its audit record says 429 APIGW.0308; refused authentication counts against nobody', async () => {
    // Key management: five creates pass, the sixth is refused and creates nothing.
    clock.advance(1000);
    const aliases = Array.from({ length: 6 }, (_, i) => `throttled-${i}`);
    const answers: Reply[] = [];
    for (const key_alias of aliases) answers.push(await asOther('create-key', { key_alias }));
    assert.deepEqual(answers.slice(0, 5).map((a) => a.status), [200, 200, 200, 200, 200]);
    expectThrottled(answers[5]!, 5);
    const listed = await asOther('list-keys', { key_spec: 'ALL', limit: '1000' });
    assert.equal(listed.status, 200);
    const made = (listed.body.key_details as { key_alias: string }[]).map((k) => k.key_alias).sort();
    assert.deepEqual(made, aliases.slice(0, 5), 'the refused create made no key');

    // Wrong signatures of the other user: 401 every time, never 429, and they use none of the user's budget.
    clock.advance(1000);
    for (let i = 0; i < 10; i++) {
      const bad = await signedRequest(url, { ak: other.creds.ak, sk: 'X'.repeat(40) }, p, 'POST', `/v1.0/${p}/kms/gen-random`, random);
      expectError(bad, 401, 'APIGW.0301');
    }
    for (let i = 1; i <= 5; i++) assert.equal((await asOther('gen-random', random)).status, 200, `call ${i} after refused authentications`);

    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'export', '--region', R, '--data-dir', d.dir], { cwd: REPO, encoding: 'utf8' });
    const records = out.trim().split('\n').slice(1).map((l) => JSON.parse(l) as AuditRecord);
    const refused = records.filter((r) => r.request_id === answers[5]!.headers.get('x-request-id'));
    assert.equal(refused.length, 1, 'one record of the throttled call');
    assert.equal(refused[0]!.status, 429);
    assert.equal(refused[0]!.error_code, 'APIGW.0308');
    assert.equal(refused[0]!.operation, 'CreateKey');
    assert.equal(refused[0]!.caller?.user_id, other.id);
  });
});
