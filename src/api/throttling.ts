/**
 * Throttling of KMS calls (issue #8): per-user request rates per operation class, in each region process.
 *
 * - Every KMS operation belongs to exactly one class, derived from its catalogue entry by ONE rule
 *   (`rateClassOf`): cryptographic calls, list/describe calls, tag changes, and key management (the rest).
 * - A caller (the authenticated user: a token's user, or an access key's owner) has one token bucket per class in
 *   each region process (token-buckets.ts; burst = one second's rate). The check runs right after
 *   authentication, before validation, authorization, the audit trail's pending record and the handler, so a
 *   refused call changes nothing; its audit record says 429 APIGW.0308. Calls that fail authentication, and
 *   calls that need none (the version documents), count against nobody.
 * - A refused call is answered as Huawei's API gateway does (Huawei API gateway error table, APIGW.0308):
 *   `429 {"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached: policy user over
 *   ratelimit,limit:<N>,time:1 second", "request_id": …}`, plus `Retry-After` (whole seconds, at least 1).
 * - Settings (`--throttling`, kept in deployment.json): `off` (the default), `huawei` (HUAWEI_RATES), or a
 *   positive integer N: N requests per second per user and class.
 */
import { ThrottledError } from '../errors.js';
import { TokenBuckets, type MonotonicClock } from '../token-buckets.js';
import type { Operation } from './operation.js';

/** The operation classes a user's call rate is counted in. */
export const RATE_CLASSES = ['key-management', 'crypto', 'tag', 'list'] as const;
export type RateClass = (typeof RATE_CLASSES)[number];

/**
 * The verbs of `kms:cmk:<verb>` actions that are cryptographic calls (encrypt/decrypt, re-encrypt, random, sign,
 * verify, key agreement, MACs, PINs). Every `kms:dek:*` action (data keys and data key pairs) is cryptographic too.
 */
const CRYPTO_CMK_VERBS: ReadonlySet<string> = new Set([
  'crypto', 'reEncrypt', 'generate', 'sign', 'verify', 'deriveSharedSecret', 'generateMac', 'verifyMac', 'createPin',
]);

/**
 * THE rule that puts an operation in its class, from its IAM action (`service:resource:verb`) and whether it
 * changes state:
 *
 * 1. `kms:dek:*`, and `kms:cmk:<verb>` with a cryptographic verb (CRYPTO_CMK_VERBS) → `crypto`;
 * 2. a verb `list…` or `get…` of an operation that changes nothing (list-keys `kms:cmk:list`, describe-key
 *    `kms:cmk:get`, `getRotation`, `getPublicKey`, the tag lists `kms:cmkTag:list`/`listInstance`, regions
 *    `kms:region:list`, versions, `kms:alias:list`, `kms:grant:list`, `kms:cmk:getQuota`,
 *    `getInstance`) → `list`;
 * 3. `kms:cmkTag:*` (create, batch, delete) → `tag`;
 * 4. everything else (create, enable, disable, schedule/cancel deletion, updates, rotation, import, replicate,
 *    update-primary-region, `kms:alias:*` and `kms:grant:*` changes) → `key-management`.
 *
 * get-parameters-for-import (`kms:cmk:getMaterial`) changes state (it replaces the key's import parameters), so
 * it is key management, not a listing.
 */
export function rateClassOf(op: { action: string | null; mutates: boolean }): RateClass {
  const [, resource = '', verb = ''] = (op.action ?? '').split(':');
  if (resource === 'dek' || (resource === 'cmk' && CRYPTO_CMK_VERBS.has(verb))) return 'crypto';
  if (!op.mutates && /^(list|get)/.test(verb)) return 'list';
  if (resource === 'cmkTag') return 'tag';
  return 'key-management';
}

/** Requests per second per user, by class. */
export type ClassRates = Readonly<Record<RateClass, number>>;

/**
 * Huawei's published rates (`--throttling huawei`): 1000 requests/s per customer for the data-plane calls
 * (create-datakey, create-datakey-without-plaintext, encrypt-datakey, decrypt-datakey, encrypt-data,
 * decrypt-data, describe-key: Huawei KMS "Constraints"), applied here to the whole crypto class; nothing is
 * published for other calls beyond the API gateway's default of 200 requests/s per API, applied to each other
 * class. describe-key stays in the list class (200/s): the classes are shared buckets, and one class per call
 * family keeps the rule simple.
 */
export const HUAWEI_RATES: ClassRates = { 'key-management': 200, crypto: 1000, tag: 200, list: 200 };

/** The `--throttling` setting as deployment.json keeps it. */
export type ThrottlingSetting = 'off' | 'huawei' | number;

/** Parses `--throttling huawei|off|N`; throws an Error whose message says what is accepted. */
export function parseThrottling(value: string): ThrottlingSetting {
  const v = value.trim();
  if (v === 'off' || v === 'huawei') return v;
  if (/^[1-9][0-9]{0,8}$/.test(v)) return Number(v);
  throw new Error(`--throttling must be "huawei", "off" or a positive whole number of requests per second per user and class, not "${value}"`);
}

/** Checks a setting read from deployment.json (a hand-edited file may hold anything). */
export function checkThrottling(value: unknown): ThrottlingSetting {
  if (value === undefined) return 'off';
  if (value === 'off' || value === 'huawei' || (typeof value === 'number' && Number.isInteger(value) && value > 0)) return value;
  throw new Error(`deployment.json: "throttling" must be "off", "huawei" or a positive integer, not ${JSON.stringify(value)}`);
}

/** The rates of a setting, or null when throttling is off. */
export function ratesOf(setting: ThrottlingSetting): ClassRates | null {
  if (setting === 'off') return null;
  if (setting === 'huawei') return HUAWEI_RATES;
  return { 'key-management': setting, crypto: setting, tag: setting, list: setting };
}

/**
 * Per-user rate limits of one region process. `admission(op)` is asked once per operation at mount
 * (`Pipeline.admission`, mount.ts); the check it returns costs a map lookup and a little arithmetic per call, and allocates only when it refuses.
 */
export class Throttle {
  readonly rates: ClassRates;
  readonly #buckets: Readonly<Record<RateClass, TokenBuckets>>;

  constructor(rates: ClassRates, clock?: MonotonicClock) {
    this.rates = rates;
    const buckets = (c: RateClass) => new TokenBuckets({ ratePerSecond: rates[c], clock });
    this.#buckets = { 'key-management': buckets('key-management'), crypto: buckets('crypto'), tag: buckets('tag'), list: buckets('list') };
  }

  /**
   * Counts one call of `userId` in `rateClass`; throws ThrottledError (429 APIGW.0308, with Retry-After) when
   * the user is over the class's rate.
   */
  take(userId: string, rateClass: RateClass): void {
    const wait = this.#buckets[rateClass].take(userId);
    if (wait !== 0) throw new ThrottledError(`policy user over ratelimit,limit:${this.rates[rateClass]},time:1 second`, wait);
  }

  /** The check of an operation's calls: counts the authenticated caller's call in the operation's class. */
  admission<C>(op: Pick<Operation, 'action' | 'mutates'>, userOf: (ctx: C) => string): (ctx: C | undefined) => void {
    const rateClass = rateClassOf(op);
    return (ctx) => {
      if (ctx !== undefined) this.take(userOf(ctx), rateClass);
    };
  }
}
