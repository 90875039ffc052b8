// The few /dev/fuse messages a one-file disk needs, as the kernel lays them out (include/uapi/linux/fuse.h,
// protocol 7.31): requests decoded from the bytes read, replies encoded into the bytes written. Pure.

/** The request opcodes the disk answers (and the three it must never answer). */
export enum FuseOp {
  Lookup = 1,
  Forget = 2,
  Getattr = 3,
  Setattr = 4,
  Open = 14,
  Read = 15,
  Write = 16,
  Statfs = 17,
  Release = 18,
  Fsync = 20,
  Flush = 25,
  Init = 26,
  Opendir = 27,
  Readdir = 28,
  Releasedir = 29,
  Fsyncdir = 30,
  Access = 34,
  Interrupt = 36,
  Destroy = 38,
  BatchForget = 42,
  Fallocate = 43,
}

/** Requests the kernel expects no reply to: answering one is an error (and FORGETs come in floods). */
export const NO_REPLY_OPS: ReadonlySet<number> = new Set([
  FuseOp.Forget,
  FuseOp.BatchForget,
  FuseOp.Interrupt,
]);

export const Errno = { ENOENT: 2, EIO: 5, EACCES: 13, EINVAL: 22, ENOSPC: 28, ENOSYS: 38 } as const;

export const IN_HEADER_BYTES = 40;
export const OUT_HEADER_BYTES = 16;
/** fuse_read_in and fuse_write_in: the payload of a WRITE starts after it. */
const RW_IN_BYTES = 40;

export const ROOT_NODE = 1n;
export const FUSE_MAJOR = 7;
/** The minor we speak: the kernel then takes our 64-byte init reply and the 40-byte read/write headers. */
export const FUSE_MINOR = 31;
/** fuse_init flags we ask for: writes bigger than a page. */
const FUSE_BIG_WRITES = 1 << 5;
/** fuse_open_out.open_flags: no page cache on the disk file, every loop I/O reaches the server. */
export const FOPEN_DIRECT_IO = 1;

export interface FuseHeader {
  length: number;
  opcode: number;
  unique: bigint;
  nodeId: bigint;
  uid: number;
  gid: number;
  pid: number;
}

/** A decoded request: the header, and the fields of the opcodes the disk reads. */
export type FuseRequest =
  | { header: FuseHeader; kind: 'init'; major: number; minor: number; maxReadahead: number; flags: number }
  | { header: FuseHeader; kind: 'lookup'; name: string }
  | { header: FuseHeader; kind: 'read'; offset: number; size: number }
  | { header: FuseHeader; kind: 'write'; offset: number; data: Buffer }
  | { header: FuseHeader; kind: 'other' };

export function decodeHeader(bytes: Buffer): FuseHeader {
  if (bytes.length < IN_HEADER_BYTES) throw new Error(`a FUSE request of ${bytes.length} bytes is too short`);
  return {
    length: bytes.readUInt32LE(0),
    opcode: bytes.readUInt32LE(4),
    unique: bytes.readBigUInt64LE(8),
    nodeId: bytes.readBigUInt64LE(16),
    uid: bytes.readUInt32LE(24),
    gid: bytes.readUInt32LE(28),
    pid: bytes.readUInt32LE(32),
  };
}

/** Decodes one request (`bytes` is exactly what one read of /dev/fuse returned; WRITE data is a view). */
export function decodeRequest(bytes: Buffer): FuseRequest {
  const header = decodeHeader(bytes);
  const body = bytes.subarray(IN_HEADER_BYTES, header.length);
  switch (header.opcode) {
    case FuseOp.Init:
      return {
        header,
        kind: 'init',
        major: body.readUInt32LE(0),
        minor: body.readUInt32LE(4),
        maxReadahead: body.readUInt32LE(8),
        flags: body.readUInt32LE(12),
      };
    case FuseOp.Lookup: {
      const end = body.indexOf(0);
      return { header, kind: 'lookup', name: body.subarray(0, end < 0 ? body.length : end).toString() };
    }
    case FuseOp.Read:
      return {
        header,
        kind: 'read',
        offset: Number(body.readBigUInt64LE(8)),
        size: body.readUInt32LE(16),
      };
    case FuseOp.Write: {
      const size = body.readUInt32LE(16);
      return {
        header,
        kind: 'write',
        offset: Number(body.readBigUInt64LE(8)),
        data: body.subarray(RW_IN_BYTES, RW_IN_BYTES + size),
      };
    }
    default:
      return { header, kind: 'other' };
  }
}

/** A reply: the out header, then the body (none for an error or an empty success). */
export function encodeReply(unique: bigint, errno: number, body?: Buffer): Buffer {
  const out = Buffer.alloc(OUT_HEADER_BYTES + (errno === 0 && body ? body.length : 0));
  out.writeUInt32LE(out.length, 0);
  out.writeInt32LE(-errno, 4);
  out.writeBigUInt64LE(unique, 8);
  if (errno === 0 && body) body.copy(out, OUT_HEADER_BYTES);
  return out;
}

