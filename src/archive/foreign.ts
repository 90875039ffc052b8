import { UserError } from '../errors.js';
import { ARCHIVE_ROOT, type VolumeManifest } from './manifest.js';
import { canonicalHeaderOf } from './tar-entries.js';
import { UnsafeEntryError } from './tar-paths.js';
import type { TarEntryHeader, TarScanVisitor } from './tar-scanner.js';
import { manifestWithListing, summaryOf } from './manifest-spool.js';
import { digestOnly, EntryHasher, VolumeTarStream } from './volume-scanner.js';

/**
 * Where a foreign archive keeps the volume: the archive-relative directory whose contents are the
 * volume's ('' for the archive's top level), and how it was found.
 */
export interface ForeignLayout {
  root: string;
  /** given: --from / SOURCE#PATH; dot: entries start with ./; top-directory: all share one top directory. */
  how: 'given' | 'dot' | 'top-directory';
}

/** How a refusal tells the user to name the volume's directory. */
const GIVE_FROM =
  'give the directory that holds the volume with --from PATH (the seed input: VOLUME: SOURCE#PATH; "." for the top level)';

/** The segments of an entry name, '.' and empty ones dropped; absolute names and '..' are refused. */
export function nameSegments(name: string): string[] {
  if (name.startsWith('/')) {
    throw new UnsafeEntryError(`Unsafe tar entry ${JSON.stringify(name)}: absolute paths are refused.`);
  }
  const segments = name.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) {
    throw new UnsafeEntryError(`Unsafe tar entry ${JSON.stringify(name)}: '..' segments are refused.`);
  }
  return segments;
}

/** A --from / #PATH value as archive-relative segments ('.' and '' for the top level). */
export function givenRoot(from: string): string {
  try {
    return nameSegments(from).join('/');
  } catch {
    throw new UserError(
      `--from "${from}" must be a relative path inside the archive (no leading / and no '..').`,
    );
  }
}

/**
 * True when the first entry says the archive is one of ours: entries under `volume/`, the manifest last.
 * A given root always reads it as foreign.
 */
export function looksLikeOurs(firstEntry: string, from: string | undefined): boolean {
  return from === undefined && firstEntry.split('/')[0] === ARCHIVE_ROOT;
}

/**
 * The volume's place in a foreign archive, from its first entry: `./…` (a backup of a directory's
 * contents: Docker's docs, loomchild) or a top directory (`tar czf b.tgz /data` → `data/…`). Any later
 * entry outside that directory is refused while streaming. A file at the top level leaves it open.
 */
export function layoutOf(first: TarEntryHeader, from: string | undefined, what: string): ForeignLayout {
  if (from !== undefined) return { root: givenRoot(from), how: 'given' };
  const segments = nameSegments(first.name);
  if (first.name === '.' || first.name.startsWith('./')) return { root: '', how: 'dot' };
  if (segments.length > 1 || first.type === 'directory') {
    return { root: segments[0] as string, how: 'top-directory' };
  }
  throw new UserError(
    `${what} has neither ./ entries nor one top directory (its first entry ${JSON.stringify(first.name)} is a ${first.type} at the top): ${GIVE_FROM}.`,
  );
}

/** An entry's path below the layout's root ('.' for the root itself), or undefined when outside it. */
function pathBelowRoot(name: string, root: string): string | undefined {
  const segments = nameSegments(name);
  const rootSegments = root === '' ? [] : root.split('/');
  if (rootSegments.some((segment, i) => segments[i] !== segment)) return undefined;
  const below = segments.slice(rootSegments.length);
  return below.length === 0 ? '.' : below.join('/');
}

/** The volume root written when an archive has none: what the engine gives a new volume. */
function syntheticRoot(): TarEntryHeader {
  return {
    name: `${ARCHIVE_ROOT}/`,
    type: 'directory',
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: Math.floor(Date.now() / 1000),
    mtimeNs: 0,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    paxKeys: [],
    pax: new Map(),
  };
}

