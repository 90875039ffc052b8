import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Per-file state of a volume's tar stream (manifest entries, the listing to digest, the listing to compare
 * with) lives here instead of in memory: records are kept in memory up to SPOOL_LIMITS.runBytes, then sorted and written
 * out as a run file; reading merges the runs. Memory stays flat in the number of files, and a volume small
 * enough for one run never touches the disk.
 */

/** How much a spool keeps in memory before it sorts and writes a run (~20k manifest entries); tests lower it. */
export const SPOOL_LIMITS = { runBytes: 4 * 1024 * 1024 };
/** Reads and writes of run files go in pieces of this size. */
const IO_BYTES = 256 * 1024;

let spoolRoot: string | undefined;

/** One directory per process under the temp dir, removed when the process exits. */
function spoolDir(): string {
  if (spoolRoot === undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), 'compose-persist-spool-'));
    spoolRoot = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return spoolRoot;
}

/** The spool directory, once a run or file has made it (undefined before). */
export function spoolDirectory(): string | undefined {
  return spoolRoot;
}

let fileCount = 0;

function spoolFile(): string {
  fileCount += 1;
  return path.join(spoolDir(), `run-${fileCount}`);
}

/** Appends text lines to a file (by default a new one in the spool dir), in batches. */
export class LineFile {
  private readonly fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Bytes written so far (UTF-8), including what is still batched. */
  bytes = 0;

  constructor(readonly file: string = spoolFile()) {
    this.fd = openSync(file, 'w');
  }

