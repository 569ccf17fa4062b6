/**
 * IAM policy documents (docs/reference/huawei-auth.md §4.4): their shape, and the validation of an untrusted JSON value
 * into a normalized `PolicyDocument`. Pure: no I/O. Evaluation lives in policy-evaluation.ts; the operand parsers below
 * are shared with it so that a value accepted here is a value evaluation understands.
 */
import { isIP } from 'node:net';

export type PolicyEffect = 'Allow' | 'Deny';
export type ConditionValue = string | number | boolean;

/** One statement. After `parsePolicyDocument`, exactly one of Action/NotAction is set and every list is an array. */
export interface PolicyStatement {
  Effect: PolicyEffect;
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  /** operator (e.g. `StringEqualsIfExists`) → condition key (e.g. `kms:KeySpec`) → alternatives. */
  Condition?: Record<string, Record<string, ConditionValue[]>>;
}

/** Version 1.0 = system role (may have Depends), 1.1 = fine-grained policy (the only version for custom ones). */
export interface PolicyDocument {
  Version: '1.0' | '1.1';
  Statement: PolicyStatement[];
  Depends?: { catalog: string; display_name: string }[];
}

/** Thrown by `parsePolicyDocument`; `message` names the first problem with its path, e.g. `Statement[0].Effect …`. */
export class PolicyDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyDocumentError';
  }
}

/** Huawei's size limit for a custom policy, in characters of its JSON (§4.4 [doc]). */
export const MAX_CUSTOM_POLICY_CHARS = 6144;
const MAX_ITEMS = 100;

/** The base condition operators (§4.4, the 5.0 grammar's list plus the 1.1 examples' StringStartWith/EndWith/Like). */
export const CONDITION_OPERATORS = [
  'StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike',
  'StringNotLike', 'StringMatch', 'StringNotMatch', 'StringStartWith', 'StringNotStartWith', 'StringEndWith',
  'StringNotEndWith', 'NumberEquals', 'NumberNotEquals', 'NumberLessThan', 'NumberLessThanEquals',
  'NumberGreaterThan', 'NumberGreaterThanEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan',
  'DateGreaterThanEquals', 'Bool', 'Null', 'IpAddress', 'NotIpAddress',
] as const;
export type BaseOperator = (typeof CONDITION_OPERATORS)[number];

/** An operator name taken apart: `ForAllValues:StringLikeIfExists` → {set: 'ForAllValues', base: 'StringLike', ifExists: true}. */
export interface ConditionOperator {
  base: BaseOperator;
  ifExists: boolean;
  set: 'ForAnyValue' | 'ForAllValues' | null;
}

/**
 * Parses an operator name, or null when unknown. Ours: `Null` takes neither the suffix nor a prefix (it tests
 * existence itself, so `IfExists` would contradict it; AWS refuses `NullIfExists` for the same reason).
 */
export function parseConditionOperator(name: string): ConditionOperator | null {
  const m = /^(?:(ForAnyValue|ForAllValues):)?(\w+?)(IfExists)?$/.exec(name);
  const base = CONDITION_OPERATORS.find((op) => op === m?.[2]);
  if (!m || !base) return null;
  const op: ConditionOperator = { base, ifExists: m[3] !== undefined, set: (m[1] as ConditionOperator['set']) ?? null };
  return base === 'Null' && (op.ifExists || op.set) ? null : op;
}

/** A number operand: a finite number, or a string in plain decimal notation (no '', '0x10', 'Infinity'). */
export function parseNumber(v: ConditionValue): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  return typeof v === 'string' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v) ? Number(v) : null;
}

/**
 * A date operand as epoch milliseconds. Ours: numbers are epoch SECONDS (AWS's convention); strings are ISO-8601,
 * either a date (`2026-11-29`, UTC midnight) or a date-time WITH an offset (`…T19:00:00Z`, `…+08:00`): a zone-less
 * date-time would be read in the server's local zone, so it is refused. Impossible days (`02-30`) are refused.
 */
export function parseInstant(v: ConditionValue): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v * 1000 : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.exec(v);
  if (!m || new Date(Date.UTC(+m[1]!, +m[2]! - 1, 1)).getUTCMonth() !== +m[2]! - 1) return null;
  if (new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!)).getUTCDate() !== +m[3]!) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

