/**
 * The session a lock or semaphore contends with: the caller's (never renewed nor destroyed by kvx, as in
 * Consul's Go client) or one created for the acquisition and renewed until release.
 *
 * @module
 */

import type { SessionCreateOptions } from '../api/types.js';
import type { CoordinationClient } from './coordination-client.js';
import { SessionRenewer, type RenewedSessionOptions } from './session-renewer.js';

/** Settings a lock or semaphore may create its session with (request options are the client's). */
export type ContenderSessionOptions = Omit<SessionCreateOptions, 'datacenter' | 'token' | 'signal' | 'timeout'>;

/** A contender's session. */
export interface ContenderSession {
  /** Session id. */
  readonly id: string;
  /** Renewer of a session created by kvx; `undefined` for a caller-supplied session. */
  readonly renewer: SessionRenewer | undefined;
}

/** Uses `supplied`, or creates and starts renewing a session from `create`. */
export async function openContenderSession(
  client: CoordinationClient,
  supplied: string | undefined,
  create: RenewedSessionOptions,
): Promise<ContenderSession> {
  if (supplied !== undefined) return { id: supplied, renewer: undefined };
  const renewer = await SessionRenewer.create(client, create);
  return { id: renewer.sessionId, renewer };
}

/**
 * Stops renewing an owned session and destroys it (which releases anything it still holds). Failures are
 * ignored as in Go: an undestroyed session expires on its own once renewals stop.
 */
export async function closeContenderSession(session: ContenderSession): Promise<void> {
  try {
    await session.renewer?.stop({ destroy: true });
  } catch {
    // Best effort by design (see above).
  }
}
