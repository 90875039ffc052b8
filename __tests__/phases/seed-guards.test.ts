import { describe, expect, it } from 'vitest';
import type { VolumeManifest } from '../../src/archive/manifest.js';
import { parseDuration } from '../../src/inputs.js';
import { assertFresh, assertLargeEnough, formatAge, manifestTime } from '../../src/phases/seed-guards.js';

const NOW = new Date('2026-12-02T04:00:00Z');
const HOUR = 3_600_000;
const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * HOUR);

function manifest(bytes: number, createdAt: string): VolumeManifest {
  return {
    version: 1,
    tool: 'compose-persist',
    root: 'volume',
    createdAt,
    files: 3,
    bytes,
    digest: 'sha256:x',
    limitations: [],
    entries: [],
  };
}

describe('assertFresh (seed-max-age)', () => {
  it('passes a backup younger than the limit', () => {
    expect(() =>
      assertFresh('s3://b/k', [{ at: at(25), of: 'stored' }], { maxAgeMs: 26 * HOUR }, NOW),
    ).not.toThrow();
  });

  it('refuses a stale backup in one line naming it and its age', () => {
    expect(() =>
      assertFresh('s3://b/k', [{ at: at(50), of: 'stored' }], { maxAgeMs: 26 * HOUR }, NOW),
    ).toThrow(
      /^Backup s3:\/\/b\/k is 2d 2h old \(stored 2026-11-30T02:00:00.000Z\), older than seed-max-age 1d 2h: /,
    );
  });

  it('judges by the oldest time known: a fresh upload of an old archive is stale', () => {
    const times = [{ at: at(1), of: 'stored' }, ...manifestTime(manifest(10, at(30).toISOString()))];
    expect(() => assertFresh('s3://b/k', times, { maxAgeMs: 26 * HOUR }, NOW)).toThrow(
      /is 1d 6h old \(archived /,
    );
  });

  it('refuses when there is no time to judge by, rather than pass', () => {
    expect(() => assertFresh('x.tar', [], { maxAgeMs: HOUR }, NOW)).toThrow(/no time to judge its age/);
  });

  it('does nothing without the input', () => {
    expect(() => assertFresh('x.tar', [], {}, NOW)).not.toThrow();
  });
});

describe('assertLargeEnough (seed-min-size)', () => {
  it('refuses a backup with less data than the limit', () => {
    expect(() =>
      assertLargeEnough('s3://b/k', manifest(1024, NOW.toISOString()), { minBytes: 100 * 1024 ** 2 }),
    ).toThrow(
      'Backup s3://b/k holds 1 KiB of data (3 files), less than seed-min-size 100 MiB: it is truncated or empty',
    );
  });

  it('passes one at the limit', () => {
    expect(() => assertLargeEnough('k', manifest(2048, NOW.toISOString()), { minBytes: 2048 })).not.toThrow();
  });
});

describe('parseDuration', () => {
  it.each([
    ['26h', 26 * HOUR],
    ['90m', 90 * 60_000],
    ['7d', 7 * 24 * HOUR],
    ['1d12h', 36 * HOUR],
    ['30s', 30_000],
  ])('%s', (raw, ms) => expect(parseDuration(raw)).toBe(ms));

  it.each(['', '26', 'h', '-1h', '0h', '1 day'])('rejects "%s"', (raw) =>
    expect(parseDuration(raw)).toBeUndefined(),
  );
});

describe('formatAge', () => {
  it.each([
    [45_000, '45s'],
    [26 * HOUR, '1d 2h'],
    [5 * HOUR + 7 * 60_000, '5h 7m'],
  ])('%d ms → %s', (ms, text) => expect(formatAge(ms)).toBe(text));
});
