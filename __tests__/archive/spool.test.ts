import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_ENTRY_NAME, ManifestBuilder, computeDigest } from '../../src/archive/manifest.js';
import { MERGE_FAN_IN, SPOOL_LIMITS, SortedSpool, mergeReadBytes } from '../../src/archive/spool.js';
import {
  createArchiveReader,
  createManifestAppender,
  manifestOfTarStream,
} from '../../src/archive/volume-tar.js';
import { bufferOf, listTar, tarOf, type FixtureEntry } from './tar-fixtures.js';

/** Small runs, so a few thousand entries go through many run files and the merge. */
const saved = SPOOL_LIMITS.runBytes;
beforeAll(() => {
  SPOOL_LIMITS.runBytes = 128 * 1024;
});
afterAll(() => {
  SPOOL_LIMITS.runBytes = saved;
});

/** A volume of 3,000 files in an order unlike byte order (`a.txt` sorts before `a/`), with hard links. */
function manyFiles(): FixtureEntry[] {
  const entries: FixtureEntry[] = [{ name: 'volume/', type: 'directory', mode: 0o755 }];
  for (let d = 0; d < 30; d++) {
    entries.push({ name: `volume/d${d}/`, type: 'directory', mode: 0o755 });
    for (let f = 0; f < 100; f++) entries.push({ name: `volume/d${d}/f${f}`, content: `${d} ${f}\n` });
    entries.push({ name: `volume/d${d}.txt`, content: `beside d${d}\n` });
  }
  entries.push({ name: 'volume/link-a', type: 'link', linkname: 'volume/d3/f7' });
  entries.push({ name: 'volume/link-b', type: 'link', linkname: 'volume/d3/f7' });
  return entries;
}

// A loaded 2-core box takes seconds for the 3,000-entry archive and its read-back.
describe('spooled manifests (many runs on disk)', { timeout: 60_000 }, () => {
  it('sort records across runs in byte order of their keys', () => {
    const spool = new SortedSpool<string>({
      keyOf: (s) => Buffer.from(s).toString('latin1'),
      encode: (s) => JSON.stringify(s),
      decode: (l) => JSON.parse(l) as string,
    });
    const words = Array.from({ length: 5000 }, (_, i) => `w${(i * 7919) % 5000}`);
    for (const word of words) spool.add(word);
    expect(spool.spilled).toBe(true);
    expect([...spool.sorted()]).toEqual(
      [...words].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    spool.dispose();
  });

  it('merge more runs than one merge takes in groups first, and sort them all the same', () => {
    const spool = new SortedSpool<string>({
      keyOf: (s) => Buffer.from(s).toString('latin1'),
      encode: (s) => JSON.stringify(s),
      decode: (l) => JSON.parse(l) as string,
    });
    const runBytes = SPOOL_LIMITS.runBytes;
    SPOOL_LIMITS.runBytes = 1; // every record a run of its own
    try {
      const count = 2 * MERGE_FAN_IN + 5;
      const words = Array.from({ length: count }, (_, i) => `w${(i * 7919) % count}`);
      for (const word of words) spool.add(word);
      expect(spool.runCount).toBe(count);
      const sorted = [...spool.sorted()];
      expect(sorted).toEqual([...words].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      expect(spool.runCount).toBe(3); // two groups of MERGE_FAN_IN and one of 5; the merged files are gone
      expect([...spool.sorted()]).toEqual(sorted); // read again from the merged runs
    } finally {
      SPOOL_LIMITS.runBytes = runBytes;
      spool.dispose();
    }
  });

  it('share one read budget between the runs of a merge, so memory is flat in the number of runs', () => {
    const total = (runs: number) => runs * mergeReadBytes(runs);
    expect(mergeReadBytes(1)).toBe(256 * 1024); // a few runs read in big pieces
    expect(total(64)).toBe(4 * 1024 * 1024);
    expect(total(MERGE_FAN_IN)).toBe(4 * 1024 * 1024); // the most runs one merge takes
    expect(mergeReadBytes(MERGE_FAN_IN)).toBeGreaterThanOrEqual(16 * 1024);
  });

  it('give the digest computeDigest gives the same entries in memory', async () => {
    const manifest = await manifestOfTarStream(tarOf(manyFiles()), 'volume');
    expect(manifest.files).toBe(3032);
    const inMemory = new ManifestBuilder('volume');
    for (const entry of manifest.entries) inMemory.add({ ...entry });
    expect(computeDigest(inMemory.finalize().entries)).toBe(manifest.digest);
    expect(manifest.entries.find((e) => e.path === 'link-b')?.sha256).toBe(
      manifest.entries.find((e) => e.path === 'd3/f7')?.sha256,
    );
  });

  it('archive and read back: the manifest entry is valid JSON, and every entry is checked', async () => {
    const appender = createManifestAppender({ root: 'volume' });
    const [archive] = await Promise.all([bufferOf(appender), pipeline(tarOf(manyFiles()), appender)]);
    const listed = await listTar(archive);
    const manifestEntry = listed.find((e) => e.name === MANIFEST_ENTRY_NAME);
    const start = archive.indexOf('{"version":1');
    const text = archive.toString('utf8', start, start + (manifestEntry?.size ?? 0));
    const embedded = JSON.parse(text) as { entries: unknown[] };
    expect(embedded.entries).toHaveLength(3063);

    const reader = createArchiveReader({ root: 'volume', label: 'many.tar' });
    await Promise.all([bufferOf(reader), pipeline(Readable.from([archive]), reader)]);
    expect((await reader.manifest).digest).toBe((await appender.manifest).digest);

    // One file's content changed in place: named as changed, whatever run it sits in.
    const at = archive.indexOf('17 42\n');
    const corrupt = Buffer.from(archive);
    corrupt.write('17 43\n', at);
    const bad = createArchiveReader({ root: 'volume', label: 'bad.tar' });
    const outcome = await Promise.all([bufferOf(bad), pipeline(Readable.from([corrupt]), bad)]).catch(
      (error: Error) => error,
    );
    expect(String(outcome)).toMatch(
      /bad\.tar does not match its manifest: 1 changed: d17\/f42 \(sha256\)\.$/,
    );
  });
});
