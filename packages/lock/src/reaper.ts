/**
 * The reaper: a tiny Node process between the supervisor and the child, started with an IPC channel.
 *
 * It runs the child in a session and process group of its own (so signals reach every grandchild), and it
 * holds the child's lease: it stops the group when the lease runs out (`termAt`: SIGTERM, `killAt`:
 * SIGKILL) even if the supervisor is frozen, and it stops the group at once when the IPC channel closes,
 * i.e. when the supervisor died, even by SIGKILL. This is what keeps an orphaned child from outliving the
 * session that allowed it to run. The reaper sits outside the child's group so it can watch the group
 * empty, and in its own session so a signal aimed at the supervisor's group does not take it down too.
 *
 * Not part of the library API: `child-group.ts` starts this file as a separate process.
 *
 * @module
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { FromReaper, StopReason, ToReaper } from './reaper-protocol.js';

/** How often the group is probed for remaining members once it is being stopped. */
const PROBE_INTERVAL_MS = 20;
/** How long SIGKILLed members may take to disappear before the reaper stops waiting for them. */
const AFTER_KILL_WAIT_MS = 2000;
const IGNORED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

let child: ChildProcess | undefined;
let pgid: number | undefined;
let killGraceMs = 5000;
let termAt: bigint | undefined;
let killAt: bigint | undefined;
let termTimer: NodeJS.Timeout | undefined;
let killTimer: NodeJS.Timeout | undefined;
let terminating = false;
let killed = false;
let killedAt = 0n;
let connected = true;
let finished = false;
let probe: NodeJS.Timeout | undefined;

function send(message: FromReaper, then?: () => void): void {
  if (connected && process.send !== undefined) {
    try {
      process.send(message, () => then?.());
      return;
    } catch {
      connected = false;
    }
  }
  then?.();
}

function now(): bigint {
  return process.hrtime.bigint();
}

function msUntil(deadline: bigint): number {
  const ns = deadline - now();
  return ns <= 0n ? 0 : Number(ns / 1_000_000n) + 1;
}

function signalGroup(signal: NodeJS.Signals): boolean {
  if (pgid === undefined) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a process of `group` other than a zombie exists, from Linux's /proc; `undefined` where there is no
 * /proc. Zombies matter because an orphaned grandchild is reaped by pid 1, which in containers may take
 * seconds, while a zombie can no longer run any code.
 */
function runningMemberInProc(group: number): boolean | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command name: state, ppid, pgrp, …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === group && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

function groupAlive(): boolean {
  if (pgid === undefined) return false;
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    // EPERM means a member exists but changed its credentials (setuid): it is still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return runningMemberInProc(pgid) ?? true;
}

function finish(lingering: boolean): void {
  if (finished) return;
  finished = true;
  clearTimeout(termTimer);
  clearTimeout(killTimer);
  clearInterval(probe);
  send({ type: 'done', lingering }, () => process.exit(0));
}

function kill(): void {
  if (killed) return;
  killed = true;
  killedAt = now();
  clearTimeout(killTimer);
  if (pgid !== undefined) send({ type: 'killing', pid: pgid });
  signalGroup('SIGKILL');
}

function watchGroup(): void {
  if (probe !== undefined) return;
  probe = setInterval(() => {
    // The direct child is counted until Node has reaped it; its 'exit' event comes first.
    if (child !== undefined && child.exitCode === null && child.signalCode === null) return;
    if (!groupAlive()) finish(false);
    else if (killed && now() - killedAt > BigInt(AFTER_KILL_WAIT_MS) * 1_000_000n) finish(true);
  }, PROBE_INTERVAL_MS);
}

function terminate(reason: StopReason, graceMs: number): void {
  if (terminating) return;
  terminating = true;
  clearTimeout(termTimer);
  if (pgid === undefined) {
    finish(false);
    return;
  }
  send({ type: 'terminating', pid: pgid, reason });
  signalGroup('SIGTERM');
  const byGrace = now() + BigInt(Math.ceil(graceMs * 1e6));
  const deadline = killAt !== undefined && killAt < byGrace ? killAt : byGrace;
  const fromGrace = deadline === byGrace;
  clearTimeout(killTimer);
  killTimer = setTimeout(() => {
    if (fromGrace) send({ type: 'grace-expired', graceMs });
    kill();
  }, msUntil(deadline));
  watchGroup();
}

function armLease(): void {
  // Once stopping, the kill deadline is fixed (a later lease would only extend it).
  if (terminating || termAt === undefined || killAt === undefined) return;
  clearTimeout(termTimer);
  clearTimeout(killTimer);
  const term = termAt;
  const hard = killAt;
  termTimer = setTimeout(() => terminate('fenced', Number((hard - term) / 1_000_000n)), msUntil(term));
  killTimer = setTimeout(kill, msUntil(hard));
}

function start(message: Extract<ToReaper, { type: 'start' }>): void {
  if (child !== undefined) return;
  killGraceMs = message.killGraceMs;
  if (termAt !== undefined && termAt <= now()) {
    send({ type: 'spawn-failed', message: 'lease expired before the child could start' });
    finish(false);
    return;
  }
  const proc = spawn(message.file, message.args, {
    detached: true,
    env: message.env,
    stdio: [message.passStdin ? 'inherit' : 'ignore', 'inherit', 'inherit'],
  });
  child = proc;
  // The pid is known synchronously when the fork succeeded, so a stop that arrives before the 'spawn'
  // event still reaches the group.
  pgid = proc.pid;
  proc.once('spawn', () => {
    if (pgid !== undefined) send({ type: 'started', pid: pgid });
  });
  proc.once('error', (err) => {
    if (pgid === undefined) {
      send({ type: 'spawn-failed', message: err.message });
      finish(false);
    }
  });
  proc.once('exit', (code, signal) => {
    send({ type: 'exited', code, signal });
    // Whatever the child left behind in its group must not outlive the lock either.
    if (groupAlive()) terminate('child-exited', killGraceMs);
    else finish(false);
  });
}

function onMessage(raw: unknown): void {
  const message = raw as ToReaper;
  switch (message.type) {
    case 'start':
      start(message);
      break;
    case 'lease':
      termAt = BigInt(message.termAt);
      killAt = BigInt(message.killAt);
      armLease();
      break;
    case 'signal':
      if (pgid !== undefined && !signalGroup(message.signal)) {
        send({ type: 'signal-failed', signal: message.signal, message: `no process left in group ${pgid}` });
      }
      break;
    case 'stop':
      if (child === undefined) finish(false);
      else terminate(message.reason, message.graceMs);
      break;
  }
}

for (const signal of IGNORED_SIGNALS) process.on(signal, () => undefined);
process.on('message', onMessage);
process.on('disconnect', () => {
  connected = false;
  if (child === undefined) process.exit(0);
  terminate('supervisor-gone', killGraceMs);
});
send({ type: 'ready' });
