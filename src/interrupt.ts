import { constants } from 'node:os';
import { UserError } from './errors.js';

/** The signals that stop a run: Ctrl-C, `kill`/`timeout`/a cancelled job, a closed terminal. */
export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type InterruptSignal = (typeof INTERRUPT_SIGNALS)[number];

/** How a shell reports a process ended by `signal`: 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

export interface Interruption {
  /** Aborted on the first signal: the work in progress stops and undoes itself. */
  readonly signal: AbortSignal;
  /** The first signal received, if one was. */
  readonly received: InterruptSignal | undefined;
  /** Removes the handlers. */
  dispose(): void;
}

/**
 * Traps SIGINT, SIGTERM and SIGHUP: the first aborts `signal` (its reason a UserError naming the signal) and
 * calls `onFirst`; later ones are ignored, so a second Ctrl-C, or the runner's SIGTERM after its SIGINT,
 * cannot cut short the cleanup that restarts containers or removes a half-seeded volume.
 */
export function trapInterrupts(onFirst: (signal: InterruptSignal) => void): Interruption {
  const controller = new AbortController();
  let received: InterruptSignal | undefined;
  const handle = (signal: InterruptSignal) => {
    if (received) return;
    received = signal;
    controller.abort(new UserError(`Interrupted by ${signal}: the work in progress was undone.`));
    onFirst(signal);
  };
  const handlers = INTERRUPT_SIGNALS.map((signal) => [signal, () => handle(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose: () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}

/** Rejects with the abort reason once `signal` aborts: for work that cannot be cancelled but can be left. */
export function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    else signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}
