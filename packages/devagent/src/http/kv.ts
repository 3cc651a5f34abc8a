/**
 * `/v1/kv/<key>`: reads (single, `recurse`, `keys` + `separator`, `raw`), writes (plain, `cas`, `acquire`,
 * `release`) and deletes (plain, `cas`, `recurse`), with Consul's validation order and index rules.
 *
 * @module
 */
import { BadRequestError, InternalError, PermissionDeniedError, TooLargeError } from '../errors.js';
import { toJson } from '../json.js';
import { kvEntryJson, type KvEntry } from '../state/entries.js';
import { applyKvOp, KvTransaction, type KvOp } from '../state/kv-txn.js';
import { readBody } from './body.js';
import type { RequestContext } from './context.js';
import { blockingQuery, checkScope, indexNumber, parseReadParams, parseUint64, type BlockingPolicy } from './query.js';
import { emptyReply, encodedBody, jsonReply, type SharedReply } from './shared-replies.js';

/** Path prefix of the KV endpoints. */
export const KV_PREFIX = '/v1/kv/';

const KV_DOCS = 'https://www.consul.io/docs/agent/config/config-files#kv_max_value_size';

// Entries are immutable, so the compact JSON of a single-key read can be shared by every reader of the same
// version — a write that wakes many blocked readers of one key serialises and encodes it once.
const singleJson = new WeakMap<KvEntry, string | Buffer>();

function singleBody(entry: KvEntry): string | Buffer {
  let body = singleJson.get(entry);
  if (body === undefined) {
    body = encodedBody(toJson([kvEntryJson(entry)]));
    singleJson.set(entry, body);
  }
  return body;
}

/** Sends a reply shared with identical reads (shared-replies.ts), with this request's index headers. */
function sendShared(ctx: RequestContext, index: bigint, reply: SharedReply): void {
  ctx.setQueryMeta(index);
  ctx.markFiltered(reply.filtered);
  ctx.send(reply.status, reply.body, reply.contentType);
}

function policy(ctx: RequestContext): BlockingPolicy {
  return { until: 'greater', defaultWaitMs: ctx.core.options.defaultQueryTime, jitter: true };
}

/** Go's `strconv.ParseUint(s, 10, 64)`, failing with Go's message (HTTP 500, as Consul answers). */
function parseUintParam(text: string): bigint {
  const value = parseUint64(text);
  if (value !== undefined) return value;
  const reason = /^\d+$/.test(text) ? 'value out of range' : 'invalid syntax';
  throw new InternalError(`strconv.ParseUint: parsing ${JSON.stringify(text)}: ${reason}`);
}

/** `Conflicting flags: <query re-encoded as Go's url.Values.Encode does>`. */
function conflicting(ctx: RequestContext): BadRequestError {
  const params = new URLSearchParams(ctx.query);
  params.sort();
  return new BadRequestError(`Conflicting flags: ${params.toString()}`);
}

/** `GET /v1/kv/<key>` */
export async function kvGet(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  const params = parseReadParams(ctx);
  const key = ctx.suffix(KV_PREFIX);
  if (ctx.has('keys')) return kvKeys(ctx, key, params);
  if (ctx.has('recurse')) return kvList(ctx, key, params);
  if (key === '') throw new BadRequestError('Missing key name');
  if (!ctx.authz.canRead('key', key)) throw new PermissionDeniedError(ctx.authz.denial('key', 'read', key));
  const { store } = ctx.core;
  const raw = ctx.has('raw');
  await blockingQuery(ctx, params, policy(ctx), () => {
    const entry = store.get(key);
    const index = BigInt(entry ? entry.modifyIndex : store.kvIndex);
    return {
      index,
      notFound: entry === undefined,
      watch: (w) => store.waiters.watchKey(key, w),
      respond: () => {
        ctx.setQueryMeta(index);
        if (!entry) return ctx.send(404, '');
        if (!raw) return ctx.pretty ? ctx.json(200, [kvEntryJson(entry)]) : ctx.send(200, singleBody(entry), 'application/json');
        ctx.header('X-Content-Type-Options', 'nosniff');
        ctx.header('Content-Security-Policy', 'sandbox');
        ctx.send(200, entry.value, 'text/plain');
      },
    };
  });
}

function readable(ctx: RequestContext, entries: readonly KvEntry[]): { visible: readonly KvEntry[]; filtered: boolean } {
  if (!ctx.authz.enabled) return { visible: entries, filtered: false };
  const visible = entries.filter((e) => ctx.authz.canRead('key', e.key));
  return { visible, filtered: visible.length < entries.length };
}

/**
 * A blocking read of every entry under `prefix` whose reply body is built once per store state, token and
 * `read` (the read's identity) and shared by identical readers woken by the same write.
 */
function prefixRead(
  ctx: RequestContext,
  prefix: string,
  params: ReturnType<typeof parseReadParams>,
  read: string,
  build: (entries: readonly KvEntry[]) => SharedReply,
): Promise<void> {
  const { store } = ctx.core;
  return blockingQuery(ctx, params, policy(ctx), () => {
    const entries = store.list(prefix);
    const index = BigInt(store.prefixIndex(prefix, entries));
    const state = store.lastIndex;
    return {
      index,
      notFound: false,
      watch: (w) => store.waiters.watchPrefix(prefix, w),
      respond: () => sendShared(ctx, index, ctx.core.replies.reply(state, ctx.authz, read, () => build(entries))),
    };
  });
}

