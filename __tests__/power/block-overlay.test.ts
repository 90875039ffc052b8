import { describe, expect, it } from 'vitest';
import { BlockOverlay, MemoryBlockStore } from '../../src/power/block-overlay.js';

const BS = 4096;

function disk(blocks = 16, capBytes?: number) {
  const image = new MemoryBlockStore(blocks * BS);
  image.bytes.fill(0x11);
  return { image, overlay: new BlockOverlay(image, BS, capBytes) };
}

describe('BlockOverlay: a disk whose volatile cache holds every write until a flush', () => {
  it('reads see unsynced writes; the image does not until the flush', () => {
    const { image, overlay } = disk();
    overlay.write(BS, Buffer.alloc(BS, 0x22));
    expect(overlay.read(BS, BS).every((b) => b === 0x22)).toBe(true);
    expect(image.bytes[BS]).toBe(0x11);
    overlay.flush();
    expect(image.bytes.subarray(BS, 2 * BS).every((b) => b === 0x22)).toBe(true);
    expect(overlay.stats()).toMatchObject({ heldBlocks: 0, flushes: 1, appliedBlocks: 1 });
  });

  it('a partial write keeps the rest of its block as the disk had it, also across two blocks', () => {
    const { image, overlay } = disk();
    overlay.write(BS - 100, Buffer.alloc(300, 0x33));
    const read = overlay.read(BS - 200, 500);
    expect([...read.subarray(0, 100)].every((b) => b === 0x11)).toBe(true);
    expect([...read.subarray(100, 400)].every((b) => b === 0x33)).toBe(true);
    expect([...read.subarray(400)].every((b) => b === 0x11)).toBe(true);
    expect(overlay.stats().heldBlocks).toBe(2);
    overlay.flush();
    expect(image.bytes.subarray(BS - 200, BS + 300)).toEqual(read);
  });

  it('a cut drops what was not flushed and keeps what was', () => {
    const { image, overlay } = disk();
    overlay.write(0, Buffer.alloc(BS, 0x44));
    overlay.flush();
    overlay.write(2 * BS, Buffer.alloc(BS, 0x55));
    overlay.write(3 * BS, Buffer.alloc(10, 0x55));
    expect(overlay.cut()).toBe(2);
    overlay.powerOn();
    expect(overlay.read(0, BS).every((b) => b === 0x44)).toBe(true);
    expect(overlay.read(2 * BS, 2 * BS).every((b) => b === 0x11)).toBe(true);
    expect(image.bytes.subarray(2 * BS, 4 * BS).every((b) => b === 0x11)).toBe(true);
    expect(overlay.stats().droppedBlocks).toBe(2);
  });

  it('while cut, writes are acknowledged and discarded, and flushes do nothing', () => {
    const { image, overlay } = disk();
    overlay.cut();
    overlay.write(0, Buffer.alloc(BS, 0x66));
    overlay.flush();
    expect(image.bytes[0]).toBe(0x11);
    expect(overlay.read(0, 1)[0]).toBe(0x11);
    expect(overlay.stats()).toMatchObject({ state: 'cut', discardedWrites: 1, heldBlocks: 0, flushes: 0 });
    overlay.powerOn();
    overlay.write(0, Buffer.alloc(BS, 0x77));
    overlay.flush();
    expect(image.bytes[0]).toBe(0x77);
  });

  it('the size never changes; a write past the end is refused', () => {
    const { overlay } = disk(2);
    expect(() => overlay.write(2 * BS - 1, Buffer.alloc(2))).toThrow(RangeError);
    expect(overlay.size).toBe(2 * BS);
    expect(overlay.read(2 * BS - 10, 100).length).toBe(10);
  });

  it('past the memory cap it writes through and says so until power comes back (the round is no proof)', () => {
    const { image, overlay } = disk(16, 2 * BS);
    overlay.write(0, Buffer.alloc(3 * BS, 0x88));
    expect(overlay.stats()).toMatchObject({ overflowed: true, heldBlocks: 0 });
    expect(image.bytes[2 * BS]).toBe(0x88);
    overlay.cut();
    expect(overlay.stats().overflowed).toBe(true);
    overlay.powerOn();
    expect(overlay.stats().overflowed).toBe(false);
  });
});
