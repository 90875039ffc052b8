import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestBuilder, computeDigest } from '../../src/archive/manifest.js';
import { SPOOL_LIMITS } from '../../src/archive/spool.js';
import { createVolumeScanner } from '../../src/archive/volume-scanner.js';
import { archiveVolume } from '../../src/volumes/archive-volume.js';
import { digestOfVolume } from '../../src/volumes/fingerprint.js';
import { HELPER_MOUNT, withVolumeHelper } from '../../src/volumes/helper.js';
import { seedVolume } from '../../src/volumes/seed-volume.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { RUN_ID, Resources, createVolume, engine, inVolume, uniqueName } from './fixtures.js';

const resources = new Resources();
const helper = { engine, image: BUSYBOX_IMAGE, runLabel: RUN_ID };
let dir: string;
let source: string;
const saved = SPOOL_LIMITS.runBytes;

/** Names whose walk order differs from byte order (`a/…` before `a b`, `a-b`, `a.txt`), links, 3,000 files. */
const SCRIPT = `cd /v && mkdir -p a/b "a b" A && touch a.txt a-b a/b/c a/z "a b/x" A/y é f10 f9 f1 &&
ln a/z hl && ln -s a sl && ln -s /etc/passwd abs &&
for d in 1 2 3; do mkdir many$d; i=0; while [ $i -lt 1000 ]; do echo "$d $i" > many$d/f$i; i=$((i+1)); done; done`;

beforeAll(async () => {
  dir = await resources.tempDir();
  source = await createVolume(resources);
  await inVolume(source, SCRIPT);
  SPOOL_LIMITS.runBytes = 32 * 1024; // many runs on disk, as a volume of millions of files has
});

afterAll(async () => {
  SPOOL_LIMITS.runBytes = saved;
  await resources.cleanup();
});

describe('per-file state on disk, with the real engine', () => {
  it("the engine's tar comes in walk order, so path checks keep only the ancestor chain", async () => {
    const scanner = createVolumeScanner({ root: 'volume', appendManifest: false });
    await withVolumeHelper(source, { ...helper, readOnly: true }, async (container) => {
      const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
      await pipeline(await container.getArchive(HELPER_MOUNT), scanner, discard);
    });
    const manifest = await scanner.manifest;
    expect(scanner.inWalkOrder()).toBe(true);
    expect(manifest.files).toBe(3011);
    // The spooled digest is computeDigest's, over the same entries held in memory.
    const inMemory = new ManifestBuilder('volume');
    for (const entry of manifest.entries) inMemory.add({ ...entry });
    expect(computeDigest(inMemory.finalize().entries)).toBe(manifest.digest);
  });

  it('archive and seed through run files: the seeded volume has the archived digest', async () => {
    const file = path.join(dir, 'many.tar.zst');
    const archived = await archiveVolume(source, file, {
      engine,
      helperImage: BUSYBOX_IMAGE,
      runLabel: RUN_ID,
      consistency: 'stop',
    });
    const seeded = uniqueName('flat');
    resources.volumes.add(seeded);
    const result = await seedVolume(seeded, file, {
      ...helper,
      helperImage: BUSYBOX_IMAGE,
      overwrite: false,
    });
    expect(result.manifest.digest).toBe(archived.manifest.digest);
    const readBack = await digestOfVolume(seeded, helper);
    expect(readBack.digest).toBe(archived.manifest.digest);
    expect(readBack.entryCount).toBe(archived.manifest.entries.length);
  });
});
