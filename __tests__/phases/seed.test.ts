import { describe, expect, it } from 'vitest';
import { pickArchive } from '../../src/phases/seed.js';
import type { NamedVolume } from '../../src/stack/model.js';

const volume: NamedVolume = { key: 'pgdata', name: 'shop_pgdata', external: false, mounts: [] };

describe('pickArchive: which downloaded file seeds a volume', () => {
  it('the file named after the volume key', () => {
    expect(
      pickArchive(['/d/cache.tar.zst', '/d/pgdata.tar.zst', '/d/report.json'], volume, 'artifact:x'),
    ).toBe('/d/pgdata.tar.zst');
  });
  it('or after the full volume name, any format, encrypted or not', () => {
    expect(pickArchive(['/d/other.tar', '/d/shop_pgdata.tar.gz.enc'], volume, 's')).toBe(
      '/d/shop_pgdata.tar.gz.enc',
    );
  });
  it('the only archive there is, whatever its name', () => {
    expect(pickArchive(['/d/backup.tar.gz', '/d/report.json'], volume, 's')).toBe('/d/backup.tar.gz');
  });
  it('several archives and none for this volume: an error listing what was found', () => {
    expect(() => pickArchive(['/d/a.tar', '/d/b.tar.zst'], volume, 'artifact:x')).toThrow(
      'artifact:x has no archive for volume pgdata (expected pgdata.tar.zst or similar; found a.tar, b.tar.zst).',
    );
  });
  it('no archive at all: says so', () => {
    expect(() => pickArchive(['/d/report.json'], volume, 'cache:k')).toThrow(/found no archives/);
  });
});
