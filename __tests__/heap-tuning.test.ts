import { describe, expect, it } from 'vitest';
import { noteStreamedBytes, SCAVENGE_EVERY_BYTES } from '../src/heap-tuning.js';

const MiB = 1024 * 1024;
const chunkMemory = () => process.memoryUsage().arrayBuffers;

/** Dead stream chunks: 64 KiB each outside the heap, their Buffer objects dropped at once. */
function dropChunks(bytes: number): void {
  for (let done = 0; done < bytes; done += 64 * 1024) Buffer.allocUnsafeSlow(64 * 1024).fill(1);
}

describe('noteStreamedBytes', () => {
  it('frees dead chunks once SCAVENGE_EVERY_BYTES have streamed, not before', () => {
    noteStreamedBytes(SCAVENGE_EVERY_BYTES); // start from a fresh count and a clean young generation
    const base = chunkMemory();
    dropChunks(16 * MiB);
    noteStreamedBytes(SCAVENGE_EVERY_BYTES - 1);
    expect(chunkMemory() - base).toBeGreaterThan(12 * MiB);
    noteStreamedBytes(1);
    expect(chunkMemory() - base).toBeLessThan(2 * MiB);
  });
});
