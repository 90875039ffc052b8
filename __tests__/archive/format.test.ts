import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createCompressor,
  createDecompressor,
  createFileCompressor,
  defaultFormat,
  detectFormat,
  formatFromFileName,
  zstdAvailable,
  type ArchiveFormat,
} from '../../src/archive/format.js';
import { createDecryptor, createEncryptor } from '../../src/archive/encryption.js';
import { UserError } from '../../src/errors.js';
import { bufferOf } from './tar-fixtures.js';

async function through(data: Buffer, ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const last = stages.at(-1)!;
  const [out] = await Promise.all([bufferOf(last), pipeline([Readable.from([data]), ...stages])]);
  return out;
}

describe('formatFromFileName', () => {
  it.each<[string, ArchiveFormat]>([
    ['db.tar', 'tar'],
    ['/backups/db.tar.gz', 'tar.gz'],
    ['db.TGZ', 'tar.gz'],
    ['db.tar.zst', 'tar.zst'],
    ['db.tzst', 'tar.zst'],
  ])('%s → %s', (name, format) => {
    expect(formatFromFileName(name)).toBe(format);
  });

  it('names the file and the valid extensions otherwise', () => {
    expect(() => formatFromFileName('db.zip')).toThrow(UserError);
    expect(() => formatFromFileName('db.zip')).toThrow(
      'Archive db.zip has no known extension: name it with one of .tar.zst, .tzst, .tar.gz, .tgz, .tar.bz2, .tbz2, .tbz, .tar.xz, .txz, .tar.',
    );
  });
});

describe('detectFormat', () => {
  const tarHeader = Buffer.alloc(512);
  tarHeader.write('ustar', 257, 'latin1');

  it.each<[string, Buffer, ArchiveFormat]>([
    ['gzip', Buffer.from([0x1f, 0x8b, 0x08, 0x00]), 'tar.gz'],
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04]), 'tar.zst'],
    ['tar', tarHeader, 'tar'],
  ])('%s by its magic bytes', (_name, bytes, format) => {
    expect(detectFormat(bytes)).toBe(format);
  });

  it('refuses anything else, naming the file', () => {
    expect(() => detectFormat(Buffer.from('PK\u0003\u0004zip'), 'x.tar')).toThrow(
      'Archive x.tar is not a tar, tar.gz, tar.zst, tar.bz2 or tar.xz archive (its first bytes are 504b03047a6970).',
    );
    expect(() => detectFormat(Buffer.alloc(100))).toThrow(/^The archive is not a tar/);
  });
});

