// What a crash round ends in, as a strategy the crash rounds call at fixed points (crash-kind): the rounds'
// code stays one, with no `if (power-loss)` through it. A leaf: types only.
import type { CrashKind } from './domain.js';
import type { PowerCut, PowerLossSetup } from './outcomes.js';

export interface CrashStrategy {
  readonly kind: CrashKind;
  /** Before the first round, on the running stack. */
  setUp(): Promise<void>;
  /** Before each round's load starts. */
  beforeLoad(): Promise<void>;
  /** After the SIGKILL, before the services start again: the power cut, when there is one. */
  afterKill(): Promise<PowerCut | undefined>;
  /**
   * After the rounds, whatever became of them: everything the strategy changed is undone, and the services
   * run again (unless `aborted`: the run is being interrupted and torn down).
   */
  tearDown(aborted: boolean): Promise<void>;
  /** What the set-up and tear-down did, for the report. */
  readonly setup?: PowerLossSetup;
}

/** A process crash: the SIGKILL is all there is. */
export const PROCESS_CRASH: CrashStrategy = {
  kind: 'process',
  setUp: async () => undefined,
  beforeLoad: async () => undefined,
  afterKill: async () => undefined,
  tearDown: async () => undefined,
};
