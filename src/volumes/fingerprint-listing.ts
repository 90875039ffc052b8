// A volume's fingerprint as a listing on disk instead of a manifest in memory: each entry of the engine's
// tar stream is hashed as it streams and spooled to sorted runs (the manifests' EntrySpool), then merged
// once into one listing in the digest's order while the digest is computed. Memory holds one run (and, for
// hard links, one record per link), whatever the number of files.
import { createHash, type Hash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CanonicalEntry, EntryType, ManifestEntry } from '../archive/manifest.js';
import { EntrySpool } from '../archive/manifest-spool.js';
import { LineFile, linesOf } from '../archive/spool.js';
import { checkedManifestEntry } from '../archive/tar-entries.js';
import { UnsafeEntryError, volumeRelativePath } from '../archive/tar-paths.js';
import { TarScanner, type TarEntryHeader } from '../archive/tar-scanner.js';
import { UserError } from '../errors.js';

/** A volume as it was read: counts, digest, and its entries in a file (one ListingLine a line, by path). */
export interface VolumeListing {
  /** The listing file; remove it (or its directory) once it has been compared. */
  file: string;
  /** The directory that holds the file. */
  dir: string;
  root: string;
  /** Number of regular files + hardlinks (as VolumeManifest.files). */
  files: number;
  /** Sum of regular file sizes (as VolumeManifest.bytes). */
  bytes: number;
  entries: number;
  /** 'sha256:<hex>', equal to computeDigest of the same entries. */
  digest: string;
  /** The entries the caller's SampleSpec picked (what recognises a known store), in stream order. */
  samples: ListingSample[];
  /** Entries picked past SampleSpec.max, counted and not kept. */
  samplesDropped: number;
}

/**
 * Entries a listing keeps aside besides its lines, chosen by the caller (known-store markers): by base
 * name, or regular files by their first bytes. Bounded by `max`, so memory stays flat in the file count.
 */
export interface SampleSpec {
  /** Entries (any type) whose base name is one of these, or matches `pattern`. */
  names: ReadonlySet<string>;
  pattern?: RegExp;
  /** Regular files that start with one of these byte strings (a file format's magic). */
  headers: readonly Buffer[];
  /** A file picked by name is kept with its content (as text) when it is at most this long (PG_VERSION, a manifest). */
  contentBytes: number;
  max: number;
}

/** One sampled entry: its path, type and size, what it starts with, and (named files) its first bytes. */
export interface ListingSample {
  path: string;
  type: EntryType;
  size: number;
  /** Index into SampleSpec.headers of the magic it starts with. */
  header?: number;
  /** Its content as UTF-8, for a file picked by name no longer than SampleSpec.contentBytes. */
  content?: string;
}

/**
 * One entry as the digest sees it (see computeDigest): path, type, mode, uid, gid, size, mtime (null for
 * the root), sha256, symlink target, hard-link group, "major,minor"; then the sorted xattr names, joined
 * by newlines ('' for none), which diffs compare and the digest leaves out.
 */
export type ListingLine = [
  path: string,
  type: EntryType,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtime: number | null,
  sha256: string | null,
  linkTarget: string | null,
  hardlinks: string | null,
  device: string | null,
  xattrs: string,
];

export interface ListingOptions {
  /** The tar root name of the volume's entries ('volume'). */
  root: string;
  /** The place read, for messages. */
  volumeName?: string;
  /** Where the listing's directory is made (the run's temp dir). */
  tempDir: string;
  /** Entries to keep aside (none when absent). */
  samples?: SampleSpec;
}

/** Reads the engine's tar stream of a volume into a listing on disk; its digest equals the manifest's. */
export async function listTarStream(
  tar: Readable | NodeJS.ReadableStream,
  options: ListingOptions,
): Promise<VolumeListing> {
  const dir = await mkdtemp(path.join(options.tempDir, 'listing-'));
  const spool = new ListingSpool(options, dir);
  try {
    const scanner = new TarScanner(spool.visitor(), { output: 'none', label: spool.label });
    await pipeline(tar, scanner, discard());
    return spool.finish();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  } finally {
    spool.dispose();
  }
}

/** Hashes each entry as it streams and spools it (manifest-spool's EntrySpool: sorted runs on disk). */
class ListingSpool {
  readonly label: string;
  private readonly entries = new EntrySpool(true);
  private readonly guard: ReturnType<typeof rootGuard>;
  private current: { entry: ManifestEntry; hash: Hash | null } | null = null;
  private readonly sampler: EntrySampler | undefined;

  constructor(
    private readonly options: ListingOptions,
    private readonly dir: string,
  ) {
    this.label =
      options.volumeName === undefined ? 'The tar stream' : `The tar stream of volume ${options.volumeName}`;
    this.guard = rootGuard(options.root);
    this.sampler = options.samples ? new EntrySampler(options.samples) : undefined;
  }

  visitor() {
    return {
      header: (header: TarEntryHeader) => void this.start(header),
      content: (chunk: Buffer) => {
        this.current?.hash?.update(chunk);
        this.sampler?.content(chunk);
      },
      entryEnd: () => this.finishEntry(),
      end: () => undefined,
    };
  }

  private start(header: TarEntryHeader): void {
    const entry = checkedManifestEntry(header, this.options.root, this.guard);
    this.current = { entry, hash: entry.type === 'file' ? createHash('sha256') : null };
    this.sampler?.start(entry);
  }

