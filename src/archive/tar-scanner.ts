import { Transform, type TransformCallback } from 'node:stream';
import { UserError } from '../errors.js';
import { noteStreamedBytes } from '../heap-tuning.js';
import { nameFromBytes } from './name-bytes.js';

export const BLOCK = 512;

/** A malformed tar stream; the message is a predicate ("is truncated: ...") the scanner puts its label before. */
class TarFormatError extends UserError {}
/** Pax and GNU long-name records are collected whole; the engine's are a few hundred bytes. */
const MAX_META_BYTES = 1024 * 1024;

/**
 * What the scanner writes: nothing (it only reads); the same bytes it read (the engine's own stream, which
 * Go's writer made unambiguous); or, `rewritten`, the headers the visitor builds from the parse in place
 * of the input's header records, each entry's content passed through unchanged. Only a rewritten stream
 * guarantees that every reader sees exactly what the scanner read, whatever the input's ambiguities.
 */
export type TarOutput = 'none' | 'same' | 'rewritten';

export interface TarScannerOptions {
  output: TarOutput;
  /** The stream as messages name it: "The tar stream of volume x", "Archive x.tar". */
  label: string;
  /** Rewords an error the visitor threw. */
  describe?: (error: Error) => Error;
}

/** Entry kinds as tar-stream names them, so both readers feed the same manifest code. */
export type TarEntryKind =
  | 'file'
  | 'contiguous-file'
  | 'link'
  | 'symlink'
  | 'directory'
  | 'fifo'
  | 'character-device'
  | 'block-device';

/**
 * One entry's header with pax and GNU long-name records applied. Names are bytes, decoded losslessly
 * (see name-bytes.ts). Where readers disagree (see docs/faults.md, Archives) the rule is ours; a rewritten
 * output carries exactly this reading.
 */
export interface TarEntryHeader {
  name: string;
  type: TarEntryKind;
  mode: number;
  uid: number;
  gid: number;
  /** Content bytes that follow the header (0 for header-only kinds). */
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  /** Nanoseconds past `mtime` (from a pax mtime record's fraction; 0 without one). */
  mtimeNs: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Pax record names. */
  paxKeys: readonly string[];
  /** Pax record values, as bytes (xattr values are binary). */
  pax: ReadonlyMap<string, Buffer>;
}

/**
 * What the visitor says of a header: false withholds it and everything after it from the output; with
 * `rewritten` output, the bytes to write in place of the entry's header records, or 'skip' to leave this
 * one entry (header and content) out (a foreign archive's entries outside the volume's directory).
 */
export type HeaderVerdict = boolean | void | Buffer | 'skip';

/** What a TarScanner reports, synchronously and in stream order. */
export interface TarScanVisitor {
  header(header: TarEntryHeader): HeaderVerdict;
  /** A slice of the current entry's content (valid only during the call). */
  content(chunk: Buffer): void;
  entryEnd(): void;
  /**
   * After the last entry; returns bytes to write before the end-of-archive blocks (or nothing), possibly
   * later and in pieces (a manifest read back from disk).
   */
  end(): Trailer | Promise<Trailer>;
}

/** What goes before the end-of-archive blocks: one buffer, or pieces written as the reader takes them. */
export type Trailer = Buffer | Iterable<Buffer> | undefined;

const KIND_OF_FLAG: Readonly<Record<string, TarEntryKind>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'contiguous-file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

/** Kinds Go's reader never reads content for, whatever the size field says. */
const HEADER_ONLY = new Set<TarEntryKind>([
  'link',
  'symlink',
  'character-device',
  'block-device',
  'directory',
  'fifo',
]);

/** Records that change an entry's meaning; Go applies exactly these (GNU.sparse.* is refused). */
interface PendingRecords {
  pax: ReadonlyMap<string, Buffer>;
  longName?: string;
  longLink?: string;
}

type State =
  | { kind: 'header' }
  | { kind: 'content'; left: number; padding: number; size: number }
  | { kind: 'meta'; flag: string; left: number; padding: number; chunks: Buffer[] }
  | { kind: 'end' };

const ZERO_BLOCK = Buffer.alloc(BLOCK);

