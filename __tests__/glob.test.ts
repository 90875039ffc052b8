import { describe, expect, it } from 'vitest';
import { ignoreMatcher } from '../src/archive/manifest.js';
import { escapeGlob, literalOfGlob, matchesAny } from '../src/glob.js';

describe('matchesAny', () => {
  it.each([
    ['postmaster.pid', ['postmaster.pid'], true],
    ['base/1/postmaster.pid', ['postmaster.pid'], true],
    ['pg_stat_tmp/global.stat', ['pg_stat_tmp/**'], true],
    ['pg_stat_tmp', ['pg_stat_tmp/**'], false],
    ['a/b/c.log', ['**/*.log'], true],
    ['c.log', ['**/*.log'], true],
    ['/tmp/x', ['tmp/**'], true],
    ['/var/lib/app/data.db', ['tmp/**', '**/*.pid'], false],
    ['file1', ['file?'], true],
    ['dir/file1', ['dir/*'], true],
    ['dir/sub/file1', ['dir/*'], false],
    ['a.b', ['a?b'], true],
    ['a+b', ['a+b'], true],
  ])('%s against %j → %s', (path, globs, expected) => {
    expect(matchesAny(path, globs)).toBe(expected);
  });
});

describe('escapes', () => {
  it.each([
    ['a*b/x?.db-wal', [`${escapeGlob('a*b/x?.db')}-wal`], true],
    ['aXb/xY.db-wal', [`${escapeGlob('a*b/x?.db')}-wal`], false],
    ['back\\slash', [escapeGlob('back\\slash')], true],
  ])('%s against %j → %s', (path, globs, expected) => {
    expect(matchesAny(path, globs)).toBe(expected);
  });

  it('a glob without wildcards is a literal path; one with any is not', () => {
    expect(literalOfGlob('/a\\*b/c')).toBe('/a*b/c');
    expect(literalOfGlob('a/*')).toBeUndefined();
  });
});

describe('ignoreMatcher: literal globs looked up, the rest matched, both with everything below', () => {
  const globs = ['/pgdata/postmaster.pid', 'mongod.lock', `${escapeGlob('odd*dir')}/x`, 'pg_stat_tmp/*'];
  it.each([
    ['pgdata/postmaster.pid', true],
    ['other/pgdata/postmaster.pid', false],
    ['deep/mongod.lock', true],
    ['mongod.lock/inside', true],
    ['odd*dir/x', true],
    ['oddXdir/x', false],
    ['pg_stat_tmp/a/b', true],
    ['.', false],
  ])('%s → %s', (path, expected) => {
    expect(ignoreMatcher(globs)(path)).toBe(expected);
  });
});
