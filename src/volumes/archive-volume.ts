import { createWriteStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { Transform, Writable, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createEncryptor } from '../archive/encryption.js';
import {
  createCompressor,
  createFileCompressor,
  formatFromFileName,
  type ArchiveFormat,
} from '../archive/format.js';
import type { VolumeManifest } from '../archive/manifest.js';
import { createVolumeScanner, type VolumeTarStream } from '../archive/volume-scanner.js';
import { createManifestAppender, formatBytes } from '../archive/volume-tar.js';
import type { Engine } from '../docker/engine.js';
import { freeBytes, isOutOfSpace, writeFileAtomically } from '../stores/files.js';
import type { ArchiveUpload } from '../stores/types.js';
import type { ProgressReporter } from '../report/progress.js';
import { UserError, errorMessage } from '../errors.js';
import type { ArchiveConsistency } from '../inputs.js';
import type { RecordedProbes } from '../types/restore.js';
import { withQuiescedVolume, type QuiesceOptions } from './consistency.js';
import { HostTarError, withPlaceTar, type DataPlace } from './data-path.js';
import { ARCHIVE_ROOT, type HelperOptions } from './helper.js';

export interface ArchiveOptions {
  engine: Engine;
  helperImage: string;
  runLabel: string;
  consistency: ArchiveConsistency;
  /** Defaults to the file's extension. */
  format?: ArchiveFormat;
  /** Encrypt with this key (the file should end in `.enc`). */
  encryptionKey?: string;
  progress?: ProgressReporter;
  /** Aborts the archive: the same path as any failure (containers started again, no partial file kept). */
  signal?: AbortSignal;
  /** `volume` is a bind mount's source directory on the engine's host, read through a read-only bind. */
  bind?: boolean;
  /** Start the containers stopped for the read again (default); see QuiesceOptions.startAgain. */
  startAgain?: boolean;
  /** The probes' answers the manifest records (record-probes). */
  probes?: RecordedProbes;
}

export interface ArchiveResult {
  volume: string;
  file: string;
  format: ArchiveFormat;
  bytes: number;
  manifest: VolumeManifest;
  /** Files that changed while a `live` archive was read (their copies may be inconsistent). */
  changedWhileReading: string[];
}

/**
 * Volume → archive file, streamed: engine tar, passed through unchanged (sha256 per file, manifest appended) →
 * compressor → a temp file of this run's own, renamed into place only when complete.
 */
export async function archiveVolume(
  volume: string,
  dest: string,
  options: ArchiveOptions,
): Promise<ArchiveResult> {
  const format = options.format ?? formatFromFileName(dest);
  await assertWritableDir(path.dirname(dest));
  const helper = {
    engine: options.engine,
    image: options.helperImage,
    runLabel: options.runLabel,
    readOnly: true,
  };
  return writeFileAtomically(dest, async (partial) => {
    const free = await freeBytes(path.dirname(dest));
    const manifest = await withQuiescedVolume(options.engine, volume, quiesceOptions(options), () =>
      withPlaceTar(placeOf(volume, options), helper, (tar) =>
        streamArchive(tar, volume, fileOutput(partial, format, options.encryptionKey), options),
      ).catch((error: unknown) => {
        throw liveHostTarChange(volume, options, error);
      }),
    ).catch(async (error: unknown) => {
      throw isOutOfSpace(error) ? await noSpaceError(dest, partial, free, error) : error;
    });
    const changedWhileReading =
      options.consistency === 'live' ? await changedSince(volume, manifest, helper, options) : [];
    options.signal?.throwIfAborted(); // an interrupted archive keeps nothing, even a complete one
    const { size } = await stat(partial);
    if (size === 0) {
      throw new UserError(`Archive of volume ${volume} came out empty (0 bytes): ${dest} was not kept.`);
    }
    return { volume, file: dest, format, bytes: size, manifest, changedWhileReading };
  });
}

/**
 * Volume → a store's upload (s3://), streamed: the same chain as archiveVolume with the upload in place of
 * the file, so nothing is staged on the runner. The object is complete only once `upload.done` settles;
 * on any failure or interruption it is discarded (a multipart upload aborted, a completed object deleted).
 */
export async function archiveVolumeToUpload(
  volume: string,
  upload: ArchiveUpload,
  options: ArchiveOptions,
): Promise<ArchiveResult> {
  const format = options.format ?? formatFromFileName(upload.location);
  const helper = {
    engine: options.engine,
    image: options.helperImage,
    runLabel: options.runLabel,
    readOnly: true,
  };
  const counter = byteCounter();
  const output = [
    createCompressor(format),
    ...(options.encryptionKey ? [createEncryptor(options.encryptionKey)] : []),
    counter,
    upload.stream,
  ];
  try {
    // Both settle before anything else happens: the containers are running again, the upload has ended.
    const [archived, stored] = await Promise.allSettled([
      withQuiescedVolume(options.engine, volume, quiesceOptions(options), () =>
        withPlaceTar(placeOf(volume, options), helper, (tar) =>
          streamArchive(tar, volume, output, options),
        ).catch((error: unknown) => {
          throw liveHostTarChange(volume, options, error);
        }),
      ),
      upload.done,
    ]);
    if (stored.status === 'rejected') throw stored.reason; // the store's refusal is the cause of both
    if (archived.status === 'rejected') throw archived.reason;
    const manifest = archived.value;
    const changedWhileReading =
      options.consistency === 'live' ? await changedSince(volume, manifest, helper, options) : [];
    options.signal?.throwIfAborted(); // an interrupted archive keeps nothing, even a complete one
    return { volume, file: upload.location, format, bytes: counter.bytes, manifest, changedWhileReading };
  } catch (error) {
    await upload.discard();
    throw error;
  }
}

function quiesceOptions(options: ArchiveOptions): QuiesceOptions {
  return { mode: options.consistency, signal: options.signal, startAgain: options.startAgain };
}

/** compressor (→ encryptor) → file; a plain zstd archive is written by the zstd tool itself. */
function fileOutput(file: string, format: ArchiveFormat, key: string | undefined): (Duplex | Writable)[] {
  return key
    ? [createCompressor(format), createEncryptor(key), createWriteStream(file)]
    : [createFileCompressor(format, file)];
}

/** Counts the bytes going by (the stored size of an archive that never touches the disk). */
function byteCounter(): Transform & { bytes: number } {
  const counter = Object.assign(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        counter.bytes += chunk.length;
        done(null, chunk);
      },
    }),
    { bytes: 0 },
  );
  return counter;
}

