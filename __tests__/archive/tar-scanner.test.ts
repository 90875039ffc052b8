import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_ENTRY_NAME } from '../../src/archive/manifest.js';
import { TarScanner, type TarEntryHeader, type TarScanVisitor } from '../../src/archive/tar-scanner.js';
import { fileEntryBytes, fileHeaderBlock } from '../../src/archive/tar-writer.js';
import { bufferOf, listTar, tarOf, trickyVolume } from './tar-fixtures.js';

/** Records what the scanner reports; `trailer` is what it appends before the end blocks. */
class RecordingVisitor implements TarScanVisitor {
  readonly headers: TarEntryHeader[] = [];
  readonly contents: Buffer[][] = [];
  constructor(private readonly trailer?: Buffer) {}
  header(header: TarEntryHeader): void {
    this.headers.push(header);
    this.contents.push([]);
  }
  content(chunk: Buffer): void {
    this.contents.at(-1)?.push(Buffer.from(chunk));
  }
  entryEnd(): void {}
  end(): Buffer | undefined {
    return this.trailer;
  }
}

/** Feeds `tar` in chunks of the given sizes (cycled) and returns the output and what was seen. */
async function scan(tar: Buffer, chunkSizes: number[] = [tar.length], trailer?: Buffer) {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < tar.length; i++) {
    const size = chunkSizes[i % chunkSizes.length] ?? tar.length;
    chunks.push(tar.subarray(at, at + size));
    at += size;
  }
  const visitor = new RecordingVisitor(trailer);
  const scanner = new TarScanner(visitor, { output: 'same', label: 'The test tar' });
  const [out] = await Promise.all([bufferOf(scanner), pipeline(Readable.from(chunks), scanner)]);
  return { out, visitor };
}

async function scanError(tar: Buffer): Promise<Error> {
  return scan(tar).then(
    () => new Error('no error'),
    (error: unknown) => error as Error,
  );
}

