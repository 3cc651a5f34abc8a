/**
 * Query parameters shared by reads (consistency, `index`, `wait`, Enterprise-only parameters, `dc`) and
 * Consul's blocking-query loop.
 *
 * @module
 */
import { parseGoDuration, NS_PER_MS } from '../duration.js';
import { BadRequestError, InternalError } from '../errors.js';
import type { Unwatch, Waiter } from '../state/waiters.js';
import type { RequestContext } from './context.js';

const UINT64_MAX = (1n << 64n) - 1n;

/** Parses a decimal uint64 the way Go's `strconv.ParseUint(s, 10, 64)` does; `undefined` when invalid. */
export function parseUint64(text: string): bigint | undefined {
  if (!/^\d+$/.test(text) || text.length > 20) return undefined;
  const value = BigInt(text);
  return value > UINT64_MAX ? undefined : value;
}

/** A uint64 as a JS number for comparison with indexes (values above 2^53 only ever compare as "huge"). */
export function indexNumber(value: bigint): number {
  return Number(value);
}

/** Blocking parameters of a read. */
export interface BlockingParams {
  /** `index=`; 0 = not blocking. */
  readonly index: bigint;
  /** `wait=` in ms; 0 when absent. */
  readonly waitMs: number;
}

/**
 * Validates the parameters common to reads: consistency flags, `max_stale`, `wait`, `index`.
 *
 * @throws BadRequestError with Consul's messages.
 */
export function parseReadParams(ctx: RequestContext): BlockingParams {
  if (ctx.has('stale') && ctx.has('consistent')) {
    throw new BadRequestError('Cannot specify ?stale with ?consistent, conflicting semantics.');
  }
  const maxStale = ctx.query.get('max_stale');
  if (maxStale !== null && maxStale !== '') {
    try {
      parseGoDuration(maxStale);
    } catch {
      throw new BadRequestError(`Invalid max_stale value ${JSON.stringify(maxStale)}`);
    }
  }
  let waitMs = 0;
  const wait = ctx.query.get('wait');
  if (wait !== null && wait !== '') {
    try {
      waitMs = parseGoDuration(wait) / NS_PER_MS;
    } catch {
      throw new BadRequestError('Invalid wait time');
    }
  }
  let index = 0n;
  const indexText = ctx.query.get('index');
  if (indexText !== null && indexText !== '') {
    const parsed = parseUint64(indexText);
    if (parsed === undefined) throw new BadRequestError('Invalid index');
    index = parsed;
  }
  return { index, waitMs };
}

/**
 * Rejects Enterprise-only namespace/partition selection (query parameter or header) like Consul CE, and a
 * foreign `?dc=`.
 */
export function checkScope(ctx: RequestContext): void {
  const ns = ctx.query.get('ns') || headerValue(ctx, 'x-consul-namespace');
  if (ns) throw new BadRequestError('Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature');
  const partition = ctx.query.get('partition') || headerValue(ctx, 'x-consul-partition');
  if (partition) {
    throw new BadRequestError('Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature');
  }
  const dc = ctx.query.get('dc');
  if (dc && dc !== ctx.core.options.datacenter) throw new InternalError('No path to datacenter');
}

function headerValue(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Extracts the ACL token: `?token=` > `X-Consul-Token` > `Authorization: Bearer <token>`. */
export function extractToken(query: URLSearchParams, headers: Record<string, string | string[] | undefined>): string | undefined {
  const fromQuery = query.get('token');
  if (fromQuery) return fromQuery;
  const header = headers['x-consul-token'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromHeader) return fromHeader;
  const auth = headers.authorization;
  const authorization = Array.isArray(auth) ? auth[0] : auth;
  if (authorization) {
    const [scheme, value] = authorization.trim().split(/\s+/);
    if (scheme?.toLowerCase() === 'bearer' && value) return value;
  }
  return undefined;
}

/** One evaluation of a blocking-capable query against the current state. */
export interface QueryOutcome {
  /** The index the reply reports. */
  readonly index: bigint;
  /** The query found nothing (Consul's not-found optimisation keeps blocking on a 2nd not-found). */
  readonly notFound: boolean;
  /** Registers a waiter for the changes that can alter this result. */
  watch(waiter: Waiter): Unwatch;
  /** Sends the reply (headers and body). */
  respond(): void;
}

/** How a blocking endpoint decides it may answer. */
export interface BlockingPolicy {
  /** `greater` (index rose above `index`, the norm) or `changed` (index differs: event list). */
  readonly until: 'greater' | 'changed';
  /** Default wait when none is given, ms. */
  readonly defaultWaitMs: number;
  /** Add Consul's jitter of [0, t/16). */
  readonly jitter: boolean;
}

/** Consul's `RPCQueryTimeout`: cap to max, default when ≤ 0, plus jitter. */
export function queryTimeout(waitMs: number, policy: BlockingPolicy, maxMs: number): number {
  let t = waitMs;
  if (t > maxMs) t = maxMs;
  else if (t <= 0) t = policy.defaultWaitMs;
  if (policy.jitter) t += Math.random() * (t / 16);
  return t;
}

type WaitEnd = 'wake' | 'timeout' | 'closed' | 'shutdown';

/**
 * Runs Consul's blocking-query loop: answers at once when `index` is 0 or already passed; otherwise waits for a
 * change the query watches, the timeout, or agent shutdown, then answers with the current result. A client that
 * disconnects gets nothing and its registrations are dropped.
 */
export async function blockingQuery(
  ctx: RequestContext,
  params: BlockingParams,
  policy: BlockingPolicy,
  evaluate: () => QueryOutcome,
): Promise<void> {
  let min = params.index;
  let outcome = evaluate();
  if (min === 0n) {
    const pending = ctx.durable();
    if (pending) await pending;
    outcome.respond();
    return;
  }
  const timeoutMs = queryTimeout(params.waitMs, policy, ctx.core.options.maxQueryTime);
  const deadline = performance.now() + timeoutMs;
  let seenNotFound = false;
  for (;;) {
    if (outcome.notFound) {
      if (seenNotFound) min = outcome.index;
      seenNotFound = true;
    }
    const ready = policy.until === 'greater' ? outcome.index > min : outcome.index !== min;
    if (ready) break;
    const end = await waitForChange(ctx, outcome, deadline - performance.now());
    if (end === 'closed') return;
    outcome = evaluate();
    if (end !== 'wake') break;
  }
  const pending = ctx.durable();
  if (pending) await pending;
  outcome.respond();
}

function waitForChange(ctx: RequestContext, outcome: QueryOutcome, remainingMs: number): Promise<WaitEnd> {
  if (ctx.req.socket.destroyed) return Promise.resolve('closed');
  if (remainingMs <= 0) return Promise.resolve('timeout');
  if (ctx.core.shutdown.triggered) return Promise.resolve('shutdown');
  return new Promise<WaitEnd>((resolve) => {
    let settled = false;
    const finish = (end: WaitEnd): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unwatch();
      offShutdown();
      ctx.res.off('close', onClose);
      resolve(end);
    };
    const onClose = (): void => finish('closed');
    const unwatch = outcome.watch({ wake: () => finish('wake') });
    const timer = setTimeout(() => finish('timeout'), remainingMs);
    const offShutdown = ctx.core.shutdown.on(() => finish('shutdown'));
    ctx.res.on('close', onClose);
  });
}
