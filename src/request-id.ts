/** Huawei's request ids: 32 lowercase hex characters (observed-huawei-answers.md), on every answer and audit record. */
import { randomBytes } from 'node:crypto';

export const newRequestId = (): string => randomBytes(16).toString('hex');