/** tar-stream's pack ends with exactly two zero blocks; the scanner forwards everything before them. */
function withoutEndBlocks(tar: Buffer): Buffer {
  expect(tar.subarray(-1024).every((b) => b === 0)).toBe(true);
  return tar.subarray(0, -1024);
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'tar-scanner-test-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('TarScanner', () => {
  it.each([
    ['one chunk', [Number.MAX_SAFE_INTEGER]],
    ['single bytes', [1]],
    ['odd sizes that split headers', [7, 511, 513, 1000, 3]],
    ['64 KiB', [65536]],
  ])('forwards the bytes unchanged, chunked as %s', async (_label, sizes) => {
    const tar = await bufferOf(tarOf(trickyVolume().filter((e) => !e.name.endsWith('big.bin'))));
    const trailer = fileEntryBytes('extra.txt', Buffer.from('appended\n'), 1_700_000_000);
    const { out, visitor } = await scan(tar, sizes, trailer);
    expect(out.subarray(0, tar.length - 1024)).toEqual(withoutEndBlocks(tar));
    expect(out.subarray(tar.length - 1024)).toEqual(Buffer.concat([trailer, Buffer.alloc(1024)]));
    const listed = await listTar(tar);
    expect(visitor.headers.map((h) => h.name)).toEqual(listed.map((e) => e.name));
    expect(visitor.headers.map((h) => [h.uid, h.gid, h.mode, h.mtime])).toEqual(
      listed.map((e) => [e.uid, e.gid, e.mode, e.mtime]),
    );
    expect(visitor.contents.map((c) => Buffer.concat(c).length)).toEqual(
      listed.map((e) => (e.type === 'file' ? e.size : 0)),
    );
    const appended = await listTar(out);
    expect(appended.at(-1)).toMatchObject({ name: 'extra.txt', size: 9, mode: 0o644, uid: 0 });
  });

  it.each(['gnu', 'ustar', 'pax'])(
    'reads long names, link targets and mtimes of GNU tar --format=%s',
    async (format) => {
      const root = path.join(work, format, 'volume');
      const longDir = path.join(root, 'a'.repeat(60), 'b'.repeat(60));
      await mkdir(longDir, { recursive: true });
      const file = path.join(longDir, 'file.txt');
      await writeFile(file, 'content\n');
      await utimes(file, 1_600_000_000, 1_600_000_000);
      await symlink(`/target/${'t'.repeat(format === 'ustar' ? 80 : 120)}`, path.join(root, 'link'));
      const tar = execFileSync('tar', [
        `--format=${format}`,
        '--sort=name',
        '-C',
        path.dirname(root),
        '-cf',
        '-',
        'volume',
      ]);
      const { out, visitor } = await scan(tar, [700]);
      expect(out.subarray(0, out.length - 1024)).toEqual(tar.subarray(0, out.length - 1024));
      const byName = new Map(visitor.headers.map((h) => [h.name.replace(/\/$/, ''), h]));
      const relative = `volume/${'a'.repeat(60)}/${'b'.repeat(60)}/file.txt`;
      expect(byName.get(relative)).toMatchObject({ type: 'file', size: 8, mtime: 1_600_000_000 });
      expect(byName.get('volume/link')?.linkname).toMatch(/^\/target\/t+$/);
      expect(byName.get('volume/link')).toMatchObject({ type: 'symlink', size: 0 });
    },
  );

  it('reads base-256 numbers (large ids) as GNU tar writes them', async () => {
    const block = fileHeaderBlock('volume/', 0, 1_700_000_000);
    block.write('5', 156, 1, 'latin1');
    block.fill(0, 108, 116);
    block[108] = 0x80;
    block.writeUInt32BE(3_000_000_000, 112); // uid beyond 8 octal digits
    resum(block);
    const { visitor } = await scan(Buffer.concat([block, Buffer.alloc(1024)]));
    expect(visitor.headers[0]).toMatchObject({ type: 'directory', uid: 3_000_000_000 });
  });

  it('a stream without end blocks ends cleanly at an entry boundary', async () => {
    const tar = withoutEndBlocks(await bufferOf(tarOf(trickyVolume().slice(0, 3))));
    const { visitor } = await scan(tar, [100]);
    expect(visitor.headers).toHaveLength(3);
  });

  it('fails a stream cut in a header or in content, naming it', async () => {
    const tar = await bufferOf(tarOf(trickyVolume().slice(0, 2)));
    expect((await scanError(tar.subarray(0, 700))).message).toBe(
      'The test tar is truncated: it ends in the middle of an entry.',
    );
    expect((await scanError(tar.subarray(0, 300))).message).toMatch(/truncated/);
  });

  it('fails a header whose checksum does not match', async () => {
    const tar = await bufferOf(tarOf(trickyVolume().slice(0, 2)));
    tar[10] = 0x41;
    expect((await scanError(tar)).message).toMatch(/^The test tar is corrupt: a header fails its checksum/);
  });

  it('refuses global pax headers, sparse files and unknown entry kinds', async () => {
    const withFlag = (flag: string) => {
      const block = fileHeaderBlock('volume/x', 0, 0);
      block.write(flag, 156, 1, 'latin1');
      resum(block);
      return Buffer.concat([block, Buffer.alloc(1024)]);
    };
    expect((await scanError(withFlag('g'))).message).toMatch(/unsupported type \("g"\)/);
    expect((await scanError(withFlag('S'))).message).toMatch(/unsupported type \("S"\)/);
    const record = '30 GNU.sparse.major=1\n';
    const pax = fileHeaderBlock('PaxHeaders/x', Buffer.byteLength(record), 0);
    pax.write('x', 156, 1, 'latin1');
    resum(pax);
    const body = Buffer.alloc(512);
    body.write(record.replace(/^30/, String(Buffer.byteLength(record))));
    const sparse = Buffer.concat([pax, body, fileHeaderBlock('volume/x', 0, 0), Buffer.alloc(1024)]);
    expect((await scanError(sparse)).message).toMatch(/sparse file/);
  });

  it('reads number fields as octal up to the first NUL, blanks trimmed, and refuses other digits', async () => {
    const withMode = (field: string) => {
      const block = fileHeaderBlock('volume/x', 0, 0);
      block.fill(0, 100, 108);
      block.write(field, 100, 8, 'latin1');
      resum(block);
      return Buffer.concat([block, Buffer.alloc(1024)]);
    };
    const modeOf = async (field: string) => (await scan(withMode(field))).visitor.headers[0]?.mode;
    expect(await modeOf('0000644\0')).toBe(0o644);
    expect(await modeOf(' \t755 \0')).toBe(0o755);
    expect(await modeOf('640\0x9z')).toBe(0o640); // what follows the NUL is not read
    expect(await modeOf(' 600\xa0\xa0')).toBe(0o600); // trimmed as String.prototype.trim trims Latin-1
    expect(await modeOf('\0\0\0\0')).toBe(0);
    expect(await modeOf('       ')).toBe(0);
    for (const bad of ['0000648\0', '6 44\0', '-644\0', '0o644\0']) {
      expect((await scanError(withMode(bad))).message).toMatch(/its mode field is not a number/);
    }
  });

  it('writes a header other tar readers accept', async () => {
    const bytes = fileEntryBytes(MANIFEST_ENTRY_NAME, Buffer.from('{}\n'), 1_700_000_000);
    const [entry] = await listTar(Buffer.concat([bytes, Buffer.alloc(1024)]));
    expect(entry).toMatchObject({ name: MANIFEST_ENTRY_NAME, type: 'file', size: 3, mtime: 1_700_000_000 });
  });
});

/** Recomputes a header's checksum after a test edited it. */
function resum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
}
