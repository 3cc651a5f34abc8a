/**
 * Support for the lock, semaphore and session-renewer tests: a dev agent with sub-second session TTLs, a
 * raw HTTP view of Consul that does not go through @kvx/client (so layout checks cannot agree with the
 * client's own parsing), and small timing helpers.
 */

import { randomUUID } from 'node:crypto';
import { Consul, type ConsulOptions } from '@kvx/client';
import { startTestAgent } from '../support/dev-agent.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';

/** A KV entry as Consul sent it; `flags` and the indexes are the exact decimal text of the JSON. */
export interface RawEntry {
  key: string;
  flags: string;
  lockIndex: string;
  modifyIndex: string;
  session: string | undefined;
  value: Buffer;
}

/** The decimal text of a uint64 field in Consul's JSON, read without going through JS numbers. */
function uint64Field(json: string, field: string): string[] {
  return [...json.matchAll(new RegExp(`"${field}":\\s*(\\d+)`, 'g'))].map((m) => m[1] ?? '');
}

function entries(json: string): RawEntry[] {
  const parsed = JSON.parse(json) as { Key: string; Session?: string; Value: string | null }[];
  const flags = uint64Field(json, 'Flags');
  const lockIndexes = uint64Field(json, 'LockIndex');
  const modifyIndexes = uint64Field(json, 'ModifyIndex');
  return parsed.map((e, i) => ({
    key: e.Key,
    flags: flags[i] ?? '',
    lockIndex: lockIndexes[i] ?? '',
    modifyIndex: modifyIndexes[i] ?? '',
    session: e.Session,
    value: e.Value === null ? Buffer.alloc(0) : Buffer.from(e.Value, 'base64'),
  }));
}

/** Consul over plain `fetch`, the way Consul's Go client and `consul lock` would write to it. */
export class RawConsul {
  constructor(readonly url: string) {}

  async request(method: string, path: string, body?: string | Buffer): Promise<{ status: number; text: string }> {
    const res = await fetch(`${this.url}${path}`, { method, ...(body === undefined ? {} : { body }) });
    return { status: res.status, text: await res.text() };
  }

  /** One key, or `undefined` when missing. */
  async get(key: string): Promise<RawEntry | undefined> {
    const res = await this.request('GET', `/v1/kv/${key}`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET ${key}: HTTP ${res.status} ${res.text}`);
    return entries(res.text)[0];
  }

  /** Every key under `prefix`. */
  async list(prefix: string): Promise<RawEntry[]> {
    const res = await this.request('GET', `/v1/kv/${prefix}?recurse`);
    if (res.status === 404) return [];
    if (res.status !== 200) throw new Error(`GET ${prefix}?recurse: HTTP ${res.status} ${res.text}`);
    return entries(res.text);
  }

  /** PUT a key with a raw query string (e.g. `acquire=…&flags=…`); returns Consul's `true`/`false`. */
  async put(key: string, body: string | Buffer, query = ''): Promise<boolean> {
    const res = await this.request('PUT', `/v1/kv/${key}${query ? `?${query}` : ''}`, body);
    if (res.status !== 200) throw new Error(`PUT ${key}?${query}: HTTP ${res.status} ${res.text}`);
    return res.text.trim() === 'true';
  }

  async delete(key: string, query = ''): Promise<boolean> {
    const res = await this.request('DELETE', `/v1/kv/${key}${query ? `?${query}` : ''}`);
    if (res.status !== 200) throw new Error(`DELETE ${key}?${query}: HTTP ${res.status} ${res.text}`);
    return res.text.trim() === 'true';
  }

  /** Creates a session from a JSON body exactly as given. */
  async createSession(body: Record<string, unknown>): Promise<string> {
    const res = await this.request('PUT', '/v1/session/create', JSON.stringify(body));
    if (res.status !== 200) throw new Error(`session create: HTTP ${res.status} ${res.text}`);
    return (JSON.parse(res.text) as { ID: string }).ID;
  }

  async destroySession(id: string): Promise<void> {
    const res = await this.request('PUT', `/v1/session/destroy/${id}`);
    if (res.status !== 200) throw new Error(`session destroy: HTTP ${res.status} ${res.text}`);
  }

  /** The session as Consul describes it, or `undefined` once it is gone. */
  async session(id: string): Promise<Record<string, unknown> | undefined> {
    const res = await this.request('GET', `/v1/session/info/${id}`);
    if (res.status !== 200) throw new Error(`session info: HTTP ${res.status} ${res.text}`);
    return (JSON.parse(res.text) as Record<string, unknown>[])[0];
  }

  /** Ids of every live session. */
  async sessionIds(): Promise<string[]> {
    const res = await this.request('GET', '/v1/session/list');
    return (JSON.parse(res.text) as { ID: string }[]).map((s) => s.ID);
  }
}

/** A dev agent for one test file, with clients that are closed together. */
export class CoordinationAgent {
  private readonly clients: Consul[] = [];

  private constructor(
    readonly url: string,
    readonly raw: RawConsul,
    private readonly stop: () => Promise<void>,
  ) {}

  static async start(): Promise<CoordinationAgent> {
    const agent = await startTestAgent({ sessionTtlMin: 100 });
    return new CoordinationAgent(agent.url, new RawConsul(agent.url), () => agent.close());
  }

  /** A client of this agent (or of `address`, e.g. a fault proxy in front of it). */
  client(options: ConsulOptions = {}): Consul {
    const consul = new Consul({ address: this.url, env: {}, ...options });
    this.clients.push(consul);
    return consul;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close()));
    await this.stop();
  }
}

/** A key nobody else uses. */
export function uniqueKey(base: string): string {
  return `kvx-test/${base}/${randomUUID().slice(0, 8)}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the signal's reason once it aborts; rejects when that takes longer than `timeoutMs`. */
export function abortedWithin(signal: AbortSignal, timeoutMs: number): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`signal not aborted within ${timeoutMs} ms`)), timeoutMs);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve(signal.reason);
      },
      { once: true },
    );
  });
}

