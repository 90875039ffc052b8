import { UserError } from '../errors.js';
import type { EntryType } from './manifest.js';

/** A tar entry that would write outside the volume (or through a link) if it were extracted. */
export class UnsafeEntryError extends UserError {}

/**
 * The volume-relative POSIX path of a tar entry named `root/...` ('.' for the root itself). Empty and '.'
 * segments are dropped; absolute names, '..' segments and names outside `root/` throw UnsafeEntryError.
 */
export function volumeRelativePath(tarName: string, root: string): string {
  const plain = tarName.startsWith(`${root}/`) ? plainRest(tarName, root.length + 1) : undefined;
  if (plain !== undefined) return plain;
  if (tarName.startsWith('/')) {
    throw new UnsafeEntryError(`Unsafe tar entry ${JSON.stringify(tarName)}: absolute paths are refused.`);
  }
  const segments = tarName.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) {
    throw new UnsafeEntryError(`Unsafe tar entry ${JSON.stringify(tarName)}: '..' segments are refused.`);
  }
  if (segments[0] !== root) {
    throw new UnsafeEntryError(
      `Unsafe tar entry ${JSON.stringify(tarName)}: every entry must be below ${JSON.stringify(`${root}/`)}.`,
    );
  }
  return segments.length === 1 ? '.' : segments.slice(1).join('/');
}

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * The common case without splitting (a million entries a volume): the name after `root/`, when none of its
 * segments is empty, `.` or `..` (one trailing slash allowed) — exactly what the general rule returns there.
 */
function plainRest(name: string, from: number): string | undefined {
  const end =
    name.length > from && name.charCodeAt(name.length - 1) === SLASH ? name.length - 1 : name.length;
  if (end === from) return '.';
  let segment = from;
  for (let i = from; i <= end; i++) {
    if (i < end && name.charCodeAt(i) !== SLASH) continue;
    const length = i - segment;
    if (length === 0) return undefined;
    const dots =
      name.charCodeAt(segment) === DOT &&
      (length === 1 || (length === 2 && name.charCodeAt(segment + 1) === DOT));
    if (dots) return undefined;
    segment = i + 1;
  }
  return name.slice(from, end);
}

/** The tar name of a volume-relative path: `root/` for the root, `root/path` below it (dirs end with '/'). */
export function tarNameOf(relativePath: string, root: string, type: EntryType): string {
  const name = relativePath === '.' ? root : `${root}/${relativePath}`;
  return type === 'directory' ? `${name}/` : name;
}

/** The parent directories of a relative path, nearest last: 'a/b/c' → ['.', 'a', 'a/b']. */
function ancestorsOf(relativePath: string): string[] {
  if (relativePath === '.') return [];
  const segments = relativePath.split('/');
  const ancestors = ['.'];
  for (let i = 1; i < segments.length; i++) ancestors.push(segments.slice(0, i).join('/'));
  return ancestors;
}

/**
 * Remembers the entries of one tar stream and refuses those an extractor would follow out of the volume:
 * writes through a symlink seen earlier, hard links to anything but an earlier entry, duplicate paths (a
 * later duplicate would replace what was checked) and a root that is not a directory. Symlinks themselves
 * may point anywhere: absolute or dangling targets are legitimate data (e.g. PostgreSQL tablespaces).
 */
export class EntryPathGuard {
  private readonly seen = new Map<string, EntryType>();

  constructor(private readonly root: string) {}

  /**
   * Throws UnsafeEntryError for an entry that must not be extracted. For a hard link, pass the tar name it
   * links to; its volume-relative target is returned.
   */
  check(relativePath: string, type: EntryType, hardlinkTarName?: string): string | undefined {
    if (relativePath === '.' && type !== 'directory') {
      throw new UnsafeEntryError(`Unsafe tar stream: its root ${this.root}/ is a ${type}, not a directory.`);
    }
    this.refuseThroughSymlink(relativePath);
    if (this.seen.has(relativePath)) {
      throw new UnsafeEntryError(`Unsafe tar stream: ${JSON.stringify(relativePath)} appears twice.`);
    }
    const target = type === 'hardlink' ? this.hardlinkTarget(relativePath, hardlinkTarName ?? '') : undefined;
    this.seen.set(relativePath, type);
    return target;
  }

  /** Records an entry checked elsewhere (StreamingPathGuard hands over what it checked in walk order). */
  remember(relativePath: string, type: EntryType): void {
    this.seen.set(relativePath, type);
  }

  private refuseThroughSymlink(relativePath: string): void {
    for (const ancestor of ancestorsOf(relativePath)) {
      if (this.seen.get(ancestor) === 'symlink') throw throughSymlink(relativePath, ancestor);
    }
  }

  /** The volume-relative target of a hard link, which must be an earlier non-directory entry. */
  private hardlinkTarget(relativePath: string, tarName: string): string {
    const target = hardlinkTargetPath(relativePath, tarName, this.root);
    this.refuseThroughSymlink(target);
    const targetType = this.seen.get(target);
    if (targetType === undefined || targetType === 'directory') throw notStoredBefore(relativePath, target);
    return target;
  }
}

/** The volume-relative target of a hard link named `tarName`; refused when it lies outside `root/`. */
export function hardlinkTargetPath(relativePath: string, tarName: string, root: string): string {
  try {
    return volumeRelativePath(tarName, root);
  } catch {
    throw new UnsafeEntryError(
      `Unsafe tar entry ${JSON.stringify(relativePath)}: a hard link to ${JSON.stringify(tarName)}, outside ${root}/.`,
    );
  }
}

/** The refusal of an entry below a symlink stored before it. */
export function throughSymlink(relativePath: string, symlink: string): UnsafeEntryError {
  return new UnsafeEntryError(
    `Unsafe tar entry ${JSON.stringify(relativePath)}: it goes through the symlink ${JSON.stringify(symlink)} stored before it.`,
  );
}

/** The refusal of a hard link whose target is not an earlier non-directory entry. */
export function notStoredBefore(relativePath: string, target: string): UnsafeEntryError {
  return new UnsafeEntryError(
    `Unsafe tar entry ${JSON.stringify(relativePath)}: a hard link to ${JSON.stringify(target)}, which is not a file stored before it.`,
  );
}
