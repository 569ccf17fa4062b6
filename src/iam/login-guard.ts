/**
 * Protection of password login (`POST /v3/auth/tokens`):
 *
 * - **Account lockout** (Huawei IAM account lockout policy: 5 failures / 15 min / 15 min): a user whose password
 *   was wrong LOGIN_LOCKOUT.maxFailures times within LOGIN_LOCKOUT.windowMs is locked for
 *   LOGIN_LOCKOUT.durationMs. While locked, every password login of the user, even with the right password, is
 *   refused with `401 IAM.0061` ("Account locked.") without checking the password. A successful login forgets the
 *   failures. The user cannot lift the lock early; an administrator can, by setting a new password or by
 *   re-enabling the user (the store forgets failures and lock then). Failures and locks are kept in IAM's store,
 *   so they survive a restart. As on Huawei Cloud, anyone who knows a user's name can keep them locked out of
 *   password login (not of their access keys or tokens) by failing five times every 15 minutes; the per-source
 *   limit below slows that down but cannot prevent it.
 * - **Per-source limits** (Strongroom's own; Huawei publishes none for IAM): each source address (the TCP peer
 *   of the connection; `X-Forwarded-For` is never trusted) has a token bucket of LOGIN_SOURCE_LIMITS.burst
 *   tokens refilled at LOGIN_SOURCE_LIMITS.ratePerSecond a second. A password login takes a token when it
 *   arrives (none left: `429 APIGW.0308` with `Retry-After`, before anything else is done) and gives it back when
 *   it succeeds, so a source pays for its wrong passwords and for the logins it has in flight, and a client that
 *   logs in rightly is never held back. And at most LOGIN_SOURCE_LIMITS.concurrentChecks password hashes (scrypt,
 *   about 80 ms each) run at a time in the whole process, the waiting ones taken from each source in turn, at most
 *   queuedPerSource per source (more: 429), so a flood from one address neither starves the event loop nor delays
 *   other sources' logins by more than about one hash. Behind a reverse proxy every login comes from the proxy's
 *   address and shares one budget; IPv6 sources are single addresses, not /64 prefixes.
 */
import { ThrottledError, KmsError } from '../errors.js';
import type { IamStore } from '../storage/iam-store.js';
import { TokenBuckets, type MonotonicClock } from '../token-buckets.js';

/** Huawei IAM account lockout policy (the default of an account's login authentication policy). */
export const LOGIN_LOCKOUT = {
  /** Failed password logins that lock the user… */
  maxFailures: 5,
  /** …when they all fall within this many milliseconds (15 minutes); older failures do not count. */
  windowMs: 15 * 60_000,
  /** How long the lock lasts, in milliseconds (15 minutes). */
  durationMs: 15 * 60_000,
} as const;

/** Strongroom's limits of password logins per source address. */
export const LOGIN_SOURCE_LIMITS = {
  /** Wrong (or pending) password logins a source may have per second, sustained… */
  ratePerSecond: 10,
  /** …and in a burst. */
  burst: 20,
  /**
   * Password hashes running at once in the IAM process: half of libuv's default pool of 4 threads, which scrypt
   * shares with file and other crypto work.
   */
  concurrentChecks: 2,
  /** Logins of one source waiting for a hash slot; beyond, 429. */
  queuedPerSource: 8,
  /** Logins waiting for a hash slot in all; beyond, 429. */
  queuedTotal: 256,
} as const;

/** The detail of APIGW.0308 for a source over its limits, in the words of Huawei's API gateway. */
const OVER_RATE = `policy ip over ratelimit,limit:${LOGIN_SOURCE_LIMITS.ratePerSecond},time:1 second`;

/**
 * A fixed number of slots for expensive work, handed out fairly: waiting callers are queued per source and the
 * sources are served in turn, so one source with many waiting calls delays another by at most one call's work.
 * A source with `queuedPerSource` calls waiting, or a gate with `queuedTotal`, refuses with 429 APIGW.0308.
 */
export class FairGate {
  #active = 0;
  #queued = 0;
  /** Waiting calls by source, sources in the order they are to be served. */
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(
    readonly slots: number,
    readonly queuedPerSource: number,
    readonly queuedTotal: number,
    readonly refusal: () => KmsError = () => new ThrottledError('policy ip over ratelimit', 1),
  ) {}

