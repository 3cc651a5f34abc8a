/**
 * `PUT /v1/txn`: all-or-nothing KV transactions with Consul's decode rules, limits, pre-check phase and
 * per-operation error reporting.
 *
 * @module
 */
import { BadRequestError, TooLargeError } from '../errors.js';
import { isJsonObject, JsonSyntaxError, parseJson, type JsonValue, type ParsedJson } from '../json.js';
import { kvEntryJson } from '../state/entries.js';
import { applyKvOp, KvTransaction, WRITE_VERBS, type KvOp, type KvResult } from '../state/kv-txn.js';
import { readBody } from './body.js';
import type { RequestContext } from './context.js';
import { DecodeError, Fields } from './decode.js';
import { checkScope, indexNumber, parseReadParams } from './query.js';

const TXN_DOCS = 'https://www.consul.io/docs/agent/config/config-files#txn_max_req_len';
const OP_FIELDS = ['KV', 'Node', 'Service', 'Check'];
const KV_FIELDS = ['Verb', 'Key', 'Value', 'Flags', 'Index', 'Session', 'Namespace', 'Partition'];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A decoded operation: a KV op, or a catalog op the dev agent does not implement. */
type TxnOp = { readonly kind: 'kv'; readonly op: KvOp } | { readonly kind: 'catalog'; readonly what: string };

interface TxnError {
  readonly opIndex: number;
  readonly what: string;
}

function parseFailed(message: string): BadRequestError {
  return new BadRequestError(`Failed to parse body: ${message}`);
}

function decodeValue(fields: Fields, key: string, max: number): Buffer {
  const raw = fields.raw('Value');
  if (raw === undefined || raw === null) return Buffer.alloc(0);
  if (typeof raw !== 'string') throw new DecodeError('json: cannot unmarshal value into Go struct field KVTxnOp.Value of type []uint8');
  if (!BASE64.test(raw)) {
    const at = raw.search(/[^A-Za-z0-9+/=]/);
    throw new DecodeError(`illegal base64 data at input byte ${at < 0 ? raw.length : at}`);
  }
  const value = Buffer.from(raw, 'base64');
  if (value.length > max) throw new TooLargeError(`Value for key ${JSON.stringify(key)} is too large (${value.length} > ${max} bytes)`);
  return value;
}

function decodeOps(body: ParsedJson, maxValue: number): TxnOp[] {
  if (!Array.isArray(body)) {
    throw new DecodeError(`json: cannot unmarshal ${body === null ? 'null' : isJsonObject(body) ? 'object' : typeof body} into Go value of type api.TxnOps`);
  }
  const ops: TxnOp[] = [];
  for (const item of body) {
    if (item === null) continue;
    if (!isJsonObject(item)) throw new DecodeError('json: cannot unmarshal value into Go value of type api.TxnOp');
    const fields = new Fields(item, 'TxnOp', OP_FIELDS);
    const kv = fields.raw('KV');
    if (kv !== undefined && kv !== null) {
      if (!isJsonObject(kv)) throw new DecodeError('json: cannot unmarshal value into Go struct field TxnOp.KV of type api.KVTxnOp');
      const f = new Fields(kv, 'KVTxnOp', KV_FIELDS);
      if (f.string('Namespace') !== '') throw new DecodeError('Namespaces are a Consul Enterprise feature');
      if (f.string('Partition') !== '') throw new DecodeError('Partitions are a Consul Enterprise feature');
      const key = f.string('Key');
      ops.push({
        kind: 'kv',
        op: {
          verb: f.string('Verb'),
          key,
          value: decodeValue(f, key, maxValue),
          flags: f.uint64('Flags'),
          index: indexNumber(f.uint64('Index')),
          session: f.string('Session'),
        },
      });
      continue;
    }
    const catalog = ['Node', 'Service', 'Check'].find((name) => {
      const v = fields.raw(name);
      return v !== undefined && v !== null;
    });
    if (catalog) ops.push({ kind: 'catalog', what: `${catalog} operations are not supported by the kvx dev agent` });
  }
  return ops;
}