describe('compressors', () => {
  const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(700_000, 7)]);

  it.each<ArchiveFormat>(['tar', 'tar.gz', 'tar.zst'])('%s round-trips and is detected', async (format) => {
    const packed = await through(data, createCompressor(format));
    if (format !== 'tar') expect(detectFormat(packed)).toBe(format);
    if (format !== 'tar') expect(packed.length).toBeLessThan(data.length);
    expect((await through(packed, createDecompressor(format))).equals(data)).toBe(true);
  });

  it.each<ArchiveFormat>(['tar.gz', 'tar.zst'])(
    '%s: corrupt input is a UserError naming the archive',
    async (format) => {
      const packed = await through(data, createCompressor(format));
      const cut = packed.subarray(0, packed.length - 100);
      const error = await through(cut, createDecompressor(format, 'db.' + format)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^Archive db\\.${format.replace('.', '\\.')} cannot be decompressed as ${format} \\(.+\\): it is truncated or corrupt\\.$`,
        ),
      );
    },
  );

  it("zstd errors carry zstd's own words", async () => {
    const error = await through(Buffer.from('not zstd at all'), createDecompressor('tar.zst')).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/zstd exited with 1: .*(unknown header|unsupported format)/i);
  });
});

describe('createFileCompressor', () => {
  const data = Buffer.concat([randomBytes(3_000_000), Buffer.alloc(5_000_000, 7)]);
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'file-compressor-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each<ArchiveFormat>(['tar', 'tar.gz', 'tar.zst'])(
    '%s: the file is complete when the pipeline resolves',
    async (format) => {
      const file = path.join(dir, `out.${format}`);
      // Many small writes, as the tar stream arrives.
      const pieces = Array.from({ length: 800 }, (_, i) => data.subarray(i * 10_000, (i + 1) * 10_000));
      await pipeline(Readable.from(pieces), createFileCompressor(format, file));
      const packed = await readFile(file);
      if (format !== 'tar') expect(detectFormat(packed)).toBe(format);
      expect((await through(packed, createDecompressor(format))).equals(data)).toBe(true);
    },
  );

  it.each<ArchiveFormat>(['tar.gz', 'tar.zst'])(
    '%s: a file that cannot be written fails the pipeline',
    async (format) => {
      const file = path.join(dir, 'missing-dir', `out.${format}`);
      const error = await pipeline(Readable.from([data]), createFileCompressor(format, file)).catch(
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error?.message).toMatch(
        format === 'tar.zst' ? /zstd exited with .*missing-dir.*No such file/ : /ENOENT/,
      );
    },
  );

  it('stops zstd when the source fails', async () => {
    const file = path.join(dir, 'aborted.tar.zst');
    const failing = new Readable({
      read() {
        this.destroy(new Error('engine went away'));
      },
    });
    await expect(pipeline(failing, createFileCompressor('tar.zst', file))).rejects.toThrow(
      'engine went away',
    );
  });
});

describe('without a zstd binary', () => {
  const searchPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = searchPath;
  });

  it('prefers zstd when present, falls back to gzip, and says how to get zstd', () => {
    expect(zstdAvailable()).toBe(true); // /usr/bin/zstd on this machine
    expect(defaultFormat()).toBe('tar.zst');
    process.env.PATH = '/nonexistent';
    expect(zstdAvailable()).toBe(false);
    expect(defaultFormat()).toBe('tar.gz');
    const message =
      'tar.zst needs the zstd binary: install it (apt-get install zstd) or use a .tar.gz archive';
    expect(() => createCompressor('tar.zst')).toThrow(message);
    expect(() => createDecompressor('tar.zst')).toThrow(new UserError(message));
  });
});

/** zstd processes that are children of this test process. */
async function zstdChildren(): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (stat.includes('(zstd)') && Number(after[1]) === process.pid && after[0] !== 'Z')
      found.push(Number(entry));
  }
  return found;
}

async function noZstdChildWithin(ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = await zstdChildren();
  while (left.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = await zstdChildren();
  }
  return left;
}

describe('no zstd child outlives its stage (issue 11, point 5)', () => {
  it('a stage built for a pipeline that never runs starts no zstd (a later stage failing to build)', async () => {
    const stages = [createCompressor('tar.zst'), createDecompressor('tar.zst')];
    // What archiving with a short key did: the compressor was built, then the encryptor threw.
    expect(() => createEncryptor('short')).toThrow(/too short/);
    expect(await zstdChildren()).toEqual([]);
    for (const stage of stages) stage.destroy();
  });

  it('a file compressor that is never written to creates no file and no child', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'never-'));
    createFileCompressor('tar.zst', path.join(dir, 'never.tar.zst')).destroy();
    expect(await zstdChildren()).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it('a pipeline whose later stage fails kills the zstd it started', async () => {
    const compressor = createCompressor('tar.zst');
    const failing = new Writable({
      write(_chunk, _encoding, done) {
        done(new Error('the store went away'));
      },
    });
    const source = Readable.from([randomBytes(1_000_000), randomBytes(1_000_000)]);
    const running = pipeline(source, compressor, failing);
    await expect(running).rejects.toThrow('the store went away');
    expect(await noZstdChildWithin(2000)).toEqual([]);
  });

  it('a decompressor fed garbage by a failing decryptor leaves no zstd child', async () => {
    const envelope = await through(randomBytes(200_000), createEncryptor('the-right-key-of-16+'));
    const running = pipeline(
      Readable.from([envelope]),
      createDecryptor('a-wrong-key-of-16+chars', 'x.tar.zst.enc'),
      createDecompressor('tar.zst'),
      new Writable({ write: (_c, _e, done) => done() }),
    );
    await expect(running).rejects.toThrow(/cannot be decrypted/);
    expect(await noZstdChildWithin(2000)).toEqual([]);
  });
});
