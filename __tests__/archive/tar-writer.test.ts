import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checksumsOf } from '../../src/archive/tar-scanner.js';
import {
  canonicalHeaderBytes,
  fileHeaderBlock,
  type UstarFields,
  type WrittenHeader,
} from '../../src/archive/tar-writer.js';

/** The ustar block as written before the fields were written in place: strings, padStart, block.write. */
function referenceBlock(h: UstarFields): Buffer {
  const block = Buffer.alloc(512);
  const octal = (value: number, offset: number, length: number) =>
    block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'latin1');
  h.name.copy(block, 0, 0, 100);
  octal(h.mode, 100, 8);
  octal(h.uid, 108, 8);
  octal(h.gid, 116, 8);
  octal(h.size, 124, 12);
  octal(h.mtime, 136, 12);
  block.write(h.flag, 156, 1, 'latin1');
  h.linkname.copy(block, 157, 0, 100);
  block.write('ustar\u000000', 257, 8, 'latin1');
  octal(h.devmajor, 329, 8);
  octal(h.devminor, 337, 8);
  block.write(`${checksumsOf(block).unsigned.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

const pick = <T>(values: readonly T[]): T => values[randomInt(values.length)] as T;

function randomHeader(): WrittenHeader {
  const kind = pick(['file', 'link', 'symlink', 'directory', 'fifo', 'character-device'] as const);
  const number = (max: number) => pick([0, 1, 7, 8, 0o644, 0o7777777, randomInt(max + 1)]);
  return {
    name: Buffer.from(`volume/${randomBytes(randomInt(1, 40)).toString('hex')}`.slice(0, randomInt(8, 99))),
    kind,
    mode: number(0o7777),
    uid: number(0o7777777),
    gid: number(0o7777777),
    size: kind === 'file' ? number(2 ** 33 - 1) : 0,
    mtime: number(2 ** 33 - 1),
    linkname: kind === 'symlink' || kind === 'link' ? Buffer.from('volume/target') : Buffer.alloc(0),
    devmajor: kind === 'character-device' ? number(255) : 0,
    devminor: kind === 'character-device' ? number(255) : 0,
    xattrs: new Map(),
  };
}

const FLAG = { file: '0', link: '1', symlink: '2', 'character-device': '3', directory: '5', fifo: '6' };

describe('canonical tar headers', () => {
  it('are the bytes the string-built writer made, for every value that fits ustar', () => {
    for (let i = 0; i < 2000; i++) {
      const h = randomHeader();
      const expected = referenceBlock({
        ...h,
        mode: h.mode & 0o7777,
        flag: FLAG[h.kind as keyof typeof FLAG],
      });
      expect(canonicalHeaderBytes(h).toString('hex')).toBe(expected.toString('hex'));
    }
    const manifestHeader = referenceBlock({
      name: Buffer.from('volume.manifest.json'),
      flag: '0',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 12345,
      mtime: 1_764_790_000,
      linkname: Buffer.alloc(0),
      devmajor: 0,
      devminor: 0,
    });
    expect(fileHeaderBlock('volume.manifest.json', 12345, 1_764_790_000)).toEqual(manifestHeader);
  });

  it('moves what ustar cannot hold into a pax record and refuses what no field can hold', () => {
    const h = { ...randomHeader(), kind: 'file' as const, size: 0o77777777777 + 1, uid: 0o7777777 + 5 };
    const bytes = canonicalHeaderBytes(h);
    expect(bytes.length).toBe(3 * 512); // pax header, its records, the ustar block
    const records = bytes.subarray(512, 1024).toString('latin1');
    expect(records).toContain(`size=${0o77777777777 + 1}\n`);
    expect(records).toContain(`uid=${0o7777777 + 5}\n`);
    expect(() => fileHeaderBlock('x', -1, 0)).toThrow(/does not fit its field/);
    expect(() => fileHeaderBlock('x', 0, 8 ** 11)).toThrow(/does not fit its field/);
    expect(() => fileHeaderBlock('x', 0.5, 0)).toThrow(/does not fit its field/);
  });
});
