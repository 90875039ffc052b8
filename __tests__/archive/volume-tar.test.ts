import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedManifestReader } from '../../src/archive/embedded-manifest.js';
import { createCompressor, type ArchiveFormat } from '../../src/archive/format.js';
import { MANIFEST_ENTRY_NAME, computeDigest, type VolumeManifest } from '../../src/archive/manifest.js';
import { UnsafeEntryError } from '../../src/archive/tar-paths.js';
import {
  createArchiveReader,
  createManifestAppender,
  manifestOfTarStream,
  verifyArchiveFile,
} from '../../src/archive/volume-tar.js';
import { UserError } from '../../src/errors.js';
import {
  BIG_FILE_SIZE,
  LONG_PATH,
  bufferOf,
  listTar,
  sha256Of,
  tarOf,
  trickyVolume,
  type FixtureEntry,
  type ListedEntry,
} from './tar-fixtures.js';
import { END, ROOT_DIR, rawFile } from './hostile-tars.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'archive-test-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Engine tar → archive tar (uncompressed) and the manifest computed on the way. */
async function archiveOf(entries: FixtureEntry[]): Promise<{ tar: Buffer; manifest: VolumeManifest }> {
  const appender = createManifestAppender({ root: 'volume', volumeName: 'app_data' });
  const [tar] = await Promise.all([bufferOf(appender), pipeline(tarOf(entries), appender)]);
  return { tar, manifest: await appender.manifest };
}

/** Runs an archive through the reader; resolves with the volume tar it outputs. */
async function readArchive(
  tar: Buffer,
  label = 'test.tar',
): Promise<{ out: Buffer; manifest: VolumeManifest }> {
  const reader = createArchiveReader({ root: 'volume', label });
  const [out] = await Promise.all([bufferOf(reader), pipeline(Readable.from([tar]), reader)]);
  return { out, manifest: await reader.manifest };
}

/** The error a reader fails with, checking that its output stream (what the engine reads) fails too. */
async function readerError(tar: Buffer): Promise<Error> {
  const reader = createArchiveReader({ root: 'volume', label: 'bad.tar' });
  const feeding = pipeline(Readable.from([tar]), reader).catch((error: unknown) => error);
  const outcome = await bufferOf(reader).then(
    () => new Error('the output ended cleanly'),
    (error: unknown) => error as Error,
  );
  await feeding;
  return outcome;
}

async function appendError(entries: FixtureEntry[]): Promise<unknown> {
  return archiveOf(entries).then(
    () => new Error('no error'),
    (error: unknown) => error,
  );
}

function replaceEntryContent(tar: Buffer, needle: string): Buffer {
  const copy = Buffer.from(tar);
  const at = copy.indexOf(needle);
  expect(at).toBeGreaterThan(0);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}

