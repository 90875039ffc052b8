import type { Compose } from '../docker/compose.js';
import type { Engine } from '../docker/engine.js';
import { CRASH_MODES, type RestartMode, type RestartOrder } from '../types/domain.js';
import { upAndWait, type RestartBaseline } from '../stack/lifecycle.js';

/** What each mode does to a container, as the report explains it. */
export const RESTART_MODE_EFFECTS: Record<RestartMode, string> = {
  restart: 'docker restart: same container, writable layer kept',
  'stop-start': 'stop then start: same container, writable layer kept',
  kill: 'SIGKILL then start: crash durability, writable layer kept',
  recreate: 'up --force-recreate: new containers, writable layer lost, anonymous volumes reused',
  'down-up': 'down then up: new containers, writable layer and anonymous volumes lost',
};

export interface RestartOptions {
  services: string[];
  waitTimeoutSeconds: number;
}

/**
 * Performs one restart mode and waits until the stack is healthy again. `compose restart/start` have no
 * --wait, so every mode ends with `up -d --wait` (a no-op for running containers) and a state re-check.
 */
export async function performRestart(
  mode: RestartMode,
  compose: Compose,
  engine: Engine,
  options: RestartOptions,
): Promise<RestartBaseline> {
  const up = { services: options.services, waitTimeoutSeconds: options.waitTimeoutSeconds };
  const what = `after ${mode}`;
  switch (mode) {
    case 'restart':
      await compose.restart(options.services);
      break;
    case 'stop-start':
      await compose.stop(options.services);
      return startAndWait(compose, engine, options, what);
    case 'kill':
      await compose.kill(options.services);
      return startAndWait(compose, engine, options, what);
    case 'recreate':
      return upAndWait(compose, engine, { ...up, forceRecreate: true }, what);
    case 'down-up':
      await compose.down();
      break;
  }
  return upAndWait(compose, engine, up, what);
}

/**
 * Starts the stopped (or killed) containers of `started` (default: the selected services) and waits until
 * the selected services are healthy: how every crash and stop is recovered from.
 */
export async function startAndWait(
  compose: Compose,
  engine: Engine,
  options: RestartOptions & { started?: string[] },
  what: string,
): Promise<RestartBaseline> {
  await compose.start(options.started ?? options.services);
  return upAndWait(
    compose,
    engine,
    { services: options.services, waitTimeoutSeconds: options.waitTimeoutSeconds },
    what,
  );
}

export interface ModePlan {
  modes: RestartMode[];
  /** The log line saying the order was changed, and why. */
  reordered?: string;
  /** A crash left after a graceful stop with nothing written in between: it tests nothing unflushed. */
  warning?: string;
}

/**
 * The order the modes run in. A graceful stop flushes what a crash is meant to lose, so crash modes go
 * first (crash-first), unless the user keeps the order; then a crash after a graceful mode is only a test
 * of unflushed writes when `write` adds fresh ones before it.
 */
export function planModes(modes: RestartMode[], order: RestartOrder, writesBeforeEach: boolean): ModePlan {
  const isCrash = (m: RestartMode) => CRASH_MODES.includes(m);
  const firstGraceful = modes.findIndex((m) => !isCrash(m));
  const lateCrash = modes.find((m, i) => isCrash(m) && firstGraceful !== -1 && i > firstGraceful);
  if (!lateCrash) return { modes };
  if (order === 'crash-first') {
    const planned = [...modes.filter(isCrash), ...modes.filter((m) => !isCrash(m))];
    return {
      modes: planned,
      reordered: `Restart modes run as ${planned.join(', ')} (restart-order: crash-first): ${lateCrash} runs before ${modes[firstGraceful]}, whose graceful stop would flush what a crash should lose.`,
    };
  }
  if (writesBeforeEach) return { modes };
  return {
    modes,
    warning: `${lateCrash} runs after ${modes[firstGraceful]} (restart-order: as-given) with no write before it: the graceful stop flushed everything, so the crash tests no unflushed write. Add write commands, or put ${lateCrash} first.`,
  };
}
