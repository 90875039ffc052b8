import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { recordedProbesOf } from '../../src/archive/manifest.js';
import { StageMeter } from '../../src/archive/stage-meter.js';
import { createArchiveReader, createManifestAppender } from '../../src/archive/volume-tar.js';
import { UserError } from '../../src/errors.js';
import type { RecordedProbes } from '../../src/types/restore.js';
import { bufferOf, tarOf, trickyVolume } from './tar-fixtures.js';

const RECORDED: RecordedProbes = {
  recordedAt: '2026-12-07T03:17:00.000Z',
  probes: [
    { probe: 'db: psql -tAc "select count(*) from orders"', output: '3' },
    { probe: 'host: cat report.txt', output: 'two\nlines "quoted"' },
  ],
};

async function archive(probes?: RecordedProbes) {
  const appender = createManifestAppender({
    root: 'volume',
    volumeName: 'app_data',
    ...(probes ? { probes } : {}),
  });
  const [tar] = await Promise.all([bufferOf(appender), pipeline(tarOf(trickyVolume()), appender)]);
  return { tar, written: await appender.manifest };
}

async function read(tar: Buffer) {
  const reader = createArchiveReader({ root: 'volume', label: 'x.tar' });
  await Promise.all([bufferOf(reader), pipeline(Readable.from([tar]), reader)]);
  return reader.manifest;
}

describe('probes recorded in the manifest (record-probes)', () => {
  it('travel with the archive and are read back, newlines and quotes included; the digest does not change', async () => {
    const plain = await archive();
    const withProbes = await archive(RECORDED);
    expect(withProbes.written.digest).toBe(plain.written.digest);
    const manifest = await read(withProbes.tar);
    expect(recordedProbesOf(manifest, 'x.tar')).toEqual(RECORDED);
  });

  it('an archive without them (older ones) reads as before: nothing recorded', async () => {
    const manifest = await read((await archive()).tar);
    expect(manifest.probes).toBeUndefined();
    expect(recordedProbesOf(manifest, 'x.tar')).toBeUndefined();
  });

  it.each([
    [{ recordedAt: 1, probes: [] }],
    [{ recordedAt: 'x', probes: [{ probe: 'db: x', output: 3 }] }],
    ['x'],
  ])('a field of another shape is refused: %j', (probes) => {
    expect(() => recordedProbesOf({ probes }, 'Archive x.tar')).toThrow(UserError);
    expect(() => recordedProbesOf({ probes }, 'Archive x.tar')).toThrow(
      'Archive x.tar has a manifest whose recorded probes are not readable',
    );
  });
});

describe('StageMeter', () => {
  it('counts from input the stage owes an answer for until its next output', () => {
    let now = 0n;
    const meter = new StageMeter(() => now);
    meter.input(); // t=0
    now = 5_000_000n;
    meter.input(); // still owed since 0
    now = 7_000_000n;
    meter.output(); // 7 ms
    now = 20_000_000n;
    meter.output(); // owes nothing: nothing added
    meter.input();
    now = 23_000_000n;
    meter.output(); // 3 ms
    expect(meter.ms).toBe(10);
  });

  it('times a real transform in a pipeline, passing every byte through unchanged', async () => {
    const meter = new StageMeter();
    const slow = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        const until = Date.now() + 20;
        while (Date.now() < until); // busy, as a decryptor is
        done(null, chunk);
      },
    });
    const chunks = [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')];
    const stages = meter.around([slow]);
    const out = await Promise.all([
      bufferOf(stages.at(-1) as Transform),
      pipeline([Readable.from(chunks), ...stages]),
    ]);
    expect(out[0].toString()).toBe('abc');
    expect(meter.ms).toBeGreaterThanOrEqual(55);
    expect(meter.around([])).toEqual([]);
  });
});
