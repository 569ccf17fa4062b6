/**
 * Huawei's request ids: 32 lowercase hex characters (docs/reference/observed-huawei-answers.md), on every answer and
 * audit record. Made from a random UUID (node keeps a cache of entropy for them, where a 16-byte randomBytes call per
 * request costs a system call's worth): 122 random bits, unique, not secret.
 */
import { randomUUID } from 'node:crypto';

export const newRequestId = (): string => randomUUID().replaceAll('-', '');
