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
import {
  DEFAULT_ROOT,
  MANIFEST_ENTRY_NAME,
  ManifestBuilder,
  computeDigest,
  diffManifests,
  parseManifest,
  type VolumeManifest,
} from './manifest.js';
import { createDecryptor, ENCRYPTED_EXTENSION, isEncrypted } from './encryption.js';
import { addPackEntry, copyVolumeEntry, readSmallEntry } from './tar-entries.js';
import { EntryPathGuard, UnsafeEntryError } from './tar-paths.js';
import { TarRewriter, type TarRewriteHandler } from './tar-rewriter.js';

/** A tar stream stage that also yields the manifest of what went through it. */
export class VolumeTarStream extends TarRewriter<VolumeManifest> {
  /** Rejects with the stream's error; resolves once every entry has gone through (and was verified). */
  get manifest(): Promise<VolumeManifest> {
    return this.result;
  }
}

/** Node keeps a JSON string under ~512 MiB; a manifest that large (millions of files) would not parse. */
const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;
/** How many paths an error message lists before it summarises. */
const LISTED_PATHS = 10;

export interface RepackerOptions {
  /** The tar root name of the volume's entries (default 'volume'). */
  root?: string;
  /** The volume being read, for messages and the manifest. */
  volumeName?: string;
}

/**
 * Engine tar stream (GET /containers/{id}/archive of the volume) → the same entries re-packed, each file's
 * sha256 computed as it streams, then the manifest as the last entry. Unsafe entries make it fail.
 */
export function createManifestingRepacker(options: RepackerOptions = {}): VolumeTarStream {
  return new VolumeTarStream(repackHandler(options.root ?? DEFAULT_ROOT, options.volumeName, true));
}

/** The manifest of a volume's tar stream from the engine, without writing anything anywhere. */
export async function manifestOfTarStream(
  tarStream: Readable | NodeJS.ReadableStream,
  root: string = DEFAULT_ROOT,
  options: { volumeName?: string } = {},
): Promise<VolumeManifest> {
  const digester = new VolumeTarStream(repackHandler(root, options.volumeName, false));
  await pipeline(tarStream, digester, discard());
  return digester.manifest;
}

function repackHandler(
  root: string,
  volumeName: string | undefined,
  repack: boolean,
): TarRewriteHandler<VolumeManifest> {
  const context = { root, guard: new EntryPathGuard(root), builder: new ManifestBuilder(root, volumeName) };
  const source = volumeName === undefined ? 'The tar stream' : `The tar stream of volume ${volumeName}`;
  return {
    async entry(header, body, output) {
      await copyVolumeEntry(header, body, { ...context, pack: repack ? output : null });
    },
    async end(output) {
      if (!context.builder.has('.')) {
        throw new UserError(
          `${source} has no root entry ${root}/: it is empty or not a volume read by the engine.`,
        );
      }
      const manifest = context.builder.finalize();
      if (repack) await appendManifest(output, manifest);
      return manifest;
    },
    describe: (error) =>
      error instanceof UserError
        ? error
        : new Error(`${source} could not be read: ${errorMessage(error)}`, { cause: error }),
  };
}

async function appendManifest(
  output: Parameters<typeof addPackEntry>[0],
  manifest: VolumeManifest,
): Promise<void> {
  const content = Buffer.from(`${JSON.stringify(manifest)}\n`);
  const header = { name: MANIFEST_ENTRY_NAME, type: 'file' as const, mode: 0o644, uid: 0, gid: 0 };
  await addPackEntry(
    output,
    { ...header, size: content.length, mtime: new Date(manifest.createdAt) },
    content,
  ).written;
}

export interface ArchiveReaderOptions {
  /** The tar root name of the volume's entries (default 'volume'). */
  root?: string;
  /** The archive's file name, for messages. */
  label?: string;
}

/**
 * Decompressed archive → the volume's entries re-packed for the engine's PUT (manifest entry stripped).
 * Paths are checked as they stream; at the end, what streamed is compared with the embedded manifest
 * (entries, every sha256, the digest). Any mismatch, a missing manifest, a truncated or corrupt stream
 * makes the OUTPUT fail with a UserError, so the engine never gets a cleanly ended tar from a bad archive.
 */
export function createArchiveReader(options: ArchiveReaderOptions = {}): VolumeTarStream {
  return new VolumeTarStream(readerHandler(options.root ?? DEFAULT_ROOT, archivePhrase(options.label)));
}

function readerHandler(root: string, what: string): TarRewriteHandler<VolumeManifest> {
  const context = { root, guard: new EntryPathGuard(root), builder: new ManifestBuilder(root) };
  let embedded: VolumeManifest | undefined;
  return {
    async entry(header, body, output) {
      if (embedded) {
        throw new UserError(
          `${what} has entries after its manifest (${header.name}): it was not made by compose-persist.`,
        );
      }
      if (header.name === MANIFEST_ENTRY_NAME) {
        const text = (await readSmallEntry(header, body, MAX_MANIFEST_BYTES)).toString('utf8');
        embedded = parseManifest(text, what);
        return;
      }
      if (header.type === 'character-device' || header.type === 'block-device') {
        // A device node in a volume is a way into the host's devices for whoever mounts it.
        throw new UnsafeEntryError(
          `${what} holds a device node (${header.name}): refusing to create device files in a volume.`,
        );
      }
      await copyVolumeEntry(header, body, { ...context, pack: output });
    },
    async end() {
      if (!embedded) {
        throw new UserError(
          context.builder.size === 0
            ? `${what} is empty: it holds no entries.`
            : `${what} is truncated or was not made by compose-persist: it has no ${MANIFEST_ENTRY_NAME} at its end.`,
        );
      }
      verifyAgainstManifest(embedded, context.builder.finalize(), what);
      return embedded;
    },
    describe: (error) => describeReadError(error, what),
  };
}

