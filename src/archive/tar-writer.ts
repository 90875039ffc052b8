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
  const records: [string, Buffer][] = [];
  const fits = (bytes: Buffer) => bytes.length <= NAME_BYTES;
  if (!fits(header.name)) records.push(['path', header.name]);
  if (!fits(header.linkname)) records.push(['linkpath', header.linkname]);
  const tooLarge = (key: string, value: number, max: number) => {
    if (value > max) records.push([key, Buffer.from(String(value))]);
  };
  tooLarge('size', header.size, MAX_OCTAL_12);
  tooLarge('uid', header.uid, MAX_OCTAL_8);
  tooLarge('gid', header.gid, MAX_OCTAL_8);
  if (header.mtimeNs) records.push(['mtime', Buffer.from(`${header.mtime}.${nanoDigits(header.mtimeNs)}`)]);
  else tooLarge('mtime', header.mtime, MAX_OCTAL_12);
  for (const [name, value] of header.xattrs) records.push([`SCHILY.xattr.${name}`, value]);
  for (const [key, value] of header.acls ?? []) records.push([key, value]);
  const block = ustarBlock({
    name: fits(header.name) ? header.name : Buffer.from('pax-long-name'),
    flag: FLAG_OF_KIND[header.kind],
    mode: header.mode & 0o7777,
    uid: Math.min(header.uid, MAX_OCTAL_8),
    gid: Math.min(header.gid, MAX_OCTAL_8),
    size: Math.min(header.size, MAX_OCTAL_12),
    mtime: Math.min(header.mtime, MAX_OCTAL_12),
    linkname: fits(header.linkname) ? header.linkname : Buffer.from('pax-long-link'),
    devmajor: header.devmajor,
    devminor: header.devminor,
  });
  if (records.length === 0) return block;
  const body = Buffer.concat(records.map(([key, value]) => paxRecord(key, value)));
  const paxHeader = ustarBlock({
    ...EMPTY_FIELDS,
    name: Buffer.from('PaxHeader'),
    flag: 'x',
    size: body.length,
  });
  return Buffer.concat([paxHeader, body, Buffer.alloc(paddingOf(body.length)), block]);
}

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
  fields.name.copy(block, 0, 0, NAME_BYTES);
  writeOctal(block, fields.mode, 100, 8);
  writeOctal(block, fields.uid, 108, 8);
  writeOctal(block, fields.gid, 116, 8);
  writeOctal(block, fields.size, 124, 12);
  writeOctal(block, fields.mtime, 136, 12);
  block.write(fields.flag, 156, 1, 'latin1');
  fields.linkname.copy(block, 157, 0, NAME_BYTES);
  USTAR_MAGIC.copy(block, 257);
  writeOctal(block, fields.devmajor, 329, 8);
  writeOctal(block, fields.devminor, 337, 8);
  writeOctal(block, checksumsOf(block).unsigned, 148, 7); // six digits and a NUL, then a space
  block[155] = 0x20;
  return block;
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

/** `<length> <key>=<value>\n`, the length counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // ' ', '=', '\n'
  let digits = 1;
  while (String(rest + digits).length !== digits) digits++;
  const length = rest + digits;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
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