/** The error `promise` rejects with (fails the test when it resolves). */
export async function caught(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

/** Runs `fn` and reports how long it took (ms, monotonic). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

/** Consul's Go lock flag and semaphore flag as the decimal text on the wire. */
export const LOCK_FLAGS_TEXT = '3304740253564472344';
export const SEMAPHORE_FLAGS_TEXT = '16210313421097356768';

/** Anything a test may leave held: a lock, a semaphore. */
export interface Releasable {
  readonly isHeld: boolean;
  release(): Promise<void>;
}

function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is only available inside tests`);
  return value;
}

/** The hooks and parts of a coordination `describe`; the parts exist once its hooks ran. */
export class CoordinationFixture {
  #agent: CoordinationAgent | undefined;
  #consul: Consul | undefined;
  #proxy: FaultProxy | undefined;
  #proxied: Consul | undefined;
  readonly #cleanups: (() => Promise<unknown>)[] = [];

  /**
   * Registers the hooks of a coordination `describe`: one dev agent for all its tests and, with
   * `faultProxy`, a fault proxy per test. Each test's cleanups run right after it, before the proxy closes.
   */
  constructor(options: { faultProxy?: boolean } = {}) {
    before(async () => {
      this.#agent = await CoordinationAgent.start();
      this.#consul = this.#agent.client();
    });
    after(async () => {
      await this.#agent?.close();
    });
    if (options.faultProxy === true) {
      beforeEach(async () => {
        this.#proxy = await startFaultProxy(this.agent.url);
        this.#proxied = this.agent.client({ address: this.#proxy.address, retry: false, breaker: false });
      });
    }
    afterEach(async () => {
      await Promise.all(this.#cleanups.splice(0).map((cleanup) => cleanup().catch(() => undefined)));
      await this.#proxy?.close();
    });
  }

  /** The dev agent of the `describe`. */
  get agent(): CoordinationAgent {
    return started(this.#agent, 'the agent');
  }

  /** A client talking straight to the agent. */
  get consul(): Consul {
    return started(this.#consul, 'the client');
  }

  /** This test's fault proxy in front of the agent (with `faultProxy`). */
  get proxy(): FaultProxy {
    return started(this.#proxy, 'the fault proxy');
  }

  /**
   * This test's client through {@link proxy}, without client-level retries or breaker, so that the retry
   * behaviour of the code under test is what meets the injected faults.
   */
  get proxied(): Consul {
    return started(this.#proxied, 'the proxied client');
  }

  /** Runs `cleanup` after the current test, errors ignored (a failed test must not fail the next one). */
  afterTest(cleanup: () => Promise<unknown>): void {
    this.#cleanups.push(cleanup);
  }

  /** Releases `holder` after the current test if it still holds then; returns it. */
  releaseAfterTest<T extends Releasable>(holder: T): T {
    this.afterTest(async () => {
      if (holder.isHeld) await holder.release();
    });
    return holder;
  }
}

/** Acquires with `primitive`, failing the test when it resolves `undefined` instead. */
export async function mustAcquire<Handle>(primitive: { acquire(): Promise<Handle | undefined> }): Promise<Handle> {
  const handle = await primitive.acquire();
  if (handle === undefined) throw new Error('not acquired');
  return handle;
}
