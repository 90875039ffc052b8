// Two listings of one place compared as a streaming merge (both are sorted by the path's bytes), with the
// same rules as diffManifests; the result keeps the first paths of each kind and counts the rest.
import { setImmediate } from 'node:timers/promises';
import { ignoreMatcher, type DiffOptions } from '../archive/manifest.js';
import { nameBytes } from '../archive/name-bytes.js';
import { listingLines, type ListingLine, type VolumeListing } from './fingerprint-listing.js';

/** How many paths of each kind a diff keeps; the counts cover all of them. */
export const LISTED_PATHS = 100;

export interface ListingDiff {
  /** The first LISTED_PATHS of each kind, in listing order. */
  added: string[];
  removed: string[];
  changed: { path: string; fields: string[] }[];
  /** Append-only files that are shorter than before (a subset of `changed`). */
  shrunk: string[];
  counts: { added: number; removed: number; changed: number; typeChanged: number; shrunk: number };
  /** Files (and hard links) of the first listing the diff compared: those no ignore glob left out. */
  filesCompared: number;
  ok: boolean;
}

export interface ListingDiffOptions extends DiffOptions {
  /**
   * Globs of files that only ever grow (a store's append-only log): one that is shorter than before lost
   * its tail, a loss under `no-loss` too.
   */
  appendOnly?: readonly string[];
}

/** The compared fields, by their place in a ListingLine (path and the digest-only root mtime aside). */
const COMPARED_FIELDS: readonly [name: string, index: number][] = [
  ['type', 1],
  ['mode', 2],
  ['uid', 3],
  ['gid', 4],
  ['size', 5],
  ['mtime', 6],
  ['sha256', 7],
  ['linkTarget', 8],
  ['hardlinks', 9],
  ['device', 10],
  ['xattrs', 11],
];

/**
 * Lines read between two turns of the event loop: the listings are read synchronously (fast), and a million
 * lines take seconds, during which a signal could not start the undoing of the run.
 */
const YIELD_EVERY = 10_000;

/** Compares two listings of the same place path by path. Directory mtimes are never compared. */
export async function diffListings(
  before: Pick<VolumeListing, 'file'>,
  after: Pick<VolumeListing, 'file'>,
  options: ListingDiffOptions,
  listed = LISTED_PATHS,
): Promise<ListingDiff> {
  const ignored = ignoreMatcher(options.ignore ?? []);
  const appendOnly = ignoreMatcher(options.appendOnly ?? []);
  const diff = new BoundedDiff(listed);
  const old = cursor(listingLines(before));
  const now = cursor(listingLines(after));
  let a = old.next();
  let b = now.next();
  for (let step = 1; a || b; step++) {
    if (step % YIELD_EVERY === 0) await setImmediate();
    const order = !a ? 1 : !b ? -1 : Buffer.compare(a.key, b.key);
    if (order < 0 && a) {
      if (!ignored(a.line[0])) diff.removed(a.line);
      a = old.next();
    } else if (order > 0 && b) {
      if (!ignored(b.line[0])) diff.added(b.line[0]);
      b = now.next();
    } else if (a && b) {
      if (!ignored(a.line[0])) diff.compare(a.line, b.line, appendOnly(a.line[0]));
      a = old.next();
      b = now.next();
    }
  }
  return diff.result(options.policy);
}

/** The first paths of a listing and how many it holds (a place that is gone lost all of them). */
export async function pathsOf(
  listing: Pick<VolumeListing, 'file'>,
  listed = LISTED_PATHS,
): Promise<{ paths: string[]; count: number }> {
  const paths: string[] = [];
  let count = 0;
  let step = 0;
  for (const line of listingLines(listing)) {
    if (++step % YIELD_EVERY === 0) await setImmediate();
    if (line[0] === '.') continue;
    if (paths.length < listed) paths.push(line[0]);
    count++;
  }
  return { paths, count };
}

class BoundedDiff {
  private readonly lists: Pick<ListingDiff, 'added' | 'removed' | 'changed' | 'shrunk'> = {
    added: [],
    removed: [],
    changed: [],
    shrunk: [],
  };
  private readonly counts: ListingDiff['counts'] = {
    added: 0,
    removed: 0,
    changed: 0,
    typeChanged: 0,
    shrunk: 0,
  };
  private filesCompared = 0;

  constructor(private readonly listed: number) {}

  added(path: string): void {
    if (this.counts.added++ < this.listed) this.lists.added.push(path);
  }

  removed(line: ListingLine): void {
    this.countFile(line);
    if (this.counts.removed++ < this.listed) this.lists.removed.push(line[0]);
  }

  compare(a: ListingLine, b: ListingLine, appendOnly: boolean): void {
    this.countFile(a);
    const fields = COMPARED_FIELDS.filter(
      ([name, i]) => a[i] !== b[i] && !(name === 'mtime' && a[1] === 'directory'),
    ).map(([name]) => name);
    if (fields.length === 0) return;
    if (fields.includes('type')) this.counts.typeChanged++;
    else if (appendOnly && a[1] === 'file' && b[5] < a[5]) {
      if (this.counts.shrunk++ < this.listed) this.lists.shrunk.push(a[0]);
    }
    if (this.counts.changed++ < this.listed) this.lists.changed.push({ path: a[0], fields });
  }

  private countFile(line: ListingLine): void {
    if (line[1] === 'file' || line[1] === 'hardlink') this.filesCompared++;
  }

  result(policy: DiffOptions['policy']): ListingDiff {
    const { added, removed, changed, typeChanged, shrunk } = this.counts;
    const lost = removed > 0 || typeChanged > 0 || shrunk > 0;
    const ok = policy === 'no-loss' ? !lost : added + removed + changed === 0;
    return { ...this.lists, counts: { ...this.counts }, filesCompared: this.filesCompared, ok };
  }
}

/** A listing read one line at a time, with each path's sort key. */
function cursor(lines: Generator<ListingLine>) {
  return {
    next(): { line: ListingLine; key: Buffer } | undefined {
      const next = lines.next();
      return next.done ? undefined : { line: next.value, key: nameBytes(next.value[0]) };
    },
  };
}
