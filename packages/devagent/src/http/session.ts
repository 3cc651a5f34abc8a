/**
 * `/v1/session/*`: create, destroy, renew, info, list, node.
 *
 * @module
 */
import { DurationSyntaxError, parseGoDuration } from '../duration.js';
import { BadRequestError, NotFoundError, PermissionDeniedError, TooLargeError } from '../errors.js';
import { isJsonObject, JsonSyntaxError, parseJson, type ParsedJson } from '../json.js';
import { sessionJson, type SessionEntry, type ServiceCheckRef } from '../state/entries.js';
import { SERF_HEALTH, type SessionRequest } from '../state/sessions.js';
import { contentLength, readBody } from './body.js';
import type { RequestContext } from './context.js';
import { DecodeError, Fields } from './decode.js';
import { blockingQuery, checkScope, parseReadParams, type BlockingPolicy, type QueryOutcome } from './query.js';

/** Numbers below this are seconds, others nanoseconds (Consul's `lockDelayMinThreshold`). */
const LOCK_DELAY_SECONDS_THRESHOLD = 1000;
const DEFAULT_LOCK_DELAY_NS = 15e9;
const MAX_SESSION_BODY = 64 * 1024;

function decodeFailed(message: string): BadRequestError {
  return new BadRequestError(`Request decode failed: ${message}`);
}

/**
 * Go's `time.Duration(float64)` is only defined below 2^63 ns in magnitude; every double below it fits an
 * int64, so the emitted `LockDelay` always decodes in Go clients.
 */
const DURATION_LIMIT_NS = 2 ** 63;

/**
 * Consul decodes a numeric `LockDelay` as a float64, so a JSON number beyond float64 (`1e400`) fails to decode,
 * and one whose nanoseconds do not fit a `time.Duration` has no meaning: both are 400 `Request decode failed`.
 */
function numericLockDelayNs(value: number | bigint): number {
  const n = Number(value);
  if (!Number.isFinite(n)) {
    throw decodeFailed('json: cannot unmarshal number into Go struct field Session.LockDelay of type float64');
  }
  const ns = Math.round(n < LOCK_DELAY_SECONDS_THRESHOLD ? n * 1e9 : n);
  if (!(Math.abs(ns) < DURATION_LIMIT_NS)) {
    throw decodeFailed(`json: LockDelay ${String(value)} overflows time.Duration (int64 nanoseconds)`);
  }
  return ns;
}

/**
 * The lock-delay in nanoseconds, never negative: Consul keeps a negative value but applies a lock-delay only when
 * it is positive, so a negative one is stored (and emitted) as 0 — the same behaviour with one representation.
 */
function lockDelayNs(value: ParsedJson | undefined): number {
  if (value === undefined || value === null) return DEFAULT_LOCK_DELAY_NS;
  let ns: number;
  if (typeof value === 'number' || typeof value === 'bigint') {
    ns = numericLockDelayNs(value);
  } else if (typeof value === 'string') {
    try {
      ns = parseGoDuration(value);
    } catch (err) {
      if (err instanceof DurationSyntaxError) throw decodeFailed(err.message);
      throw err;
    }
  } else {
    throw decodeFailed('json: cannot unmarshal LockDelay: expected a number or a duration string');
  }
  return Math.max(0, ns);
}

/** Decodes a create body into a request, applying Consul's defaults and check fix-up rules. */
export function decodeSessionRequest(body: ParsedJson | undefined, defaultNode: string): SessionRequest {
  const defaults: SessionRequest = {
    name: '',
    node: defaultNode,
    lockDelayNs: DEFAULT_LOCK_DELAY_NS,
    behavior: 'release',
    ttl: '',
    nodeChecks: [SERF_HEALTH],
    serviceChecks: null,
    checks: undefined,
  };
  if (body === undefined || body === null) return defaults;
  if (!isJsonObject(body)) {
    throw decodeFailed(`json: cannot unmarshal ${Array.isArray(body) ? 'array' : typeof body} into Go value of type structs.Session`);
  }
  try {
    const fields = new Fields(body, 'Session');
    const checks = fields.has('Checks') ? (fields.stringList('Checks') ?? []) : [SERF_HEALTH];
    let nodeChecks = fields.has('NodeChecks') ? (fields.stringList('NodeChecks') ?? []) : [SERF_HEALTH];
    const serviceChecks = (fields.objectList('ServiceChecks', '[]structs.ServiceCheck') ?? null)?.map(
      (o): ServiceCheckRef => {
        const f = new Fields(o, 'ServiceCheck');
        return { id: f.string('ID'), namespace: f.string('Namespace') };
      },
    );
    let keptChecks: string[] | undefined = checks;
    if (checks.length === 0) {
      nodeChecks = [];
      keptChecks = undefined;
    } else if (checks.length === 1 && checks[0] === SERF_HEALTH) {
      keptChecks = undefined;
    } else if (nodeChecks.length === 0) {
      keptChecks = undefined;
    }
    return {
      name: fields.string('Name'),
      node: fields.string('Node', defaultNode) || defaultNode,
      lockDelayNs: fields.has('LockDelay') ? lockDelayNs(fields.raw('LockDelay')) : DEFAULT_LOCK_DELAY_NS,
      behavior: fields.string('Behavior', 'release'),
      ttl: fields.string('TTL'),
      nodeChecks,
      serviceChecks: serviceChecks ?? null,
      checks: keptChecks,
    };
  } catch (err) {
    if (err instanceof DecodeError) throw decodeFailed(err.message);
    throw err;
  }
}

