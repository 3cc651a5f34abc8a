/**
 * Sessions: creation rules, invalidation (destroy, TTL expiry) with its effect on held keys, TTL timers and
 * lock-delay. Timers and lock-delays live in memory only, like on a Consul leader: after a restart every TTL timer
 * starts afresh and no lock-delay is active.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

import { formatGoDuration, MAX_DURATION_NS, NS_PER_MS, parseGoDuration, DurationSyntaxError } from '../duration.js';
import { InternalError } from '../errors.js';
import type { SessionBehavior, SessionEntry, ServiceCheckRef } from './entries.js';
import type { CommitResult, Mutation, Store } from './store.js';

/** Longest TTL Consul accepts (`SessionTTLMax`). */
const SESSION_TTL_MAX_NS = 24 * 3600e9;
/** Lock-delays above this are applied as this (`MaxLockDelay`). */
const MAX_LOCK_DELAY_MS = 60_000;
/** Consul invalidates a session only after TTL × this without renewal. */
const SESSION_TTL_MULTIPLIER = 2;
/** Lock-delay entries below this count are never swept; only lazy expiry on lookup trims them. */
const LOCK_DELAY_SWEEP_MIN = 1024;
/** Check every node is registered with. */
export const SERF_HEALTH = 'serfHealth';

/** A session create request after JSON decoding and defaulting, before validation. */
export interface SessionRequest {
  readonly name: string;
  readonly node: string;
  /** Nanoseconds, an integer in [0, 2^63): the HTTP decoder rejects or normalises anything else. */
  readonly lockDelayNs: number;
  readonly behavior: string;
  readonly ttl: string;
  readonly nodeChecks: readonly string[];
  readonly serviceChecks: readonly ServiceCheckRef[] | null;
  readonly checks: readonly string[] | undefined;
}

/** Health of a registered check. */
export type CheckStatus = 'passing' | 'warning' | 'critical';

/** Options of the session manager. */
export interface SessionManagerOptions {
  /** The registered node's name. */
  readonly nodeName: string;
  /** Smallest TTL accepted, ms. */
  readonly sessionTtlMin: number;
}