/**
 * A tar stream in → a tar stream out, parsed on the way: the visitor sees each header and the content
 * slices, may withhold the entries from one on (the manifest of an archive being seeded), and may add
 * bytes just before the end-of-archive blocks (the manifest of an archive being made). The output is the
 * same bytes, or the visitor's headers with the content passed through (see TarOutput), or nothing. Content
 * is never buffered beyond the chunk at hand. A stream that ends in the middle of an entry, or a header
 * that fails its checksum, fails the stream.
 */
export class TarScanner extends Transform {
  /** Tar bytes taken in so far, and headers seen (for progress displays). */
  bytesIn = 0;
  entries = 0;
  private state: State = { kind: 'header' };
  private readonly partial = Buffer.alloc(BLOCK);
  private partialFill = 0;
  private pending: PendingRecords = { pax: NO_PAX };
  /** Off once the visitor withholds an entry: it and everything after it stay out of the output. */
  private forwarding: boolean;
  /** Rewritten output of the current chunk, pushed at once (one push per chunk, not per piece). */
  private rewritten: Buffer[] = [];
  /** The current entry is left out of a rewritten output (a 'skip' verdict). */
  private skippingEntry = false;

  constructor(
    private readonly visitor: TarScanVisitor,
    private readonly options: TarScannerOptions,
  ) {
    super();
    this.forwarding = options.output !== 'none';
  }

  /** Format problems get the stream's label as their subject; the visitor's own go through `describe`. */
  private described(error: unknown): Error {
    if (error instanceof TarFormatError) return new UserError(`${this.options.label} ${error.message}`);
    const described = error instanceof Error ? error : new Error(String(error));
    return this.options.describe?.(described) ?? described;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytesIn += chunk.length;
    noteStreamedBytes(chunk.length);
    try {
      this.scan(chunk);
      this.pushRewritten();
      done();
    } catch (error) {
      this.rewritten = [];
      done(this.described(error));
    }
  }

  override _flush(done: TransformCallback): void {
    new Promise<Trailer>((resolve) => {
      if (this.state.kind !== 'end' && (this.state.kind !== 'header' || this.partialFill > 0)) {
        throw new TarFormatError('is truncated: it ends in the middle of an entry.');
      }
      resolve(this.visitor.end());
    })
      .then(async (trailer) => {
        if (this.options.output === 'none') return;
        for (const piece of Buffer.isBuffer(trailer) ? [trailer] : (trailer ?? []))
          await this.pushPaced(piece);
        this.push(Buffer.alloc(2 * BLOCK));
      })
      .then(
        () => done(),
        (error: unknown) => done(this.described(error)),
      );
  }

  /** Wakes a trailer waiting for the reader (see pushPaced). */
  private readWaiter?: () => void;

  override _read(size: number): void {
    this.readWaiter?.();
    super._read(size);
  }

