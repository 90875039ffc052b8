import { createHash } from 'node:crypto';
import type { Header, Pack } from 'tar-stream';
import { UserError } from '../errors.js';
import type { EntryType, ManifestBuilder, ManifestEntry } from './manifest.js';
import { tarNameOf, volumeRelativePath, type EntryPathGuard } from './tar-paths.js';

/** What tar-stream's extract hands out per entry: a streamx Readable of the entry's content. */
export type EntryBody = AsyncIterable<unknown>;
/** The streamx Writable tar-stream's pack returns for one entry. */
type EntrySink = ReturnType<Pack['entry']>;

const ENTRY_TYPE_OF_TAR: Readonly<Record<string, EntryType>> = {
  file: 'file',
  'contiguous-file': 'file',
  link: 'hardlink',
  symlink: 'symlink',
  directory: 'directory',
  fifo: 'fifo',
  'character-device': 'char-device',
  'block-device': 'block-device',
};

const TAR_TYPE_OF: Readonly<Record<EntryType, Header['type']>> = {
  file: 'file',
  hardlink: 'link',
  symlink: 'symlink',
  directory: 'directory',
  fifo: 'fifo',
  'char-device': 'character-device',
  'block-device': 'block-device',
};

/** S_IFMT bits: tar-stream replaces a mode of 0 by 0644/0755, so the type bits keep `chmod 000` intact. */
const TYPE_BITS: Readonly<Record<EntryType, number>> = {
  file: 0o100000,
  hardlink: 0o100000,
  symlink: 0o120000,
  directory: 0o040000,
  fifo: 0o010000,
  'char-device': 0o020000,
  'block-device': 0o060000,
};

/** The largest id tar-stream writes into a ustar field (6 octal digits); larger ids go into pax records. */
const MAX_USTAR_ID = 0o777777;
const XATTR_PREFIX = 'SCHILY.xattr.';
/** Pax records tar-stream derives from the header itself when it packs; forwarding them would duplicate. */
const DERIVED_PAX_KEYS = new Set(['path', 'linkpath', 'size']);

/** Context shared by the entries of one tar stream. */
export interface EntryContext {
  root: string;
  guard: EntryPathGuard;
  builder: ManifestBuilder;
  /** Where the re-packed entry goes; null when only the manifest is wanted. */
  pack: Pack | null;
}

/**
 * Checks one volume entry, re-packs it (content piped through while its sha256 is computed) and adds it to
 * the manifest. Throws UnsafeEntryError for entries an extractor would follow out of the volume.
 */
export async function copyVolumeEntry(
  header: Header,
  body: EntryBody,
  context: EntryContext,
): Promise<ManifestEntry> {
  const { root, guard, builder, pack } = context;
  const type = entryTypeOf(header);
  const path = volumeRelativePath(header.name, root);
  const hardlinkTarget = guard.check(path, type, type === 'hardlink' ? (header.linkname ?? '') : undefined);
  const pax = paxRecordsOf(header);
  const { forwarded, dropped } = forwardablePax(pax);
  for (const key of dropped) {
    builder.note(
      `${key} of ${path} is binary and was not carried: tar-stream re-encodes pax values as UTF-8`,
    );
  }
  const entry = manifestEntryOf(header, { path, type, pax, forwarded, hardlinkTarget });
  const target = pack ? addPackEntry(pack, packHeaderOf(header, entry, root, forwarded)) : null;
  if (type === 'file') entry.sha256 = await copyContent(body, target?.sink ?? null);
  else await drain(body);
  await target?.written;
  return builder.add(entry);
}

/** The manifest type of a tar entry; a UserError for kinds the engine never sends (sparse, volume labels). */
export function entryTypeOf(header: Header): EntryType {
  const type = ENTRY_TYPE_OF_TAR[String(header.type)];
  if (type === undefined) {
    throw new UserError(
      `Tar entry ${JSON.stringify(header.name)} has an unsupported type (${String(header.type)}).`,
    );
  }
  return type;
}

/** tar-stream exposes an entry's pax records untyped (null when there are none). */
function paxRecordsOf(header: Header): Record<string, string> {
  const pax: unknown = header.pax;
  if (typeof pax !== 'object' || pax === null) return {};
  const records: Record<string, string> = {};
  for (const [key, value] of Object.entries(pax)) if (typeof value === 'string') records[key] = value;
  return records;
}

/**
 * The pax records to write again. tar-stream decodes values as UTF-8, so a binary xattr value (U+FFFD
 * after decoding) cannot be written back faithfully: it is dropped and recorded as a limitation.
 */
function forwardablePax(pax: Record<string, string>): {
  forwarded: Record<string, string>;
  dropped: string[];
} {
  const forwarded: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(pax)) {
    if (DERIVED_PAX_KEYS.has(key)) continue;
    if (key.startsWith(XATTR_PREFIX) && value.includes('\uFFFD'))
      dropped.push(key.slice(XATTR_PREFIX.length));
    else forwarded[key] = value;
  }
  return { forwarded, dropped };
}

