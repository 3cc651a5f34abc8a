/**
 * Keeps the holder's lease: the time until which the session is certain to exist, measured from the send
 * time of the last renewal Consul confirmed. Confirmations come from the lock's {@link SessionRenewer}
 * (every TTL/2) and from the keeper's own renewals, which run as often as the fencing plan needs (see
 * `fence.ts`), so a healthy holder never comes near its fencing deadline. When the lease runs out the
 * keeper reports it once; it never reports early.
 *
 * @module
 */

import { setTimeout as delay } from 'node:timers/promises';
import { withDeadline, type Consul, type SessionRenewer } from '@kvx/client';
import type { Lease } from './child-group.js';
import { LeaseExpiredError } from './errors.js';
import { leaseAfter, type FencePlan } from './fence.js';

/** The system-wide monotonic clock, in nanoseconds (comparable across processes of the machine). */
export function hrNow(): bigint {
  return process.hrtime.bigint();
}

/** A `performance.now()` reading of this process, on the {@link hrNow} clock (rounded earlier, never later). */
export function perfToHr(perfMs: number): bigint {
  return hrNow() - BigInt(Math.ceil((performance.now() - perfMs) * 1e6));
}

/**
 * When `renewer`'s session was last confirmed, on the {@link hrNow} clock. Without a renewer nothing vouches
 * for the session: the answer is a full TTL ago, an already expired lease until a renewal confirms it.
 */
export function lastConfirmedNs(renewer: SessionRenewer | undefined, ttlMs: number): bigint {
  return renewer === undefined ? hrNow() - BigInt(Math.ceil(ttlMs * 1e6)) : perfToHr(renewer.lastConfirmed);
}

/** Options of {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** Client to renew through. */
  consul: Pick<Consul, 'session'>;
  /** The held session. */
  sessionId: string;
  /** The renewer that keeps the session alive (its confirmations count too). */
  renewer: SessionRenewer | undefined;
  /** The fencing schedule. */
  plan: FencePlan;
  /** Called with the extended lease after each confirmation. */
  onLease?: (lease: Lease) => void;
  /** Called once when the lease ran out (SIGTERM time of the plan). */
  onExpired: (error: LeaseExpiredError) => void;
  /** Called once when Consul answers a renewal with "no such session". */
  onSessionGone?: () => void;
  /** Called when one of the keeper's renewals fails, with the time left until the lease runs out (ms). */
  onRenewFailed?: (error: unknown, msLeft: number) => void;
}

/** See the module description. */
export class LeaseKeeper {
  readonly #o: LeaseKeeperOptions;
  readonly #stop = new AbortController();
  #confirmedNs: bigint;
  #timer: NodeJS.Timeout | undefined;
  #expired = false;
  readonly #onRenewed = (): void => {
    if (this.#o.renewer !== undefined) this.#confirm(perfToHr(this.#o.renewer.lastConfirmed));
  };

  /** @param confirmedNs when the session was last known alive ({@link hrNow} clock). */
  constructor(options: LeaseKeeperOptions, confirmedNs: bigint) {
    this.#o = options;
    this.#confirmedNs = confirmedNs;
  }

  /** The current lease. */
  get lease(): Lease {
    return leaseAfter(this.#o.plan, this.#confirmedNs);
  }

  /** Send time of the last confirmed renewal ({@link hrNow} clock). */
  get confirmedNs(): bigint {
    return this.#confirmedNs;
  }

  /** Whether the lease has run out. */
  get expired(): boolean {
    return this.#expired;
  }

  /** Renews once and waits for the answer; `true` when it was confirmed. */
  async renewNow(): Promise<boolean> {
    const sentAt = hrNow();
    const untilTerm = Number(this.lease.termAt - sentAt) / 1e6;
    const bounded = withDeadline(this.#stop.signal, Math.ceil(Math.max(this.#o.plan.retryIntervalMs, untilTerm)));
    try {
      const entry = await this.#o.consul.session.renew(this.#o.sessionId, { signal: bounded.signal });
      if (entry === undefined) {
        this.#o.onSessionGone?.();
        this.stop();
        return false;
      }
    } catch (err) {
      if (!this.#stop.signal.aborted) this.#o.onRenewFailed?.(err, Number(this.lease.termAt - hrNow()) / 1e6);
      return false;
    } finally {
      bounded.clear();
    }
    this.#confirm(sentAt);
    return true;
  }

  /** Starts the renewals and the expiry timer. */
  start(): void {
    this.#o.renewer?.on('renewed', this.#onRenewed);
    this.#onRenewed();
    this.#arm();
    void this.#loop();
  }

  /** Stops renewing and watching; idempotent. */
  stop(): void {
    this.#stop.abort();
    clearTimeout(this.#timer);
    this.#o.renewer?.off('renewed', this.#onRenewed);
  }

  async #loop(): Promise<void> {
    const { plan } = this.#o;
    let ok = true;
    while (!this.#stop.signal.aborted && !this.#expired) {
      // Up to 10 % early, so holders sharing an agent do not renew in lock-step.
      const wait = ok ? plan.renewIntervalMs * (0.9 + 0.1 * Math.random()) : plan.retryIntervalMs;
      try {
        await delay(wait, undefined, { signal: this.#stop.signal });
      } catch {
        return;
      }
      ok = await this.renewNow();
    }
  }

  #confirm(sentAtNs: bigint): void {
    if (this.#expired || sentAtNs <= this.#confirmedNs) return;
    this.#confirmedNs = sentAtNs;
    this.#arm();
    this.#o.onLease?.(this.lease);
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#stop.signal.aborted || this.#expired) return;
    const ms = Number(this.lease.termAt - hrNow()) / 1e6;
    this.#timer = setTimeout(() => this.#check(), Math.max(0, Math.ceil(ms)));
  }

  #check(): void {
    if (hrNow() < this.lease.termAt) {
      this.#arm();
      return;
    }
    this.#expired = true;
    this.stop();
    const unconfirmedMs = Number(hrNow() - this.#confirmedNs) / 1e6;
    this.#o.onExpired(new LeaseExpiredError(this.#o.sessionId, unconfirmedMs, this.#o.plan.ttlMs));
  }
}
