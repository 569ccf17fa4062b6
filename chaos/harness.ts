/**
 * Crash safety under load (issue: proven under faults). Two regions run as their own processes (`strongroom
 * serve-region`, as `npm start` runs them); workers drive a mixed load of signed calls against the first region
 * (create-key, encrypt-data, disable/enable, schedule/cancel deletion, rotate-on-demand, create-grant, replicate to
 * the second region) while the harness kills that region's process with SIGKILL at random moments and starts it
 * again. After each restart it checks every acknowledged fact: each key whose creation was answered exists, in the
 * state its last answered change left it (a change in flight at the kill may have happened or not: then either
 * state is right, and the key is followed from the state found); each ciphertext answered before the kill decrypts
 * to its plaintext; each answered grant, rotation and replica is there. A fact that is not is lost.
 *
 * `npm run chaos -- --seconds N` runs it from the command line (chaos/run.ts); test/chaos.test.ts runs a short one.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Reply } from '../test/helpers/signing.js';
import { startProcesses, type ProcessDeployment } from '../test/helpers/processes.js';

const A = 'cn-north-4';
const B = 'cn-south-1';

export interface ChaosOptions {
  /** How long the load runs, in seconds (kills happen during it). */
  seconds: number;
  /** Concurrent workers (default 4). */
  workers?: number;
  /** Milliseconds between kills: a random time in [min, max] (default 1,500–4,000). */
  killEveryMs?: [number, number];
  /** Kills however slow the machine: the load goes on past `seconds` until there were this many (default 0). */
  minKills?: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  kills: number;
  /** Calls answered 2xx whose effect the harness checks (writes and encryptions). */
  acknowledged: number;
  /** Acknowledged facts missing after a restart. */
  lost: number;
  /** What each lost fact was. */
  problems: string[];
}

type State = '2' | '3' | '4';

/** What the answers said about one key (its creator, a worker, is the only one that changes it). */
interface KeyFacts {
  id: string;
  /** null: a change was in flight at a kill; the next check adopts the state it finds. */
  state: State | null;
  ciphertexts: { cipher: string; plain: string }[];
  grants: string[];
  /** Rotations answered; `rotationsMaybe` more were in flight at a kill. */
  rotations: number;
  rotationsMaybe: number;
  replicated: boolean;
}

/** A connection that failed or an answer from a process being killed: the call's outcome is unknown. */
const unknownOutcome = (r: Reply | Error) => r instanceof Error || r.status >= 500;

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {});
  const d = await startProcesses({ regions: [A, B], grantQuota: 1000 });
  const result: ChaosResult = { kills: 0, acknowledged: 0, lost: 0, problems: [] };
  const keys: KeyFacts[] = [];
  let paused = false;
  let inFlight = 0;
  const deadline = Date.now() + o.seconds * 1000;
  /** The load and the kills go on until the deadline, and past it until `minKills` kills happened. */
  const more = () => Date.now() < deadline || result.kills < (o.minKills ?? 0);

  const call = async (send: () => Promise<Reply>): Promise<Reply | Error> => {
    inFlight++;
    try {
      return await send();
    } catch (err) {
      return err as Error;
    } finally {
      inFlight--;
    }
  };
  const lose = (what: string) => {
    result.lost++;
    result.problems.push(what);
    log(`LOST: ${what}`);
  };

  const worker = async (w: number) => {
    const mine: KeyFacts[] = [];
    while (more()) {
      while (paused) await sleep(20);
      const roll = Math.random();
      const key = mine.length > 0 ? mine[Math.floor(Math.random() * mine.length)]! : undefined;
      if (!key || roll < 0.15) {
        const r = await call(() => d.kms(A, 'create-key', { key_alias: `chaos-${w}-${randomBytes(6).toString('hex')}` }));
        if (!unknownOutcome(r) && (r as Reply).status === 200) {
          const facts: KeyFacts = { id: (r as Reply).body.key_info.key_id, state: '2', ciphertexts: [], grants: [], rotations: 0, rotationsMaybe: 0, replicated: false };
          mine.push(facts);
          keys.push(facts);
          result.acknowledged++;
        }
        continue;
      }
      if (key.state === null) {
        await sleep(5); // settled by the next check
        continue;
      }
      const step = pickStep(key, roll);
      const r = await call(() => step.send(d, key));
      if (unknownOutcome(r)) {
        if (step.changes) key.state = null;
        if (step.name === 'rotate-on-demand') key.rotationsMaybe++;
        continue;
      }
      const reply = r as Reply;
      if (reply.status !== 200) continue; // refused: nothing changed
      result.acknowledged++;
      step.apply(key, reply);
    }
  };

  const check = async (final: boolean) => {
    for (const key of keys) {
      const described = await d.kms(A, 'describe-key', { key_id: key.id });
      if (described.status !== 200) {
        lose(`key ${key.id} (created and answered) is gone: ${described.status} ${JSON.stringify(described.body)}`);
        continue;
      }
      const actual = described.body.key_info.key_state as State;
      if (key.state !== null && actual !== key.state) lose(`key ${key.id} is in state ${actual}, its last answered change left it in ${key.state}`);
      key.state = actual;
      const rotation = await d.kms(A, 'get-key-rotation-status', { key_id: key.id });
      const rotations = Number(rotation.body.number_of_rotations);
      if (rotations < key.rotations || rotations > key.rotations + key.rotationsMaybe) lose(`key ${key.id} has ${rotations} rotations, ${key.rotations} answered (+${key.rotationsMaybe} in flight)`);
      key.rotations = rotations;
      key.rotationsMaybe = 0;
      if (key.grants.length > 0) {
        const listed = new Set(((await d.kms(A, 'list-grants', { key_id: key.id, limit: '100' })).body.grants as { grant_id: string }[]).map((g) => g.grant_id));
        for (const g of key.grants) if (!listed.has(g)) lose(`grant ${g} of key ${key.id} is gone`);
      }
      if (key.replicated && (await d.kms(B, 'describe-key', { key_id: key.id })).status !== 200) lose(`the replica of ${key.id} in ${B} is gone`);
      if (final && key.state !== '2') {
        if (key.state === '4') await d.kms(A, 'cancel-key-deletion', { key_id: key.id });
        await d.kms(A, 'enable-key', { key_id: key.id });
        key.state = '2';
      }
      if (key.state === '2') {
        for (const c of final ? key.ciphertexts : key.ciphertexts.slice(-3)) {
          const dec = await d.kms(A, 'decrypt-data', { cipher_text: c.cipher });
          if (dec.status !== 200 || dec.body.plain_text !== c.plain) lose(`a ciphertext of ${key.id} no longer decrypts to its plaintext: ${dec.status} ${JSON.stringify(dec.body)}`);
        }
      }
    }
  };

  try {
    const workers = Array.from({ length: o.workers ?? 4 }, (_, w) => worker(w));
    const [min, max] = o.killEveryMs ?? [1500, 4000];
    while (more()) {
      await sleep(min + Math.random() * (max - min));
      if (!more()) break;
      await d.stopRegion(A, 'SIGKILL');
      result.kills++;
      log(`kill ${result.kills}: ${A} killed with ${inFlight} calls in flight; ${result.acknowledged} acknowledged so far`);
      paused = true;
      await d.startRegion(A);
      while (inFlight > 0) await sleep(20);
      await check(false);
      paused = false;
    }
    paused = false;
    await Promise.all(workers);
    await check(true);
  } finally {
    await d.stop();
  }
  return result;
}

