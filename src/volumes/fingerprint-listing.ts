// A volume's fingerprint as a listing on disk instead of a manifest in memory: each entry of the engine's
// tar stream is hashed as it streams and spooled to sorted runs in a temp dir, then merged once into one
// listing in the digest's order while the digest is computed. Memory holds one run (and, for hard links,
// one record per link), whatever the number of files.
import { createHash, type Hash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EntryType, ManifestEntry } from '../archive/manifest.js';
import { compareNames, nameBytes } from '../archive/name-bytes.js';
import { checkedManifestEntry } from '../archive/tar-entries.js';
import { UnsafeEntryError, volumeRelativePath } from '../archive/tar-paths.js';
import { TarScanner, type TarEntryHeader } from '../archive/tar-scanner.js';
import { UserError } from '../errors.js';
import { ExternalSorter, LineWriter, readLines } from './line-files.js';

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

/** The ListingLine fields the digest covers. */
const DIGEST_FIELDS = 11;

export interface ListingOptions {
  /** The tar root name of the volume's entries ('volume'). */
  root: string;
  /** The place read, for messages. */
  volumeName?: string;
  /** Where the listing's directory is made (the run's temp dir). */
  tempDir: string;
  /** Entries per sorted run (memory holds one run). */
  runSize?: number;
}

