/**
 * A command context for in-process CLI tests: capturing stdout/stderr, an empty stdin (or given bytes), a
 * private environment, a temp working directory and a signal source the test fires by hand.
 */
import { EventEmitter } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { Consul, type ConsulOptions } from '@kvx/client';
import type { CommandContext, ShutdownSignal, SignalSource } from '../../../packages/cli/src/context.js';

/** A writable stream that keeps everything written to it. */
export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.text += chunk.toString();
    cb();
  }
  /** Non-empty lines written so far. */
  get lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}

/** A signal source a test triggers with `emit('SIGTERM')`. */
export class ManualSignals implements SignalSource {
  private readonly emitter = new EventEmitter();
  subscribe(listener: (signal: ShutdownSignal) => void): () => void {
    this.emitter.on('signal', listener);
    return () => this.emitter.off('signal', listener);
  }
  emit(signal: ShutdownSignal): void {
    this.emitter.emit('signal', signal);
  }
  get listeners(): number {
    return this.emitter.listenerCount('signal');
  }
}

export interface TestContext extends CommandContext {
  readonly stdout: Capture;
  readonly stderr: Capture;
  readonly signals: ManualSignals;
  /** Options of every Consul client the commands built. */
  readonly consulOptions: ConsulOptions[];
}

export interface TestContextOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  stdin?: Buffer | string;
  isTTY?: boolean;
}

/** A fresh context; the environment holds no CONSUL_* variable unless given. */
export function testContext(options: TestContextOptions): TestContext {
  const consulOptions: ConsulOptions[] = [];
  return {
    stdout: new Capture(),
    stderr: new Capture(),
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    env: options.env ?? {},
    cwd: options.cwd,
    isTTY: options.isTTY ?? false,
    createConsul: (o) => {
      consulOptions.push(o);
      return Promise.resolve(new Consul(o));
    },
    now: () => performance.now(),
    signals: new ManualSignals(),
    consulOptions,
  };
}
