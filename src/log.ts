import * as core from '@actions/core';

/**
 * What the run tells its reader, as it goes: the job log on GitHub, the terminal in the CLI (whose console
 * translates the workflow commands). Created once by an entry point and passed down; tests record it.
 */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** A collapsible section of the log around `work` (one per phase). */
  group<T>(name: string, work: () => Promise<T>): Promise<T>;
}

/** The job log, through @actions/core. */
export const actionsLog: Log = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  error: (message) => core.error(message),
  debug: (message) => core.debug(message),
  group: (name, work) => core.group(name, work),
};