describe('archive → read round trip', () => {
  it('keeps every entry, its metadata and content, and puts the manifest last', async () => {
    const { tar, manifest } = await archiveOf(trickyVolume());
    const listed = await listTar(tar);
    expect(listed.at(-1)).toMatchObject({ name: MANIFEST_ENTRY_NAME, mode: 0o644, uid: 0, gid: 0 });
    const byName = new Map(listed.map((e) => [e.name, e]));
    expect(byName.get('volume/')).toMatchObject({ type: 'directory', mode: 0o2775, uid: 999, gid: 999 });
    expect(byName.get('volume/tmp/')).toMatchObject({ mode: 0o1777, uid: 0 });
    expect(byName.get('volume/bin/suid')).toMatchObject({ mode: 0o4755 });
    expect(byName.get('volume/chmod000')).toMatchObject({ mode: 0 });
    expect(byName.get('volume/highuid')).toMatchObject({ uid: 300000, gid: 300001 });
    expect(byName.get('volume/dangling')).toMatchObject({ type: 'symlink', linkname: '/nonexistent/target' });
    expect(byName.get('volume/data/hardlink')).toMatchObject({
      type: 'link',
      linkname: 'volume/data/file.txt',
    });
    expect(byName.get('volume/cap')?.pax).toMatchObject({ 'SCHILY.xattr.security.capability': 'AQAAAg' });
    expect(byName.get(`volume/${LONG_PATH}`)).toMatchObject({ type: 'file', size: 4 });
    expect(byName.get('volume/with space/ünïcødé 文件.txt')).toMatchObject({ size: 8 });
    expect(byName.get('volume/big.bin')).toMatchObject({
      size: BIG_FILE_SIZE,
      sha256: sha256Of(BIG_FILE_SIZE),
    });

    const embedded = JSON.parse(await tarEntryText(tar, MANIFEST_ENTRY_NAME)) as VolumeManifest;
    expect(embedded).toEqual(manifest);
    expect(manifest).toMatchObject({
      version: 1,
      tool: 'compose-persist',
      root: 'volume',
      volume: 'app_data',
    });
  });

  it('records what the manifest promises', async () => {
    const { manifest } = await archiveOf(trickyVolume());
    const entry = (p: string) => manifest.entries.find((e) => e.path === p);
    expect(entry('.')).toMatchObject({ type: 'directory', mode: 0o2775, uid: 999, gid: 999 });
    expect(entry('data/hardlink')).toMatchObject({ type: 'hardlink', linkTarget: 'data/file.txt', size: 6 });
    expect(entry('data/hardlink')?.sha256).toBe(entry('data/file.txt')?.sha256);
    expect(entry('cap')?.xattrs).toEqual(['security.capability']);
    expect(entry('fifo')).toMatchObject({ type: 'fifo', size: 0 });
    expect(entry('zero')).toMatchObject({ type: 'file', size: 0 });
    expect(entry('tablespace')).toMatchObject({ type: 'symlink', linkTarget: '/var/lib/postgresql/tblspc' });
    expect(manifest.files).toBe(11); // 9 regular files + 2 hard links
    expect(manifest.bytes).toBe(BIG_FILE_SIZE + 10 + 7 + 6 + 6 + 8 + 4 + 8 + 0);
    expect(manifest.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('the reader passes the volume entries on, headers rewritten, without the manifest', async () => {
    const { tar, manifest } = await archiveOf(trickyVolume());
    const { out, manifest: verified } = await readArchive(tar);
    expect(verified).toEqual(manifest);
    // Pax records are written only for what ustar cannot hold: here the xattr (uid 300000 fits in octal).
    const withoutNumericPax = (listed: ListedEntry[]) =>
      listed.map((e) => ({
        ...e,
        pax: Object.fromEntries(Object.entries(e.pax).filter(([k]) => k.startsWith('SCHILY.'))),
      }));
    const archived = withoutNumericPax((await listTar(tar)).slice(0, -1));
    expect(await listTar(out)).toEqual(archived);
    // What the engine would extract and send back has the archive's digest.
    expect((await manifestOfTarStream(Readable.from([out]), 'volume')).digest).toBe(manifest.digest);
  });

  it('rewrites the same bytes however the archive is chunked (headers split across chunks)', async () => {
    const { tar } = await archiveOf(trickyVolume().filter((e) => e.name !== 'volume/big.bin'));
    const { out: whole } = await readArchive(tar);
    for (const size of [3, 7, 511, 513, 4096]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < tar.length; at += size) chunks.push(tar.subarray(at, at + size));
      const reader = createArchiveReader({ root: 'volume', label: 'chunked.tar' });
      const [out] = await Promise.all([bufferOf(reader), pipeline(Readable.from(chunks), reader)]);
      expect(out.equals(whole)).toBe(true);
    }
  });

  it('hashes each file right whether its content comes in one slice, many, or none', async () => {
    const small = Buffer.from('tiny content\n');
    const large = Buffer.alloc(3000, 'x');
    const tar = Buffer.concat([
      ROOT_DIR,
      rawFile({ name: 'volume/small', mode: 0o644 }, small),
      rawFile({ name: 'volume/empty', mode: 0o644 }, Buffer.alloc(0)),
      rawFile({ name: 'volume/large', mode: 0o644 }, large),
      END,
    ]);
    const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    for (const piece of [tar.length, 100]) {
      const chunks = Array.from({ length: Math.ceil(tar.length / piece) }, (_, i) =>
        tar.subarray(i * piece, (i + 1) * piece),
      );
      const manifest = await manifestOfTarStream(Readable.from(chunks));
      const byPath = new Map(manifest.entries.map((entry) => [entry.path, entry.sha256]));
      expect(byPath.get('small')).toBe(sha(small));
      expect(byPath.get('empty')).toBe(sha(Buffer.alloc(0)));
      expect(byPath.get('large')).toBe(sha(large));
    }
  });

  it('refuses a manifest entry line over 1 MiB, whole in one chunk or in pieces', async () => {
    const { tar } = await archiveOf(trickyVolume());
    const text = tar.subarray(tar.indexOf(Buffer.from(MANIFEST_ENTRY_NAME)) + 512);
    const summary = text.subarray(0, text.indexOf(Buffer.from('"entries":[\n')) + '"entries":[\n'.length);
    const huge = Buffer.from(`{"path":"${'x'.repeat(1024 * 1024 + 10)}"}\n`);
    for (const pieces of [[huge], [huge.subarray(0, 1000), huge.subarray(1000)]]) {
      const reader = new EmbeddedManifestReader('Archive x.tar', 0);
      reader.write(summary);
      expect(() => pieces.forEach((piece) => reader.write(piece))).toThrow(
        `Archive x.tar has a ${MANIFEST_ENTRY_NAME} that is not a manifest.`,
      );
    }
  });

  it('the digest of the volume equals the digest of its archive', async () => {
    const { manifest } = await archiveOf(trickyVolume());
    const direct = await manifestOfTarStream(tarOf(trickyVolume()), 'volume');
    expect(direct.digest).toBe(manifest.digest);
    expect(direct.entries).toEqual(manifest.entries);
  });

  it('the digest ignores entry order and which hard-link member holds the data', async () => {
    const entries = trickyVolume();
    const { manifest } = await archiveOf(entries);
    const reordered = [entries[0]!, ...entries.slice(1).reverse()].filter((e) => e.type !== 'link');
    const swapped: FixtureEntry[] = [
      ...reordered.filter((e) => e.name !== 'volume/data/file.txt' && e.name !== 'volume/other/'),
      { name: 'volume/other/', type: 'directory', mode: 0o755 },
      { name: 'volume/other/second-link', content: 'hello\n', mode: 0o644 },
      { name: 'volume/data/file.txt', type: 'link', linkname: 'volume/other/second-link', mode: 0o644 },
      { name: 'volume/data/hardlink', type: 'link', linkname: 'volume/other/second-link', mode: 0o644 },
    ];
    const other = await manifestOfTarStream(tarOf(swapped), 'volume');
    expect(other.digest).toBe(manifest.digest);
    const unlinked = await manifestOfTarStream(
      tarOf(entries.map((e) => (e.type === 'link' ? { name: e.name, content: 'hello\n', mode: 0o644 } : e))),
      'volume',
    );
    expect(unlinked.digest).not.toBe(manifest.digest); // copies are not hard links
  });

  it('ignores the root mtime but not the mtime of other directories', async () => {
    const base = await manifestOfTarStream(tarOf(trickyVolume()), 'volume');
    const touchRoot = trickyVolume().map((e) => (e.name === 'volume/' ? { ...e, mtime: new Date() } : e));
    expect((await manifestOfTarStream(tarOf(touchRoot), 'volume')).digest).toBe(base.digest);
    const touchDir = trickyVolume().map((e) => (e.name === 'volume/data/' ? { ...e, mtime: new Date() } : e));
    expect((await manifestOfTarStream(tarOf(touchDir), 'volume')).digest).not.toBe(base.digest);
  });

  it('carries a binary xattr value byte for byte through the archive and back out of the reader', async () => {
    const entries: FixtureEntry[] = [
      { name: 'volume/', type: 'directory', mode: 0o755 },
      { name: 'volume/ping', content: 'x', pax: { 'SCHILY.xattr.security.capability': 'AAAA' } },
    ];
    // A real capability value is binary: patch the pax record's value (same length, so still well-formed).
    const engineTar = await bufferOf(tarOf(entries));
    const binary = Buffer.from([0x01, 0x00, 0xff, 0x02]);
    binary.copy(engineTar, engineTar.indexOf('AAAA'));
    const appender = createManifestAppender({ root: 'volume' });
    const [tar] = await Promise.all([bufferOf(appender), pipeline(Readable.from([engineTar]), appender)]);
    const manifest = await appender.manifest;
    expect(tar.indexOf(binary)).toBe(engineTar.indexOf(binary));
    expect(manifest.entries[1]?.xattrs).toEqual(['security.capability']);
    expect(manifest.limitations.join('\n')).not.toMatch(/is binary/);

    const { out, manifest: verified } = await readArchive(tar);
    expect(verified.digest).toBe(manifest.digest);
    // The reader rewrites the headers; the xattr record keeps its value's bytes.
    expect(
      out.indexOf(Buffer.concat([Buffer.from('security.capability='), binary, Buffer.from('\n')])),
    ).toBeGreaterThan(0);
  });
});

async function tarEntryText(tar: Buffer, name: string): Promise<string> {
  const extractor = extract();
  const found = (async () => {
    let text = '';
    for await (const entry of extractor) {
      const content = await bufferOf(entry);
      if (entry.header.name === name) text = content.toString('utf8');
    }
    return text;
  })();
  extractor.end(tar);
  return found;
}

describe('archive files', () => {
  it.each<[ArchiveFormat, string]>([
    ['tar', 'a.tar'],
    ['tar.gz', 'a.tar.gz'],
    ['tar.zst', 'a.tar.zst'],
  ])('%s: verifyArchiveFile returns the same verified manifest', async (format, name) => {
    const file = path.join(work, name);
    const appender = createManifestAppender({ root: 'volume' });
    await pipeline(tarOf(trickyVolume()), appender, createCompressor(format), createWriteStream(file));
    const made = await appender.manifest;
    const verified = await verifyArchiveFile(file);
    expect(verified).toEqual(made);
    expect(verified.digest).toBe((await manifestOfTarStream(tarOf(trickyVolume()), 'volume')).digest);
  });

  it('refuses a file whose extension lies about its format', async () => {
    const gz = path.join(work, 'lies.tar.gz');
    await pipeline(
      tarOf(trickyVolume()),
      createManifestAppender(),
      createCompressor('tar.gz'),
      createWriteStream(gz),
    );
    const zst = path.join(work, 'lies.tar.zst');
    await writeFile(zst, await readFile(gz));
    await expect(verifyArchiveFile(zst)).rejects.toThrow(/named as tar\.zst but holds tar\.gz data/);
  });

  it('reports a truncated compressed archive', async () => {
    for (const format of ['tar.gz', 'tar.zst'] as const) {
      const file = path.join(work, `cut.${format}`);
      await pipeline(
        tarOf(trickyVolume()),
        createManifestAppender(),
        createCompressor(format),
        createWriteStream(file),
      );
      const whole = await readFile(file);
      await writeFile(file, whole.subarray(0, Math.floor(whole.length / 2)));
      const error = await verifyArchiveFile(file).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toMatch(
        new RegExp(`cut\\.${format.replace('.', '\\.')}.*truncated or corrupt`),
      );
    }
  });

  it('reports an empty file and a foreign file', async () => {
    const empty = path.join(work, 'empty.tar');
    await writeFile(empty, '');
    await expect(verifyArchiveFile(empty)).rejects.toThrow(/empty \(0 bytes\)/);
    const foreign = path.join(work, 'foreign.tar');
    await writeFile(foreign, 'PK\u0003\u0004 this is a zip file');
    await expect(verifyArchiveFile(foreign)).rejects.toThrow(
      /is not a tar, tar\.gz, tar\.zst, tar\.bz2 or tar\.xz archive/,
    );
  });
});

describe('damaged archives', () => {
  it('a truncated archive', async () => {
    const { tar } = await archiveOf(trickyVolume());
    const error = await readerError(tar.subarray(0, 3 * 1024 * 1024));
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toBe('Archive bad.tar is truncated: it ends in the middle of an entry.');
  });

  it('an archive cut between entries, before its manifest', async () => {
    const { tar } = await archiveOf([
      { name: 'volume/', type: 'directory' },
      { name: 'volume/a', content: 'a' },
    ]);
    const error = await readerError(tar.subarray(0, 512 * 3)); // root header, file header, file block
    expect(error.message).toMatch(
      /bad\.tar is truncated or was not made by compose-persist: it has no compose-persist-manifest\.json/,
    );
  });

  it('a flipped byte in a file names the file', async () => {
    const { tar } = await archiveOf(trickyVolume());
    const error = await readerError(replaceEntryContent(tar, 'grüße'));
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toBe(
      'Archive bad.tar does not match its manifest: 1 changed: with space/ünïcødé 文件.txt (sha256).',
    );
  });

  it('a tar without a manifest (the engine stream itself)', async () => {
    const engineTar = await bufferOf(tarOf(trickyVolume()));
    const error = await readerError(engineTar);
    expect(error.message).toMatch(/has no compose-persist-manifest\.json at its end/);
  });

  it('an empty tar', async () => {
    const error = await readerError(Buffer.alloc(1024));
    expect(error.message).toBe('Archive bad.tar is empty: it holds no entries.');
  });

  it('an edited manifest, and entries after the manifest', async () => {
    const { manifest } = await archiveOf(trickyVolume());
    const edited = {
      ...manifest,
      entries: manifest.entries.map((e) => (e.path === 'zero' ? { ...e, mode: 0o600 } : e)),
    };
    const volumeEntries = trickyVolume();
    const withEdited = await bufferOf(
      tarOf([
        ...volumeEntries,
        { name: MANIFEST_ENTRY_NAME, content: JSON.stringify(edited), uid: 0, gid: 0 },
      ]),
    );
    expect((await readerError(withEdited)).message).toMatch(
      /manifest whose digest does not match its own entries/,
    );
    const reDigested = {
      ...edited,
      digest: computeDigest(edited.entries),
    };
    const withReDigested = await bufferOf(
      tarOf([
        ...volumeEntries,
        { name: MANIFEST_ENTRY_NAME, content: JSON.stringify(reDigested), uid: 0, gid: 0 },
      ]),
    );
    expect((await readerError(withReDigested)).message).toMatch(
      /does not match its manifest: 1 changed: zero \(mode\)/,
    );
    const trailing = await bufferOf(
      tarOf([
        ...volumeEntries,
        { name: MANIFEST_ENTRY_NAME, content: JSON.stringify(manifest) },
        { name: 'volume/late', content: 'x' },
      ]),
    );
    expect((await readerError(trailing)).message).toMatch(/has entries after its manifest \(volume\/late\)/);
  });
});

describe('unsafe entries', () => {
  const root: FixtureEntry = { name: 'volume/', type: 'directory', mode: 0o755 };
  it.each<[string, FixtureEntry[], RegExp]>([
    ['../evil', [root, { name: '../evil', content: 'x' }], /'\.\.' segments are refused/],
    ['volume/../evil', [root, { name: 'volume/../evil', content: 'x' }], /'\.\.' segments are refused/],
    ['/etc/passwd', [root, { name: '/etc/passwd', content: 'x' }], /absolute paths are refused/],
    ['outside the root', [root, { name: 'elsewhere/x', content: 'x' }], /must be below "volume\/"/],
    [
      'a write through a symlink',
      [
        root,
        { name: 'volume/link', type: 'symlink', linkname: '/etc' },
        { name: 'volume/link/passwd', content: 'x' },
      ],
      /goes through the symlink "link"/,
    ],
    [
      'a hard link to outside',
      [root, { name: 'volume/shadow', type: 'link', linkname: '/etc/shadow' }],
      /a hard link to "\/etc\/shadow", outside volume\//,
    ],
    [
      'a hard link through a symlink',
      [
        root,
        { name: 'volume/etc', type: 'symlink', linkname: '/etc' },
        { name: 'volume/shadow', type: 'link', linkname: 'volume/etc/shadow' },
      ],
      /goes through the symlink "etc"/,
    ],
  ])('%s is refused when archived and when read', async (_name, entries, message) => {
    const error = await appendError(entries);
    expect(error).toBeInstanceOf(UnsafeEntryError);
    expect((error as Error).message).toMatch(message);
    const unsafeArchive = await bufferOf(tarOf([...entries, { name: MANIFEST_ENTRY_NAME, content: '{}' }]));
    const readError = await readerError(unsafeArchive);
    expect(readError).toBeInstanceOf(UnsafeEntryError);
    expect(readError.message).toMatch(/^Archive bad\.tar was refused\. Unsafe tar entry/);
  });

  it('keeps symlinks that point anywhere', async () => {
    const { manifest } = await archiveOf([
      root,
      { name: 'volume/abs', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'volume/up', type: 'symlink', linkname: '../../..' },
    ]);
    expect(manifest.entries.map((e) => e.linkTarget)).toEqual([undefined, '/etc/passwd', '../../..']);
  });

  it('an engine stream without its root entry', async () => {
    await expect(archiveOf([{ name: 'volume/a', content: 'a' }])).rejects.toThrow(
      'The tar stream of volume app_data has no root entry volume/: it is empty or not a volume read by the engine.',
    );
  });
});

describe('backpressure', () => {
  it('pulls only a bounded amount of input while nobody reads the output', async () => {
    let pulled = 0;
    const size = 64 * 1024 * 1024;
    const source = tarOf(
      [
        { name: 'volume/', type: 'directory' },
        { name: 'volume/huge', content: { size } },
      ],
      (n) => {
        pulled += n;
      },
    );
    const appender = createManifestAppender();
    const feeding = pipeline(source, appender);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pulled).toBeLessThan(4 * 1024 * 1024);
    let seen = 0;
    await Promise.all([
      feeding,
      pipeline(
        appender,
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            seen += chunk.length;
            callback();
          },
        }),
      ),
    ]);
    expect(seen).toBeGreaterThan(size);
    expect((await appender.manifest).entries[1]?.sha256).toBe(sha256Of(size));
  });
});
