/**
 * `startDevAgent`: assembles state, persistence and the HTTP server into a running agent, and shuts it down
 * cleanly (blocking queries answered, log flushed).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Acl } from './acl.js';
import { ShutdownSignal, type AgentCore } from './core.js';
import { SharedReplies } from './http/shared-replies.js';
import { openJournal, type DurableJournal } from './persist/journal.js';
import { resolveOptions, type DevAgentOptions } from './options.js';
import { createAgentServer } from './server.js';
import { EventBuffer } from './state/events.js';
import { SessionManager } from './state/sessions.js';
import { Store } from './state/store.js';

/** A running dev agent. */
export interface DevAgent {
  /** Base URL, e.g. `http://127.0.0.1:8500`. */
  readonly url: string;
  /** Host listened on. */
  readonly host: string;
  /** Port listened on (the real one when 0 was asked). */
  readonly port: number;
  /**
   * Stops the agent: pending blocking queries are answered with their current result, the log is flushed,
   * connections are closed. Idempotent.
   */
  close(): Promise<void>;
}

/** How long `close()` lets in-flight requests finish before cutting connections. */
const DRAIN_MS = 2000;

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Starts a dev agent; resolves once it is listening (and, with a data directory, has recovered its state). */
export async function startDevAgent(options: DevAgentOptions = {}): Promise<DevAgent> {
  const resolved = resolveOptions(options);
  const store = new Store();
  let journal: DurableJournal | undefined;
  if (resolved.dataDir !== undefined) {
    journal = await openJournal(resolved.dataDir, store, { snapshotThreshold: resolved.snapshotThreshold });
    store.attachJournal(journal);
  }
  const sessions = new SessionManager(store, { nodeName: resolved.nodeName, sessionTtlMin: resolved.sessionTtlMin });
  sessions.armAll();
  const address = { host: resolved.host, port: resolved.port };
  const core: AgentCore = {
    options: resolved,
    store,
    sessions,
    events: new EventBuffer(store.waiters),
    acl: resolved.acl ? new Acl(resolved.acl) : undefined,
    shutdown: new ShutdownSignal(),
    nodeId: randomUUID(),
    replies: new SharedReplies(),
    address,
  };
  const server = createAgentServer(core);
  const inFlight = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  let info: AddressInfo;
  try {
    info = await listen(server, resolved.host, resolved.port);
  } catch (err) {
    sessions.close();
    await journal?.close();
    throw err;
  }
  address.port = info.port;
  const url = formatUrl(resolved.host, info.port);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      core.shutdown.trigger();
      sessions.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + DRAIN_MS;
      while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      server.closeAllConnections();
      await stopped;
      await journal?.close();
    })();
    return closing;
  };
  return { url, host: resolved.host, port: info.port, close };
}
