// Listings on disk: one JSON value a line, written in batches, read back as a stream, sorted by a key
// with an external merge (sorted runs of bounded size, then a k-way merge), so memory stays flat in the
// number of lines.
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { mergeReadBytes } from '../archive/spool.js';

/** Appends lines to a file with synchronous batched writes (callable from a synchronous tar visitor). */
export class LineWriter {
  private readonly fd: number;
  private batch: string[] = [];
  private batchBytes = 0;
  lines = 0;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'w');
  }

  write(line: string): void {
    this.batch.push(line, '\n');
    this.batchBytes += line.length + 1;
    this.lines++;
    if (this.batchBytes >= WRITE_BATCH_BYTES) this.flush();
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    writeSync(this.fd, this.batch.join(''));
    this.batch = [];
    this.batchBytes = 0;
  }
}

const WRITE_BATCH_BYTES = 256 * 1024;

/** The lines of a file, as they are read (`highWaterMark`: the read size). */
export async function* readLines(file: string, highWaterMark?: number): AsyncGenerator<string> {
  const input = createReadStream(file, highWaterMark ? { highWaterMark } : {});
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) if (line !== '') yield line;
}

/** A line and its sort key. */
export interface Keyed<T> {
  key: Buffer;
  value: T;
}

/**
 * Collects values and writes them to disk as sorted runs of at most `runSize`; `merged()` then yields
 * every value once, in key order, holding one value per run in memory.
 */
export class ExternalSorter<T> {
  private pending: Keyed<T>[] = [];
  private readonly runs: string[] = [];

  constructor(
    private readonly runFile: (index: number) => string,
    private readonly keyOf: (value: T) => Buffer,
    private readonly runSize = DEFAULT_RUN_SIZE,
  ) {}

  add(value: T): void {
    this.pending.push({ key: this.keyOf(value), value });
    if (this.pending.length >= this.runSize) this.writeRun();
  }

  /** The run files written so far (the caller removes them with its temp dir). */
  get files(): readonly string[] {
    return this.runs;
  }

  /** Every value added, in key order (equal keys: in run order). */
  async *merged(): AsyncGenerator<Keyed<T>> {
    if (this.pending.length > 0) this.writeRun();
    // The runs' read buffers share one budget, so a million files need no more memory than 200k.
    const readBytes = mergeReadBytes(this.runs.length);
    const heads = this.runs.map((file) => runReader<T>(file, this.keyOf, readBytes));
    const current = await Promise.all(heads.map((reader) => reader.next()));
    for (;;) {
      let smallest = -1;
      for (let i = 0; i < current.length; i++) {
        const candidate = current[i];
        if (!candidate || candidate.done) continue;
        const best = smallest === -1 ? undefined : current[smallest];
        if (!best || best.done || Buffer.compare(candidate.value.key, best.value.key) < 0) smallest = i;
      }
      const chosen = current[smallest];
      if (!chosen || chosen.done) return;
      yield chosen.value;
      current[smallest] = await (heads[smallest] as AsyncGenerator<Keyed<T>>).next();
    }
  }

  /** Every value added, in no particular order. */
  async *all(): AsyncGenerator<T> {
    if (this.pending.length > 0) this.writeRun();
    for (const file of this.runs) for await (const line of readLines(file)) yield JSON.parse(line) as T;
  }

  private writeRun(): void {
    this.pending.sort((a, b) => Buffer.compare(a.key, b.key));
    const writer = new LineWriter(this.runFile(this.runs.length));
    for (const { value } of this.pending) writer.write(JSON.stringify(value));
    writer.close();
    this.runs.push(writer.file);
    this.pending = [];
  }
}

/** Values a run holds: 20k listing entries are a few MiB. */
const DEFAULT_RUN_SIZE = 20_000;

async function* runReader<T>(
  file: string,
  keyOf: (value: T) => Buffer,
  readBytes: number,
): AsyncGenerator<Keyed<T>> {
  for await (const line of readLines(file, readBytes)) {
    const value = JSON.parse(line) as T;
    yield { key: keyOf(value), value };
  }
}