  private finishEntry(): void {
    if (!this.current) return;
    const { entry, hash } = this.current;
    this.current = null;
    if (hash) entry.sha256 = hash.digest('hex');
    this.sampler?.end();
    this.entries.add(entry);
  }

  /** Writes the entries out in the digest's order, in the pass that computes the digest and the counts. */
  finish(): VolumeListing {
    if (!this.entries.hasRoot) {
      throw new UserError(
        `${this.label} has no root entry ${this.options.root}/: it is empty or not a volume read by the engine.`,
      );
    }
    const file = path.join(this.dir, 'listing.jsonl');
    const writer = new LineFile(file);
    let previous: string | undefined;
    try {
      const { digest, files, bytes } = this.entries.finish(false, ({ entry, canonical }) => {
        // Sorted, a path the stream holds twice comes out twice in a row.
        if (entry.path === previous) {
          throw new UnsafeEntryError(`Unsafe tar stream: ${JSON.stringify(entry.path)} appears twice.`);
        }
        previous = entry.path;
        writer.write(`${JSON.stringify(listingLine(entry, canonical))}\n`);
      });
      const entries = this.entries.size;
      const samples = this.sampler?.samples ?? [];
      const samplesDropped = this.sampler?.dropped ?? 0;
      return {
        file,
        dir: this.dir,
        root: this.options.root,
        files,
        bytes,
        entries,
        digest,
        samples,
        samplesDropped,
      };
    } finally {
      writer.close();
    }
  }

  dispose(): void {
    this.entries.dispose();
  }
}

/** Picks entries by SampleSpec as they stream: a name is known at the header, a magic after the first bytes. */
class EntrySampler {
  readonly samples: ListingSample[] = [];
  dropped = 0;
  private readonly magicBytes: number;
  private current: {
    sample: ListingSample;
    byName: boolean;
    /** Bytes of this entry to keep: a magic's length, or a small named file's whole content. */
    want: number;
    head: Buffer[];
    length: number;
  } | null = null;

  constructor(private readonly spec: SampleSpec) {
    this.magicBytes = Math.max(0, ...spec.headers.map((h) => h.length));
  }

  start(entry: ManifestEntry): void {
    const name = entry.path.slice(entry.path.lastIndexOf('/') + 1);
    const byName = this.spec.names.has(name) || (this.spec.pattern?.test(name) ?? false);
    if (!byName && (entry.type !== 'file' || this.magicBytes === 0)) {
      this.current = null;
      return;
    }
    const whole = byName && entry.type === 'file' && entry.size <= this.spec.contentBytes;
    this.current = {
      sample: { path: entry.path, type: entry.type, size: entry.size },
      byName,
      want: entry.type === 'file' ? Math.max(this.magicBytes, whole ? entry.size : 0) : 0,
      head: [],
      length: 0,
    };
  }

  content(chunk: Buffer): void {
    const current = this.current;
    if (!current || current.length >= current.want) return;
    const part = chunk.subarray(0, current.want - current.length);
    current.head.push(Buffer.from(part));
    current.length += part.length;
  }

  end(): void {
    const current = this.current;
    this.current = null;
    if (!current) return;
    const head = Buffer.concat(current.head);
    const header = this.spec.headers.findIndex((magic) => head.subarray(0, magic.length).equals(magic));
    if (!current.byName && header < 0) return;
    if (this.samples.length >= this.spec.max) {
      this.dropped++;
      return;
    }
    const sample = current.sample;
    if (header >= 0) sample.header = header;
    if (current.byName && sample.type === 'file' && sample.size <= this.spec.contentBytes) {
      sample.content = head.toString('utf8');
    }
    this.samples.push(sample);
  }
}

/** The digest's fields of an entry, then its own sorted xattr names. */
function listingLine(entry: ManifestEntry, c: CanonicalEntry): ListingLine {
  return [
    c.path,
    c.type,
    c.mode,
    c.uid,
    c.gid,
    c.size,
    c.mtime,
    c.sha256,
    c.linkTarget,
    c.hardlinks,
    c.device,
    (entry.xattrs ?? []).join('\n'),
  ];
}

/**
 * The path checks a listing needs without remembering every path: the root is a directory, and a hard
 * link's target lies inside the root (that it was stored before is checked once the stream has ended;
 * duplicates show up next to each other in the sorted listing). Nothing is extracted from this stream.
 */
function rootGuard(root: string) {
  return {
    check(relativePath: string, type: EntryType, hardlinkTarName?: string): string | undefined {
      if (relativePath === '.' && type !== 'directory') {
        throw new UnsafeEntryError(`Unsafe tar stream: its root ${root}/ is a ${type}, not a directory.`);
      }
      if (type !== 'hardlink') return undefined;
      try {
        return volumeRelativePath(hardlinkTarName ?? '', root);
      } catch {
        throw new UnsafeEntryError(
          `Unsafe tar entry ${JSON.stringify(relativePath)}: a hard link to ${JSON.stringify(hardlinkTarName)}, outside ${root}/.`,
        );
      }
    },
  };
}

/** The lines of a listing, parsed. */
export function* listingLines(listing: Pick<VolumeListing, 'file'>): Generator<ListingLine> {
  for (const line of linesOf(listing.file)) if (line !== '') yield JSON.parse(line) as ListingLine;
}

/** Removes a listing's directory. */
export async function removeListing(listing: Pick<VolumeListing, 'dir'>): Promise<void> {
  await rm(listing.dir, { recursive: true, force: true });
}

/** A sink for streams read only for what they compute. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}
