import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, Writable, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError, errorMessage } from '../errors.js';
import {
  FORMAT_EXTENSIONS,
  archivePhrase,
  createDecompressor,
  detectFormat,
  formatFromFileName,
  type ArchiveFormat,
} from './format.js';
import { ARCHIVE_ROOT, type VolumeManifest } from './manifest.js';
import { locationOf, type ArchiveBlob, type ArchiveInput } from './blob.js';
import type { ManifestSummary } from './manifest-spool.js';
import { createDecryptor, ENCRYPTED_EXTENSION, isEncrypted } from './encryption.js';
import type { RecordedProbes } from '../types/restore.js';
import type { StageMeter } from './stage-meter.js';
import { createArchiveVerifier, createVolumeScanner, type VolumeTarStream } from './volume-scanner.js';

export interface AppenderOptions {
  /** The tar root name of the volume's entries (default 'volume'). */
  root?: string;
  /** The volume being read, for messages and the manifest. */
  volumeName?: string;
  /** The probes' answers to record in the manifest (record-probes). */
  probes?: RecordedProbes;
}

/**
 * Engine tar stream (GET /containers/{id}/archive of the volume) → the same bytes, each file's sha256
 * computed as it streams, then the manifest as the last entry. Unsafe entries make it fail.
 */
export function createManifestAppender(options: AppenderOptions = {}): VolumeTarStream {
  return createVolumeScanner({
    root: options.root ?? ARCHIVE_ROOT,
    volumeName: options.volumeName,
    appendManifest: true,
    ...(options.probes ? { probes: options.probes } : {}),
  });
}

/** The manifest of a volume's tar stream from the engine, without writing anything anywhere. */
export async function manifestOfTarStream(
  tarStream: Readable | NodeJS.ReadableStream,
  root: string = ARCHIVE_ROOT,
  options: { volumeName?: string } = {},
): Promise<VolumeManifest> {
  const scanner = createVolumeScanner({ root, volumeName: options.volumeName, appendManifest: false });
  await pipeline(tarStream, scanner, discard());
  return scanner.manifest;
}

/** The digest and counts of a volume's tar stream, its entries not kept (memory flat in the file count). */
export async function digestOfTarStream(
  tarStream: Readable | NodeJS.ReadableStream,
  root: string = ARCHIVE_ROOT,
): Promise<VolumeDigest> {
  const scanner = createVolumeScanner({ root, appendManifest: false, keepEntries: false });
  await pipeline(tarStream, scanner, discard());
  // A digest-only manifest's `entries` is not enumerable: the spread copies the summary alone.
  const summary: ManifestSummary = { ...(await scanner.manifest) };
  return { ...summary, entryCount: scanner.entries };
}

/** A volume's digest and counts without its entries; `entryCount` counts every entry, the root included. */
export interface VolumeDigest extends ManifestSummary {
  entryCount: number;
}

export interface ArchiveReaderOptions {
  /** The tar root name of the volume's entries (default 'volume'). */
  root?: string;
  /** The archive's file name, for messages. */
  label?: string;
}

/**
 * Decompressed archive → the volume's entries for the engine's PUT (manifest entry withheld), each header
 * rewritten from what we read (so the engine writes what we check), content unchanged. Paths are
 * checked as they stream; at the end, what streamed is compared with the embedded manifest (entries,
 * every sha256, the digest). Any mismatch, a missing manifest, a truncated or corrupt stream makes the
 * OUTPUT fail with a UserError, so the engine never gets a cleanly ended tar from a bad archive.
 */
export function createArchiveReader(options: ArchiveReaderOptions = {}): VolumeTarStream {
  return createArchiveVerifier({ root: options.root ?? ARCHIVE_ROOT, what: archivePhrase(options.label) });
}

/** How an archive file is to be read: the key for `.enc` files, and the largest tar it may expand to. */
export interface ArchiveReadOptions {
  encryptionKey?: string;
  /** Refuse archives whose tar stream is larger (a decompression bomb); undefined = no limit. */
  maxBytes?: number;
}

/**
 * An archive file inspected once: its format (from the content, checked against the name), whether it is
 * encrypted (and the key is there), and the limit it is read with. Seeding opens it once and passes it on.
 */
export interface ArchiveSource {
  file: string;
  format: ArchiveFormat;
  encrypted: boolean;
  /**
   * A fresh chain each call: file → decryptor (`.enc`) → decompressor → size limit; pipe it into a reader.
   * `decrypt` times the decryptor, when there is one.
   */
  streams(decrypt?: StageMeter): (Readable | Duplex)[];
  /** The reader its tar goes through (default: ours, checked against the embedded manifest); see foreign.ts. */
  reader?: () => VolumeTarStream;
  /** No manifest of ours: the proof is the read-back alone. */
  foreign?: boolean;
}

