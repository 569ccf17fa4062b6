/**
 * The client signer (src/iam/aksk-signer.ts) reproduces the published SDK-HMAC-SHA256 vectors made with Huawei's
 * Node signer (docs/reference/huawei-auth.md §3.6: A, C, D), and what it signs passes the server's verifier
 * (src/iam/aksk.ts) with the path segments escaped; a changed body fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { precheck, signatureMatches } from '../src/iam/aksk.js';
import { sdkDate, signedHeaders } from '../src/iam/aksk-signer.js';

const AK = 'HPUAEXAMPLEAK0000001';
const SK = 'exampleSecretKey0000000000000000000000001';
const P = '0123456789abcdef0123456789abcdef';
const NOW = Date.UTC(2024, 0, 1, 12, 0, 0);
const bodyA = Buffer.from('{"key_alias":"test-key","key_spec":"AES_256","key_usage":"ENCRYPT_DECRYPT"}');
const signature = (h: Record<string, string>) => /Signature=([0-9a-f]+)$/.exec(h.authorization!)![1];

test('X-Sdk-Date is YYYYMMDDTHHMMSSZ in UTC', () => {
  assert.equal(sdkDate(NOW), '20240101T120000Z');
  assert.equal(sdkDate(Date.UTC(1999, 11, 31, 23, 59, 59, 999)), '19991231T235959Z');
});

test('vector A: POST create-key on 127.0.0.1:8080, content-type;host;x-project-id;x-sdk-date signed', () => {
  const h = signedHeaders({ method: 'POST', url: new URL(`http://127.0.0.1:8080/v1.0/${P}/kms/create-key`), headers: { 'Content-Type': 'application/json', 'X-Project-Id': P }, body: bodyA, accessKey: AK, secretKey: SK, now: NOW });
  assert.equal(h.authorization, `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=421f41d73040f90f18b28d435ed21d8eddd0c98a2a1f806e952a00cbaf4cf642`);
  assert.equal(h.host, '127.0.0.1:8080');
  assert.equal(h['x-sdk-date'], '20240101T120000Z');
});

test('vector C: GET with a query whose value has a space, no body', () => {
  const h = signedHeaders({ method: 'GET', url: new URL(`https://kms.cn-north-4.myhuaweicloud.com/v1.0/${P}/kms/key-policies?limit=10&marker=a%20b`), headers: { 'content-type': 'application/json', 'x-project-id': P }, body: Buffer.alloc(0), accessKey: AK, secretKey: SK, now: NOW });
  assert.equal(signature(h), '9bfac3130708dacfe879ab2fe3859fc79f06abf0076e5102211a5a38a8578a51');
  assert.equal(h.host, 'kms.cn-north-4.myhuaweicloud.com');
});

test('vector D: temporary credentials sign x-security-token', () => {
  const body = Buffer.from('{"key_id":"0d0466b0-e727-4d9c-b35d-f84bb474a37f","plain_text":"hello"}');
  const h = signedHeaders({ method: 'POST', url: new URL(`http://127.0.0.1:8080/v1.0/${P}/kms/encrypt-data`), headers: { 'content-type': 'application/json', 'x-project-id': P, 'x-security-token': 'example-security-token' }, body, accessKey: AK, secretKey: SK, now: NOW });
  assert.match(h.authorization!, /SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token,/);
  assert.equal(signature(h), 'd56795b0b0040ded143edcc7fa52d4bb821240e597937a607d580a0881645da4');
});

test('the server verifier accepts an escaped path segment and a custom header, and refuses a changed body', () => {
  const url = new URL(`http://127.0.0.1:8080/v1.0/${P}/kms/0d0466b0-e727-4d9c-b35d-f84bb474a37f/tags/${encodeURIComponent('a b:é')}`);
  const now = Date.now();
  const h = signedHeaders({ method: 'DELETE', url, headers: { 'content-type': 'application/json', 'x-client-request-id': 'r1' }, body: Buffer.alloc(0), accessKey: AK, secretKey: SK, now });
  assert.match(h.authorization!, /SignedHeaders=content-type;host;x-client-request-id;x-sdk-date,/);
  const verify = (body: Buffer) => {
    const pre = precheck({ method: 'DELETE', path: url.pathname, query: '', headers: h, body }, now);
    return pre.ok && signatureMatches(SK, pre.candidates, pre.auth.signature);
  };
  assert.equal(verify(Buffer.alloc(0)), true);
  assert.equal(verify(Buffer.from('{}')), false);
});
