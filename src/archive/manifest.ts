import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import { globToRegExp, literalOfGlob } from '../glob.js';
import type { RecordedProbe, RecordedProbes } from '../types/restore.js';
import { compareNames, nameBytes } from './name-bytes.js';

export type EntryType =
  'file' | 'directory' | 'symlink' | 'hardlink' | 'fifo' | 'char-device' | 'block-device';

export const ENTRY_TYPES: readonly EntryType[] = [
  'file',
  'directory',
  'symlink',
  'hardlink',
  'fifo',
  'char-device',
  'block-device',
];

export interface ManifestEntry {
  /** Relative to the volume root, POSIX, '.' for the root, no trailing slash. */
  path: string;
  type: EntryType;
  /** Permission bits incl. setuid/setgid/sticky (& 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content bytes (for a hardlink: the target's size). */
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  /** The mtime's nanoseconds past `mtime`, when not 0 (only tars that keep them: the host data path). */
  mtimeNs?: number;
  /** Hex, for file and hardlink (a hardlink carries its target's sha256). */
  sha256?: string;
  /** Symlink target as stored; for a hardlink the volume-relative path of the target. */
  linkTarget?: string;
  /** Xattr names carried (the engine only keeps security.capability). */
  xattrs?: string[];
  /**
   * sha256 (hex) of the entry's xattr values and ACLs as its tar carried them (see extendedRecordsSha256),
   * when it carried any: part of the exact digest, not of `digest`.
   */
  extendedSha256?: string;
  device?: { major: number; minor: number };
}

export interface VolumeManifest {
  version: 1;
  tool: 'compose-persist';
  /** The tar root name, e.g. 'volume'. */
  root: string;
  /** The volume the entries were read from, when known (informational, not part of the digest). */
  volume?: string;
  /** ISO time. */
  createdAt: string;
  /** Number of regular files + hardlinks. */
  files: number;
  /** Sum of regular file sizes (hardlinks not counted twice). */
  bytes: number;
  /** 'sha256:<hex>' of the volume: see computeDigest. */
  digest: string;
  /**
   * The digest with what only a full tar keeps added to each entry's line (sub-second mtimes, xattr values,
   * ACLs; see exactLine): what the host data path reads back and compares. Absent in older manifests.
   */
  exactDigest?: string;
  limitations: string[];
  /**
   * The probes' answers when the archive was made (record-probes), for a restore drill to compare. Not part
   * of the digest; absent in older manifests, which read as before.
   */
  probes?: RecordedProbes;
  entries: ManifestEntry[];
}

/** The name of the last entry of every archive; outside the root, so it never lands in a volume. */
export const MANIFEST_ENTRY_NAME = 'compose-persist-manifest.json';
/** The root name of every archive's entries (`volume/...`): the basename of the helper's mount. */
export const ARCHIVE_ROOT = 'volume';

/** What the engine's archive API cannot carry, recorded in every manifest. */
export const ENGINE_LIMITATIONS: readonly string[] = [
  'xattrs other than security.capability and ACLs are not preserved by the engine archive API',
  'sockets are skipped by the engine archive API',
  'mtimes are kept to whole seconds; atime and ctime are not kept',
];

/** Collects entries as a tar stream goes by and turns them into a VolumeManifest. */
export class ManifestBuilder {
  private readonly entries: ManifestEntry[] = [];
  private readonly byPath = new Map<string, ManifestEntry>();
  private readonly limitations = new Set(ENGINE_LIMITATIONS);

  constructor(
    private readonly root: string,
    private readonly volume?: string,
  ) {}