  async run<T>(source: string, work: () => Promise<T>): Promise<T> {
    if (this.#active < this.slots && this.#waiting.size === 0) {
      this.#active++;
    } else {
      const queue = this.#waiting.get(source);
      if ((queue?.length ?? 0) >= this.queuedPerSource || this.#queued >= this.queuedTotal) throw this.refusal();
      this.#queued++;
      // The slot is handed over by #release (the count of active calls does not change).
      await new Promise<void>((resolve) => (queue ? queue.push(resolve) : this.#waiting.set(source, [resolve])));
    }
    try {
      return await work();
    } finally {
      this.#release();
    }
  }

  /** Calls running and waiting (tests). */
  get load(): { active: number; queued: number } {
    return { active: this.#active, queued: this.#queued };
  }

  #release(): void {
    const next = this.#waiting.entries().next();
    if (next.done) {
      this.#active--;
      return;
    }
    const [source, queue] = next.value;
    const wake = queue.shift()!;
    this.#queued--;
    // The source goes to the back of the line: sources are served in turn.
    this.#waiting.delete(source);
    if (queue.length > 0) this.#waiting.set(source, queue);
    wake();
  }
}

/** What the guard says of a user about to log in with a password. */
export interface LoginCheck {
  /** Failed logins within the window (a success must forget them). */
  failures: number;
}

export class LoginGuard {
  readonly #sources: TokenBuckets;
  readonly #gate: FairGate;

  constructor(
    private readonly store: IamStore,
    /** Epoch milliseconds (lock times are stored). */
    private readonly clock: () => number = Date.now,
    /** Milliseconds for the per-source rate (performance.now by default). */
    monotonic?: MonotonicClock,
  ) {
    const l = LOGIN_SOURCE_LIMITS;
    this.#sources = new TokenBuckets({ ratePerSecond: l.ratePerSecond, burst: l.burst, clock: monotonic });
    this.#gate = new FairGate(l.concurrentChecks, l.queuedPerSource, l.queuedTotal, () => new ThrottledError(OVER_RATE, 1));
  }

  /**
   * Counts a password login from `source` (the connection's peer address) before anything else is done with it;
   * throws ThrottledError (429 APIGW.0308, `policy ip over ratelimit`, Retry-After) when the source has no token
   * left. Cheap: no hashing, no I/O. A login that succeeds gives its token back (refundSource).
   */
  admitSource(source: string): void {
    const wait = this.#sources.take(source);
    if (wait !== 0) throw new ThrottledError(OVER_RATE, wait);
  }

  /** A login of `source` succeeded: the token admitSource took is given back. */
  refundSource(source: string): void {
    this.#sources.refund(source);
  }

  /** Runs a password hash check in the process's fair gate (429 APIGW.0308 when `source` has too many waiting). */
  checkPassword(source: string, check: () => Promise<boolean>): Promise<boolean> {
    return this.#gate.run(source, check);
  }

  /** The end of each user's password attempt in progress: attempts for one user run one after another. */
  readonly #attempts = new Map<string, Promise<unknown>>();

  /**
   * One password attempt for `userId` (null: an unknown user, hashed all the same): attempts for one user run one at
   * a time, and each checks the lock (401 IAM.0061) before hashing and counts its failure before the next starts,
   * so parallel guesses cannot outrun the lockout (at most LOGIN_LOCKOUT.maxFailures wrong passwords per window).
   * `check` runs in the fair gate of `source` (429 APIGW.0308). Answers whether the password was right, and the
   * lock state it saw (for `succeeded`).
   */
  async attempt(userId: string | null, source: string, check: () => Promise<boolean>): Promise<{ ok: boolean; state: LoginCheck | null }> {
    const run = async () => {
      const state = userId === null ? null : await this.beforeLogin(userId);
      const ok = await this.checkPassword(source, check);
      if (userId !== null && !ok) await this.failed(userId);
      return { ok, state };
    };
    if (userId === null) return run();
    const previous = this.#attempts.get(userId) ?? Promise.resolve();
    const mine = previous.catch(() => {}).then(run);
    this.#attempts.set(userId, mine);
    try {
      return await mine;
    } finally {
      if (this.#attempts.get(userId) === mine) this.#attempts.delete(userId);
    }
  }

  /** Before checking a user's password: throws 401 IAM.0061 while the user is locked. */
  async beforeLogin(userId: string): Promise<LoginCheck> {
    const now = this.clock();
    const state = await this.store.loginState(userId, now - LOGIN_LOCKOUT.windowMs);
    if (state.lockedUntil !== null && state.lockedUntil > now) {
      const minutes = Math.ceil((state.lockedUntil - now) / 60_000);
      throw new KmsError('IAM.0061', `Password login is locked after ${LOGIN_LOCKOUT.maxFailures} wrong passwords; try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
    }
    return { failures: state.failures };
  }

  /** A wrong password: counted; the failure that reaches LOGIN_LOCKOUT.maxFailures within the window locks the user. */
  async failed(userId: string): Promise<void> {
    const now = this.clock();
    const failures = await this.store.addLoginFailure(userId, now, now - LOGIN_LOCKOUT.windowMs);
    if (failures >= LOGIN_LOCKOUT.maxFailures) await this.store.lockLogin(userId, now + LOGIN_LOCKOUT.durationMs);
  }

  /** The right password: earlier failures are forgotten (a write only when there were some). */
  async succeeded(userId: string, check: LoginCheck): Promise<void> {
    if (check.failures > 0) await this.store.clearLoginFailures(userId);
  }
}