/** fuse_init_out: our version, no readahead beyond the kernel's, `maxWrite` per WRITE. */
export function initReply(maxReadahead: number, maxWrite: number): Buffer {
  const out = Buffer.alloc(64);
  out.writeUInt32LE(FUSE_MAJOR, 0);
  out.writeUInt32LE(FUSE_MINOR, 4);
  out.writeUInt32LE(maxReadahead, 8);
  out.writeUInt32LE(FUSE_BIG_WRITES, 12);
  out.writeUInt16LE(12, 16); // max_background
  out.writeUInt16LE(10, 18); // congestion_threshold
  out.writeUInt32LE(maxWrite, 20);
  out.writeUInt32LE(1, 24); // time_gran: 1 ns
  return out;
}

export interface FileAttributes {
  ino: bigint;
  size: number;
  /** st_mode, type bits included. */
  mode: number;
  nlink: number;
  blockSize: number;
}

/** fuse_attr (88 bytes); times 0, owner root. */
export function encodeAttr(attr: FileAttributes): Buffer {
  const out = Buffer.alloc(88);
  out.writeBigUInt64LE(attr.ino, 0);
  out.writeBigUInt64LE(BigInt(attr.size), 8);
  out.writeBigUInt64LE(BigInt(Math.ceil(attr.size / 512)), 16);
  out.writeUInt32LE(attr.mode, 60);
  out.writeUInt32LE(attr.nlink, 64);
  out.writeUInt32LE(attr.blockSize, 80);
  return out;
}

/** fuse_attr_out: valid for `validSeconds` (the size never changes while mounted). */
export function attrReply(attr: FileAttributes, validSeconds = 1): Buffer {
  const head = Buffer.alloc(16);
  head.writeBigUInt64LE(BigInt(validSeconds), 0);
  return Buffer.concat([head, encodeAttr(attr)]);
}

/** fuse_entry_out for LOOKUP. */
export function entryReply(attr: FileAttributes, validSeconds = 1): Buffer {
  const head = Buffer.alloc(40);
  head.writeBigUInt64LE(attr.ino, 0);
  head.writeBigUInt64LE(BigInt(validSeconds), 16);
  head.writeBigUInt64LE(BigInt(validSeconds), 24);
  return Buffer.concat([head, encodeAttr(attr)]);
}

/** fuse_open_out with the given open flags (FOPEN_DIRECT_IO for the disk). */
export function openReply(openFlags: number): Buffer {
  const out = Buffer.alloc(16);
  out.writeUInt32LE(openFlags, 8);
  return out;
}

/** fuse_write_out: how many bytes were taken. */
export function writeReply(size: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(size, 0);
  return out;
}

/** fuse_kstatfs of a file system holding `bytes` in blocks of `blockSize`, all used. */
export function statfsReply(bytes: number, blockSize: number): Buffer {
  const out = Buffer.alloc(80);
  out.writeBigUInt64LE(BigInt(Math.ceil(bytes / blockSize)), 0);
  out.writeBigUInt64LE(2n, 24); // files: the root and the disk
  out.writeUInt32LE(blockSize, 40);
  out.writeUInt32LE(255, 44); // namelen
  out.writeUInt32LE(blockSize, 48); // frsize
  return out;
}

export interface DirEntry {
  ino: bigint;
  name: string;
  /** DT_* type: 4 directory, 8 regular file. */
  type: number;
}

/** fuse_dirent records from `offset` on, as many as fit in `size` bytes; each record's off is its index + 1. */
export function readdirReply(entries: DirEntry[], offset: number, size: number): Buffer {
  const records: Buffer[] = [];
  let used = 0;
  for (let i = offset; i < entries.length; i++) {
    const entry = entries[i] as DirEntry;
    const name = Buffer.from(entry.name);
    const record = Buffer.alloc(24 + ((name.length + 7) & ~7));
    if (used + record.length > size) break;
    record.writeBigUInt64LE(entry.ino, 0);
    record.writeBigUInt64LE(BigInt(i + 1), 8);
    record.writeUInt32LE(name.length, 16);
    record.writeUInt32LE(entry.type, 20);
    name.copy(record, 24);
    records.push(record);
    used += record.length;
  }
  return Buffer.concat(records);
}

/** The READ/READDIR request's offset and size (fuse_read_in), for opcodes decodeRequest leaves as 'other'. */
export function readIn(bytes: Buffer): { offset: number; size: number } {
  return {
    offset: Number(bytes.readBigUInt64LE(IN_HEADER_BYTES + 8)),
    size: bytes.readUInt32LE(IN_HEADER_BYTES + 16),
  };
}