  /** Pushes, then waits until the reader wants more: a large trailer never piles up in memory. */
  private pushPaced(piece: Buffer): Promise<void> {
    noteStreamedBytes(piece.length); // a 200k-file manifest is 30 MiB of short-lived pieces
    if (this.push(piece) || this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.off('close', wake);
        this.readWaiter = undefined;
        resolve();
      };
      this.readWaiter = wake;
      this.once('close', wake);
    });
  }

  /** `last`: the bytes before a withheld entry, forwarded after forwarding was switched off. */
  private forwardBytes(bytes: Buffer, last = false): void {
    if (this.options.output !== 'same') return;
    if ((this.forwarding || last) && bytes.length > 0) this.push(bytes);
  }

  /** True once the end-of-archive block was read: a stream that stops without it may have lost entries. */
  get sawEndOfArchive(): boolean {
    return this.state.kind === 'end';
  }

  /** Adds to the rewritten output (content slices are views of the input chunk: no copy until the push). */
  private rewrite(bytes: Buffer): void {
    if (this.options.output === 'rewritten' && this.forwarding && !this.skippingEntry && bytes.length > 0)
      this.rewritten.push(bytes);
  }

  private pushRewritten(): void {
    const pieces = this.rewritten;
    if (pieces.length === 0) return;
    this.rewritten = [];
    this.push(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces));
  }

  /** Walks one chunk; bytes are forwarded as slices of it, except a header split across two chunks. */
  private scan(chunk: Buffer): void {
    let at = 0;
    let forwardFrom = 0;
    while (at < chunk.length) {
      const state = this.state;
      if (state.kind === 'end') break; // what follows the end blocks is padding
      if (state.kind === 'header') {
        if (this.partialFill === 0 && chunk.length - at >= BLOCK) {
          const block = chunk.subarray(at, at + BLOCK);
          if (isZeroBlock(block)) {
            this.forwardBytes(chunk.subarray(forwardFrom, at));
            this.state = { kind: 'end' };
            return;
          }
          const wasForwarding = this.forwarding;
          this.readHeader(block);
          if (wasForwarding && !this.forwarding) this.forwardBytes(chunk.subarray(forwardFrom, at), true);
          at += BLOCK;
          continue;
        }
        // A header split across chunks: hold its bytes back until it is known not to be the end.
        this.forwardBytes(chunk.subarray(forwardFrom, at));
        const take = Math.min(BLOCK - this.partialFill, chunk.length - at);
        chunk.copy(this.partial, this.partialFill, at, at + take);
        this.partialFill += take;
        at += take;
        forwardFrom = at;
        if (this.partialFill < BLOCK) break;
        this.partialFill = 0;
        if (isZeroBlock(this.partial)) {
          this.state = { kind: 'end' };
          return;
        }
        this.readHeader(this.partial);
        this.forwardBytes(Buffer.from(this.partial));
        continue;
      }
      if (state.left > 0) {
        const take = Math.min(state.left, chunk.length - at);
        const slice = chunk.subarray(at, at + take);
        if (state.kind === 'content') {
          this.visitor.content(slice);
          this.rewrite(slice);
        } else state.chunks.push(Buffer.from(slice));
        state.left -= take;
        at += take;
        continue;
      }
      const skip = Math.min(state.padding, chunk.length - at);
      state.padding -= skip;
      at += skip;
      if (state.padding === 0) this.finishBody(state);
    }
    this.forwardBytes(chunk.subarray(forwardFrom, at));
  }

  private finishBody(state: Exclude<State, { kind: 'header' } | { kind: 'end' }>): void {
    this.state = { kind: 'header' };
    if (state.kind === 'content') {
      this.rewrite(ZERO_BLOCK.subarray(0, paddingOf(state.size)));
      this.visitor.entryEnd();
    } else this.applyMeta(state.flag, Buffer.concat(state.chunks));
  }

  private readHeader(block: Buffer): void {
    verifyChecksum(block);
    const flag = String.fromCharCode(block[156] ?? 0);
    const size = readNumber(block, 124, 12, 'size');
    if (flag === 'x' || flag === 'L' || flag === 'K') {
      if (size > MAX_META_BYTES) {
        throw new TarFormatError(`has a ${size}-byte extended header, more than tar tools write.`);
      }
      this.state = { kind: 'meta', flag, left: size, padding: paddingOf(size), chunks: [] };
      if (size === 0) this.finishBody(this.state);
      return;
    }
    const header = this.entryHeader(block, flag, size);
    this.entries++;
    this.applyVerdict(this.visitor.header(header));
    this.state = { kind: 'content', left: header.size, padding: paddingOf(header.size), size: header.size };
    if (header.size === 0) this.finishBody(this.state);
  }

  private applyVerdict(verdict: HeaderVerdict): void {
    this.skippingEntry = verdict === 'skip';
    if (this.skippingEntry) return;
    if (verdict === false) {
      this.forwarding = false;
      return;
    }
    if (this.options.output !== 'rewritten') return;
    if (!Buffer.isBuffer(verdict))
      throw new Error('A rewritten tar stream needs the header bytes of each entry.');
    this.rewrite(verdict);
  }

  private entryHeader(block: Buffer, flag: string, rawSize: number): TarEntryHeader {
    const pending = this.pending;
    this.pending = { pax: NO_PAX };
    const pax = pending.pax;
    // A pax path wins over a GNU long name (POSIX: pax records override the header); Go lets the GNU
    // name win. Either way a rewritten output carries only this choice.
    const name = paxName(pax, 'path') ?? pending.longName ?? ustarName(block);
    // Go reads an old-style regular entry whose name ends in '/' as a directory.
    const type = flag === '\0' && name.endsWith('/') ? 'directory' : KIND_OF_FLAG[flag];
    if (type === undefined) {
      throw new UserError(
        `Tar entry ${JSON.stringify(name)} has an unsupported type (${JSON.stringify(flag)}): global, sparse and volume headers are refused.`,
      );
    }
    const linkname = paxName(pax, 'linkpath') ?? pending.longLink ?? readString(block, 157, 100);
    if (name.includes('\0') || linkname.includes('\0')) {
      throw new TarFormatError('is corrupt: a name holds a NUL byte.');
    }
    const size = pax.has('size') ? paxNumber(pax, 'size') : rawSize;
    return {
      name,
      type,
      mode: readNumber(block, 100, 8, 'mode') & 0o7777,
      uid: pax.has('uid') ? paxNumber(pax, 'uid') : readNumber(block, 108, 8, 'uid'),
      gid: pax.has('gid') ? paxNumber(pax, 'gid') : readNumber(block, 116, 8, 'gid'),
      size: HEADER_ONLY.has(type) ? 0 : size,
      mtime: pax.has('mtime') ? paxSeconds(pax, 'mtime') : readNumber(block, 136, 12, 'mtime'),
      mtimeNs: pax.has('mtime') ? paxNanoseconds(pax, 'mtime') : 0,
      linkname,
      devmajor: readNumber(block, 329, 8, 'devmajor'),
      devminor: readNumber(block, 337, 8, 'devminor'),
      paxKeys: pax.size === 0 ? NO_PAX_KEYS : [...pax.keys()],
      pax,
    };
  }

  private applyMeta(flag: string, body: Buffer): void {
    if (flag === 'L') this.pending.longName = cString(body);
    else if (flag === 'K') this.pending.longLink = cString(body);
    // Like Go's reader: a later pax header replaces an earlier one rather than adding to it.
    else this.pending.pax = parsePaxRecords(body);
  }
}

