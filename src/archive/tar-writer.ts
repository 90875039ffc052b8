import { UserError } from '../errors.js';
import { BLOCK, USTAR_MAGIC, checksumsOf, paddingOf } from './tar-scanner.js';

/** Type flags we write; contiguous files are written as regular files (the engine refuses '7'). */
export type WrittenKind =
  'file' | 'link' | 'symlink' | 'directory' | 'fifo' | 'character-device' | 'block-device';

const FLAG_OF_KIND: Readonly<Record<WrittenKind, string>> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

/** One entry's header as we write it: every value is what our parse decided. */
export interface WrittenHeader {
  /** The name's bytes (directories end with '/'). */
  name: Buffer;
  kind: WrittenKind;
  mode: number;
  uid: number;
  gid: number;
  /** Content bytes that follow (0 for anything but a file). */
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  /** Nanoseconds past `mtime` (a pax mtime record when not 0); 0 when unknown. */
  mtimeNs?: number;
  /** The link target's bytes (links and symlinks), else empty. */
  linkname: Buffer;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* records to keep, name → value bytes. */
  xattrs: ReadonlyMap<string, Buffer>;
  /** SCHILY.acl.* records to keep (GNU tar's ACLs), key → text. */
  acls?: readonly (readonly [string, Buffer])[];
}

/** ustar field widths; a value that does not fit goes into a pax record. */
const NAME_BYTES = 100;
const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

/**
 * The header records of one entry, canonical: a ustar block (no prefix field, no GNU records, no global
 * header), preceded by one pax header only for what ustar cannot hold (a long name or link target, a size,
 * id or mtime too large, xattrs). Any reader of these bytes sees exactly `header`.
 */
export function canonicalHeaderBytes(header: WrittenHeader): Buffer {
  const records: [string, Buffer | string][] = [];
  const fits = (bytes: Buffer) => bytes.length <= NAME_BYTES;
  if (!fits(header.name)) records.push(['path', header.name]);
  if (!fits(header.linkname)) records.push(['linkpath', header.linkname]);
  const tooLarge = (key: string, value: number, max: number) => {
    if (value > max) records.push([key, String(value)]);
  };
  tooLarge('size', header.size, MAX_OCTAL_12);
  tooLarge('uid', header.uid, MAX_OCTAL_8);
  tooLarge('gid', header.gid, MAX_OCTAL_8);
  if (header.mtimeNs) records.push(['mtime', `${header.mtime}.${nanoDigits(header.mtimeNs)}`]);
  else tooLarge('mtime', header.mtime, MAX_OCTAL_12);
  for (const [name, value] of header.xattrs) records.push([`SCHILY.xattr.${name}`, value]);
  for (const [key, value] of header.acls ?? []) records.push([key, value]);
  // One buffer for the whole header (pax header, records, padding, ustar block): a million entries make
  // a million headers, and every intermediate buffer would be garbage for the collector.
  const bodyBytes = records.reduce((sum, [key, value]) => sum + paxRecordBytes(key, value), 0);
  const blockAt = records.length === 0 ? 0 : BLOCK + bodyBytes + paddingOf(bodyBytes);
  const out = Buffer.allocUnsafe(blockAt + BLOCK);
  if (records.length > 0) {
    writeUstarBlock(out, 0, { ...EMPTY_FIELDS, name: PAX_HEADER_NAME, flag: 'x', size: bodyBytes });
    let at = BLOCK;
    for (const [key, value] of records) at = writePaxRecord(out, at, key, value);
    out.fill(0, at, blockAt);
  }
  writeUstarBlock(out, blockAt, {
    name: fits(header.name) ? header.name : PAX_LONG_NAME,
    flag: FLAG_OF_KIND[header.kind],
    mode: header.mode & 0o7777,
    uid: Math.min(header.uid, MAX_OCTAL_8),
    gid: Math.min(header.gid, MAX_OCTAL_8),
    size: Math.min(header.size, MAX_OCTAL_12),
    mtime: Math.min(header.mtime, MAX_OCTAL_12),
    linkname: fits(header.linkname) ? header.linkname : PAX_LONG_LINK,
    devmajor: header.devmajor,
    devminor: header.devminor,
  });
  return out;
}

