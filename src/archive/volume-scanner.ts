import type { RecordedProbes } from '../types/restore.js';
import { createHash, hash, type Hash } from 'node:crypto';
import { UserError } from '../errors.js';
import { MANIFEST_ENTRY_NAME, type ManifestEntry, type VolumeManifest } from './manifest.js';
import {
  EntrySpool,
  manifestText,
  manifestTextBytes,
  manifestWithListing,
  summaryOf,
  verifySpooledManifest,
  type ManifestSummary,
} from './manifest-spool.js';
import { EmbeddedManifestReader } from './embedded-manifest.js';
import { canonicalHeaderOf, checkedManifestEntry } from './tar-entries.js';
import { StreamingPathGuard } from './path-guard.js';
import { UnsafeEntryError } from './tar-paths.js';
import {
  TarScanner,
  paddingOf,
  type TarEntryHeader,
  type TarScannerOptions,
  type TarScanVisitor,
  type Trailer,
} from './tar-scanner.js';
import { fileHeaderBlock } from './tar-writer.js';

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
  /** True while the entries came in the engine's walk order (path checks with flat memory, path-guard.ts). */
  inWalkOrder: () => boolean = () => true;

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

/** The entries of one volume's tar: paths checked, each file hashed as it streams, spooled to disk. */
export class EntryHasher {
  readonly spool = new EntrySpool(true);
  readonly guard: StreamingPathGuard;
  private current: { entry: ManifestEntry; hash: Hash | null; sha256?: string } | null = null;

  constructor(private readonly root: string) {
    this.guard = new StreamingPathGuard(root, () => this.spool.entries());
  }

  start(header: TarEntryHeader): ManifestEntry {
    const entry = checkedManifestEntry(header, this.root, this.guard);
    this.current = { entry, hash: null };
    return entry;
  }

  get inProgress(): string | undefined {
    return this.current?.entry.path;
  }

  update(chunk: Buffer): void {
    const current = this.current;
    if (current?.entry.type !== 'file') return;
    // A small file's content comes in one slice: hashed at once, without a Hash object for it.
    if (current.hash === null && chunk.length === current.entry.size) current.sha256 = sha256Of(chunk);
    else (current.hash ??= createHash('sha256')).update(chunk);
  }

