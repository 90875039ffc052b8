import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { extract, pack, type Header, type Pack } from 'tar-stream';

/** One entry of a synthetic tar stream; `content` may be generated (`{ size }`) to keep big files lazy. */
export interface FixtureEntry {
  name: string;
  type?: Header['type'];
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
  content?: string | Buffer | { size: number };
}

const MTIME = new Date('2024-05-01T12:00:00Z');
const CHUNK = 64 * 1024;

/** Deterministic pseudo-random bytes, so a generated file has a known sha256. */
export function generatedChunk(offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  for (let i = 0; i < length; i++) buffer[i] = ((offset + i) * 2654435761) >>> 24;
  return buffer;
}

export function sha256Of(size: number): string {
  const hash = createHash('sha256');
  for (let offset = 0; offset < size; offset += CHUNK)
    hash.update(generatedChunk(offset, Math.min(CHUNK, size - offset)));
  return hash.digest('hex');
}

/** A tar stream of the entries, packed lazily: a generated file is produced only as fast as it is read. */
export function tarOf(entries: FixtureEntry[], onPulled?: (bytes: number) => void): Readable {
  const packer = pack();
  void (async () => {
    for (const entry of entries) await addEntry(packer, entry, onPulled);
    packer.finalize();
  })().catch((error: unknown) => packer.destroy(error as Error));
  return Readable.from(packer as AsyncIterable<Buffer>);
}

async function addEntry(
  packer: Pack,
  entry: FixtureEntry,
  onPulled?: (bytes: number) => void,
): Promise<void> {
  const { content, ...rest } = entry;
  const header = { mtime: MTIME, uid: 999, gid: 999, ...rest };
  if (content === undefined || typeof content === 'string' || Buffer.isBuffer(content)) {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (content === undefined) packer.entry(header, done);
      else packer.entry(header, Buffer.from(content), done);
    });
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const sink = packer.entry({ ...header, size: content.size }, (error) =>
      error ? reject(error) : resolve(),
    );
    void (async () => {
      for (let offset = 0; offset < content.size; offset += CHUNK) {
        const length = Math.min(CHUNK, content.size - offset);
        onPulled?.(length);
        if (!sink.write(generatedChunk(offset, length)))
          await new Promise<void>((r) => sink.once('drain', () => r()));
      }
      sink.end(undefined);
    })();
  });
}

/** Everything a stream produces (small streams only). */
export async function bufferOf(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The headers (and content sha256) of a tar buffer, as a reader of the archive would see them. */
export interface ListedEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string | null;
  size: number;
  sha256: string;
  pax: Record<string, string>;
}

export async function listTar(tar: Buffer): Promise<ListedEntry[]> {
  const listed: ListedEntry[] = [];
  const extractor = extract();
  const done = (async () => {
    for await (const entry of extractor) {
      const hash = createHash('sha256');
      for await (const chunk of entry) hash.update(chunk as Buffer);
      const h = entry.header;
      const pax = { ...((h.pax ?? {}) as Record<string, string>) };
      delete pax.path;
      delete pax.linkpath;
      listed.push({
        name: h.name,
        type: h.type,
        mode: h.mode & 0o7777,
        uid: pax.uid === undefined ? h.uid : Number(pax.uid),
        gid: pax.gid === undefined ? h.gid : Number(pax.gid),
        mtime: h.mtime.getTime() / 1000,
        linkname: h.linkname,
        size: h.size,
        sha256: hash.digest('hex'),
        pax,
      });
    }
  })();
  extractor.end(tar);
  await done;
  return listed;
}

export const BIG_FILE_SIZE = 5 * 1024 * 1024;
const LONG_DIR = `${'deep-directory-name-'.repeat(4)}/${'another-long-segment-'.repeat(3)}`;
export const LONG_PATH = `${LONG_DIR}/file-with-a-long-name.txt`;

/** What the engine's GET of a volume could plausibly send, with every tricky case at once. */
export function trickyVolume(): FixtureEntry[] {
  return [
    { name: 'volume/', type: 'directory', mode: 0o2775 },
    { name: 'volume/big.bin', content: { size: BIG_FILE_SIZE }, mode: 0o640 },
    { name: 'volume/bin/', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
    { name: 'volume/bin/suid', content: '#!/bin/sh\n', mode: 0o4755, uid: 0, gid: 0 },
    {
      name: 'volume/cap',
      content: 'capable',
      mode: 0o755,
      pax: { 'SCHILY.xattr.security.capability': 'AQAAAg' },
    },
    // tar-stream's pack turns a mode of 0 into 0644; the S_IFREG bit keeps the permission bits 0.
    { name: 'volume/chmod000', content: 'locked', mode: 0o100000 },
    { name: 'volume/dangling', type: 'symlink', linkname: '/nonexistent/target', mode: 0o777 },
    { name: 'volume/data/', type: 'directory', mode: 0o700 },
    { name: 'volume/data/file.txt', content: 'hello\n', mode: 0o644 },
    { name: 'volume/data/hardlink', type: 'link', linkname: 'volume/data/file.txt', mode: 0o644 },
    { name: 'volume/empty/', type: 'directory', mode: 0o755 },
    { name: 'volume/fifo', type: 'fifo', mode: 0o600 },
    { name: 'volume/highuid', content: 'remapped', mode: 0o600, pax: { uid: '300000', gid: '300001' } },
    { name: `volume/${LONG_DIR.split('/')[0]}/`, type: 'directory', mode: 0o755 },
    { name: `volume/${LONG_DIR}/`, type: 'directory', mode: 0o755 },
    { name: `volume/${LONG_PATH}`, content: 'long', mode: 0o644 },
    { name: 'volume/other/', type: 'directory', mode: 0o755 },
    { name: 'volume/other/second-link', type: 'link', linkname: 'volume/data/file.txt', mode: 0o644 },
    { name: 'volume/tablespace', type: 'symlink', linkname: '/var/lib/postgresql/tblspc', mode: 0o777 },
    { name: 'volume/tmp/', type: 'directory', mode: 0o1777, uid: 0, gid: 0 },
    { name: 'volume/with space/', type: 'directory', mode: 0o755 },
    { name: 'volume/with space/ünïcødé 文件.txt', content: 'grüße\n', mode: 0o644 },
    { name: 'volume/zero', content: '', mode: 0o644 },
  ];
}