/** A Bool/Null operand: a boolean, or "true"/"false" in any case. */
export function parseBool(v: ConditionValue): boolean | null {
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  return s === 'true' ? true : s === 'false' ? false : null;
}

/** An IpAddress operand: a single IPv4/IPv6 address or a CIDR block (prefix within the family's width). */
export function parseIpBlock(v: ConditionValue): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, ...rest] = String(v).split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return null;
  const width = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? width : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  return prefix >= 0 && prefix <= width ? { address, prefix, type: family === 4 ? 'ipv4' : 'ipv6' } : null;
}

/** What each operator family accepts as a policy value; strings accept any scalar (compared as text). */
function operandProblem(base: BaseOperator, v: ConditionValue): string | null {
  if (base.startsWith('Number')) return parseNumber(v) === null ? 'is not a number' : null;
  if (base.startsWith('Date')) return parseInstant(v) === null ? 'is not an ISO-8601 date with offset or epoch seconds' : null;
  if (base === 'Bool' || base === 'Null') return parseBool(v) === null ? 'is not true or false' : null;
  if (base.endsWith('IpAddress')) return parseIpBlock(v) === null ? 'is not an IP address or CIDR block' : null;
  return null;
}

// Action: `service:resourceType:action`; the resource type may be empty (`kms::generateRandom` exists in the
// Tenant Guest role, §4.3). Resource segments: service, region, domain (both may be empty, e.g. `obs:::bucket:*`),
// type, then a path that may hold `:` and `/`.
const ACTION_RE = /^(\*|[a-z0-9]+):[A-Za-z0-9*?_.-]*:[A-Za-z0-9*?_.-]+$/;
const RESOURCE_SEGMENT_RES = [/^[a-z0-9*?]+$/, /^[A-Za-z0-9*?_.-]*$/, /^[A-Za-z0-9*?_.-]*$/, /^[A-Za-z0-9*?_.-]+$/, /^[^\s]+$/];
const CONDITION_KEY_RE = /^[a-z0-9]+:[A-Za-z0-9/_.:-]+$/; // `g:` (global) or a service's own prefix

/** Splits on the first four colons only: `kms:r:d:KeyId:a:b` → ['kms','r','d','KeyId','a:b']; null when fewer. */
export function splitUrn(urn: string): string[] | null {
  const parts = urn.split(':');
  return parts.length < 5 ? null : [...parts.slice(0, 4), parts.slice(4).join(':')];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v) ?? String(v);
function fail(message: string): never {
  throw new PolicyDocumentError(message);
}

/** A string or a non-empty array (≤ 100) of strings → an array, each item checked by `check` (a problem or null). */
function stringList(value: unknown, path: string, check: (s: string) => string | null): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ITEMS) fail(`${path} must be a string or a non-empty array of at most ${MAX_ITEMS} strings`);
  return (list as unknown[]).map((item, i) => {
    if (typeof item !== 'string') return fail(`${path}[${i}] must be a string`);
    const problem = check(item);
    return problem ? fail(`${path}[${i}] ${show(item)} ${problem}`) : item;
  });
}

const checkAction = (a: string) => (a === '*' || ACTION_RE.test(a) ? null : 'is not of the form service:resourceType:action');
function checkResource(r: string): string | null {
  const segments = splitUrn(r);
  const ok = r === '*' || (segments !== null && segments.every((s, i) => RESOURCE_SEGMENT_RES[i]!.test(s)));
  return ok ? null : 'is not * or of the form service:region:domainId:resourceType:resourcePath';
}

function parseCondition(value: unknown, path: string): Record<string, Record<string, ConditionValue[]>> {
  if (!isObject(value) || Object.keys(value).length === 0) return fail(`${path} must be a non-empty object of operators`);
  const out: Record<string, Record<string, ConditionValue[]>> = {};
  for (const [name, keys] of Object.entries(value)) {
    const op = parseConditionOperator(name);
    if (!op) return fail(`${path} operator ${show(name)} is not supported`);
    if (!isObject(keys) || Object.keys(keys).length === 0) return fail(`${path}.${name} must be a non-empty object of condition keys`);
    const byKey: Record<string, ConditionValue[]> = {};
    for (const [key, raw] of Object.entries(keys)) {
      const at = `${path}.${name}.${key}`;
      if (!CONDITION_KEY_RE.test(key)) return fail(`${at} is not a condition key of the form g:Name or service:Name`);
      const values = Array.isArray(raw) ? (raw as unknown[]) : [raw];
      if (values.length === 0 || values.length > MAX_ITEMS) return fail(`${at} must have 1 to ${MAX_ITEMS} values`);
      byKey[key] = values.map((v, i) => {
        if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
          return fail(`${at}[${i}] must be a string, number or boolean`);
        }
        const problem = operandProblem(op.base, v);
        return problem ? fail(`${at}[${i}] ${show(v)} ${problem}`) : v;
      });
    }
    out[name] = byKey;
  }
  return out;
}