function permissionError(ctx: RequestContext, op: KvOp): string | undefined {
  const { authz } = ctx;
  if (!authz.enabled) return undefined;
  switch (op.verb) {
    case 'get':
    case 'get-tree':
      return undefined; // filtered on output, as Consul does
    case 'check-session':
    case 'check-index':
      return authz.canRead('key', op.key) ? undefined : authz.denial('key', 'read', op.key);
    case 'delete-tree':
      return authz.canWritePrefix(op.key) ? undefined : authz.denial('key', 'write', op.key);
    default:
      return authz.canWrite('key', op.key) ? undefined : authz.denial('key', 'write', op.key);
  }
}

function preCheck(ctx: RequestContext, ops: readonly TxnOp[]): TxnError[] {
  const errors: TxnError[] = [];
  ops.forEach((item, opIndex) => {
    if (item.kind === 'catalog') {
      errors.push({ opIndex, what: item.what });
      return;
    }
    const { op } = item;
    if (op.key === '' && op.verb !== 'delete-tree') {
      errors.push({ opIndex, what: 'Must provide key' });
      return;
    }
    const denied = permissionError(ctx, op);
    if (denied !== undefined) {
      errors.push({ opIndex, what: denied });
      return;
    }
    if (op.verb === 'lock' && ctx.core.sessions.lockDelayed(op.key)) {
      errors.push({ opIndex, what: `failed to lock key ${JSON.stringify(op.key)} due to lock delay` });
    }
  });
  return errors;
}

function errorsJson(errors: readonly TxnError[]): JsonValue {
  return errors.map((e) => ({ OpIndex: e.opIndex, What: e.what }));
}

/** `PUT /v1/txn` */
export async function txnPut(ctx: RequestContext): Promise<void> {
  checkScope(ctx);
  const { options, store } = ctx.core;
  const max = options.txnMaxReqLen;
  const bytes = await readBody(ctx, {
    max,
    declared: (n) => new TooLargeError(`Request body(${n} bytes) too large, max size: ${max} bytes. See ${TXN_DOCS}.`),
    streamed: () => new TooLargeError(`Request body too large, max size: ${max} bytes. See ${TXN_DOCS}.`),
  });
  let body: ParsedJson;
  try {
    body = parseJson(bytes.toString('utf8'));
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw parseFailed(err.message);
    throw err;
  }
  if (Array.isArray(body) && body.length > options.txnMaxOps) {
    throw new TooLargeError(`Transaction contains too many operations (${body.length} > ${options.txnMaxOps})`);
  }
  let ops: TxnOp[];
  try {
    ops = decodeOps(body, options.kvMaxValueSize);
  } catch (err) {
    if (err instanceof DecodeError) throw parseFailed(err.message);
    throw err;
  }
  const writes = ops.some((o) => o.kind === 'catalog' || WRITE_VERBS.has(o.op.verb));
  if (!writes) parseReadParams(ctx);

  const conflict = (errors: readonly TxnError[]): void => {
    if (!writes) ctx.setLeaderMeta();
    ctx.json(409, { Results: null, Errors: errorsJson(errors) });
  };
  const pre = preCheck(ctx, ops);
  if (pre.length > 0) {
    await ctx.durable();
    return conflict(pre);
  }
  const tx = new KvTransaction(store, store.nextIndex);
  const errors: TxnError[] = [];
  const results: KvResult[] = [];
  ops.forEach((item, opIndex) => {
    if (item.kind !== 'kv') return;
    const outcome = applyKvOp(tx, item.op);
    if (outcome.ok) results.push(...outcome.results);
    else errors.push({ opIndex, what: outcome.message });
  });
  if (errors.length > 0) {
    await ctx.durable();
    return conflict(errors);
  }
  await (tx.mutations.length > 0 ? store.commit(tx.mutations).durable : ctx.durable());
  const visible = ctx.authz.enabled ? results.filter((r) => ctx.authz.canRead('key', r.entry.key)) : results;
  if (!writes) ctx.setLeaderMeta();
  ctx.json(200, { Results: visible.map((r) => ({ KV: kvEntryJson(r.entry, r.withValue) })), Errors: null });
}
