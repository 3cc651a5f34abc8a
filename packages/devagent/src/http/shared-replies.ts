/**
 * Serialised read replies shared by identical reads of the same state. One write can wake a thousand blocking
 * queries on one prefix; they all answer with the same body, and building it (base64 of every value, JSON
 * escaping, UTF-8 encoding) costs far more than sending it. So the body is built and encoded once, and every
 * reply of the same read writes it as it is.
 *
 * A body depends on the store state, the read (kind, key or prefix, and its output flags) and, when ACLs are
 * on, on what the caller's token may read. Hence the key: the store's last index (every state change takes a
 * new one, so a state is never mistaken for another), the authorizer the token resolved to (one object per
 * token, shared by every request with that token), and the read. Only replies for the newest state are kept:
 * a newer index drops them all, and a read evaluated against an older state is answered without being kept.
 * Size limits bound the memory between two writes.
 *
 * @module
 */
import type { Authorizer } from '../acl.js';
import { toJson, type JsonValue } from '../json.js';

/** A reply body with what the response headers need to know about it. */
export interface SharedReply {
  /** HTTP status. */
  readonly status: number;
  /** The body, ready to be written (see {@link encodedBody}). */
  readonly body: string | Buffer;
  /** `Content-Type`; none for an empty body. */
  readonly contentType: string | undefined;
  /** ACLs removed results (announced only to requests that carried a token). */
  readonly filtered: boolean;
}

/**
 * Bodies up to this many characters stay strings: node sends a short string together with the headers in one
 * write, which is cheaper than writing a Buffer body after them. Longer ones are encoded once, so that no reply
 * encodes them again.
 */
const SHORT_BODY = 2048;

/** `text` in the form that is cheapest to send many times. */
export function encodedBody(text: string): string | Buffer {
  return text.length <= SHORT_BODY ? text : Buffer.from(text, 'utf8');
}

/** A JSON reply. */
export function jsonReply(value: JsonValue, pretty: boolean, filtered = false, status = 200): SharedReply {
  return { status, body: encodedBody(toJson(value, pretty)), contentType: 'application/json', filtered };
}

const EMPTY = '';

/** An empty reply (a read that found nothing: 404). */
export function emptyReply(status: number, filtered = false): SharedReply {
  return { status, body: EMPTY, contentType: undefined, filtered };
}

/** Size limits of {@link SharedReplies}. */
export interface SharedRepliesLimits {
  /** Replies kept for one state. */
  readonly maxEntries: number;
  /** Bytes of bodies kept for one state. */
  readonly maxBytes: number;
}

const DEFAULT_LIMITS: SharedRepliesLimits = { maxEntries: 1024, maxBytes: 32 * 1024 * 1024 };

/** The replies of the newest state (see the module documentation). */
export class SharedReplies {
  private state = -1;
  private readonly byAuthorizer = new Map<Authorizer, Map<string, SharedReply>>();
  private entries = 0;
  private bytes = 0;

  constructor(private readonly limits: SharedRepliesLimits = DEFAULT_LIMITS) {}

  /**
   * The reply to `read` by a caller acting with `authz` in the state of index `state`: the kept one, or
   * `build()`'s, kept when `state` is the newest and the limits allow.
   */
  reply(state: number, authz: Authorizer, read: string, build: () => SharedReply): SharedReply {
    if (state !== this.state) {
      if (state < this.state) return build();
      this.state = state;
      this.byAuthorizer.clear();
      this.entries = 0;
      this.bytes = 0;
    }
    let replies = this.byAuthorizer.get(authz);
    const kept = replies?.get(read);
    if (kept !== undefined) return kept;
    const built = build();
    if (this.entries < this.limits.maxEntries && this.bytes + built.body.length <= this.limits.maxBytes) {
      if (replies === undefined) {
        replies = new Map();
        this.byAuthorizer.set(authz, replies);
      }
      replies.set(read, built);
      this.entries++;
      this.bytes += built.body.length;
    }
    return built;
  }
}
