import { describe, expect, it } from 'vitest';
import { matchesAny } from '../src/glob.js';

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
