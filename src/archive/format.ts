import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { accessSync, createWriteStream, constants as fsConstants } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Duplex, PassThrough, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { withoutEncryptedExtension } from './encryption.js';
import { UserError } from '../errors.js';

/** Archive container formats: a tar stream, plain or compressed. */
export type ArchiveFormat = 'tar' | 'tar.gz' | 'tar.zst' | 'tar.bz2' | 'tar.xz';

/** File name endings per format (lowercase); the first one is the canonical extension. */
export const FORMAT_EXTENSIONS: Readonly<Record<ArchiveFormat, readonly string[]>> = {
  'tar.zst': ['.tar.zst', '.tzst'],
  'tar.gz': ['.tar.gz', '.tgz'],
  'tar.bz2': ['.tar.bz2', '.tbz2', '.tbz'],
  'tar.xz': ['.tar.xz', '.txz'],
  tar: ['.tar'],
};

/**
 * The host binaries behind the formats zlib does not cover, and the Debian package each comes in. Child
 * processes rather than npm ports: Debian's tools stream, use native code, and are on every runner image.
 */
const TOOL_OF: Readonly<Partial<Record<ArchiveFormat, { binary: string; pkg: string }>>> = {
  'tar.zst': { binary: 'zstd', pkg: 'zstd' },
  'tar.bz2': { binary: 'bzip2', pkg: 'bzip2' },
  'tar.xz': { binary: 'xz', pkg: 'xz-utils' },
};

/** The format a file name promises, by its extension. */
export function formatFromFileName(name: string): ArchiveFormat {
  // An encrypted archive is NAME.<format>.enc: the envelope wraps the compressed tar.
  const lower = withoutEncryptedExtension(name.toLowerCase());
  for (const [format, extensions] of Object.entries(FORMAT_EXTENSIONS) as [
    ArchiveFormat,
    readonly string[],
  ][]) {
    if (extensions.some((ext) => lower.endsWith(ext))) return format;
  }
  const valid = Object.values(FORMAT_EXTENSIONS).flat().join(', ');
  throw new UserError(`Archive ${name} has no known extension: name it with one of ${valid}.`);
}

/** How messages name an archive at the start of a sentence: 'Archive FILE', or 'The archive'. */
export function archivePhrase(label?: string): string {
  return label === undefined ? 'The archive' : `Archive ${label}`;
}

/**
 * The format of an archive from its first bytes (at least 262 for a plain tar), so a mislabelled or foreign
 * file gets a clear UserError; `label` is the file name.
 */
