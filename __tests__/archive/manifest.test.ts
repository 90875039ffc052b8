import { describe, expect, it } from 'vitest';
import {
  ManifestBuilder,
  computeDigest,
  diffManifests,
  parseManifest,
  type ManifestEntry,
  type VolumeManifest,
} from '../../src/archive/manifest.js';
import { UserError } from '../../src/errors.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function entries(): ManifestEntry[] {
  return [
    { path: '.', type: 'directory', mode: 0o755, uid: 999, gid: 999, size: 0, mtime: 100 },
    { path: 'data', type: 'directory', mode: 0o700, uid: 999, gid: 999, size: 0, mtime: 100 },
    { path: 'data/a', type: 'file', mode: 0o644, uid: 999, gid: 999, size: 3, mtime: 100, sha256: SHA_A },
    {
      path: 'data/b',
      type: 'hardlink',
      mode: 0o644,
      uid: 999,
      gid: 999,
      size: 3,
      mtime: 100,
      sha256: SHA_A,
      linkTarget: 'data/a',
    },
    { path: 'log', type: 'file', mode: 0o600, uid: 0, gid: 0, size: 9, mtime: 100, sha256: SHA_B },
    { path: 'pid', type: 'file', mode: 0o600, uid: 0, gid: 0, size: 9, mtime: 100, sha256: SHA_B },
    { path: 'tmp', type: 'directory', mode: 0o1777, uid: 0, gid: 0, size: 0, mtime: 100 },
    { path: 'tmp/x', type: 'file', mode: 0o600, uid: 0, gid: 0, size: 9, mtime: 100, sha256: SHA_B },
    {
      path: 'link',
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 100,
      linkTarget: '/nowhere',
    },
    {
      path: 'tty',
      type: 'char-device',
      mode: 0o600,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 100,
      device: { major: 5, minor: 0 },
    },
  ];
}

function manifestOf(list: ManifestEntry[]): VolumeManifest {
  const builder = new ManifestBuilder('volume');
  for (const entry of list) builder.add({ ...entry });
  return builder.finalize(new Date('2025-01-01T00:00:00Z'));
}

function edit(list: ManifestEntry[], path: string, change: Partial<ManifestEntry>): ManifestEntry[] {
  return list.map((e) => (e.path === path ? { ...e, ...change } : e));
}

describe('ManifestBuilder', () => {
  it('counts files and bytes, hard links once', () => {
    const m = manifestOf(entries());
    expect(m).toMatchObject({ version: 1, tool: 'compose-persist', root: 'volume', files: 5, bytes: 30 });
    expect(m.createdAt).toBe('2025-01-01T00:00:00.000Z');
    expect(m.limitations[0]).toMatch(/security\.capability/);
  });

  it('gives a hard link its target size and sha256', () => {
    const builder = new ManifestBuilder('volume');
    builder.add({ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, mtime: 1, sha256: SHA_A });
    const link = builder.add({
      path: 'g',
      type: 'hardlink',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 1,
      linkTarget: 'f',
    });
    expect(link).toMatchObject({ size: 5, sha256: SHA_A });
  });
});

describe('computeDigest', () => {
  const digest = computeDigest(entries());

  it('ignores entry order', () => {
    expect(computeDigest([...entries()].reverse())).toBe(digest);
  });

  it('ignores which hard-link member is stored as the file', () => {
    const swapped = entries().map((e): ManifestEntry => {
      if (e.path === 'data/a') return { ...e, type: 'hardlink', linkTarget: 'data/b' };
      if (e.path === 'data/b')
        return {
          path: 'data/b',
          type: 'file',
          mode: 0o644,
          uid: 999,
          gid: 999,
          size: 3,
          mtime: 100,
          sha256: SHA_A,
        };
      return e;
    });
    expect(computeDigest(swapped)).toBe(digest);
  });

  it('tells hard links from copies', () => {
    const copied = edit(entries(), 'data/b', { type: 'file', linkTarget: undefined });
    expect(computeDigest(copied)).not.toBe(digest);
  });

  it('ignores the root mtime only', () => {
    expect(computeDigest(edit(entries(), '.', { mtime: 999 }))).toBe(digest);
    expect(computeDigest(edit(entries(), 'data', { mtime: 999 }))).not.toBe(digest);
  });

  it.each<[string, Partial<ManifestEntry>]>([
    ['log', { mode: 0o644 }],
    ['log', { uid: 1 }],
    ['log', { gid: 1 }],
    ['log', { mtime: 101 }],
    ['log', { sha256: SHA_A }],
    ['link', { linkTarget: '/elsewhere' }],
    ['tty', { device: { major: 5, minor: 1 } }],
  ])('changes when %s changes %j', (path, change) => {
    expect(computeDigest(edit(entries(), path, change))).not.toBe(digest);
  });

  it('is not fooled by names that look like separators', () => {
    const a = [{ path: 'a\n', type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 }] as ManifestEntry[];
    const b = [{ path: 'a', type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 }] as ManifestEntry[];
    expect(computeDigest(a)).not.toBe(computeDigest(b));
  });
});

