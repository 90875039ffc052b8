import * as core from '@actions/core';
import type { Engine } from '../docker/engine.js';
import { errorMessage } from '../errors.js';
import type { ArchiveConsistency } from '../inputs.js';

/**
 * Quiesces the running containers that mount a volume while `work` reads it: `stop` (default; a clean
 * shutdown flushes databases), `pause` (freezes processes; files may be mid-write but do not change), or
 * `live` (nothing). Only containers that were running are started again, in a finally: also when `signal`
 * aborts `work`.
 */
export async function withQuiescedVolume<T>(
  engine: Engine,
  volume: string,
  mode: ArchiveConsistency,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
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
    for (const id of quiesced) {
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
}
