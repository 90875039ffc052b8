import { createHash, type Hash } from 'node:crypto';
import { UserError } from '../errors.js';
import {
  MANIFEST_ENTRY_NAME,
  ManifestBuilder,
  parseManifest,
  verifyAgainstManifest,
  type ManifestEntry,
  type VolumeManifest,
} from './manifest.js';
import { canonicalHeaderOf, checkedManifestEntry } from './tar-entries.js';
import { EntryPathGuard, UnsafeEntryError } from './tar-paths.js';
import {
  TarScanner,
  type TarEntryHeader,
  type TarScannerOptions,
  type TarScanVisitor,
} from './tar-scanner.js';
import { fileEntryBytes } from './tar-writer.js';

/** Node keeps a JSON string under ~512 MiB; a manifest that large (millions of files) would not parse. */
const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;

/** A visitor that ends with a manifest. */
interface ManifestVisitor extends TarScanVisitor {
  onManifest: (manifest: VolumeManifest) => void;
}

/**
 * A volume's tar stream, scanned as it passes (see TarScanner); `manifest` settles once the stream has
 * ended and was checked, or rejects with the error the stream failed with.
 */
export class VolumeTarStream extends TarScanner {
  readonly manifest: Promise<VolumeManifest>;
  /** The volume-relative path of the entry being read, if the stream is in the middle of one. */
  entryInProgress: () => string | undefined = () => undefined;

  constructor(visitor: ManifestVisitor, options: TarScannerOptions) {
    super(visitor, options);
    this.manifest = new Promise((resolve, reject) => {
      visitor.onManifest = resolve;
      this.once('error', reject);
      // A stream closed early without an error (its reader gave up) never finished the manifest.
      this.once('close', () => reject(new Error(`${options.label} was closed before it ended.`)));
    });
    this.manifest.catch(() => undefined); // callers that only pipe must not trigger an unhandled rejection
  }
}

/** The entries of one volume's tar: paths checked, each file hashed as it streams, added to a manifest. */
export class EntryHasher {
  readonly builder: ManifestBuilder;
  private readonly guard: EntryPathGuard;
  private current: { entry: ManifestEntry; hash: Hash | null } | null = null;

  constructor(
    private readonly root: string,
    volumeName?: string,
  ) {
    this.guard = new EntryPathGuard(root);
    this.builder = new ManifestBuilder(root, volumeName);
  }

  start(header: TarEntryHeader): ManifestEntry {
    const entry = checkedManifestEntry(header, this.root, this.guard);
    this.current = { entry, hash: entry.type === 'file' ? createHash('sha256') : null };
    return entry;
  }

  get inProgress(): string | undefined {
    return this.current?.entry.path;
  }

  update(chunk: Buffer): void {
    this.current?.hash?.update(chunk);
  }

  finish(): void {
    if (!this.current) return;
    const { entry, hash } = this.current;
    if (hash) entry.sha256 = hash.digest('hex');
    this.builder.add(entry);
    this.current = null;
  }
}

export interface VolumeScannerOptions {
  /** The tar root name of the volume's entries. */
  root: string;
  /** The volume being read, for messages and the manifest. */
  volumeName?: string;
  /** Forward the engine's bytes with the manifest appended (archive), or only read them (fingerprint). */
  appendManifest: boolean;
}

/**
 * The engine's tar stream of a volume (GET /containers/{id}/archive) → the same bytes, unchanged, with
 * the manifest appended as the last entry; or, without `appendManifest`, only the manifest.
 */
export function createVolumeScanner(options: VolumeScannerOptions): VolumeTarStream {
  const label =
    options.volumeName === undefined ? 'The tar stream' : `The tar stream of volume ${options.volumeName}`;
  const entries = new EntryHasher(options.root, options.volumeName);
  const visitor: ManifestVisitor = {
    onManifest: () => undefined,
    header: (header) => void entries.start(header),
    content: (chunk) => entries.update(chunk),
    entryEnd: () => entries.finish(),
    end() {
      if (!entries.builder.has('.')) {
        throw new UserError(
          `${label} has no root entry ${options.root}/: it is empty or not a volume read by the engine.`,
        );
      }
      const manifest = entries.builder.finalize();
      visitor.onManifest(manifest);
      if (!options.appendManifest) return undefined;
      const content = Buffer.from(`${JSON.stringify(manifest)}\n`);
      const mtime = Math.floor(Date.parse(manifest.createdAt) / 1000);
      return fileEntryBytes(MANIFEST_ENTRY_NAME, content, mtime);
    },
  };
  // The engine's own bytes go on unchanged: Go's writer makes them unambiguous, we read them as Go does, and
  // any archive is rewritten from our parse again when it is seeded.
  const stream = new VolumeTarStream(visitor, { output: options.appendManifest ? 'same' : 'none', label });
  stream.entryInProgress = () => entries.inProgress;
  return stream;
}

export interface ArchiveVerifierOptions {
  /** The tar root name of the volume's entries. */
  root: string;
  /** The archive, as messages name it ("Archive x.tar.zst"). */
  what: string;
}

/**
 * A decompressed archive → its volume entries for the engine's PUT, without the manifest entry: each
 * entry's header rewritten from its manifest entry (canonical ustar/pax), its content passed through.
 * Paths are checked as they stream; at the end what streamed is compared with the manifest. Until
 * then the end-of-archive blocks are held back: a bad archive makes the output fail, never end cleanly.
 */
export function createArchiveVerifier(options: ArchiveVerifierOptions): VolumeTarStream {
  const { what } = options;
  const entries = new EntryHasher(options.root);
  let manifestText: Buffer[] | null = null;
  let embedded: VolumeManifest | undefined;
  const visitor: ManifestVisitor = {
    onManifest: () => undefined,
    header(header) {
      if (embedded || manifestText) {
        throw new UserError(
          `${what} has entries after its manifest (${header.name}): it was not made by compose-persist.`,
        );
      }
      if (header.name === MANIFEST_ENTRY_NAME) {
        if (header.type !== 'file' || header.size > MAX_MANIFEST_BYTES) {
          throw new UserError(`${what} has a ${MANIFEST_ENTRY_NAME} that is not a manifest.`);
        }
        manifestText = [];
        return false;
      }
      if (header.type === 'character-device' || header.type === 'block-device') {
        // A device node in a volume is a way into the host's devices for whoever mounts it.
        throw new UnsafeEntryError(
          `${what} holds a device node (${header.name}): refusing to create device files in a volume.`,
        );
      }
      // The engine gets headers written from our parse, never the archive's own: what we check is what it writes.
      return canonicalHeaderOf(entries.start(header), header, options.root);
    },
    content(chunk) {
      if (manifestText) manifestText.push(Buffer.from(chunk));
      else entries.update(chunk);
    },
    entryEnd() {
      if (!manifestText) return entries.finish();
      embedded = parseManifest(Buffer.concat(manifestText).toString('utf8'), what);
    },
    end() {
      if (!embedded) {
        throw new UserError(
          entries.builder.size === 0
            ? `${what} is empty: it holds no entries.`
            : `${what} is truncated or was not made by compose-persist: it has no ${MANIFEST_ENTRY_NAME} at its end.`,
        );
      }
      verifyAgainstManifest(embedded, entries.builder.finalize(), what);
      visitor.onManifest(embedded);
      return undefined;
    },
  };
  // Refusals name the archive first, then the entry.
  const describe = (error: Error) =>
    error instanceof UnsafeEntryError ? new UnsafeEntryError(`${what} was refused. ${error.message}`) : error;
  return new VolumeTarStream(visitor, { output: 'rewritten', label: what, describe });
}
