// The lazy disk's write cache: every block written since the last flush is held here, over the image, until
// the loop device flushes (fsync of the disk file). A cut drops what is held and, until power is back,
// acknowledges and discards every write — as a disk whose volatile cache lost power. Pure but for the
// image it is handed.

/** Where the blocks land when flushed: the image file (or memory in the unit tests). */
export interface BlockStore {
  readonly size: number;
  /** Fills `target` from `offset` (past the end: zeros). */
  read(target: Buffer, offset: number): void;
  write(source: Buffer, offset: number): void;
}

export type PowerState = 'on' | 'cut';

export interface OverlayStats {
  state: PowerState;
  /** Blocks held now (written, not flushed). */
  heldBlocks: number;
  writes: number;
  flushes: number;
  /** Blocks written to the image by flushes. */
  appliedBlocks: number;
  /** Blocks dropped by the last cut. */
  droppedBlocks: number;
  /** Writes acknowledged and discarded while cut (the file system unmounting after the cut). */
  discardedWrites: number;
  /**
   * The held blocks outgrew the memory cap, so they were written to the image without a flush: a cut since
   * then proves nothing (cleared when power comes back).
   */
  overflowed: boolean;
}

export class BlockOverlay {
  private readonly held = new Map<number, Buffer>();
  private state: PowerState = 'on';
  private readonly counts = {
    writes: 0,
    flushes: 0,
    appliedBlocks: 0,
    droppedBlocks: 0,
    discardedWrites: 0,
  };
  private overflowed = false;

  constructor(
    private readonly image: BlockStore,
    readonly blockSize = 4096,
    /** Most bytes held before the overlay writes through (and says so). */
    readonly capBytes = 1024 ** 3,
  ) {}

  get size(): number {
    return this.image.size;
  }

  /** `length` bytes from `offset`: the image, with the held blocks over it. */
  read(offset: number, length: number): Buffer {
    const out = Buffer.alloc(Math.max(0, Math.min(length, this.size - offset)));
    if (out.length === 0) return out;
    this.image.read(out, offset);
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + out.length - 1) / this.blockSize);
    for (let index = first; index <= last; index++) {
      const block = this.held.get(index);
      if (!block) continue;
      const start = Math.max(offset, index * this.blockSize);
      const end = Math.min(offset + out.length, (index + 1) * this.blockSize);
      block.copy(out, start - offset, start - index * this.blockSize, end - index * this.blockSize);
    }
    return out;
  }

  /** Holds the bytes (a partial block is completed from what the disk holds now); discards them while cut. */
  write(offset: number, data: Buffer): void {
    if (offset < 0 || offset + data.length > this.size)
      throw new RangeError(
        `write of ${data.length} bytes at ${offset} is past the disk's end (${this.size})`,
      );
    if (this.state === 'cut') {
      this.counts.discardedWrites++;
      return;
    }
    this.counts.writes++;
    let done = 0;
    while (done < data.length) {
      const at = offset + done;
      const index = Math.floor(at / this.blockSize);
      const within = at % this.blockSize;
      const length = Math.min(this.blockSize - within, data.length - done);
      this.heldBlock(index, length === this.blockSize).set(data.subarray(done, done + length), within);
      done += length;
    }
    if (this.held.size * this.blockSize > this.capBytes) {
      this.overflowed = true;
      this.applyHeld();
    }
  }

  /** The disk's cache reaches the platter: every held block goes to the image. Ignored while cut. */
  flush(): void {
    if (this.state === 'cut') return;
    this.counts.flushes++;
    this.applyHeld();
  }

  /** Power cut: the held blocks are gone; writes are discarded until `powerOn`. Returns the blocks dropped. */
  cut(): number {
    const dropped = this.held.size;
    this.held.clear();
    this.state = 'cut';
    this.counts.droppedBlocks = dropped;
    return dropped;
  }

  powerOn(): void {
    this.state = 'on';
    this.overflowed = false;
    this.counts.discardedWrites = 0;
  }

  stats(): OverlayStats {
    return { state: this.state, heldBlocks: this.held.size, overflowed: this.overflowed, ...this.counts };
  }

  private heldBlock(index: number, whole: boolean): Buffer {
    let block = this.held.get(index);
    if (!block) {
      block = Buffer.alloc(this.blockSize);
      if (!whole) this.image.read(block, index * this.blockSize);
      this.held.set(index, block);
    }
    return block;
  }

  private applyHeld(): void {
    // In block order: the image file is written front to back.
    for (const index of [...this.held.keys()].sort((a, b) => a - b))
      this.image.write(this.held.get(index) as Buffer, index * this.blockSize);
    this.counts.appliedBlocks += this.held.size;
    this.held.clear();
  }
}

/** A BlockStore in memory (tests, and nothing else). */
export class MemoryBlockStore implements BlockStore {
  readonly bytes: Buffer;
  constructor(size: number) {
    this.bytes = Buffer.alloc(size);
  }
  get size(): number {
    return this.bytes.length;
  }
  read(target: Buffer, offset: number): void {
    target.fill(0);
    this.bytes.copy(target, 0, offset, Math.min(offset + target.length, this.bytes.length));
  }
  write(source: Buffer, offset: number): void {
    source.copy(this.bytes, offset);
  }
}
