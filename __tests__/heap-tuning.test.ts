import { constants, PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { noteStreamedBytes, SCAVENGE_EVERY_BYTES } from '../src/heap-tuning.js';

const MiB = 1024 * 1024;
const chunkMemory = () => process.memoryUsage().arrayBuffers;

/** Dead stream chunks: 64 KiB each outside the heap, their Buffer objects dropped at once. */
function dropChunks(bytes: number): void {
  for (let done = 0; done < bytes; done += 64 * 1024) Buffer.allocUnsafeSlow(64 * 1024).fill(1);
}

/**
 * A full collection, to end any incremental marking V8 has begun in this worker: chunks allocated while it
 * runs are kept for its cycle, so a scavenge frees none of them. (heap-tuning set --expose-gc.)
 */
const collectFully = runInNewContext('gc') as () => void;

/**
 * The chunk memory after up to `ms` of waiting: V8 may free a scavenged generation's chunks on a background
 * thread. Atomics.wait blocks this thread without allocating or running tasks, so no collection can start.
 */
function chunkMemoryAfterSweep(below: number, ms: number): number {
  const idle = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < ms && chunkMemory() >= below; waited += 10) Atomics.wait(idle, 0, 0, 10);
  return chunkMemory();
}

/** One try: the dead chunks' memory after one byte short of the threshold, and after the threshold. */
function chunksLeftAroundTheThreshold(): { before: number; after: number } {
  collectFully();
  noteStreamedBytes(SCAVENGE_EVERY_BYTES); // start from a fresh count
  const base = chunkMemoryAfterSweep(0, 50);
  dropChunks(16 * MiB);
  noteStreamedBytes(SCAVENGE_EVERY_BYTES - 1);
  const before = chunkMemory() - base;
  noteStreamedBytes(1);
  return { before, after: chunkMemoryAfterSweep(base + 2 * MiB, 300) - base };
}

/** The minor collections that started while `run` ran. */
async function scavengesDuring(run: () => void): Promise<number> {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const start = performance.now();
  run();
  const end = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 50)); // entries arrive on a later turn
  observer.disconnect();
  const minor = (entry: PerformanceEntry) =>
    (entry as PerformanceEntry & { detail: { kind: number } }).detail.kind ===
    constants.NODE_PERFORMANCE_GC_MINOR;
  return seen.filter((entry) => minor(entry) && entry.startTime >= start && entry.startTime <= end).length;
}

describe('noteStreamedBytes', () => {
  it('scavenges when SCAVENGE_EVERY_BYTES have streamed, not one byte before', async () => {
    noteStreamedBytes(SCAVENGE_EVERY_BYTES);
    expect(await scavengesDuring(() => noteStreamedBytes(SCAVENGE_EVERY_BYTES - 1))).toBe(0);
    expect(await scavengesDuring(() => noteStreamedBytes(1))).toBe(1);
    expect(await scavengesDuring(() => noteStreamedBytes(SCAVENGE_EVERY_BYTES / 2))).toBe(0);
  });

  it('frees dead stream chunks with that scavenge', () => {
    // V8 collects on its own too (Node 24 counts young chunks towards a scavenge; marking it starts keeps
    // chunks allocated meanwhile for its cycle), so one try may show little; without the scavenge none frees.
    const freed = ({ before, after }: { before: number; after: number }) =>
      before > 8 * MiB && after < 2 * MiB;
    const tries = [chunksLeftAroundTheThreshold()];
    while (!freed(tries.at(-1)!) && tries.length < 8) tries.push(chunksLeftAroundTheThreshold());
    expect(tries.map(freed)).toContain(true);
  });
});
