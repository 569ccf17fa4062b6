/**
 * Reading Huawei request bodies field by field, with the error code Huawei gives for each kind of mistake:
 * a missing required field is KMS.0204; a field of the wrong type or form gets the field's own code (KMS.0205 for
 * key ids, KMS.1101 for aliases, ...) or KMS.0308. Numbers that Huawei sends as strings are accepted as either.
 */
import { KmsError, type ErrorCode } from '../errors.js';

export type Body = Record<string, unknown>;

export const KEY_ID_RE = /^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$/;
export const ALIAS_RE = /^[a-zA-Z0-9:/_-]{1,255}$/;
const SEQUENCE_RE = /^[0-9a-zA-Z-]{36}$/;

/** The JSON body as an object; an empty body reads as {}. Validates the optional `sequence` of v1.0 bodies. */
export function objectBody(json: unknown): Body {
  if (json === undefined) return {};
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new KmsError('KMS.0202', 'The body must be a JSON object.');
  const body = json as Body;
  if (body.sequence !== undefined && (typeof body.sequence !== 'string' || !SEQUENCE_RE.test(body.sequence))) throw new KmsError('KMS.0206');
  return body;
}

interface StringRule {
  /** Code for a value of the wrong type or form. */
  code?: ErrorCode;
  pattern?: RegExp;
  /** Maximum length in UTF-8 bytes. */
  maxBytes?: number;
  minBytes?: number;
  /** Maximum length in characters (Unicode code points). */
  maxChars?: number;
  oneOf?: readonly string[];
}

export function optionalString(body: Body, name: string, rule: StringRule = {}): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  const code = rule.code ?? 'KMS.0308';
  if (typeof value !== 'string') throw new KmsError(code, `${name} must be a string.`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (rule.maxBytes !== undefined && bytes > rule.maxBytes) throw new KmsError(code, `${name} may have at most ${rule.maxBytes} bytes.`);
  if (rule.minBytes !== undefined && bytes < rule.minBytes) throw new KmsError(code, `${name} must have at least ${rule.minBytes} bytes.`);
  if (rule.maxChars !== undefined && [...value].length > rule.maxChars) throw new KmsError(code, `${name} may have at most ${rule.maxChars} characters.`);
  if (rule.pattern && !rule.pattern.test(value)) throw new KmsError(code, `${name} has an invalid format.`);
  if (rule.oneOf && !rule.oneOf.includes(value)) throw new KmsError(code, `${name} must be one of ${rule.oneOf.join(', ')}.`);
  return value;
}

export function requiredString(body: Body, name: string, rule: StringRule = {}): string {
  const value = optionalString(body, name, rule);
  if (value === undefined) throw new KmsError('KMS.0204', `${name} is required.`);
  return value;
}

export function keyIdField(body: Body, name = 'key_id'): string {
  return requiredString(body, name, { code: 'KMS.0205', pattern: KEY_ID_RE });
}

export function optionalKeyId(body: Body, name = 'key_id'): string | undefined {
  return optionalString(body, name, { code: 'KMS.0205', pattern: KEY_ID_RE });
}

interface IntegerRule {
  code: ErrorCode;
  min?: number;
  max?: number;
}

/** An integer Huawei sends as a string ("7") or a number; undefined when absent. */
export function optionalInteger(body: Body, name: string, rule: IntegerRule): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d{1,10}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new KmsError(rule.code, `${name} must be an integer.`);
  if ((rule.min !== undefined && n < rule.min) || (rule.max !== undefined && n > rule.max)) {
    throw new KmsError(rule.code, `${name} must be between ${rule.min} and ${rule.max}.`);
  }
  return n;
}

export function requiredInteger(body: Body, name: string, rule: IntegerRule): number {
  const n = optionalInteger(body, name, rule);
  if (n === undefined) throw new KmsError('KMS.0204', `${name} is required.`);
  return n;
}

export function optionalObject(body: Body, name: string, code: ErrorCode): Record<string, unknown> | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new KmsError(code, `${name} must be a JSON object.`);
  return value as Record<string, unknown>;
}

/** Decodes hex (either case); `code` when it is not hex of whole bytes. */
export function hexBytes(value: string, name: string, code: ErrorCode): Buffer {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(value)) throw new KmsError(code, `${name} must be hexadecimal.`);
  return Buffer.from(value, 'hex');
}

export const upperHex = (b: Buffer): string => b.toString('hex').toUpperCase();

/** Decodes strict Base64 (padded, standard alphabet); `code` when it is not. */
export function base64Bytes(value: string, name: string, code: ErrorCode): Buffer {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new KmsError(code, `${name} must be Base64.`);
  return Buffer.from(value, 'base64');
}
