/**
 * The bookkeeping every acquisition loop shares (Go's `Lock` and `Acquire` loops): what abandons it, and
 * the one-shot budget. The budget is measured from the start, so each blocking read waits at most what is
 * left of it.
 *
 * @module
 */

import type { ContenderSession } from './contender-session.js';
import { anySignal, monotonicNow } from './timing.js';

/** One acquisition attempt of a lock or semaphore. */
export class Contention {
  /** Aborts when the caller abandons the acquisition or the created session is lost. */
  readonly signal: AbortSignal;
  readonly #session: ContenderSession;
  readonly #waitTime: number;
  readonly #tryOnce: boolean;
  readonly #start = monotonicNow();
  #attempts = 0;

  constructor(session: ContenderSession, userSignal: AbortSignal | undefined, waitTime: number, tryOnce: boolean) {
    this.signal = anySignal(userSignal, session.renewer?.signal);
    this.#session = session;
    this.#waitTime = waitTime;
    this.#tryOnce = tryOnce;
  }

  /** How long the next blocking read may wait; `undefined` once a one-shot acquisition has spent its wait time. */
  nextWait(): number | undefined {
    const first = this.#attempts === 0;
    this.#attempts++;
    if (!this.#tryOnce || first) return this.#waitTime;
    const elapsed = monotonicNow() - this.#start;
    return elapsed > this.#waitTime ? undefined : this.#waitTime - elapsed;
  }

  /** What an abandoned acquisition resolves to: `undefined`, unless the created session was lost, which is thrown. */
  abandoned(): undefined {
    const lost = this.#session.renewer?.lostError;
    if (lost !== undefined) throw lost;
    return undefined;
  }
}