function kvList(ctx: RequestContext, prefix: string, params: ReturnType<typeof parseReadParams>): Promise<void> {
  return prefixRead(ctx, prefix, params, `list\0${prefix}\0${ctx.pretty ? 1 : 0}`, (entries) => {
    const { visible, filtered } = readable(ctx, entries);
    if (visible.length === 0) return emptyReply(404, filtered);
    return jsonReply(
      visible.map((e) => kvEntryJson(e)),
      ctx.pretty,
      filtered,
    );
  });
}

/** Keys under `prefix`, folded at the first `separator` after the prefix (deduplicated, order kept). */
export function foldKeys(keys: readonly string[], prefix: string, separator: string): string[] {
  if (separator === '') return keys.slice();
  const out: string[] = [];
  let last: string | undefined;
  for (const key of keys) {
    const at = key.indexOf(separator, prefix.length);
    const item = at < 0 ? key : key.slice(0, at + separator.length);
    if (item !== last) out.push(item);
    last = item;
  }
  return out;
}

function kvKeys(ctx: RequestContext, prefix: string, params: ReturnType<typeof parseReadParams>): Promise<void> {
  const separator = ctx.query.get('separator') ?? ctx.query.get('seperator') ?? '';
  // The separator last: the prefix cannot contain NUL (unprintable paths are refused), the separator can.
  const read = `keys\0${prefix}\0${ctx.pretty ? 1 : 0}\0${separator}`;
  return prefixRead(ctx, prefix, params, read, (entries) => {
    const all = foldKeys(
      entries.map((e) => e.key),
      prefix,
      separator,
    );
    const visible = ctx.authz.enabled ? all.filter((k) => ctx.authz.canRead('key', k)) : all;
    const filtered = visible.length < all.length;
    if (visible.length === 0 && prefix !== '') return emptyReply(404, filtered);
    return jsonReply(visible, ctx.pretty, filtered);
  });
}

/** Runs one KV verb as a single-op transaction; `invalid` outcomes become HTTP 500 like Consul's RPC errors. */
async function runSingle(ctx: RequestContext, op: KvOp): Promise<void> {
  const { store } = ctx.core;
  const tx = new KvTransaction(store, store.nextIndex);
  const outcome = applyKvOp(tx, op);
  if (!outcome.ok && outcome.kind === 'invalid') throw new InternalError(outcome.message);
  if (outcome.ok) await store.commit(tx.mutations).durable;
  else await ctx.durable();
  ctx.json(200, outcome.ok);
}

/** `PUT /v1/kv/<key>` */
export async function kvPut(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  const key = ctx.suffix(KV_PREFIX);
  if (key === '') throw new BadRequestError('Missing key name');
  const modes = ['cas', 'acquire', 'release'].filter((m) => ctx.has(m));
  if (modes.length > 1) throw conflicting(ctx);
  const flags = ctx.has('flags') ? parseUintParam(ctx.query.get('flags') ?? '') : 0n;
  const cas = ctx.has('cas') ? parseUintParam(ctx.query.get('cas') ?? '') : undefined;
  const max = ctx.core.options.kvMaxValueSize;
  const value = await readBody(ctx, {
    max,
    declared: (n) => new TooLargeError(`Request body(${n} bytes) too large, max size: ${max} bytes. See ${KV_DOCS}.`),
    streamed: () => new TooLargeError(`Request body too large, max size: ${max} bytes. See ${KV_DOCS}.`),
  });
  if (!ctx.authz.canWrite('key', key)) throw new PermissionDeniedError(ctx.authz.denial('key', 'write', key));
  const base = { key, value, flags, index: 0, session: '' };
  if (cas !== undefined) return runSingle(ctx, { ...base, verb: 'cas', index: indexNumber(cas) });
  if (ctx.has('acquire')) {
    const session = ctx.query.get('acquire') ?? '';
    if (session === '') throw new InternalError('missing session');
    if (ctx.core.sessions.lockDelayed(key)) {
      await ctx.durable();
      return ctx.json(200, false);
    }
    return runSingle(ctx, { ...base, verb: 'lock', session });
  }
  if (ctx.has('release')) return runSingle(ctx, { ...base, verb: 'unlock', session: ctx.query.get('release') ?? '' });
  return runSingle(ctx, { ...base, verb: 'set' });
}

/** `DELETE /v1/kv/<key>` */
export async function kvDelete(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  const key = ctx.suffix(KV_PREFIX);
  const recurse = ctx.has('recurse');
  if (recurse && ctx.has('cas')) throw conflicting(ctx);
  if (key === '' && !recurse) throw new BadRequestError('Missing key name');
  const cas = ctx.has('cas') ? parseUintParam(ctx.query.get('cas') ?? '') : undefined;
  const allowed = recurse ? ctx.authz.canWritePrefix(key) : ctx.authz.canWrite('key', key);
  if (!allowed) throw new PermissionDeniedError(ctx.authz.denial('key', 'write', key));
  const base = { key, value: Buffer.alloc(0), flags: 0n, index: 0, session: '' };
  if (recurse) return runSingle(ctx, { ...base, verb: 'delete-tree' });
  if (cas !== undefined) return runSingle(ctx, { ...base, verb: 'delete-cas', index: indexNumber(cas) });
  return runSingle(ctx, { ...base, verb: 'delete' });
}
