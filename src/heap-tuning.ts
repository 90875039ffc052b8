import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Streaming a volume churns through short-lived records and buffers; left to its defaults V8 lets the old
// generation fill with that garbage before collecting. Collecting for size keeps the peak near the live set:
// a 200k-file archive without node flags, 198 → 124 MiB peak RSS, no slower (measured by hand; bench/volumes
// has the figures per shape). It is set here, at load, because the action runs without node flags; set
// after start, it still took effect in that measurement.
setFlagsFromString('--optimize-for-size');

// The CLI starts Node with a 1 MiB semi-space; the action cannot pass node flags, and Node fixes the maximum at
// start. Growth is read when V8 grows the young generation, so a factor of 1 keeps it at its starting size:
// a 200k-file seed through the action's path, 120–122 → 102–106 MiB peak RSS (two runs each, by hand).
setFlagsFromString('--semi-space-growth-factor=1');

// The chunks of a stream (64 KiB each, from pipes and sockets) live outside the heap behind small Buffer
// objects, so a young generation that fills slowly lets 25–30 MiB of dead chunks pile up before a scavenge
// frees them. A scavenge every few MiB streamed holds that to a few MiB (seed of a 400 MiB volume:
// 113 → 90 MiB peak RSS, no slower, side by side against the build before). `gc` exists only in a context created after --expose-gc is set.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as (options: { type: 'minor' }) => void;

/** Streamed bytes between two scavenges: a scavenge costs about a millisecond. */
export const SCAVENGE_EVERY_BYTES = 2 * 1024 * 1024;
let streamedSinceScavenge = 0;

/** Counts bytes a stream stage has handled; every SCAVENGE_EVERY_BYTES frees the dead chunks. */
export function noteStreamedBytes(bytes: number): void {
  streamedSinceScavenge += bytes;
  if (streamedSinceScavenge < SCAVENGE_EVERY_BYTES) return;
  streamedSinceScavenge = 0;
  collect({ type: 'minor' });
}
