/**
 * Self-fencing arithmetic. Consul promises not to invalidate a session before its TTL has elapsed since the
 * server processed the last renew (it actually waits 2 × TTL). That processing happened after the client
 * *sent* the renew, so `sentAt + TTL` is a point before which the session, and hence the lock, is certainly
 * still ours. The supervisor must have stopped the child by then, minus a safety margin for timer and
 * scheduling delays:
 *
 * ```
 * sentAt ───── renew every renewInterval ───── termAt (SIGTERM) ── fenceGrace ── killAt (SIGKILL) ── margin ── sentAt+TTL
 * ```
 *
 * Every successful renew moves the lease forward; a holder that cannot reach the agent runs out of lease and
 * stops its child before any other contender could possibly acquire. See `docs/lock-fencing.md`.
 *
 * @module
 */

import { InvalidArgumentError } from '@kvx/client';

/** Inputs of the fencing plan, in milliseconds. */
export interface FenceSettings {
  /** Session TTL. */
  ttlMs: number;
  /** SIGTERM → SIGKILL grace of an ordinary stop. */
  killGraceMs: number;
  /** Safety margin kept between the SIGKILL deadline and the TTL. Default: TTL / 5. */
  marginMs?: number;
}

/** The resulting schedule, in milliseconds after a renew was sent. */
export interface FencePlan {
  /** Session TTL ({@link FenceSettings.ttlMs}): until this long after a renew was sent the session is certainly still ours. */
  ttlMs: number;
  /** Safety margin between the SIGKILL deadline and the TTL: `killAfterMs = ttlMs − marginMs`, 0 ≤ margin < TTL. Default: TTL / 5. */
  marginMs: number;
  /** SIGTERM → SIGKILL grace when fencing: the ordinary grace, shortened so it fits in the lease. */
  fenceGraceMs: number;
  /** After this long without a confirmed renew the child gets SIGTERM. */
  termAfterMs: number;
  /** After this long without a confirmed renew the child group gets SIGKILL. */
  killAfterMs: number;
  /** Interval between renews while they succeed. */
  renewIntervalMs: number;
  /** Interval between renew attempts after a failure. */
  retryIntervalMs: number;
}

/** Consul's own retry interval after a failed renew (`RenewPeriodic`). */
const CONSUL_RETRY_MS = 1000;

/**
 * Computes the fencing schedule.
 *
 * The margin defaults to TTL / 5 (3 s for Consul's 15 s): it absorbs a late timer, a stalled event loop or a
 * slow `kill`, and clock-rate differences between holder and server (real clocks differ by parts per million,
 * not 20 %). The fencing grace is at most half of what remains, so the child always gets a SIGTERM before the
 * SIGKILL. Renewals run at least twice per SIGTERM deadline, and never less often than Consul's TTL / 2, so
 * one lost renew never fences a healthy holder.
 *
 * @throws {@link @kvx/client!InvalidArgumentError} when the margin leaves no time to run (margin ≥ TTL).
 */
export function fencePlan(settings: FenceSettings): FencePlan {
  const { ttlMs, killGraceMs } = settings;
  if (!(ttlMs > 0)) throw new InvalidArgumentError('session TTL must be positive');
  if (!(killGraceMs >= 0)) throw new InvalidArgumentError('kill grace must not be negative');
  const marginMs = settings.marginMs ?? ttlMs / 5;
  if (!(marginMs >= 0 && marginMs < ttlMs)) {
    throw new InvalidArgumentError(`fence margin must be at least 0 and below the session TTL (${ttlMs}ms), got ${marginMs}ms`);
  }
  const killAfterMs = ttlMs - marginMs;
  const fenceGraceMs = Math.min(killGraceMs, killAfterMs / 2);
  const termAfterMs = killAfterMs - fenceGraceMs;
  const renewIntervalMs = Math.min(ttlMs / 2, termAfterMs / 2);
  const retryIntervalMs = Math.min(CONSUL_RETRY_MS, renewIntervalMs / 2);
  return { ttlMs, marginMs, fenceGraceMs, termAfterMs, killAfterMs, renewIntervalMs, retryIntervalMs };
}

/** The child's deadlines on the system-wide monotonic clock (ns), given the send time of a confirmed renew. */
export function leaseAfter(plan: FencePlan, sentAtNs: bigint): { termAt: bigint; killAt: bigint } {
  return {
    termAt: sentAtNs + BigInt(Math.floor(plan.termAfterMs * 1e6)),
    killAt: sentAtNs + BigInt(Math.floor(plan.killAfterMs * 1e6)),
  };
}
