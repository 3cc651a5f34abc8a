/**
 * The client's keep-alive connections to one agent: undici `Client`s (one connection each, no pipelining), handed
 * out most recently used first and taken back the moment a reply ends.
 *
 * undici's own `Pool` considers a connection busy until a full event-loop turn after its reply ended, so a
 * request sent right after the previous one finished — what every watch does after each change, and every
 * sequence of calls — opens another connection: N watches end up holding 2N connections, and Consul counts
 * each against `limits.http_max_conns_per_client` (200 per client IP by default). Here a connection is free
 * again as soon as its reply has ended; a request given to it then goes out on the same socket. Connections
 * never carry two requests at once (a long poll would hold the second behind it for minutes), and there is
 * no cap on their number for the same reason. An idle connection closes after the keep-alive timeout, and the
 * `Client` of a closed connection is dropped from the pool once idle, so the pool shrinks back after a burst.
 *
 * @module
 */

import type { IncomingHttpHeaders } from 'node:http';
import { buildConnector, Client, type Dispatcher } from 'undici';

/** Settings of a {@link ConnectionPool}. */
export interface ConnectionPoolOptions {
  /** How long an idle connection stays open (ms); the agent's `Keep-Alive: timeout` hint, less a second, wins when shorter. */
  keepAliveTimeout: number;
  /** How long a connection attempt may take (ms). */
  connectTimeout: number;
  /** How connections are made: unix socket path and TLS settings (undici's `buildConnector` options). */
  connect: buildConnector.BuildOptions;
}

/** Forwards a request's callbacks, and gives its connection back to the pool when the request is over. */
class Release implements Dispatcher.DispatchHandler {
  private done = false;

  constructor(
    private readonly handler: Dispatcher.DispatchHandler,
    private readonly release: () => void,
  ) {}

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.release();
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.handler.onRequestStart?.(controller, context);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    // Free first: the handler settles the caller's promise, and what the caller sends next may take this connection.
    this.finish();
    this.handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.finish();
    this.handler.onResponseError?.(controller, error);
  }
}

/** Keep-alive connections to one origin; see the module comment. */
export class ConnectionPool {
  private readonly origin: string;
  private readonly clientOptions: Client.Options;
  /** Connections with no request in flight, most recently used last. */
  private readonly idle: Client[] = [];
  private readonly all = new Set<Client>();
  private closed = false;

  /**
   * @param origin `scheme://host[:port]` of the agent (any host for a unix socket).
   * @param options connection settings.
   */
  constructor(origin: string, options: ConnectionPoolOptions) {
    this.origin = origin;
    this.clientOptions = {
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeout,
      keepAliveMaxTimeout: options.keepAliveTimeout,
      keepAliveTimeoutThreshold: 1_000,
      // The caller's deadline covers the whole exchange, a long poll's wait included.
      headersTimeout: 0,
      bodyTimeout: 0,
      // One connector for every connection: TLS sessions are cached and resumed across them.
      connect: buildConnector({ ...options.connect, timeout: options.connectTimeout }),
    };
  }

  /** Connections the pool holds, busy or idle. */
  get size(): number {
    return this.all.size;
  }

  /**
   * Sends a request on an idle connection, or on a new one when none is idle.
   *
   * @throws Error (code `UND_ERR_DESTROYED`) once the pool is destroyed, without sending.
   */
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.closed) throw Object.assign(new Error('the connection pool is closed'), { code: 'UND_ERR_DESTROYED' });
    let client = this.idle.pop();
    while (client !== undefined && (client.closed || client.destroyed)) {
      this.all.delete(client);
      client = this.idle.pop();
    }
    client ??= this.open();
    const taken = client;
    return taken.dispatch(options, new Release(handler, () => this.release(taken)));
  }

  /** Closes every connection at once, failing the requests in flight. */
  async destroy(): Promise<void> {
    this.closed = true;
    const clients = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(clients.map((c) => c.destroy()));
  }

  private open(): Client {
    const client = new Client(this.origin, this.clientOptions);
    this.all.add(client);
    // A connection the agent or the keep-alive timeout closed: forget its Client once nothing is in flight on it,
    // so that the pool shrinks back after a burst instead of keeping one Client per request ever in flight at once.
    client.on('disconnect', () => {
      const i = this.idle.indexOf(client);
      if (i === -1) return;
      this.idle.splice(i, 1);
      this.all.delete(client);
      void client.close().catch(() => undefined);
    });
    return client;
  }

  private release(client: Client): void {
    if (this.closed || client.closed || client.destroyed) {
      this.all.delete(client);
      return;
    }
    this.idle.push(client);
  }
}