/** Turns tar-stream's terse errors into sentences that name the archive. */
function describeReadError(error: unknown, what: string): Error {
  if (error instanceof UnsafeEntryError) return new UnsafeEntryError(`${what} was refused. ${error.message}`);
  if (error instanceof UserError) return error;
  const message = errorMessage(error);
  if (/unexpected end of data/i.test(message)) {
    return new UserError(`${what} is truncated: it ends in the middle of an entry.`, { cause: error });
  }
  if (/invalid tar header|header exceeds|size mismatch/i.test(message)) {
    return new UserError(`${what} is corrupt (${message}).`, { cause: error });
  }
  return new UserError(`${what} cannot be read: ${message}`, { cause: error });
}

/** Throws a UserError saying how the streamed entries differ from the manifest the archive carries. */
export function verifyAgainstManifest(expected: VolumeManifest, actual: VolumeManifest, what: string): void {
  if (computeDigest(expected.entries) !== expected.digest) {
    throw new UserError(
      `${what} has a manifest whose digest does not match its own entries: it was edited or corrupted.`,
    );
  }
  // Equal digests cover every entry and field; the (large) diff is only built to explain a mismatch.
  if (actual.digest === expected.digest) return;
  const diff = diffManifests(expected, actual, { policy: 'exact' });
  const problems: string[] = [];
  if (diff.changed.length > 0) {
    const described = diff.changed.map((c) => `${c.path} (${c.fields.join(', ')})`);
    problems.push(`${diff.changed.length} changed: ${listed(described)}`);
  }
  if (diff.removed.length > 0) problems.push(`${diff.removed.length} missing: ${listed(diff.removed)}`);
  if (diff.added.length > 0) problems.push(`${diff.added.length} not in the manifest: ${listed(diff.added)}`);
  if (problems.length > 0)
    throw new UserError(`${what} does not match its manifest: ${problems.join('; ')}.`);
  if (actual.digest !== expected.digest) {
    throw new UserError(
      `${what} does not match its manifest: its digest is ${actual.digest}, the manifest records ${expected.digest}.`,
    );
  }
}

function listed(items: string[]): string {
  const shown = items.slice(0, LISTED_PATHS).join(', ');
  return items.length > LISTED_PATHS ? `${shown} and ${items.length - LISTED_PATHS} more` : shown;
}

/**
 * Reads an archive file end to end (the manifest is its last entry) and returns its manifest once every
 * entry has been checked against it. The extension must match the content.
 */
export async function verifyArchiveFile(
  file: string,
  options: { root?: string; key?: string; maxBytes?: number } = {},
): Promise<VolumeManifest> {
  const reader = createArchiveReader({ root: options.root ?? DEFAULT_ROOT, label: file });
  try {
    await pipeline([...(await archiveFileStreams(file, options)), reader, discard()]);
  } catch (error) {
    throw error instanceof UserError
      ? error
      : new UserError(`Archive ${file} cannot be read: ${errorMessage(error)}`);
  }
  return reader.manifest;
}

/** The embedded manifest of an archive file, verified (the whole file is read: the manifest comes last). */
export function readManifest(
  file: string,
  options: { root?: string; key?: string; maxBytes?: number } = {},
): Promise<VolumeManifest> {
  return verifyArchiveFile(file, options);
}

/**
 * The streams that turn an archive file into its tar stream: file → decryptor (`.enc`, needs the key) →
 * decompressor. Chain them with pipeline(); the format is checked against the name first.
 */
export async function archiveFileStreams(
  file: string,
  options: { key?: string; maxBytes?: number } = {},
): Promise<(Readable | Duplex)[]> {
  const { format, encrypted } = await archiveFormatOf(file, options.key);
  const decrypt = encrypted ? [createDecryptor(options.key as string, file)] : [];
  const limit = options.maxBytes ? [createSizeLimit(options.maxBytes, file)] : [];
  return [createReadStream(file), ...decrypt, createDecompressor(format, file), ...limit];
}

/** Fails once more than maxBytes of tar have come out of the decompressor: a decompression bomb stops early. */
function createSizeLimit(maxBytes: number, file: string): Transform {
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
export async function archiveFormatOf(
  file: string,
  key?: string,
): Promise<{ format: ArchiveFormat; encrypted: boolean }> {
  const named = formatFromFileName(file);
  const head = await readHead(file, 512);
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

async function readHead(file: string, bytes: number): Promise<Buffer> {
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

/** A sink for streams read only for what they compute. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}