export function detectFormat(firstBytes: Buffer, label?: string): ArchiveFormat {
  if (firstBytes.length >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b) return 'tar.gz';
  if (firstBytes.length >= 4 && firstBytes.readUInt32BE(0) === 0x28b52ffd) return 'tar.zst';
  if (firstBytes.subarray(0, 3).toString('latin1') === 'BZh') return 'tar.bz2';
  if (firstBytes.subarray(0, 6).equals(XZ_MAGIC)) return 'tar.xz';
  if (isTarHeader(firstBytes)) return 'tar';
  throw new UserError(
    `${archivePhrase(label)} is not a tar, tar.gz, tar.zst, tar.bz2 or tar.xz archive (its first bytes are ${firstBytes.subarray(0, 8).toString('hex')}).`,
  );
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** A ustar/GNU header says so at offset 257; an old v7 header (no magic) is known by its checksum. */
function isTarHeader(block: Buffer): boolean {
  if (block.subarray(257, 262).toString('latin1') === 'ustar') return true;
  if (block.length < 512) return false;
  const stored = parseInt(block.toString('latin1', 148, 156).replace(/\0.*$/, '').trim(), 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  return stored === sum && block[0] !== 0;
}

/** True when a `zstd` executable is on PATH. */
export function zstdAvailable(): boolean {
  return onPath('zstd');
}

function onPath(binary: string): boolean {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return dirs.some((dir) => isExecutable(path.join(dir, binary)));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** zstd is 3–9× faster than gzip at a similar ratio, so it is preferred whenever the host has it. */
export function defaultFormat(): ArchiveFormat {
  return zstdAvailable() ? 'tar.zst' : 'tar.gz';
}

export interface CompressorOptions {
  /** zstd level (default 1) or gzip level (default 6). */
  level?: number;
}

/**
 * zstd -1: on 1 GiB of mixed volume data it needs 2.6 s of CPU against 4.2 s for zstd's default -3, for
 * an archive 2% larger; archiving competes with the engine for the runner's cores, so speed wins.
 */
const ZSTD_LEVEL = 1;

/** A Duplex turning a tar stream into the given format. */
export function createCompressor(format: ArchiveFormat, options: CompressorOptions = {}): Duplex {
  if (format === 'tar') return new PassThrough();
  const describe = compressionError(format);
  if (format === 'tar.gz') {
    return new BridgeDuplex(() => {
      const gzip = createGzip({ level: options.level ?? 6 });
      return { input: gzip, output: gzip, abort: () => gzip.destroy() };
    }, describe);
  }
  if (format === 'tar.zst') return toolDuplex(format, [...zstdCompressArgs(options), '--stdout'], describe);
  return toolDuplex(format, ['-c', `-${options.level ?? 6}`], describe);
}

function compressionError(format: ArchiveFormat): (error: Error) => Error {
  return (error) => new Error(`${format} compression failed: ${error.message}`);
}

function zstdCompressArgs(options: CompressorOptions): string[] {
  return ['-q', ...zstdThreads(), `-${options.level ?? ZSTD_LEVEL}`];
}

/**
 * A Writable that compresses a tar stream into `file`. For zstd the child writes the file itself, so the
 * compressed bytes never pass through Node (a third less work for the event loop); it finishes only once
 * zstd has exited cleanly. Other formats go through createCompressor and a file stream.
 */
export function createFileCompressor(
  format: ArchiveFormat,
  file: string,
  options: CompressorOptions = {},
): Writable {
  if (format !== 'tar.zst') {
    return new ForwardingWriter(() => {
      const compressor = createCompressor(format, options);
      const writing = pipeline(compressor, createWriteStream(file));
      writing.catch(() => undefined); // awaited in final; an early failure destroys the writer below
      return { input: compressor, done: writing, abort: () => compressor.destroy() };
    });
  }
  assertToolAvailable(format);
  const describe = compressionError(format);
  return new ForwardingWriter(() => {
    const child = spawnTool('zstd', [...zstdCompressArgs(options), '-f', '-o', file], 'ignore');
    const done = child.done.catch((error: Error) => Promise.reject(describe(error)));
    return { input: child.process.stdin, done, abort: child.kill };
  });
}

/**
 * A Duplex turning the given format back into a tar stream. Its errors (truncated or corrupt data) are
 * UserErrors naming `label`, the archive file.
 */
export function createDecompressor(format: ArchiveFormat, label?: string): Duplex {
  if (format === 'tar') return new PassThrough();
  const describe = (error: Error) =>
    new UserError(
      `${archivePhrase(label)} cannot be decompressed as ${format} (${error.message}): it is truncated or corrupt.`,
      {
        cause: error,
      },
    );
  if (format === 'tar.gz') {
    return new BridgeDuplex(() => {
      const gunzip = createGunzip();
      return { input: gunzip, output: gunzip, abort: () => gunzip.destroy() };
    }, describe);
  }
  return toolDuplex(format, ['-d', '-q', '-c'], describe);
}

/**
 * A host binary (zstd, bzip2, xz) as a stream stage: stdin → stdout; a non-zero exit becomes an error with
 * its stderr. It starts when data first flows: a stage built for a pipeline that never runs leaves no child.
 */
function toolDuplex(format: ArchiveFormat, args: string[], describe: (error: Error) => Error): Duplex {
  const binary = assertToolAvailable(format);
  return new BridgeDuplex(() => {
    const { process: child, done, kill } = spawnTool(binary, args, 'pipe');
    return { input: child.stdin, output: child.stdout as Readable, abort: kill, done };
  }, describe);
}

/** The binary a format needs, refused with the package to install when it is not on PATH. */
function assertToolAvailable(format: ArchiveFormat): string {
  const tool = TOOL_OF[format];
  if (!tool) throw new Error(`${format} needs no host tool`);
  if (!onPath(tool.binary)) {
    throw new UserError(
      `${format} needs the ${tool.binary} binary: install it (apt-get install ${tool.pkg})${format === 'tar.zst' ? ' or use a .tar.gz archive' : ''}`,
    );
  }
  return tool.binary;
}

/**
 * While archiving, the engine (building the tar) and Node (hashing it) each keep a core busy, so zstd gets
 * the rest. On 2 cores its worker threads only contend with them: single-threaded zstd finishes a 1 GiB
 * archive about 15% sooner there than `-T0`.
 */
function zstdThreads(): string[] {
  const spare = availableParallelism() - 2;
  return spare < 2 ? ['--single-thread'] : [`-T${spare}`];
}

/** A tool as a child; `done` settles when it exits (an error with its stderr unless the exit code is 0). */
export function spawnTool(binary: string, args: string[], stdout: 'pipe' | 'ignore') {
  const child = spawn(binary, args, { stdio: ['pipe', stdout, 'pipe'] }) as ChildProcessByStdio<
    Writable,
    Readable | null,
    Readable
  >;
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < 4096) stderr += text; // a few lines say what went wrong; never buffer more
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(`${binary} exited with ${code ?? signal}${stderr.trim() ? `: ${stderr.trim()}` : ''}`),
        );
    });
  });
  done.catch(() => undefined); // the caller awaits it; this only keeps an early failure from going unhandled
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  };
  return { process: child, done, kill };
}

const WRITE_BATCH_BYTES = 256 * 1024;

/**
 * Tar arrives in pieces of a few KiB; handing them on in 256 KiB batches saves most of the pipe writes
 * (a fifth of the CPU when archiving many small files).
 */