interface Step {
  name: string;
  /** Whether the call changes the key's state (an unknown outcome makes the state uncertain). */
  changes: boolean;
  send(d: ProcessDeployment, key: KeyFacts): Promise<Reply>;
  apply(key: KeyFacts, reply: Reply): void;
}

const op = (name: string, changes: boolean, body: (k: KeyFacts) => object, apply: (k: KeyFacts, r: Reply) => void): Step => ({
  name, changes, send: (d, k) => d.kms(A, name, body(k)), apply,
});

/** A call on one of the worker's keys that its state allows (refusals, e.g. deleting a key with replicas, are fine). */
function pickStep(key: KeyFacts, roll: number): Step {
  const state = key.state!;
  if (state === '2' && roll < 0.5) {
    const plain = randomBytes(9).toString('base64');
    return op('encrypt-data', false, (k) => ({ key_id: k.id, plain_text: plain }), (k, r) => k.ciphertexts.push({ cipher: r.body.cipher_text, plain }));
  }
  if (state === '2' && roll < 0.6) return op('rotate-on-demand', false, (k) => ({ key_id: k.id }), (k) => k.rotations++);
  if (state === '2' && roll < 0.7) {
    return {
      name: 'create-grant', changes: false,
      send: (d, k) => d.kms(A, 'create-grant', { key_id: k.id, grantee_principal: d.boot.domain_id, grantee_principal_type: 'domain', operations: ['encrypt-data'] }),
      apply: (k, r) => k.grants.push(r.body.grant_id),
    };
  }
  if (state === '2' && roll < 0.75 && !key.replicated) {
    return {
      name: 'replicate', changes: false,
      send: (d, k) => d.keyOp(A, 'POST', k.id, 'replicate', { key_id: k.id, replica_region: B, key_alias: `chaos-r-${randomBytes(6).toString('hex')}`, replica_project_id: d.projectId(B) }),
      apply: (k) => (k.replicated = true),
    };
  }
  if (state === '2' && roll < 0.9) return op('disable-key', true, (k) => ({ key_id: k.id }), (k) => (k.state = '3'));
  if (state === '3' && roll < 0.7) return op('enable-key', true, (k) => ({ key_id: k.id }), (k) => (k.state = '2'));
  if (state === '4') return op('cancel-key-deletion', true, (k) => ({ key_id: k.id }), (k) => (k.state = '3'));
  return op('schedule-key-deletion', true, (k) => ({ key_id: k.id, pending_days: '7' }), (k) => (k.state = '4'));
}
