/**
 * Evaluation of IAM policies for one request (docs/reference/huawei-auth.md §4.4): explicit Deny beats Allow, and no
 * matching Allow means an implicit deny. Pure: the caller gathers the policies and the request's condition values.
 * Documents are expected to come from `parsePolicyDocument`, whose operand checks this file relies on.
 */
import { BlockList, isIP } from 'node:net';
import {
  parseBool, parseConditionOperator, parseInstant, parseIpBlock, parseNumber, splitUrn,
  type BaseOperator, type ConditionValue, type PolicyDocument, type PolicyStatement,
} from './policy-document.js';

/**
 * One request to authorize. `action` is `service:resourceType:action` (e.g. `kms:cmk:create`); `resource` is the
 * URN `service:region:domainId:resourceType:path` (e.g. `kms:cn-north-4:<domain>:KeyId:<key id>`), or null when
 * the operation acts on no particular resource. `context(key)` answers the request's values for a condition key,
 * undefined (or []) when absent; the key is passed LOWER-CASED (ours: key names are case-insensitive), so build
 * it with `contextFrom` or key your own map in lower case. Dates as ISO-8601 strings (e.g. `g:CurrentTime`).
 */
export interface AccessRequest {
  action: string;
  resource: string | null;
  context: (key: string) => readonly ConditionValue[] | undefined;
}

/** A named policy as granted to the caller; `name` is echoed in the Decision. */
export interface NamedPolicy {
  name: string;
  document: PolicyDocument;
}

/** The outcome; `statement` (0-based index into the policy's Statement) says which statement decided it. */
export type Decision = {
  effect: 'allow' | 'explicit-deny' | 'implicit-deny';
  statement?: { policy: string; index: number };
};

/** A case-insensitive `AccessRequest['context']` over a plain record; scalars count as one value. */
export function contextFrom(values: Record<string, ConditionValue | readonly ConditionValue[] | undefined>): AccessRequest['context'] {
  const byKey = new Map<string, readonly ConditionValue[]>();
  for (const [k, v] of Object.entries(values)) if (v !== undefined) byKey.set(k.toLowerCase(), typeof v === 'object' ? v : [v]);
  return (key) => byKey.get(key.toLowerCase());
}

/** Glob match over code points: `*` any run (also empty, also across `:` and `/`), `?` exactly one. O(n·m). */
function glob(pattern: string, text: string): boolean {
  const p = [...pattern];
  const t = [...text];
  let i = 0, j = 0, star = -1, mark = 0;
  while (j < t.length) {
    if (p[i] === '*') { star = i++; mark = j; }
    else if (i < p.length && (p[i] === '?' || p[i] === t[j])) { i++; j++; }
    else if (star >= 0) { i = star + 1; j = ++mark; } // let the last `*` swallow one more character
    else return false;
  }
  while (p[i] === '*') i++;
  return i === p.length;
}

const globIgnoreCase = (pattern: string, text: string) => glob(pattern.toLowerCase(), text.toLowerCase());

/** §4.3: actions compare case-insensitively, wildcards allowed; NotAction applies to every action NOT listed. */
function appliesTo(st: PolicyStatement, action: string): boolean {
  if (st.Action) return st.Action.some((p) => globIgnoreCase(p, action));
  return !(st.NotAction ?? []).some((p) => globIgnoreCase(p, action));
}

/**
 * §4.4: no Resource = every resource. Segment by segment, service and resource type case-insensitive, region,
 * domain and path case-sensitive. Ours: resource-level restrictions apply only to operations on a resource, so
 * for a request with resource null only an unrestricted pattern matches: `*`, or one whose segments after the
 * service are all `*` with the service `*` or the action's own (e.g. `kms:*:*:*:*`).
 */
function resourceMatches(st: PolicyStatement, request: AccessRequest): boolean {
  if (!st.Resource) return true;
  if (request.resource === null) {
    const service = request.action.split(':')[0]!.toLowerCase();
    return st.Resource.some((p) => {
      const s = splitUrn(p);
      return p === '*' || (s !== null && s.slice(1).every((x) => x === '*') && (s[0] === '*' || s[0] === service));
    });
  }
  const urn = splitUrn(request.resource);
  return st.Resource.some((p) => {
    if (p === '*') return true;
    const s = splitUrn(p);
    return s !== null && urn !== null && s.every((x, i) => (i === 0 || i === 3 ? globIgnoreCase(x, urn[i]!) : glob(x, urn[i]!)));
  });
}

