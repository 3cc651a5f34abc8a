/**
 * Transactions (`/v1/txn`): up to 128 KV operations applied atomically. A rollback (HTTP 409) throws
 * {@link TxnConflictError} listing each failed operation. Transactions with a writing verb are conditional
 * and retried only when they provably never reached the agent.
 *
 * @module
 */

import { InvalidArgumentError, ProtocolError, TxnConflictError } from '../errors.js';
import type { HttpTransport } from '../transport/http.js';
import { asArray, asObject, decodeKvPair, decodeTxnErrors, parseBody } from './decode.js';
import { uint64 } from './query.js';
import type { Consistency, KvPair, RequestOptions, TxnKvOp, TxnKvVerb } from './types.js';

/** Options of {@link TxnApi.execute}. */
export interface TxnOptions extends RequestOptions {
  /** Consistency of a read-only transaction (ignored by Consul for writing ones). Default: the client's. */
  consistency?: Consistency;
}

/** The committed results of a transaction, one per operation that produces one, in order. */
export interface TxnResult {
  /** Entries returned by `get`, `get-tree`, `set`, `cas`, … (writing verbs return the entry without its value). */
  results: KvPair[];
}

const READ_VERBS: ReadonlySet<TxnKvVerb> = new Set(['get', 'get-or-empty', 'get-tree', 'check-index', 'check-session', 'check-not-exists']);
const ALL_VERBS: ReadonlySet<string> = new Set([
  ...READ_VERBS,
  'set',
  'cas',
  'lock',
  'unlock',
  'delete',
  'delete-tree',
  'delete-cas',
]);

/**
 * Serialises the operations by hand: `Flags` and `Index` must travel as exact uint64 JSON numbers, which
 * `JSON.stringify` cannot write from a `bigint`.
 */
function encodeOps(ops: TxnKvOp[]): string {
  const parts = ops.map((op, i) => {
    if (!ALL_VERBS.has(op.verb)) throw new InvalidArgumentError(`txn op #${i}: unknown KV verb "${String(op.verb)}"`);
    if (typeof op.key !== 'string') throw new InvalidArgumentError(`txn op #${i}: key must be a string`);
    let kv = `"Verb":${JSON.stringify(op.verb)},"Key":${JSON.stringify(op.key)}`;
    if (op.value !== undefined) {
      const bytes = typeof op.value === 'string' ? Buffer.from(op.value, 'utf8') : op.value;
      kv += `,"Value":${JSON.stringify(bytes.toString('base64'))}`;
    }
    if (op.flags !== undefined) kv += `,"Flags":${uint64(`txn op #${i} flags`, op.flags)}`;
    if (op.index !== undefined) kv += `,"Index":${uint64(`txn op #${i} index`, op.index)}`;
    if (op.session !== undefined) kv += `,"Session":${JSON.stringify(op.session)}`;
    return `{"KV":{${kv}}}`;
  });
  return `[${parts.join(',')}]`;
}

/** Consul transactions; reach them as `consul.txn`. */
export class TxnApi {
  /** @internal */
  /** @internal Built by {@link Consul}. */
  constructor(private readonly t: HttpTransport) {}

  /**
   * Applies `ops` atomically.
   *
   * @throws {@link TxnConflictError} when Consul rolled the transaction back (`.errors` lists each failure).
   */
  async execute(ops: TxnKvOp[], opts?: TxnOptions): Promise<TxnResult> {
    if (!Array.isArray(ops) || ops.length === 0) throw new InvalidArgumentError('a transaction needs at least one operation');
    const readOnly = ops.every((op) => READ_VERBS.has(op.verb));
    const query: Record<string, string | undefined> = {};
    const consistency = opts?.consistency ?? this.t.defaults.consistency;
    if (readOnly && consistency === 'stale') query['stale'] = '';
    if (readOnly && consistency === 'consistent') query['consistent'] = '';
    const res = await this.t.send({
      endpoint: 'txn',
      method: 'PUT',
      path: '/v1/txn',
      query,
      body: encodeOps(ops),
      contentType: 'application/json',
      accept: [409],
      safety: readOnly ? 'idempotent' : 'conditional',
      options: opts,
    });
    const body = asObject(parseBody(res), 'a transaction reply');
    if (res.status === 409) {
      // Each failure's explanation is server-sent text that goes into the error's message.
      const errors = decodeTxnErrors(body['Errors']).map((e) => ({ opIndex: e.opIndex, what: this.t.redact(e.what, opts) }));
      throw new TxnConflictError(errors);
    }
    // Consul answers failures with 409 only: a success that lists errors is not a reply to trust.
    if (asArray(body['Errors'], 'transaction errors').length > 0) throw new ProtocolError('Consul sent a successful transaction reply with errors');
    const results = asArray(body['Results'], 'transaction results').map((r) => {
      const kv = asObject(r, 'a transaction result')['KV'];
      if (kv === undefined) throw new ProtocolError('Consul sent a transaction result without KV');
      return decodeKvPair(kv);
    });
    return { results };
  }
}