interface EntryFacts {
  path: string;
  type: EntryType;
  pax: Record<string, string>;
  forwarded: Record<string, string>;
  hardlinkTarget: string | undefined;
}

/** The manifest entry of a tar header (pax uid/gid/mtime win: tar-stream only applies pax path and size). */
function manifestEntryOf(header: Header, facts: EntryFacts): ManifestEntry {
  const { path, type, pax } = facts;
  const entry: ManifestEntry = {
    path,
    type,
    mode: header.mode & 0o7777,
    uid: pax.uid !== undefined ? Number(pax.uid) : header.uid,
    gid: pax.gid !== undefined ? Number(pax.gid) : header.gid,
    size: type === 'file' ? header.size : 0,
    mtime: Math.floor(pax.mtime !== undefined ? Number(pax.mtime) : header.mtime.getTime() / 1000),
  };
  if (type === 'symlink') entry.linkTarget = header.linkname ?? '';
  if (facts.hardlinkTarget !== undefined) entry.linkTarget = facts.hardlinkTarget;
  const xattrs = Object.keys(facts.forwarded)
    .filter((key) => key.startsWith(XATTR_PREFIX))
    .map((key) => key.slice(XATTR_PREFIX.length))
    .sort();
  if (xattrs.length > 0) entry.xattrs = xattrs;
  if (type === 'char-device' || type === 'block-device') {
    entry.device = { major: header.devmajor, minor: header.devminor };
  }
  return entry;
}

/** The header to pack: names normalised to what was checked, everything else as the engine sent it. */
function packHeaderOf(
  header: Header,
  entry: ManifestEntry,
  root: string,
  forwarded: Record<string, string>,
): Parameters<Pack['entry']>[0] {
  const pax = { ...forwarded };
  if (entry.uid > MAX_USTAR_ID) pax.uid = String(entry.uid);
  if (entry.gid > MAX_USTAR_ID) pax.gid = String(entry.gid);
  const linkname =
    entry.type === 'hardlink' && entry.linkTarget !== undefined
      ? tarNameOf(entry.linkTarget, root, 'file')
      : entry.linkTarget;
  return {
    name: tarNameOf(entry.path, root, entry.type),
    type: TAR_TYPE_OF[entry.type],
    mode: entry.mode | TYPE_BITS[entry.type],
    uid: entry.uid,
    gid: entry.gid,
    size: entry.type === 'file' ? entry.size : 0,
    mtime: header.mtime,
    ...(linkname === undefined ? {} : { linkname }),
    ...(fitsUstarName(header.uname) ? { uname: header.uname } : {}),
    ...(fitsUstarName(header.gname) ? { gname: header.gname } : {}),
    devmajor: header.devmajor,
    devminor: header.devminor,
    ...(Object.keys(pax).length > 0 ? { pax } : {}),
  };
}

/** tar-stream writes uname/gname unchecked into 32-byte fields: a longer name would spill into the next. */
function fitsUstarName(name: string | undefined): name is string {
  return name !== undefined && name !== '' && Buffer.byteLength(name) < 32;
}

/** Starts an entry in `pack`; `written` settles once tar-stream has taken all of it (or failed). */
export function addPackEntry(
  pack: Pack,
  header: Parameters<Pack['entry']>[0],
  content?: Buffer,
): { sink: EntrySink; written: Promise<void> } {
  let settle: (error?: Error | null) => void = () => undefined;
  const written = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  written.catch(() => undefined); // the caller awaits it; this only keeps an early failure from going unhandled
  const sink = content === undefined ? pack.entry(header, settle) : pack.entry(header, content, settle);
  return { sink, written };
}

/** Pipes an entry's content into `sink` chunk by chunk (never the whole file) and returns its sha256. */
async function copyContent(body: EntryBody, sink: EntrySink | null): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    if (sink && !sink.write(buffer)) await drained(sink);
  }
  sink?.end(undefined);
  return hash.digest('hex');
}

/** Consumes a body that should be empty, so the extractor moves on. */
async function drain(body: EntryBody): Promise<void> {
  for await (const _chunk of body) {
    // nothing: links, directories and devices carry no content
  }
}

/** Resolves when a backpressured sink wants more; rejects when it is closed instead. */
function drained(sink: EntrySink): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      sink.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      sink.off('drain', onDrain);
      reject(new Error('the tar output was closed while an entry was written'));
    };
    sink.once('drain', onDrain);
    sink.once('close', onClose);
  });
}

/** Reads a small entry (the manifest) whole, refusing anything larger than `limit`. */
export async function readSmallEntry(header: Header, body: EntryBody, limit: number): Promise<Buffer> {
  if (header.size > limit) {
    throw new UserError(`Tar entry ${header.name} is ${header.size} bytes, more than the ${limit} allowed.`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
