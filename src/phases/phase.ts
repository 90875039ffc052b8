import type { RunnerContext } from '../context.js';
import type { Settings } from '../inputs.js';
import type { Log } from '../log.js';
import type { Report } from '../report/schema.js';
import type { RestartBaseline } from '../stack/lifecycle.js';
import type { Stack } from '../stack/stack.js';
import type { PhaseName, PhaseOutcome } from '../types/outcomes.js';

/** A stack that is up and healthy: the containers' marks to watch, and the environment for commands. */
export interface RunningStack extends Stack {
  baseline: RestartBaseline;
  /** COMPOSE_* and `<SERVICE>_PORT_<port>`, read once from the containers. */
  commandEnv(): Promise<Record<string, string>>;
}

/** What every phase may use; each phase module says which settings it reads (a Pick of Settings). */
export interface PhaseInput {
  settings: Settings;
  ctx: RunnerContext;
  log: Log;
  stack: Stack;
  /** Set once `up` or `attach` has run. */
  running?: RunningStack;
  /** Store targets of the archive phase, checked before anything started. */
  archiveTo: string[];
  /**
   * The report as if the run ended now, with `pending` (the phase still running) and its timing added: the
   * final report.json stored beside the archives.
   */
  reportSoFar(pending: PhaseOutcome, timings?: Record<string, number>): Report;
  /** Aborted when the run is interrupted: no further phase starts; a seed or archive undoes its work. */
  signal?: AbortSignal;
  /** The stack is torn down as soon as the run ends (the CLI): nothing uses a container after the last phase. */
  teardownFollows?: boolean;
  /** What the phases before this one returned, and their timings (the restore drill adds up the seed's and up's). */
  earlier?(): { outcomes: PhaseOutcome[]; timings: Record<string, number> };
}

export interface Phase {
  name: PhaseName;
  /** The report.timings key ('check' for the restarts, as before); none for untimed phases. */
  timing?: string;
  run(input: PhaseInput): Promise<PhaseOutcome>;
}

/** `up` and `attach`: they bring (or find) the stack running, which the phases after them work on. */
export interface StartPhase {
  name: 'up' | 'attach';
  timing?: string;
  start(input: PhaseInput): Promise<{ outcome: PhaseOutcome; running: RunningStack }>;
}

/** The running stack a phase after `up`/`attach` needs; the phase table guarantees it is there. */
export function runningStack(input: PhaseInput): RunningStack {
  if (!input.running) throw new Error('phase table: this phase needs `up` or `attach` before it');
  return input.running;
}

/** A phase that failed part way: what it found before the error still belongs in the report. */
export class PhaseInterrupted extends Error {
  constructor(
    readonly outcome: PhaseOutcome,
    override readonly cause: unknown,
  ) {
    super('phase interrupted', { cause });
  }
}

/** Runs `work`, which fills `outcome` as it goes; an error keeps what was filled in. */
export async function keepingPartial<T extends PhaseOutcome>(outcome: T, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new PhaseInterrupted(outcome, error);
  }
}
