/**
 * The benchmark's scenarios: which KMS requests are measured, what each is compared with, and the keys they need.
 * API scenarios are measured at maximum throughput for every selected auth mode; `--list` prints them all.
 * Besides these, run.ts knows four composite scenarios: `half-load` (latency at 50 % of the measured maximum),
 * `keygen-interference` (encrypt-data latency while RSA_4096 keys are generated), `scale` (latency and memory
 * with 1,000 / 100,000 / 1,000,000 keys; opt-in) and `postgres` (a second deployment on PostgreSQL with two nodes,
 * beside SQLite; in the default run only when a PostgreSQL server answers, bench/postgres.ts).
 */
import { randomBytes } from 'node:crypto';
import type { SigningAlgorithm } from '../src/crypto/algorithms.js';
import { createKeyPrimitive, digestFor, macPrimitive, signPrimitive, type DirectPrimitive } from './baselines.js';
import type { RequestSpec } from './load.js';

/** What the bench gives a scenario to prepare its request. */
export interface ScenarioEnv {
  projectId: string;
  /** A KMS call with the bench's token (setup only, never measured); throws unless 2xx. Returns the JSON body. */
  call(operation: string, body: object): Promise<any>;
  /** A key of this spec and usage, created through the API once and reused. */
  key(spec: string, usage: string): Promise<string>;
  /** Makes sure the project holds at least `count` keys (seeded); returns how many it holds. */
  ensureKeys(count: number): Promise<number>;
}

/** What a scenario's requests per second are divided by. */
export type BaselineRef =
  | { kind: 'bare-encrypt'; plaintextBytes: number }
  | { kind: 'direct'; name: string; make: () => DirectPrimitive };

export interface ApiScenario {
  /** Name for `--scenarios`. */
  name: string;
  /** The operation column of the report. */
  operation: string;
  baseline: BaselineRef;
  /** Also measured at 50 % of its maximum rate by the `half-load` scenario. */
  halfLoad?: boolean;
  /** Creates what the request needs (keys, a ciphertext) and returns the request. */
  prepare(env: ScenarioEnv): Promise<RequestSpec>;
  /** Checks the answer of the probe request (throws when it is wrong); may return a note for the report. */
  check?(body: any): string | undefined;
}

/** Keys list-keys runs against. */
export const LIST_KEYS_PRESENT = 10_000;

/** `bytes` printable ASCII characters (so UTF-8 bytes = characters). */
export function plaintext(bytes: number): string {
  return randomBytes(bytes).toString('base64').slice(0, bytes);
}

