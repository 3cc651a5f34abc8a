/**
 * The pieces every endpoint handler works with, bundled once per agent.
 *
 * @module
 */
import type { Acl } from './acl.js';
import type { SharedReplies } from './http/shared-replies.js';
import type { ResolvedOptions } from './options.js';
import type { EventBuffer } from './state/events.js';
import type { SessionManager } from './state/sessions.js';
import type { Store } from './state/store.js';

/** Callbacks run when the agent shuts down (blocking queries answer with their current result). */
export class ShutdownSignal {
  private readonly listeners = new Set<() => void>();
  private fired = false;

  /** True once shutdown began. */
  get triggered(): boolean {
    return this.fired;
  }

  /** Runs `listener` on shutdown (at once if it already began); returns a remover. */
  on(listener: () => void): () => void {
    if (this.fired) {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Begins shutdown: every listener runs once. */
  trigger(): void {
    if (this.fired) return;
    this.fired = true;
    const all = [...this.listeners];
    this.listeners.clear();
    for (const l of all) l();
  }
}

/** State and configuration shared by the handlers of one agent. */
export interface AgentCore {
  readonly options: ResolvedOptions;
  readonly store: Store;
  readonly sessions: SessionManager;
  readonly events: EventBuffer;
  /** ACL resolver; `undefined` when ACLs are off. */
  readonly acl: Acl | undefined;
  readonly shutdown: ShutdownSignal;
  /** NodeID reported by `/v1/agent/self` (stable for the life of the process). */
  readonly nodeId: string;
  /** Read replies shared by identical reads of the newest state. */
  readonly replies: SharedReplies;
  /** Address actually listened on (set once listening). */
  readonly address: { host: string; port: number };
}