describe('diffManifests', () => {
  const before = manifestOf(entries());

  it('sees nothing between equal manifests', () => {
    expect(diffManifests(before, manifestOf(entries()), { policy: 'exact' })).toEqual({
      added: [],
      removed: [],
      changed: [],
      ok: true,
    });
  });

  it('no-loss accepts additions and content changes, refuses removals and type changes', () => {
    const grown = [...edit(entries(), 'log', { sha256: SHA_A, size: 10 }), { ...entries()[4]!, path: 'new' }];
    const diff = diffManifests(before, manifestOf(grown), { policy: 'no-loss' });
    expect(diff).toEqual({
      added: ['new'],
      removed: [],
      changed: [{ path: 'log', fields: ['size', 'sha256'] }],
      ok: true,
    });
    expect(diffManifests(before, manifestOf(grown), { policy: 'exact' }).ok).toBe(false);

    const shrunk = entries().filter((e) => e.path !== 'pid');
    expect(diffManifests(before, manifestOf(shrunk), { policy: 'no-loss' })).toMatchObject({
      removed: ['pid'],
      ok: false,
    });

    const retyped = edit(entries(), 'link', { type: 'file', linkTarget: undefined, sha256: SHA_A });
    const diff2 = diffManifests(before, manifestOf(retyped), { policy: 'no-loss' });
    expect(diff2.ok).toBe(false);
    expect(diff2.changed[0]).toEqual({ path: 'link', fields: ['type', 'sha256', 'linkTarget'] });
  });

  it('exact ignores directory mtimes but not file mtimes', () => {
    const touched = edit(edit(entries(), 'data', { mtime: 500 }), 'tmp', { mtime: 500 });
    expect(diffManifests(before, manifestOf(touched), { policy: 'exact' }).ok).toBe(true);
    const diff = diffManifests(before, manifestOf(edit(entries(), 'log', { mtime: 500 })), {
      policy: 'exact',
    });
    expect(diff.changed).toEqual([{ path: 'log', fields: ['mtime'] }]);
  });

  it('treats a swapped hard-link member as unchanged', () => {
    const swapped = entries().map((e): ManifestEntry => {
      if (e.path === 'data/a') return { ...e, type: 'hardlink', linkTarget: 'data/b' };
      if (e.path === 'data/b') return { ...e, type: 'file', linkTarget: undefined };
      return e;
    });
    expect(diffManifests(before, manifestOf(swapped), { policy: 'exact' }).ok).toBe(true);
  });

  it('reports xattr changes', () => {
    const capped = edit(entries(), 'log', { xattrs: ['security.capability'] });
    expect(diffManifests(before, manifestOf(capped), { policy: 'exact' }).changed).toEqual([
      { path: 'log', fields: ['xattrs'] },
    ]);
  });

  it('ignore globs drop matching paths and everything below them', () => {
    const after = manifestOf(
      edit(
        entries().filter((e) => e.path !== 'pid' && e.path !== 'tmp/x'),
        'log',
        { sha256: SHA_A },
      ),
    );
    expect(diffManifests(before, after, { policy: 'exact' })).toMatchObject({
      removed: ['pid', 'tmp/x'],
      ok: false,
    });
    expect(diffManifests(before, after, { policy: 'exact', ignore: ['pid', 'log', 'tmp'] }).ok).toBe(true);
    expect(
      diffManifests(before, after, { policy: 'exact', ignore: ['p?d', '*.txt', 'tmp/**', 'l*'] }).ok,
    ).toBe(true);
    expect(diffManifests(before, after, { policy: 'exact', ignore: ['**/x'] })).toMatchObject({
      removed: ['pid'],
    });
    expect(diffManifests(before, after, { policy: 'no-loss', ignore: ['pid', 'tmp/*'] }).ok).toBe(true);
  });
});

describe('parseManifest', () => {
  it('round-trips a manifest', () => {
    const m = manifestOf(entries());
    expect(parseManifest(JSON.stringify(m), 'Archive a.tar')).toEqual(m);
  });

  it.each([
    ['not json', /Archive a\.tar has a corrupt manifest/],
    ['{}', /cannot read \(expected version 1/],
    [JSON.stringify({ ...manifestOf(entries()), version: 2 }), /cannot read/],
    [JSON.stringify({ ...manifestOf(entries()), entries: [{ path: 'x', type: 'socket' }] }), /cannot read/],
  ])('refuses %s', (text, message) => {
    expect(() => parseManifest(text, 'Archive a.tar')).toThrow(UserError);
    expect(() => parseManifest(text, 'Archive a.tar')).toThrow(message);
  });
});
