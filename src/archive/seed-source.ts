import { createReadStream } from 'node:fs';
import { Writable, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError, errorMessage } from '../errors.js';
import { locationOf, type ArchiveInput } from './blob.js';
import { createAgeDecryptor, createGpgDecryptor, type DecryptSecrets, type SecretNames } from './decrypt.js';
import { checkedEnvelope, type Envelope } from './detect.js';
import { withoutEncryptedExtension } from './encryption.js';
import { createForeignReader, layoutOf, looksLikeOurs } from './foreign.js';
import {
  FORMAT_EXTENSIONS,
  archivePhrase,
  createDecompressor,
  detectFormat,
  type ArchiveFormat,
} from './format.js';
import { TarScanner, type TarEntryHeader } from './tar-scanner.js';
import {
  createSizeLimit,
  metered,
  openArchiveSource,
  readHead,
  verifyArchive,
  type ArchiveReadOptions,
  type ArchiveSource,
} from './volume-tar.js';

export interface SeedArchiveOptions extends ArchiveReadOptions {
  /** Where the volume sits inside a foreign archive (--from, SOURCE#PATH); found from its entries if absent. */
  from?: string;
  /** Passphrase / age identity for gpg- and age-encrypted backups. */
  decrypt?: DecryptSecrets;
  /** How messages name the decrypt inputs (action inputs or CLI flags). */
  secretNames?: SecretNames;
}

const INPUT_NAMES: SecretNames = { passphrase: 'decrypt-passphrase', identity: 'decrypt-identity' };

/**
 * Any archive a seed may come from, inspected once before anything is written: ours (manifest checked),
 * or a foreign tar — plain, gzip, zstd, bzip2 or xz, known by its content; optionally gpg- or
 * age-encrypted. Its first entry is read here, so a wrong passphrase, an unknown layout or a corrupt start
 * fails before a volume is created.
 */
export async function openSeedArchive(
  input: ArchiveInput,
  options: SeedArchiveOptions = {},
): Promise<ArchiveSource> {
  const file = locationOf(input);
  const head = await readHead(input, 512);
  if (head.length === 0) throw new UserError(`Archive ${file} is empty (0 bytes).`);
  const envelope = checkedEnvelope(head, file);
  const base =
    envelope === 'gpg' || envelope === 'age'
      ? await openEncrypted(input, envelope, options)
      : hasKnownName(file) || envelope === 'compose-persist'
        ? await openArchiveSource(input, options) // our naming rules: the name and the content agree
        : plainSource(input, detectFormat(head, file), options);
  const first = await firstEntryOf(base, file);
  if (looksLikeOurs(first.name, options.from)) return base;
  const layout = layoutOf(first, options.from, archivePhrase(file));
  return { ...base, foreign: true, reader: () => createForeignReader(layout, archivePhrase(file)) };
}

/** The manifest `digest FILE` prints, for any archive a seed accepts. */
export async function verifySeedArchiveFile(input: ArchiveInput, options: SeedArchiveOptions = {}) {
  return verifyArchive(await openSeedArchive(input, options));
}

function hasKnownName(file: string): boolean {
  const lower = file.toLowerCase();
  return Object.values(FORMAT_EXTENSIONS)
    .flat()
    .some((ext) => lower.endsWith(ext) || lower.endsWith(`${ext}.enc`));
}

function plainSource(input: ArchiveInput, format: ArchiveFormat, options: SeedArchiveOptions): ArchiveSource {
  return withStages(input, format, false, () => [], options);
}

/** The stored bytes: a local file, or a store's object read as a stream. */
function openInput(input: ArchiveInput): Readable {
  return typeof input === 'string' ? createReadStream(input) : input.open();
}

function withStages(
  input: ArchiveInput,
  format: ArchiveFormat,
  encrypted: boolean,
  decrypt: () => Duplex[],
  options: SeedArchiveOptions,
): ArchiveSource {
  const file = locationOf(input);
  return {
    file,
    format,
    encrypted,
    streams: (meter) => [
      openInput(input),
      ...metered(decrypt(), meter),
      createDecompressor(format, file),
      ...(options.maxBytes ? [createSizeLimit(options.maxBytes, file)] : []),
    ],
  };
}

/** A gpg or age backup: the format inside is read from the decrypted content (the name may not say it). */
async function openEncrypted(
  input: ArchiveInput,
  envelope: 'gpg' | 'age',
  options: SeedArchiveOptions,
): Promise<ArchiveSource> {
  const file = locationOf(input);
  const secrets = options.decrypt ?? {};
  const names = options.secretNames ?? INPUT_NAMES;
  const decryptor = (): Duplex =>
    envelope === 'gpg' ? createGpgDecryptor(secrets, file, names) : createAgeDecryptor(secrets, file, names);
  decryptor(); // a missing passphrase or an unreadable identity fails here, before anything is read
  const plaintextHead = await peek([openInput(input), decryptor()], headCollector(512));
  const format = detectFormat(plaintextHead, `${file} (decrypted)`);
  checkNamedFormat(file, envelope, format);
  return withStages(input, format, true, () => [decryptor()], options);
}

/** `x.tar.gz.gpg` holding xz data is refused like any mislabelled archive. */
function checkNamedFormat(file: string, envelope: Envelope, format: ArchiveFormat): void {
  const inner = withoutEncryptedExtension(file.toLowerCase());
  for (const [named, endings] of Object.entries(FORMAT_EXTENSIONS)) {
    if (named !== format && endings.some((ending) => inner.endsWith(ending))) {
      throw new UserError(
        `Archive ${file} is named as ${named} but its ${envelope}-decrypted content is ${format}: rename it to end in ${FORMAT_EXTENSIONS[format][0]}.${file.slice(file.lastIndexOf('.'))}.`,
      );
    }
  }
}

/** Thrown by a peek's sink once it has what it came for: the pipeline then stops (children killed). */
class PeekDone<T> extends Error {
  constructor(readonly value: T) {
    super('peek done');
  }
}

/** Runs `stages` into `sink` until the sink has its value; the stages' own errors come out as they are. */
async function peek<T>(
  stages: (Readable | Duplex)[],
  sink: { stream: Writable; value: () => T },
): Promise<T> {
  try {
    await pipeline([...stages, sink.stream]);
  } catch (error) {
    if (error instanceof PeekDone) return error.value as T;
    throw error instanceof UserError
      ? error
      : new UserError(`Archive cannot be read: ${errorMessage(error)}`);
  }
  return sink.value();
}

/** Collects the first `bytes` bytes (fewer if the stream is shorter). */
function headCollector(bytes: number): { stream: Writable; value: () => Buffer } {
  const chunks: Buffer[] = [];
  let size = 0;
  const value = () => Buffer.concat(chunks).subarray(0, bytes);
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      size += chunk.length;
      done(size >= bytes ? new PeekDone(value()) : null);
    },
  });
  return { stream, value };
}

/** The archive's first entry header (pax and long names applied); an archive with none is refused. */
async function firstEntryOf(source: ArchiveSource, file: string): Promise<TarEntryHeader> {
  const what = archivePhrase(file);
  const scanner = new TarScanner(
    {
      header: (header) => {
        throw new PeekDone(header);
      },
      content: () => undefined,
      entryEnd: () => undefined,
      end: () => {
        throw new UserError(`${what} is empty: it holds no entries.`);
      },
    },
    { output: 'none', label: what },
  );
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  return peek<TarEntryHeader>([...source.streams(), scanner], {
    stream: sink,
    value: () => {
      throw new UserError(`${what} is empty: it holds no entries.`);
    },
  });
}