// The operators without `Not`: a negated operator holds when its positive twin matches no request value.
type Positive = Exclude<BaseOperator, `${string}Not${string}` | 'Null' | 'IpAddress'>;
type Test = (policy: ConditionValue, request: ConditionValue) => boolean;
const text = (f: (p: string, r: string) => boolean): Test => (p, r) => f(String(p), String(r));
// Request value first: NumberLessThan holds when request < policy. Unparseable values never match.
const ordered = (parse: (v: ConditionValue) => number | null, cmp: (r: number, p: number) => boolean): Test => (p, r) => {
  const [pv, rv] = [parse(p), parse(r)];
  return pv !== null && rv !== null && cmp(rv, pv);
};
const TESTS: Record<Positive, Test> = {
  StringEquals: text((p, r) => p === r),
  StringEqualsIgnoreCase: text((p, r) => p.toLowerCase() === r.toLowerCase()),
  StringLike: text(glob),
  StringMatch: text(glob),
  StringStartWith: text((p, r) => r.startsWith(p)),
  StringEndWith: text((p, r) => r.endsWith(p)),
  NumberEquals: ordered(parseNumber, (r, p) => r === p),
  NumberLessThan: ordered(parseNumber, (r, p) => r < p),
  NumberLessThanEquals: ordered(parseNumber, (r, p) => r <= p),
  NumberGreaterThan: ordered(parseNumber, (r, p) => r > p),
  NumberGreaterThanEquals: ordered(parseNumber, (r, p) => r >= p),
  DateLessThan: ordered(parseInstant, (r, p) => r < p),
  DateLessThanEquals: ordered(parseInstant, (r, p) => r <= p),
  DateGreaterThan: ordered(parseInstant, (r, p) => r > p),
  DateGreaterThanEquals: ordered(parseInstant, (r, p) => r >= p),
  Bool: (p, r) => parseBool(r) !== null && parseBool(r) === parseBool(p),
};

// One BlockList per IpAddress value list, built on first use (parsed documents are long-lived and reused).
const blockLists = new WeakMap<readonly ConditionValue[], BlockList>();
function ipMatcher(values: readonly ConditionValue[]): (r: ConditionValue) => boolean {
  let list = blockLists.get(values);
  if (!list) {
    list = new BlockList();
    for (const v of values) {
      const block = parseIpBlock(v);
      if (block) list.addSubnet(block.address, block.prefix, block.type);
    }
    blockLists.set(values, list);
  }
  const blocks = list;
  return (r) => {
    const family = isIP(String(r));
    return family !== 0 && blocks.check(String(r), family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * One `operator: {key: values}` entry (§4.4 operators; the absent-key rules are ours where §4.4 is silent):
 * - absent key: holds only with `IfExists`, or with `ForAllValues:` (vacuously); `Null` true/false tests absence;
 * - positive operators: some request value matches some policy value (`ForAllValues:`: every request value does);
 * - negated (`…Not…`): no request value matches any policy value.
 */
function conditionHolds(name: string, key: string, values: readonly ConditionValue[], context: AccessRequest['context']): boolean {
  const op = parseConditionOperator(name);
  if (!op) throw new Error(`condition operator ${name} is not supported: documents must come from parsePolicyDocument`);
  const present = context(key.toLowerCase()) ?? [];
  if (op.base === 'Null') return values.some((v) => parseBool(v) === (present.length === 0));
  if (present.length === 0) return op.ifExists || op.set === 'ForAllValues';
  const positive = op.base.replace('Not', '') as Positive | 'IpAddress';
  const matches = positive === 'IpAddress' ? ipMatcher(values) : (r: ConditionValue) => values.some((p) => TESTS[positive](p, r));
  if (op.base !== positive) return !present.some(matches);
  return op.set === 'ForAllValues' ? present.every(matches) : present.some(matches);
}

/** Every operator, and every key within it, must hold (AND); the values of one key are alternatives (OR). */
function conditionsHold(st: PolicyStatement, context: AccessRequest['context']): boolean {
  return Object.entries(st.Condition ?? {}).every(([name, keys]) =>
    Object.entries(keys).every(([key, values]) => conditionHolds(name, key, values, context)),
  );
}

/**
 * Decides a request against every statement of every policy (§4.4 evaluation order): (1) a matching Deny →
 * explicit-deny; (2) else a matching Allow → allow (the first one found); (3) else implicit-deny. A statement
 * matches when its Action/NotAction applies, its Resource matches and all its conditions hold.
 */
export function evaluate(policies: readonly NamedPolicy[], request: AccessRequest): Decision {
  let allowed: Decision | null = null;
  for (const { name, document } of policies) {
    for (const [index, st] of document.Statement.entries()) {
      if (st.Effect === 'Allow' && allowed) continue; // one Allow suffices; only a Deny can still change the answer
      if (!appliesTo(st, request.action) || !resourceMatches(st, request) || !conditionsHold(st, request.context)) continue;
      const decided = { policy: name, index };
      if (st.Effect === 'Deny') return { effect: 'explicit-deny', statement: decided };
      allowed = { effect: 'allow', statement: decided };
    }
  }
  return allowed ?? { effect: 'implicit-deny' };
}

/** Statements of any effect whose Action (or NotAction) applies to `action`, whatever their Resource/Condition. */
function statementsFor(policies: readonly NamedPolicy[], action: string): PolicyStatement[] {
  return policies.flatMap((p) => p.document.Statement.filter((st) => appliesTo(st, action)));
}

/**
 * The condition keys (LOWER-CASED, as `context` receives them) of the statements applying to `action`, so the
 * caller loads only what some statement needs (e.g. a key's spec for `kms:keyspec`). Ours.
 */
export function conditionKeysFor(policies: readonly NamedPolicy[], action: string): Set<string> {
  const keys = new Set<string>();
  for (const st of statementsFor(policies, action)) {
    for (const byKey of Object.values(st.Condition ?? {})) for (const key of Object.keys(byKey)) keys.add(key.toLowerCase());
  }
  return keys;
}

/** True when some statement applying to `action` has a Resource list, i.e. the resource's URN may matter. Ours. */
export function usesResource(policies: readonly NamedPolicy[], action: string): boolean {
  return statementsFor(policies, action).some((st) => st.Resource !== undefined);
}
