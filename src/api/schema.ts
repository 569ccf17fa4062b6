/**
 * Building blocks of request and response schemas (TypeBox, i.e. JSON Schema 2020-12), with the Huawei error code
 * each rule fails with. A rule's code is the `x-error-code` of the nearest schema around the failing keyword;
 * a missing required field is always KMS.0204 (IAM.0001 on IAM); a field without a code of its own fails with the
 * service's generic code (KMS.0308). validation.ts implements the `x-` keywords:
 *
 * - `x-error-code`: the code of every rule of this schema and the schemas inside it;
 * - `x-min-bytes` / `x-max-bytes`: length of a string in UTF-8 bytes (Huawei counts bytes for plain_text, AAD);
 * - `x-integer`: an integer sent as a JSON number or as a string of plain digits (Huawei sends most numbers as
 *   strings, docs/reference/huawei-kms-api.md §1.4): range and step checks with their own codes, and the value handed
 * on as a   number. " 32", "3.0", "1e3" and "-1" are refused.
 */
import { Type, type TSchema, type TUnsafe } from 'typebox';
import type { ErrorCode } from '../errors.js';

export const KEY_ID_PATTERN = '^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$';
/** A UUID in either case, as the key-space operations take ids (docs/reference/huawei-kms-api.md §4 P). */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** Huawei's alias rule (create-key, update-key-alias, replicate: docs/reference/huawei-kms-api.md §4 A 1). */
export const ALIAS_PATTERN = '^[a-zA-Z0-9:/_-]{1,255}$';
/** Strict, padded, standard-alphabet Base64 (RFC 4648 §4). */
export const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';
/** Hex of whole bytes, either case. */
export const HEX_PATTERN = '^(?:[0-9a-fA-F]{2})*$';
/** The optional request serial number of v1.0 bodies (KMS.0206). */
export const SEQUENCE_PATTERN = '^[0-9a-zA-Z-]{36}$';

export interface TextRule {
  /** Code for a value of the wrong type or form (default: the service's generic code). */
  code?: ErrorCode;
  pattern?: string;
  /** Length in Unicode characters (code points). */
  minChars?: number;
  maxChars?: number;
  /** Length in UTF-8 bytes. */
  minBytes?: number;
  maxBytes?: number;
  description?: string;
}

/** A JSON string. */
export function text(rule: TextRule = {}) {
  return Type.String({
    ...(rule.pattern !== undefined ? { pattern: rule.pattern } : {}),
    ...(rule.minChars !== undefined ? { minLength: rule.minChars } : {}),
    ...(rule.maxChars !== undefined ? { maxLength: rule.maxChars } : {}),
    ...(rule.minBytes !== undefined ? { 'x-min-bytes': rule.minBytes } : {}),
    ...(rule.maxBytes !== undefined ? { 'x-max-bytes': rule.maxBytes } : {}),
    ...(rule.code !== undefined ? { 'x-error-code': rule.code } : {}),
    ...(rule.description !== undefined ? { description: rule.description } : {}),
  });
}

/** One of a fixed set of strings (Huawei's enums are case-sensitive). */
export function oneOf<const T extends readonly string[]>(values: T, rule: { code?: ErrorCode; description?: string } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({
    type: 'string',
    enum: [...values],
    ...(rule.code !== undefined ? { 'x-error-code': rule.code } : {}),
    ...(rule.description !== undefined ? { description: rule.description } : {}),
  });
}

/** A key id (UUID form, lower case); KMS.0205 otherwise. */
export const keyId = (description = 'Key ID (36 characters).') => text({ code: 'KMS.0205', pattern: KEY_ID_PATTERN, description });

/** Base64 bytes; `maxChars` bounds the encoded length. */
export const base64 = (rule: { code?: ErrorCode; maxChars?: number; minChars?: number; description?: string } = {}) =>
  text({ ...rule, pattern: BASE64_PATTERN });

/** Hexadecimal bytes. */
export const hex = (rule: { code?: ErrorCode; maxChars?: number; description?: string } = {}) => text({ ...rule, pattern: HEX_PATTERN });

export interface IntegerRule {
  /** Code for a value that is not an integer (wrong type, not plain digits). */
  code: ErrorCode;
  minimum?: number;
  maximum?: number;
  /** Code for a value outside minimum..maximum (default: `code`). */
  rangeCode?: ErrorCode;
  multipleOf?: number;
  /** Code for a value that is not a multiple of `multipleOf` (default: `code`). */
  multipleCode?: ErrorCode;
  /** An empty string means the field was not sent (OTC's examples send `"limit": ""`). */
  emptyIsAbsent?: boolean;
  description?: string;
}

/** An integer as a JSON number or a string of plain digits; handlers receive a number. */
export function integer(rule: IntegerRule): TUnsafe<number> {
  const range = rule.minimum !== undefined || rule.maximum !== undefined ? ` ${rule.minimum ?? ''}–${rule.maximum ?? ''}` : '';
  return Type.Unsafe<number>({
    anyOf: [{ type: 'integer' }, { type: 'string', pattern: rule.emptyIsAbsent ? '^[0-9]{0,15}$' : '^[0-9]{1,15}$' }],
    'x-error-code': rule.code,
    'x-integer': {
      ...(rule.minimum !== undefined ? { minimum: rule.minimum } : {}),
      ...(rule.maximum !== undefined ? { maximum: rule.maximum } : {}),
      ...(rule.multipleOf !== undefined ? { multipleOf: rule.multipleOf } : {}),
      ...(rule.rangeCode !== undefined ? { rangeCode: rule.rangeCode } : {}),
      ...(rule.multipleCode !== undefined ? { multipleCode: rule.multipleCode } : {}),
      ...(rule.emptyIsAbsent ? { emptyIsAbsent: true } : {}),
    },
    description: rule.description ?? `Integer${range}, as a number or a string of digits.`,
  });
}

/** A JSON boolean. */
export const bool = (rule: { code?: ErrorCode; description?: string } = {}) =>
  Type.Boolean({ ...(rule.code ? { 'x-error-code': rule.code } : {}), ...(rule.description ? { description: rule.description } : {}) });

/** The optional `sequence` of v1.0 bodies: a 36-character request serial number, validated and not echoed. */
export const sequence = () => Type.Optional(text({ code: 'KMS.0206', pattern: SEQUENCE_PATTERN, description: 'Request serial number (36 characters); not echoed.' }));

/** A request body: an object whose unknown fields are ignored, as Huawei's are. */
export function body<P extends Record<string, TSchema>>(properties: P, description?: string) {
  return Type.Object(properties, description ? { description } : {});
}

/** A response body: exactly the declared fields are serialised (a guard against leaking anything else). */
export function answer<P extends Record<string, TSchema>>(properties: P, description?: string) {
  return Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });
}