/**
 * A foreign archive → the volume's entries for the engine's PUT, under `volume/` like ours: names mapped
 * from the layout's root, entries outside it left out (another volume of an offen backup), each header
 * rewritten from our parse, content passed through and hashed. Every safety rule of our own archives
 * holds (escapes, links out, devices, duplicates, writes through symlinks). There is no manifest to check
 * against: the manifest is what streamed, and the seed proves it by reading the volume back. The
 * end-of-archive blocks must be there: a plain tar cut at an entry boundary would otherwise pass as whole.
 */
export function createForeignReader(layout: ForeignLayout, what: string): VolumeTarStream {
  const entries = new EntryHasher(ARCHIVE_ROOT);
  let rootWritten = false;
  let skipping = false;
  const visitor: TarScanVisitor & { onManifest: (manifest: VolumeManifest) => void } = {
    onManifest: () => undefined,
    header(header) {
      const path = pathBelowRoot(header.name, layout.root);
      skipping = path === undefined;
      if (path === undefined) {
        if (layout.how === 'given') return 'skip';
        throw new UserError(
          `${what} does not keep everything in ${layout.root}/ (${JSON.stringify(header.name)} is outside it): ${GIVE_FROM}.`,
        );
      }
      if (header.type === 'character-device' || header.type === 'block-device') {
        throw new UnsafeEntryError(
          `${what} holds a device node (${header.name}): refusing to create device files in a volume.`,
        );
      }
      if (path === '.' && rootWritten) {
        throw new UnsafeEntryError(
          `${what} stores its root ${JSON.stringify(header.name)} after entries below it: refused, tar tools store a directory first.`,
        );
      }
      const prefix = rootWritten || path === '.' ? [] : [headerOf(entries, syntheticRoot(), true)];
      rootWritten = true;
      return Buffer.concat([...prefix, headerOf(entries, mapped(header, path, layout), false)]);
    },
    content(chunk) {
      if (!skipping) entries.update(chunk);
    },
    entryEnd() {
      if (!skipping) entries.finish();
    },
    end() {
      if (!stream.sawEndOfArchive) {
        throw new UserError(
          `${what} is truncated: it ends without the end-of-archive blocks every tar tool writes.`,
        );
      }
      if (!rootWritten) {
        throw new UserError(
          layout.root === ''
            ? `${what} is empty: it holds no entries.`
            : `${what} has nothing in ${layout.root}/: give the directory that holds the volume (--from, SOURCE#PATH).`,
        );
      }
      const counts = entries.spool.finish(true);
      entries.spool.dispose();
      const summary = summaryOf(ARCHIVE_ROOT, undefined, counts);
      visitor.onManifest(counts.listing ? manifestWithListing(summary, counts.listing) : digestOnly(summary));
      return undefined;
    },
  };
  const describe = (error: Error) =>
    error instanceof UnsafeEntryError ? new UnsafeEntryError(`${what} was refused. ${error.message}`) : error;
  const stream = new VolumeTarStream(visitor, { output: 'rewritten', label: what, describe });
  stream.entryInProgress = () => entries.inProgress;
  return stream;
}

/** Checks and records an entry, returning the header bytes the engine gets; `whole` ends it at once. */
function headerOf(entries: EntryHasher, header: TarEntryHeader, whole: boolean): Buffer {
  const bytes = canonicalHeaderOf(entries.start(header), header, ARCHIVE_ROOT);
  if (whole) entries.finish();
  return bytes;
}

/** The header as if the archive were ours: `volume/<path>`, a hard link's target mapped the same way. */
function mapped(header: TarEntryHeader, path: string, layout: ForeignLayout): TarEntryHeader {
  const name = path === '.' ? `${ARCHIVE_ROOT}/` : `${ARCHIVE_ROOT}/${path}`;
  if (header.type !== 'link') return { ...header, name };
  const target = pathBelowRoot(header.linkname, layout.root);
  if (target === undefined || target === '.') {
    throw new UnsafeEntryError(
      `Unsafe tar entry ${JSON.stringify(header.name)}: a hard link to ${JSON.stringify(header.linkname)}, outside the volume's directory.`,
    );
  }
  return { ...header, name, linkname: `${ARCHIVE_ROOT}/${target}` };
}