  /** Adds an entry; a hardlink takes its target's size and sha256 (the target must be added first). */
  add(entry: ManifestEntry): ManifestEntry {
    if (entry.type === 'hardlink' && entry.linkTarget !== undefined) {
      const target = this.byPath.get(entry.linkTarget);
      if (target) {
        entry.size = target.size;
        if (target.sha256 !== undefined) entry.sha256 = target.sha256;
      }
    }
    this.entries.push(entry);
    this.byPath.set(entry.path, entry);
    return entry;
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  get size(): number {
    return this.entries.length;
  }

  finalize(createdAt: Date = new Date()): VolumeManifest {
    const files = this.entries.filter((e) => e.type === 'file' || e.type === 'hardlink').length;
    const bytes = this.entries.reduce((sum, e) => sum + (e.type === 'file' ? e.size : 0), 0);
    return {
      version: 1,
      tool: 'compose-persist',
      root: this.root,
      ...(this.volume === undefined ? {} : { volume: this.volume }),
      createdAt: createdAt.toISOString(),
      files,
      bytes,
      digest: computeDigest(this.entries),
      limitations: [...this.limitations],
      entries: this.entries,
    };
  }
}

/** An entry as the digest and diffs see it: hard-link groups flattened, the root's mtime dropped. */
export interface CanonicalEntry {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number | null;
  sha256: string | null;
  linkTarget: string | null;
  /** The smallest path of the entry's hard-link group, null when it has no other links. */
  hardlinks: string | null;
  device: string | null;
}

/** Follows hard links to the entry that holds the data (the tar's first member of the group). */
export function dataEntryOf(entry: ManifestEntry, byPath: Map<string, ManifestEntry>): ManifestEntry {
  let current = entry;
  const visited = new Set<string>();
  while (current.type === 'hardlink' && current.linkTarget !== undefined && !visited.has(current.path)) {
    visited.add(current.path);
    const target = byPath.get(current.linkTarget);
    if (!target) break;
    current = target;
  }
  return current;
}

/** Smallest by byte order of the path's bytes, as the digest sorts. */
const compareBytes = compareNames;

export function canonicalEntries(entries: readonly ManifestEntry[]): Map<string, CanonicalEntry> {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const dataOf = new Map(entries.map((e) => [e.path, dataEntryOf(e, byPath)]));
  const groups = new Map<string, string>(); // data entry path → smallest member path
  for (const [path, data] of dataOf) {
    const smallest = groups.get(data.path) ?? data.path;
    groups.set(data.path, compareBytes(path, smallest) < 0 ? path : smallest);
  }
  const members = new Map<string, number>();
  for (const data of dataOf.values()) members.set(data.path, (members.get(data.path) ?? 0) + 1);
  const result = new Map<string, CanonicalEntry>();
  for (const entry of entries) {
    const data = dataOf.get(entry.path) ?? entry;
    const group = (members.get(data.path) ?? 1) > 1 ? (groups.get(data.path) ?? null) : null;
    result.set(entry.path, canonicalOf(entry, data, group));
  }
  return result;
}

/**
 * `entry` as the digest sees it, given the entry holding its data (itself unless it is a hard link) and the
 * smallest path of its hard-link group (null when it has no other links).
 */
export function canonicalOf(
  entry: ManifestEntry,
  data: ManifestEntry = entry,
  hardlinks: string | null = null,
): CanonicalEntry {
  return {
    path: entry.path,
    type: data.type,
    mode: data.mode,
    uid: data.uid,
    gid: data.gid,
    size: data.size,
    mtime: entry.path === '.' ? null : data.mtime,
    sha256: data.sha256 ?? null,
    linkTarget: data.type === 'symlink' ? (data.linkTarget ?? '') : null,
    hardlinks,
    device: data.device ? `${data.device.major},${data.device.minor}` : null,
  };
}

/** The line one entry adds to the digest (see computeDigest). */
export function digestLine(e: CanonicalEntry): string {
  const line = [
    e.path,
    e.type,
    e.mode,
    e.uid,
    e.gid,
    e.size,
    e.mtime,
    e.sha256,
    e.linkTarget,
    e.hardlinks,
    e.device,
  ];
  return `${JSON.stringify(line)}\n`;
}

/**
 * The line an entry adds to the exact digest: its digest line, then, only when the entry has them, its
 * nanoseconds (the root's left out, as its mtime is) and the sha256 of its xattr values and ACLs. A volume
 * without either has an exact digest computed from the same lines as its digest.
 */
export function exactLine(
  e: CanonicalEntry,
  data: Pick<ManifestEntry, 'mtimeNs' | 'extendedSha256'>,
  line: string = digestLine(e),
): string {
  const ns = e.path === '.' ? 0 : (data.mtimeNs ?? 0);
  if (ns === 0 && data.extendedSha256 === undefined) return line;
  return `${line}+${JSON.stringify([ns, data.extendedSha256 ?? null])}\n`;
}

/**
 * The digest of a volume's contents, 'sha256:<hex>'. Rule: entries are sorted by path (byte order of the name)
 * and each contributes one line, the JSON array [path, type, mode, uid, gid, size, mtime, sha256,
 * symlink target, hard-link group, "major,minor"] + '\n' (JSON keeps odd names unambiguous). Every member
 * of a hard-link group is written as the data entry it links to (type, metadata, sha256) plus the group's
 * smallest path, so it does not matter which member the tar stored as the file. The root's mtime is left
 * out (null) because the engine touches it. Archive format, compression and entry order do not matter.
 */
export function computeDigest(entries: readonly ManifestEntry[]): string {
  const canonical = [...canonicalEntries(entries).values()];
  const keyed = canonical.map((entry) => ({ key: nameBytes(entry.path), entry }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  const hash = createHash('sha256');
  for (const { entry } of keyed) hash.update(digestLine(entry));
  return `sha256:${hash.digest('hex')}`;
}

export interface DiffOptions {
  /** `no-loss`: nothing that existed before is missing or changed type; `exact`: nothing differs. */
  policy: 'no-loss' | 'exact';
  /** Globs (`*`, `**`, `?`) matched against entry paths; a match also ignores everything below it. */
  ignore?: string[];
}

export interface ManifestDiff {
  added: string[];
  removed: string[];
  changed: { path: string; fields: string[] }[];
  ok: boolean;
}

export const COMPARED_FIELDS = [
  'type',
  'mode',
  'uid',
  'gid',
  'size',
  'mtime',
  'sha256',
  'linkTarget',
  'hardlinks',
  'device',
] as const;

/** Compares two manifests of the same volume path by path. Directory mtimes are never compared. */
export function diffManifests(
  before: VolumeManifest,
  after: VolumeManifest,
  options: DiffOptions,
): ManifestDiff {
  const ignored = ignoreMatcher(options.ignore ?? []);
  const old = canonicalEntries(before.entries);
  const now = canonicalEntries(after.entries);
  const xattrsBefore = xattrsByPath(before.entries);
  const xattrsAfter = xattrsByPath(after.entries);
  const added = [...now.keys()].filter((p) => !old.has(p) && !ignored(p));
  const removed = [...old.keys()].filter((p) => !now.has(p) && !ignored(p));
  const changed: ManifestDiff['changed'] = [];
  for (const [path, a] of old) {
    const b = now.get(path);
    if (!b || ignored(path)) continue;
    const fields = COMPARED_FIELDS.filter((f) => a[f] !== b[f] && !(f === 'mtime' && a.type === 'directory'));
    const names: string[] = [...fields];
    if ((xattrsBefore.get(path) ?? '') !== (xattrsAfter.get(path) ?? '')) names.push('xattrs');
    if (names.length > 0) changed.push({ path, fields: names });
  }
  const sortPaths = (paths: string[]) => paths.sort(compareBytes);
  changed.sort((x, y) => compareBytes(x.path, y.path));
  const lost = removed.length > 0 || changed.some((c) => c.fields.includes('type'));
  const ok = options.policy === 'no-loss' ? !lost : added.length + removed.length + changed.length === 0;
  return { added: sortPaths(added), removed: sortPaths(removed), changed, ok };
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
  throw new UserError(
    `${what} does not match its manifest: its digest is ${actual.digest}, the manifest records ${expected.digest}.`,
  );
}

/** How many paths an error message lists before it summarises. */
const LISTED_PATHS = 10;

export function listed(items: string[]): string {
  const shown = items.slice(0, LISTED_PATHS).join(', ');
  return items.length > LISTED_PATHS ? `${shown} and ${items.length - LISTED_PATHS} more` : shown;
}

function xattrsByPath(entries: readonly ManifestEntry[]): Map<string, string> {
  return new Map(entries.map((e) => [e.path, [...(e.xattrs ?? [])].sort().join('\n')]));
}

/**
 * True for a path that one of the globs matches, or that lies below a matched path. Globs without a
 * wildcard are looked up in sets, so thousands of them (a known store's literal paths) cost no more than one.
 */
export function ignoreMatcher(globs: readonly string[]): (path: string) => boolean {
  if (globs.length === 0) return () => false;
  const exact = new Set<string>();
  const basenames = new Set<string>();
  const patterns: RegExp[] = [];
  for (const glob of globs) {
    const literal = literalOfGlob(glob);
    if (literal === undefined) patterns.push(globToRegExp(glob));
    else if (glob.includes('/')) exact.add(literal.replace(/^\/+/, ''));
    else basenames.add(literal);
  }
  const matches = (prefix: string, segment: string) =>
    exact.has(prefix) || basenames.has(segment) || patterns.some((pattern) => pattern.test(prefix));
  return (path) => {
    if (path === '.') return false;
    const segments = path.split('/');
    for (let i = 1; i <= segments.length; i++) {
      if (matches(segments.slice(0, i).join('/'), segments[i - 1] as string)) return true;
    }
    return false;
  };
}

/** Parses and shape-checks the manifest embedded in an archive; `label` names the archive in errors. */
export function parseManifest(text: string, label: string): VolumeManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${label} has a corrupt manifest (${MANIFEST_ENTRY_NAME} is not valid JSON).`, {
      cause: error,
    });
  }
  if (!isVolumeManifest(value)) {
    throw new UserError(
      `${label} has a manifest this version of compose-persist cannot read (expected version 1 with entries).`,
    );
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isVolumeManifest(value: unknown): value is VolumeManifest {
  if (!isRecord(value) || value.version !== 1 || value.tool !== 'compose-persist') return false;
  if (typeof value.root !== 'string' || typeof value.digest !== 'string') return false;
  if (!Array.isArray(value.limitations) || !Array.isArray(value.entries)) return false;
  return value.entries.every(isManifestEntry);
}

export function isManifestEntry(value: unknown): value is ManifestEntry {
  if (!isRecord(value) || typeof value.path !== 'string') return false;
  if (!(ENTRY_TYPES as readonly unknown[]).includes(value.type)) return false;
  const numbers = [value.mode, value.uid, value.gid, value.size, value.mtime];
  if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) return false;
  const optionalStrings = [value.sha256, value.linkTarget];
  return optionalStrings.every((s) => s === undefined || typeof s === 'string');
}

/**
 * The recorded probe answers of a manifest, checked: undefined when it records none (older manifests, foreign
 * archives); a UserError when the field is there but not of the shape we write.
 */
export function recordedProbesOf(manifest: { probes?: unknown }, label: string): RecordedProbes | undefined {
  const value = manifest.probes;
  if (value === undefined) return undefined;
  if (
    isRecord(value) &&
    typeof value.recordedAt === 'string' &&
    Array.isArray(value.probes) &&
    value.probes.every(isRecordedProbe)
  ) {
    return { recordedAt: value.recordedAt, probes: value.probes };
  }
  throw new UserError(
    `${label} has a manifest whose recorded probes are not readable (expected {recordedAt, probes: [{probe, output}]}): it was edited or corrupted.`,
  );
}

export function isRecordedProbe(value: unknown): value is RecordedProbe {
  return isRecord(value) && typeof value.probe === 'string' && typeof value.output === 'string';
}
