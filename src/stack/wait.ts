// Waiting as strategy objects (testcontainers' Wait): what "the stack is up" means is stated once, with its
// clock injectable, instead of fixed sleeps after `up --wait`.

/** A container as one look saw it: when it last started (engine clock, ISO) and how often it crashed. */
export interface ContainerRun {
  service: string;
  startedAt: string;
  restartCount: number;
}

/** What a strategy needs from the stack: a look at it, the engine's clock, and a way to pause. */
export interface WaitTarget<T> {
  /**
   * Looks at the stack now; throws when it is not healthy (a container stopped, unhealthy, or restarted
   * since the first look). Returns what the caller keeps, and the selected running containers.
   */
  look(): Promise<{ result: T; running: ContainerRun[] }>;
  /** Milliseconds since the epoch by the engine's clock (container start times are in it). */
  engineNow(): Promise<number>;
  sleep(ms: number): Promise<void>;
}

export interface WaitStrategy {
  waitUntilReady<T>(target: WaitTarget<T>): Promise<T>;
}

export interface SteadyRunOptions {
  /** How long every container must have run since its last start. */
  uptimeMs: number;
  /** The same for a container that has crashed before (its restart policy brought it back). */
  uptimeAfterCrashMs: number;
  /** The longest pause between two looks. */
  maxPauseMs: number;
}

export const STEADY_RUN_DEFAULTS: SteadyRunOptions = {
  uptimeMs: 1000,
  uptimeAfterCrashMs: 5000,
  maxPauseMs: 1000,
};

/**
 * Ready once every selected container has been running for `uptimeMs` since its last start (after a crash:
 * `uptimeAfterCrashMs`), with every look in between healthy. Compose's `--wait` can report a container
 * healthy just before it exits, and between two crashes of a loop it looks running at any one moment; a
 * container that stayed up that long is past both. The time counts from the container's start, not from
 * our return, so a stack whose healthcheck already took that long is ready at the first look.
 */
export class SteadyRunWait implements WaitStrategy {
  constructor(private readonly options: SteadyRunOptions = STEADY_RUN_DEFAULTS) {}

  async waitUntilReady<T>(target: WaitTarget<T>): Promise<T> {
    for (;;) {
      const { result, running } = await target.look();
      const now = await target.engineNow();
      const missing = Math.max(0, ...running.map((c) => this.required(c) - uptimeOf(c, now)));
      if (missing <= 0) return result;
      await target.sleep(Math.min(missing, this.options.maxPauseMs));
    }
  }

  private required(container: ContainerRun): number {
    return container.restartCount > 0 ? this.options.uptimeAfterCrashMs : this.options.uptimeMs;
  }
}

/** How long the container has run by the engine's clock; an unreadable start time counts as just started. */
function uptimeOf(container: ContainerRun, engineNow: number): number {
  const started = Date.parse(container.startedAt);
  return Number.isFinite(started) ? engineNow - started : 0;
}

/** The waits the check uses. */
export const Wait = {
  /** Every container up for a while since its last start: see SteadyRunWait. */
  forSteadyRun: (options: Partial<SteadyRunOptions> = {}): WaitStrategy =>
    new SteadyRunWait({ ...STEADY_RUN_DEFAULTS, ...options }),
};

/**
 * The engine's clock from ours: the offset is measured once (the engine's SystemTime, taken as read at
 * the end of the call, so the estimate is never ahead of the engine and a wait is never cut short).
 */
export class EngineClock {
  private offset: Promise<number> | undefined;

  constructor(
    private readonly systemTime: () => Promise<number>,
    private readonly localNow: () => number = Date.now,
  ) {}

  async now(): Promise<number> {
    this.offset ??= this.measure();
    return this.localNow() + (await this.offset);
  }

  private async measure(): Promise<number> {
    const engineTime = await this.systemTime();
    return engineTime - this.localNow();
  }
}
