import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import {
  COMPARED_FIELDS,
  ENGINE_LIMITATIONS,
  canonicalEntries,
  canonicalOf,
  dataEntryOf,
  digestLine,
  exactLine,
  type CanonicalEntry,
  type ManifestEntry,
  type VolumeManifest,
} from './manifest.js';
import { nameBytes, nameKey } from './name-bytes.js';
import { notStoredBefore } from './tar-paths.js';
import { LineFile, SortedSpool, bytesOf, linesOf, type SpoolCodec } from './spool.js';

/**
 * A manifest's entries kept on disk (spool.ts) as a tar stream goes by, so archiving, seeding and reading
 * back a volume need the same memory for a million files as for ten. The digest is the one computeDigest
 * defines (entries in byte order of their paths), computed from a merge of sorted runs; hard-link groups
 * are the only per-file state held in memory, one small record per hard link.
 */

const ENTRY_CODEC: SpoolCodec<ManifestEntry> = {
  keyOf: (entry) => nameKey(entry.path),
  encode: (entry) => JSON.stringify(entry),
  decode: (line) => JSON.parse(line) as ManifestEntry,
};

/** One entry in digest order, as written to the manifest (a hard link carries its data's size and sha256). */
export interface SortedEntry {
  entry: ManifestEntry;
  canonical: CanonicalEntry;
  /** The entry's JSON as stored, when it is written as stored (not a hard-link member, which is rewritten). */
  json?: string;
}

/** The entries of one manifest (streamed or embedded), sorted on disk. */
export class EntrySpool {
  private readonly spool = new SortedSpool(ENTRY_CODEC);

  /** `checkLinks`: a stream's own entries, whose hard links must point at stored non-directories. */
  constructor(private readonly checkLinks = false) {}
  /** Hard link path → the path it links to: the one per-file state kept in memory. */
  private readonly links = new Map<string, string>();
  hasRoot = false;

  get size(): number {
    return this.spool.count;
  }

  add(entry: ManifestEntry): void {
    if (entry.path === '.') this.hasRoot = true;
    if (entry.type === 'hardlink' && entry.linkTarget !== undefined)
      this.links.set(entry.path, entry.linkTarget);
    this.spool.add(entry);
  }

  /** Every entry so far, in digest order, as added. */
  entries(): Iterable<ManifestEntry> {
    return this.spool.sorted();
  }

  /** Every entry in digest order, hard-link members resolved as computeDigest resolves them. */
  *sorted(): Generator<SortedEntry> {
    const groups = this.hardLinkGroups();
    for (const { record: entry, line } of this.spool.sortedWithLines()) {
      const member = groups.get(entry.path);
      yield member ?? { entry, canonical: canonicalOf(entry), json: line };
    }
  }

  /**
   * The members of every hard-link group (links and the entries they point to), canonical as computeDigest
   * makes them: one extra pass over the spool, only when the stream had hard links.
   */
  private hardLinkGroups(): Map<string, SortedEntry> {
    const result = new Map<string, SortedEntry>();
    if (this.links.size === 0) return result;
    const wanted = new Set([...this.links.keys(), ...this.links.values()]);
    const members: ManifestEntry[] = [];
    for (const entry of this.spool.sorted()) if (wanted.has(entry.path)) members.push(entry);
    const byPath = new Map(members.map((e) => [e.path, e]));
    if (this.checkLinks) {
      for (const [link, target] of this.links) {
        const type = byPath.get(target)?.type;
        if (type === undefined || type === 'directory') throw notStoredBefore(link, target);
      }
    }
    const canonical = canonicalEntries(members);
    for (const entry of members) {
      const written = { ...entry };
      if (entry.type === 'hardlink') {
        const data = dataEntryOf(entry, byPath);
        written.size = data.size;
        if (data.sha256 !== undefined) written.sha256 = data.sha256;
        if (data.mtimeNs !== undefined) written.mtimeNs = data.mtimeNs;
        if (data.extendedSha256 !== undefined) written.extendedSha256 = data.extendedSha256;
      }
      result.set(entry.path, { entry: written, canonical: canonical.get(entry.path) ?? canonicalOf(entry) });
    }
    return result;
  }