  finish(): void {
    if (!this.current) return;
    const { entry, hash, sha256 } = this.current;
    if (entry.type === 'file') entry.sha256 = sha256 ?? hash?.digest('hex') ?? EMPTY_SHA256;
    this.spool.add(entry);
    this.current = null;
  }
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** sha256 of one buffer (crypto.hash from Node 20.12; a Hash object before). */
function sha256Of(bytes: Buffer): string {
  return typeof hash === 'function'
    ? hash('sha256', bytes, 'hex')
    : createHash('sha256').update(bytes).digest('hex');
}

export interface VolumeScannerOptions {
  /** The tar root name of the volume's entries. */
  root: string;
  /** The volume being read, for messages and the manifest. */
  volumeName?: string;
  /** Forward the engine's bytes with the manifest appended (archive), or only read them (fingerprint). */
  appendManifest: boolean;
  /** Keep the entries for `manifest.entries` (default true); without, only the digest and counts are kept. */
  keepEntries?: boolean;
  /** The probes' answers to record in the manifest (record-probes). */
  probes?: RecordedProbes;
}

/** For a manifest read for its digest only: asking for its entries is a bug. */
export function digestOnly(summary: ManifestSummary): VolumeManifest {
  const manifest = { ...summary } as VolumeManifest;
  Object.defineProperty(manifest, 'entries', {
    get: () => {
      throw new Error('This manifest was read for its digest only: its entries were not kept.');
    },
  });
  return manifest;
}

/**
 * The engine's tar stream of a volume (GET /containers/{id}/archive) → the same bytes, unchanged, with
 * the manifest appended as the last entry; or, without `appendManifest`, only the manifest.
 */
export function createVolumeScanner(options: VolumeScannerOptions): VolumeTarStream {
  const label =
    options.volumeName === undefined ? 'The tar stream' : `The tar stream of volume ${options.volumeName}`;
  const entries = new EntryHasher(options.root);
  const keepEntries = options.appendManifest || options.keepEntries !== false;
  const visitor: ManifestVisitor = {
    onManifest: () => undefined,
    header: (header) => void entries.start(header),
    content: (chunk) => entries.update(chunk),
    entryEnd: () => entries.finish(),
    end(): Trailer {
      if (!entries.spool.hasRoot) {
        throw new UserError(
          `${label} has no root entry ${options.root}/: it is empty or not a volume read by the engine.`,
        );
      }
      const counts = entries.spool.finish(keepEntries);
      entries.spool.dispose();
      const summary = {
        ...summaryOf(options.root, options.volumeName, counts),
        ...(options.probes ? { probes: options.probes } : {}),
      };
      const { listing } = counts;
      visitor.onManifest(listing ? manifestWithListing(summary, listing) : digestOnly(summary));
      if (!options.appendManifest || !listing) return undefined;
      return manifestEntry(summary, manifestText(summary, listing), manifestTextBytes(summary, listing));
    },
  };
  // The engine's own bytes go on unchanged: Go's writer makes them unambiguous, we read them as Go does, and
  // any archive is rewritten from our parse again when it is seeded.
  const stream = new VolumeTarStream(visitor, { output: options.appendManifest ? 'same' : 'none', label });
  stream.entryInProgress = () => entries.inProgress;
  stream.inWalkOrder = () => entries.guard.ordered;
  return stream;
}

/** The manifest as the archive's last tar entry: header, its text in pieces, padding. */
function* manifestEntry(summary: ManifestSummary, text: Iterable<Buffer>, size: number): Generator<Buffer> {
  const mtime = Math.floor(Date.parse(summary.createdAt) / 1000);
  yield fileHeaderBlock(MANIFEST_ENTRY_NAME, size, mtime);
  yield* text;
  yield Buffer.alloc(paddingOf(size));
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
 * Paths are checked as they stream; at the end what streamed is compared with the manifest (both listings
 * spooled to disk and merged). Until then the end-of-archive blocks are held back: a bad archive makes the
 * output fail, never end cleanly.
 */
export function createArchiveVerifier(options: ArchiveVerifierOptions): VolumeTarStream {
  const { what } = options;
  const entries = new EntryHasher(options.root);
  let embedded: EmbeddedManifestReader | undefined;
  let summary: ManifestSummary | undefined;
  const visitor: ManifestVisitor = {
    onManifest: () => undefined,
    header(header) {
      if (embedded) {
        throw new UserError(
          `${what} has entries after its manifest (${header.name}): it was not made by compose-persist.`,
        );
      }
      if (header.name === MANIFEST_ENTRY_NAME) {
        if (header.type !== 'file') {
          throw new UserError(`${what} has a ${MANIFEST_ENTRY_NAME} that is not a manifest.`);
        }
        embedded = new EmbeddedManifestReader(what, header.size);
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
      if (embedded) embedded.write(chunk);
      else entries.update(chunk);
    },
    entryEnd() {
      if (!embedded) return entries.finish();
      summary = embedded.end();
    },
    end() {
      if (!embedded || !summary) {
        throw new UserError(
          entries.spool.size === 0
            ? `${what} is empty: it holds no entries.`
            : `${what} is truncated or was not made by compose-persist: it has no ${MANIFEST_ENTRY_NAME} at its end.`,
        );
      }
      const expected = embedded.entries;
      try {
        const wanted = expected.finish(true);
        const got = entries.spool.finish(false);
        verifySpooledManifest(summary, expected, wanted.digest, entries.spool, got.digest, what, {
          expected: wanted.exactDigest,
          actual: got.exactDigest,
        });
        // The exact digest of what was written (older manifests record none): what a full tar reads back.
        visitor.onManifest(
          manifestWithListing(
            { ...summary, exactDigest: got.exactDigest },
            wanted.listing as NonNullable<typeof wanted.listing>,
          ),
        );
      } finally {
        expected.dispose();
        entries.spool.dispose();
      }
      return undefined;
    },
  };
  // Refusals name the archive first, then the entry.
  const describe = (error: Error) =>
    error instanceof UnsafeEntryError ? new UnsafeEntryError(`${what} was refused. ${error.message}`) : error;
  const stream = new VolumeTarStream(visitor, { output: 'rewritten', label: what, describe });
  stream.inWalkOrder = () => entries.guard.ordered;
  return stream;
}