function requireId(ctx: RequestContext, prefix: string, message = 'Missing session'): string {
  const id = ctx.suffix(prefix);
  if (id === '') throw new BadRequestError(message);
  return id;
}

function checkWrite(ctx: RequestContext, node: string): void {
  if (!ctx.authz.canWrite('session', node)) throw new PermissionDeniedError(ctx.authz.denial('session', 'write', node));
}

/** `PUT /v1/session/create` */
export async function sessionCreate(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  let body: ParsedJson | undefined;
  if ((contentLength(ctx) ?? 0) > 0) {
    const bytes = await readBody(ctx, {
      max: MAX_SESSION_BODY,
      declared: (n) => new TooLargeError(`Request body(${n} bytes) too large, max size: ${MAX_SESSION_BODY} bytes.`),
      streamed: () => new TooLargeError(`Request body too large, max size: ${MAX_SESSION_BODY} bytes.`),
    });
    try {
      body = parseJson(bytes.toString('utf8'));
    } catch (err) {
      if (err instanceof JsonSyntaxError) throw decodeFailed(err.message);
      throw err;
    }
  }
  const request = decodeSessionRequest(body, ctx.core.options.nodeName);
  checkWrite(ctx, request.node);
  const { session, commit } = ctx.core.sessions.create(request);
  await commit.durable;
  ctx.json(200, { ID: session.id });
}

/** `PUT /v1/session/destroy/<id>` — unknown ids succeed too. */
export async function sessionDestroy(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  const id = requireId(ctx, '/v1/session/destroy/');
  const session = ctx.core.store.session(id);
  if (session) checkWrite(ctx, session.node);
  await ctx.core.sessions.invalidate(id).durable;
  ctx.json(200, true);
}

/** `PUT /v1/session/renew/<id>` */
export async function sessionRenew(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  const id = requireId(ctx, '/v1/session/renew/');
  const existing = ctx.core.store.session(id);
  if (existing) checkWrite(ctx, existing.node);
  const session = ctx.core.sessions.renew(id);
  if (!session) throw new NotFoundError(`Session id '${id}' not found`);
  await ctx.durable();
  ctx.json(200, [sessionJson(session)]);
}

function sessionQuery(ctx: RequestContext, select: () => SessionEntry[], notFoundWhenEmpty: boolean): Promise<void> {
  const params = parseReadParams(ctx);
  const policy: BlockingPolicy = { until: 'greater', defaultWaitMs: ctx.core.options.defaultQueryTime, jitter: true };
  const { store } = ctx.core;
  return blockingQuery(ctx, params, policy, (): QueryOutcome => {
    const all = select();
    const visible = ctx.authz.enabled ? all.filter((s) => ctx.authz.canRead('session', s.node)) : all;
    const index = BigInt(store.sessionsIndex);
    return {
      index,
      notFound: notFoundWhenEmpty && visible.length === 0,
      watch: (w) => store.waiters.watchTable('sessions', w),
      respond: () => {
        ctx.setQueryMeta(index);
        ctx.markFiltered(visible.length < all.length);
        ctx.json(200, visible.map(sessionJson));
      },
    };
  });
}

/** `GET /v1/session/info/<id>` */
export function sessionInfo(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  const id = requireId(ctx, '/v1/session/info/');
  return sessionQuery(
    ctx,
    () => {
      const s = ctx.core.store.session(id);
      return s ? [s] : [];
    },
    true,
  );
}

/** `GET /v1/session/list` */
export function sessionList(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  return sessionQuery(ctx, () => ctx.core.store.sessions(), false);
}

/** `GET /v1/session/node/<node>` */
export function sessionNode(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  const node = requireId(ctx, '/v1/session/node/', 'Missing node name');
  return sessionQuery(ctx, () => ctx.core.store.sessions().filter((s) => s.node === node), false);
}
