/**
 * User events (`/v1/event/fire`, `/v1/event/list`). Consul gossips them and each agent keeps the most recent
 * 256 in a ring buffer; they are not part of the replicated state, so they are neither indexed by the raft index
 * nor persisted.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

import type { JsonValue } from '../json.js';
import type { WaiterRegistry } from './waiters.js';

/** Capacity of the agent's event buffer (Consul's `maxUserEvents`). */
export const MAX_USER_EVENTS = 256;

/** One user event. */
export interface UserEvent {
  readonly id: string;
  readonly name: string;
  readonly payload: Buffer;
  readonly nodeFilter: string;
  readonly serviceFilter: string;
  readonly tagFilter: string;
  readonly ltime: number;
}

/** Event JSON in Go's field order; `Payload` base64 or null. */
export function eventJson(event: UserEvent, ltime = event.ltime): JsonValue {
  return {
    ID: event.id,
    Name: event.name,
    Payload: event.payload.length > 0 ? event.payload.toString('base64') : null,
    NodeFilter: event.nodeFilter,
    ServiceFilter: event.serviceFilter,
    TagFilter: event.tagFilter,
    Version: 1,
    LTime: ltime,
  };
}

/** The index of an event list: the two 64-bit halves of the last event's UUID XORed (`IDToIndex`). */
export function eventIdToIndex(id: string): bigint {
  const hex = id.replace(/-/g, '');
  if (hex.length !== 32) return 0n;
  return BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`);
}

/** The agent's ring buffer of recent events. */
export class EventBuffer {
  private readonly events: UserEvent[] = [];
  private clock = 0;

  constructor(private readonly waiters: WaiterRegistry) {}

  /** Creates an event; when `ingest`, buffers it and wakes list watchers (events for other nodes are not kept). */
  fire(fields: Omit<UserEvent, 'id' | 'ltime'>, ingest = true): UserEvent {
    const hex = randomBytes(16).toString('hex');
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    this.clock++;
    const event: UserEvent = { ...fields, id, ltime: this.clock };
    if (!ingest) return event;
    this.events.push(event);
    if (this.events.length > MAX_USER_EVENTS) this.events.shift();
    this.waiters.notifyTable('events');
    return event;
  }

  /** Buffered events, oldest first. */
  list(): readonly UserEvent[] {
    return this.events;
  }
}
