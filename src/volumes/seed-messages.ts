import { engineRefusal } from '../docker/engine.js';
import { HostTarError } from './data-path.js';
import { UserError, errorMessage } from '../errors.js';
import { isOutOfSpace } from '../stores/files.js';

/** What we know about the space a seed needed, for an out-of-space message. */
export interface SpaceFacts {
  /** Where the volume's data lives (a bind-backed volume's directory, else its mountpoint). */
  location?: string;
  /** Bytes of file content the archive holds (its manifest's `bytes`). */
  needed?: number;
  /** Bytes the volume had room for (free space, plus what emptying it freed). */
  room?: number;
}

/**
 * The one line a failed seed ends with: what failed, in the engine's own words when the engine refused,
 * what to do, and (`holds`) what the volume holds now.
 */
export function seedFailureMessage(
  volume: string,
  file: string,
  cause: unknown,
  holds: string,
  space: SpaceFacts = {},
): string {
  return `${whatFailed(volume, file, cause, space)}; ${holds}`;
}

function whatFailed(volume: string, file: string, cause: unknown, space: SpaceFacts): string {
  const refusal = engineRefusal(cause);
  const said = refusal ? `${refusal.status}: ${refusal.message}` : errorMessage(cause);
  if (isOutOfSpace(cause)) {
    const at = space.location ? ` (at ${space.location})` : '';
    const needed = space.needed === undefined ? '' : `: the archive needs ${space.needed} bytes`;
    const room = space.room === undefined ? '' : ` and the volume had room for ${space.room}`;
    return `Volume ${volume}${at} ran out of space while seeding from ${file} (${said})${needed}${room}; make room on that disk or seed a larger volume`;
  }
  if (cause instanceof UserError) return cause.message.replace(/\.$/, '');
  if (refusal) {
    return `The Docker engine refused to write volume ${volume} (${said}): fix what the engine names (its log has more), then seed again`;
  }
  if (cause instanceof HostTarError) {
    return `GNU tar on the host refused to write volume ${volume} (${cause.said || `exit ${cause.status}`}): fix what it names, then seed again`;
  }
  return `Seeding volume ${volume} from ${file} failed (${said})`;
}

/** What an overwritten volume holds after a failure it was restored from. */
export function stillHoldsPrevious(volume: string, digest: string): string {
  return `volume ${volume} still holds its previous contents (digest ${digest}).`;
}