/** The one place archive bytes flow: the place's tar → manifest appender → output (compressor → file or upload). */
async function streamArchive(
  tar: Readable,
  volume: string,
  output: (Duplex | Writable)[],
  options: ArchiveOptions,
): Promise<VolumeManifest> {
  const appender = createManifestAppender({
    root: ARCHIVE_ROOT,
    volumeName: volume,
    ...(options.probes ? { probes: options.probes } : {}),
  });
  const stopProgress = options.progress?.(`archive ${volume}`, appender);
  await pipeline([tar, appender, ...output], {
    signal: options.signal,
  }).then(
    () => stopProgress?.(true),
    (error: unknown) => {
      stopProgress?.(false);
      throw options.consistency === 'live' ? changedWhileRead(volume, appender, error) : error;
    },
  );
  return appender.manifest;
}

/**
 * A file that shrinks while the engine reads it ends the engine's tar in the middle of its entry (checked:
 * a file truncated in a loop under a live archive): under `live` that is the volume changing, not a
 * damaged stream, so say so and name the file.
 */
function changedWhileRead(volume: string, appender: VolumeTarStream, error: unknown): unknown {
  const file = fileCutShort(appender, error);
  return file === undefined ? error : liveChangeError(volume, file, error);
}

/** Under `live`, GNU tar on the host (the host data path) naming a file that changed under it says so the same way. */
function liveHostTarChange(volume: string, options: ArchiveOptions, error: unknown): unknown {
  const file = options.consistency === 'live' ? fileChangedUnderHostTar(error) : undefined;
  return file === undefined ? error : liveChangeError(volume, file, error);
}

