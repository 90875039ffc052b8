import { StageMeter } from '../archive/stage-meter.js';
import type { SeedTimes } from '../types/restore.js';

/** Where one seed's time goes: the write (decryptor timed inside it) and the read-back. */
export class SeedClock {
  /** Times the decryptor of the stream being written (hand it to ArchiveSource.streams). */
  readonly decrypt = new StageMeter();
  private writeMs = 0;
  private readBackMs = 0;

  async write<T>(work: () => Promise<T>): Promise<T> {
    return this.time(work, (ms) => (this.writeMs += ms));
  }

  async readBack<T>(work: () => Promise<T>): Promise<T> {
    return this.time(work, (ms) => (this.readBackMs += ms));
  }

  times(): SeedTimes {
    return { decryptMs: this.decrypt.ms, writeMs: this.writeMs, readBackMs: this.readBackMs };
  }

  private async time<T>(work: () => Promise<T>, add: (ms: number) => void): Promise<T> {
    const started = Date.now();
    try {
      return await work();
    } finally {
      add(Date.now() - started);
    }
  }
}
