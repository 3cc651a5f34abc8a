/**
 * The HTTP front: routing with Go `ServeMux` semantics (exact and prefix patterns, 301 for unclean paths and
 * bare prefixes), 405 + `Allow`, OPTIONS, 404 for unknown endpoints, and the error wrapper that turns any handler
 * failure into a response — an exception in a handler is a 500, never a crash.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import type { AgentCore } from './core.js';
import { AgentHttpError, MethodNotAllowedError } from './errors.js';
import { agentSelf } from './http/agent.js';
import { BodyAbortedError } from './http/body.js';
import { baseHeaders, RequestContext } from './http/context.js';
import { eventFire, eventList } from './http/event.js';
import { kvDelete, kvGet, kvPut } from './http/kv.js';
import { extractToken } from './http/query.js';
import { sessionCreate, sessionDestroy, sessionInfo, sessionList, sessionNode, sessionRenew } from './http/session.js';
import { statusLeader, statusPeers } from './http/status.js';
import { txnPut } from './http/txn.js';

type Handler = (ctx: RequestContext) => Promise<void>;

interface Route {
  /** Exact path, or a prefix when it ends with `/`. */
  readonly pattern: string;
  readonly methods: Readonly<Record<string, Handler>>;
}

const ROUTES: readonly Route[] = [
  { pattern: '/v1/kv/', methods: { GET: kvGet, PUT: kvPut, DELETE: kvDelete } },
  { pattern: '/v1/session/create', methods: { PUT: sessionCreate } },
  { pattern: '/v1/session/destroy/', methods: { PUT: sessionDestroy } },
  { pattern: '/v1/session/renew/', methods: { PUT: sessionRenew } },
  { pattern: '/v1/session/info/', methods: { GET: sessionInfo } },
  { pattern: '/v1/session/node/', methods: { GET: sessionNode } },
  { pattern: '/v1/session/list', methods: { GET: sessionList } },
  { pattern: '/v1/txn', methods: { PUT: txnPut } },
  { pattern: '/v1/event/fire/', methods: { PUT: eventFire } },
  { pattern: '/v1/event/list', methods: { GET: eventList } },
  { pattern: '/v1/status/leader', methods: { GET: statusLeader } },
  { pattern: '/v1/status/peers', methods: { GET: statusPeers } },
  { pattern: '/v1/agent/self', methods: { GET: agentSelf } },
];

const NOT_FOUND = 'Invalid URL path: not a recognized HTTP API endpoint';

/** Longest matching pattern, as Go's ServeMux picks it. */
function match(path: string): Route | undefined {
  let best: Route | undefined;
  for (const route of ROUTES) {
    const hit = route.pattern.endsWith('/') ? path.startsWith(route.pattern) : path === route.pattern;
    if (hit && (!best || route.pattern.length > best.pattern.length)) best = route;
  }
  return best;
}

/** Go's `path.Clean` for URL paths (keeps a trailing slash). */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  let cleaned = `/${out.join('/')}`;
  if (path.endsWith('/') && cleaned !== '/') cleaned += '/';
  return cleaned;
}

/** Control characters, DEL and C1 controls: Consul refuses paths containing them. */
function unprintable(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

function redirect(core: AgentCore, res: ServerResponse, location: string): void {
  res.writeHead(301, [...baseHeaders(core), 'Location', location, 'Content-Length', '0']);
  res.end();
}

function plain(core: AgentCore, res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const list = baseHeaders(core);
  for (const [k, v] of Object.entries(headers)) list.push(k, v);
  list.push('Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body)));
  res.writeHead(status, list);
  res.end(body);
}

async function dispatch(core: AgentCore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return plain(core, res, 400, `Invalid URL path: ${JSON.stringify(rawPath)} is not properly escaped`);
  }
  if (unprintable(path)) {
    return plain(core, res, 400, `Invalid URL path: ${JSON.stringify(path)} contains unprintable characters`);
  }
  const cleaned = cleanPath(path);
  if (cleaned !== path) return redirect(core, res, encodeURI(cleaned) + (q < 0 ? '' : `?${rawQuery}`));
  const route = match(path);
  if (!route) {
    if (match(`${path}/`)?.pattern === `${path}/`) return redirect(core, res, `${rawPath}/${q < 0 ? '' : `?${rawQuery}`}`);
    return plain(core, res, 404, NOT_FOUND);
  }
  const method = req.method ?? 'GET';
  const allow = ['OPTIONS', ...Object.keys(route.methods)].join(',');
  if (method === 'OPTIONS') {
    res.writeHead(200, [...baseHeaders(core), 'Allow', allow, 'Content-Length', '0']);
    res.end();
    return;
  }
  const handler = route.methods[method];
  if (!handler) throw new MethodNotAllowedError(method, allow);
  const query = new URLSearchParams(rawQuery);
  const ctx = new RequestContext(core, req, res, path, query, extractToken(query, req.headers));
  try {
    await handler(ctx);
  } catch (err) {
    if (err instanceof AgentHttpError && ctx.closeConnection) {
      throw new AgentHttpError(err.code, err.status, err.message, { headers: { ...err.headers, Connection: 'close' } });
    }
    throw err;
  }
}

function fail(core: AgentCore, res: ServerResponse, err: unknown): void {
  if (err instanceof BodyAbortedError) {
    res.destroy();
    return;
  }
  if (err instanceof AgentHttpError) {
    plain(core, res, err.status, err.message, { ...err.headers });
    return;
  }
  plain(core, res, 500, err instanceof Error ? err.message : String(err));
}

function handle(core: AgentCore, req: IncomingMessage, res: ServerResponse): void {
  dispatch(core, req, res).catch((err: unknown) => {
    try {
      fail(core, res, err);
    } catch {
      res.destroy();
    }
  });
}

/** Creates the HTTP server of an agent (not yet listening). */
export function createAgentServer(core: AgentCore): Server {
  const server = createServer({ keepAlive: true }, (req, res) => handle(core, req, res));
  // Blocking queries hold a request open for up to max_query_time + 1/16 jitter; nothing may cut them short.
  server.requestTimeout = Math.ceil(core.options.maxQueryTime * 1.1) + 60_000;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.timeout = 0;
  return server;
}
