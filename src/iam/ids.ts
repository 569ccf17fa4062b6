/** IAM's ids: 32 lowercase hex characters, as Huawei's user, group, project and domain ids. */
import { randomBytes } from 'node:crypto';

export const newId = (): string => randomBytes(16).toString('hex');
