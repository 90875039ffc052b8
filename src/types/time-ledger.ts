// Where a run's time goes: the compose CLI, the user's own commands, and the rest (the tool's own work).
// A leaf, so the compose wrapper, the command runner and the report can all use it.

/** The user's commands, by what they are for: `run` (tests), `probes`, `write`. */
export type UserCommandKind = 'tests' | 'probes' | 'writes';

/** A run's time split, in milliseconds; `toolMs` is what is left once compose and the user's commands are taken out. */
export interface TimeSplit {
  totalMs: number;
  composeMs: number;
  userCommandsMs: Record<UserCommandKind, number>;
  toolMs: number;
}

/** The run's split, and the same split for each timed phase (by its report.timings key). */
export interface RunTimeSplit extends TimeSplit {
  phases: Record<string, TimeSplit>;
}

/** Adds up time spent in compose and in the user's commands since it was made. */
export class TimeLedger {
  private readonly startedAt: number;
  private composeMs = 0;
  private readonly userMs: Record<UserCommandKind, number> = { tests: 0, probes: 0, writes: 0 };

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  /** Runs `work` and books its time to compose. */
  async compose<T>(work: () => Promise<T>): Promise<T> {
    const started = this.now();
    try {
      return await work();
    } finally {
      this.composeMs += this.now() - started;
    }
  }

  /** Books the time one user command took. */
  userCommand(kind: UserCommandKind, ms: number): void {
    this.userMs[kind] += ms;
  }

  /** The split of what happened between an earlier split and now. */
  since(earlier: TimeSplit): TimeSplit {
    const now = this.split();
    const user = (kind: UserCommandKind) => now.userCommandsMs[kind] - earlier.userCommandsMs[kind];
    return {
      totalMs: now.totalMs - earlier.totalMs,
      composeMs: now.composeMs - earlier.composeMs,
      userCommandsMs: { tests: user('tests'), probes: user('probes'), writes: user('writes') },
      toolMs: now.toolMs - earlier.toolMs,
    };
  }

  /** The split so far; the total runs from the ledger's creation to now. */
  split(): TimeSplit {
    const totalMs = this.now() - this.startedAt;
    const userTotal = this.userMs.tests + this.userMs.probes + this.userMs.writes;
    return {
      totalMs,
      composeMs: this.composeMs,
      userCommandsMs: { ...this.userMs },
      toolMs: Math.max(0, totalMs - this.composeMs - userTotal),
    };
  }
}
