/**
 * The official Huawei Node SDK core as an unmodified client: given only a region, an endpoint, an IAM endpoint and
 * an access key, it looks up the project id through IAM (`GET /v3/projects?name=`, a signed GET with a `{}` body)
 * and then calls KMS. This is what a team pointing its code at Strongroom runs.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { startTestDeployment, type TestDeployment } from './helpers/deployment.js';

const require = createRequire(import.meta.url);
const { BasicCredentials, Region } = require('@huaweicloud/huaweicloud-sdk-core');
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder');

let d: TestDeployment;
let client: { sendRequest(o: object): Promise<any> };
before(async () => {
  d = await startTestDeployment({ regions: ['cn-north-4', 'cn-east-3'] });
  client = new ClientBuilder((hc: unknown) => hc)
    .withCredential(new BasicCredentials().withAk(d.admin.ak).withSk(d.admin.sk).withIamEndpoint(d.iamUrl))
    .withRegion(new Region('cn-north-4', d.endpoint('cn-north-4')))
    .build();
});
after(() => d.stop());

const send = (op: string, data: object) =>
  client.sendRequest({ method: 'POST', url: `/v1.0/{project_id}/kms/${op}`, contentType: 'application/json;charset=UTF-8', queryParams: {}, pathParams: {}, headers: {}, data });

test('a region-based SDK client finds its project through IAM and round-trips data', async () => {
  const created = await send('create-key', { key_alias: 'sdk-region', key_spec: 'SM4' });
  assert.equal(created.httpStatusCode, 200);
  assert.equal(created.key_info.region_id, 'cn-north-4');
  const listed = await send('list-keys', { key_spec: 'SM4' });
  assert.deepEqual(listed.keys, [created.key_info.key_id]);
  const enc = await send('encrypt-data', { key_id: created.key_info.key_id, plain_text: 'via the official SDK' });
  const dec = await send('decrypt-data', { cipher_text: enc.cipher_text });
  assert.equal(dec.plain_text, 'via the official SDK');
  const regions = await client.sendRequest({ method: 'GET', url: '/v2/{project_id}/kms/regions', contentType: 'application/json', queryParams: { limit: 5, offset: 0 }, pathParams: {}, headers: {} });
  assert.deepEqual(regions.regions, ['cn-east-3']);
});

test('a KMS error reaches the SDK as a client exception with its status and request id', async () => {
  await assert.rejects(send('describe-key', { key_id: '00000000-0000-4000-8000-000000000000' }), (err: { httpStatusCode?: number; requestId?: string }) => {
    assert.equal(err.httpStatusCode, 404);
    assert.match(err.requestId ?? '', /^[0-9a-f]{32}$/);
    return true;
  });
});