class WriteBatch {
  private chunks: Buffer[] = [];
  private bytes = 0;

  /** Adds a chunk; true once the batch is worth writing. */
  private add(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    return this.bytes >= WRITE_BATCH_BYTES;
  }

  /** A Writable's `_write`: batches the chunk, writing the batch into `input` once it is large enough. */
  write(input: Writable, chunk: Buffer, callback: () => void): void {
    if (this.add(chunk)) this.writeTo(input, callback);
    else callback();
  }

  /** A Writable's `_final`: writes what is left, then ends `input`. */
  end(input: Writable, callback: () => void): void {
    this.writeTo(input, () => {
      input.end();
      callback();
    });
  }

  /** Writes what was batched into `input`, calling back once it may take more. */
  private writeTo(input: Writable, callback: () => void): void {
    const data =
      this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    this.bytes = 0;
    if (data.length === 0 || input.write(data)) callback();
    else input.once('drain', callback);
  }
}

/** The work a stream stage drives, started when data first flows (a zstd child, a zlib stream, a file). */
export interface StageWork {
  input: Writable;
  /** Settles when the work is complete (the file written, the child exited). */
  done: Promise<void>;
  /** Stops the work when the stage is destroyed early (kills the child). */
  abort: () => void;
}

/**
 * Writes into `input` in batches and finishes only once `done` (the file complete, the child exited)
 * has resolved, so a pipeline ending in it resolves when the archive is really there.
 */
class ForwardingWriter extends Writable {
  private readonly batch = new WriteBatch();
  private work?: StageWork;

  constructor(private readonly start: () => StageWork) {
    super();
  }

  /** Starts the work on the first write, so a writer that is never used starts nothing. */
  private started(): StageWork {
    if (this.work) return this.work;
    const work = this.start();
    this.work = work;
    work.done.catch((error: Error) => this.destroy(error));
    // A child's stdin fails with EPIPE when it exits early: its exit status says why, so wait for it.
    work.input.on(
      'error',
      (error) =>
        void work.done.then(
          () => this.destroy(error),
          () => undefined,
        ),
    );
    return work;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error) => void): void {
    withStarted(
      () => this.started(),
      (work) => this.batch.write(work.input, chunk, callback),
      callback,
    );
  }

  override _final(callback: (error?: Error) => void): void {
    withStarted(
      () => this.started(),
      (work) =>
        this.batch.end(
          work.input,
          () =>
            void work.done.then(
              () => callback(),
              () => undefined,
            ),
        ),
      callback,
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.work?.abort();
    callback(error);
  }
}

/** Hands `use` the work `start` returns, or `fail` the reason it could not start (spawn can throw). */
function withStarted<W>(start: () => W, use: (work: W) => void, fail: (error: Error) => void): void {
  let work: W;
  try {
    work = start();
  } catch (error) {
    fail(error as Error);
    return;
  }
  use(work);
}

/** A StageWork that also produces output (a child's stdout, the other side of a zlib stream). */
export interface BridgeWork extends Omit<StageWork, 'done'> {
  output: Readable;
  /** Settles when the underlying process has exited; the output only ends cleanly after it resolves. */
  done?: Promise<void>;
}

/**
 * One Duplex over a writable half and a readable half (a child's stdin/stdout, or both sides of a zlib
 * stream), so the stage keeps backpressure and reports its errors in our words (`describe`). The work starts
 * when data first flows either way.
 */
export class BridgeDuplex extends Duplex {
  private readonly batch = new WriteBatch();
  private work?: BridgeWork;

  constructor(
    private readonly start: () => BridgeWork,
    private readonly describe: (error: Error) => Error,
  ) {
    super();
  }

  private started(): BridgeWork {
    if (this.work) return this.work;
    const work = this.start();
    this.work = work;
    const done = work.done ?? Promise.resolve();
    done.catch((error: Error) => this.destroy(this.describe(error)));
    work.output.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) work.output.pause();
    });
    work.output.on(
      'end',
      () =>
        void done.then(
          () => this.push(null),
          () => undefined,
        ),
    );
    // A child's stdin fails with EPIPE when it exits early: its exit status says why, so wait for it.
    const fail = (error: Error) =>
      void done.then(
        () => this.destroy(this.describe(error)),
        () => undefined,
      );
    for (const half of new Set<NodeJS.EventEmitter>([work.input, work.output])) half.on('error', fail);
    return work;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error) => void): void {
    withStarted(
      () => this.started(),
      (work) => this.batch.write(work.input, chunk, callback),
      callback,
    );
  }

  override _final(callback: (error?: Error) => void): void {
    withStarted(
      () => this.started(),
      (work) => this.batch.end(work.input, callback),
      callback,
    );
  }

  override _read(): void {
    withStarted(
      () => this.started(),
      (work) => work.output.resume(),
      (error) => this.destroy(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.work?.abort();
    callback(error);
  }
}