export function paddingOf(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Header checksums: the byte sum with the checksum field read as spaces; old tars summed signed bytes. */
export function checksumsOf(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return { unsigned, signed };
}

/** Either checksum is accepted, as tar readers do. */
function verifyChecksum(block: Buffer): void {
  const stored = readNumber(block, 148, 8, 'checksum');
  // The unsigned sum alone, in one tight loop (two headers an entry on the host path's pax stream); the
  // signed one only when that fails.
  let unsigned = 8 * 0x20;
  for (let i = 0; i < 148; i++) unsigned += block[i] as number;
  for (let i = 156; i < BLOCK; i++) unsigned += block[i] as number;
  if (stored === unsigned) return;
  if (stored !== checksumsOf(block).signed) {
    throw new TarFormatError('is corrupt: a header fails its checksum (invalid tar header).');
  }
}

/**
 * ustar splits long names into prefix + name; GNU and v7 headers have no prefix (GNU keeps times there),
 * star's is shorter. Readers disagree here (the engine reads a GNU header's prefix, Python any header's):
 * our reading reaches the engine only as the headers we rewrite, so it cannot disagree with what is written.
 */
function ustarName(block: Buffer): string {
  const name = readString(block, 0, 100);
  if (!bytesAre(block, 257, USTAR_MAGIC)) return name;
  const isStar = bytesAre(block, 508, STAR_TRAILER);
  const prefix = readString(block, 345, isStar ? 131 : 155);
  return prefix === '' ? name : `${prefix}/${name}`;
}

function readString(block: Buffer, offset: number, length: number): string {
  return cString(block.subarray(offset, offset + length));
}

/** A NUL-terminated (or field-filling) name, its bytes kept (see name-bytes.ts). */
function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return nameFromBytes(bytes.subarray(0, end === -1 ? bytes.length : end));
}

function paxName(pax: ReadonlyMap<string, Buffer>, key: string): string | undefined {
  const value = pax.get(key);
  return value === undefined ? undefined : nameFromBytes(value);
}

