import { describe, expect, it } from 'vitest';
import {
  EntryPathGuard,
  UnsafeEntryError,
  tarNameOf,
  volumeRelativePath,
} from '../../src/archive/tar-paths.js';
import { UserError } from '../../src/errors.js';

describe('volumeRelativePath', () => {
  it.each([
    ['volume/', '.'],
    ['volume', '.'],
    ['volume/a/b.txt', 'a/b.txt'],
    ['volume/dir/', 'dir'],
    ['volume//a/./b', 'a/b'],
    ['./volume/a', 'a'],
    ['volume/with space/ü', 'with space/ü'],
    ['volume/..data', '..data'],
  ])('%s → %s', (name, relative) => {
    expect(volumeRelativePath(name, 'volume')).toBe(relative);
  });

  it.each([
    '../evil',
    'volume/../../evil',
    'volume/a/../../x',
    '/etc/passwd',
    '/volume/a',
    'other/a',
    'volumes/a',
    '',
  ])('%s is refused', (name) => {
    expect(() => volumeRelativePath(name, 'volume')).toThrow(UnsafeEntryError);
  });

  it('takes the same names and gives the same paths as the general rule, fast path or not', () => {
    // The rule as written before the fast path: split, drop empty and '.' segments, refuse '..', strip root.
    const general = (name: string): string => {
      if (name.startsWith('/')) throw new UnsafeEntryError('absolute');
      const segments = name.split('/').filter((s) => s !== '' && s !== '.');
      if (segments.includes('..') || segments[0] !== 'volume') throw new UnsafeEntryError('refused');
      return segments.length === 1 ? '.' : segments.slice(1).join('/');
    };
    const outcome = (rule: (name: string) => string, name: string) => {
      try {
        return rule(name);
      } catch (error) {
        return error instanceof UnsafeEntryError ? 'refused' : 'other error';
      }
    };
    const parts = ['', '.', '..', 'a', '.a', '..a', 'a.', '...'];
    let names = ['volume'];
    for (let depth = 0; depth < 3; depth++)
      names = names.flatMap((n) => [n, ...parts.map((p) => `${n}/${p}`)]);
    names = [...new Set(names.flatMap((n) => [n, `${n}/`]))];
    expect(names.length).toBeGreaterThan(1000);
    for (const name of names)
      expect([name, outcome((n) => volumeRelativePath(n, 'volume'), name)]).toEqual([
        name,
        outcome(general, name),
      ]);
  });

  it('is a UserError', () => {
    expect(() => volumeRelativePath('/etc/passwd', 'volume')).toThrow(UserError);
  });

  it('tarNameOf inverts it', () => {
    expect(tarNameOf('.', 'volume', 'directory')).toBe('volume/');
    expect(tarNameOf('a/b', 'volume', 'directory')).toBe('volume/a/b/');
    expect(tarNameOf('a/b', 'volume', 'file')).toBe('volume/a/b');
  });
});

describe('EntryPathGuard', () => {
  function guard(): EntryPathGuard {
    const g = new EntryPathGuard('volume');
    g.check('.', 'directory');
    return g;
  }

  it('refuses writes through a symlink seen earlier, however deep', () => {
    const g = guard();
    g.check('link', 'symlink');
    expect(() => g.check('link/passwd', 'file')).toThrow(/goes through the symlink "link"/);
    expect(() => g.check('link/a/b', 'directory')).toThrow(UnsafeEntryError);
    g.check('linked', 'file'); // a sibling that only shares the prefix is fine
  });

  it('refuses a root that is not a directory', () => {
    expect(() => new EntryPathGuard('volume').check('.', 'symlink')).toThrow(/root volume\/ is a symlink/);
  });

  it('refuses duplicate paths, so a checked entry cannot be replaced later', () => {
    const g = guard();
    g.check('a', 'directory');
    expect(() => g.check('a', 'symlink')).toThrow(/"a" appears twice/);
  });

  it('resolves hard links to earlier entries and refuses the rest', () => {
    const g = guard();
    g.check('data', 'directory');
    g.check('data/file', 'file');
    expect(g.check('copy', 'hardlink', 'volume/data/file')).toBe('data/file');
    expect(() => g.check('x1', 'hardlink', '/etc/shadow')).toThrow(/outside volume\//);
    expect(() => g.check('x2', 'hardlink', 'volume/../etc/shadow')).toThrow(/outside volume\//);
    expect(() => g.check('x3', 'hardlink', 'volume/later')).toThrow(/not a file stored before it/);
    expect(() => g.check('x4', 'hardlink', 'volume/data')).toThrow(/not a file stored before it/);
  });

  it('lets symlinks point anywhere', () => {
    const g = guard();
    expect(() => g.check('abs', 'symlink')).not.toThrow();
    expect(() => g.check('dangling', 'symlink')).not.toThrow();
  });
});