/** Reads the engine's tar stream of a volume into a listing on disk; its digest equals the manifest's. */
export async function listTarStream(
  tar: Readable | NodeJS.ReadableStream,
  options: ListingOptions,
): Promise<VolumeListing> {
  const dir = await mkdtemp(path.join(options.tempDir, 'listing-'));
  try {
    const spool = new EntrySpool(options, dir);
    const scanner = new TarScanner(spool.visitor(), { output: 'none', label: spool.label });
    await pipeline(tar, scanner, discard());
    return await spool.finish();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Hashes each entry as it streams and spools it to sorted runs; records hard links on the side. */
class EntrySpool {
  readonly label: string;
  private readonly sorter: ExternalSorter<ManifestEntry>;
  private readonly guard: ReturnType<typeof rootGuard>;
  private current: { entry: ManifestEntry; hash: Hash | null } | null = null;
  /** Hard link path → the volume-relative path it links to. */
  private readonly links = new Map<string, string>();
  private sawRoot = false;
  private files = 0;
  private bytes = 0;

  constructor(
    private readonly options: ListingOptions,
    private readonly dir: string,
  ) {
    this.label =
      options.volumeName === undefined ? 'The tar stream' : `The tar stream of volume ${options.volumeName}`;
    this.guard = rootGuard(options.root);
    this.sorter = new ExternalSorter<ManifestEntry>(
      (index) => path.join(dir, `run-${index}.jsonl`),
      (entry) => nameBytes(entry.path),
      options.runSize,
    );
  }

  visitor() {
    return {
      header: (header: TarEntryHeader) => void this.start(header),
      content: (chunk: Buffer) => void this.current?.hash?.update(chunk),
      entryEnd: () => this.finishEntry(),
      end: () => undefined,
    };
  }

  private start(header: TarEntryHeader): void {
    const entry = checkedManifestEntry(header, this.options.root, this.guard);
    this.current = { entry, hash: entry.type === 'file' ? createHash('sha256') : null };
  }

  private finishEntry(): void {
    if (!this.current) return;
    const { entry, hash } = this.current;
    this.current = null;
    if (hash) entry.sha256 = hash.digest('hex');
    if (entry.path === '.') this.sawRoot = true;
    if (entry.type === 'file' || entry.type === 'hardlink') this.files++;
    if (entry.type === 'file') this.bytes += entry.size;
    if (entry.type === 'hardlink' && entry.linkTarget !== undefined)
      this.links.set(entry.path, entry.linkTarget);
    this.sorter.add(entry);
  }

  /** Merges the runs into the listing in the digest's order, computing the digest on the way. */
  async finish(): Promise<VolumeListing> {
    if (!this.sawRoot) {
      throw new UserError(
        `${this.label} has no root entry ${this.options.root}/: it is empty or not a volume read by the engine.`,
      );
    }
    const groups = await HardLinkGroups.resolve(this.links, this.sorter);
    const file = path.join(this.dir, 'listing.jsonl');
    const writer = new LineWriter(file);
    const digest = createHash('sha256');
    let previous: Buffer | undefined;
    try {
      for await (const { key, value: entry } of this.sorter.merged()) {
        if (previous?.equals(key)) {
          throw new UnsafeEntryError(`Unsafe tar stream: ${JSON.stringify(entry.path)} appears twice.`);
        }
        previous = key;
        const line = groups.canonicalLine(entry);
        const digestLine = JSON.stringify(line.slice(0, DIGEST_FIELDS));
        digest.update(`${digestLine}\n`);
        writer.write(JSON.stringify(line));
      }
    } finally {
      writer.close();
    }
    await Promise.all(this.sorter.files.map((run) => rm(run, { force: true })));
    return {
      file,
      dir: this.dir,
      root: this.options.root,
      files: this.files,
      bytes: this.bytes,
      entries: writer.lines,
      digest: `sha256:${digest.digest('hex')}`,
    };
  }
}

/**
 * Hard-link groups, as computeDigest flattens them: every member is written as the entry that holds the
 * data, plus the group's smallest path. Kept in memory per link (volumes rarely hold many).
 */
class HardLinkGroups {
  private constructor(
    private readonly links: Map<string, string>,
    private readonly data: Map<string, ManifestEntry>,
    private readonly groups: Map<string, { smallest: string; members: number }>,
  ) {}

  static async resolve(
    links: Map<string, string>,
    sorter: ExternalSorter<ManifestEntry>,
  ): Promise<HardLinkGroups> {
    const data = new Map<string, ManifestEntry>();
    const groups = new Map<string, { smallest: string; members: number }>();
    if (links.size === 0) return new HardLinkGroups(links, data, groups);
    const dataPaths = new Set([...links.keys()].map((link) => dataPathOf(link, links)));
    for await (const entry of sorter.all()) if (dataPaths.has(entry.path)) data.set(entry.path, entry);
    for (const [link] of links) {
      const held = data.get(dataPathOf(link, links));
      if (!held || held.type === 'directory') {
        throw new UnsafeEntryError(
          `Unsafe tar entry ${JSON.stringify(link)}: a hard link to ${JSON.stringify(links.get(link))}, which is not a file stored before it.`,
        );
      }
      const group = groups.get(held.path) ?? { smallest: held.path, members: 1 };
      group.members++;
      if (compareNames(link, group.smallest) < 0) group.smallest = link;
      groups.set(held.path, group);
    }
    return new HardLinkGroups(links, data, groups);
  }

  canonicalLine(entry: ManifestEntry): ListingLine {
    const dataPath = this.links.has(entry.path) ? dataPathOf(entry.path, this.links) : entry.path;
    const d = this.data.get(dataPath) ?? entry;
    const group = this.groups.get(dataPath);
    return [
      entry.path,
      d.type,
      d.mode,
      d.uid,
      d.gid,
      d.size,
      entry.path === '.' ? null : d.mtime,
      d.sha256 ?? null,
      d.type === 'symlink' ? (d.linkTarget ?? '') : null,
      group && group.members > 1 ? group.smallest : null,
      d.device ? `${d.device.major},${d.device.minor}` : null,
      [...(entry.xattrs ?? [])].sort().join('\n'),
    ];
  }
}

/** Follows hard links to the path that holds the data. */
function dataPathOf(link: string, links: Map<string, string>): string {
  let current = link;
  const visited = new Set<string>();
  while (links.has(current) && !visited.has(current)) {
    visited.add(current);
    current = links.get(current) as string;
  }
  return current;
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
export async function* listingLines(listing: Pick<VolumeListing, 'file'>): AsyncGenerator<ListingLine> {
  for await (const line of readLines(listing.file)) yield JSON.parse(line) as ListingLine;
}

/** Removes a listing's directory. */
export async function removeListing(listing: Pick<VolumeListing, 'dir'>): Promise<void> {
  await rm(listing.dir, { recursive: true, force: true });
}

/** A sink for streams read only for what they compute. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}
