/**
 * `/v1/event/fire/<name>` and `/v1/event/list` (with its own blocking rules: wait while the index equals).
 *
 * @module
 */
import { BadRequestError, InternalError, PermissionDeniedError } from '../errors.js';
import { eventIdToIndex, eventJson, type UserEvent } from '../state/events.js';
import { contentLength, readBody } from './body.js';
import type { RequestContext } from './context.js';
import { blockingQuery, checkScope, parseReadParams } from './query.js';

/** Serf's limit on an encoded user event. */
const USER_EVENT_SIZE_LIMIT = 512;
/** Approximate size of the encoded envelope (ID, version, field names) around name, payload and filters. */
const ENVELOPE_BYTES = 100;

/** Remote-exec events are consumed by the agent itself and never listed. */
const REMOTE_EXEC = '_rexec';

function compileFilter(kind: string, pattern: string): RegExp | undefined {
  if (pattern === '') return undefined;
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new InternalError(`Invalid ${kind} filter: ${(err as Error).message}`);
  }
}

/** `PUT /v1/event/fire/<name>` */
export async function eventFire(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  const name = ctx.suffix('/v1/event/fire/');
  if (name === '') throw new BadRequestError('Missing name');
  const nodeFilter = ctx.query.get('node') ?? '';
  const serviceFilter = ctx.query.get('service') ?? '';
  const tagFilter = ctx.query.get('tag') ?? '';
  let payload: Buffer = Buffer.alloc(0);
  if ((contentLength(ctx) ?? 0) > 0) {
    payload = await readBody(ctx, {
      max: USER_EVENT_SIZE_LIMIT,
      declared: () => new InternalError(`user event exceeds configured limit of ${USER_EVENT_SIZE_LIMIT} bytes before encoding`),
      streamed: () => new InternalError(`user event exceeds configured limit of ${USER_EVENT_SIZE_LIMIT} bytes before encoding`),
    });
  }
  if (!ctx.authz.canWrite('event', name)) throw new PermissionDeniedError(ctx.authz.denial('event', 'write', name));
  if (tagFilter !== '' && serviceFilter === '') throw new InternalError('Cannot provide tag filter without service filter');
  const nodeRe = compileFilter('node', nodeFilter);
  const serviceRe = compileFilter('service', serviceFilter);
  compileFilter('tag', tagFilter);
  const size = ENVELOPE_BYTES + name.length + payload.length + nodeFilter.length + serviceFilter.length + tagFilter.length;
  if (size > USER_EVENT_SIZE_LIMIT) {
    throw new InternalError(`user event exceeds sane limit of ${USER_EVENT_SIZE_LIMIT} bytes after encoding`);
  }
  // Like a Consul agent, keep the event only if it is addressed to this node: its node filter must match the
  // node name, and a service filter can never match (the dev agent registers no services).
  const ingest =
    name !== REMOTE_EXEC && (nodeRe?.test(ctx.core.options.nodeName) ?? true) && serviceRe === undefined;
  const event = ctx.core.events.fire({ name, payload, nodeFilter, serviceFilter, tagFilter }, ingest);
  await ctx.durable();
  ctx.json(200, eventJson(event, 0));
}

/** `GET /v1/event/list` */
export function eventList(ctx: RequestContext): Promise<void> {
  const params = parseReadParams(ctx);
  const nameFilter = ctx.query.get('name') ?? '';
  const { events, store, options } = ctx.core;
  return blockingQuery(ctx, params, { until: 'changed', defaultWaitMs: options.maxQueryTime, jitter: false }, () => {
    const all = events.list();
    const readable = ctx.authz.enabled ? all.filter((e) => ctx.authz.canRead('event', e.name)) : all;
    const selected: readonly UserEvent[] = nameFilter === '' ? readable : readable.filter((e) => e.name === nameFilter);
    const last = selected[selected.length - 1];
    const index = last ? eventIdToIndex(last.id) : 1n;
    return {
      index,
      notFound: false,
      watch: (w) => store.waiters.watchTable('events', w),
      respond: () => {
        ctx.header('X-Consul-Index', index.toString());
        ctx.markFiltered(readable.length < all.length);
        ctx.json(200, selected.map((e) => eventJson(e)));
      },
    };
  });
}