/** The file GNU tar on the host complained changed or shrank as it read it (its exit 1), when that is `error`. */
function fileChangedUnderHostTar(error: unknown): string | undefined {
  if (!(error instanceof HostTarError)) return undefined;
  return /tar: (?:\.\/)?(.+?): (?:file changed as we read it|[Ff]ile shrank by \d+ bytes)/.exec(
    error.said,
  )?.[1];
}

function liveChangeError(volume: string, file: string, error: unknown): UserError {
  return new UserError(
    `Archive of volume ${volume} failed: ${file} changed while it was read (archive-consistency: live); use archive-consistency: stop (the default) for a consistent copy.`,
    { cause: error },
  );
}

/** The file the engine's tar stream broke off in, when that is why `error` happened. */
function fileCutShort(stream: VolumeTarStream, error: unknown): string | undefined {
  const file = stream.entryInProgress();
  return file !== undefined && /ends in the middle of an entry/.test(errorMessage(error)) ? file : undefined;
}

async function noSpaceError(
  dest: string,
  partial: string,
  free: number | undefined,
  cause: unknown,
): Promise<UserError> {
  const written = await stat(partial).then(
    (s) => s.size,
    () => undefined,
  );
  const filled = written === undefined ? '' : `: it filled after ${formatBytes(written)} were written`;
  const had = free === undefined ? '' : ` (the file system had ${formatBytes(free)} free)`;
  return new UserError(
    `No space left on the device for ${dest}${filled}${had}; free space there or archive to another directory.`,
    { cause },
  );
}

/** Checked before containers are stopped, so a typo in the destination costs nothing. */
async function assertWritableDir(dir: string): Promise<void> {
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new UserError(
      `Cannot write an archive into ${dir}: the directory does not exist or is not writable.`,
    );
  }
}

/** A second read of a live volume: paths whose size, mtime or content differ from what was archived. */
async function changedSince(
  volume: string,
  archived: VolumeManifest,
  helper: HelperOptions,
  options: ArchiveOptions,
): Promise<string[]> {
  const now = await readAgain(volume, helper, options);
  if (typeof now === 'string') return [now];
  const before = new Map(archived.entries.map((e) => [e.path, e]));
  return now.entries
    .filter((e) => {
      const old = before.get(e.path);
      return (
        old !== undefined &&
        e.type !== 'directory' &&
        (old.size !== e.size || old.mtime !== e.mtime || old.sha256 !== e.sha256)
      );
    })
    .map((e) => e.path);
}

/** The volume's manifest now; or, when a file changed under this read too, that file's path. */
async function readAgain(
  volume: string,
  helper: HelperOptions,
  options: ArchiveOptions,
): Promise<VolumeManifest | string> {
  return withPlaceTar(placeOf(volume, options), helper, async (tar) => {
    const scanner = createVolumeScanner({ root: ARCHIVE_ROOT, volumeName: volume, appendManifest: false });
    const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
    try {
      await pipeline(tar, scanner, discard);
      return await scanner.manifest;
    } catch (error) {
      const file = fileCutShort(scanner, error);
      if (file === undefined) throw error;
      return file;
    }
  }).catch((error: unknown) => {
    const file = fileChangedUnderHostTar(error);
    if (file === undefined) throw error;
    return file;
  });
}

/** The volume, or the bind's source directory (read-only either way). */
function placeOf(volume: string, options: ArchiveOptions): DataPlace {
  return options.bind ? { bind: volume } : { volume };
}
