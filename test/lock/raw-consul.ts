/**
 * Raw HTTP against the agent, bypassing @kvx/client: what the tests see is exactly what is on the wire, and a
 * key held this way is held exactly the way `consul lock` (Go's api.Lock) holds it.
 */

/** `consul lock`'s mutex flags (`api.LockFlagValue`), as decimal text. */
export const LOCK_FLAGS = '3304740253564472344';
/** `consul lock -n N`'s semaphore flags (`api.SemaphoreFlagValue`), as decimal text. */
export const SEMAPHORE_FLAGS = '16210313421097356768';

/** A raw reply. */
export interface RawReply {
  status: number;
  text: string;
}

export async function raw(base: string, method: string, path: string, body?: string): Promise<RawReply> {
  const res = await fetch(new URL(path, base), { method, ...(body === undefined ? {} : { body }) });
  return { status: res.status, text: await res.text() };
}

/** The JSON of `GET /v1/kv/<key>` as text (so uint64 flags stay exact), or `undefined` on 404. */
export async function rawKey(base: string, key: string): Promise<string | undefined> {
  const reply = await raw(base, 'GET', `/v1/kv/${key}`);
  if (reply.status === 404) return undefined;
  if (reply.status !== 200) throw new Error(`GET ${key}: HTTP ${reply.status} ${reply.text}`);
  return reply.text;
}

/** The `Session` holding `key`, or `undefined`. */
export async function keySession(base: string, key: string): Promise<string | undefined> {
  const text = await rawKey(base, key);
  if (text === undefined) return undefined;
  const [entry] = JSON.parse(text) as { Session?: string }[];
  return entry?.Session;
}

/** The session's JSON object (`GET /v1/session/info/<id>`), or `undefined`. */
export async function sessionInfo(base: string, id: string): Promise<Record<string, unknown> | undefined> {
  const reply = await raw(base, 'GET', `/v1/session/info/${id}`);
  const [entry] = JSON.parse(reply.text) as Record<string, unknown>[];
  return entry;
}

export async function destroySession(base: string, id: string): Promise<void> {
  const reply = await raw(base, 'PUT', `/v1/session/destroy/${id}`);
  if (reply.status !== 200) throw new Error(`session destroy: HTTP ${reply.status}`);
}

/** A key held the way `consul lock` holds `<prefix>/.lock`: own session (TTL, release), acquire with the lock flags. */
export interface RawHolder {
  session: string;
  key: string;
  /** Releases the key (`?release=`), as `consul lock`'s Unlock does, and destroys the session. */
  release(): Promise<void>;
}

export async function holdLikeConsulLock(base: string, prefix: string, ttl = '15s'): Promise<RawHolder> {
  const created = await raw(base, 'PUT', '/v1/session/create', JSON.stringify({ Name: `Consul lock for 'held' at '${prefix}'`, TTL: ttl }));
  const session = (JSON.parse(created.text) as { ID: string }).ID;
  const key = `${prefix}/.lock`;
  const acquired = await raw(base, 'PUT', `/v1/kv/${key}?acquire=${session}&flags=${LOCK_FLAGS}`);
  if (acquired.text.trim() !== 'true') throw new Error(`could not acquire ${key}: ${acquired.text}`);
  return {
    session,
    key,
    async release() {
      await raw(base, 'PUT', `/v1/kv/${key}?release=${session}&flags=${LOCK_FLAGS}`);
      await destroySession(base, session);
    },
  };
}

/** Keeps a raw session alive (what Go's RenewPeriodic does) until the returned function is called. */
export function keepRenewing(base: string, session: string, everyMs: number): () => void {
  const timer = setInterval(() => void raw(base, 'PUT', `/v1/session/renew/${session}`).catch(() => undefined), everyMs);
  return () => clearInterval(timer);
}
