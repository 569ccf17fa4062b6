/**
 * Quotas and counts (docs/reference/huawei-kms-api.md §2 L, §4 L 50–51): the project's keys against its `CMK` quota
 * (`key_quota` of deployment.json, KMS.1105 when reached) and the grants of its busiest key against the
 * `grant_per_CMK` quota (`grant_quota`, KMS.2404), and the number of keys (`instance_num`, default keys left out).
 */
import { Type } from 'typebox';
import { answer } from '../../schema.js';
import { kmsOperation, projectParams } from './common.js';

const resource = answer({ type: Type.String(), used: Type.Integer(), quota: Type.Integer() });

export const quotaOperations = [
  kmsOperation({
    name: 'ShowUserQuotas',
    method: 'GET',
    path: '/v1.0/{project_id}/kms/user-quotas',
    action: 'kms:cmk:getQuota',
    summary: 'The CMK quota of the project (keys in any state, replicas included) and the grant_per_CMK quota (used: the most grants one key holds).',
    mutates: false,
    params: projectParams,
    response: answer({ quotas: answer({ resources: Type.Array(resource) }) }),
    handler: async (s, ctx) => ({
      quotas: {
        resources: [
          { type: 'CMK', used: (await s.keys.usage(ctx)).used, quota: s.keys.quota },
          { type: 'grant_per_CMK', used: await s.grants.maxGrantsPerKey(ctx), quota: s.grants.quota },
        ],
      },
    }),
  }),

  kmsOperation({
    name: 'ShowUserInstances',
    method: 'GET',
    path: '/v1.0/{project_id}/kms/user-instances',
    action: 'kms:cmk:getInstance',
    summary: 'The number of keys of the project (default keys left out).',
    mutates: false,
    params: projectParams,
    response: answer({ instance_num: Type.Integer() }),
    handler: async (s, ctx) => ({ instance_num: (await s.keys.usage(ctx)).instances }),
  }),
];
