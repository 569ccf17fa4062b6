/**
 * Request validation against the catalogue's schemas with Ajv (JSON Schema 2020-12 as TypeBox writes it), and
 * the mapping of each failed rule to Huawei's error code (schema.ts describes the `x-` keywords). Fastify calls
 * `compileValidator` once per route and request part; a failure is a KmsError, rendered like every other error.
 */
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv';
import { KmsError, type ErrorCode } from '../errors.js';

interface IntegerKeyword {
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  rangeCode?: ErrorCode;
  multipleCode?: ErrorCode;
  emptyIsAbsent?: boolean;
}

interface DataContext {
  parentData: Record<string, unknown> | unknown[];
  parentDataProperty: string | number;
}

type KeywordValidate = ((schema: IntegerKeyword, data: unknown, parentSchema: unknown, cxt?: DataContext) => boolean) & { errors?: Partial<ErrorObject>[] };

const integerKeyword: KeywordValidate = function (schema, data, _parentSchema, cxt) {
  // `anyOf` (checked before this keyword) already refused anything but an integer or a string of digits (or '').
  if (data === '' && schema.emptyIsAbsent && cxt?.parentData !== undefined && !Array.isArray(cxt.parentData)) {
    delete cxt.parentData[cxt.parentDataProperty];
    return true;
  }
  const n = typeof data === 'string' ? Number(data) : (data as number);
  const fail = (code: ErrorCode | undefined, message: string) => {
    integerKeyword.errors = [{ keyword: 'x-integer', message, params: { errorCode: code } }];
    return false;
  };
  if (!Number.isSafeInteger(n)) return fail(schema.rangeCode, 'is too large');
  if ((schema.minimum !== undefined && n < schema.minimum) || (schema.maximum !== undefined && n > schema.maximum)) {
    const range = schema.minimum !== undefined && schema.maximum !== undefined ? `between ${schema.minimum} and ${schema.maximum}`
      : schema.minimum !== undefined ? `${schema.minimum} or more` : `${schema.maximum} or less`;
    return fail(schema.rangeCode, `must be ${range}`);
  }
  if (schema.multipleOf !== undefined && n % schema.multipleOf !== 0) return fail(schema.multipleCode, `must be a multiple of ${schema.multipleOf}`);
  // Hand the handler a number: the parent object is the validated request part.
  if (cxt?.parentData !== undefined && typeof data === 'string') (cxt.parentData as Record<string | number, unknown>)[cxt.parentDataProperty] = n;
  return true;
};

/** The Ajv instance every Strongroom endpoint validates with. */
export const ajv = new Ajv({ allErrors: false, strict: true, strictTypes: false, coerceTypes: false, useDefaults: false });
ajv.addKeyword({ keyword: 'x-error-code', schemaType: 'string' });
ajv.addKeyword({ keyword: 'x-min-bytes', type: 'string', schemaType: 'number', validate: (min: number, data: string) => Buffer.byteLength(data, 'utf8') >= min });
ajv.addKeyword({ keyword: 'x-max-bytes', type: 'string', schemaType: 'number', validate: (max: number, data: string) => Buffer.byteLength(data, 'utf8') <= max });
ajv.addKeyword({ keyword: 'x-integer', schemaType: 'object', modifying: true, errors: true, validate: integerKeyword as never });
// Annotations TypeBox or the catalogue may place in a schema.
for (const keyword of ['x-operation', 'x-iam-action']) ajv.addKeyword({ keyword });

export interface ValidationCodes {
  /** Code of a missing required field. */
  missing: ErrorCode;
  /** Code of a rule whose schema names none. */
  generic: ErrorCode;
}

/**
 * Walks the schema along an error's schema path (`#/properties/x/maxLength`): the value of the failing keyword and
 * the `x-error-code` nearest to it.
 */
function lookUp(root: unknown, schemaPath: string): { value: unknown; code: ErrorCode | undefined } {
  let node: unknown = root;
  let code = (root as Record<string, unknown> | undefined)?.['x-error-code'] as ErrorCode | undefined;
  for (const segment of schemaPath.replace(/^#\/?/, '').split('/')) {
    if (node === null || typeof node !== 'object') return { value: undefined, code };
    node = (node as Record<string, unknown>)[decodeURIComponent(segment.replace(/~1/g, '/').replace(/~0/g, '~'))];
    const here = node !== null && typeof node === 'object' && !Array.isArray(node) ? ((node as Record<string, unknown>)['x-error-code'] as ErrorCode | undefined) : undefined;
    if (here !== undefined) code = here;
  }
  return { value: node, code };
}

function fieldName(instancePath: string, part: string): string {
  const path = instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (part === 'querystring') return path ? `query parameter ${path}` : 'the query';
  if (part === 'params') return path ? `path parameter ${path}` : 'the path';
  return path || 'the body';
}

function describe(e: ErrorObject, part: string, limit: unknown): string {
  const field = fieldName(e.instancePath, part);
  switch (e.keyword) {
    case 'type':
      return `${field} must be ${String(e.params.type).replace(',', ' or ')}.`;
    case 'pattern':
      return `${field} has an invalid format.`;
    case 'maxLength':
      return `${field} may have at most ${e.params.limit} characters.`;
    case 'minLength':
      return `${field} must have at least ${e.params.limit} characters.`;
    case 'x-max-bytes':
      return `${field} may have at most ${String(limit)} bytes in UTF-8.`;
    case 'x-min-bytes':
      return `${field} must have at least ${String(limit)} bytes in UTF-8.`;
    case 'enum':
      return `${field} must be one of ${(e.params.allowedValues as unknown[]).join(', ')}.`;
    case 'anyOf':
      return `${field} must be an integer (a JSON number or a string of digits).`;
    case 'x-integer':
      return `${field} ${e.message}.`;
    case 'maxItems':
      return `${field} may have at most ${e.params.limit} items.`;
    case 'minItems':
      return `${field} must have at least ${e.params.limit} items.`;
    default:
      return `${field} is invalid.`;
  }
}

/** The KmsError for Ajv's first error: KMS.0204 for a missing field, else the code of the failing rule. */
export function validationError(schema: unknown, errors: readonly ErrorObject[], part: string, codes: ValidationCodes): KmsError {
  const e = errors[errors.length - 1]!;
  if (e.keyword === 'required') {
    const missing = String(e.params.missingProperty);
    const where = e.instancePath ? `${e.instancePath.replace(/^\//, '').replace(/\//g, '.')}.${missing}` : missing;
    return new KmsError(codes.missing, `${part === 'querystring' ? 'query parameter ' : ''}${where} is required.`);
  }
  const found = lookUp(schema, e.schemaPath);
  const code = (e.params as { errorCode?: ErrorCode }).errorCode ?? found.code ?? codes.generic;
  return new KmsError(code, describe(e, part, found.value));
}

const compiled = new WeakMap<object, ValidateFunction>();

/** A validator for one request part; returns null when the data is valid (integers are converted in place). */
export function compileValidator(schema: AnySchema, part: string, codes: ValidationCodes): (data: unknown) => KmsError | null {
  let validate = compiled.get(schema as object);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema as object, validate);
  }
  const v = validate;
  return (data) => (v(data) ? null : validationError(schema, v.errors ?? [], part, codes));
}