  write(text: string): void {
    this.pending.push(text);
    const length = Buffer.byteLength(text);
    this.pendingBytes += length;
    this.bytes += length;
    if (this.pendingBytes >= IO_BYTES) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    // Written as a string: node encodes it into a short-lived native buffer, not a GC-held ArrayBuffer.
    writeAll(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

function writeAll(fd: number, text: string): void {
  const written = writeSync(fd, text);
  if (written === Buffer.byteLength(text)) return;
  // A short write (rare): go on in bytes, since the cut may fall inside a UTF-8 character.
  const data = Buffer.from(text);
  let at = written;
  while (at < data.length) at += writeSync(fd, data, at);
}

/** A file's bytes, in pieces of IO_BYTES (each a new buffer: the consumer may keep it). */
export function* bytesOf(file: string): Generator<Buffer> {
  const fd = openSync(file, 'r');
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(IO_BYTES);
      const read = readSync(fd, buffer, 0, IO_BYTES, null);
      if (read === 0) return;
      yield buffer.subarray(0, read);
    }
  } finally {
    closeSync(fd);
  }
}

/** The newline-separated lines of a file, read in pieces (a newline byte is never inside a UTF-8 character). */
export function* linesOf(file: string, readBytes = IO_BYTES): Generator<string> {
  const fd = openSync(file, 'r');
  // One buffer for the whole read (lines are copied out as strings): a merge of many runs allocates no
  // ArrayBuffer per read, which V8 would only free at its next full collection.
  let buffer = Buffer.allocUnsafe(readBytes);
  try {
    let kept = 0; // bytes of a line cut by the end of the last read, at the buffer's start
    for (;;) {
      if (kept === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
      const read = readSync(fd, buffer, kept, buffer.length - kept, null);
      if (read === 0) break;
      const end = kept + read;
      const last = buffer.lastIndexOf(0x0a, end - 1);
      if (last === -1) {
        kept = end;
        continue;
      }
      yield* buffer.toString('utf8', 0, last).split('\n');
      buffer.copy(buffer, 0, last + 1, end);
      kept = end - last - 1;
    }
    if (kept > 0) yield buffer.toString('utf8', 0, kept);
  } finally {
    closeSync(fd);
  }
}

/** A record and the line it is stored as. */
export interface Stored<T> {
  record: T;
  line: string;
}

interface Keyed<T> {
  /** The sort key's bytes as a latin1 string: code units compare as the bytes do, at a string's size. */
  key: string;
  record: T;
}

/** How a SortedSpool orders, stores and reads back its records. */
export interface SpoolCodec<T> {
  /** The record's sort key, one character a byte (Latin-1), so string order is byte order. */
  keyOf(record: T): string;
  encode(record: T): string;
  decode(line: string): T;
}

/** Records sorted by key (byte order), merged from runs on disk: an external sort with flat memory. */
export class SortedSpool<T> {
  /** Held encoded (key and line, two flat strings), not as records: a third of the memory, counted exactly. */
  private buffered: { key: string; line: string }[] = [];
  private bufferedBytes = 0;
  private runs: string[] = [];
  count = 0;

  constructor(private readonly codec: SpoolCodec<T>) {}

  add(record: T): void {
    const key = this.codec.keyOf(record);
    const line = this.codec.encode(record);
    this.buffered.push({ key, line });
    this.bufferedBytes += key.length + line.length + RECORD_OVERHEAD;
    this.count += 1;
    if (this.bufferedBytes >= SPOOL_LIMITS.runBytes) this.spill();
  }

  /** Run files on disk now. */
  get runCount(): number {
    return this.runs.length;
  }

  /** True once records went to disk. */
  get spilled(): boolean {
    return this.runs.length > 0;
  }

  private sortBuffered(): { key: string; line: string }[] {
    return this.buffered.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private spill(): void {
    const out = new LineFile();
    for (const { line } of this.sortBuffered()) out.write(`${line}\n`);
    out.close();
    this.runs.push(out.file);
    this.buffered = [];
    this.bufferedBytes = 0;
  }

  /** Every record in key order (a k-way merge of the runs and what is still in memory). */
  *sorted(): Generator<T> {
    for (const { record } of this.sortedWithLines()) yield record;
  }

  /** Every record in key order with the line it is stored as (its encoding), for callers that write it out. */
  sortedWithLines(): Generator<Stored<T>> {
    this.mergeRunsDown();
    const readBytes = mergeReadBytes(this.runs.length);
    const sources: Iterator<Keyed<Stored<T>>>[] = this.runs.map((file) =>
      this.keyed(linesOf(file, readBytes)),
    );
    sources.push(this.heldInOrder());
    return merge(sources);
  }

  /**
   * Each run being merged holds a read buffer and the lines cut from it, so memory would grow with the
   * number of runs, that is with the number of files. The buffers share MERGE_READ_BYTES (down to
   * MIN_READ_BYTES each: flat up to 256 runs, about 4M manifest entries); past MERGE_FAN_IN runs, groups of
   * them are first merged into one run each, which costs one more pass over their lines.
   */
  private mergeRunsDown(): void {
    while (this.runs.length > MERGE_FAN_IN) {
      const groups: string[][] = [];
      for (let i = 0; i < this.runs.length; i += MERGE_FAN_IN)
        groups.push(this.runs.slice(i, i + MERGE_FAN_IN));
      this.runs = groups.map((group) =>
        group.length === 1 ? (group[0] as string) : this.mergeIntoRun(group),
      );
    }
  }

  /** One run holding the lines of `files`, in key order; the files are removed. */
  private mergeIntoRun(files: string[]): string {
    const out = new LineFile();
    const readBytes = mergeReadBytes(files.length);
    const lines = files.map((file) => this.keyedLines(linesOf(file, readBytes)));
    for (const line of merge(lines)) out.write(`${line}\n`);
    out.close();
    for (const file of files) rmSync(file, { force: true });
    return out.file;
  }

  private *keyedLines(lines: Iterable<string>): Generator<Keyed<string>> {
    for (const line of lines) {
      yield { key: this.codec.keyOf(this.codec.decode(line)), record: line };
    }
  }

  /** The records still in memory, sorted, with the keys already held. */
  private *heldInOrder(): Generator<Keyed<Stored<T>>> {
    for (const { key, line } of this.sortBuffered()) {
      yield { key, record: { record: this.codec.decode(line), line } };
    }
  }

  private *keyed(lines: Iterable<string>): Generator<Keyed<Stored<T>>> {
    for (const line of lines) {
      const record = this.codec.decode(line);
      yield { key: this.codec.keyOf(record), record: { record, line } };
    }
  }

  /** Removes the run files (the records in memory go too). */
  dispose(): void {
    for (const file of this.runs) rmSync(file, { force: true });
    this.runs.length = 0;
    this.buffered = [];
    this.bufferedBytes = 0;
  }
}

/** A held record's memory besides its two strings' characters: the pair object and two string headers. */
const RECORD_OVERHEAD = 64;

/** Runs merged at once (see mergeRunsDown). */
export const MERGE_FAN_IN = 256;
/** What the read buffers of one merge share, and the least each gets. */
const MERGE_READ_BYTES = 4 * 1024 * 1024;
const MIN_READ_BYTES = 16 * 1024;

/** Each run's read buffer in a merge of `runs` runs. */
export function mergeReadBytes(runs: number): number {
  return Math.max(MIN_READ_BYTES, Math.min(IO_BYTES, Math.floor(MERGE_READ_BYTES / Math.max(1, runs))));
}

/** The records of sorted sources, in key order. */
function* merge<T>(sources: Iterator<Keyed<T>>[]): Generator<T> {
  const heads = new MergeHeap<T>();
  for (const source of sources) heads.push(source);
  for (;;) {
    const next = heads.pop();
    if (next === undefined) return;
    yield next;
  }
}

/** A binary heap of merge sources, ordered by each source's current record. */
class MergeHeap<T> {
  private readonly heap: { head: Keyed<T>; rest: Iterator<Keyed<T>> }[] = [];

  push(source: Iterator<Keyed<T>>): void {
    const first = source.next();
    if (first.done) return;
    this.heap.push({ head: first.value, rest: source });
    this.up(this.heap.length - 1);
  }

  pop(): T | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const record = top.head.record;
    const next = top.rest.next();
    if (next.done) {
      const last = this.heap.pop();
      if (this.heap.length > 0 && last) {
        this.heap[0] = last;
        this.down(0);
      }
    } else {
      top.head = next.value;
      this.down(0);
    }
    return record;
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i];
    const b = this.heap[j];
    return a !== undefined && b !== undefined && a.head.key < b.head.key;
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i];
    const b = this.heap[j];
    if (a === undefined || b === undefined) return;
    this.heap[i] = b;
    this.heap[j] = a;
  }

  private up(at: number): void {
    let i = at;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(at: number): void {
    let i = at;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.heap.length && this.less(left, smallest)) smallest = left;
      if (right < this.heap.length && this.less(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}