/** Inspects an archive file; a wrong name, format or a missing key fails here, before anything is read. */
export async function openArchiveSource(
  input: ArchiveInput,
  options: ArchiveReadOptions = {},
): Promise<ArchiveSource> {
  const file = locationOf(input);
  const { format, encrypted } = await archiveFormatOf(input, options.encryptionKey);
  return {
    file,
    format,
    encrypted,
    streams: (decrypt) => [
      typeof input === 'string' ? createReadStream(input) : input.open(),
      ...metered(encrypted ? [createDecryptor(options.encryptionKey as string, file)] : [], decrypt),
      createDecompressor(format, file),
      ...(options.maxBytes ? [createSizeLimit(options.maxBytes, file)] : []),
    ],
  };
}

/**
 * Reads an archive end to end (the manifest is its last entry) and returns its manifest once every entry
 * has been checked against it.
 */
export async function verifyArchive(
  source: ArchiveSource,
  root: string = ARCHIVE_ROOT,
): Promise<VolumeManifest> {
  const reader = source.reader?.() ?? createArchiveReader({ root, label: source.file });
  try {
    await pipeline([...source.streams(), reader, discard()]);
  } catch (error) {
    throw error instanceof UserError
      ? error
      : new UserError(`Archive ${source.file} cannot be read: ${errorMessage(error)}`);
  }
  return reader.manifest;
}

/** verifyArchive of a file not opened yet (`digest FILE`, tests). */
export async function verifyArchiveFile(
  file: string,
  options: ArchiveReadOptions = {},
): Promise<VolumeManifest> {
  return verifyArchive(await openArchiveSource(file, options));
}

/** Fails once more than maxBytes of tar have come out of the decompressor: a decompression bomb stops early. */
export function createSizeLimit(maxBytes: number, file: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes) {
        done(
          new UserError(
            `Archive ${file} expands to more than max-archive-size (${formatBytes(maxBytes)}): raise max-archive-size if that is expected.`,
          ),
        );
        return;
      }
      done(null, chunk);
    },
  });
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * The format of an archive file from its first bytes, refusing a file whose extension says otherwise. An
 * encrypted file (`NAME.tar.zst.enc`) is known by its envelope; its inner format comes from the name.
 */
async function archiveFormatOf(
  input: ArchiveInput,
  key?: string,
): Promise<{ format: ArchiveFormat; encrypted: boolean }> {
  const file = locationOf(input);
  const named = formatFromFileName(file);
  const head = await readHead(input, 512);
  if (head.length === 0) throw new UserError(`Archive ${file} is empty (0 bytes).`);
  const encrypted = isEncrypted(head);
  if (encrypted !== file.toLowerCase().endsWith(ENCRYPTED_EXTENSION)) {
    throw new UserError(
      encrypted
        ? `Archive ${file} is encrypted: name it with a ${ENCRYPTED_EXTENSION} ending.`
        : `Archive ${file} is named ${ENCRYPTED_EXTENSION} but is not encrypted: remove the ${ENCRYPTED_EXTENSION} ending.`,
    );
  }
  if (encrypted) {
    if (!key)
      throw new UserError(`Archive ${file} is encrypted: give the key it was made with (the encrypt input).`);
    return { format: named, encrypted };
  }
  const detected = detectFormat(head, file);
  if (detected !== named) {
    throw new UserError(
      `Archive ${file} is named as ${named} but holds ${detected} data: rename it to end in ${FORMAT_EXTENSIONS[detected][0]}.`,
    );
  }
  return { format: detected, encrypted };
}

/** The first `bytes` bytes of an archive (fewer if it is shorter); an unreadable file is the user's to fix. */
export async function readHead(input: ArchiveInput, bytes: number): Promise<Buffer> {
  if (typeof input !== 'string') return readBlobHead(input, bytes);
  const file = input;
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new UserError(`Archive ${file} cannot be opened: ${errorMessage(error)}`, { cause: error });
  }
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The first bytes of a stored archive, by a ranged read (no download of the rest). */
async function readBlobHead(blob: ArchiveBlob, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of blob.open({ start: 0, end: bytes - 1 })) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= bytes) break;
    }
  } catch (error) {
    throw new UserError(`Archive ${blob.location} cannot be opened: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

/** A sink for streams read only for what they compute. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}

/** The stages, timed by `meter` when one is given. */
export function metered(stages: Duplex[], meter: StageMeter | undefined): Duplex[] {
  return meter ? meter.around(stages) : stages;
}