const PAX_HEADER_NAME = Buffer.from('PaxHeader');
const PAX_LONG_NAME = Buffer.from('pax-long-name');
const PAX_LONG_LINK = Buffer.from('pax-long-link');

/** Nanoseconds as a pax time fraction: nine digits, trailing zeros dropped (GNU tar's spelling). */
function nanoDigits(ns: number): string {
  if (!Number.isInteger(ns) || ns < 0 || ns > 999_999_999) {
    throw new UserError(`A tar header's nanoseconds (${ns}) are out of range: the entry cannot be written.`);
  }
  return String(ns).padStart(9, '0').replace(/0+$/, '');
}

/** The fields of one ustar block. */
export interface UstarFields {
  name: Buffer;
  flag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: Buffer;
  devmajor: number;
  devminor: number;
}

const EMPTY_FIELDS: UstarFields = {
  name: Buffer.alloc(0),
  flag: '0',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
  linkname: Buffer.alloc(0),
  devmajor: 0,
  devminor: 0,
};

/** One ustar block: octal fields NUL-terminated and zero-filled, magic "ustar\0" "00", empty prefix. */
function ustarBlock(fields: UstarFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeUstarBlock(block, 0, fields);
  return block;
}

/** ustarBlock written into `out` at `offset` (its 512 bytes zeroed first). */
function writeUstarBlock(out: Buffer, offset: number, fields: UstarFields): void {
  const block = out.subarray(offset, offset + BLOCK);
  block.fill(0);
  fields.name.copy(block, 0, 0, NAME_BYTES);
  writeOctal(block, fields.mode, 100, 8);
  writeOctal(block, fields.uid, 108, 8);
  writeOctal(block, fields.gid, 116, 8);
  writeOctal(block, fields.size, 124, 12);
  writeOctal(block, fields.mtime, 136, 12);
  block[156] = fields.flag.charCodeAt(0);
  fields.linkname.copy(block, 157, 0, NAME_BYTES);
  USTAR_MAGIC.copy(block, 257);
  writeOctal(block, fields.devmajor, 329, 8);
  writeOctal(block, fields.devminor, 337, 8);
  writeOctal(block, checksumsOf(block).unsigned, 148, 7); // six digits and a NUL, then a space
  block[155] = 0x20;
}

/** `value` as length − 1 zero-filled octal digits and a NUL, written in place (no string a field). */
function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 8 ** (length - 1)) {
    throw new UserError(`A tar header value (${value}) does not fit its field: the entry cannot be written.`);
  }
  let rest = value;
  for (let at = offset + length - 2; at >= offset; at--) {
    block[at] = 0x30 + (rest % 8);
    rest = Math.floor(rest / 8);
  }
  block[offset + length - 1] = 0;
}

/** The bytes of the record `<length> <key>=<value>\n`, the length counting itself. */
function paxRecordBytes(key: string, value: Buffer | string): number {
  const rest = Buffer.byteLength(key) + Buffer.byteLength(value) + 3; // ' ', '=', '\n'
  let digits = 1;
  while (String(rest + digits).length !== digits) digits++;
  return rest + digits;
}

/** Writes one pax record into `out` at `at`; returns where the next one goes. */
function writePaxRecord(out: Buffer, at: number, key: string, value: Buffer | string): number {
  const length = paxRecordBytes(key, value);
  let next = at + out.write(`${length} ${key}=`, at, 'utf8');
  next += typeof value === 'string' ? out.write(value, next, 'utf8') : value.copy(out, next);
  out[next] = 0x0a;
  return next + 1;
}

/** A ustar header block for a regular file (used for the manifest entry we append). */
export function fileHeaderBlock(name: string, size: number, mtime: number): Buffer {
  return ustarBlock({ ...EMPTY_FIELDS, name: Buffer.from(name), size, mtime });
}

/** A whole file entry: header, content, padding. */
export function fileEntryBytes(name: string, content: Buffer, mtime: number): Buffer {
  return Buffer.concat([
    fileHeaderBlock(name, content.length, mtime),
    content,
    Buffer.alloc(paddingOf(content.length)),
  ]);
}
