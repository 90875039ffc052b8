import * as core from '@actions/core';
import type { Engine } from '../docker/engine.js';
import { errorMessage } from '../errors.js';
import type { ArchiveConsistency } from '../inputs.js';

export interface QuiesceOptions {
  mode: ArchiveConsistency;
  signal?: AbortSignal;
  /**
   * Start the stopped containers again afterwards (default). False only when the stack is torn down as soon
   * as the run ends (the CLI): starting a database to stop it a moment later costs its start-up and a second
   * shutdown, and nothing would use it in between. Paused containers are always unpaused.
   */
  startAgain?: boolean;
}

/**
 * Quiesces the running containers that mount a volume while `work` reads it: `stop` (default; a clean
 * shutdown flushes databases), `pause` (freezes processes; files may be mid-write but do not change), or
 * `live` (nothing). Only containers that were running are started again, in a finally: also when `signal`
 * aborts `work`. A container already stopped (for an earlier volume of the same service) stays as it is.
 */
export async function withQuiescedVolume<T>(
  engine: Engine,
  volume: string,
  options: QuiesceOptions,
  work: () => Promise<T>,
): Promise<T> {
  const { mode, signal } = options;
  if (mode === 'live') return work();
  const running = (await engine.containersUsingVolume(volume)).filter((c) => c.state === 'running');
  const quiesced: string[] = [];
  try {
    for (const container of running) {
      signal?.throwIfAborted(); // interrupted: stop no more; the ones already stopped start again below
      core.info(
        `${mode === 'stop' ? 'Stopping' : 'Pausing'} ${container.name} while volume ${volume} is read`,
      );
      if (mode === 'stop') await engine.stopContainer(container.id);
      else await engine.pauseContainer(container.id);
      quiesced.push(container.id);
    }
    return await work();
  } finally {
    if (mode === 'pause' || options.startAgain !== false) await resume(engine, mode, quiesced);
  }
}

async function resume(engine: Engine, mode: 'stop' | 'pause', ids: string[]): Promise<void> {
  for (const id of ids) {
    try {
      if (mode === 'stop') await engine.startContainer(id);
      else await engine.unpauseContainer(id);
    } catch (error) {
      core.warning(
        `Could not ${mode === 'stop' ? 'start' : 'unpause'} container ${id} again: ${errorMessage(error)}`,
      );
    }
  }
}