  /**
   * The digest, counts and the entries listing of the manifest; `keepListing` writes the sorted entries
   * out (for the archive's manifest entry and for callers that read `entries`). `visit` sees each entry of
   * that one pass, in digest order (the check's listings are written from it).
   */
  finish(keepListing: boolean, visit?: (sorted: SortedEntry) => void): SpooledEntries {
    const hash = createHash('sha256');
    const exact = createHash('sha256');
    const listing = keepListing ? new EntryListing(this.spool.spilled) : undefined;
    let files = 0;
    let bytes = 0;
    for (const sorted of this.sorted()) {
      const { entry, canonical } = sorted;
      visit?.(sorted);
      const line = digestLine(canonical);
      hash.update(line);
      exact.update(exactLine(canonical, entry, line));
      if (entry.type === 'file' || entry.type === 'hardlink') files += 1;
      if (entry.type === 'file') bytes += entry.size;
      listing?.add(entry, sorted.json);
    }
    listing?.close();
    const exactDigest = `sha256:${exact.digest('hex')}`;
    return { digest: `sha256:${hash.digest('hex')}`, exactDigest, files, bytes, listing };
  }

  dispose(): void {
    this.spool.dispose();
  }
}

export interface SpooledEntries {
  digest: string;
  /** See VolumeManifest.exactDigest. */
  exactDigest: string;
  files: number;
  bytes: number;
  listing?: EntryListing;
}

/**
 * A manifest's entries in digest order, written as the `entries` array of the manifest's JSON, one entry a
 * line: `\n{…}` then `\n,{…}` for each further entry. In memory while small, else in a file.
 */
export class EntryListing {
  private readonly file?: LineFile;
  private readonly lines: string[] = [];
  private loaded?: ManifestEntry[];
  count = 0;

  constructor(onDisk: boolean) {
    if (onDisk) this.file = new LineFile();
  }

  /** `json`: the entry's JSON if the caller has it already (the spool's line), else it is written here. */
  add(entry: ManifestEntry, json: string = JSON.stringify(entry)): void {
    const text = `${this.count === 0 ? '\n' : '\n,'}${json}`;
    this.count += 1;
    if (this.file) this.file.write(text);
    else this.lines.push(text);
  }

  close(): void {
    this.file?.close();
  }

  /** The listing's bytes, as they go into the manifest's JSON. */
  *chunks(): Generator<Buffer> {
    if (!this.file) {
      yield Buffer.from(this.lines.join(''));
      return;
    }
    yield* bytesOf(this.file.file);
  }

  get byteLength(): number {
    return this.file ? this.file.bytes : Buffer.byteLength(this.lines.join(''));
  }

  /** Every entry (read once, then kept): only for callers that need them all, never on the archive/seed path. */
  entries(): ManifestEntry[] {
    if (this.loaded) return this.loaded;
    const lines = this.file ? linesOf(this.file.file) : this.lines.flatMap((l) => l.split('\n'));
    const entries: ManifestEntry[] = [];
    for (const line of lines) {
      const json = line.startsWith(',') ? line.slice(1) : line;
      if (json !== '') entries.push(JSON.parse(json) as ManifestEntry);
    }
    this.loaded = entries;
    return entries;
  }
}

/** The fields of a manifest other than its entries. */
export type ManifestSummary = Omit<VolumeManifest, 'entries'>;

export function summaryOf(
  root: string,
  volume: string | undefined,
  counts: SpooledEntries,
  createdAt = new Date(),
): ManifestSummary {
  return {
    version: 1,
    tool: 'compose-persist',
    root,
    ...(volume === undefined ? {} : { volume }),
    createdAt: createdAt.toISOString(),
    files: counts.files,
    bytes: counts.bytes,
    digest: counts.digest,
    exactDigest: counts.exactDigest,
    limitations: [...ENGINE_LIMITATIONS],
  };
}

/** A VolumeManifest whose `entries` are read from the listing only when someone asks for them. */
export function manifestWithListing(summary: ManifestSummary, listing: EntryListing): VolumeManifest {
  const manifest = { ...summary } as VolumeManifest;
  Object.defineProperty(manifest, 'entries', { enumerable: true, get: () => listing.entries() });
  return manifest;
}

/** The manifest's JSON text, streamed: the summary, then the listing as its `entries`, one entry a line. */
export function* manifestText(summary: ManifestSummary, listing: EntryListing): Generator<Buffer> {
  yield manifestHead(summary);
  yield* listing.chunks();
  yield MANIFEST_TAIL;
}

