import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySeedArchiveFile } from '../../src/archive/seed-source.js';
import { tarBuffer, type TarEntry } from '../volumes/fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cp-foreign-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let count = 0;
async function archive(entries: TarEntry[], transform = (tar: Buffer) => tar, name?: string) {
  const file = path.join(dir, name ?? `a${count++}.tar.gz`);
  await writeFile(file, gzipSync(transform(await tarBuffer(entries))));
  return file;
}

const dir_ = (name: string, mode = 0o755): TarEntry => ({ header: { name, type: 'directory', mode } });
const file_ = (name: string, content: string): TarEntry => ({
  header: { name, type: 'file', mode: 0o644 },
  content,
});
const DOT: TarEntry[] = [dir_('./', 0o700), file_('./ok.txt', 'fine\n')];

describe('foreign archives: every safety rule of ours, with the real reason', () => {
  it.each<[string, TarEntry[], RegExp]>([
    ['dot-dot', [...DOT, file_('./../evil', 'x')], /"\.\/\.\.\/evil": '\.\.' segments are refused/],
    ['absolute', [...DOT, file_('/etc/evil', 'x')], /"\/etc\/evil": absolute paths are refused/],
    [
      'through a symlink',
      [
        ...DOT,
        { header: { name: './link', type: 'symlink', linkname: '/etc' } },
        file_('./link/passwd', 'x'),
      ],
      /goes through the symlink "link"/,
    ],
    [
      'hard link out',
      [...DOT, { header: { name: './shadow', type: 'link', linkname: '/etc/shadow' } }],
      /absolute paths are refused/,
    ],
    ['duplicate', [...DOT, file_('./ok.txt', 'again\n')], /"ok\.txt" appears twice/],
    [
      'device',
      [...DOT, { header: { name: './sda', type: 'block-device', devmajor: 8, devminor: 0 } }],
      /holds a device node \(\.\/sda\)/,
    ],
  ])('%s', async (_name, entries, reason) => {
    const error = await verifySeedArchiveFile(await archive(entries)).catch((e: unknown) => e);
    expect(String(error)).toMatch(reason);
    expect(String(error)).not.toMatch(/every entry must be below/);
  });

  it('a plain tar cut at an entry boundary (no end-of-archive blocks) is truncated', async () => {
    const cut = (tar: Buffer) => tar.subarray(0, 3 * 512); // two headers and one content block
    const file = await archive(DOT, cut);
    await expect(verifySeedArchiveFile(file)).rejects.toThrow(
      /is truncated: it ends without the end-of-archive/,
    );
  });

  it('--from keeps only its directory; a hard link out of it is refused', async () => {
    const offen = [
      dir_('backup/'),
      dir_('backup/pg/', 0o700),
      file_('backup/pg/PG_VERSION', '15\n'),
      dir_('backup/other/'),
      file_('backup/other/x', 'not ours\n'),
    ];
    const alone = [dir_('./', 0o700), file_('./PG_VERSION', '15\n')];
    const fromOffen = await verifySeedArchiveFile(await archive(offen), { from: 'backup/pg' });
    expect(fromOffen.entries.map((e) => e.path)).toEqual(['.', 'PG_VERSION']);
    expect(fromOffen.digest).toBe((await verifySeedArchiveFile(await archive(alone))).digest);
    const linkOut = [...offen, { header: { name: 'backup/pg/l', type: 'link', linkname: 'backup/other/x' } }];
    await expect(
      verifySeedArchiveFile(await archive(linkOut as TarEntry[]), { from: 'backup/pg' }),
    ).rejects.toThrow(/a hard link to "backup\/other\/x", outside the volume's directory/);
  });

  it("an archive without a root entry gets the engine's default root (0755 root:root)", async () => {
    const manifest = await verifySeedArchiveFile(await archive([file_('data/a', 'a\n')]));
    expect(manifest.entries[0]).toMatchObject({ path: '.', type: 'directory', mode: 0o755, uid: 0, gid: 0 });
    expect(manifest.entries[1]).toMatchObject({ path: 'a', type: 'file' });
  });

  it('the format is read from the content, whatever the name', async () => {
    const file = await archive(DOT, undefined, 'backup-2026-12-01.bin');
    expect((await verifySeedArchiveFile(file)).files).toBe(1);
  });

  it('an envelope the name promises must be there; armored files are refused', async () => {
    const gz = await archive(DOT, undefined, 'plain.tar.gz.gpg');
    await expect(verifySeedArchiveFile(gz)).rejects.toThrow(
      /is named as gpg-encrypted but its content is not/,
    );
    const armored = path.join(dir, 'armored.tar.gz.gpg');
    await writeFile(armored, '-----BEGIN PGP MESSAGE-----\n\njA0ECQMC\n-----END PGP MESSAGE-----\n');
    await expect(verifySeedArchiveFile(armored)).rejects.toThrow(/is ASCII-armored: store it binary/);
  });
});
