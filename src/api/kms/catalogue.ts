/**
 * THE catalogue of KMS operations a region serves: one entry per Huawei operation (operation.ts), in the order of
 * docs/reference/huawei-kms-api.md §2. Routing, validation, authorization, audit and the OpenAPI document all read this
 * list; an operation that is not here does not exist.
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
import { keystoreOperations } from './operations/keystores.js';
import { quotaOperations } from './operations/quotas.js';
import { versionOperations } from './operations/versions.js';
import { keySpaceOperations } from './operations/key-space.js';

/** The catalogue's operations by group, in the catalogue's order (the client CLI's `strongroom kms --help` lists them so). */
export const KMS_OPERATION_GROUPS: readonly { title: string; operations: readonly Operation<RegionServices, CallerContext>[] }[] = [
  { title: 'Key lifecycle', operations: lifecycleOperations },
  { title: 'Data encryption and PINs', operations: dataOperations },
  { title: 'Data keys and random numbers', operations: dataKeyOperations },
  { title: 'Signing, key agreement and MAC', operations: signVerifyOperations },
  { title: 'Rotation', operations: rotationOperations },
  { title: 'Import of key material', operations: keyImportOperations },
  { title: 'Aliases', operations: aliasOperations },
  { title: 'Grants', operations: grantOperations },
  { title: 'Tags', operations: tagOperations },
  { title: 'Quotas', operations: quotaOperations },
  { title: 'API versions', operations: versionOperations },
  { title: 'Multi-region keys', operations: multiRegionOperations },
  { title: 'Dedicated keystores', operations: keystoreOperations },
  { title: 'Trusted key space', operations: keySpaceOperations },
  { title: 'Audit trail (Strongroom)', operations: auditTrailOperations },
];

export const KMS_OPERATIONS: readonly Operation<RegionServices, CallerContext>[] = KMS_OPERATION_GROUPS.flatMap((g) => g.operations);
