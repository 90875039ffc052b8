import type { EntryType, ManifestEntry } from './manifest.js';
import { volumeRelativePath, type EntryPathGuard } from './tar-paths.js';
import type { TarEntryHeader, TarEntryKind } from './tar-scanner.js';

const ENTRY_TYPE_OF_TAR: Readonly<Record<TarEntryKind, EntryType>> = {
  file: 'file',
  'contiguous-file': 'file',
  link: 'hardlink',
  symlink: 'symlink',
  directory: 'directory',
  fifo: 'fifo',
  'character-device': 'char-device',
  'block-device': 'block-device',
};

const XATTR_PREFIX = 'SCHILY.xattr.';

/**
 * The manifest entry of a tar header once its path is known to be safe (UnsafeEntryError otherwise); the
 * caller adds the sha256 of a file's content.
 */
export function checkedManifestEntry(
  header: TarEntryHeader,
  root: string,
  guard: EntryPathGuard,
): ManifestEntry {
  const type = ENTRY_TYPE_OF_TAR[header.type];
  const path = volumeRelativePath(header.name, root);
  const hardlinkTarget = guard.check(path, type, type === 'hardlink' ? header.linkname : undefined);
  const entry: ManifestEntry = {
    path,
    type,
    mode: header.mode & 0o7777,
    uid: header.uid,
    gid: header.gid,
    size: type === 'file' ? header.size : 0,
    mtime: header.mtime,
  };
  if (type === 'symlink') entry.linkTarget = header.linkname;
  if (hardlinkTarget !== undefined) entry.linkTarget = hardlinkTarget;
  const xattrs = header.paxKeys
    .filter((key) => key.startsWith(XATTR_PREFIX))
    .map((key) => key.slice(XATTR_PREFIX.length))
    .sort();
  if (xattrs.length > 0) entry.xattrs = xattrs;
  if (type === 'char-device' || type === 'block-device') {
    entry.device = { major: header.devmajor, minor: header.devminor };
  }
  return entry;
}