function newSessionId(): string {
  const hex = randomBytes(16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Session lifecycle on top of the {@link Store}. */
export class SessionManager {
  private readonly nodes = new Map<string, Map<string, CheckStatus>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Key → `performance.now()` at which its lock-delay ends. */
  private readonly lockDelays = new Map<string, number>();
  /** Size of {@link lockDelays} that triggers the next sweep of expired entries. */
  private lockDelaySweepAt = LOCK_DELAY_SWEEP_MIN;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly options: SessionManagerOptions,
  ) {
    this.nodes.set(options.nodeName, new Map([[SERF_HEALTH, 'passing']]));
  }

  /** Validates and stores a new session (Consul's `Session.Apply` create). */
  create(request: SessionRequest): { session: SessionEntry; commit: CommitResult } {
    // A value the journal could not read back would make the data directory impossible to restart.
    const { lockDelayNs } = request;
    if (!Number.isInteger(lockDelayNs) || lockDelayNs < 0 || lockDelayNs > MAX_DURATION_NS) {
      throw new InternalError(`Invalid LockDelay '${lockDelayNs}', must be between [0s=${formatGoDuration(MAX_DURATION_NS)}]`);
    }
    const behavior = this.behavior(request.behavior);
    const ttlMs = this.ttl(request.ttl);
    const checks = this.nodes.get(request.node);
    if (!checks) throw new InternalError('Missing node registration');
    for (const id of [...(request.checks ?? []), ...request.nodeChecks, ...(request.serviceChecks ?? []).map((c) => c.id)]) {
      const status = checks.get(id);
      if (status === undefined) throw new InternalError(`Missing check '${id}' registration`);
      if (status === 'critical') throw new InternalError(`Check '${id}' is in critical state`);
    }
    let id = newSessionId();
    while (this.store.session(id)) id = newSessionId();
    const index = this.store.nextIndex;
    const session: SessionEntry = {
      id,
      name: request.name,
      node: request.node,
      lockDelayNs,
      behavior,
      ttl: request.ttl,
      ttlMs,
      nodeChecks: request.nodeChecks,
      serviceChecks: request.serviceChecks,
      checks: request.checks,
      createIndex: index,
      modifyIndex: index,
    };
    const commit = this.store.commit([{ type: 'session-set', session }]);
    this.arm(session);
    return { session, commit };
  }

  private behavior(text: string): SessionBehavior {
    if (text === '' || text === 'release') return 'release';
    if (text === 'delete') return 'delete';
    throw new InternalError(`Invalid Behavior setting '${text}'`);
  }

  private ttl(text: string): number {
    if (text === '') return 0;
    let ns: number;
    try {
      ns = parseGoDuration(text);
    } catch (err) {
      if (err instanceof DurationSyntaxError) throw new InternalError(`Session TTL '${text}' invalid: ${err.message}`);
      throw err;
    }
    const minNs = this.options.sessionTtlMin * NS_PER_MS;
    if (ns !== 0 && (ns < minNs || ns > SESSION_TTL_MAX_NS)) {
      throw new InternalError(
        `Invalid Session TTL '${ns}', must be between [${formatGoDuration(minNs)}=${formatGoDuration(SESSION_TTL_MAX_NS)}]`,
      );
    }
    return Math.max(0, ns / NS_PER_MS);
  }

  /** Resets the TTL timer of `id` and returns the session; `undefined` when it does not exist. */
  renew(id: string): SessionEntry | undefined {
    const session = this.store.session(id);
    if (session) this.arm(session);
    return session;
  }

  /**
   * Invalidates a session: held keys are released (or deleted, behavior `delete`) and get a lock-delay.
   * Unknown ids change nothing.
   */
  invalidate(id: string): CommitResult {
    const session = this.store.session(id);
    this.disarm(id);
    if (!session) return this.store.commit([]);
    const index = this.store.nextIndex;
    const keys = this.store.keysHeldBy(id);
    const mutations: Mutation[] = [];
    for (const key of keys) {
      const entry = this.store.get(key);
      if (!entry) continue;
      if (session.behavior === 'delete') mutations.push({ type: 'kv-delete', key });
      else mutations.push({ type: 'kv-set', entry: { ...entry, session: undefined, modifyIndex: index } });
    }
    mutations.push({ type: 'session-delete', id });
    const commit = this.store.commit(mutations);
    const delayMs = Math.min(session.lockDelayNs / NS_PER_MS, MAX_LOCK_DELAY_MS);
    if (delayMs > 0) {
      const now = performance.now();
      const until = now + delayMs;
      for (const key of keys) this.lockDelays.set(key, until);
      if (this.lockDelays.size >= this.lockDelaySweepAt) this.sweepLockDelays(now);
    }
    return commit;
  }

  /**
   * Drops expired lock-delays of keys nobody asked about again. Sweeping only once the map has doubled since the
   * last sweep keeps the cost O(1) amortised per entry, with no timer per key.
   */
  private sweepLockDelays(now: number): void {
    for (const [key, until] of this.lockDelays) {
      if (until <= now) this.lockDelays.delete(key);
    }
    this.lockDelaySweepAt = Math.max(LOCK_DELAY_SWEEP_MIN, 2 * this.lockDelays.size);
  }

  /** Number of lock-delay entries held in memory (expired ones linger until looked up or swept). */
  get lockDelayCount(): number {
    return this.lockDelays.size;
  }

  /** True while a lock-delay set by an invalidation keeps `key` from being acquired. */
  lockDelayed(key: string): boolean {
    const until = this.lockDelays.get(key);
    if (until === undefined) return false;
    if (performance.now() < until) return true;
    this.lockDelays.delete(key);
    return false;
  }

  /** Starts TTL timers for every stored session (after recovery: timers start from scratch). */
  armAll(): void {
    for (const session of this.store.sessions()) this.arm(session);
  }

  private arm(session: SessionEntry): void {
    if (session.ttlMs <= 0 || this.closed) return;
    this.disarm(session.id);
    const timer = setTimeout(() => {
      this.timers.delete(session.id);
      this.invalidate(session.id).durable?.catch(() => undefined);
    }, session.ttlMs * SESSION_TTL_MULTIPLIER);
    timer.unref();
    this.timers.set(session.id, timer);
  }

  private disarm(id: string): void {
    const timer = this.timers.get(id);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(id);
    }
  }

  /** Stops every timer (shutdown). */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