export function manifestTextBytes(summary: ManifestSummary, listing: EntryListing): number {
  return manifestHead(summary).length + listing.byteLength + MANIFEST_TAIL.length;
}

const MANIFEST_TAIL = Buffer.from('\n]}\n');

/** `{"version":1,…,"entries":[` — the summary's JSON with the entries array left open. */
function manifestHead(summary: ManifestSummary): Buffer {
  const whole = JSON.stringify({ ...summary, entries: [] });
  return Buffer.from(whole.slice(0, -2));
}

/** How many paths an error message lists before it summarises. */
const LISTED_PATHS = 10;

/** A count and the first few items of one kind of difference. */
class Sample {
  count = 0;
  readonly items: string[] = [];

  add(item: string): void {
    this.count += 1;
    if (this.items.length < LISTED_PATHS) this.items.push(item);
  }

  toString(): string {
    const shown = this.items.join(', ');
    return this.count > this.items.length ? `${shown} and ${this.count - this.items.length} more` : shown;
  }
}

/**
 * How the streamed entries differ from the manifest's, found by merging the two sorted listings (memory
 * flat): the same words verifyAgainstManifest uses. Undefined when no entry differs.
 */
export function describeMismatch(expected: EntrySpool, actual: EntrySpool): string | undefined {
  const changed = new Sample();
  const missing = new Sample();
  const added = new Sample();
  const left = expected.sorted();
  const right = actual.sorted();
  let a = left.next();
  let b = right.next();
  while (!a.done || !b.done) {
    const order = a.done
      ? 1
      : b.done
        ? -1
        : Buffer.compare(nameBytes(a.value.entry.path), nameBytes(b.value.entry.path));
    if (order < 0 && !a.done) {
      missing.add(a.value.entry.path);
      a = left.next();
    } else if (order > 0 && !b.done) {
      added.add(b.value.entry.path);
      b = right.next();
    } else if (!a.done && !b.done) {
      const fields = changedFields(a.value, b.value);
      if (fields.length > 0) changed.add(`${a.value.entry.path} (${fields.join(', ')})`);
      a = left.next();
      b = right.next();
    }
  }
  const problems: string[] = [];
  if (changed.count > 0) problems.push(`${changed.count} changed: ${changed}`);
  if (missing.count > 0) problems.push(`${missing.count} missing: ${missing}`);
  if (added.count > 0) problems.push(`${added.count} not in the manifest: ${added}`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

function changedFields(a: SortedEntry, b: SortedEntry): string[] {
  const fields: string[] = COMPARED_FIELDS.filter(
    (f) => a.canonical[f] !== b.canonical[f] && !(f === 'mtime' && a.canonical.type === 'directory'),
  );
  const xattrs = (s: SortedEntry) => [...(s.entry.xattrs ?? [])].sort().join('\n');
  if (xattrs(a) !== xattrs(b)) fields.push('xattrs');
  return fields;
}

/** Throws unless the streamed entries are the manifest's: same digest as its own entries, and as the stream. */
export function verifySpooledManifest(
  embedded: ManifestSummary,
  expected: EntrySpool,
  expectedDigest: string,
  actual: EntrySpool,
  actualDigest: string,
  what: string,
  exact?: { expected: string; actual: string },
): void {
  if (expectedDigest !== embedded.digest) {
    throw new UserError(
      `${what} has a manifest whose digest does not match its own entries: it was edited or corrupted.`,
    );
  }
  if (actualDigest === embedded.digest) {
    if (exact === undefined || embedded.exactDigest === undefined) return;
    if (exact.expected !== embedded.exactDigest) {
      throw new UserError(
        `${what} has a manifest whose exact digest does not match its own entries: it was edited or corrupted.`,
      );
    }
    if (exact.actual === embedded.exactDigest) return;
    throw new UserError(
      `${what} does not match its manifest: its xattrs, ACLs or sub-second mtimes differ (exact digest ${exact.actual}, the manifest records ${embedded.exactDigest}).`,
    );
  }
  const problems = describeMismatch(expected, actual);
  if (problems !== undefined) throw new UserError(`${what} does not match its manifest: ${problems}.`);
  throw new UserError(
    `${what} does not match its manifest: its digest is ${actualDigest}, the manifest records ${embedded.digest}.`,
  );
}