const kmsPath = (env: ScenarioEnv, op: string) => `/v1.0/${env.projectId}/kms/${op}`;
const post = (env: ScenarioEnv, op: string, body: object | (() => object)): RequestSpec => ({ method: 'POST', path: kmsPath(env, op), body });
const bare = (plaintextBytes: number): BaselineRef => ({ kind: 'bare-encrypt', plaintextBytes });
const sizeLabel = (bytes: number) => (bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`);

function encryptScenario(bytes: number, halfLoad: boolean): ApiScenario {
  return {
    name: `encrypt-${bytes >= 1024 ? `${bytes / 1024}k` : bytes}`,
    operation: `encrypt-data AES_256 ${sizeLabel(bytes)}`,
    baseline: bare(bytes),
    halfLoad,
    prepare: async (env) => post(env, 'encrypt-data', { key_id: await env.key('AES_256', 'ENCRYPT_DECRYPT'), plain_text: plaintext(bytes) }),
  };
}

function decryptScenario(bytes: number, halfLoad: boolean): ApiScenario {
  return {
    name: `decrypt-${bytes >= 1024 ? `${bytes / 1024}k` : bytes}`,
    operation: `decrypt-data AES_256 ${sizeLabel(bytes)}`,
    baseline: bare(bytes),
    halfLoad,
    prepare: async (env) => {
      const { cipher_text } = await env.call('encrypt-data', { key_id: await env.key('AES_256', 'ENCRYPT_DECRYPT'), plain_text: plaintext(bytes) });
      return post(env, 'decrypt-data', { cipher_text });
    },
  };
}

const SIGNERS: { tag: string; label: string; spec: 'RSA_2048' | 'EC_P256' | 'SM2'; algorithm: SigningAlgorithm }[] = [
  { tag: 'rsa2048', label: 'RSA_2048 RSASSA_PSS_SHA_256', spec: 'RSA_2048', algorithm: 'RSASSA_PSS_SHA_256' },
  { tag: 'ec-p256', label: 'EC_P256 ECDSA_SHA_256', spec: 'EC_P256', algorithm: 'ECDSA_SHA_256' },
  { tag: 'sm2', label: 'SM2 SM2DSA_SM3', spec: 'SM2', algorithm: 'SM2DSA_SM3' },
];

function signScenarios(): ApiScenario[] {
  return SIGNERS.flatMap(({ tag, label, spec, algorithm }) => {
    const body = async (env: ScenarioEnv) => ({
      key_id: await env.key(spec, 'SIGN_VERIFY'), signing_algorithm: algorithm, message: digestFor(algorithm).toString('base64'), message_type: 'DIGEST',
    });
    const direct = (verify: boolean): BaselineRef => {
      const name = `${verify ? 'verify' : 'sign'} ${label} (direct)`;
      return { kind: 'direct', name, make: () => signPrimitive(name, spec, algorithm, verify) };
    };
    return [
      { name: `sign-${tag}`, operation: `sign ${label} DIGEST`, baseline: direct(false), prepare: async (env) => post(env, 'sign', await body(env)) },
      {
        name: `verify-${tag}`, operation: `verify ${label} DIGEST`, baseline: direct(true),
        prepare: async (env) => {
          const b = await body(env);
          const { signature } = await env.call('sign', b);
          return post(env, 'verify', { ...b, signature });
        },
        check: (answer: { signature_valid?: string }) => {
          if (answer.signature_valid !== 'true') throw new Error(`verify answered signature_valid ${String(answer.signature_valid)}`);
          return undefined;
        },
      },
    ];
  });
}

let createKeyCounter = 0;
const RUN_TAG = randomBytes(3).toString('hex');

/** Every API scenario, in the order the default run measures them (list-keys before create-key adds keys). */
export const API_SCENARIOS: readonly ApiScenario[] = [
  encryptScenario(256, false),
  encryptScenario(4096, true),
  decryptScenario(256, false),
  decryptScenario(4096, true),
  {
    name: 'create-datakey', operation: 'create-datakey AES_256', baseline: bare(256),
    prepare: async (env) => post(env, 'create-datakey', { key_id: await env.key('AES_256', 'ENCRYPT_DECRYPT'), key_spec: 'AES_256' }),
  },
  {
    name: 'decrypt-datakey', operation: 'decrypt-datakey 32 B', baseline: bare(256),
    prepare: async (env) => {
      const key_id = await env.key('AES_256', 'ENCRYPT_DECRYPT');
      const { cipher_text } = await env.call('create-datakey', { key_id, key_spec: 'AES_256' });
      return post(env, 'decrypt-datakey', { key_id, cipher_text, datakey_cipher_length: '32' });
    },
  },
  {
    name: 'describe-key', operation: 'describe-key', baseline: bare(256), halfLoad: true,
    prepare: async (env) => post(env, 'describe-key', { key_id: await env.key('AES_256', 'ENCRYPT_DECRYPT') }),
  },
  {
    name: 'list-keys', operation: `list-keys limit 100 (${LIST_KEYS_PRESENT.toLocaleString('en')} keys)`, baseline: bare(256),
    prepare: async (env) => {
      await env.ensureKeys(LIST_KEYS_PRESENT);
      return post(env, 'list-keys', { limit: '100' });
    },
    check: (answer: { total?: number; keys?: unknown[] }) => `list-keys answered total ${answer.total}, ${answer.keys?.length} keys per page`,
  },
  {
    name: 'regions', operation: 'list regions (GET /v2/{project_id}/kms/regions)', baseline: bare(256),
    prepare: async (env) => ({ method: 'GET', path: `/v2/${env.projectId}/kms/regions` }),
  },
  {
    name: 'create-key', operation: 'create-key AES_256', baseline: bare(256),
    prepare: async (env) => post(env, 'create-key', () => ({ key_alias: `bench-ck-${RUN_TAG}-${createKeyCounter++}`, key_spec: 'AES_256' })),
  },
  ...signScenarios(),
  {
    name: 'generate-mac', operation: 'generate-mac HMAC_SHA_256 64 B',
    baseline: { kind: 'direct', name: 'HMAC-SHA-256 64 B (direct)', make: () => macPrimitive('HMAC-SHA-256 64 B (direct)', 64) },
    prepare: async (env) => post(env, 'generate-mac', { key_id: await env.key('HMAC_256', 'GENERATE_VERIFY_MAC'), mac_algorithm: 'HMAC_SHA_256', message: randomBytes(64).toString('base64') }),
  },
];

/** Direct primitives reported for reference only (no API row divides by them). */
export const REFERENCE_PRIMITIVES: readonly (() => DirectPrimitive)[] = [() => createKeyPrimitive('create-key AES_256: id + 32 random bytes + root-key wrap (direct)')];

/** The composite scenarios run.ts implements, with what `--list` says of them. */
export const COMPOSITE_SCENARIOS = {
  'half-load': 'p50/p99 at a fixed rate of 50 % of the measured maximum, first auth mode (encrypt-data 4 KiB, decrypt-data 4 KiB, describe-key), each beside the bare encrypt server at the same rate; target p99 < 5 ms',
  'keygen-interference': 'p99 of encrypt-data 4 KiB (token) at 25 % of its maximum, alone and while one connection creates RSA_4096 keys in a loop; target p99 < 20 ms',
  scale: 'opt-in, several minutes: describe-key and encrypt-data 4 KiB (random keys) at maximum and at a moderate fixed rate, create-key, the region process RSS, with 1,000 / 100,000 / 1,000,000 keys stored (seeded into the store)',
  postgres: 'in the default run when a PostgreSQL server answers (STRONGROOM_BENCH_POSTGRES_URL, else STRONGROOM_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres): a second deployment on PostgreSQL (own database, dropped at the end) with two nodes in the region; encrypt-data 4 KiB, describe-key and create-key on node 0 alone and on both nodes at once, beside SQLite',
} as const;

export type CompositeName = keyof typeof COMPOSITE_SCENARIOS;

/**
 * Scenarios run when `--scenarios` is not given: every API scenario, half-load, keygen-interference, and postgres
 * (skipped with a line saying why when no PostgreSQL server answers).
 */
export const DEFAULT_SCENARIOS: readonly string[] = [...API_SCENARIOS.map((s) => s.name), 'half-load', 'keygen-interference', 'postgres'];
