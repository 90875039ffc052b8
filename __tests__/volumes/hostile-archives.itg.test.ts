import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManifestAppender, verifyArchiveFile } from '../../src/archive/volume-tar.js';
import { archiveVolume } from '../../src/volumes/archive-volume.js';
import { digestOfVolume } from '../../src/volumes/fingerprint.js';
import { volumeManifest } from '../support/volume-manifest.js';
import { seedVolume } from '../../src/volumes/seed-volume.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { END, ROOT_DIR, gnuLongRecord, paxHeader, paxRecord, rawFile } from '../archive/hostile-tars.js';
import { bufferOf } from '../archive/tar-fixtures.js';
import { RUN_ID, Resources, createVolume, engine, inVolume, uniqueName } from './fixtures.js';

const resources = new Resources();
const helper = { engine, image: BUSYBOX_IMAGE, runLabel: RUN_ID };
const seedOptions = { engine, helperImage: BUSYBOX_IMAGE, runLabel: RUN_ID, overwrite: false };
let dir: string;

beforeAll(async () => {
  dir = await resources.tempDir();
});

afterAll(() => resources.cleanup());

/**
 * Tricks on which the engine (Go's archive/tar) and our parser read different things: a GNU long name
 * against a pax path, a NUL before the mode digits (Go skips it: setuid), a GNU header whose prefix field
 * the engine prepends (a path outside volume/).
 */
function smugglingTar(): Buffer {
  return Buffer.concat([
    ROOT_DIR,
    paxHeader([paxRecord('path', 'volume/harmless.txt')]),
    gnuLongRecord('L', 'volume/smuggled.txt'),
    rawFile({ name: 'volume/harmless.txt' }, 'hello'),
    rawFile({ name: 'volume/tool', mode: Buffer.from('\u00000004755', 'latin1') }, '#!/bin/sh\n'),
    rawFile({ name: 'volume/x.txt', magic: 'gnu', prefix: 'evil' }, 'prefixed'),
    END,
  ]);
}

/** The archive an attacker makes: the tricks, then a manifest of what compose-persist reads in them. */
async function writeHostileArchive(file: string, tar: Buffer): Promise<void> {
  const appender = createManifestAppender({ root: 'volume' });
  const [archive] = await Promise.all([bufferOf(appender), pipeline(Readable.from([tar]), appender)]);
  await writeFile(file, archive);
}

describe('a crafted archive the engine would read differently', () => {
  it('seeds exactly what digest FILE reports: no smuggled.txt, no setuid file, nothing outside', async () => {
    const file = path.join(dir, 'smuggle.tar');
    await writeHostileArchive(file, smugglingTar());
    const reported = await verifyArchiveFile(file); // what `digest FILE` prints
    expect(reported.entries.map((e) => e.path)).toEqual(['.', 'harmless.txt', 'tool', 'x.txt']);
    expect(reported.entries.some((e) => (e.mode & 0o6000) !== 0)).toBe(false);

    const volume = uniqueName('smuggle');
    resources.volumes.add(volume);
    const seeded = await seedVolume(volume, file, seedOptions);
    expect(seeded.manifest.digest).toBe(reported.digest);
    expect((await digestOfVolume(volume, helper)).digest).toBe(reported.digest);
    const listing = await inVolume(volume, 'cd /v && find . | sort && echo setuid: && find . -perm -4000');
    expect(listing.split('\n')).toEqual(['.', './harmless.txt', './tool', './x.txt', 'setuid:', '']);
  });
});

/** `caf\xe9` and `caf\xe8` in Latin-1: names that are not UTF-8. */
const E_ACUTE = 'caf\\351';
const E_GRAVE = 'caf\\350';

describe('file names that are not UTF-8', () => {
  it('archive, seed and digest keep caf\\xe9 and caf\\xe8 apart; renaming one to the other changes the digest', async () => {
    const source = await createVolume(resources);
    await inVolume(
      source,
      `cd /v && printf acute > "$(printf '${E_ACUTE}')" && printf grave > "$(printf '${E_GRAVE}')"`,
    );
    const file = path.join(dir, 'latin1.tar.zst');
    const archived = await archiveVolume(source, file, { ...seedOptions, consistency: 'live' });
    const paths = archived.manifest.entries.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['caf\udce9', 'caf\udce8']));
    expect((await verifyArchiveFile(file)).digest).toBe(archived.manifest.digest);

    const target = uniqueName('latin1');
    resources.volumes.add(target);
    await seedVolume(target, file, seedOptions);
    expect((await digestOfVolume(target, helper)).digest).toBe(archived.manifest.digest);
    const bytes = await inVolume(
      target,
      `cd /v && for f in caf*; do printf '%s=' "$f" | od -An -tx1; cat "$f"; echo; done`,
    );
    expect(bytes.replace(/\s+/g, ' ').trim()).toBe('63 61 66 e8 3d grave 63 61 66 e9 3d acute');

    await inVolume(target, `cd /v && rm "$(printf '${E_GRAVE}')"`);
    const before = await volumeManifest(target, helper);
    await inVolume(target, `cd /v && mv "$(printf '${E_ACUTE}')" "$(printf '${E_GRAVE}')"`);
    const after = await volumeManifest(target, helper);
    expect(after.entries.map((e) => e.path)).toContain('caf\udce8');
    expect(after.digest).not.toBe(before.digest);
  });
});