/** Octal (NUL/space padded) or, with the high bit set, GNU base-256 (sizes ≥ 8 GiB, large ids). */
function readNumber(block: Buffer, offset: number, length: number, field: string): number {
  const first = block[offset] ?? 0;
  if (first & 0x80) {
    if (first !== 0x80) throw new TarFormatError(`is corrupt: a negative ${field} field.`);
    let value = 0;
    for (let i = 1; i < length; i++) value = value * 256 + (block[offset + i] ?? 0);
    if (!Number.isSafeInteger(value)) throw new TarFormatError(`is corrupt: ${field} is too large.`);
    return value;
  }
  // Read in place (no string per field: eight fields a header, a million headers a volume): up to the first
  // NUL, blanks trimmed at both ends, octal digits only.
  let start = offset;
  let end = offset;
  while (end < offset + length && block[end] !== 0) end++;
  while (start < end && isBlank(block[start] ?? 0)) start++;
  while (end > start && isBlank(block[end - 1] ?? 0)) end--;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = (block[i] ?? 0) - 0x30;
    if (digit < 0 || digit > 7) {
      throw new TarFormatError(`is corrupt: its ${field} field is not a number (invalid tar header).`);
    }
    value = value * 8 + digit;
  }
  return value;
}

/** What String.prototype.trim removes from a Latin-1 field (tab to carriage return, space, no-break space). */
function isBlank(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) || byte === 0xa0;
}

/** The ustar magic and version ("ustar\0" "00"), as readers check it and our writer writes it. */
export const USTAR_MAGIC = Buffer.from('ustar\u000000', 'latin1');
const STAR_TRAILER = Buffer.from('tar\0', 'latin1');

function bytesAre(block: Buffer, offset: number, expected: Buffer): boolean {
  for (let i = 0; i < expected.length; i++) if (block[offset + i] !== expected[i]) return false;
  return true;
}

/** The records of a header without pax records: shared, never written (a later pax header replaces it). */
const NO_PAX: ReadonlyMap<string, Buffer> = new Map();
const NO_PAX_KEYS: readonly string[] = Object.freeze([]);

function paxNumber(pax: ReadonlyMap<string, Buffer>, key: string): number {
  const text = pax.get(key)?.toString('latin1') ?? '';
  const value = /^[0-9]+(\.[0-9]*)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value) || value < 0) {
    throw new TarFormatError(`is corrupt: its pax ${key} record is not a number.`);
  }
  return value;
}

/**
 * The whole seconds of a pax time record, from its digits before the point: Number('946684799.999999999')
 * rounds up to the next second, which would then carry the nanoseconds too.
 */
function paxSeconds(pax: ReadonlyMap<string, Buffer>, key: string): number {
  const whole = Math.floor(paxNumber(pax, key));
  const text = pax.get(key)?.toString('latin1') ?? '';
  const point = text.indexOf('.');
  return point === -1 ? whole : Number(text.slice(0, point));
}

/** The nanoseconds of a pax time record's fraction (checked as a number by paxNumber first), 0 without one. */
function paxNanoseconds(pax: ReadonlyMap<string, Buffer>, key: string): number {
  const text = pax.get(key)?.toString('latin1') ?? '';
  const point = text.indexOf('.');
  if (point === -1) return 0;
  return Number(text.slice(point + 1, point + 10).padEnd(9, '0'));
}

/** `<length> <key>=<value>\n` records; values stay bytes (xattrs are binary, names are bytes). */
function parsePaxRecords(body: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const length = space === -1 ? NaN : Number(body.toString('latin1', at, space));
    if (!Number.isInteger(length) || length <= space - at || at + length > body.length) {
      if (body.subarray(at).every((byte) => byte === 0)) break; // trailing NUL padding
      throw new TarFormatError('is corrupt: a pax extended header is malformed.');
    }
    const record = body.subarray(space + 1, at + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new TarFormatError('is corrupt: a pax record has no key.');
    const key = record.toString('utf8', 0, equals);
    if (key.startsWith('GNU.sparse.')) {
      throw new TarFormatError('holds a sparse file: refused, the engine never writes them.');
    }
    records.set(key, Buffer.from(record.subarray(equals + 1)));
    at += length;
  }
  return records;
}