const STATEMENT_FIELDS = new Set(['Effect', 'Action', 'NotAction', 'Resource', 'Condition']);

function parseStatement(value: unknown, path: string): PolicyStatement {
  if (!isObject(value)) return fail(`${path} must be an object`);
  const unknown = Object.keys(value).find((k) => !STATEMENT_FIELDS.has(k));
  if (unknown !== undefined) fail(`${path} has an unknown field ${show(unknown)}`);
  if (value.Effect !== 'Allow' && value.Effect !== 'Deny') fail(`${path}.Effect must be "Allow" or "Deny"`);
  if ((value.Action === undefined) === (value.NotAction === undefined)) fail(`${path} must have exactly one of Action and NotAction`);
  const st: PolicyStatement = { Effect: value.Effect as PolicyEffect };
  if (value.Action !== undefined) st.Action = stringList(value.Action, `${path}.Action`, checkAction);
  if (value.NotAction !== undefined) st.NotAction = stringList(value.NotAction, `${path}.NotAction`, checkAction);
  if (value.Resource !== undefined) st.Resource = stringList(value.Resource, `${path}.Resource`, checkResource);
  if (value.Condition !== undefined) st.Condition = parseCondition(value.Condition, `${path}.Condition`);
  return st;
}

/**
 * Validates an untrusted JSON value as a policy document (§4.1, §4.4) and returns it normalized: single strings
 * become one-element arrays, as do scalar condition values. `customPolicy` applies the custom-policy rules:
 * Version "1.1" only and at most 6144 characters of JSON. Throws PolicyDocumentError naming the first problem.
 * Ours: unknown fields are refused at every level (a typo such as `Resources` must not widen a policy silently),
 * and condition values are checked against their operator (a malformed CIDR would otherwise never match).
 */
export function parsePolicyDocument(value: unknown, options: { customPolicy: boolean }): PolicyDocument {
  if (!isObject(value)) return fail('the policy must be a JSON object');
  if (options.customPolicy && JSON.stringify(value).length > MAX_CUSTOM_POLICY_CHARS) {
    fail(`the policy is longer than ${MAX_CUSTOM_POLICY_CHARS} characters`);
  }
  const unknown = Object.keys(value).find((k) => k !== 'Version' && k !== 'Statement' && k !== 'Depends');
  if (unknown !== undefined) fail(`the policy has an unknown field ${show(unknown)}`);
  const versions = options.customPolicy ? ['1.1'] : ['1.0', '1.1'];
  if (!versions.includes(value.Version as string)) fail(`Version must be ${versions.map((v) => `"${v}"`).join(' or ')}`);
  const { Statement } = value;
  if (!Array.isArray(Statement) || Statement.length === 0 || Statement.length > MAX_ITEMS) {
    fail(`Statement must be a non-empty array of at most ${MAX_ITEMS} statements`);
  }
  const doc: PolicyDocument = {
    Version: value.Version as PolicyDocument['Version'],
    Statement: (Statement as unknown[]).map((s, i) => parseStatement(s, `Statement[${i}]`)),
  };
  if (value.Depends !== undefined) {
    if (doc.Version !== '1.0') fail('Depends is allowed only in Version "1.0" documents (system roles)');
    if (!Array.isArray(value.Depends)) fail('Depends must be an array');
    doc.Depends = (value.Depends as unknown[]).map((d, i) => {
      const ok = isObject(d) && Object.keys(d).length === 2 && typeof d.catalog === 'string' && typeof d.display_name === 'string';
      return ok ? { catalog: d.catalog as string, display_name: d.display_name as string } : fail(`Depends[${i}] must be {catalog, display_name} strings`);
    });
  }
  return doc;
}
