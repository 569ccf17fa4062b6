/**
 * THE catalogue of KMS operations a region serves: one entry per Huawei operation (operation.ts), in the order of
 * huawei-kms-api.md §2. Routing, validation, authorization, audit and the OpenAPI document all read this list;
 * an operation that is not here does not exist.
 */
import type { Operation } from '../operation.js';
import type { CallerContext } from '../../core/context.js';
import type { RegionServices } from './operations/common.js';
import { dataOperations } from './operations/data.js';
import { dataKeyOperations } from './operations/data-keys.js';
import { keyImportOperations } from './operations/key-import.js';
import { lifecycleOperations } from './operations/lifecycle.js';
import { multiRegionOperations } from './operations/multi-region.js';
import { rotationOperations } from './operations/rotation.js';
import { signVerifyOperations } from './operations/sign-verify.js';
import { tagOperations } from './operations/tags.js';
import { aliasOperations } from './operations/aliases.js';
import { auditTrailOperations } from './operations/audit-trail.js';
import { grantOperations } from './operations/grants.js';
import { quotaOperations } from './operations/quotas.js';
import { versionOperations } from './operations/versions.js';

export const KMS_OPERATIONS: readonly Operation<RegionServices, CallerContext>[] = [
  ...lifecycleOperations,
  ...dataOperations,
  ...dataKeyOperations,
  ...signVerifyOperations,
  ...rotationOperations,
  ...keyImportOperations,
  ...aliasOperations,
  ...grantOperations,
  ...tagOperations,
  ...quotaOperations,
  ...versionOperations,
  ...multiRegionOperations,
  ...auditTrailOperations,
];
