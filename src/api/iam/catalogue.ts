/**
 * THE catalogue of IAM operations the IAM endpoint serves (operation.ts): tokens and projects, users, groups,
 * roles and custom policies, grants, and access keys, with Huawei's paths, fields, status codes and IAM actions
 * (docs/reference/huawei-auth.md §1–4). Routing, validation, authorization, audit and `GET /openapi.json` read this
 * list.
 */
import type { Operation } from '../operation.js';
import type { IamContext, IamServices } from './operations/common.js';
import { credentialOperations } from './operations/credentials.js';
import { grantOperations } from './operations/grants.js';
import { groupOperations } from './operations/groups.js';
import { roleOperations } from './operations/roles.js';
import { tokenOperations } from './operations/tokens.js';
import { userOperations } from './operations/users.js';

export const IAM_OPERATIONS: readonly Operation<IamServices, IamContext>[] = [
  ...tokenOperations,
  ...userOperations,
  ...groupOperations,
  ...roleOperations,
  ...grantOperations,
  ...credentialOperations,
];
