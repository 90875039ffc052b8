import { mkdtemp, readdir, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffManifests, type VolumeManifest } from '../../src/archive/manifest.js';
import { SPOOL_LIMITS, spoolDirectory } from '../../src/archive/spool.js';
import { manifestOfTarStream } from '../../src/archive/volume-tar.js';
import { listTarStream, removeListing, type VolumeListing } from '../../src/volumes/fingerprint-listing.js';
import { diffListings, pathsOf } from '../../src/volumes/listing-diff.js';
import { tarOf, trickyVolume, type FixtureEntry } from '../archive/tar-fixtures.js';

let tempDir: string;
beforeEach(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'cp-listing-test-'));
});
afterEach(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

/** The same entries as a listing (sorted runs of `runBytes` to exercise the merge) and as a manifest. */
async function both(entries: FixtureEntry[], runBytes?: number): Promise<[VolumeListing, VolumeManifest]> {
  const listing = await withRunBytes(runBytes, () =>
    listTarStream(tarOf(entries), { root: 'volume', tempDir }),
  );
  return [listing, await manifestOfTarStream(tarOf(entries))];
}

/** Runs `work` with the spool writing a sorted run every `runBytes` (the default when undefined). */
async function withRunBytes<T>(runBytes: number | undefined, work: () => Promise<T>): Promise<T> {
  const saved = SPOOL_LIMITS.runBytes;
  SPOOL_LIMITS.runBytes = runBytes ?? saved;
  try {
    return await work();
  } finally {
    SPOOL_LIMITS.runBytes = saved;
  }
}

/** The files in the spool's directory now (none before it is made). */
async function spooledFiles(): Promise<string[]> {
  const dir = spoolDirectory();
  return dir === undefined ? [] : (await readdir(dir)).sort();
}

/** Many small files in the engine's walk order (which is not the digest's byte order). */
function manyFiles(count: number, change: (i: number) => string = String): FixtureEntry[] {
  const entries: FixtureEntry[] = [{ name: 'volume/', type: 'directory', mode: 0o755 }];
  for (let d = 0; d < count / 10; d++) {
    entries.push({ name: `volume/d${d}/`, type: 'directory', mode: 0o755 });
    for (let f = 0; f < 10; f++)
      entries.push({ name: `volume/d${d}/f-${f}`, content: change(d * 10 + f), mode: 0o644 });
  }
  return entries;
}

describe('listTarStream: a fingerprint as a sorted listing on disk', () => {
  it('has the manifest’s digest, counts and entries on every tricky case (hard links, xattrs, long names)', async () => {
    for (const runBytes of [300, undefined]) {
      const [listing, manifest] = await both(trickyVolume(), runBytes);
      expect(listing.digest).toBe(manifest.digest);
      expect([listing.files, listing.bytes, listing.entries]).toEqual([
        manifest.files,
        manifest.bytes,
        manifest.entries.length,
      ]);
    }
  });

  it('has the manifest’s digest when the stream is not in byte order, across many runs', async () => {
    const entries = manyFiles(500);
    const spooledBefore = await spooledFiles();
    const [listing, manifest] = await both(entries, 4096);
    expect(listing.digest).toBe(manifest.digest);
    // Only the listing itself is left in its directory, and the sorted runs are gone from the spool's.
    expect(await readdir(listing.dir)).toEqual(['listing.jsonl']);
    expect(await spooledFiles()).toEqual(spooledBefore);
    await removeListing(listing);
    await expect(readdir(listing.dir)).rejects.toThrow(/ENOENT/);
  });

  it('refuses a path that appears twice, and a stream without its root, leaving nothing behind', async () => {
    const twice: FixtureEntry[] = [
      { name: 'volume/', type: 'directory' },
      { name: 'volume/a', content: '1' },
      { name: 'volume/b', content: '2' },
      { name: 'volume/a', content: '3' },
    ];
    await expect(
      withRunBytes(200, () => listTarStream(tarOf(twice), { root: 'volume', tempDir })),
    ).rejects.toThrow(/"a" appears twice/);
    await expect(
      listTarStream(tarOf([{ name: 'volume/a', content: '1' }]), { root: 'volume', tempDir }),
    ).rejects.toThrow(/has no root entry volume\//);
    expect(await readdir(tempDir)).toEqual([]);
  });

  it('refuses a hard link to a file that is not in the stream', async () => {
    const entries: FixtureEntry[] = [
      { name: 'volume/', type: 'directory' },
      { name: 'volume/link', type: 'link', linkname: 'volume/missing' },
    ];
    await expect(listTarStream(tarOf(entries), { root: 'volume', tempDir })).rejects.toThrow(
      /a hard link to "missing", which is not a file stored before it/,
    );
  });
});

describe('diffListings: a streaming merge of two listings', () => {
  const changedVolume = (): FixtureEntry[] =>
    trickyVolume()
      .filter((e) => e.name !== 'volume/zero' && e.name !== 'volume/data/hardlink')
      .map((e) => (e.name === 'volume/cap' ? { ...e, content: 'changed' } : e))
      .map((e) => (e.name === 'volume/fifo' ? { ...e, type: 'file' as const, content: 'x' } : e))
      .concat([{ name: 'volume/zz-new', content: 'new' }]);

  it('finds what diffManifests finds, for both policies and with ignore globs', async () => {
    const [beforeListing, beforeManifest] = await both(trickyVolume(), 4);
    const [afterListing, afterManifest] = await both(changedVolume(), 4);
    for (const options of [
      { policy: 'no-loss' as const },
      { policy: 'exact' as const },
      { policy: 'exact' as const, ignore: ['data', 'zz-*'] },
    ]) {
      const streamed = await diffListings(beforeListing, afterListing, options);
      const expected = diffManifests(beforeManifest, afterManifest, options);
      expect(expected.changed.length + expected.removed.length).toBeGreaterThan(2);
      const { counts, filesCompared, shrunk, ...lists } = streamed;
      expect(lists).toEqual(expected);
      expect(shrunk).toEqual([]);
      expect(filesCompared).toBeGreaterThan(0);
      expect(counts.removed).toBe(expected.removed.length);
      expect(counts.changed).toBe(expected.changed.length);
    }
  });

  it('keeps the first paths of each kind and counts them all (bounded detail)', async () => {
    const [before] = await both(manyFiles(300), 50);
    const [after] = await both(
      manyFiles(300, (i) => (i % 2 ? 'changed' : String(i))).filter((e) => !e.name.startsWith('volume/d1/')),
      50,
    );
    const diff = await diffListings(before, after, { policy: 'no-loss' }, 5);
    expect(diff.counts).toEqual({ added: 0, removed: 11, changed: 145, typeChanged: 0, shrunk: 0 });
    expect(diff.removed).toHaveLength(5);
    expect(diff.changed).toHaveLength(5);
    expect(diff.ok).toBe(false);
    expect(await pathsOf(before, 3)).toEqual({ paths: ['d0', 'd0/f-0', 'd0/f-1'], count: 330 });
  });

  it('lets the event loop turn while it compares long listings (a signal is handled during the diff)', async () => {
    const [a] = await both(manyFiles(25_000));
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    let turnsWhenDone = -1;
    try {
      await diffListings(a, a, { policy: 'exact' }).then(() => (turnsWhenDone = turns));
    } finally {
      clearInterval(ticking);
    }
    expect(turnsWhenDone).toBeGreaterThan(0);
  }, 120_000); // two listings of 25,000 files: seconds idle, half a minute on a loaded machine

  it('two listings of the same volume are equal, whatever their run sizes', async () => {
    const [a] = await both(manyFiles(200), 7);
    const [b] = await both(manyFiles(200), 1000);
    const diff = await diffListings(a, b, { policy: 'exact' });
    expect(diff).toMatchObject({ ok: true, counts: { added: 0, removed: 0, changed: 0 } });
    expect(a.digest).toBe(b.digest);
  });
});
