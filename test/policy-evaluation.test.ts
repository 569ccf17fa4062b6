/**
 * The pure IAM policy engine (docs/reference/huawei-auth.md §4.4): document validation with its messages and
 * normalization, then evaluation — Deny over Allow, actions, NotAction, resource URNs per segment, and every condition
 * operator family.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePolicyDocument, PolicyDocumentError, type ConditionValue } from '../src/iam/policy-document.js';
import { conditionKeysFor, contextFrom, evaluate, usesResource, type NamedPolicy } from '../src/iam/policy-evaluation.js';

const DOMAIN = '0123456789abcdef0123456789abcdef';
const KEY_A = '0d0466b0-e727-4d9c-b35d-f84bb474a37f';
const KEY_B = '7f1a2b3c-0000-4d9c-b35d-f84bb474a37f';
const urn = (key: string, region = 'cn-north-4') => `kms:${region}:${DOMAIN}:KeyId:${key}`;
type Ctx = Record<string, ConditionValue | ConditionValue[]>;

const policy = (statements: unknown[], name = 'p'): NamedPolicy => ({
  name,
  document: parsePolicyDocument({ Version: '1.1', Statement: statements }, { customPolicy: true }),
});
/** The effect of one policy made of `statements` on (action, resource, context). */
const decide = (statements: unknown[], action: string, resource: string | null = null, ctx: Ctx = {}) =>
  evaluate([policy(statements)], { action, resource, context: contextFrom(ctx) }).effect;
/** The effect of one Allow statement on kms:cmk:get with this Condition and request context. */
const allowIf = (condition: unknown, ctx: Ctx) => decide([{ Effect: 'Allow', Action: ['kms:cmk:get'], Condition: condition }], 'kms:cmk:get', null, ctx);

