/**
 * The signals a supervisor is normally sent. All of them are forwarded to the child's process group;
 * SIGINT and SIGTERM also end the supervision (abort the acquisition, or stop the child and release).
 *
 * @module
 */

/** Signals the supervisor catches and forwards to the child group. */
export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** One of {@link FORWARDED_SIGNALS}. */
export type SupervisorSignal = (typeof FORWARDED_SIGNALS)[number];

/** Signals that end the supervision, as with `consul lock`. */
export function isShutdownSignal(signal: SupervisorSignal): boolean {
  return signal === 'SIGINT' || signal === 'SIGTERM';
}

/** Where signals come from. */
export interface SignalSource {
  /** Calls `listener` for each signal until the returned function is called. */
  subscribe(listener: (signal: SupervisorSignal) => void): () => void;
}

/**
 * The current process's signals. While subscribed, none of them has its default effect (terminating the
 * supervisor would orphan the child's lease bookkeeping); the supervisor decides what each one means.
 */
export const processSignals: SignalSource = {
  subscribe(listener) {
    const handlers = FORWARDED_SIGNALS.map((signal) => {
      const handler = (): void => listener(signal);
      process.on(signal, handler);
      return [signal, handler] as const;
    });
    return () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
  },
};
