/**
 * A fault-injecting HTTP proxy for tests: it listens on 127.0.0.1 (port 0 by default), forwards every
 * request to a target agent with `http.request`, and can be switched at runtime into failure modes:
 *
 * - {@link FaultProxy.pass}: forward normally (re-opens the listener after {@link FaultProxy.refuse});
 * - {@link FaultProxy.reset}: reset every open connection now and every new one on arrival (TCP RST);
 * - {@link FaultProxy.delay}: hold each request `ms` before forwarding it;
 * - {@link FaultProxy.blackhole}: accept connections and requests but never forward or answer them;
 * - {@link FaultProxy.refuse}: close the listener (new connections get ECONNREFUSED) and drop open ones;
 * - {@link FaultProxy.respond}: answer the next `count` requests itself with a given status, body and
 *   headers (e.g. 500 `No cluster leader`, 429 with `Retry-After`), then go back to forwarding;
 * - {@link FaultProxy.resetNext}: reset the connection of the next `count` requests after reading them
 *   (the request was sent, the reply never comes: an ambiguous failure for the client).
 *
 * Scripted answers ({@link FaultProxy.respond}, {@link FaultProxy.resetNext}) are consumed in the order they
 * were added and take precedence over the mode.
 *
 * It counts the requests it sees ({@link FaultProxy.requests}, {@link FaultProxy.log}), so tests can assert
 * exactly how many requests a client sent, including the ones that failed.
 */

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the proxy saw. */
export interface SeenRequest {
  method: string;
  /** Path and query string. */
  url: string;
  /** What the proxy did with it. */
  outcome: 'forwarded' | 'answered' | 'reset' | 'blackholed';
  /** The request headers (tests use this to check where the token travels). */
  headers: http.IncomingHttpHeaders;
}

/** A canned answer for {@link FaultProxy.respond}. */
export interface CannedResponse {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** How many requests get this answer before forwarding resumes. Default: `1`. */
  count?: number;
  /** Only requests whose path starts with this get the answer. Default: every request. */
  pathPrefix?: string;
  /** Milliseconds to wait before answering (a slow agent, or a long poll that returns late). Default: `0`. */
  delayMs?: number;
}

type Scripted = { remaining: number; pathPrefix: string | undefined } & (
  | { kind: 'answer'; status: number; body: string; headers: Record<string, string>; delayMs: number }
  | { kind: 'reset' }
);

type Mode = { kind: 'pass' } | { kind: 'reset' } | { kind: 'delay'; ms: number } | { kind: 'blackhole' } | { kind: 'refuse' };

/** See the module description. Create with {@link startFaultProxy}. */
export class FaultProxy {
  private mode: Mode = { kind: 'pass' };
  private readonly script: Scripted[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly upstream = new http.Agent({ keepAlive: true });
  private readonly server: http.Server;
  private listening = false;
  /** Every request seen, in arrival order. */
  readonly log: SeenRequest[] = [];
  /** The port the proxy listens on (kept across refuse/pass). */
  port = 0;

  /** @param target base URL of the agent to forward to, e.g. `http://127.0.0.1:8500`. */
  constructor(private target: URL) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket: Socket) => {
      if (this.mode.kind === 'reset' || this.mode.kind === 'refuse') {
        socket.resetAndDestroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Base URL of the proxy, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The `host:port` address of the proxy (the form `CONSUL_HTTP_ADDR` takes). */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Number of requests seen so far. */
  get requests(): number {
    return this.log.length;
  }

  /** Number of requests seen whose path starts with `prefix`. */
  count(prefix: string): number {
    return this.log.filter((r) => r.url.startsWith(prefix)).length;
  }

  /** Starts listening (on `port`, or an ephemeral port). */
  async listen(port = this.port): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Points the proxy at another target (e.g. a restarted agent on a new port). */
  retarget(target: string): void {
    this.target = new URL(target);
    this.upstream.destroy();
  }

  /** Forwards normally again; re-opens the listener on the same port after {@link refuse}. */
  async pass(): Promise<void> {
    this.mode = { kind: 'pass' };
    if (!this.listening) await this.listen(this.port);
  }

  /** Resets every open connection now, and every new connection on arrival, until the mode changes. */
  reset(): void {
    this.mode = { kind: 'reset' };
    this.dropConnections();
  }

  /** Holds each new request `ms` milliseconds before forwarding it. */
  delay(ms: number): void {
    this.mode = { kind: 'delay', ms };
  }

  /** Accepts connections and requests but never forwards or answers them (requests already forwarded continue). */
  blackhole(): void {
    this.mode = { kind: 'blackhole' };
  }

  /** Closes the listener so connecting fails with ECONNREFUSED, and drops open connections. */
  async refuse(): Promise<void> {
    this.mode = { kind: 'refuse' };
    this.dropConnections();
    if (this.listening) {
      this.listening = false;
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
  }

  /** Answers the next `count` matching requests with a canned response instead of forwarding them. */
  respond(response: CannedResponse): void {
    this.script.push({
      kind: 'answer',
      status: response.status,
      body: response.body ?? '',
      headers: response.headers ?? {},
      delayMs: response.delayMs ?? 0,
      remaining: response.count ?? 1,
      pathPrefix: response.pathPrefix,
    });
  }

  /** Resets the connection of the next `count` matching requests after reading them. */
  resetNext(count = 1, pathPrefix?: string): void {
    this.script.push({ kind: 'reset', remaining: count, pathPrefix });
  }

  /** Stops everything and frees the port. */
  async close(): Promise<void> {
    this.mode = { kind: 'refuse' };
    this.dropConnections();
    this.upstream.destroy();
    if (this.listening) {
      this.listening = false;
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
  }

  private dropConnections(): void {
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const seen: SeenRequest = { method: req.method ?? 'GET', url, outcome: 'forwarded', headers: req.headers };
    this.log.push(seen);
    const step = this.script.find((c) => c.remaining > 0 && (c.pathPrefix === undefined || url.startsWith(c.pathPrefix)));
    if (step) {
      step.remaining--;
      if (step.kind === 'reset') {
        seen.outcome = 'reset';
        req.on('end', () => req.socket.resetAndDestroy());
        req.resume();
        return;
      }
      seen.outcome = 'answered';
      req.resume();
      const answer = (): void => {
        res.writeHead(step.status, { 'Content-Type': 'text/plain; charset=utf-8', ...step.headers });
        res.end(step.body);
      };
      if (step.delayMs > 0) {
        const timer = setTimeout(answer, step.delayMs);
        res.on('close', () => clearTimeout(timer));
      } else {
        answer();
      }
      return;
    }
    switch (this.mode.kind) {
      case 'reset':
      case 'refuse':
        seen.outcome = 'reset';
        req.socket.resetAndDestroy();
        return;
      case 'blackhole':
        seen.outcome = 'blackholed';
        req.resume();
        return;
      case 'delay': {
        const timer = setTimeout(() => this.forward(req, res), this.mode.ms);
        req.socket.once('close', () => clearTimeout(timer));
        return;
      }
      case 'pass':
        this.forward(req, res);
    }
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const up = http.request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.upstream,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    // A dead target looks like a dead agent to the client: the connection breaks, no made-up status.
    up.on('error', () => req.socket.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }
}

/** Starts a proxy forwarding to `target` (an agent base URL) on an ephemeral port. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const proxy = new FaultProxy(new URL(target));
  await proxy.listen(0);
  return proxy;
}
