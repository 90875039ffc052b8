import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveFormat } from '../../src/archive/format.js';
import { archiveVolume } from '../../src/volumes/archive-volume.js';
import { digestOfVolume } from '../../src/volumes/fingerprint.js';
import { volumeManifest } from '../support/volume-manifest.js';
import { seedVolume } from '../../src/volumes/seed-volume.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import {
  LONG_FILE,
  RUN_ID,
  Resources,
  TRICKY_SCRIPT,
  cli,
  createVolume,
  engine,
  inVolume,
  uniqueName,
  volumeListing,
} from './fixtures.js';

const resources = new Resources();
const helper = { engine, image: BUSYBOX_IMAGE, runLabel: RUN_ID };
let source: string;
let sourceListing: string;
let dir: string;

beforeAll(async () => {
  source = await createVolume(resources);
  await inVolume(source, TRICKY_SCRIPT);
  sourceListing = await volumeListing(source);
  dir = await resources.tempDir();
});

afterAll(() => resources.cleanup());

describe('the tricky fixture volume', () => {
  it('holds every awkward case the round trip must keep (so the comparison below means something)', () => {
    const lines = sourceListing.split('\n');
    const line = (name: string) => lines.find((l) => l.startsWith(`/v/${name}|`));
    expect(lines.find((l) => l.startsWith('/v|'))).toMatch(/^\/v\|700\|999:999\|\d+\|\d+\|directory\|/);
    expect(line('owned999')).toMatch(/\|644\|999:999\|/);
    expect(line('other')).toMatch(/\|644\|1234:5678\|/);
    expect(line('suid')).toMatch(/\|4755\|/);
    expect(line('setgid')).toMatch(/\|2775\|0:999\|.*\|directory\|/);
    expect(line('sticky')).toMatch(/\|1777\|.*\|directory\|/);
    expect(line('locked')).toMatch(/\|0\|0:0\|7\|/);
    expect(line('relative-link')).toMatch(/\|1262304000\|symbolic link\|1\|.* -> 'dir with space\/file/);
    expect(line('dangling')).toMatch(/-> 'nowhere\/at\/all'$/);
    expect(line('absolute-link')).toMatch(/-> '\/etc\/passwd'$/);
    expect(line('hard1')).toMatch(/\|regular file\|3\|/);
    expect(line('empty/nested')).toMatch(/\|946684799\|directory\|/);
    expect(line('zero')).toMatch(/\|0\|\d+\|regular empty file\|/);
    expect(line('random.bin')).toMatch(/\|640\|999:0\|3145728\|1000000000\|/);
    expect(line(LONG_FILE)).toBeDefined();
    expect(LONG_FILE.length).toBeGreaterThan(150);
    expect(line('dir with space/file ü 文件.txt')).toMatch(/\|1582979696\|/);
    expect(line('ünïcødé 目录')).toMatch(/\|directory\|/);
  });
});

describe.each<ArchiveFormat>(['tar', 'tar.gz', 'tar.zst'])('a round trip through .%s', (format) => {
  let file: string;
  let seeded: string;

  it('archives, seeds a fresh volume, and gives back the very same volume', async () => {
    file = path.join(dir, `tricky.${format}`);
    const archived = await archiveVolume(source, file, {
      engine,
      helperImage: BUSYBOX_IMAGE,
      runLabel: RUN_ID,
      consistency: 'stop',
    });
    expect(archived.format).toBe(format);
    expect(archived.changedWhileReading).toEqual([]);
    expect(archived.manifest.files).toBeGreaterThanOrEqual(12);

    seeded = uniqueName(`seed-${format.replace('.', '')}`);
    resources.volumes.add(seeded);
    const result = await seedVolume(seeded, file, {
      engine,
      helperImage: BUSYBOX_IMAGE,
      runLabel: RUN_ID,
      overwrite: false,
    });
    expect(result.created).toBe(true);
    expect(result.manifest.digest).toBe(archived.manifest.digest);
    expect(result.manifest.entries).toEqual(archived.manifest.entries);

    const again = await volumeManifest(seeded, helper);
    expect(again.digest).toBe(archived.manifest.digest);
    expect(again.entries).toEqual(archived.manifest.entries);

    // Independent of our own manifest code: what busybox's stat and md5sum see, root included.
    expect(await volumeListing(seeded)).toBe(sourceListing);
    // Reading the source did not change it.
    expect(await volumeListing(source)).toBe(sourceListing);
  });

  it('digest prints the same last line for the source volume, the archive file and the seeded volume', async () => {
    const lastLine = (text: string) => text.trim().split('\n').at(-1);
    const [ofSource, ofFile, ofSeeded] = await Promise.all([
      cli(['digest', source, '--helper-image', BUSYBOX_IMAGE]),
      cli(['digest', file]),
      cli(['digest', seeded, '--helper-image', BUSYBOX_IMAGE]),
    ]);
    for (const result of [ofSource, ofFile, ofSeeded]) expect(result.code, result.stderr).toBe(0);
    expect(lastLine(ofSource.stdout)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(lastLine(ofFile.stdout)).toBe(lastLine(ofSource.stdout));
    expect(lastLine(ofSeeded.stdout)).toBe(lastLine(ofSource.stdout));
  });
});

describe('the digest', () => {
  it('changes when one byte of one file changes (so equal digests above are evidence)', async () => {
    const copy = await createVolume(resources);
    const archive = path.join(dir, 'for-copy.tar');
    await archiveVolume(source, archive, {
      engine,
      helperImage: BUSYBOX_IMAGE,
      runLabel: RUN_ID,
      consistency: 'live',
    });
    await seedVolume(copy, archive, {
      engine,
      helperImage: BUSYBOX_IMAGE,
      runLabel: RUN_ID,
      overwrite: false,
    });
    const before = await digestOfVolume(copy, helper);
    // Same size and mtime, one byte different.
    await inVolume(
      copy,
      'mkdir -p /tmp && touch -r /v/hard1 /tmp/ref && printf H | dd of=/v/hard1 bs=1 count=1 conv=notrunc 2>/dev/null && touch -r /tmp/ref /v/hard1',
    );
    const after = await digestOfVolume(copy, helper);
    expect(after.digest).not.toBe(before.digest);
    expect(await volumeListing(copy)).not.toBe(sourceListing);
  });
});
