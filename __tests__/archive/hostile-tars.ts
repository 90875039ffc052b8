/**
 * Hand-made tar headers for archives that tar readers disagree on. Every field is given as the raw bytes
 * it holds, so a test can put what no honest writer would (leading NULs, a GNU magic with a prefix, …).
 */
export interface RawHeader {
  name: string | Buffer;
  flag?: string;
  /** Raw field texts; numbers are written as 0-padded octal with a NUL. */
  mode?: number | Buffer;
  size?: number | Buffer;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  /** 'ustar' (POSIX, "ustar\0" "00"), 'gnu' ("ustar  \0"), 'v7' (none). */
  magic?: 'ustar' | 'gnu' | 'v7';
  prefix?: string;
}

const MTIME = 1714564800;

function octalField(value: number, length: number): Buffer {
  return Buffer.from(`${value.toString(8).padStart(length - 1, '0')}\0`, 'latin1');
}

export function rawHeader(fields: RawHeader): Buffer {
  const block = Buffer.alloc(512);
  const put = (value: number | Buffer, offset: number, length: number) =>
    (typeof value === 'number' ? octalField(value, length) : value).copy(block, offset, 0, length);
  Buffer.from(fields.name).copy(block, 0, 0, 100);
  put(fields.mode ?? 0o644, 100, 8);
  put(fields.uid ?? 0, 108, 8);
  put(fields.gid ?? 0, 116, 8);
  put(fields.size ?? 0, 124, 12);
  put(fields.mtime ?? MTIME, 136, 12);
  block.write(fields.flag ?? '0', 156, 1, 'latin1');
  block.write(fields.linkname ?? '', 157, 100, 'utf8');
  const magic = fields.magic ?? 'ustar';
  if (magic === 'ustar') block.write('ustar\u000000', 257, 8, 'latin1');
  if (magic === 'gnu') block.write('ustar  \0', 257, 8, 'latin1');
  if (fields.prefix) block.write(fields.prefix, 345, 155, 'utf8');
  block.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

function padded(body: Buffer): Buffer {
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

/** A pax record, its length counting itself. */
export function paxRecord(key: string, value: string | Buffer): Buffer {
  const rest = Buffer.byteLength(key) + Buffer.from(value).length + 3;
  let digits = 1;
  while (String(rest + digits).length !== digits) digits++;
  return Buffer.concat([Buffer.from(`${rest + digits} ${key}=`), Buffer.from(value), Buffer.from('\n')]);
}

/** A pax 'x' header and its body (extra trailing bytes allowed: `padding`). */
export function paxHeader(records: Buffer[], padding = Buffer.alloc(0)): Buffer {
  const body = Buffer.concat([...records, padding]);
  return Buffer.concat([rawHeader({ name: 'PaxHeaders/x', flag: 'x', size: body.length }), padded(body)]);
}

/** A GNU 'L' (long name) or 'K' (long link) record. */
export function gnuLongRecord(flag: 'L' | 'K', value: string): Buffer {
  const body = Buffer.from(`${value}\0`);
  return Buffer.concat([
    rawHeader({ name: '././@LongLink', flag, size: body.length, magic: 'gnu' }),
    padded(body),
  ]);
}

/** A regular file: header then content. */
export function rawFile(fields: RawHeader, content: string | Buffer): Buffer {
  const bytes = Buffer.from(content);
  return Buffer.concat([rawHeader({ size: bytes.length, ...fields }), padded(bytes)]);
}

export const ROOT_DIR = rawHeader({ name: 'volume/', flag: '5', mode: 0o755 });
export const END = Buffer.alloc(1024);

/** What a reader makes of one entry; names as bytes in latin1 (one char per byte), for any reader. */
export interface Reading {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other';
  mode: number;
  size: number;
}

export interface HostileCase {
  title: string;
  /** The volume entries (root first), without end blocks or manifest. */
  tar: Buffer;
  /** What our parser reads (every entry, root included), or the start of the error it refuses with. */
  ours: Reading[] | { refused: RegExp };
}

const dir = (name: string): Reading => ({ name, type: 'directory', mode: 0o755, size: 0 });
const file = (name: string, size: number, mode = 0o644): Reading => ({ name, type: 'file', mode, size });

/** The corpus: each case one trick; `ours` is the reading our parser must make (and then write). */
export function hostileCorpus(): HostileCase[] {
  return [
    {
      title: 'GNU long name and pax path disagree',
      tar: Buffer.concat([
        ROOT_DIR,
        paxHeader([paxRecord('path', 'volume/harmless.txt')]),
        gnuLongRecord('L', 'volume/smuggled.txt'),
        rawFile({ name: 'volume/harmless.txt' }, 'hello'),
      ]),
      ours: [dir('volume/'), file('volume/harmless.txt', 5)],
    },
    {
      title: 'leading NULs in the mode field (0004755 after a NUL)',
      tar: Buffer.concat([
        ROOT_DIR,
        rawFile({ name: 'volume/tool', mode: Buffer.from('\u00000004755', 'latin1') }, '#!/bin/sh\n'),
      ]),
      ours: [dir('volume/'), file('volume/tool', 10, 0)],
    },
    {
      title: 'leading NULs in the size field hide the next header in a file',
      tar: Buffer.concat([
        ROOT_DIR,
        rawHeader({ name: 'volume/a', size: Buffer.from('\u00000000001000', 'latin1') }),
        rawFile({ name: 'volume/b' }, 'x'.repeat(200)),
      ]),
      ours: [dir('volume/'), file('volume/a', 0), file('volume/b', 200)],
    },
    {
      title: 'NUL-padded pax body',
      tar: Buffer.concat([
        ROOT_DIR,
        paxHeader([paxRecord('path', 'volume/padded.txt')], Buffer.alloc(40)),
        rawFile({ name: 'volume/plain.txt' }, 'hello'),
      ]),
      ours: [dir('volume/'), file('volume/padded.txt', 5)],
    },
    {
      title: 'GNU magic with bytes in the prefix field',
      tar: Buffer.concat([
        ROOT_DIR,
        rawFile({ name: 'volume/x.txt', magic: 'gnu', prefix: 'evil' }, 'hello'),
      ]),
      ours: [dir('volume/'), file('volume/x.txt', 5)],
    },
    {
      title: 'v7 header (no magic) with bytes in the prefix field',
      tar: Buffer.concat([ROOT_DIR, rawFile({ name: 'volume/y.txt', magic: 'v7', prefix: 'evil' }, 'hello')]),
      ours: [dir('volume/'), file('volume/y.txt', 5)],
    },
    {
      title: 'pax size disagrees with the header size',
      tar: Buffer.concat([
        ROOT_DIR,
        paxHeader([paxRecord('size', '512')]),
        rawHeader({ name: 'volume/sized', size: 0 }),
        rawFile({ name: 'volume/hidden' }, ''),
      ]),
      ours: [dir('volume/'), file('volume/sized', 512)],
    },
    {
      title: 'two pax headers before one entry',
      tar: Buffer.concat([
        ROOT_DIR,
        paxHeader([paxRecord('path', 'volume/first.txt')]),
        paxHeader([paxRecord('path', 'volume/second.txt')]),
        rawFile({ name: 'volume/header.txt' }, 'hello'),
      ]),
      ours: [dir('volume/'), file('volume/second.txt', 5)],
    },
    {
      title: 'one pax header with the path twice',
      tar: Buffer.concat([
        ROOT_DIR,
        paxHeader([paxRecord('path', 'volume/one.txt'), paxRecord('path', 'volume/two.txt')]),
        rawFile({ name: 'volume/header.txt' }, 'hello'),
      ]),
      ours: [dir('volume/'), file('volume/two.txt', 5)],
    },
    {
      title: 'a symlink with a size: the next block is a header to us',
      tar: Buffer.concat([
        ROOT_DIR,
        rawHeader({ name: 'volume/link', flag: '2', linkname: 'target', size: 512, mode: 0o777 }),
        rawFile({ name: 'volume/after-link' }, 'z'),
      ]),
      ours: [
        dir('volume/'),
        { name: 'volume/link', type: 'symlink', mode: 0o777, size: 0 },
        file('volume/after-link', 1),
      ],
    },
    {
      title: 'names that are not UTF-8 (caf\\xe9, caf\\xe8)',
      tar: Buffer.concat([
        ROOT_DIR,
        rawFile({ name: Buffer.from('volume/caf\xe9', 'latin1') }, 'e-acute'),
        rawFile({ name: Buffer.from('volume/caf\xe8', 'latin1') }, 'e-grave'),
      ]),
      ours: [dir('volume/'), file('volume/caf\xe9', 7), file('volume/caf\xe8', 7)],
    },
    {
      title: 'a NUL inside a pax path',
      tar: Buffer.concat([
        ROOT_DIR,
        paxHeader([paxRecord('path', 'volume/a\0b')]),
        rawFile({ name: 'volume/c' }, 'hello'),
      ]),
      ours: { refused: /a name holds a NUL byte/ },
    },
  ];
}
