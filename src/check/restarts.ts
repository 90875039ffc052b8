import type { Compose } from '../docker/compose.js';
import type { Engine } from '../docker/engine.js';
import type { RestartMode } from '../types/domain.js';
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
      await compose.start(options.services);
      break;
    case 'kill':
      await compose.kill(options.services);
      await compose.start(options.services);
      break;
    case 'recreate':
      return upAndWait(compose, engine, { ...up, forceRecreate: true }, what);
    case 'down-up':
      await compose.down();
      break;
  }
  return upAndWait(compose, engine, up, what);
}
