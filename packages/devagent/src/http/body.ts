/**
 * Bounded request-body reading: a declared `Content-Length` over the limit is refused before reading, and a body
 * without a length is counted while it streams, so no request can make the agent buffer more than the limit.
 *
 * @module
 */
import type { AgentHttpError } from '../errors.js';
import type { RequestContext } from './context.js';

/** How to refuse a body that is too large. */
export interface BodyLimit {
  /** Largest accepted body, bytes. */
  readonly max: number;
  /** Error for a declared length over the limit. */
  declared(length: number): AgentHttpError;
  /** Error for a streamed body that went over the limit. */
  streamed(): AgentHttpError;
}

/** The declared `Content-Length`, or `undefined` when absent or unparsable. */
export function contentLength(ctx: RequestContext): number | undefined {
  const header = ctx.req.headers['content-length'];
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

/** The client went away before its body was complete. */
export class BodyAbortedError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'KVX_AGENT_BODY_ABORTED';

  constructor() {
    super('request body aborted by the client');
    this.name = new.target.name;
  }
}

/** Reads the whole body, refusing it (and marking the connection for closing) when over the limit. */
export function readBody(ctx: RequestContext, limit: BodyLimit): Promise<Buffer> {
  const declared = contentLength(ctx);
  if (declared !== undefined && declared > limit.max) {
    ctx.closeConnection = true;
    return Promise.reject(limit.declared(declared));
  }
  const req = ctx.req;
  if (req.complete && req.readableLength === 0 && declared === 0) return Promise.resolve(Buffer.alloc(0));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limit.max) {
        // Stop reading without destroying the socket, so the 413 can still be sent (then the connection closes).
        cleanup();
        req.pause();
        ctx.closeConnection = true;
        reject(limit.streamed());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    };
    const onError = (): void => {
      cleanup();
      reject(new BodyAbortedError());
    };
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(new BodyAbortedError());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
