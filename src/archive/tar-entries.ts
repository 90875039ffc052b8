import type { EntryType, ManifestEntry } from './manifest.js';
import { nameBytes } from './name-bytes.js';
import type { PathGuard } from './path-guard.js';
import { tarNameOf, volumeRelativePath } from './tar-paths.js';
import type { TarEntryHeader, TarEntryKind } from './tar-scanner.js';
import { canonicalHeaderBytes, type WrittenKind } from './tar-writer.js';

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
export function checkedManifestEntry(header: TarEntryHeader, root: string, guard: PathGuard): ManifestEntry {
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
  if (header.paxKeys.length > 0) {
    const xattrs = header.paxKeys
      .filter((key) => key.startsWith(XATTR_PREFIX))
      .map((key) => key.slice(XATTR_PREFIX.length))
      .sort();
    if (xattrs.length > 0) entry.xattrs = xattrs;
  }
  if (type === 'char-device' || type === 'block-device') {
    entry.device = { major: header.devmajor, minor: header.devminor };
  }
  return entry;
}

const WRITTEN_KIND_OF_ENTRY: Readonly<Record<EntryType, WrittenKind>> = {
  file: 'file',
  hardlink: 'link',
  symlink: 'symlink',
  directory: 'directory',
  fifo: 'fifo',
  'char-device': 'character-device',
  'block-device': 'block-device',
};

const NO_XATTRS: ReadonlyMap<string, Buffer> = new Map();

function xattrValues(names: readonly string[], header: TarEntryHeader): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  for (const name of names) {
    const value = header.pax.get(XATTR_PREFIX + name);
    if (value !== undefined) xattrs.set(name, value);
  }
  return xattrs;
}

/**
 * The header records to write for an entry: built from its manifest entry (name from the checked
 * volume-relative path, link targets as checked), plus the xattr values the parse kept — nothing of the
 * input's own header survives, so every reader of the output sees what the manifest says.
 */
export function canonicalHeaderOf(entry: ManifestEntry, header: TarEntryHeader, root: string): Buffer {
  const xattrs = entry.xattrs?.length ? xattrValues(entry.xattrs, header) : NO_XATTRS;
  const linkname =
    entry.type === 'hardlink'
      ? tarNameOf(entry.linkTarget ?? '', root, 'file')
      : entry.type === 'symlink'
        ? (entry.linkTarget ?? '')
        : '';
  return canonicalHeaderBytes({
    name: nameBytes(tarNameOf(entry.path, root, entry.type)),
    kind: WRITTEN_KIND_OF_ENTRY[entry.type],
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.type === 'file' ? entry.size : 0,
    mtime: entry.mtime,
    linkname: nameBytes(linkname),
    devmajor: entry.device?.major ?? 0,
    devminor: entry.device?.minor ?? 0,
    xattrs,
  });
}
