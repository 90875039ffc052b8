import { createHash } from 'node:crypto';
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
/** GNU tar's ACL records (`--acls`): access, default (and NFSv4 `ace`), as text. */
const ACL_PREFIX = 'SCHILY.acl.';

function isExtendedRecord(key: string): boolean {
  return key.startsWith(XATTR_PREFIX) || key.startsWith(ACL_PREFIX);
}

/**
 * sha256 of an entry's xattr and ACL records, keys sorted, each as `key NUL length NUL value`: the exact
 * digest's proof that values (not only names) came through. Undefined when the header has none.
 */
export function extendedRecordsSha256(header: TarEntryHeader): string | undefined {
  const keys = header.paxKeys.filter(isExtendedRecord);
  if (keys.length === 0) return undefined;
  const hash = createHash('sha256');
  for (const key of [...keys].sort()) {
    const value = header.pax.get(key) as Buffer;
    hash.update(`${key}\0${value.length}\0`);
    hash.update(value);
  }
  return hash.digest('hex');
}

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
  if (header.mtimeNs !== 0) entry.mtimeNs = header.mtimeNs;
  if (type === 'symlink') entry.linkTarget = header.linkname;
  if (hardlinkTarget !== undefined) entry.linkTarget = hardlinkTarget;
  if (header.paxKeys.length > 0) {
    const xattrs = header.paxKeys
      .filter((key) => key.startsWith(XATTR_PREFIX))
      .map((key) => key.slice(XATTR_PREFIX.length))
      .sort();
    if (xattrs.length > 0) entry.xattrs = xattrs;
    const extended = extendedRecordsSha256(header);
    if (extended !== undefined) entry.extendedSha256 = extended;
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

/** The header's ACL records as GNU tar writes them, for a writer that passes them on. */
function aclRecords(header: TarEntryHeader): [string, Buffer][] {
  if (header.paxKeys.length === 0) return NO_RECORDS;
  const records = header.paxKeys.filter((key) => key.startsWith(ACL_PREFIX));
  return records.length === 0
    ? NO_RECORDS
    : records.sort().map((key) => [key, header.pax.get(key) as Buffer]);
}

const NO_RECORDS: [string, Buffer][] = [];

/**
 * An ACL's raw xattr, when the header has the ACL as GNU tar's text record too: written once, as the text
 * (GNU tar restores it from that). The engine's PUT sets a raw ACL xattr after the mode, which drops a
 * setuid bit (checked on 20.10), and Go's reader ignores the text records.
 */
const ACL_XATTR_RECORD: Readonly<Record<string, string>> = {
  'system.posix_acl_access': `${ACL_PREFIX}access`,
  'system.posix_acl_default': `${ACL_PREFIX}default`,
};

function xattrValues(names: readonly string[], header: TarEntryHeader): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  for (const name of names) {
    const record = ACL_XATTR_RECORD[name];
    if (record !== undefined && header.pax.has(record)) continue;
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
    mtimeNs: entry.mtimeNs ?? 0,
    linkname: nameBytes(linkname),
    devmajor: entry.device?.major ?? 0,
    devminor: entry.device?.minor ?? 0,
    xattrs,
    acls: aclRecords(header),
  });
}
