import { engineLostError } from './docker/engine.js';
import { UserError, errorMessage } from './errors.js';

/** What the user reads of an error, and (for errors that are not ours to word) the stack for debug logs. */
export interface DescribedError {
  /** The error as worded for the user: a lost engine becomes one line naming DOCKER_HOST. */
  error: unknown;
  message: string;
  /** Set for unexpected errors only: a UserError's message is the whole story. */
  stack?: string;
}

/** The one error boundary's rule, used by the action, the pipeline and the CLI. */
export function describeError(thrown: unknown): DescribedError {
  const error = engineLostError(thrown) ?? thrown;
  const stack = error instanceof UserError ? undefined : error instanceof Error ? error.stack : String(error);
  return { error, message: errorMessage(error), ...(stack ? { stack } : {}) };
}

/** Once interrupted, errors other than ours (AbortError, a cut stream) are echoes: the signal is the cause. */
export function echoOfInterruption(error: unknown, signal: AbortSignal | undefined): unknown {
  return signal?.aborted === true && !(error instanceof UserError) ? signal.reason : error;
}
