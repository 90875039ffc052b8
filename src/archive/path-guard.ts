import type { EntryType } from './manifest.js';
import { nameBytes } from './name-bytes.js';
import {
  EntryPathGuard,
  UnsafeEntryError,
  hardlinkTargetPath,
  notStoredBefore,
  throughSymlink,
} from './tar-paths.js';

/** What checkedManifestEntry needs of a guard (see EntryPathGuard for the rules). */
export interface PathGuard {
  check(relativePath: string, type: EntryType, hardlinkTarName?: string): string | undefined;
}

/**
 * A path's place in the order the engine writes a volume's tar (Go's filepath.Walk: depth first, names in
 * byte order): byte order of the path with '/' read as the lowest byte, the root first.
 */
function walkKey(relativePath: string): Buffer {
  if (relativePath === '.') return Buffer.alloc(0);
  const bytes = nameBytes(relativePath);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x2f) bytes[i] = 0;
  return bytes;
}

/**
 * EntryPathGuard's rules with memory flat in the number of files, for streams in the engine's walk order
 * (every volume tar the engine writes, so every archive we make): each path must come after the one
 * before it, which rules out duplicates, and puts every stored ancestor of a path on the chain of the
 * entry before it, so only that chain is kept. Symlinks are remembered (a hard link must not go through
 * one); a hard link's target must come earlier, and that it is a stored non-directory is checked once the
 * stream has ended (EntrySpool, which holds every entry). The first path out of walk order switches to
 * EntryPathGuard, filled from the entries so far: any order stays accepted, at its memory cost.
 */
export class StreamingPathGuard implements PathGuard {
  private previous: Buffer | undefined;
  /** The last entry's stored ancestors (and itself), root first. */
  private chain: { path: string; type: EntryType }[] = [];
  private readonly symlinks = new Set<string>();
  /** Hard link → target, until checked: by EntrySpool at the end, or on leaving walk order. */
  private readonly links: [string, string][] = [];
  private fallback?: EntryPathGuard;

  constructor(
    private readonly root: string,
    /** Every entry checked so far (the spool), read only if the stream leaves walk order. */
    private readonly history: () => Iterable<{ path: string; type: EntryType }>,
  ) {}

  /** True while the stream has kept to walk order. */
  get ordered(): boolean {
    return this.fallback === undefined;
  }

  check(relativePath: string, type: EntryType, hardlinkTarName?: string): string | undefined {
    if (this.fallback) return this.fallback.check(relativePath, type, hardlinkTarName);
    const key = walkKey(relativePath);
    if (this.previous !== undefined && Buffer.compare(key, this.previous) <= 0) {
      return this.leaveWalkOrder().check(relativePath, type, hardlinkTarName);
    }
    if (relativePath === '.' && type !== 'directory') {
      throw new UnsafeEntryError(`Unsafe tar stream: its root ${this.root}/ is a ${type}, not a directory.`);
    }
    this.refuseThroughSymlink(relativePath, this.chainOf(relativePath));
    const target =
      type === 'hardlink' ? this.hardlinkTarget(relativePath, key, hardlinkTarName ?? '') : undefined;
    this.previous = key;
    this.chain.push({ path: relativePath, type });
    if (type === 'symlink') this.symlinks.add(relativePath);
    return target;
  }

  /** Drops the entries of the chain that are not ancestors of `relativePath`; returns what is left. */
  private chainOf(relativePath: string): { path: string; type: EntryType }[] {
    while (this.chain.length > 0) {
      const last = this.chain[this.chain.length - 1] as { path: string };
      if (last.path === '.' || relativePath.startsWith(`${last.path}/`)) break;
      this.chain.pop();
    }
    return this.chain;
  }

  private refuseThroughSymlink(
    relativePath: string,
    ancestors: readonly { path: string; type: EntryType }[],
  ): void {
    const symlink = ancestors.find((a) => a.type === 'symlink');
    if (symlink) throw throughSymlink(relativePath, symlink.path);
  }

  private hardlinkTarget(relativePath: string, key: Buffer, tarName: string): string {
    const target = hardlinkTargetPath(relativePath, tarName, this.root);
    const segments = target.split('/');
    for (let i = 1; i < segments.length; i++) {
      const ancestor = segments.slice(0, i).join('/');
      if (this.symlinks.has(ancestor)) throw throughSymlink(target, ancestor);
    }
    if (target === '.' || Buffer.compare(walkKey(target), key) >= 0)
      throw notStoredBefore(relativePath, target);
    this.links.push([relativePath, target]);
    return target;
  }

  private leaveWalkOrder(): EntryPathGuard {
    const guard = new EntryPathGuard(this.root);
    const types = new Map<string, EntryType>();
    for (const entry of this.history()) {
      guard.remember(entry.path, entry.type);
      types.set(entry.path, entry.type);
    }
    for (const [link, target] of this.links) {
      const type = types.get(target);
      if (type === undefined || type === 'directory') throw notStoredBefore(link, target);
    }
    this.links.length = 0;
    this.fallback = guard;
    this.chain = [];
    this.symlinks.clear();
    return guard;
  }
}