const refuses = (value: unknown, fragment: string, customPolicy = true) =>
  assert.throws(() => parsePolicyDocument(value, { customPolicy }), (e: unknown) => {
    assert.ok(e instanceof PolicyDocumentError, `not a PolicyDocumentError: ${String(e)}`);
    assert.ok(e.message.includes(fragment), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(fragment)}`);
    return true;
  });
const doc = (...statements: unknown[]) => ({ Version: '1.1', Statement: statements });
const allowGet = { Effect: 'Allow', Action: ['kms:cmk:get'] };

describe('parsePolicyDocument', () => {
  test('normalizes single strings and scalar condition values into arrays', () => {
    const d = parsePolicyDocument(doc({ Effect: 'Deny', NotAction: 'kms:cmk:update', Resource: '*', Condition: { Bool: { 'g:MFAPresent': true } } }), { customPolicy: true });
    assert.deepEqual(d, { Version: '1.1', Statement: [{ Effect: 'Deny', NotAction: ['kms:cmk:update'], Resource: ['*'], Condition: { Bool: { 'g:MFAPresent': [true] } } }] });
  });

  test('accepts wildcards, empty resource types and segments, paths with colons, prefixed and suffixed operators', () => {
    const d = parsePolicyDocument(doc(
      { Effect: 'Allow', Action: ['*', '*:*:*', 'kms:*:*', 'kms::generateRandom', 'kms:cmk:get?'], Resource: ['obs:::bucket:*', 'kms:*:*:alias:team:a/b', urn(KEY_A)] },
      { Effect: 'Allow', Action: ['kms:cmk:get'], Condition: { 'ForAllValues:StringLikeIfExists': { 'g:RequestTag/env': ['prod-*'] }, Null: { 'kms:KeySpec': 'false' } } },
    ), { customPolicy: true });
    assert.equal(d.Statement.length, 2);
  });

  test('Version: 1.1 only for custom policies, 1.0 or 1.1 for system ones', () => {
    refuses({ Version: '1.0', Statement: [allowGet] }, 'Version must be "1.1"');
    assert.equal(parsePolicyDocument({ Version: '1.0', Statement: [allowGet] }, { customPolicy: false }).Version, '1.0');
    refuses({ Version: '5.0', Statement: [allowGet] }, 'Version must be "1.0" or "1.1"', false);
  });

  test('refuses malformed documents, naming the first problem', () => {
    refuses([allowGet], 'must be a JSON object');
    refuses({ Version: '1.1', Statement: [allowGet], Id: 'x' }, 'unknown field "Id"');
    refuses(doc(), 'Statement must be a non-empty array');
    refuses(doc(...Array.from({ length: 101 }, () => allowGet)), 'at most 100 statements');
    refuses(doc('Allow'), 'Statement[0] must be an object');
    refuses(doc({ Effect: 'allow', Action: ['kms:cmk:get'] }), 'Statement[0].Effect must be "Allow" or "Deny"');
    refuses(doc({ ...allowGet, Resources: ['*'] }), 'Statement[0] has an unknown field "Resources"');
    refuses(doc({ Effect: 'Allow' }), 'exactly one of Action and NotAction');
    refuses(doc({ ...allowGet, NotAction: ['kms:cmk:create'] }), 'exactly one of Action and NotAction');
  });

  test('refuses malformed actions and resources', () => {
    refuses(doc(allowGet, { Effect: 'Allow', Action: ['kms:cmk'] }), 'Statement[1].Action[0] "kms:cmk" is not of the form service:resourceType:action');
    refuses(doc({ Effect: 'Allow', Action: ['KMS:cmk:get'] }), '"KMS:cmk:get" is not of the form');
    refuses(doc({ Effect: 'Allow', Action: ['kms:cmk:get key'] }), 'is not of the form');
    refuses(doc({ Effect: 'Allow', Action: [] }), 'Statement[0].Action must be a string or a non-empty array of at most 100');
    refuses(doc({ Effect: 'Allow', Action: Array.from({ length: 101 }, () => 'kms:cmk:get') }), 'at most 100 strings');
    refuses(doc({ Effect: 'Allow', Action: [42] }), 'Statement[0].Action[0] must be a string');
    refuses(doc({ ...allowGet, Resource: [`kms:cn-north-4:${DOMAIN}:KeyId`] }), 'is not * or of the form service:region:domainId:resourceType:resourcePath');
    refuses(doc({ ...allowGet, Resource: [urn('a b')] }), 'Resource[0]');
    refuses(doc({ ...allowGet, Resource: [] }), 'Statement[0].Resource must be');
  });

  test('refuses malformed conditions', () => {
    const cond = (c: unknown) => doc({ ...allowGet, Condition: c });
    refuses(cond({}), 'Statement[0].Condition must be a non-empty object of operators');
    refuses(cond({ StringEqual: { 'g:UserName': ['a'] } }), 'operator "StringEqual" is not supported');
    refuses(cond({ NullIfExists: { 'g:UserName': [true] } }), 'operator "NullIfExists" is not supported');
    refuses(cond({ 'ForSomeValues:StringEquals': { 'g:UserName': ['a'] } }), 'is not supported');
    refuses(cond({ StringEquals: {} }), 'StringEquals must be a non-empty object of condition keys');
    refuses(cond({ StringEquals: { UserName: ['a'] } }), 'StringEquals.UserName is not a condition key');
    refuses(cond({ StringEquals: { 'g:UserName': [] } }), 'g:UserName must have 1 to 100 values');
    refuses(cond({ StringEquals: { 'g:UserName': [null] } }), 'g:UserName[0] must be a string, number or boolean');
    refuses(cond({ NumberEquals: { 'kms:Bits': ['0x10'] } }), '"0x10" is not a number');
    refuses(cond({ IpAddress: { 'g:SourceIp': ['10.0.0.0/33'] } }), 'is not an IP address or CIDR block');
    refuses(cond({ DateLessThan: { 'g:CurrentTime': ['2026-11-29T19:00:00'] } }), 'is not an ISO-8601 date');
    refuses(cond({ DateLessThan: { 'g:CurrentTime': ['2026-02-30'] } }), 'is not an ISO-8601 date');
    refuses(cond({ Bool: { 'g:MFAPresent': ['yes'] } }), 'is not true or false');
  });

  test('custom policies are limited to 6144 characters of JSON; system ones are not', () => {
    const big = doc({ Effect: 'Allow', Action: Array.from({ length: 100 }, (_, i) => `kms:cmk:action${String(i).padStart(50, '0')}`) });
    assert.ok(JSON.stringify(big).length > 6144);
    refuses(big, 'longer than 6144 characters');
    assert.equal(parsePolicyDocument(big, { customPolicy: false }).Statement[0]!.Action!.length, 100);
  });

  test('Depends only on Version 1.0 documents', () => {
    const depends = [{ catalog: 'BASE', display_name: 'Server Administrator' }];
    assert.deepEqual(parsePolicyDocument({ Version: '1.0', Statement: [allowGet], Depends: depends }, { customPolicy: false }).Depends, depends);
    refuses({ Version: '1.1', Statement: [allowGet], Depends: depends }, 'Depends is allowed only in Version "1.0"', false);
    refuses({ Version: '1.0', Statement: [allowGet], Depends: [{ catalog: 'BASE' }] }, 'Depends[0] must be', false);
  });
});

describe('evaluate: effects and actions', () => {
  test('no policies, or none that applies, is an implicit deny', () => {
    assert.deepEqual(evaluate([], { action: 'kms:cmk:get', resource: null, context: contextFrom({}) }), { effect: 'implicit-deny' });
    assert.equal(decide([{ Effect: 'Allow', Action: ['kms:cmk:list'] }], 'kms:cmk:get'), 'implicit-deny');
  });

  test('an explicit Deny beats any Allow, in whichever policy or order, and names its statement', () => {
    const allow = policy([{ Effect: 'Allow', Action: ['kms:*:*'] }], 'full');
    const deny = policy([{ Effect: 'Allow', Action: ['kms:cmk:list'] }, { Effect: 'Deny', Action: ['kms:cmk:update'] }], 'no-update');
    const req = (action: string) => ({ action, resource: null, context: contextFrom({}) });
    assert.deepEqual(evaluate([allow, deny], req('kms:cmk:update')), { effect: 'explicit-deny', statement: { policy: 'no-update', index: 1 } });
    assert.deepEqual(evaluate([deny, allow], req('kms:cmk:update')), { effect: 'explicit-deny', statement: { policy: 'no-update', index: 1 } });
    assert.deepEqual(evaluate([allow, deny], req('kms:cmk:create')), { effect: 'allow', statement: { policy: 'full', index: 0 } });
  });

  test('action wildcards and case', () => {
    const allows = (pattern: string, action: string) => decide([{ Effect: 'Allow', Action: [pattern] }], action) === 'allow';
    assert.equal(allows('kms:cmk:*', 'kms:cmk:create'), true);
    assert.equal(allows('kms:cmk:*', 'kms:dek:create'), false);
    assert.equal(allows('kms:*:*', 'kms:dek:crypto'), true);
    assert.equal(allows('kms:*:*', 'obs:bucket:get'), false);
    assert.equal(allows('*', 'obs:bucket:get'), true);
    assert.equal(allows('*:*:*', 'kms:cmk:getRotation'), true);
    assert.equal(allows('kms:cmk:get*', 'kms:cmk:getRotation'), true);
    assert.equal(allows('kms:cmk:get*', 'kms:cmk:get'), true); // `*` may match nothing
    assert.equal(allows('kms:cmk:?et', 'kms:cmk:get'), true);
    assert.equal(allows('kms:cmk:?et', 'kms:cmk:getRotation'), false);
    assert.equal(allows('kms:CMK:GetRotation', 'kms:cmk:getrotation'), true);
    assert.equal(allows('kms:cmk:getrotation', 'kms:cmk:GETROTATION'), true);
    assert.equal(allows('kms:cmk:create', 'kms:cmk:createx'), false);
  });

  test('NotAction applies to every action not listed', () => {
    const st = [{ Effect: 'Allow', NotAction: ['kms:cmk:update', 'kms:grant:*'] }];
    assert.equal(decide(st, 'kms:cmk:create'), 'allow');
    assert.equal(decide(st, 'kms:cmk:update'), 'implicit-deny');
    assert.equal(decide(st, 'kms:grant:revoke'), 'implicit-deny');
    const onlyReads = [{ Effect: 'Allow', Action: ['*'] }, { Effect: 'Deny', NotAction: ['kms:cmk:get', 'kms:cmk:list'] }];
    assert.equal(decide(onlyReads, 'kms:cmk:list'), 'allow');
    assert.equal(decide(onlyReads, 'kms:cmk:create'), 'explicit-deny');
  });
});

describe('evaluate: resources', () => {
  const allowOn = (resource: string[]) => [{ Effect: 'Allow', Action: ['kms:cmk:crypto'], Resource: resource }];

  test('a policy naming one key allows that key and not another', () => {
    assert.equal(decide(allowOn([urn(KEY_A)]), 'kms:cmk:crypto', urn(KEY_A)), 'allow');
    assert.equal(decide(allowOn([urn(KEY_A)]), 'kms:cmk:crypto', urn(KEY_B)), 'implicit-deny');
    assert.equal(decide(allowOn([urn(KEY_A)]), 'kms:cmk:crypto', urn(KEY_A, 'cn-south-1')), 'implicit-deny');
  });

  test('wildcards per segment; service and type ignore case, region, domain and path do not', () => {
    assert.equal(decide(allowOn([`kms:*:${DOMAIN}:KeyId:${KEY_A}`]), 'kms:cmk:crypto', urn(KEY_A, 'cn-south-1')), 'allow');
    assert.equal(decide(allowOn([`kms:cn-*:*:KeyId:0d04*`]), 'kms:cmk:crypto', urn(KEY_A, 'cn-east-3')), 'allow');
    assert.equal(decide(allowOn([`kms:cn-*:*:KeyId:0d04*`]), 'kms:cmk:crypto', urn(KEY_B)), 'implicit-deny');
    assert.equal(decide(allowOn([`kms:cn-north-4:${DOMAIN}:keyid:${KEY_A}`]), 'kms:cmk:crypto', `kms:cn-north-4:${DOMAIN}:KEYID:${KEY_A}`), 'allow');
    assert.equal(decide(allowOn([urn(KEY_A.toUpperCase())]), 'kms:cmk:crypto', urn(KEY_A)), 'implicit-deny');
    assert.equal(decide(allowOn([`kms:CN-NORTH-4:${DOMAIN}:KeyId:*`]), 'kms:cmk:crypto', urn(KEY_A)), 'implicit-deny');
    assert.equal(decide(allowOn([`kms:*:${DOMAIN.toUpperCase()}:KeyId:*`]), 'kms:cmk:crypto', urn(KEY_A)), 'implicit-deny');
    assert.equal(decide(allowOn(['obs:*:*:*:*']), 'kms:cmk:crypto', urn(KEY_A)), 'implicit-deny');
  });

  test('the path is everything after the fourth colon, and * crosses : and /', () => {
    const alias = `kms:cn-north-4:${DOMAIN}:alias:team:orders/eu`;
    assert.equal(decide(allowOn(['kms:*:*:alias:team:*']), 'kms:cmk:crypto', alias), 'allow');
    assert.equal(decide(allowOn(['kms:*:*:alias:team']), 'kms:cmk:crypto', alias), 'implicit-deny');
  });

  test('resource-less operations match only unrestricted Resource lists', () => {
    const list = (resource: string[]) => decide([{ Effect: 'Allow', Action: ['kms:cmk:list'], Resource: resource }], 'kms:cmk:list', null);
    assert.equal(list([urn(KEY_A)]), 'implicit-deny');
    assert.equal(list(['kms:*:*:KeyId:*']), 'implicit-deny');
    assert.equal(list(['obs:*:*:*:*']), 'implicit-deny');
    assert.equal(list(['*']), 'allow');
    assert.equal(list(['kms:*:*:*:*']), 'allow');
    assert.equal(list([urn(KEY_A), '*:*:*:*:*']), 'allow');
    assert.equal(decide([{ Effect: 'Allow', Action: ['kms:cmk:list'] }], 'kms:cmk:list', null), 'allow');
  });

  test('a Deny with a Resource list denies only those resources', () => {
    const st = [{ Effect: 'Allow', Action: ['kms:*:*'] }, { Effect: 'Deny', Action: ['kms:cmk:crypto'], Resource: [urn(KEY_B)] }];
    assert.equal(decide(st, 'kms:cmk:crypto', urn(KEY_B)), 'explicit-deny');
    assert.equal(decide(st, 'kms:cmk:crypto', urn(KEY_A)), 'allow');
  });
});

describe('evaluate: conditions', () => {
  test('conditions are not ignored: an unmet condition stops an Allow and a Deny', () => {
    assert.equal(allowIf({ StringEquals: { 'g:UserName': ['alice'] } }, { 'g:UserName': 'alice' }), 'allow');
    assert.equal(allowIf({ StringEquals: { 'g:UserName': ['alice'] } }, { 'g:UserName': 'bob' }), 'implicit-deny');
    const st = [{ Effect: 'Allow', Action: ['*'] }, { Effect: 'Deny', Action: ['*'], Condition: { Bool: { 'g:MFAPresent': [false] } } }];
    assert.equal(decide(st, 'kms:cmk:get', null, { 'g:MFAPresent': true }), 'allow');
    assert.equal(decide(st, 'kms:cmk:get', null, { 'g:MFAPresent': false }), 'explicit-deny');
  });

  test('values are alternatives (OR); keys and operators all must hold (AND); key names ignore case', () => {
    const c = { StringEquals: { 'g:UserName': ['alice', 'bob'], 'g:ProjectName': ['cn-north-4'] }, StringStartWith: { 'kms:KeySpec': ['AES'] } };
    const ctx = { 'g:USERNAME': 'bob', 'g:projectname': 'cn-north-4', 'kms:KeySpec': 'AES_256' };
    assert.equal(allowIf(c, ctx), 'allow');
    assert.equal(allowIf(c, { ...ctx, 'g:projectname': 'cn-south-1' }), 'implicit-deny');
    assert.equal(allowIf(c, { ...ctx, 'kms:KeySpec': 'RSA_2048' }), 'implicit-deny');
  });

  test('context receives condition keys lower-cased, whatever the policy\'s spelling', () => {
    const asked: string[] = [];
    const context = (key: string) => (asked.push(key), key === 'g:username' ? ['alice'] : undefined);
    const p = policy([{ Effect: 'Allow', Action: ['kms:cmk:get'], Condition: { StringEquals: { 'g:UserName': ['alice'] } } }]);
    assert.equal(evaluate([p], { action: 'kms:cmk:get', resource: null, context }).effect, 'allow');
    assert.deepEqual(asked, ['g:username']);
  });

  test('string operators', () => {
    const holds = (op: string, policy: string[], value: string | string[]) => allowIf({ [op]: { 'g:UserName': policy } }, { 'g:UserName': value }) === 'allow';
    assert.equal(holds('StringEquals', ['Alice'], 'alice'), false);
    assert.equal(holds('StringEqualsIgnoreCase', ['Alice'], 'alice'), true);
    assert.equal(holds('StringNotEquals', ['alice'], 'bob'), true);
    assert.equal(holds('StringNotEquals', ['alice'], ['bob', 'alice']), false); // no request value may match
    assert.equal(holds('StringNotEqualsIgnoreCase', ['ALICE'], 'alice'), false);
    assert.equal(holds('StringLike', ['al*e'], 'alice'), true);
    assert.equal(holds('StringLike', ['AL*'], 'alice'), false);
    assert.equal(holds('StringMatch', ['al?ce'], 'alice'), true);
    assert.equal(holds('StringMatch', ['al?ce'], 'allice'), false);
    assert.equal(holds('StringNotLike', ['al*'], 'bob'), true);
    assert.equal(holds('StringNotMatch', ['b?b'], 'bob'), false);
    assert.equal(holds('StringStartWith', ['ali'], 'alice'), true);
    assert.equal(holds('StringNotStartWith', ['ali'], 'alice'), false);
    assert.equal(holds('StringEndWith', ['ice'], 'alice'), true);
    assert.equal(holds('StringEndWith', ['ali'], 'alice'), false);
    assert.equal(holds('StringNotEndWith', ['ali'], 'alice'), true);
  });

  test('an absent key fails the condition unless IfExists; [] counts as absent', () => {
    assert.equal(allowIf({ StringEquals: { 'kms:KeySpec': ['AES_256'] } }, {}), 'implicit-deny');
    assert.equal(allowIf({ StringEquals: { 'kms:KeySpec': ['AES_256'] } }, { 'kms:KeySpec': [] }), 'implicit-deny');
    assert.equal(allowIf({ StringNotEquals: { 'kms:KeySpec': ['AES_256'] } }, {}), 'implicit-deny');
    assert.equal(allowIf({ StringEqualsIfExists: { 'kms:KeySpec': ['AES_256'] } }, {}), 'allow');
    assert.equal(allowIf({ StringEqualsIfExists: { 'kms:KeySpec': ['AES_256'] } }, { 'kms:KeySpec': 'SM4' }), 'implicit-deny');
    assert.equal(allowIf({ StringNotEqualsIfExists: { 'kms:KeySpec': ['AES_256'] } }, {}), 'allow');
  });

  test('Null tests whether the key is absent (true) or present (false)', () => {
    assert.equal(allowIf({ Null: { 'g:TokenIssueTime': [true] } }, {}), 'allow');
    assert.equal(allowIf({ Null: { 'g:TokenIssueTime': ['true'] } }, { 'g:TokenIssueTime': 'x' }), 'implicit-deny');
    assert.equal(allowIf({ Null: { 'g:TokenIssueTime': ['FALSE'] } }, { 'g:TokenIssueTime': 'x' }), 'allow');
    assert.equal(allowIf({ Null: { 'g:TokenIssueTime': [false] } }, {}), 'implicit-deny');
  });

  test('ForAllValues: every request value must match (vacuously true when absent); ForAnyValue is the default', () => {
    const tags = (op: string, value?: string[]) => allowIf({ [op]: { 'g:TagKeys': ['env', 'team', 'owner'] } }, value ? { 'g:TagKeys': value } : {});
    assert.equal(tags('ForAllValues:StringEquals', ['env', 'team']), 'allow');
    assert.equal(tags('ForAllValues:StringEquals', ['env', 'secret']), 'implicit-deny');
    assert.equal(tags('ForAllValues:StringEquals'), 'allow');
    assert.equal(tags('ForAnyValue:StringEquals', ['env', 'secret']), 'allow');
    assert.equal(tags('StringEquals', ['env', 'secret']), 'allow');
    assert.equal(tags('ForAnyValue:StringEquals'), 'implicit-deny');
    assert.equal(tags('ForAnyValue:StringEquals', ['secret']), 'implicit-deny');
  });

  test('number operators compare numbers; non-numbers never match', () => {
    const n = (op: string, policy: ConditionValue, value: ConditionValue) => allowIf({ [op]: { 'kms:Bits': [policy] } }, { 'kms:Bits': value }) === 'allow';
    assert.equal(n('NumberEquals', 10, '1e1'), true);
    assert.equal(n('NumberEquals', '10', 10.0), true);
    assert.equal(n('NumberEquals', 10, 'ten'), false);
    assert.equal(n('NumberNotEquals', 10, 11), true);
    assert.equal(n('NumberNotEquals', 10, '10'), false);
    assert.equal(n('NumberLessThan', 10, 9), true);
    assert.equal(n('NumberLessThan', 10, 10), false);
    assert.equal(n('NumberLessThan', 10, '9'), true); // numerically, not '9' > '10' as text
    assert.equal(n('NumberLessThanEquals', 10, 10), true);
    assert.equal(n('NumberGreaterThan', 10, 10), false);
    assert.equal(n('NumberGreaterThan', 10, 100), true);
    assert.equal(n('NumberGreaterThanEquals', -1.5, -1.5), true);
  });

  test('date operators compare instants: ISO-8601 with offsets, dates, epoch seconds', () => {
    const now = { 'g:CurrentTime': '2026-11-29T19:00:00Z' };
    const d = (op: string, policy: ConditionValue, ctx: Ctx = now) => allowIf({ [op]: { 'g:CurrentTime': [policy] } }, ctx) === 'allow';
    assert.equal(d('DateLessThan', '2026-12-01T00:00:00Z'), true);
    assert.equal(d('DateGreaterThan', '2026-12-01T00:00:00Z'), false);
    assert.equal(d('DateGreaterThan', '2026-11-29'), true);
    assert.equal(d('DateLessThan', '2026-11-30T03:00:00+08:00'), false); // = 19:00Z, not before itself
    assert.equal(d('DateLessThanEquals', '2026-11-30T03:00:00+08:00'), true);
    assert.equal(d('DateGreaterThanEquals', 1795978800), true); // epoch seconds of 19:00:00Z
    assert.equal(d('DateGreaterThan', 1795978800), false);
    assert.equal(d('DateLessThan', '2099-01-01', { 'g:CurrentTime': 'yesterday' }), false);
  });

  test('Bool compares booleans with "true"/"false" in any case', () => {
    assert.equal(allowIf({ Bool: { 'g:MFAPresent': [true] } }, { 'g:MFAPresent': 'TRUE' }), 'allow');
    assert.equal(allowIf({ Bool: { 'g:MFAPresent': ['true'] } }, { 'g:MFAPresent': false }), 'implicit-deny');
    assert.equal(allowIf({ Bool: { 'g:MFAPresent': [false] } }, { 'g:MFAPresent': 'no' }), 'implicit-deny');
  });

  test('IpAddress and NotIpAddress match IPv4 and IPv6 against blocks and single addresses', () => {
    const ranges = ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'];
    const ip = (op: string, address: string) => allowIf({ [op]: { 'g:SourceIp': ranges } }, { 'g:SourceIp': address }) === 'allow';
    for (const inside of ['10.1.2.3', '192.168.1.7', '2001:db8::5', '2001:DB8:0:0::1', '::ffff:10.0.0.1']) {
      assert.equal(ip('IpAddress', inside), true, inside);
      assert.equal(ip('NotIpAddress', inside), false, inside);
    }
    for (const outside of ['11.0.0.1', '192.168.1.8', '2001:db9::1']) {
      assert.equal(ip('IpAddress', outside), false, outside);
      assert.equal(ip('NotIpAddress', outside), true, outside);
    }
    assert.equal(ip('IpAddress', 'not-an-address'), false);
  });
});

describe('conditionKeysFor and usesResource', () => {
  const policies = [policy([
    { Effect: 'Allow', Action: ['kms:cmk:create'], Condition: { StringEquals: { 'kms:KeySpec': ['AES_256'] } } },
    { Effect: 'Allow', Action: ['kms:cmk:get', 'kms:cmk:crypto'], Resource: [urn(KEY_A)], Condition: { StringEquals: { 'g:UserName': ['alice'] } } },
    { Effect: 'Deny', NotAction: ['kms:cmk:create'], Condition: { Bool: { 'g:MFAPresent': [false] } } },
  ])];

  test('condition keys (lower-cased) of the statements that apply to the action', () => {
    assert.deepEqual(conditionKeysFor(policies, 'kms:cmk:create'), new Set(['kms:keyspec']));
    assert.deepEqual(conditionKeysFor(policies, 'kms:cmk:get'), new Set(['g:username', 'g:mfapresent']));
    assert.deepEqual(conditionKeysFor(policies, 'kms:cmk:list'), new Set(['g:mfapresent']));
  });

  test('usesResource is true only when a statement applying to the action has a Resource list', () => {
    assert.equal(usesResource(policies, 'kms:cmk:crypto'), true);
    assert.equal(usesResource(policies, 'kms:cmk:create'), false);
    assert.equal(usesResource(policies, 'kms:cmk:list'), false);
  });
});

test('a Version 1.0 role brings the roles it depends on, transitively and once (system-roles.ts withDependencies)', async () => {
  const { withDependencies } = await import('../src/iam/system-roles.js');
  const { evaluate } = await import('../src/iam/policy-evaluation.js');
  const table = [
    { display_name: 'Base Reader', policy: { Version: '1.0' as const, Statement: [{ Effect: 'Allow' as const, Action: ['svc:thing:list'] }] } },
    { display_name: 'Server Administrator', policy: { Version: '1.0' as const, Statement: [{ Effect: 'Allow' as const, Action: ['ecs:*:*'] }], Depends: [{ catalog: 'BASE', display_name: 'Base Reader' }] } },
    {
      display_name: 'App Administrator',
      policy: { Version: '1.0' as const, Statement: [{ Effect: 'Allow' as const, Action: ['app:*:*'] }], Depends: [{ catalog: 'BASE', display_name: 'Server Administrator' }, { catalog: 'BASE', display_name: 'Base Reader' }] },
    },
  ];
  const policies = withDependencies(table[2]!, table);
  assert.deepEqual(policies.map((p) => p.name), ['App Administrator', 'Server Administrator', 'Base Reader']);
  const allows = (action: string) => evaluate(policies, { action, resource: null, context: () => undefined }).effect === 'allow';
  assert.equal(allows('app:job:run'), true);
  assert.equal(allows('ecs:server:start'), true, 'from the dependency');
  assert.equal(allows('svc:thing:list'), true, 'from the dependency of the dependency');
  assert.equal(allows('svc:thing:delete'), false);
  assert.deepEqual(withDependencies(table[0]!, table).map((p) => p.name), ['Base Reader']);
});
